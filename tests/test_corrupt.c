/*
 * test_corrupt.c - the corrupt-model corpus (tests/make_corrupt.c) against the public API.
 *
 * Every damaged image of mini-en-f16.gguf / .bin (and NaN / Inf scales in mini-en-q8_0.*) goes
 * through edgestt_mem_size_memory, then edgestt_open_memory into a caller buffer of the planned
 * size (and NULL-mem open where the plan fails, which must fail the same way).  Each case must
 * end with its expected outcome: an error status (the exact one where the generator knows it)
 * with one non-empty diag line, or a clean open (damage in tensor data only), and never a crash,
 * an out-of-bounds read or a hang.  A truncated image's tail is poisoned under ASan, so reading
 * past the cut is caught in `make sanitize`.  The seed (random offsets and bits) is the runner's.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/edgestt.h"
#include "make_corrupt.h"
#include "pk_mini.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define EST_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EST_HAVE_ASAN 1
#endif
#endif
#ifdef EST_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

typedef struct run_ctx {
    int failures;        /* reported (at most 12, then the run stops) */
    size_t n_ok, n_fail; /* outcomes seen */
} run_ctx;

/* Open one image as an application would; the status, the diag in *d. */
static int open_image(const uint8_t *img, size_t size, edgestt_diag *d, char *why, size_t why_cap) {
    edgestt_params p;
    edgestt_params_default(&p);
    size_t need = 0;
    memset(d, 0, sizeof *d);
    why[0] = 0;
    int st = edgestt_mem_size_memory(img, size, &p, &need, d);
    if (st) {
        edgestt_diag d2;
        edgestt_model *m = NULL;
        memset(&d2, 0, sizeof d2);
        int st2 = edgestt_open_memory(img, size, &p, NULL, 0, &m, &d2);
        if (st2 != st || m || strcmp(d->msg, d2.msg))
            snprintf(why, why_cap, "open without a buffer gave %d '%s'", st2, d2.msg);
        return st;
    }
    uint8_t *mem = malloc(need);
    if (!mem) {
        snprintf(why, why_cap, "cannot allocate %zu bytes", need);
        return EDGESTT_E_NOMEM;
    }
    edgestt_model *m = NULL;
    st = edgestt_open_memory(img, size, &p, mem, need, &m, d);
    if (!st) {
        edgestt_model_info info;
        const char *b;
        size_t len;
        /* the last id with text: Whisper's last token, a transducer's last piece (the blank follows) */
        if (edgestt_model_get_info(m, &info) || info.arena_bytes != need ||
            edgestt_token_bytes(m, info.n_vocab - 1 - !strcmp(info.arch, "parakeet"), &b, &len) || !len)
            snprintf(why, why_cap, "opened but unusable");
        edgestt_close(m);
    } else if (m) {
        snprintf(why, why_cap, "failed but set the handle");
    }
    free(mem);
    return st;
}

static int check_case(void *ctx, const est_corrupt_case *c) {
    run_ctx *r = (run_ctx *)ctx;
    edgestt_diag d;
    char why[320];
    uint8_t *tail = (uint8_t *)c->img + c->size;
    if (c->size < c->full) POISON(tail, c->full - c->size);
    int st = open_image(c->img, c->size, &d, why, sizeof why);
    if (c->size < c->full) UNPOISON(tail, c->full - c->size);
    int bad = why[0] != 0;
    if (st > 0 || st <= EDGESTT_E_INTERNAL) bad = 1;
    if (st && (!memchr(d.msg, 0, sizeof d.msg) || !d.msg[0])) bad = 1;
    if (c->expect == EST_CORRUPT_OK && st) bad = 1;
    if (c->expect == EST_CORRUPT_FAIL && !st) bad = 1;
    if (c->expect == EST_CORRUPT_FAIL && st && c->want_status && st != c->want_status) bad = 1;
    if (c->expect == EST_CORRUPT_FAIL && st && c->needle && !strstr(d.msg, c->needle)) bad = 1;
    if (st) r->n_fail++;
    else r->n_ok++;
    if (!bad) return 0;
    est_test_fail(__FILE__, __LINE__, "%s: status %d (%s) '%s'%s%s; want %s%s%s%s", c->what, st, edgestt_strerror(st),
                  d.msg, why[0] ? ", " : "", why,
                  c->expect == EST_CORRUPT_OK ? "OK" : c->expect == EST_CORRUPT_ANY ? "any status" : "an error",
                  c->want_status ? " " : "", c->want_status ? edgestt_strerror(c->want_status) : "",
                  c->needle ? " naming the culprit" : "");
    return ++r->failures >= 12;
}

