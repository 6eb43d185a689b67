/*
 * fuzz_tokenizer.c - libFuzzer harness for token decoding on real generated models.
 *
 * Input: byte 0 picks the model (mini-en-f16.gguf, mini-multi-f16.bin, mini-v3-f16.gguf, opened once
 * from est_fuzz_tokenizer_set_dir / env EDGESTT_FUZZ_MODELS / build/testmodels), byte 1 picks
 * extra output capacities, the rest are little-endian int32 ids (at most 1024).  Checked against
 * a model built from edgestt_token_bytes alone: the expected text is the concatenation of the
 * text tokens (ids below eot) up to the first id outside [0, n_vocab); edgestt_detokenize must
 * give exactly that (status OK, or INVALID_ARG at a bad id) when it fits, and with any smaller
 * capacity NOMEM and the NUL-terminated prefix that fits.  Every id also goes to
 * edgestt_token_bytes (negative and huge ones must be NOT_FOUND).
 *
 * Run: build/fuzz/fuzz_tokenizer -max_len=4096 build/fuzz/work/tokenizer tests/fuzz/corpus/tokenizer
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/internal.h"
#include "fuzz.h"

#define FZ_TOK_MODELS 3
#define FZ_TOK_MAX_IDS 1024
#define FZ_TOK_MAX_BYTES 512 /* per token (GPT-2's longest is 256 bytes in byte-level form) */

static const char *const fz_tok_names[FZ_TOK_MODELS] = {"mini-en-f16.gguf", "mini-multi-f16.bin",
                                                        "mini-v3-f16.gguf"};
static edgestt_model *fz_tok_model[FZ_TOK_MODELS];
static char fz_tok_dir[512];

void est_fuzz_tokenizer_set_dir(const char *dir) { snprintf(fz_tok_dir, sizeof fz_tok_dir, "%s", dir); }

void est_fuzz_tokenizer_release(void) {
    for (int i = 0; i < FZ_TOK_MODELS; i++) {
        edgestt_close(fz_tok_model[i]);
        fz_tok_model[i] = NULL;
    }
}

/* The model for index k, opened on first use; NULL (a broken contract) if it cannot be opened. */
static edgestt_model *fz_tok_get(int k) {
    if (fz_tok_model[k]) return fz_tok_model[k];
    if (!fz_tok_dir[0]) {
        const char *env = getenv("EDGESTT_FUZZ_MODELS");
        est_fuzz_tokenizer_set_dir(env && *env ? env : "build/testmodels");
    }
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fz_tok_dir, fz_tok_names[k]);
    edgestt_diag d;
    memset(&d, 0, sizeof d);
    int st = edgestt_open(path, NULL, NULL, 0, &fz_tok_model[k], &d);
    if (st) {
        fprintf(stderr, "fuzz_tokenizer: cannot open %s: %s (run `make models` or set EDGESTT_FUZZ_MODELS)\n", path,
                d.msg);
        FZ_CHECK(st == EDGESTT_OK);
        return NULL;
    }
    return fz_tok_model[k];
}

/* Output buffers: the expected text, and the one detokenize writes into (with a canary). */
static char fz_tok_want[FZ_TOK_MAX_IDS * FZ_TOK_MAX_BYTES + 1];
static char fz_tok_got[FZ_TOK_MAX_IDS * FZ_TOK_MAX_BYTES + 2];

/* One detokenize call with capacity cap against the expectation (want, len, full status). */
static void fz_tok_detok(const edgestt_model *m, const int *ids, int n, size_t cap, size_t len, int full_st,
                         int text_before_bad) {
    size_t written = (size_t)-1;
    fz_tok_got[cap] = 0x5a; /* canary right past the capacity */
    int st = edgestt_detokenize(m, ids, n, cap ? fz_tok_got : NULL, cap, &written);
    FZ_CHECK(fz_tok_got[cap] == 0x5a);
    if (cap == 0) {
        /* no room even for the NUL: the first text token (even an empty one) is NOMEM */
        FZ_CHECK(written == 0);
        FZ_CHECK(st == (text_before_bad ? EDGESTT_E_NOMEM : full_st == EDGESTT_OK ? EDGESTT_E_NOMEM : full_st));
        return;
    }
    if (len <= cap - 1) {
        FZ_CHECK(st == full_st && written == len);
    } else {
        FZ_CHECK(st == EDGESTT_E_NOMEM && written == cap - 1);
    }
    if (written >= cap) return;
    FZ_CHECK(fz_tok_got[written] == 0 && memcmp(fz_tok_got, fz_tok_want, written) == 0);
}

int est_fuzz_tokenizer(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    edgestt_model *m = fz_tok_get(data[0] % FZ_TOK_MODELS);
    if (!m) return 0;
    edgestt_model_info info;
    edgestt_special_tokens sp;
    FZ_CHECK(edgestt_model_get_info(m, &info) == EDGESTT_OK && edgestt_special_tokens_get(m, &sp) == EDGESTT_OK);
    static int ids[FZ_TOK_MAX_IDS];
    int n = 0;
    for (size_t i = 2; i + 4 <= size && n < FZ_TOK_MAX_IDS; i += 4) ids[n++] = est_rd_i32(data + i);
    /* the expectation from token bytes */
    size_t len = 0;
    int full_st = EDGESTT_OK, text_before_bad = 0;
    for (int i = 0; i < n; i++) {
        const char *b;
        size_t bl;
        int st = edgestt_token_bytes(m, ids[i], &b, &bl);
        if (ids[i] < 0 || ids[i] >= info.n_vocab) {
            FZ_CHECK(st == EDGESTT_E_NOT_FOUND);
            if (full_st == EDGESTT_OK) full_st = EDGESTT_E_INVALID_ARG;
            continue;
        }
        FZ_CHECK(st == EDGESTT_OK && bl <= FZ_TOK_MAX_BYTES && (bl == 0 || b));
        if (st || full_st != EDGESTT_OK) continue;
        if (ids[i] >= sp.eot) {
            FZ_CHECK(bl > 0 && (b[0] == '<' || b[0] == '['));
            continue;
        }
        text_before_bad = 1;
        if (bl <= FZ_TOK_MAX_BYTES) {
            memcpy(fz_tok_want + len, b, bl);
            len += bl;
        }
    }
    /* enough room, then capacities around the interesting points */
    const size_t big = sizeof fz_tok_got - 1;
    fz_tok_detok(m, ids, n, big, len, full_st, text_before_bad);
    const size_t caps[] = {0, 1, 2, len, len + 1, len + 2, len / 2 + 1, (size_t)data[1] + 1};
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++)
        if (caps[k] <= big) fz_tok_detok(m, ids, n, caps[k], len, full_st, text_before_bad);
    /* argument checks */
    size_t w;
    FZ_CHECK(edgestt_detokenize(m, ids, -1, fz_tok_got, big, &w) == EDGESTT_E_INVALID_ARG);
    FZ_CHECK(edgestt_detokenize(NULL, ids, n, fz_tok_got, big, &w) == EDGESTT_E_INVALID_ARG);
    FZ_CHECK(edgestt_detokenize(m, ids, n, NULL, 4, &w) == EDGESTT_E_INVALID_ARG);
    return 0;
}

#ifndef EST_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return est_fuzz_tokenizer(data, size); }
#endif
