/*
 * test_check_finite.c - edgestt_check on the NaN / Inf family of the corrupt-model corpus
 * (tests/make_corrupt.c): such models open (open reads no tensor data) but a full check must call
 * them corrupt, naming the tensor, while a finite patched value (the largest f16, a subnormal)
 * stays complete and --quick (headers and sizes only) says complete for all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgestt.h"
#include "make_corrupt.h"
#include "test.h"

typedef struct fin_ctx {
    const char *path;
    int failures;
    size_t n_corrupt, n_complete;
} fin_ctx;

static int fin_case(void *ctx, const est_corrupt_case *c) {
    fin_ctx *r = (fin_ctx *)ctx;
    FILE *f = fopen(r->path, "wb");
    if (!f || fwrite(c->img, 1, c->size, f) != c->size) {
        if (f) fclose(f);
        est_test_fail(__FILE__, __LINE__, "cannot write %s", r->path);
        return 1;
    }
    fclose(f);
    /* the generator's finite patches: the largest f16 (0x7bff) and the smallest subnormal (0x0001) */
    const int finite = strstr(c->what, "0x7bff") || strstr(c->what, "0x0001");
    edgestt_diag d;
    memset(&d, 0, sizeof d);
    edgestt_check_state full = edgestt_check(r->path, 0, &d);
    edgestt_diag dq;
    edgestt_check_state quick = edgestt_check(r->path, 1, &dq);
    int ok = quick == EDGESTT_CHECK_COMPLETE;
    if (finite) ok = ok && full == EDGESTT_CHECK_COMPLETE;
    else ok = ok && full == EDGESTT_CHECK_CORRUPT && strstr(d.msg, "non-finite") && !strchr(d.msg, '\n');
    if (full == EDGESTT_CHECK_CORRUPT) r->n_corrupt++;
    else r->n_complete++;
    if (ok) return 0;
    est_test_fail(__FILE__, __LINE__, "%s: check %d '%s', quick %d; want %s", c->what, full, d.msg, quick,
                  finite ? "complete" : "corrupt (non-finite)");
    return ++r->failures >= 8;
}

static void check_nan_family(const char *name, size_t min_corrupt) {
    FILE *f = fopen(est_test_model(name), "rb");
    CHECKF(f, "cannot read %s", name);
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f), n = 0;
    fseek(f, 0, SEEK_SET);
    uint8_t *img = malloc(size);
    CHECK(img && fread(img, 1, size, f) == size);
    fclose(f);
    char rel[96];
    snprintf(rel, sizeof rel, "finite-%s", name);
    fin_ctx r = {est_test_tmp(rel), 0, 0, 0};
    int st = est_corrupt_generate(img, size, EST_CORRUPT_NAN, est_test_seed(), fin_case, &r, &n);
    free(img);
    printf("  check %s NaN/Inf family: %zu cases, %zu corrupt, %zu complete\n", name, n, r.n_corrupt, r.n_complete);
    CHECK(st == 0);
    CHECKF(r.failures == 0, "%s: %d cases broke the contract", name, r.failures);
    CHECK(r.n_corrupt >= min_corrupt && r.n_complete > 0);
}

TEST(check_nonfinite_gguf_q8_0) { check_nan_family("mini-char-q8_0.gguf", 20); }
TEST(check_nonfinite_bin) { check_nan_family("mini-en-q8_0.bin", 20); }
