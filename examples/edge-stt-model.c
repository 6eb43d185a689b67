/*
 * edge-stt-model.c - model tooling subcommands of the edge-stt program (public API only):
 *   edge-stt convert IN OUT.gguf [--type f32|f16|q8_0|q4_0] [--shard-size MB] [--keep PATTERN=TYPE]...
 *                                       IN: a whisper.cpp .bin, a GGUF, or a Hugging Face checkpoint
 *                                       (directory with model.safetensors + config.json + vocab.json)
 *   edge-stt check MODEL [--quick]      exit 0 complete, 3 incomplete, 4 corrupt, 5 unsupported
 *   edge-stt models                     the Whisper family table
 *   edge-stt info MODEL --json [--beam N] [--threads N] [--max-audio WINDOWS]
 * Outputs are written to NAME.part and renamed when every shard is complete.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge-stt-model.h"
#include "edgestt.h"

static int parse_type(const char *s) {
    static const int t[] = {EDGESTT_TYPE_F32, EDGESTT_TYPE_F16, EDGESTT_TYPE_Q8_0, EDGESTT_TYPE_Q4_0};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, edgestt_type_name(t[i]))) return t[i];
    return -1;
}

/* ==== convert ============================================================================ */

typedef struct out_files {
    const char *path;
    FILE *f;
    int shard, n_shards;
    int failed;
} out_files;

static void part_name(const out_files *o, int shard, char *buf, size_t cap) {
    char name[4096];
    if (edgestt_shard_name(o->path, shard + 1, o->n_shards, name, sizeof name)) name[0] = 0;
    snprintf(buf, cap, "%s.part", name);
}

static int sink(void *user, int shard, int n_shards, uint64_t off, const void *data, size_t n) {
    out_files *o = (out_files *)user;
    if (!o->f || shard != o->shard) {
        if (o->f && fclose(o->f)) return 1;
        o->n_shards = n_shards;
        o->shard = shard;
        char part[4200];
        part_name(o, shard, part, sizeof part);
        o->f = fopen(part, "wb");
        if (!o->f) {
            fprintf(stderr, "edge-stt: cannot create %s\n", part);
            return 1;
        }
    }
    if (fseeko(o->f, (off_t)off, SEEK_SET) || fwrite(data, 1, n, o->f) != n) return 1;
    return 0;
}

int edge_stt_convert(int argc, char **argv) {
    const char *in = NULL, *outp = NULL;
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    const char *keep[64];
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--type") && i + 1 < argc) {
            if ((p.type = parse_type(argv[++i])) < 0) goto usage;
        } else if (!strcmp(argv[i], "--shard-size") && i + 1 < argc) {
            double mb = atof(argv[++i]);
            if (mb <= 0) goto usage;
            p.shard_bytes = (uint64_t)(mb * 1048576.0);
        } else if (!strcmp(argv[i], "--keep") && i + 1 < argc && p.n_keep < 64) {
            keep[p.n_keep++] = argv[++i];
        } else if (argv[i][0] == '-') {
            goto usage;
        } else if (!in) {
            in = argv[i];
        } else if (!outp) {
            outp = argv[i];
        } else {
            goto usage;
        }
    }
    if (!in || !outp) goto usage;
    p.keep = keep;
    out_files o = {outp, NULL, 0, 1, 0};
    edgestt_convert_report r;
    edgestt_diag d;
    d.msg[0] = 0;
    int st = edgestt_convert(in, &p, sink, &o, &r, &d);
    if (o.f && fclose(o.f)) st = st ? st : EDGESTT_E_IO;
    if (st) {
        fprintf(stderr, "edge-stt: convert %s: %s\n", in, d.msg[0] ? d.msg : edgestt_strerror(st));
        return st == EDGESTT_E_INVALID_ARG ? 2 : 3;
    }
    for (int s = 0; s < r.n_shards; s++) {
        char part[4200], name[4096];
        o.n_shards = r.n_shards;
        part_name(&o, s, part, sizeof part);
        edgestt_shard_name(outp, s + 1, r.n_shards, name, sizeof name);
        if (rename(part, name)) {
            fprintf(stderr, "edge-stt: cannot rename %s\n", part);
            return 3;
        }
    }
    if (r.n_requantized)
        fprintf(stderr, "edge-stt: warning: %d tensors were Q4_1/Q5_0/Q5_1: dequantized and quantized again "
                        "(lossy twice; convert from an f16/f32 source if you have one)\n", r.n_requantized);
    printf("%s: %d tensors (", outp, r.n_tensors);
    for (int t = 0, first = 1; t < 16; t++)
        if (r.n_by_type[t]) printf("%s%lld %s", first ? "" : ", ", (long long)r.n_by_type[t], edgestt_type_name(t)), first = 0;
    printf("), %llu bytes in %d file%s\n", (unsigned long long)r.bytes, r.n_shards, r.n_shards > 1 ? "s" : "");
    return 0;
