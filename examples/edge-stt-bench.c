/*
 * edge-stt bench - how fast and how big: load ms, encoder ms for one 30 s window, decoder ms per
 * token (256 single-token steps, as whisper.cpp's whisper-bench counts them), end-to-end ms of a
 * WAV file if one is given (a default transcription: beam 5, fallback), planned arena bytes
 * (model handle + a default transcription state), the process's peak RSS, the kernel path, the
 * K/V cache type every state (the transcription's and the timed one) ran with.
 *
 *   edge-stt bench -m MODEL [--threads N] [--tokens N] [--kernels NAME] [--kv-type f16|f32] [--json] [FILE.wav]
 *
 * --json prints one object with the keys load_ms, encode_ms, decode_ms_per_token, arena_bytes,
 * peak_rss_bytes, kernels, kv_type (and more).  A transducer (Parakeet) model is timed on 30 s of
 * synthetic audio: front end, encoder (also per second of audio), greedy decoding, real-time
 * factor (keys arch, audio_s, features_ms, encode_ms_per_audio_s, decode_ms, rtf).  Exit status as the main program: 2 usage, 3 model, 4 audio,
 * 1 runtime.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgestt.h"
#include "edge-stt-bench.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_MODEL = 3, EXIT_AUDIO = 4 };

static int usage(void) {
    fprintf(stderr, "usage: edge-stt bench -m MODEL [--threads N] [--tokens N] [--kernels NAME] [--kv-type f16|f32] "
                    "[--json] [FILE.wav]\n");
    return EXIT_USAGE;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A JSON string (the model path): quotes, backslashes and control characters escaped. */
static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* Whole file into memory (malloc'd), or NULL with errno's reason in why. */
static unsigned char *slurp(const char *path, size_t *size, const char **why) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = strerror(errno);
        return NULL;
    }
    unsigned char *img = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            unsigned char *q = realloc(img, cap);
            if (!q) {
                free(img);
                fclose(f);
                *why = "out of memory";
                return NULL;
            }
            img = q;
        }
        size_t got = fread(img + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(img);
        *why = "read error";
        return NULL;
    }
    *size = n;
    return img;
}

/* Transcribe a WAV file once with default parameters; *ms = decode of the WAV + transcription. */
static int end_to_end(edgestt_model *m, int threads, const char *path, double *ms, double *audio_s) {
    const char *why = NULL;
    size_t size = 0;
    double t0 = now_ms();
    unsigned char *img = slurp(path, &size, &why);
    if (!img) {
        fprintf(stderr, "edge-stt: %s: %s\n", path, why);
        return EXIT_AUDIO;
    }
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_wav_info info;
    size_t sb = 0;
    void *scratch = NULL;
    float *pcm = NULL;
    int st = edgestt_wav_parse(img, size, &info, &d);
    if (!st) st = edgestt_wav_scratch_size(&info, &sb);
    if (!st && info.n_samples_16k > (uint64_t)(SIZE_MAX / sizeof(float) - 1)) st = EDGESTT_E_LIMIT;
    if (!st && ((sb && !(scratch = malloc(sb))) || !(pcm = malloc((size_t)info.n_samples_16k * sizeof(float) + 1))))
        st = EDGESTT_E_NOMEM;
    if (!st) st = edgestt_wav_decode(img, size, &info, pcm, scratch, sb, &d);
    free(scratch);
    free(img);
    if (st) {
        free(pcm);
        fprintf(stderr, "edge-stt: %s: %s\n", path, d.msg[0] ? d.msg : edgestt_strerror(st));
        return EXIT_AUDIO;
    }
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.n_threads = threads;
    edgestt_state *s = NULL;
    st = edgestt_state_init(m, &fp, NULL, 0, &s, &d);
    if (!st) st = edgestt_transcribe(s, pcm, (size_t)info.n_samples_16k, &fp);
    if (st) fprintf(stderr, "edge-stt: %s: %s\n", path, s && *edgestt_state_error(s) ? edgestt_state_error(s) : d.msg[0] ? d.msg : edgestt_strerror(st));
    edgestt_state_free(s);
    free(pcm);
    *ms = now_ms() - t0;
    *audio_s = (double)info.n_samples_16k / EDGESTT_SAMPLE_RATE;
    return st ? EXIT_RUNTIME : 0;
}

