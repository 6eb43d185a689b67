/*
 * test_gemm_multi.c - est_gemm_multi (several products of one X in one pool job, the decoder's
 * Q/K/V): for every runnable variant and weight type, each output bit-identical to a separate
 * est_gemm on the calling thread, over 1..3 threads, GEMV and GEMM shapes, mixed weight types,
 * products with and without bias; and its argument checks.  Seeded: the runner prints the seed.
 */
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels_impl.h"
#include "../port/port.h"
#include "test.h"

#define MAXP 3

static float urand(uint64_t *s) { /* [-1, 1) */
    return (float)((int64_t)(est_test_rand(s) >> 40) - (1 << 23)) / (float)(1 << 23);
}

/* n rows of k weights of a type (row stride = the type's row bytes), random values. */
static uint8_t *make_w(uint64_t *s, int type, int n, int k, size_t *stride) {
    *stride = est_type_row_bytes(type, (uint64_t)k);
    uint8_t *w = malloc(*stride * (size_t)n);
    if (!w) return NULL;
    for (int j = 0; j < n; j++) {
        uint8_t *row = w + (size_t)j * *stride;
        for (int t = 0; t < k; t++) {
            if (type == EDGESTT_TYPE_F32) {
                float f = urand(s);
                memcpy(row + 4 * (size_t)t, &f, 4);
            } else if (type == EDGESTT_TYPE_F16) {
                uint16_t h = est_f32_to_f16(urand(s));
                memcpy(row + 2 * (size_t)t, &h, 2);
            }
        }
        if (type == EDGESTT_TYPE_Q8_0 || type == EDGESTT_TYPE_Q4_0) {
            const size_t bs = type == EDGESTT_TYPE_Q8_0 ? 34 : 18;
            for (int b = 0; b < k / 32; b++) {
                uint8_t *blk = row + (size_t)b * bs;
                uint16_t d = est_f32_to_f16(0.01f + 0.02f * (urand(s) + 1.0f));
                memcpy(blk, &d, 2);
                for (size_t i = 2; i < bs; i++) blk[i] = (uint8_t)est_test_rand(s);
            }
        }
    }
    return w;
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

typedef struct {
    int m, k, n[MAXP], type[MAXP], n_ops;
} mshape;

TEST(kernels_gemm_multi_matches_gemm) {
    uint64_t s = est_test_seed() ^ 0x6d756c7469ull;
    static uint8_t pool_mem[3][4096] __attribute__((aligned(64)));
    est_pool *pools[3] = {NULL, NULL, NULL};
    for (int t = 1; t <= 2; t++) {
        CHECK(est_pool_size(t + 1) <= sizeof pool_mem[t]);
        CHECK_ST(est_pool_init(&pools[t], pool_mem[t], sizeof pool_mem[t], t + 1), EDGESTT_OK);
    }
    const int Q8 = EDGESTT_TYPE_Q8_0, Q4 = EDGESTT_TYPE_Q4_0, F16 = EDGESTT_TYPE_F16, F32 = EDGESTT_TYPE_F32;
    const mshape sh[] = {
        {1, 384, {384, 384, 384}, {Q8, Q8, Q8}, 3},   {1, 384, {384, 384, 384}, {Q4, Q4, Q4}, 3},
        {1, 256, {200, 72, 131}, {F16, F16, F16}, 3}, {1, 96, {50, 9, 300}, {F32, F32, F32}, 3},
        {5, 128, {264, 40, 8}, {Q8, Q4, F16}, 3},     {3, 512, {1000, 24}, {Q4, F32}, 2},
        {1, 64, {7}, {Q8}, 1},                         {40, 128, {96, 48, 33}, {Q8, F16, Q4}, 3},
        {2, 32, {2048, 2048, 2048}, {Q8, Q8, Q8}, 3},
    };
    for (size_t si = 0; si < sizeof sh / sizeof sh[0]; si++) {
        const mshape *h = &sh[si];
        float *x = malloc(sizeof(float) * (size_t)h->m * (size_t)h->k);
        uint8_t *w[MAXP] = {NULL, NULL, NULL};
        float *bias[MAXP] = {NULL, NULL, NULL}, *yref[MAXP] = {NULL, NULL, NULL}, *y[MAXP] = {NULL, NULL, NULL};
        size_t ws[MAXP];
        int ok = x != NULL;
        for (size_t i = 0; ok && i < (size_t)h->m * (size_t)h->k; i++) x[i] = urand(&s) * 3.0f;
        for (int o = 0; ok && o < h->n_ops; o++) {
            const size_t ny = (size_t)h->m * (size_t)h->n[o];
            w[o] = make_w(&s, h->type[o], h->n[o], h->k, &ws[o]);
            yref[o] = malloc(sizeof(float) * ny);
            y[o] = malloc(sizeof(float) * ny);
            if (o != 1) bias[o] = malloc(sizeof(float) * (size_t)h->n[o]);
            ok = w[o] && yref[o] && y[o] && (o == 1 || bias[o]);
            for (int j = 0; ok && o != 1 && j < h->n[o]; j++) bias[o][j] = urand(&s);
        }
        const size_t need = est_gemm_scratch_size(EDGESTT_TYPE_Q8_0, h->m, h->k);
        uint8_t *scratch = NULL;
        if (ok && posix_memalign((void **)&scratch, 64, need + 64) != 0) scratch = NULL;
        CHECK(ok && scratch);
        est_gemm_op ops[MAXP];
        memset(ops, 0, sizeof ops);
        for (int o = 0; o < h->n_ops; o++) {
            ops[o].type = h->type[o];
            ops[o].m = h->m;
            ops[o].n = h->n[o];
            ops[o].k = h->k;
            ops[o].w = w[o];
            ops[o].w_stride = ws[o];
            ops[o].x = x;
            ops[o].ldx = (size_t)h->k;
            ops[o].bias = bias[o];
            ops[o].ldy = (size_t)h->n[o];
        }
        for (int v = 0; est_kernels_variant(v); v++) {
            const est_kernels *kt = est_kernels_variant(v);
            if (!est_kernels_runnable(kt, est_port_cpu_features())) continue;
            for (int o = 0; o < h->n_ops; o++) {
                est_gemm_op op = ops[o];
                op.y = yref[o];
                CHECK_ST(est_gemm(kt, NULL, &op, scratch, need + 64), EDGESTT_OK);
            }
            for (int t = 0; t < 3; t++) {
                est_gemm_op mo[MAXP];
                memcpy(mo, ops, sizeof mo);
                for (int o = 0; o < h->n_ops; o++) {
                    mo[o].y = y[o];
                    memset(y[o], 0xff, sizeof(float) * (size_t)h->m * (size_t)h->n[o]); /* NaN */
                }
                CHECK_ST(est_gemm_multi(kt, pools[t], mo, h->n_ops, scratch, need + 64), EDGESTT_OK);
                for (int o = 0; o < h->n_ops; o++)
                    for (int i = 0; i < h->m * h->n[o]; i++)
                        CHECKF(fbits(y[o][i]) == fbits(yref[o][i]),
                               "%s shape %zu threads %d product %d y[%d] = %.9g, want %.9g", kt->name, si, t + 1, o, i,
                               (double)y[o][i], (double)yref[o][i]);
            }
        }
        free(scratch);
        for (int o = 0; o < MAXP; o++) {
            free(w[o]);
            free(bias[o]);
            free(yref[o]);
            free(y[o]);
        }
        free(x);
    }
    for (int t = 1; t <= 2; t++) est_pool_destroy(pools[t]);
}

TEST(kernels_gemm_multi_args) {
    float x[2 * 64] = {0}, y[2][64];
    uint8_t w[34 * 2 * 2] = {0}, scratch[512] __attribute__((aligned(64)));
    const est_kernels *kt = est_kernels_variant(0);
    est_gemm_op ops[EST_GEMM_MULTI_MAX + 1];
    for (int o = 0; o <= EST_GEMM_MULTI_MAX; o++)
        ops[o] = (est_gemm_op){.type = EDGESTT_TYPE_Q8_0, .m = 1, .n = 2, .k = 64, .w = w, .w_stride = 68,
                               .x = x, .ldx = 64, .y = y[o & 1], .ldy = 2};
    CHECK_ST(est_gemm_multi(kt, NULL, ops, 2, scratch, sizeof scratch), EDGESTT_OK);
    CHECK_ST(est_gemm_multi(kt, NULL, ops, 0, scratch, sizeof scratch), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_gemm_multi(kt, NULL, ops, EST_GEMM_MULTI_MAX + 1, scratch, sizeof scratch), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_gemm_multi(NULL, NULL, ops, 1, scratch, sizeof scratch), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_gemm_multi(kt, NULL, ops, 2, scratch, est_qx_row_bytes(64) - 1), EDGESTT_E_NOMEM);
    CHECK_ST(est_gemm_multi(kt, NULL, ops, 2, scratch + 8, 256), EDGESTT_E_INVALID_ARG);
    ops[1].x = x + 64; /* another X */
    CHECK_ST(est_gemm_multi(kt, NULL, ops, 2, scratch, sizeof scratch), EDGESTT_E_INVALID_ARG);
    ops[1].x = x;
    ops[1].k = 32; /* another k */
    ops[1].w_stride = 34;
    CHECK_ST(est_gemm_multi(kt, NULL, ops, 2, scratch, sizeof scratch), EDGESTT_E_INVALID_ARG);
    ops[1].k = 64;
    ops[1].w_stride = 68;
    ops[1].m = 2; /* another m */
    CHECK_ST(est_gemm_multi(kt, NULL, ops, 2, scratch, sizeof scratch), EDGESTT_E_INVALID_ARG);
    ops[1].m = 1;
    ops[1].w_stride = 10; /* caught by est_gemm_check */
    CHECK_ST(est_gemm_multi(kt, NULL, ops, 2, scratch, sizeof scratch), EDGESTT_E_INVALID_ARG);
}
