/*
 * edge-stt - the command-line program (public API only).
 *
 *   edge-stt -m MODEL [options] FILE.wav...   transcribe (the transcript goes to stdout, or to
 *                                             output files with -o)
 *   edge-stt info MODEL [--kernels NAME] [--threads N] [--kv-type f16|f32]   describe a model file
 *                                             and its memory plan
 *   edge-stt version
 *
 * Exit status: 0 ok, 1 runtime error (transcription, writing an output), 2 usage or a bad option
 * (also one only the model can judge, e.g. --language de with an English-only model), 3 the model
 * file cannot be opened, 4 an audio file cannot be read or decoded, 5 the model needs more memory
 * (model handle + transcription state, as planned from its headers) than --max-memory allows --
 * refused before any weight is read.  Every failure is
 * one line on stderr, "edge-stt: FILE: reason"; the other files are still processed and the exit
 * status is the first failure's.  Output files are written to NAME.part and renamed, so a file of
 * that name is never partial.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edgestt.h"
#include "edge-stt-embed.h" /* the model linked into the program (examples/edge-stt-embed.c) */
#include "edge-stt-vad.h"   /* --vad (examples/edge-stt-vad.c) */

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_MODEL = 3, EXIT_AUDIO = 4, EXIT_MEMORY = 5 };