usage:
    fprintf(stderr, "usage: edge-stt convert IN OUT.gguf [--type f32|f16|q8_0|q4_0] [--shard-size MB] "
                    "[--keep PATTERN=TYPE]...\n"
                    "       IN: ggml-*.bin, a .gguf, or a Hugging Face Whisper checkpoint directory (or its\n"
                    "           model.safetensors) with config.json, vocab.json [, added_tokens.json]\n");
    return 2;
}

/* ==== check ============================================================================== */

int edge_stt_check(int argc, char **argv) {
    const char *path = NULL;
    int quick = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (argv[i][0] == '-' || path) path = NULL, i = argc;
        else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: edge-stt check MODEL [--quick]\n");
        return 2;
    }
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_check_state s = edgestt_check(path, quick, &d);
    static const char *names[] = {"complete", "?", "?", "incomplete", "corrupt", "unsupported"};
    if (s == EDGESTT_CHECK_COMPLETE) printf("%s: complete%s\n", path, quick ? " (quick: sizes and headers)" : "");
    else printf("%s: %s: %s\n", path, names[s], d.msg);
    return (int)s;
}

/* ==== models ============================================================================= */

int edge_stt_models(int argc, char **argv) {
    (void)argv;
    if (argc) {
        fprintf(stderr, "usage: edge-stt models\n");
        return 2;
    }
    const edgestt_model_desc *t;
    int n = edgestt_model_table(&t);
    printf("%-15s %8s %5s %5s %4s %5s %6s %9s %9s %9s %9s  %-24s %s\n", "name", "params", "state", "heads", "mels",
           "enc", "dec", "f32 MiB", "f16 MiB", "q8_0 MiB", "q4_0 MiB", "whisper.cpp", "hugging face");
    for (int i = 0; i < n; i++) {
        const edgestt_model_desc *d = &t[i];
        printf("%-15s %7.1fM %5d %5d %4d %5d %6d %9.1f %9.1f %9.1f %9.1f  %-24s %s\n", d->name, (double)d->n_params / 1e6,
               d->n_state, d->n_head, d->n_mels, d->n_audio_layer, d->n_text_layer,
               (double)edgestt_model_desc_weight_bytes(d, EDGESTT_TYPE_F32) / 1048576.0,
               (double)edgestt_model_desc_weight_bytes(d, EDGESTT_TYPE_F16) / 1048576.0,
               (double)edgestt_model_desc_weight_bytes(d, EDGESTT_TYPE_Q8_0) / 1048576.0,
               (double)edgestt_model_desc_weight_bytes(d, EDGESTT_TYPE_Q4_0) / 1048576.0, d->ggml_file, d->hf_name);
    }
    return 0;
}

/* ==== info --json ======================================================================== */

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

