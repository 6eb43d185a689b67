/*
 * fuzz_common.c - what the harnesses share (see fuzz.h): the contract-failure hook, the status/diag
 * check, and the model path run on every image the GGUF and .bin harnesses accept.
 *
 * Bounded work: plans above EST_FUZZ_MAX_ALLOC are skipped before anything is allocated, the
 * log-mel runs only for windows of at most 2^18 values, a fixed number of ids is tried.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int est_fuzz_abort_on_fail = 1;
unsigned est_fuzz_failures;

void est_fuzz_fail(const char *file, int line, const char *what) {
    fprintf(stderr, "%s:%d: fuzz contract broken: %s\n", file, line, what);
    est_fuzz_failures++;
    if (est_fuzz_abort_on_fail) abort();
}

uint32_t est_fuzz_hash(const uint8_t *data, size_t size) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 16777619u;
    return h;
}

void est_fuzz_check_status(int st, const edgestt_diag *d) {
    FZ_CHECK(st <= 0 && st > EDGESTT_E_INTERNAL); /* E_INTERNAL is a library bug by definition */
    if (st == EDGESTT_OK || !d) return;
    FZ_CHECK(memchr(d->msg, 0, sizeof d->msg) != NULL);
    FZ_CHECK(d->msg[0] != 0);
    /* Note: a diag may quote bytes of a name from the file verbatim (control characters
     * included); that is reported, not asserted here (core/diag.c is not a parser). */
}

/* 1 if [p, p + n) lies inside [base, base + size). */
static int fz_inside(const void *p, size_t n, const void *base, size_t size) {
    const uint8_t *a = (const uint8_t *)p, *b = (const uint8_t *)base;
    return a >= b && (size_t)(a - b) <= size && n <= size - (size_t)(a - b);
}

/* token bytes of one id: in range -> OK with bytes inside the image or the arena (read them all);
 * out of range -> NOT_FOUND.  A transducer (pk): ids below the blank (n_vocab - 1) are pieces, OK
 * or NOT_FOUND when the file stores fewer pieces; the blank has none. */
static void fz_token(const edgestt_model *m, int id, int n_vocab, int eot, int pk, const uint8_t *img, size_t img_size,
                     const uint8_t *mem, size_t mem_size) {
    const char *b = NULL;
    size_t len = 0;
    int st = edgestt_token_bytes(m, id, &b, &len);
    if (id < 0 || id >= n_vocab - pk) {
        FZ_CHECK(st == EDGESTT_E_NOT_FOUND);
        return;
    }
    FZ_CHECK(st == EDGESTT_OK || (pk && st == EDGESTT_E_NOT_FOUND));
    if (st) return;
    FZ_CHECK(len == 0 || b != NULL);
    if (!len) return;
    FZ_CHECK(fz_inside(b, len, img, img_size) || fz_inside(b, len, mem, mem_size));
    volatile unsigned sum = 0;
    for (size_t i = 0; i < len; i++) sum += (uint8_t)b[i];
    (void)sum;
    if (!pk && id >= eot) FZ_CHECK(b[0] == '<' || b[0] == '['); /* "<|...|>" or "[_extra_token_N]" */
}