static int usage(void) {
    fprintf(stderr,
            "usage: edge-stt [-m MODEL] [options] FILE.wav...   (no -m: the embedded model, if built with one)\n"
            "       edge-stt info [MODEL] [--kernels auto|ref|avx2|neon|neondot] [--threads N] [--kv-type f16|f32]\n"
            "       edge-stt bench -m MODEL [--threads N] [--kv-type f16|f32] [--json] [FILE.wav]\n"
            "       edge-stt listen [-m MODEL] [-D DEVICE] [-o text|json] [--simulate-realtime FILE.wav]   (listen --help)\n"
            "       edge-stt devices     capture devices (as arecord -L)\n"
            "       edge-stt eval [-m MODEL] --manifest FILE [--json] [--per-file]   (edge-stt eval --help)\n"
            "       edge-stt version\n"
            "options:\n"
            "  -m, --model FILE       model: Whisper (whisper.cpp .bin or GGUF) or Parakeet (GGUF)\n"
            "  -o, --output FMT       write FILE.FMT: txt, srt, vtt or json (repeatable; default: text on stdout)\n"
            "  --output-dir DIR       where -o files go (default: next to each input)\n"
            "  --threads N            threads (default 1)\n"
            "  --beam N               beam search with N beams at temperature 0 (default 5; Parakeet:\n"
            "                         greedy unless given, then modified beam search)\n"
            "  --greedy               greedy decoding instead of beam search\n"
            "  --best-of N            candidates sampled at temperature > 0 (default 5)\n"
            "  --no-timestamps        no timestamp tokens (one segment per 30 s window)\n"
            "  --no-fallback          never retry a window at a higher temperature\n"
            "  --language XX          language code, or auto (default: auto; English-only models: en)\n"
            "  --translate            translate to English (multilingual models)\n"
            "  --prompt TEXT          initial prompt (previous text)\n"
            "  --files-from LIST      read more input paths from LIST, one per line (- = stdin)\n"
            "  --shard I/N            only the inputs whose index modulo N is I (0 <= I < N)\n"
            "  --kernels NAME         auto, ref, avx2, neon, neondot\n"
            "  --kv-type T            attention K/V caches: f16 (default; half the memory, as whisper.cpp) or\n"
            "                         f32 (the reference's precision)\n"
            "  --seed N               sampling seed at temperature > 0\n"
            "  --vad                  transcribe only the speech (Silero VAD v5); times stay in the file's timeline\n"
            "  --vad-model FILE       the VAD model (default: $EDGESTT_VAD_MODEL, models/silero-vad-v5.gguf of the\n"
            "                         build tree, <prefix>/share/edge-stt/silero-vad-v5.gguf)\n"
            "  --max-memory BYTES     refuse (exit 5) a model whose planned memory, model + state for\n"
            "                         these options (mapped weights excluded), exceeds BYTES (K/M/G suffix)\n"
            "  --quiet                no progress or notes on stderr (errors still)\n");
    return EXIT_USAGE;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *format_name(edgestt_file_format f) {
    return f == EDGESTT_FORMAT_GGUF ? "gguf" : f == EDGESTT_FORMAT_GGML_BIN ? "ggml .bin (whisper.cpp)" : "?";
}

/* One failure line; the line may already start with "path: ", which is then not repeated. */
static void report(const char *path, const char *why) {
    size_t n = strlen(path);
    if (!strncmp(why, path, n) && !strncmp(why + n, ": ", 2)) why += n + 2;
    fprintf(stderr, "edge-stt: %s: %s\n", path, why);
}

static const char *diag_or(const edgestt_diag *d, int st) { return d->msg[0] ? d->msg : edgestt_strerror(st); }

/* --kv-type VALUE: 0 and *out set, or -1 for a value that is neither f16 nor f32. */
static int kv_type_arg(const char *v, edgestt_kv_type *out) {
    if (!strcmp(v, "f16")) *out = EDGESTT_KV_F16;
    else if (!strcmp(v, "f32")) *out = EDGESTT_KV_F32;
    else return -1;
    return 0;
}

/* ==== edge-stt info ======================================================================== */

static int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    edgestt_params p;
    edgestt_params_default(&p);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--kernels") && i + 1 < argc) p.kernels = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) p.n_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--kv-type") && i + 1 < argc) {
            if (kv_type_arg(argv[++i], &p.kv_type)) {
                fprintf(stderr, "edge-stt: --kv-type %s: not f16 or f32\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' || path) return usage();
        else path = argv[i];
    }
    size_t embedded_size = 0;
    edge_stt_embedded_model(&embedded_size);
    if (!path && !embedded_size) return usage();
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_model *m = NULL;
    double t0 = now_ms();
    int st = edge_stt_open_model(path, &p, &m, &d); /* no path: the embedded model */
    if (!path) path = edge_stt_embedded_name();
    double t1 = now_ms();
    if (st) {
        report(path, diag_or(&d, st));
        return st == EDGESTT_E_INVALID_ARG ? EXIT_USAGE : EXIT_MODEL;
    }
    edgestt_model_info in;
    edgestt_special_tokens sp;
    edgestt_model_get_info(m, &in);
    edgestt_special_tokens_get(m, &sp);
    printf("file          %s\n", path);
    printf("format        %s\n", format_name(in.format));
    printf("architecture  %s\n", in.arch);
    const int transducer = !strcmp(in.arch, "parakeet");
    if (transducer) { /* FastConformer encoder, LSTM predictor (edgestt_model_info's parakeet mapping) */
        printf("encoder       n_state %d  n_head %d  n_layer %d  n_mels %d\n", in.n_audio_state, in.n_audio_head,
               in.n_audio_layer, in.n_mels);
        printf("predictor     n_state %d  n_layer %d\n", in.n_text_state, in.n_text_layer);
        printf("vocabulary    %d SentencePiece pieces + blank (id %d)\n", in.n_vocab - 1, in.n_vocab - 1);
    } else {
        printf("audio         n_ctx %d  n_state %d  n_head %d  n_layer %d  n_mels %d\n", in.n_audio_ctx,
               in.n_audio_state, in.n_audio_head, in.n_audio_layer, in.n_mels);
        printf("text          n_ctx %d  n_state %d  n_head %d  n_layer %d  n_vocab %d\n", in.n_text_ctx,
               in.n_text_state, in.n_text_head, in.n_text_layer, in.n_vocab);
        printf("vocabulary    %s, %d languages (eot %d, sot %d, first language %d, timestamps from %d)\n",
               in.multilingual ? "multilingual" : "english-only", in.n_languages, sp.eot, sp.sot, sp.lang_first,
               sp.timestamp_begin);
    }
    printf("tensors       %d:", in.n_tensors);
    for (int t = 0; t < 16; t++)
        if (in.n_by_type[t]) printf(" %lld %s", (long long)in.n_by_type[t], edgestt_type_name(t));
    printf("\n");
    printf("parameters    %lld (%.1f M)\n", (long long)in.n_params, (double)in.n_params / 1e6);
    printf("weight bytes  %zu (%.1f MiB, %s)\n", in.weight_bytes, (double)in.weight_bytes / 1048576.0,
           in.mapped ? "mapped" : "in memory");
    printf("arena bytes   %zu (%.1f KiB planned)\n", in.arena_bytes, (double)in.arena_bytes / 1024.0);
    /* the memory plan of a default transcription state (beam = best-of = the params' beam_size) */
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.n_threads = p.n_threads;
    fp.beam_size = fp.best_of = p.beam_size;
    size_t state_bytes = 0;
    const double es = in.kv_type == EDGESTT_KV_F32 ? 4.0 : 2.0;
    const double self_kv = (double)fp.beam_size * in.n_text_layer * in.n_text_ctx * in.n_text_state * 2.0 * es;
    const double cross_kv = (double)in.n_text_layer * in.n_audio_ctx * in.n_audio_state * 2.0 * es;
    if (!transducer)
        printf("kv caches     %s: self %.1f MiB (%d beams x %d layers x %d positions), cross %.1f MiB\n",
               edgestt_kv_type_name(in.kv_type), self_kv / 1048576.0, fp.beam_size, in.n_text_layer, in.n_text_ctx,
               cross_kv / 1048576.0);
    if (transducer && edgestt_state_mem_size(m, &fp, &state_bytes, &d) == EDGESTT_OK)
        printf("state bytes   %zu (%.1f MiB planned: greedy, %d x 30 s of audio, %d thread%s); model + state %.1f MiB\n",
               state_bytes, (double)state_bytes / 1048576.0, p.max_audio_windows, fp.n_threads,
               fp.n_threads == 1 ? "" : "s", (double)(state_bytes + in.arena_bytes) / 1048576.0);
    else if (edgestt_state_mem_size(m, &fp, &state_bytes, &d) == EDGESTT_OK)
        printf("state bytes   %zu (%.1f MiB planned: beam %d, best-of %d, %d thread%s); model + state %.1f MiB\n",
               state_bytes, (double)state_bytes / 1048576.0, fp.beam_size, fp.best_of, fp.n_threads,
               fp.n_threads == 1 ? "" : "s", (double)(state_bytes + in.arena_bytes) / 1048576.0);
    printf("kernels       %s\n", in.kernels);
    printf("open time     %.2f ms\n", t1 - t0);
    edgestt_close(m);
    return 0;
}

/* ==== small string buffer ================================================================== */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of one valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (len > n || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return len;
}

/* A JSON string: escapes, and U+FFFD for bytes that are not valid UTF-8 (a token can end inside
 * a multi-byte character). */
/* The JSON-escaped bytes of s, without quotes. */
static void sb_json_body(sbuf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
            i++;
        } else if (c < 0x20) {
            if (c == '\n') sb_str(b, "\\n");
            else if (c == '\t') sb_str(b, "\\t");
            else if (c == '\r') sb_str(b, "\\r");
            else sb_printf(b, "\\u%04x", c);
            i++;
        } else {
            size_t l = utf8_len((const unsigned char *)s + i, n - i);
            if (l) sb_put(b, s + i, l), i += l;
            else sb_str(b, "\xef\xbf\xbd"), i++;
        }
    }
}

