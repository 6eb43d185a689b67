/*
 * edge-stt-listen.c - live-audio subcommands of the edge-stt program (public API only):
 *
 *   edge-stt devices                      capture devices, as arecord -L lists them
 *   edge-stt listen -m MODEL [options]    streaming dictation from a microphone (or a WAV file
 *                                         played as if it were one)
 *
 * listen prints one line (or one JSON object) per event: partial text every --partial-ms while
 * someone speaks, final text once they have been silent for --endpoint-ms, with the utterance's
 * times in the stream and, for finals, the latency from the end of speech to the printed line
 * (wall clock).  Hybrid: -m FAST --accurate-model ACC --mode auto|fast|accurate (auto: the fast
 * model for partials, the accurate one for finals); a model that fails to open is reported and the
 * other serves.  Both are warmed up before listening starts.  Ctrl-C (SIGINT) or SIGTERM ends
 * cleanly: the utterance in progress is finalised, statistics go to stderr, exit status 0.
 *
 * Exit status: 0 ok, 1 runtime error, 2 usage, 3 no model could be opened, 4 audio (the capture
 * device or the WAV file).  Every failure is one line on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge-stt-embed.h"  /* the embedded default model */
#include "edge-stt-listen.h"
#include "edge-stt-vad.h"    /* finding the VAD model */
#include "edgestt.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_MODEL = 3, EXIT_AUDIO = 4 };

static double wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ==== edge-stt devices ==================================================================== */

static int print_device(void *user, const char *name, const char *desc) {
    (void)user;
    printf("%s\n", name);
    /* arecord -L: each description line indented by four spaces */
    const char *p = desc;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        printf("    %.*s\n", (int)n, p);
        p += n + (e ? 1 : 0);
    }
    return 0;
}

int edge_stt_devices(int argc, char **argv) {
    (void)argv;
    if (argc > 0) {
        fprintf(stderr, "usage: edge-stt devices\n");
        return EXIT_USAGE;
    }
    edgestt_diag d;
    d.msg[0] = 0;
    int st = edgestt_capture_devices(print_device, NULL, &d);
    if (st) {
        fprintf(stderr, "edge-stt: %s\n", d.msg[0] ? d.msg : edgestt_strerror(st));
        return EXIT_AUDIO;
    }
    return 0;
}

/* ==== edge-stt listen ===================================================================== */

static int listen_usage(void) {
    fprintf(stderr,
            "usage: edge-stt listen -m MODEL [options]\n"
            "  -m, --model FILE          the (fast) model (default: the embedded model, if any)\n"
            "  --accurate-model FILE     a second, accurate model (hybrid)\n"
            "  --mode auto|fast|accurate auto (default): fast partials, accurate finals\n"
            "  -D, --device NAME         ALSA capture PCM (default: default), see edge-stt devices\n"
            "  -o, --output text|json    one line or one JSON object per event (default text)\n"
            "  --simulate-realtime FILE  read FILE.wav as if it were the microphone\n"
            "  --speed X                 with --simulate-realtime: X times real time (0 = no waiting)\n"
            "  --soak-seconds N          with --simulate-realtime: loop the file for N s of audio and\n"
            "                            report resident memory after the first and the last minute\n"
            "  --vad-model FILE          Silero VAD (default: $EDGESTT_VAD_MODEL, models/ of the build\n"
            "                            tree, <prefix>/share/edge-stt)\n"
            "  --partial-ms N            partial cadence while speaking (default 500, 0 = none)\n"
            "  --endpoint-ms N           silence that ends an utterance (default 600)\n"
            "  --max-utterance-ms N      longest utterance, cut hard (default: --vad-max-speech-ms if set,\n"
            "                            else the model's window)\n"
            "  --vad-max-speech-ms N     Silero's max_speech_duration_s: an utterance this long is\n"
            "                            finalised at its last pause > 98 ms, else cut (default 0 = none)\n"
            "  --threshold P             VAD speech threshold (default 0.5)\n"
            "  --threads N               threads of the one pool both models share (default 1)\n"
            "  --beam N                  beam search for finals (default greedy)\n"
            "  --sample-len N            most tokens decoded per utterance (default: the model's half context)\n"
            "  --language XX             language code (default: auto / en)\n"
            "  --no-partials             finals only\n"
            "  --no-drop                 capture: wait for the recogniser instead of dropping audio when\n"
            "                            the ring is full (ALSA file PCMs in tests; a microphone cannot wait)\n"
            "  --quiet                   no notes on stderr (errors still)\n");
    return EXIT_USAGE;
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* A WAV file decoded to 16 kHz mono float (malloc'd); 0 ok, -1 with why. */
static int load_wav(const char *path, float **pcm, size_t *n, char *why, size_t why_cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_cap, "%s", strerror(errno));
        return -1;
    }
    unsigned char *img = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            size_t nc = cap ? cap * 2 : 1 << 20;
            unsigned char *q = realloc(img, nc);
            if (!q) break;
            img = q, cap = nc;
        }
        size_t got = fread(img + size, 1, cap - size, f);
        size += got;
        if (!got) break;
    }
    int err = ferror(f) || size == cap;
    fclose(f);
    edgestt_wav_info info;
    edgestt_diag d;
    d.msg[0] = 0;
    int st = err ? EDGESTT_E_IO : edgestt_wav_parse(img, size, &info, &d);
    size_t sb = 0;
    void *scratch = NULL;
    *pcm = NULL;
    if (!st) st = edgestt_wav_scratch_size(&info, &sb);
    if (!st && info.n_samples_16k > (uint64_t)(SIZE_MAX / sizeof(float) - 1)) st = EDGESTT_E_LIMIT;
    if (!st && ((sb && !(scratch = malloc(sb))) || !(*pcm = malloc((size_t)info.n_samples_16k * sizeof(float) + 4))))
        st = EDGESTT_E_NOMEM;
    if (!st) st = edgestt_wav_decode(img, size, &info, *pcm, scratch, sb, &d);
    free(scratch);
    free(img);
    if (st) {
        free(*pcm);
        *pcm = NULL;
        snprintf(why, why_cap, "%s", d.msg[0] ? d.msg : edgestt_strerror(st));
        return -1;
    }
    *n = (size_t)info.n_samples_16k;
    return 0;
}

