/*
 * test_convert_corrupt.c - edgestt_convert on the corrupt-model corpus (tests/make_corrupt.c).
 *
 * Each damaged image is written to a file and converted.  Contract: convert either refuses it -- an
 * error status, one non-empty diag line, and not one byte handed to the sink (so the program writes
 * nothing at the output path) -- or writes a file the engine opens.  Damage in names, shapes,
 * counts and headers must be refused; a tensor stored in a wrong but convertible type (a bias as
 * q8_0) may be repaired by the type policy.  Small models keep the file writes cheap: the compact-vocabulary
 * GGUF (every second case) and the Q4_0 .bin (every fourth).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgestt.h"
#include "make_corrupt.h"
#include "test.h"

typedef struct cbuf {
    uint8_t *b;
    size_t n, cap;
    uint64_t calls;
} cbuf;

static int sink(void *user, int shard, int n_shards, uint64_t off, const void *data, size_t n) {
    cbuf *m = (cbuf *)user;
    m->calls++;
    if (shard != 0 || n_shards != 1) return 1;
    if (off + n > m->cap) {
        size_t c = (size_t)(off + n) * 2;
        uint8_t *nb = realloc(m->b, c);
        if (!nb) return 1;
        m->b = nb;
        m->cap = c;
    }
    memcpy(m->b + off, data, n);
    if (off + n > m->n) m->n = (size_t)(off + n);
    return 0;
}

typedef struct conv_ctx {
    int every, k, failures;
    size_t n_run, n_refused;
    const char *path;
} conv_ctx;

static int conv_case(void *ctx, const est_corrupt_case *c) {
    conv_ctx *r = (conv_ctx *)ctx;
    if (r->k++ % r->every) return 0;
    FILE *f = fopen(r->path, "wb");
    if (!f || fwrite(c->img, 1, c->size, f) != c->size) {
        if (f) fclose(f);
        est_test_fail(__FILE__, __LINE__, "cannot write %s", r->path);
        return 1;
    }
    fclose(f);
    edgestt_diag od, cd;
    edgestt_model *m = NULL;
    memset(&od, 0, sizeof od);
    int ost = edgestt_open_memory(c->img, c->size, NULL, NULL, 0, &m, &od);
    edgestt_close(m);
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    p.type = EDGESTT_TYPE_F16;
    cbuf out = {NULL, 0, 0, 0};
    memset(&cd, 0, sizeof cd);
    int st = edgestt_convert(r->path, &p, sink, &out, NULL, &cd);
    char why[400] = "";
    if (st && (!cd.msg[0] || strchr(cd.msg, '\n'))) snprintf(why, sizeof why, "refused without one line of reason");
    else if (st && out.calls) snprintf(why, sizeof why, "refused after %llu sink writes", (unsigned long long)out.calls);
    else if (!st) {
        edgestt_model *m2 = NULL;
        edgestt_diag d2;
        int st2 = edgestt_open_memory(out.b, out.n, NULL, NULL, 0, &m2, &d2);
        edgestt_close(m2);
        if (st2) snprintf(why, sizeof why, "the converted file does not open: %s", d2.msg);
        else if (ost && !strstr(od.msg, "type") && !strstr(od.msg, "must be f32"))
            snprintf(why, sizeof why, "converted an image open refuses (%s)", od.msg);
    }
    free(out.b);
    r->n_run++;
    if (st) r->n_refused++;
    if (!why[0]) return 0;
    est_test_fail(__FILE__, __LINE__, "%s: convert status %d '%s': %s", c->what, st, cd.msg, why);
    return ++r->failures >= 8;
}

static void convert_corpus(const char *name, int every, size_t min_run) {
    FILE *f = fopen(est_test_model(name), "rb");
    CHECKF(f, "cannot read %s", name);
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f), n = 0;
    fseek(f, 0, SEEK_SET);
    uint8_t *img = malloc(size);
    CHECK(img && fread(img, 1, size, f) == size);
    fclose(f);
    conv_ctx r = {every, 0, 0, 0, 0, est_test_tmp("conv-corrupt.in")};
    unsigned mask = EST_CORRUPT_ALL & ~(unsigned)EST_CORRUPT_NAN;
    int st = est_corrupt_generate(img, size, mask, est_test_seed() ^ 0xc0417, conv_case, &r, &n);
    free(img);
    printf("  convert corrupt %s: %zu of %zu cases converted, %zu refused\n", name, r.n_run, n, r.n_refused);
    CHECK(st == 0);
    CHECKF(r.failures == 0, "%s: %d cases broke the contract", name, r.failures);
    CHECK(r.n_run >= min_run && r.n_refused > r.n_run / 2);
}

TEST(convert_corrupt_corpus_gguf) { convert_corpus("mini-char-q8_0.gguf", 2, 300); }
TEST(convert_corrupt_corpus_bin) { convert_corpus("mini-en-q4_0.bin", 4, 150); }