static void sb_json(sbuf *b, const char *s, size_t n) {
    sb_put(b, "\"", 1);
    sb_json_body(b, s, n);
    sb_put(b, "\"", 1);
}

/* [b, e) of s without leading/trailing ASCII whitespace (what the text formats print). */
static void trim(const char *s, size_t n, size_t *b, size_t *e) {
    *b = 0;
    *e = n;
    while (*b < *e && (s[*b] == ' ' || s[*b] == '\t' || s[*b] == '\n' || s[*b] == '\r')) (*b)++;
    while (*e > *b && (s[*e - 1] == ' ' || s[*e - 1] == '\t' || s[*e - 1] == '\n' || s[*e - 1] == '\r')) (*e)--;
}

/* ==== transcription ======================================================================== */

enum { FMT_TXT = 1, FMT_SRT = 2, FMT_VTT = 4, FMT_JSON = 8 };

typedef struct options {
    const char *model, *output_dir, *files_from, *kernels;
    int formats, quiet, shard_i, shard_n;
    edgestt_kv_type kv_type; /* --kv-type (the model's edgestt_params.kv_type) */
    edgestt_full_params fp;
    int vad;                /* --vad: transcribe only the speech */
    const char *vad_model;  /* --vad-model */
    edgestt_vad *vad_handle;
} options;

typedef struct file_timing {
    double load_ms, audio_ms, total_ms;
    const edge_stt_vad_map *vad_map; /* --vad: times of the cut audio -> the file's (NULL: as is) */
} file_timing;

/* Text of segment i (malloc'd into *buf, grown as needed); returns its length. */
static size_t segment_text(const edgestt_state *s, int i, char **buf, size_t *cap) {
    size_t len = 0;
    if (edgestt_segment_text(s, i, *buf, *cap, &len) == EDGESTT_E_NOMEM) {
        char *q = realloc(*buf, len + 1);
        if (!q) return 0;
        *buf = q;
        *cap = len + 1;
        edgestt_segment_text(s, i, *buf, *cap, &len);
    }
    return *buf ? len : 0;
}

static void timestamp(sbuf *b, int64_t ms, char sep) {
    if (ms < 0) ms = 0;
    sb_printf(b, "%02lld:%02lld:%02lld%c%03lld", (long long)(ms / 3600000), (long long)(ms / 60000 % 60),
              (long long)(ms / 1000 % 60), sep, (long long)(ms % 1000));
}

/* A Parakeet segment's words for -o json: a word starts at a piece beginning with U+2581 (or the
 * segment's first token) and runs to the next one; its text is its pieces without the marker, its
 * times those of its first and last token, p the lowest token probability in it. */
static void json_words(sbuf *b, const edgestt_state *s, const edgestt_model *m, const edgestt_segment *sg,
                       const file_timing *ft) {
    sb_str(b, ",\n     \"words\": [");
    int n_words = 0;
    for (int k = 0; k < sg->n_tokens;) {
        edgestt_token_data td;
        edgestt_get_token(s, sg->first_token + k, &td);
        int64_t t0 = td.t0_ms, t1 = td.t1_ms;
        float pmin = td.p;
        size_t wl = 0;
        int j = k;
        do {
            const char *tx = "";
            size_t tl = 0;
            if (j > k) edgestt_get_token(s, sg->first_token + j, &td);
            edgestt_token_bytes(m, td.id, &tx, &tl);
            const int marker = tl >= 3 && (unsigned char)tx[0] == 0xE2 && (unsigned char)tx[1] == 0x96 &&
                               (unsigned char)tx[2] == 0x81;
            if (j > k && marker) break; /* the next word */
            if (marker) tx += 3, tl -= 3;
            if (tl && !wl) sb_printf(b, "%s{\"word\": \"", n_words++ ? ", " : "");
            sb_json_body(b, tx, tl);
            wl += tl;
            if (td.p < pmin) pmin = td.p;
            t1 = td.t1_ms;
            j++;
        } while (j < sg->n_tokens);
        k = j;
        if (!wl) continue; /* a lone marker */
        sb_printf(b, "\", \"start\": %.3f, \"end\": %.3f, \"p\": %.6f}",
                  (double)edge_stt_vad_map_ms(ft->vad_map, t0) / 1000.0,
                  (double)edge_stt_vad_map_ms(ft->vad_map, t1) / 1000.0, (double)pmin);
    }
    sb_str(b, "]");
}