/* Resident set size in bytes (/proc/self/statm), 0 where unknown. */
static double rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, res = 0;
    if (!f) return 0;
    if (fscanf(f, "%llu %llu", &size, &res) != 2) res = 0;
    fclose(f);
    return (double)res * (double)sysconf(_SC_PAGESIZE);
}

/* When each stretch of input arrived (wall clock), to time end of speech -> final printed. */
#define N_ARRIVALS 4096
typedef struct arrivals {
    int64_t end_sample[N_ARRIVALS];   /* stream samples received up to this entry */
    double wall[N_ARRIVALS];
    int head, count;
} arrivals;

static void arrivals_add(arrivals *a, int64_t end_sample, double wall) {
    a->end_sample[a->head] = end_sample;
    a->wall[a->head] = wall;
    a->head = (a->head + 1) % N_ARRIVALS;
    if (a->count < N_ARRIVALS) a->count++;
}

/* Wall time at which stream sample s had arrived (the oldest entry covering it), or -1. */
static double arrivals_find(const arrivals *a, int64_t s) {
    double best = -1;
    for (int i = 0; i < a->count; i++) {
        int k = (a->head - 1 - i + 2 * N_ARRIVALS) % N_ARRIVALS;
        if (a->end_sample[k] < s) break;
        best = a->wall[k];
    }
    return best;
}

typedef struct listen_ctx {
    int json, quiet;
    const char *model_name[2];
    arrivals arr;
    int n_finals, n_partials;
    double lat_sum, lat_max;
    int64_t stream_base;              /* stream samples before the current stream_reset (soak) */
} listen_ctx;

/* A JSON string (the text is UTF-8 from the library; control characters escaped). */
static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_event(listen_ctx *c, const edgestt_stream_event *ev) {
    if (ev->type == EDGESTT_EVENT_NONE) return;
    int fin = ev->type == EDGESTT_EVENT_FINAL;
    double now = wall_ms(), lat = -1;
    if (fin) {
        double arrived = arrivals_find(&c->arr, c->stream_base + ev->t1_ms * 16);
        if (arrived >= 0) lat = now - arrived;
        c->n_finals++;
        if (lat >= 0) {
            c->lat_sum += lat;
            if (lat > c->lat_max) c->lat_max = lat;
        }
    } else {
        c->n_partials++;
    }
    double base = (double)c->stream_base / 16000.0;
    if (c->json) {
        printf("{\"type\":\"%s\",\"utterance\":%d,\"start\":%.3f,\"end\":%.3f,\"at\":%.3f,\"text\":",
               fin ? "final" : "partial", ev->utterance, base + ev->t0_ms / 1e3, base + ev->t1_ms / 1e3,
               base + ev->at_ms / 1e3);
        json_str(stdout, ev->text);
        printf(",\"model\":\"%s\",\"compute_ms\":%.1f", ev->model ? "accurate" : "fast", ev->compute_ms);
        if (isnan(ev->avg_logprob)) printf(",\"avg_logprob\":null");
        else printf(",\"avg_logprob\":%.6f", ev->avg_logprob);
        if (fin) printf(",\"latency_ms\":%.1f", lat);
        printf("}\n");
    } else {
        printf("%-7s #%d %8.2f-%8.2f  %s", fin ? "final" : "partial", ev->utterance, base + ev->t0_ms / 1e3,
               base + ev->t1_ms / 1e3, ev->text);
        if (fin) printf("  [latency %.0f ms]", lat);
        printf("\n");
    }
    fflush(stdout);
}