static uint8_t *slurp_model(const char *name, size_t *size) {
    FILE *f = fopen(est_test_model(name), "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* Run the generator's families over one generated model. */
static void corrupt_model(const char *name, unsigned mask, size_t min_cases) {
    size_t size = 0, n = 0;
    uint8_t *img = slurp_model(name, &size);
    CHECKF(img, "cannot read %s", est_test_model(name));
    run_ctx r = {0, 0, 0};
    int st = est_corrupt_generate(img, size, mask, est_test_seed() ^ 0xc0557, check_case, &r, &n);
    free(img);
    printf("  corrupt %s: %zu cases, %zu opened, %zu refused\n", name, n, r.n_ok, r.n_fail);
    CHECKF(st == 0, "%s: the generator cannot parse the model", name);
    CHECKF(r.failures == 0, "%s: %d of %zu cases broke their contract", name, r.failures, n);
    CHECKF(n >= min_cases, "%s: only %zu cases", name, n);
    CHECKF(mask == EST_CORRUPT_NAN ? r.n_ok == n : r.n_fail > 0 && r.n_ok > 0, "%s: %zu opened, %zu failed", name, r.n_ok,
           r.n_fail);
}

TEST(corrupt_corpus_gguf) { corrupt_model("mini-en-f16.gguf", EST_CORRUPT_ALL, 1000); }

/* The same families over pk-mini, the Parakeet test model's GGUF (tests/pk_mini.h), TDT and RNN-T:
 * the transducer binder (models/parakeet.c) behind the same public open. */
static void corrupt_pk(int rnnt, size_t min_cases) {
    size_t size = 0, n = 0;
    uint8_t *img = est_test_pk_mini(rnnt, "parakeet", &size);
    CHECKF(img, "pk-mini image (tests/data/parakeet goldens missing?)");
    run_ctx r = {0, 0, 0};
    int st = est_corrupt_generate(img, size, EST_CORRUPT_ALL, est_test_seed() ^ 0x9a4a, check_case, &r, &n);
    free(img);
    printf("  corrupt pk-mini %s: %zu cases, %zu opened, %zu refused\n", rnnt ? "rnnt" : "tdt", n, r.n_ok, r.n_fail);
    CHECKF(st == 0, "pk-mini: the generator cannot parse the model");
    CHECKF(r.failures == 0, "pk-mini: %d of %zu cases broke their contract", r.failures, n);
    CHECKF(n >= min_cases && r.n_fail > 0 && r.n_ok > 0, "pk-mini: %zu cases, %zu opened, %zu failed", n, r.n_ok, r.n_fail);
}
TEST(corrupt_corpus_parakeet_gguf) { corrupt_pk(0, 1000); }
TEST(corrupt_corpus_parakeet_rnnt_gguf) { corrupt_pk(1, 1000); }
TEST(corrupt_corpus_bin) { corrupt_model("mini-en-f16.bin", EST_CORRUPT_ALL, 900); }
/* Non-finite Q8_0 scales open cleanly: open touches no tensor data (`edge-stt check` scans it). */
TEST(corrupt_corpus_q8_0_nan_scales_gguf) { corrupt_model("mini-en-q8_0.gguf", EST_CORRUPT_NAN, 60); }
TEST(corrupt_corpus_q8_0_nan_scales_bin) { corrupt_model("mini-en-q8_0.bin", EST_CORRUPT_NAN, 60); }