/* The transcript of the state's results in one format. */
static void render(sbuf *b, int fmt, const edgestt_state *s, const edgestt_model *m, const char *path,
                   const char *model_path, const file_timing *ft) {
    char *tb = NULL;
    size_t tcap = 0;
    const int n_seg = edgestt_n_segments(s);
    edgestt_model_info mi;
    const int pk = !edgestt_model_get_info(m, &mi) && !strcmp(mi.arch, "parakeet"); /* words in -o json */
    if (fmt == FMT_VTT) sb_str(b, "WEBVTT\n\n");
    if (fmt == FMT_JSON) {
        edgestt_model_info in;
        edgestt_timings tm;
        const char *code = NULL;
        int lang_token = -1;
        float lang_p = 0.0f;
        edgestt_model_get_info(m, &in);
        edgestt_get_timings(s, &tm);
        edgestt_get_language(s, &code, &lang_token, &lang_p);
        sb_str(b, "{\n  \"file\": ");
        sb_json(b, path, strlen(path));
        sb_str(b, ",\n  \"model\": {\"path\": ");
        sb_json(b, model_path, strlen(model_path));
        sb_printf(b, ", \"architecture\": \"%s\", \"format\": \"%s\", \"multilingual\": %s, \"n_vocab\": %d, "
                     "\"n_audio_layer\": %d, \"n_text_layer\": %d, \"n_state\": %d, \"n_params\": %lld, \"weight_types\": {",
                  in.arch, in.format == EDGESTT_FORMAT_GGUF ? "gguf" : "ggml-bin", in.multilingual ? "true" : "false",
                  in.n_vocab, in.n_audio_layer, in.n_text_layer, in.n_audio_state, (long long)in.n_params);
        int first = 1;
        for (int t = 0; t < 16; t++)
            if (in.n_by_type[t]) {
                sb_printf(b, "%s\"%s\": %lld", first ? "" : ", ", edgestt_type_name(t), (long long)in.n_by_type[t]);
                first = 0;
            }
        sb_printf(b, "}, \"kernels\": \"%s\", \"kv_type\": \"%s\"},\n", in.kernels, edgestt_kv_type_name(in.kv_type));
        sb_printf(b, "  \"language\": \"%s\", \"language_token\": %d, \"language_prob\": %.6g,\n", code ? code : "",
                  lang_token, (double)lang_p);
        sb_printf(b, "  \"timings\": {\"load_ms\": %.3f, \"audio_ms\": %.3f, \"mel_ms\": %.3f, \"encode_ms\": %.3f, "
                     "\"decode_ms\": %.3f, \"total_ms\": %.3f, \"windows\": %d, \"fallbacks\": %d},\n",
                  ft->load_ms, ft->audio_ms, tm.mel_ms, tm.encode_ms, tm.decode_ms, ft->total_ms, tm.n_windows,
                  tm.n_fallbacks);
        size_t len = 0;
        char *full = NULL;
        if (edgestt_full_text(s, NULL, 0, &len) == EDGESTT_E_NOMEM && (full = malloc(len + 1)))
            edgestt_full_text(s, full, len + 1, &len);
        sb_str(b, "  \"text\": ");
        sb_json(b, full ? full : "", full ? len : 0);
        free(full);
        sb_str(b, ",\n  \"segments\": [");
    }
    int shown = 0;
    for (int i = 0; i < n_seg; i++) {
        edgestt_segment sg;
        edgestt_get_segment(s, i, &sg);
        sg.t0_ms = edge_stt_vad_map_ms(ft->vad_map, sg.t0_ms);
        sg.t1_ms = edge_stt_vad_map_ms(ft->vad_map, sg.t1_ms);
        size_t len = segment_text(s, i, &tb, &tcap), tb0, te;
        trim(tb ? tb : "", len, &tb0, &te);
        if (fmt == FMT_JSON) {
            sb_printf(b, "%s\n    {\"id\": %d, \"start\": %.3f, \"end\": %.3f, \"text\": ", i ? "," : "", i,
                      (double)sg.t0_ms / 1000.0, (double)sg.t1_ms / 1000.0);
            sb_json(b, tb ? tb : "", len);
            sb_printf(b, ", \"avg_logprob\": %.6g, \"no_speech_prob\": %.6g, \"compression_ratio\": %.6g, "
                         "\"temperature\": %.2f,\n     \"tokens\": [",
                      (double)sg.avg_logprob, (double)sg.no_speech_prob, (double)sg.compression_ratio,
                      (double)sg.temperature);
            for (int k = 0; k < sg.n_tokens; k++) {
                edgestt_token_data td;
                const char *tx = "";
                size_t tl = 0;
                edgestt_get_token(s, sg.first_token + k, &td);
                td.t0_ms = edge_stt_vad_map_ms(ft->vad_map, td.t0_ms);
                td.t1_ms = edge_stt_vad_map_ms(ft->vad_map, td.t1_ms);
                edgestt_token_bytes(m, td.id, &tx, &tl);
                sb_printf(b, "%s{\"id\": %d, \"text\": ", k ? ", " : "", td.id);
                sb_json(b, tx, tl);
                sb_printf(b, ", \"p\": %.6f, \"t0\": %.3f, \"t1\": %.3f}", (double)td.p, (double)td.t0_ms / 1000.0,
                          (double)td.t1_ms / 1000.0);
            }
            sb_str(b, "]");
            if (pk) json_words(b, s, m, &sg, ft);
            sb_str(b, "}");
            continue;
        }
        if (te == tb0) continue; /* whisper keeps empty segments; the text formats skip them */
        shown++;
        if (fmt == FMT_SRT) {
            sb_printf(b, "%d\n", shown);
            timestamp(b, sg.t0_ms, ',');
            sb_str(b, " --> ");
            timestamp(b, sg.t1_ms, ',');
            sb_str(b, "\n");
        } else if (fmt == FMT_VTT) {
            timestamp(b, sg.t0_ms, '.');
            sb_str(b, " --> ");
            timestamp(b, sg.t1_ms, '.');
            sb_str(b, "\n");
        }
        sb_put(b, tb + tb0, te - tb0);
        sb_str(b, fmt == FMT_TXT ? "\n" : "\n\n");
    }
    if (fmt == FMT_JSON) sb_str(b, "\n  ]\n}\n");
    free(tb);
}

