/*
 * edge-stt - the command-line program (public API only).  Subcommands grow with the issues;
 * today:
 *   edge-stt info MODEL [--kernels NAME] [--threads N]   describe a model file
 *   edge-stt version
 * Exit status: 0 ok, 2 usage or a bad option, 3 the model file cannot be opened (one line on
 * stderr: "edge-stt: FILE: reason").
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgestt.h"

static int usage(void) {
    fprintf(stderr, "usage: edge-stt info MODEL [--kernels auto|ref|avx2|neon|neondot] [--threads N]\n"
                    "       edge-stt version\n");
    return 2;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *format_name(edgestt_file_format f) {
    return f == EDGESTT_FORMAT_GGUF ? "gguf" : f == EDGESTT_FORMAT_GGML_BIN ? "ggml .bin (whisper.cpp)" : "?";
}

/* Print one failure line; exit status 2 for a bad option, 3 for a model file that cannot be opened. */
static int fail(const char *path, int st, const edgestt_diag *d) {
    const char *why = d->msg[0] ? d->msg : edgestt_strerror(st);
    size_t n = strlen(path);
    if (!strncmp(why, path, n) && !strncmp(why + n, ": ", 2)) why += n + 2; /* the line names the file already */
    fprintf(stderr, "edge-stt: %s: %s\n", path, why);
    return st == EDGESTT_E_INVALID_ARG ? 2 : 3;
}

static int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    edgestt_params p;
    edgestt_params_default(&p);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--kernels") && i + 1 < argc) p.kernels = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) p.n_threads = atoi(argv[++i]);
        else if (argv[i][0] == '-' || path) return usage();
        else path = argv[i];
    }
    if (!path) return usage();
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_model *m = NULL;
    double t0 = now_ms();
    int st = edgestt_open(path, &p, NULL, 0, &m, &d);
    double t1 = now_ms();
    if (st) return fail(path, st, &d);
    edgestt_model_info in;
    edgestt_special_tokens sp;
    edgestt_model_get_info(m, &in);
    edgestt_special_tokens_get(m, &sp);
    printf("file          %s\n", path);
    printf("format        %s\n", format_name(in.format));
    printf("architecture  %s\n", in.arch);
    printf("audio         n_ctx %d  n_state %d  n_head %d  n_layer %d  n_mels %d\n", in.n_audio_ctx,
           in.n_audio_state, in.n_audio_head, in.n_audio_layer, in.n_mels);
    printf("text          n_ctx %d  n_state %d  n_head %d  n_layer %d  n_vocab %d\n", in.n_text_ctx,
           in.n_text_state, in.n_text_head, in.n_text_layer, in.n_vocab);
    printf("vocabulary    %s, %d languages (eot %d, sot %d, first language %d, timestamps from %d)\n",
           in.multilingual ? "multilingual" : "english-only", in.n_languages, sp.eot, sp.sot, sp.lang_first,
           sp.timestamp_begin);
    printf("tensors       %d:", in.n_tensors);
    for (int t = 0; t < 16; t++)
        if (in.n_by_type[t]) printf(" %lld %s", (long long)in.n_by_type[t], edgestt_type_name(t));
    printf("\n");
    printf("parameters    %lld (%.1f M)\n", (long long)in.n_params, (double)in.n_params / 1e6);
    printf("weight bytes  %zu (%.1f MiB, %s)\n", in.weight_bytes, (double)in.weight_bytes / 1048576.0,
           in.mapped ? "mapped" : "in memory");
    printf("arena bytes   %zu (%.1f KiB planned)\n", in.arena_bytes, (double)in.arena_bytes / 1024.0);
    printf("kernels       %s\n", in.kernels);
    printf("open time     %.2f ms\n", t1 - t0);
    edgestt_close(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))) {
        printf("edge-stt %s\n", EDGESTT_VERSION);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "info")) return cmd_info(argc - 2, argv + 2);
    return usage();
}