/* Push n samples (one of pcm / pcm16) through the stream, printing every event. */
static int feed(listen_ctx *c, edgestt_stream *s, const float *pcm, const int16_t *pcm16, size_t n) {
    while (n) {
        size_t used = 0;
        edgestt_stream_event ev;
        int st = edgestt_stream_push(s, pcm, pcm16, n, &used, &ev);
        if (st) {
            fprintf(stderr, "edge-stt: listen: %s\n",
                    edgestt_stream_error(s)[0] ? edgestt_stream_error(s) : edgestt_strerror(st));
            return EXIT_RUNTIME;
        }
        print_event(c, &ev);
        if (pcm) pcm += used;
        else pcm16 += used;
        n -= used;
    }
    return 0;
}

/* "edge-stt: PATH: why", without repeating the path when the library's line starts with it. */
static void report(const char *path, const char *why) {
    size_t n = strlen(path);
    if (!strncmp(why, path, n) && !strncmp(why + n, ": ", 2)) why += n + 2;
    fprintf(stderr, "edge-stt: %s: %s\n", path, why);
}

/* Open one model; a failure is one line and NULL. */
static edgestt_model *open_model(const char *path, const edgestt_params *mp, int quiet) {
    edgestt_model *m = NULL;
    edgestt_diag d;
    d.msg[0] = 0;
    int st = edge_stt_open_model(path, mp, &m, &d);
    if (st) {
        if (!path) path = "embedded model";
        report(path, d.msg[0] ? d.msg : edgestt_strerror(st));
        return NULL;
    }
    (void)quiet;
    return m;
}