/* Write data to path atomically: path.part, then rename. */
static int write_file(const char *path, const char *data, size_t n, char *why, size_t why_cap) {
    char part[4096];
    if (snprintf(part, sizeof part, "%s.part", path) >= (int)sizeof part) {
        snprintf(why, why_cap, "output path too long");
        return -1;
    }
    FILE *f = fopen(part, "wb");
    if (!f) {
        snprintf(why, why_cap, "cannot create the .part file: %s", strerror(errno));
        return -1;
    }
    int ok = fwrite(data, 1, n, f) == n;
    ok &= fflush(f) == 0;
    ok &= fsync(fileno(f)) == 0 || errno == EINVAL;
    ok &= fclose(f) == 0;
    if (!ok || rename(part, path) != 0) {
        snprintf(why, why_cap, "cannot write: %s", strerror(errno));
        unlink(part);
        return -1;
    }
    return 0;
}

/* The output path for input `in` and extension ext. */
static int output_path(const options *o, const char *in, const char *ext, char *out, size_t cap) {
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    size_t stem = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) stem = (size_t)(dot - base);
    int n;
    if (o->output_dir) n = snprintf(out, cap, "%s/%.*s.%s", o->output_dir, (int)stem, base, ext);
    else n = snprintf(out, cap, "%.*s%.*s.%s", (int)(base - in), in, (int)stem, base, ext);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Read and decode a WAV file to 16 kHz mono floats (malloc'd). */
static int read_audio(const char *path, float **pcm, size_t *n, char *why, size_t why_cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_cap, "%s", strerror(errno));
        return -1;
    }
    unsigned char *img = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            unsigned char *q = realloc(img, cap);
            if (!q) {
                free(img);
                fclose(f);
                snprintf(why, why_cap, "out of memory");
                return -1;
            }
            img = q;
        }
        size_t got = fread(img + size, 1, cap - size, f);
        size += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(img);
        snprintf(why, why_cap, "read error");
        return -1;
    }
    edgestt_wav_info info;
    edgestt_diag d;
    d.msg[0] = 0;
    int st = edgestt_wav_parse(img, size, &info, &d);
    size_t scratch_bytes = 0;
    void *scratch = NULL;
    *pcm = NULL;
    if (!st) st = edgestt_wav_scratch_size(&info, &scratch_bytes);
    if (!st && info.n_samples_16k > (uint64_t)(SIZE_MAX / sizeof(float))) st = EDGESTT_E_LIMIT;
    if (!st && ((scratch_bytes && !(scratch = malloc(scratch_bytes))) ||
                !(*pcm = malloc((size_t)info.n_samples_16k * sizeof(float) + 1))))
        st = EDGESTT_E_NOMEM;
    if (!st) st = edgestt_wav_decode(img, size, &info, *pcm, scratch, scratch_bytes, &d);
    free(scratch);
    free(img);
    if (st) {
        free(*pcm);
        *pcm = NULL;
        snprintf(why, why_cap, "%s", diag_or(&d, st));
        return -1;
    }
    *n = (size_t)info.n_samples_16k;
    return 0;
}

typedef struct progress_ctx {
    const char *path;
} progress_ctx;

static void on_progress(void *user, int64_t done_ms, int64_t total_ms) {
    const progress_ctx *pc = user;
    fprintf(stderr, "\r%s: %3d%% (%.1f / %.1f s)", pc->path, total_ms ? (int)(100 * done_ms / total_ms) : 100,
            (double)done_ms / 1000.0, (double)total_ms / 1000.0);
    fflush(stderr);
}