int edge_stt_info_json(int argc, char **argv) {
    const char *path = NULL;
    edgestt_params p;
    edgestt_params_default(&p);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) continue;
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) p.n_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--beam") && i + 1 < argc) p.beam_size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-audio") && i + 1 < argc) p.max_audio_windows = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--kernels") && i + 1 < argc) p.kernels = argv[++i];
        else if (!strcmp(argv[i], "--kv-type") && i + 1 < argc && (!strcmp(argv[i + 1], "f16") || !strcmp(argv[i + 1], "f32")))
            p.kv_type = !strcmp(argv[++i], "f16") ? EDGESTT_KV_F16 : EDGESTT_KV_F32;
        else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "usage: edge-stt info MODEL --json [--beam N] [--threads N] [--max-audio WINDOWS] "
                            "[--kv-type f16|f32]\n");
            return 2;
        } else path = argv[i];
    }
    if (!path) return 2;
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_model *m = NULL;
    int st = edgestt_open(path, &p, NULL, 0, &m, &d);
    if (st) {
        fprintf(stderr, "edge-stt: %s: %s\n", path, d.msg[0] ? d.msg : edgestt_strerror(st));
        return st == EDGESTT_E_INVALID_ARG ? 2 : 3;
    }
    edgestt_model_info in;
    edgestt_special_tokens sp;
    edgestt_model_get_info(m, &in);
    edgestt_special_tokens_get(m, &sp);
    const edgestt_model_desc *t;
    edgestt_model_table(&t);
    int k = edgestt_model_table_find(&in);
    printf("{\"file\": ");
    json_str(path);
    printf(", \"format\": \"%s\", \"architecture\": \"%s\", \"model\": ", in.format == EDGESTT_FORMAT_GGUF ? "gguf" : "ggml-bin", in.arch);
    if (k >= 0) json_str(t[k].name);
    else printf("null");
    printf(",\n \"audio\": {\"n_ctx\": %d, \"n_state\": %d, \"n_head\": %d, \"n_layer\": %d, \"n_mels\": %d},\n",
           in.n_audio_ctx, in.n_audio_state, in.n_audio_head, in.n_audio_layer, in.n_mels);
    printf(" \"text\": {\"n_ctx\": %d, \"n_state\": %d, \"n_head\": %d, \"n_layer\": %d, \"n_vocab\": %d},\n",
           in.n_text_ctx, in.n_text_state, in.n_text_head, in.n_text_layer, in.n_vocab);
    printf(" \"vocabulary\": {\"multilingual\": %s, \"n_languages\": %d, \"eot\": %d, \"sot\": %d, \"lang_first\": %d, "
           "\"timestamp_begin\": %d},\n", in.multilingual ? "true" : "false", in.n_languages, sp.eot, sp.sot,
           sp.lang_first, sp.timestamp_begin);
    printf(" \"tensors\": {\"count\": %d, \"by_type\": {", in.n_tensors);
    for (int ty = 0, first = 1; ty < 16; ty++)
        if (in.n_by_type[ty]) printf("%s\"%s\": %lld", first ? "" : ", ", edgestt_type_name(ty), (long long)in.n_by_type[ty]), first = 0;
    printf("}},\n \"n_params\": %lld, \"weight_bytes\": %zu,\n", (long long)in.n_params, in.weight_bytes);
    /* a transcription state for these threads with beam = best-of = --beam: planned bytes and the K/V part */
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.n_threads = p.n_threads;
    fp.beam_size = fp.best_of = p.beam_size;
    size_t state_bytes = 0;
    if ((st = edgestt_state_mem_size(m, &fp, &state_bytes, &d)) != 0) {
        fprintf(stderr, "edge-stt: %s: %s\n", path, d.msg[0] ? d.msg : edgestt_strerror(st));
        edgestt_close(m);
        return 1;
    }
    const uint64_t es = in.kv_type == EDGESTT_KV_F32 ? 4 : 2;
    const uint64_t self_kv = (uint64_t)p.beam_size * (uint64_t)in.n_text_layer * (uint64_t)in.n_text_ctx *
                             (uint64_t)in.n_text_state * 2 * es;
    const uint64_t cross_kv = (uint64_t)in.n_text_layer * (uint64_t)in.n_audio_ctx * (uint64_t)in.n_audio_state * 2 * es;
    printf(" \"plan\": {\"threads\": %d, \"beam\": %d, \"max_audio_windows\": %d, \"arena_bytes\": %zu, "
           "\"kv_type\": \"%s\", \"state_bytes\": %zu, \"self_kv_bytes\": %llu, \"cross_kv_bytes\": %llu}, "
           "\"kernels\": \"%s\"}\n",
           p.n_threads, p.beam_size, p.max_audio_windows, in.arena_bytes, edgestt_kv_type_name(in.kv_type), state_bytes,
           (unsigned long long)self_kv, (unsigned long long)cross_kv, in.kernels);
    edgestt_close(m);
    return 0;
}