void est_fuzz_model_image(const uint8_t *data, size_t size, uint32_t seed) {
    edgestt_params p;
    edgestt_params_default(&p);
    p.n_threads = 1;
    p.beam_size = 1 + (int)(seed % 5);
    p.kernels = "ref";
    edgestt_diag d;
    size_t need = 0;
    memset(&d, 0, sizeof d);
    int st = edgestt_mem_size_memory(data, size, &p, &need, &d);
    est_fuzz_check_status(st, &d);
    if (st) {
        /* open must fail the same way, without allocating */
        edgestt_model *m = (edgestt_model *)&d;
        edgestt_diag d2;
        memset(&d2, 0, sizeof d2);
        int st2 = edgestt_open_memory(data, size, &p, NULL, 0, &m, &d2);
        FZ_CHECK(st2 == st);
        FZ_CHECK(m == NULL);
        FZ_CHECK(strcmp(d.msg, d2.msg) == 0);
        return;
    }
    FZ_CHECK(need > 0);
    if (need == 0 || need > EST_FUZZ_MAX_ALLOC) return;
    uint8_t *block = malloc(need + 64);
    if (!block) return;
    uint8_t *mem = block + seed % 64; /* the caller's buffer need not be aligned */
    edgestt_model *m = (edgestt_model *)&d;
    memset(&d, 0, sizeof d);
    st = edgestt_open_memory(data, size, &p, mem, need - 1, &m, &d);
    FZ_CHECK(st == EDGESTT_E_NOMEM); /* one byte short of the plan */
    FZ_CHECK(m == NULL);
    est_fuzz_check_status(st, &d);
    memset(&d, 0, sizeof d);
    st = edgestt_open_memory(data, size, &p, mem, need, &m, &d);
    est_fuzz_check_status(st, &d);
    if (st) {
        FZ_CHECK(m == NULL);
        free(block);
        return;
    }
    FZ_CHECK(m != NULL);
    if (!m) {
        free(block);
        return;
    }
    FZ_CHECK((const uint8_t *)m >= mem && (const uint8_t *)m < mem + need);
    edgestt_model_info info;
    FZ_CHECK(edgestt_model_get_info(m, &info) == EDGESTT_OK);
    FZ_CHECK(info.arena_bytes == need && info.mapped == 0 && info.weight_bytes <= size);
    const int pk = info.arch && !strcmp(info.arch, "parakeet"); /* a transducer: pieces + blank, no specials */
    FZ_CHECK((pk ? info.n_vocab >= 2 : info.n_vocab >= 50001) && info.n_tensors > 0 && info.n_params > 0);
    edgestt_special_tokens sp;
    FZ_CHECK(edgestt_special_tokens_get(m, &sp) == EDGESTT_OK);
    FZ_CHECK(pk ? sp.eot == -1 && sp.sot == -1 && sp.timestamp_begin == -1 : sp.eot >= 1 && sp.eot < info.n_vocab);
    /* token bytes: fixed interesting ids and a few derived from the input */
    const int nv = info.n_vocab;
    int ids[24] = {0, 1, sp.eot - 1, sp.eot, sp.sot, sp.lang_first, sp.translate, sp.transcribe,
                   sp.no_timestamps, sp.timestamp_begin, nv - 1, nv, -1, INT_MIN, INT_MAX, nv / 2};
    uint32_t r = seed;
    for (int i = 16; i < 24; i++) {
        r = r * 1664525u + 1013904223u;
        ids[i] = (int)(r % (uint32_t)nv);
    }
    for (int i = 0; i < 24; i++) fz_token(m, ids[i], nv, sp.eot, pk, data, size, mem, need);
    const char *b0;
    size_t l0;
    const int pieces = !edgestt_token_bytes(m, 0, &b0, &l0); /* a transducer file may store no vocabulary */
    /* detokenize the in-range ids into a small buffer: OK or NOMEM, always NUL-terminated */
    int in_range[24], n_in = 0;
    for (int i = 0; i < 24; i++)
        if (ids[i] >= 0 && ids[i] < nv) in_range[n_in++] = ids[i];
    char out[192];
    size_t cap = 1 + seed % sizeof out, written = (size_t)-1;
    st = edgestt_detokenize(m, in_range, n_in, out, cap, &written);
    FZ_CHECK(st == EDGESTT_OK || st == EDGESTT_E_NOMEM || (pk && st == EDGESTT_E_INVALID_ARG && !pieces));
    if (st != EDGESTT_E_INVALID_ARG) FZ_CHECK(written < cap && out[written] == 0);
    st = edgestt_detokenize(m, ids, 24, out, sizeof out, &written);
    FZ_CHECK(st == EDGESTT_E_INVALID_ARG || st == EDGESTT_E_NOMEM); /* ids[11] = nv is invalid */
    /* a log-mel window on small models: must run on whatever filter values the file holds */
    const size_t n_frames = 2 * (size_t)info.n_audio_ctx, n_out = (size_t)info.n_mels * n_frames;
    if (!pk && n_out <= ((size_t)1 << 18)) { /* (a transducer's front end is not edgestt_log_mel's) */
        float *mel = malloc(n_out * sizeof *mel), samples[800];
        for (int i = 0; i < 800; i++) samples[i] = (float)((i * 37 % 200) - 100) * 0.01f;
        if (mel) FZ_CHECK(edgestt_log_mel(m, samples, 800, mel, n_out) == EDGESTT_OK);
        free(mel);
    }
    edgestt_close(m);
    free(block);
}