/* Transcribe one file and write its outputs; returns an exit status. */
static int run_file(const options *o, edgestt_model *m, edgestt_state *s, const char *path, double load_ms, int n_files) {
    char why[512];
    float *pcm = NULL;
    size_t n = 0;
    file_timing ft = {load_ms, 0.0, 0.0, NULL};
    double t0 = now_ms();
    if (read_audio(path, &pcm, &n, why, sizeof why)) {
        report(path, why);
        return EXIT_AUDIO;
    }
    ft.audio_ms = now_ms() - t0;
    edge_stt_vad_map vmap = {NULL, 0};
    if (o->vad_handle) { /* --vad: only the speech, joined; times mapped back when rendering */
        float *cut = NULL;
        size_t n_cut = 0;
        int bad = edge_stt_vad_cut(o->vad_handle, pcm, n, &cut, &n_cut, &vmap);
        free(pcm);
        if (bad) {
            report(path, "voice activity detection failed (out of memory)");
            return EXIT_RUNTIME;
        }
        pcm = cut;
        n = n_cut;
        ft.vad_map = &vmap;
        if (!o->quiet)
            fprintf(stderr, "edge-stt: %s: %zu speech segment%s, %.2f s of speech\n", path, vmap.n, vmap.n == 1 ? "" : "s",
                    (double)(n_cut - (vmap.n ? (vmap.n - 1) * 1600 : 0)) / 16000.0);
    }
    edgestt_full_params fp = o->fp;
    progress_ctx pc = {path};
    if (!o->quiet && isatty(2)) {
        fp.progress = on_progress;
        fp.progress_user = &pc;
    }
    static const float no_speech[1] = {0.0f}; /* --vad found none: transcribe nothing */
    int st = edgestt_transcribe(s, pcm ? pcm : no_speech, pcm ? n : 0, &fp);
    if (fp.progress) fprintf(stderr, "\r\033[K");
    free(pcm);
    ft.total_ms = now_ms() - t0;
    if (st) { /* a bad option value (e.g. a language the model lacks) is a usage error */
        report(path, edgestt_state_error(s)[0] ? edgestt_state_error(s) : edgestt_strerror(st));
        edge_stt_vad_map_free(&vmap);
        return st == EDGESTT_E_INVALID_ARG ? EXIT_USAGE : EXIT_RUNTIME;
    }
    int rc = 0;
    if (!o->formats) { /* the transcript on stdout */
        sbuf b = {0};
        render(&b, FMT_TXT, s, m, path, o->model, &ft);
        if (n_files > 1) printf("== %s\n", path);
        if (b.n) fwrite(b.p, 1, b.n, stdout);
        fflush(stdout);
        if (b.oom) report(path, "out of memory"), rc = EXIT_RUNTIME;
        free(b.p);
        edge_stt_vad_map_free(&vmap);
        return rc;
    }
    static const struct {
        int fmt;
        const char *ext;
    } fmts[] = {{FMT_TXT, "txt"}, {FMT_SRT, "srt"}, {FMT_VTT, "vtt"}, {FMT_JSON, "json"}};
    for (int k = 0; k < 4; k++) {
        if (!(o->formats & fmts[k].fmt)) continue;
        char out[4096];
        sbuf b = {0};
        if (output_path(o, path, fmts[k].ext, out, sizeof out)) {
            report(path, "output path too long");
            rc = rc ? rc : EXIT_RUNTIME;
            continue;
        }
        render(&b, fmts[k].fmt, s, m, path, o->model, &ft);
        if (b.oom) {
            report(out, "out of memory");
            rc = rc ? rc : EXIT_RUNTIME;
        } else if (write_file(out, b.p ? b.p : "", b.n, why, sizeof why)) {
            report(out, why);
            rc = rc ? rc : EXIT_RUNTIME;
        } else if (!o->quiet) {
            fprintf(stderr, "edge-stt: wrote %s\n", out);
        }
        free(b.p);
    }
    edge_stt_vad_map_free(&vmap);
    return rc;
}

/* Parse an int option value in [lo, hi]. */
static int int_arg(const char *s, int lo, int hi, int *out) {
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* Parse a byte count with an optional K, M or G suffix (binary: 1K = 1024); 0 is refused. */
static int bytes_arg(const char *s, size_t *out) {
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10), mul = 1;
    if (errno || e == s || *s == '-') return -1;
    if (*e == 'K' || *e == 'k') mul = 1ull << 10, e++;
    else if (*e == 'M' || *e == 'm') mul = 1ull << 20, e++;
    else if (*e == 'G' || *e == 'g') mul = 1ull << 30, e++;
    if (*e || v == 0 || v > (unsigned long long)SIZE_MAX / mul) return -1;
    *out = (size_t)(v * mul);
    return 0;
}

