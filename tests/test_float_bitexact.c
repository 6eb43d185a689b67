/*
 * test_float_bitexact.c - the float parts of every runnable kernel table give the reference's bits
 * (kernels/ops_ref.c and kernels.h state the specification): layer norm, softmax, GELU, dot and
 * axpy on rows of awkward lengths, and F32 / F16 products in both specified orders (m at and
 * around EST_FLOAT_GEMV_MAX_M), with and without bias, k and n below, at and above the tiles and
 * packing chunks.  Seeded random inputs (normal magnitudes: ARMv7 NEON flushes subnormals).
 * The bounds of tests/test_kernels.c still hold; this is the stronger, cross-ISA promise that
 * tests/test_isa_transcripts.c relies on.
 */
#include <math.h>
#include <stdlib.h>

#include "../kernels/kernels_impl.h"
#include "test.h"

static float frand(uint64_t *s) { /* [-1, 1) */
    return (float)((int64_t)(est_test_rand(s) >> 40) - (1 << 23)) / (float)(1 << 23);
}

/* Index of the first float that differs bitwise, or -1. */
static int first_diff(const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float))) return i;
    return -1;
}

TEST(float_ops_bitexact) {
    uint64_t s = est_test_seed() ^ 0x666c6f6174ull;
    const int ns[] = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 64, 100, 384, 1500, 1501};
    enum { MAXN = 1501 };
    static float x[MAXN], g[MAXN], b[MAXN], y0[MAXN + 8], y1[MAXN + 8];
    const est_kernels *ref = est_kernels_variant(0);
    for (int v = 1; est_kernels_variant(v); v++) {
        const est_kernels *kt = est_kernels_variant(v);
        if (!est_kernels_runnable(kt, est_port_cpu_features())) continue;
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            const int n = ns[ni];
            int d;
            for (int i = 0; i < n; i++) {
                x[i] = 3.0f + 2.0f * frand(&s);
                g[i] = 1.0f + 0.5f * frand(&s);
                b[i] = 0.1f * frand(&s);
            }
            for (int gb = 0; gb < 3; gb++) {
                const float *gg = gb ? g : NULL, *bb = gb == 2 ? b : NULL;
                ref->layer_norm(y0, x, gg, bb, n, 1e-5f);
                kt->layer_norm(y1, x, gg, bb, n, 1e-5f);
                d = first_diff(y0, y1, n);
                CHECKF(d < 0, "%s layer_norm n=%d (g/b %d) [%d]: %.9g ref %.9g", kt->name, n, gb, d, (double)y1[d],
                       (double)y0[d]);
            }
            for (int i = 0; i < n; i++) {
                x[i] = 20.0f * frand(&s);
                if (est_test_rand(&s) % 8 == 0) x[i] = -INFINITY;
            }
            memcpy(y0, x, sizeof(float) * (size_t)n);
            memcpy(y1, x, sizeof(float) * (size_t)n);
            ref->softmax(y0, n, 0.125f);
            kt->softmax(y1, n, 0.125f);
            d = first_diff(y0, y1, n);
            CHECKF(d < 0, "%s softmax n=%d [%d] (x %g): %.9g ref %.9g", kt->name, n, d, (double)x[d], (double)y1[d],
                   (double)y0[d]);
            for (int i = 0; i < n; i++) x[i] = 12.0f * frand(&s);
            ref->gelu(y0, x, n);
            kt->gelu(y1, x, n);
            d = first_diff(y0, y1, n);
            CHECKF(d < 0, "%s gelu(%.9g) = %.9g, ref %.9g", kt->name, (double)x[d], (double)y1[d], (double)y0[d]);
            const float d0 = ref->dot(x, g, n), d1 = kt->dot(x, g, n);
            CHECKF(!memcmp(&d0, &d1, sizeof d0), "%s dot n=%d: %.9g ref %.9g", kt->name, n, (double)d1, (double)d0);
            memcpy(y0, b, sizeof(float) * (size_t)n);
            memcpy(y1, b, sizeof(float) * (size_t)n);
            ref->axpy(y0, -0.37f, x, n);
            kt->axpy(y1, -0.37f, x, n);
            d = first_diff(y0, y1, n);
            CHECKF(d < 0, "%s axpy n=%d [%d]", kt->name, n, d);
        }
    }
}

TEST(float_gemm_bitexact) {
    uint64_t s = est_test_seed() ^ 0x67656d6dull;
    const int ms[] = {1, 2, 5, 7, 16, 17, 25, 33}; /* both orders: EST_FLOAT_GEMV_MAX_M is 16 */
    const int nn[] = {1, 5, 16, 17, 40};
    const int ks[] = {1, 7, 8, 64, 255, 256, 257, 600};
    enum { MAXM = 33, MAXN = 40, MAXK = 600 };
    for (int v = 0; est_kernels_variant(v); v++)
        for (int t = 0; t < 2; t++) CHECK(est_kernels_variant(v)->gemv_max_m[t] == EST_FLOAT_GEMV_MAX_M);
    float *x = malloc(sizeof(float) * MAXM * MAXK), *wf = malloc(sizeof(float) * MAXN * MAXK);
    uint16_t *wh = malloc(sizeof(uint16_t) * MAXN * MAXK);
    float *bias = malloc(sizeof(float) * MAXN), *y0 = malloc(sizeof(float) * MAXM * MAXN);
    float *y1 = malloc(sizeof(float) * MAXM * MAXN);
    CHECK(x && wf && wh && bias && y0 && y1);
    for (int i = 0; i < MAXM * MAXK; i++) x[i] = frand(&s);
    for (int i = 0; i < MAXN * MAXK; i++) {
        wf[i] = frand(&s) * 0.25f;
        wh[i] = est_f32_to_f16(wf[i]);
    }
    for (int i = 0; i < MAXN; i++) bias[i] = frand(&s);
    const est_kernels *ref = est_kernels_variant(0);
    int checked = 0;
    for (int v = 1; est_kernels_variant(v); v++) {
        const est_kernels *kt = est_kernels_variant(v);
        if (!est_kernels_runnable(kt, est_port_cpu_features())) continue;
        for (int type = EDGESTT_TYPE_F32; type <= EDGESTT_TYPE_F16; type++) {
            for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                const int m = ms[mi];
                for (size_t ni = 0; ni < sizeof nn / sizeof nn[0]; ni++)
                    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                        const int n = nn[ni], k = ks[ki];
                        est_gemm_op op;
                        memset(&op, 0, sizeof op);
                        op.type = type;
                        op.m = m;
                        op.n = n;
                        op.k = k;
                        op.w = type == EDGESTT_TYPE_F32 ? (const void *)wf : (const void *)wh;
                        op.w_stride = (size_t)k * (type == EDGESTT_TYPE_F32 ? 4 : 2);
                        op.x = x;
                        op.ldx = (size_t)k;
                        op.bias = (ki & 1) ? bias : NULL;
                        op.ldy = (size_t)n;
                        op.y = y0;
                        est_gemm_tile(ref, &op, 0, m, 0, n);
                        op.y = y1;
                        est_gemm_tile(kt, &op, 0, m, 0, n);
                        const int d = first_diff(y0, y1, m * n);
                        CHECKF(d < 0, "%s %s m=%d n=%d k=%d: y[%d][%d] = %.9g, ref %.9g", kt->name,
                               edgestt_type_name(type), m, n, k, d / n, d % n, (double)y1[d], (double)y0[d]);
                        checked++;
                    }
            }
        }
    }
    printf("    %d float products bit-identical to the reference\n", checked);
    free(x);
    free(wf);
    free(wh);
    free(bias);
    free(y0);
    free(y1);
}