/* Multiply-adds x 2 of one Whisper encoder window, products only (norms, softmax, GELU left out):
 * conv1 (k3 over n_mels, 2 ctx frames), conv2 (k3, stride 2), per layer Q/K/V/out (4 n^2) and the
 * MLP (8 n^2) per position plus QK^T and PV (2 ctx n), and each decoder layer's cross K and V. */
static double encoder_gflop(const edgestt_model_info *in) {
    const double ctx = in->n_audio_ctx, n = in->n_audio_state, mels = in->n_mels;
    double f = 2.0 * (2.0 * ctx) * n * 3.0 * mels + 2.0 * ctx * n * 3.0 * n;
    f += in->n_audio_layer * (2.0 * ctx * 12.0 * n * n + 2.0 * 2.0 * ctx * ctx * n);
    f += in->n_text_layer * 2.0 * ctx * 2.0 * n * n;
    return f * 1e-9;
}

int edge_stt_bench(int argc, char **argv) {
    const char *model = NULL, *wav = NULL;
    int json = 0, tokens = 256;
    edgestt_params p;
    edgestt_params_default(&p);
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) p.n_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) tokens = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--kernels") && i + 1 < argc) p.kernels = argv[++i];
        else if (!strcmp(argv[i], "--kv-type") && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(v, "f16")) p.kv_type = EDGESTT_KV_F16;
            else if (!strcmp(v, "f32")) p.kv_type = EDGESTT_KV_F32;
            else return usage();
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-' || wav) return usage();
        else wav = argv[i];
    }
    if (!model || p.n_threads < 1 || p.n_threads > 256 || tokens < 1) return usage();
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_model *m = NULL;
    double t0 = now_ms();
    int st = edgestt_open(model, &p, NULL, 0, &m, &d);
    double load_ms = now_ms() - t0;
    if (st) {
        fprintf(stderr, "edge-stt: %s: %s\n", model, d.msg[0] ? d.msg : edgestt_strerror(st));
        return st == EDGESTT_E_INVALID_ARG ? EXIT_USAGE : EXIT_MODEL;
    }
    edgestt_model_info in;
    edgestt_model_get_info(m, &in);
    const int pk = !strcmp(in.arch, "parakeet");
    if (!pk && tokens > in.n_text_ctx) tokens = in.n_text_ctx;
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.n_threads = p.n_threads;
    size_t state_bytes = 0;
    if ((st = edgestt_state_mem_size(m, &fp, &state_bytes, &d)) != 0) {
        fprintf(stderr, "edge-stt: %s: %s\n", model, d.msg[0] ? d.msg : edgestt_strerror(st));
        edgestt_close(m);
        return EXIT_RUNTIME;
    }
    double e2e_ms = -1, audio_s = 0;
    if (wav) {
        int rc = end_to_end(m, p.n_threads, wav, &e2e_ms, &audio_s);
        if (rc) {
            edgestt_close(m);
            return rc;
        }
    }
    edgestt_bench_result r;
    if ((st = edgestt_bench(m, p.n_threads, tokens, &r, &d)) != 0) {
        fprintf(stderr, "edge-stt: %s: %s\n", model, d.msg[0] ? d.msg : edgestt_strerror(st));
        edgestt_close(m);
        return EXIT_RUNTIME;
    }
    const size_t arena = in.arena_bytes + state_bytes;
    /* effective encoder rate: the window's matrix-product work (GFLOP) over the encode time */
    const double gflop = pk ? 0 : encoder_gflop(&in), gops = r.encode_ms > 0 ? gflop / (r.encode_ms * 1e-3) : 0;
    if (pk) {
        /* a transducer: one pass over r.audio_s seconds (front end, encoder, greedy decoding) */
        const double total = r.features_ms + r.encode_ms + r.decode_ms, rtf = total / (r.audio_s * 1e3);
        if (json) {
            printf("{\"model\": ");
            json_str(model);
            printf(", \"arch\": \"parakeet\", \"kernels\": \"%s\", \"threads\": %d, \"load_ms\": %.3f, \"audio_s\": %.3f, "
                   "\"features_ms\": %.3f, \"encode_ms\": %.3f, \"encode_ms_per_audio_s\": %.3f, \"decode_ms\": %.3f, "
                   "\"decode_tokens\": %d, \"decode_ms_per_token\": %.4f, \"rtf\": %.5f",
                   in.kernels, p.n_threads, load_ms, r.audio_s, r.features_ms, r.encode_ms, r.encode_ms / r.audio_s,
                   r.decode_ms, r.n_tokens, r.decode_ms_per_token, rtf);
            if (wav) printf(", \"e2e_ms\": %.3f, \"audio_file_s\": %.3f", e2e_ms, audio_s);
            printf(", \"arena_bytes\": %zu, \"model_arena_bytes\": %zu, \"state_arena_bytes\": %zu, "
                   "\"bench_state_bytes\": %zu, \"weight_bytes\": %zu, \"peak_rss_bytes\": %llu}\n",
                   arena, in.arena_bytes, state_bytes, r.state_bytes, in.weight_bytes,
                   (unsigned long long)r.peak_rss_bytes);
        } else {
            printf("model          %s (parakeet, %s, %d threads)\n", model, in.kernels, p.n_threads);
            printf("load           %10.2f ms\n", load_ms);
            printf("front end      %10.2f ms  (%.0f s of audio)\n", r.features_ms, r.audio_s);
            printf("encode         %10.2f ms  (%.2f ms per second of audio)\n", r.encode_ms, r.encode_ms / r.audio_s);
            printf("decode         %10.2f ms  (greedy, %d tokens)\n", r.decode_ms, r.n_tokens);
            printf("real-time      %10.4f x   (RTF: time / audio)\n", rtf);
            if (wav) printf("end to end     %10.2f ms  (%s, %.2f s of audio)\n", e2e_ms, wav, audio_s);
            printf("arena          %10.2f MiB planned (model %.2f MiB + transcription state %.2f MiB)\n",
                   (double)arena / 1048576.0, (double)in.arena_bytes / 1048576.0, (double)state_bytes / 1048576.0);
            printf("weights        %10.2f MiB mapped\n", (double)in.weight_bytes / 1048576.0);
            printf("peak RSS       %10.2f MiB\n", (double)r.peak_rss_bytes / 1048576.0);
        }
        edgestt_close(m);
        return 0;
    }
    if (json) {
        printf("{\"model\": ");
        json_str(model);
        printf(", \"kernels\": \"%s\", \"kv_type\": \"%s\", \"threads\": %d, \"load_ms\": %.3f, \"encode_ms\": %.3f, "
               "\"decode_ms_per_token\": %.4f, \"decode_tokens\": %d",
               in.kernels, edgestt_kv_type_name(r.kv_type), p.n_threads, load_ms, r.encode_ms, r.decode_ms_per_token,
               r.n_tokens);
        printf(", \"encode_gflop\": %.3f, \"encode_gops\": %.2f", gflop, gops);
        if (wav) printf(", \"e2e_ms\": %.3f, \"audio_s\": %.3f", e2e_ms, audio_s);
        printf(", \"arena_bytes\": %zu, \"model_arena_bytes\": %zu, \"state_arena_bytes\": %zu, "
               "\"bench_state_bytes\": %zu, \"weight_bytes\": %zu, \"peak_rss_bytes\": %llu}\n",
               arena, in.arena_bytes, state_bytes, r.state_bytes, in.weight_bytes, (unsigned long long)r.peak_rss_bytes);
    } else {
        printf("model          %s (%s, %d threads, %s K/V)\n", model, in.kernels, p.n_threads,
               edgestt_kv_type_name(r.kv_type));
        printf("load           %10.2f ms\n", load_ms);
        printf("encode         %10.2f ms  (one %d-frame window; %.2f GFLOP of products: %.1f GOP/s effective)\n",
               r.encode_ms, in.n_audio_ctx, gflop, gops);
        printf("decode         %10.3f ms per token  (%d single-token steps)\n", r.decode_ms_per_token, r.n_tokens);
        if (wav) printf("end to end     %10.2f ms  (%s, %.2f s of audio, beam 5)\n", e2e_ms, wav, audio_s);
        printf("arena          %10.2f MiB planned (model %.2f MiB + transcription state %.2f MiB, beam 5)\n",
               (double)arena / 1048576.0, (double)in.arena_bytes / 1048576.0, (double)state_bytes / 1048576.0);
        printf("weights        %10.2f MiB mapped\n", (double)in.weight_bytes / 1048576.0);
        printf("peak RSS       %10.2f MiB\n", (double)r.peak_rss_bytes / 1048576.0);
    }
    edgestt_close(m);
    return 0;
}