int edge_stt_listen(int argc, char **argv) {
    /* Ctrl-C / SIGTERM end listening cleanly from the start: one arriving while the models load
     * or warm up stops the program before it listens (with a background job's inherited SIG_IGN
     * or the default action it was lost or killed the process mid-load) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    const char *fast_path = NULL, *acc_path = NULL, *device = NULL, *sim = NULL, *vad_path = NULL;
    const char *language = NULL;
    int json = 0, quiet = 0, threads = 1, beam = 0, no_partials = 0, no_drop = 0;
    double speed = 1.0, soak_s = 0;
    edgestt_stream_params sp;
    edgestt_stream_params_default(&sp);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
#define NEEDV                                                                                                \
    do {                                                                                                     \
        if (!v) return listen_usage();                                                                       \
        i++;                                                                                                 \
    } while (0)
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) { NEEDV; fast_path = v; }
        else if (!strcmp(a, "--accurate-model")) { NEEDV; acc_path = v; }
        else if (!strcmp(a, "--mode")) {
            NEEDV;
            if (!strcmp(v, "auto")) sp.mode = EDGESTT_STREAM_AUTO;
            else if (!strcmp(v, "fast")) sp.mode = EDGESTT_STREAM_FAST;
            else if (!strcmp(v, "accurate")) sp.mode = EDGESTT_STREAM_ACCURATE;
            else return listen_usage();
        } else if (!strcmp(a, "-D") || !strcmp(a, "--device")) { NEEDV; device = v; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            NEEDV;
            if (!strcmp(v, "json")) json = 1;
            else if (!strcmp(v, "text")) json = 0;
            else return listen_usage();
        } else if (!strcmp(a, "--simulate-realtime")) { NEEDV; sim = v; }
        else if (!strcmp(a, "--vad-model")) { NEEDV; vad_path = v; }
        else if (!strcmp(a, "--language")) { NEEDV; language = v; }
        else if (!strcmp(a, "--speed") || !strcmp(a, "--soak-seconds") || !strcmp(a, "--threshold")) {
            NEEDV;
            double x = strtod(v, &end);
            if (!end || *end || !(x >= 0) || x > 1e9) return listen_usage();
            if (a[2] == 's' && a[3] == 'p') speed = x;
            else if (a[2] == 's') soak_s = x;
            else if (x > 1) return listen_usage();
            else sp.vad.threshold = (float)x;
        } else if (!strcmp(a, "--partial-ms") || !strcmp(a, "--endpoint-ms") || !strcmp(a, "--max-utterance-ms") ||
                   !strcmp(a, "--threads") || !strcmp(a, "--beam") || !strcmp(a, "--sample-len") ||
                   !strcmp(a, "--vad-max-speech-ms")) {
            NEEDV;
            long x = strtol(v, &end, 10);
            if (!end || *end || x < 0 || x > 600000) return listen_usage();
            if (!strcmp(a, "--partial-ms")) sp.partial_ms = (int)x;
            else if (!strcmp(a, "--endpoint-ms")) sp.endpoint_ms = (int)x;
            else if (!strcmp(a, "--max-utterance-ms")) sp.max_utterance_ms = (int)x;
            else if (!strcmp(a, "--vad-max-speech-ms")) sp.vad.max_speech_ms = (int)x;
            else if (!strcmp(a, "--threads")) threads = (int)x;
            else if (!strcmp(a, "--sample-len")) sp.decode.sample_len = (int)x;
            else beam = (int)x;
        } else if (!strcmp(a, "--no-partials")) no_partials = 1;
        else if (!strcmp(a, "--no-drop")) no_drop = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else return listen_usage();
#undef NEEDV
    }
    size_t emb = 0;
    if (!fast_path && !acc_path && (edge_stt_embedded_model(&emb), emb == 0)) return listen_usage();
    if (threads < 1 || threads > 64 || beam > 16 || (soak_s > 0 && !sim)) return listen_usage();
    if (no_partials) sp.partial_ms = 0;
    sp.decode.n_threads = threads;
    sp.decode.beam_size = beam;
    sp.decode.language = language;

    /* the input file first: a bad path fails before the models load */
    float *pcm = NULL;
    size_t n_sim = 0;
    if (sim) {
        char why[300];
        if (load_wav(sim, &pcm, &n_sim, why, sizeof why)) {
            report(sim, why);
            return EXIT_AUDIO;
        }
    }

    /* the models: either may fail, the other serves */
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.n_threads = threads;
    mp.beam_size = beam > 0 ? beam : 1;
    /* no -m: the embedded model (if the program has one) is the fast one */
    edgestt_model *fast = fast_path || !acc_path ? open_model(fast_path, &mp, quiet) : NULL;
    edgestt_model *acc = acc_path ? open_model(acc_path, &mp, quiet) : NULL;
    if (!fast && !acc) {
        free(pcm);
        return EXIT_MODEL;
    }
    if (fast_path && acc_path && (!fast || !acc) && !quiet)
        fprintf(stderr, "edge-stt: note: serving with the %s model only\n", fast ? "fast" : "accurate");

    int rc = 0;
    edgestt_vad *vad = NULL;
    edgestt_stream *s = NULL;
    edgestt_capture *cap = NULL;
    int16_t *buf16 = NULL;
    listen_ctx *c = calloc(1, sizeof *c);
    edgestt_diag d;
    d.msg[0] = 0;
    if (!c) {
        rc = EXIT_RUNTIME;
        goto done;
    }
    c->json = json, c->quiet = quiet;
    const char *vad_used = vad_path;
    int st = edge_stt_vad_open(vad_path, &vad, &vad_used, &d);
    if (st) {
        report(vad_used ? vad_used : "VAD model", d.msg[0] ? d.msg : edgestt_strerror(st));
        rc = EXIT_MODEL;
        goto done;
    }
    d.msg[0] = 0;
    st = edgestt_stream_init(fast, acc, vad, &sp, NULL, 0, &s, &d);
    if (st) {
        fprintf(stderr, "edge-stt: listen: %s\n", d.msg[0] ? d.msg : edgestt_strerror(st));
        rc = st == EDGESTT_E_INVALID_ARG ? EXIT_USAGE : EXIT_RUNTIME;
        goto done;
    }
    double tw = wall_ms();
    if ((st = edgestt_stream_warmup(s)) != 0) {
        fprintf(stderr, "edge-stt: listen: %s\n", edgestt_stream_error(s));
        rc = EXIT_RUNTIME;
        goto done;
    }
    if (!quiet) fprintf(stderr, "edge-stt: warmed up in %.0f ms\n", wall_ms() - tw);

    double rss_first = 0, rss_last = 0, t_start = wall_ms();
    int64_t fed_total = 0;
    if (sim) {
        size_t n = n_sim;
        /* the file plays at `speed` times real time (0: no waiting) in 20 ms pieces; with a soak
         * it loops until soak_s seconds of audio have gone by */
        int64_t total = soak_s > 0 ? (int64_t)(soak_s * 16000.0) : (int64_t)n;
        const int64_t piece = 320;
        if (!n) total = 0;
        while (fed_total < total && !g_stop) {
            int64_t due = total;
            if (speed > 0) {
                due = (int64_t)((wall_ms() - t_start) * 16.0 * speed);
                if (due > total) due = total;
                if (due <= fed_total) {
                    struct timespec ts = {0, 2000000};
                    nanosleep(&ts, NULL);
                    continue;
                }
            } else {
                due = fed_total + piece < total ? fed_total + piece : total;
            }
            /* the backlog at once (as a microphone's ring would hold it), wrapping at the file end */
            while (fed_total < due && !rc) {
                size_t at = (size_t)(fed_total % (int64_t)n);
                size_t k = (size_t)(due - fed_total);
                if (k > n - at) k = n - at;
                arrivals_add(&c->arr, fed_total + (int64_t)k,
                             speed > 0 ? t_start + (double)(fed_total + (int64_t)k) / (16.0 * speed) : wall_ms());
                rc = feed(c, s, pcm + at, NULL, k);
                fed_total += (int64_t)k;
            }
            if (rc) goto done;
            if (soak_s > 0) {
                if (!rss_first && fed_total >= 60 * 16000) rss_first = rss_bytes();
                if (fed_total >= total - 60 * 16000) rss_last = rss_bytes();
            }
        }
    } else {
        edgestt_capture_params cp;
        edgestt_capture_params_default(&cp);
        cp.device = device;
        cp.wait_when_full = no_drop;
        d.msg[0] = 0;
        st = edgestt_capture_open(&cp, NULL, 0, &cap, &d);
        if (st) {
            fprintf(stderr, "edge-stt: %s\n", d.msg[0] ? d.msg : edgestt_strerror(st));
            rc = st == EDGESTT_E_INVALID_ARG ? EXIT_USAGE : EXIT_AUDIO;
            goto done;
        }
        if (!quiet) fprintf(stderr, "edge-stt: listening on '%s' (Ctrl-C ends)\n", device ? device : "default");
        size_t bcap = 16000 * 4;
        buf16 = malloc(bcap * sizeof *buf16);
        if (!buf16) {
            rc = EXIT_RUNTIME;
            goto done;
        }
        while (!g_stop) {
            size_t got = 0;
            st = edgestt_capture_read(cap, buf16, bcap, &got, 100);
            if (st) {
                fprintf(stderr, "edge-stt: %s\n", edgestt_capture_error(cap)[0] ? edgestt_capture_error(cap)
                                                                               : edgestt_strerror(st));
                rc = EXIT_AUDIO;
                break;
            }
            if (!got) continue;
            arrivals_add(&c->arr, fed_total + (int64_t)got, wall_ms());
            if ((rc = feed(c, s, NULL, buf16, got)) != 0) break;
            fed_total += (int64_t)got;
        }
    }
    if (!rc) {
        edgestt_stream_event ev;
        if ((st = edgestt_stream_flush(s, &ev)) != 0) {
            fprintf(stderr, "edge-stt: listen: %s\n", edgestt_stream_error(s));
            rc = EXIT_RUNTIME;
        } else {
            print_event(c, &ev);
        }
    }
    if (!quiet) {
        double el = (wall_ms() - t_start) / 1e3;
        fprintf(stderr, "edge-stt: %.1f s of audio in %.1f s: %d finals, %d partials, latency mean %.0f ms, max %.0f ms",
                (double)fed_total / 16000.0, el, c->n_finals, c->n_partials,
                c->n_finals ? c->lat_sum / c->n_finals : 0.0, c->lat_max);
        if (cap) {
            edgestt_capture_stats cs;
            edgestt_capture_get_stats(cap, &cs);
            fprintf(stderr, ", %llu frames captured, %llu dropped, %u xruns", (unsigned long long)cs.frames,
                    (unsigned long long)cs.dropped, cs.xruns);
        }
        fprintf(stderr, "\n");
    }
    if (soak_s > 0)
        fprintf(stderr, "edge-stt: soak: rss after the first minute %.2f MiB, in the last minute %.2f MiB\n",
                rss_first / 1048576.0, rss_last / 1048576.0);
done:
    edgestt_capture_close(cap);
    edgestt_stream_free(s);
    edgestt_vad_close(vad);
    edgestt_close(fast);
    edgestt_close(acc);
    free(buf16);
    free(pcm);
    free(c);
    return rc;
}