/* Append the lines of list (or stdin for "-") to files; returns -1 with a reason on failure. */
static int read_list(const char *list, char ***files, int *n, int *cap, char *why, size_t why_cap) {
    FILE *f = strcmp(list, "-") ? fopen(list, "r") : stdin;
    if (!f) {
        snprintf(why, why_cap, "%s", strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        if (*n == *cap) {
            int nc = *cap ? *cap * 2 : 64;
            char **q = realloc(*files, (size_t)nc * sizeof *q);
            if (!q) {
                rc = -1;
                snprintf(why, why_cap, "out of memory");
                break;
            }
            *files = q;
            *cap = nc;
        }
        if (!((*files)[*n] = strdup(line))) {
            rc = -1;
            snprintf(why, why_cap, "out of memory");
            break;
        }
        (*n)++;
    }
    free(line);
    if (f != stdin) fclose(f);
    return rc;
}

/* Leave cmd_transcribe with an exit status after one action (a message), freeing the inputs. */
#define FAIL(code, action)                                                                                           \
    do {                                                                                                             \
        (void)(action);                                                                                              \
        rc = (code);                                                                                                 \
        goto done;                                                                                                   \
    } while (0)

static int cmd_transcribe(int argc, char **argv) {
    options o;
    memset(&o, 0, sizeof o);
    edgestt_full_params_default(&o.fp);
    o.kv_type = EDGESTT_KV_F16;
    o.shard_n = 1;
    char **files = NULL;
    int n_files = 0, cap = 0, rc = 0;
    char why[512];
    size_t max_memory = 0; /* --max-memory; 0 = no limit */
    int beam_given = 0;    /* --beam: a Parakeet model decodes greedily without it */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v) o.model = v;
        else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) {
            if (!strcmp(v, "txt")) o.formats |= FMT_TXT;
            else if (!strcmp(v, "srt")) o.formats |= FMT_SRT;
            else if (!strcmp(v, "vtt")) o.formats |= FMT_VTT;
            else if (!strcmp(v, "json")) o.formats |= FMT_JSON;
            else FAIL(EXIT_USAGE, fprintf(stderr, "edge-stt: -o %s: not txt, srt, vtt or json\n", v));
        } else if (!strcmp(a, "--output-dir") && v) o.output_dir = v;
        else if (!strcmp(a, "--threads") && v) {
            if (int_arg(v, 1, 256, &o.fp.n_threads)) FAIL(EXIT_USAGE, fprintf(stderr, "edge-stt: --threads %s: not 1..256\n", v));
        } else if (!strcmp(a, "--beam") && v) {
            if (int_arg(v, 1, 32, &o.fp.beam_size)) FAIL(EXIT_USAGE, fprintf(stderr, "edge-stt: --beam %s: not 1..32\n", v));
            beam_given = 1;
        } else if (!strcmp(a, "--best-of") && v) {
            if (int_arg(v, 1, 32, &o.fp.best_of)) FAIL(EXIT_USAGE, fprintf(stderr, "edge-stt: --best-of %s: not 1..32\n", v));
        } else if (!strcmp(a, "--max-memory") && v) {
            if (bytes_arg(v, &max_memory)) FAIL(EXIT_USAGE, fprintf(stderr, "edge-stt: --max-memory %s: not BYTES, NK, NM or NG\n", v));
        } else if (!strcmp(a, "--seed") && v) {
            char *e;
            o.fp.seed = strtoull(v, &e, 10);
            if (e == v || *e) FAIL(EXIT_USAGE, fprintf(stderr, "edge-stt: --seed %s: not a number\n", v));
        } else if (!strcmp(a, "--language") && v) o.fp.language = v;
        else if (!strcmp(a, "--prompt") && v) o.fp.initial_prompt = v;
        else if (!strcmp(a, "--files-from") && v) o.files_from = v;
        else if (!strcmp(a, "--kernels") && v) o.kernels = v;
        else if (!strcmp(a, "--kv-type") && v) {
            if (kv_type_arg(v, &o.kv_type)) FAIL(EXIT_USAGE, fprintf(stderr, "edge-stt: --kv-type %s: not f16 or f32\n", v));
        } else if (!strcmp(a, "--vad-model") && v) o.vad_model = v, o.vad = 1;
        else if (!strcmp(a, "--shard") && v) {
            int si, sn, used = 0;
            if (sscanf(v, "%d/%d%n", &si, &sn, &used) != 2 || v[used] || sn < 1 || si < 0 || si >= sn)
                FAIL(EXIT_USAGE, fprintf(stderr, "edge-stt: --shard %s: not I/N with 0 <= I < N\n", v));
            o.shard_i = si;
            o.shard_n = sn;
        } else {
            takes = 0;
            if (!strcmp(a, "--greedy")) o.fp.beam_size = 0;
            else if (!strcmp(a, "--no-timestamps")) o.fp.timestamps = 0;
            else if (!strcmp(a, "--no-fallback")) o.fp.temperature_inc = 0.0f;
            else if (!strcmp(a, "--translate")) o.fp.task = EDGESTT_TASK_TRANSLATE;
            else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) o.quiet = 1;
            else if (!strcmp(a, "--vad")) o.vad = 1;
            else if (!strcmp(a, "-h") || !strcmp(a, "--help")) FAIL(0, usage());
            else if (a[0] == '-' && a[1]) FAIL(EXIT_USAGE, (fprintf(stderr, "edge-stt: unknown option or missing value: %s\n", a), usage()));
            else {
                if (n_files == cap) {
                    cap = cap ? cap * 2 : 16;
                    char **q = realloc(files, (size_t)cap * sizeof *q);
                    if (!q) FAIL(EXIT_RUNTIME, fprintf(stderr, "edge-stt: out of memory\n"));
                    files = q;
                }
                if (!(files[n_files] = strdup(a))) FAIL(EXIT_RUNTIME, fprintf(stderr, "edge-stt: out of memory\n"));
                n_files++;
            }
        }
        i += takes;
    }
    if (o.fp.language && !strcmp(o.fp.language, "auto")) o.fp.language = NULL;
    if (o.files_from && read_list(o.files_from, &files, &n_files, &cap, why, sizeof why)) {
        FAIL(EXIT_USAGE, report(o.files_from, why));
    }
    size_t embedded_size = 0;
    edge_stt_embedded_model(&embedded_size);
    if ((!o.model && !embedded_size) || n_files == 0) {
        if (!o.model && !embedded_size) fprintf(stderr, "edge-stt: no model (-m MODEL; this program has none embedded)\n");
        else fprintf(stderr, "edge-stt: no input files\n");
        FAIL(EXIT_USAGE, usage());
    }
    /* the model and one state for every file */
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.n_threads = o.fp.n_threads;
    mp.kernels = o.kernels;
    mp.kv_type = o.kv_type;
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_model *m = NULL;
    double t0 = now_ms();
    const char *open_path = o.model; /* NULL: the embedded model, from memory */
    if (!o.model) o.model = edge_stt_embedded_name();
    int st = edge_stt_open_model(open_path, &mp, &m, &d);
    if (st) {
        report(o.model, diag_or(&d, st));
        rc = st == EDGESTT_E_INVALID_ARG ? EXIT_USAGE : EXIT_MODEL;
        goto done;
    }
    edgestt_state *s = NULL;
    d.msg[0] = 0;
    {   /* a transducer decodes greedily unless --beam asks (as NeMo and sherpa-onnx do) */
        edgestt_model_info in;
        if (!beam_given && !edgestt_model_get_info(m, &in) && !strcmp(in.arch, "parakeet")) o.fp.beam_size = 0;
    }
    if (max_memory) { /* open read the headers only: refuse before the state exists or any weight is read */
        edgestt_model_info in;
        size_t state_bytes = 0;
        edgestt_model_get_info(m, &in);
        if ((st = edgestt_state_mem_size(m, &o.fp, &state_bytes, &d)) != 0) {
            report(o.model, diag_or(&d, st));
            rc = st == EDGESTT_E_INVALID_ARG ? EXIT_USAGE : EXIT_RUNTIME;
            edgestt_close(m);
            goto done;
        }
        if (in.arena_bytes > max_memory || state_bytes > max_memory - in.arena_bytes) {
            snprintf(why, sizeof why, "needs %zu bytes (model %zu + state %zu), over --max-memory %zu",
                     in.arena_bytes + state_bytes, in.arena_bytes, state_bytes, max_memory);
            report(o.model, why);
            rc = EXIT_MEMORY;
            edgestt_close(m);
            goto done;
        }
    }
    if ((st = edgestt_state_init(m, &o.fp, NULL, 0, &s, &d)) != 0) {
        report(o.model, diag_or(&d, st));
        rc = st == EDGESTT_E_INVALID_ARG ? EXIT_USAGE : EXIT_RUNTIME;
        edgestt_close(m);
        goto done;
    }
    if (o.vad) { /* --vad: the VAD model beside the Whisper model */
        const char *vpath = NULL;
        d.msg[0] = 0;
        if ((st = edge_stt_vad_open(o.vad_model, &o.vad_handle, &vpath, &d)) != 0) {
            report(vpath, diag_or(&d, st));
            rc = EXIT_MODEL;
            edgestt_state_free(s);
            edgestt_close(m);
            goto done;
        }
    }
    double load_ms = now_ms() - t0;
    int n_run = 0;
    for (int i = 0; i < n_files; i++) n_run += i % o.shard_n == o.shard_i;
    for (int i = 0; i < n_files; i++) {
        if (i % o.shard_n != o.shard_i) continue;
        int r = run_file(&o, m, s, files[i], load_ms, n_run);
        if (r && !rc) rc = r;
    }
    edgestt_vad_close(o.vad_handle);
    edgestt_state_free(s);
    edgestt_close(m);
done:
    for (int i = 0; i < n_files; i++) free(files[i]);
    free(files);
    return rc;
}

#include "edge-stt-model.h" /* convert, check, models, info --json (examples/edge-stt-model.c) */
#include "edge-stt-eval.h"  /* eval (examples/edge-stt-eval.c) */
#include "edge-stt-bench.h" /* bench (examples/edge-stt-bench.c) */
#include "edge-stt-listen.h" /* devices, listen (examples/edge-stt-listen.c) */

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))) {
        printf("edge-stt %s\n", EDGESTT_VERSION);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "convert")) return edge_stt_convert(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "check")) return edge_stt_check(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "models")) return edge_stt_models(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "bench")) return edge_stt_bench(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "devices")) return edge_stt_devices(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "listen")) return edge_stt_listen(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "eval")) return edge_stt_eval(argc - 2, argv + 2);
    for (int i = 2; argc >= 2 && !strcmp(argv[1], "info") && i < argc; i++)
        if (!strcmp(argv[i], "--json")) return edge_stt_info_json(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "info")) return cmd_info(argc - 2, argv + 2);
    if (argc < 2) return usage();
    return cmd_transcribe(argc - 1, argv + 1);
}
