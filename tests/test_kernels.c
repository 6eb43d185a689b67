/*
 * test_kernels.c - every kernel variant runnable on this CPU against the reference: the activation
 * quantizer and the Q8_0/Q4_0 products bit for bit, F32/F16 products within a stated bound, the
 * reference itself against a double-precision dequantize-then-dot, tile ranges, the pool driver,
 * dispatch, and the f32 row helpers.  Shapes sweep k across block/chunk sizes, m and n below, at
 * and above the tiles (incl. primes, m = 1), and extreme values.  Seeded: the runner prints the seed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels_impl.h"
#include "../port/port.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t rng_for(const char *name) {
    uint64_t s = est_test_seed() ^ 0x6b65726e656c73ull;
    for (const char *p = name; *p; p++) s = s * 131 + (uint8_t)*p;
    return s;
}

static float urand(uint64_t *s) { /* [-1, 1) */
    return (float)((int64_t)(est_test_rand(s) >> 40) - (1 << 23)) / (float)(1 << 23);
}

static uint32_t rbits(uint64_t *s, uint32_t n) { return (uint32_t)(est_test_rand(s) % n); }

static void *xalloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    memset(p, 0, n);
    return p;
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Activations: mostly uniform with a per-row scale, some zero/tiny/huge blocks and exact halves. */
static void fill_x(uint64_t *s, float *x, int m, int k, size_t ldx, int extremes) {
    for (int i = 0; i < m; i++) {
        const float scale = ldexpf(1.0f, (int)rbits(s, 16) - 8);
        for (int t = 0; t < k; t++) x[(size_t)i * ldx + t] = urand(s) * scale;
        if (!extremes) continue;
        for (int b = 0; b < k / 32; b++) {
            float *xb = x + (size_t)i * ldx + 32 * b;
            switch (rbits(s, 10)) {
            case 0: for (int t = 0; t < 32; t++) xb[t] = 0.0f; break;
            case 1: for (int t = 0; t < 32; t++) xb[t] = urand(s) * 1e-30f; break; /* below 2^-96 */
            case 2: for (int t = 0; t < 32; t++) xb[t] = urand(s) * 1e30f; break;
            case 3: /* amax 127: x * 127/amax = x exactly, so the halves are ties */
                for (int t = 0; t < 32; t++) xb[t] = (float)((int)rbits(s, 254) - 127) + 0.5f;
                xb[rbits(s, 32)] = -127.0f;
                break;
            case 4: for (int t = 0; t < 32; t++) xb[t] = (t & 1) ? 3e-29f : -1.5e-29f; break; /* ~2^-96 */
            default: break;
            }
        }
    }
}

/* Weights of a type: n rows at stride ws bytes (rows start at an odd offset: unaligned). */
static void fill_w(uint64_t *s, int type, uint8_t *w, int n, int k, size_t ws, int extremes) {
    for (int j = 0; j < n; j++) {
        uint8_t *r = w + (size_t)j * ws;
        if (type == EDGESTT_TYPE_F32) {
            for (int t = 0; t < k; t++) {
                float v = urand(s);
                memcpy(r + 4 * t, &v, 4);
            }
        } else if (type == EDGESTT_TYPE_F16) {
            for (int t = 0; t < k; t++) {
                uint16_t h = est_f32_to_f16(urand(s));
                memcpy(r + 2 * t, &h, 2);
            }
        } else {
            const size_t bs = type == EDGESTT_TYPE_Q8_0 ? 34 : 18;
            for (int b = 0; b < k / 32; b++) {
                uint8_t *blk = r + b * bs;
                float d = ldexpf(0.5f + 0.5f * fabsf(urand(s)), (int)rbits(s, 12) - 14);
                int mode = extremes ? (int)rbits(s, 8) : 7;
                if (mode == 0) d = 0.0f;
                uint16_t h = est_f32_to_f16(d);
                if (mode == 1) h = 0x7bff;             /* largest f16 */
                memcpy(blk, &h, 2);
                for (size_t t = 2; t < bs; t++) blk[t] = (uint8_t)est_test_rand(s);
                if (mode == 2) memset(blk + 2, 0x80, bs - 2); /* q8: all -128; q4: nibbles 0 and 8 */
                if (mode == 3) memset(blk + 2, type == EDGESTT_TYPE_Q8_0 ? 0x7f : 0xff, bs - 2);
                if (mode == 4) memset(blk + 2, 0x00, bs - 2);
                if (mode == 5 && type == EDGESTT_TYPE_Q4_0) memset(blk + 2, 0xf0, bs - 2);
            }
        }
    }
}

typedef struct {
    int m, n, k;
} shape;

/* Everything one product needs, with guard rows/columns around Y to catch stray stores. */
typedef struct {
    est_gemm_op op;
    uint8_t *wmem;
    float *x, *bias, *y, *yref;
    uint8_t *xq;
} prob;

static void prob_free(prob *p) {
    free(p->wmem);
    free(p->x);
    free(p->bias);
    free(p->y);
    free(p->yref);
    free(p->xq);
    memset(p, 0, sizeof *p);
}

static int prob_make(prob *p, uint64_t *s, int type, int m, int n, int k, int with_bias, int extremes) {
    memset(p, 0, sizeof *p);
    est_gemm_op *op = &p->op;
    op->type = type;
    op->m = m;
    op->n = n;
    op->k = k;
    op->w_stride = est_type_row_bytes(type, (uint64_t)k) + rbits(s, 3) * 2;
    const size_t woff = 1 + rbits(s, 7);
    /* exact sizes (no slack after the last row): the sanitizer build catches any over-read */
    p->wmem = xalloc(woff + op->w_stride * (size_t)(n - 1) + est_type_row_bytes(type, (uint64_t)k));
    op->w = p->wmem + woff;
    fill_w(s, type, p->wmem + woff, n, k, op->w_stride, extremes);
    op->ldx = (size_t)k + rbits(s, 5);
    p->x = xalloc(sizeof(float) * (op->ldx * (size_t)(m - 1) + (size_t)k));
    op->x = p->x;
    fill_x(s, p->x, m, k, op->ldx, extremes);
    if (with_bias) {
        p->bias = xalloc(sizeof(float) * (size_t)n);
        for (int j = 0; j < n; j++) p->bias[j] = urand(s);
        op->bias = p->bias;
    }
    op->ldy = (size_t)n + 3;
    p->y = xalloc(sizeof(float) * op->ldy * (size_t)m);
    p->yref = xalloc(sizeof(float) * op->ldy * (size_t)m);
    op->y = p->y;
    if (est_type_is_quant(type)) {
        op->xq_stride = est_qx_row_bytes(k);
        p->xq = xalloc(op->xq_stride * (size_t)m);
        op->xq = p->xq;
        est_quantize_x__ref(p->x, op->ldx, 0, m, k, p->xq, op->xq_stride);
    }
    return p->wmem && p->x && p->y && p->yref && (!with_bias || p->bias) &&
           (!est_type_is_quant(type) || p->xq);
}

static void fill_nan(float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = NAN;
}

static const char *const type_names[EST_WT_COUNT] = {"f32", "f16", "q8_0", "q4_0"};
static const int wt_types[EST_WT_COUNT] = {EDGESTT_TYPE_F32, EDGESTT_TYPE_F16, EDGESTT_TYPE_Q8_0,
                                           EDGESTT_TYPE_Q4_0};

/* Runs the reference (full range) into yref and the variant's gemm or gemv kernel into y. */
static void run_both(const est_kernels *kt, prob *p, int use_gemv) {
    const int t = est_wt_index(p->op.type);
    est_gemm_op op = p->op;
    const size_t total = op.ldy * (size_t)op.m;
    fill_nan(p->yref, total);
    fill_nan(p->y, total);
    op.y = p->yref;
    est_kernels_variant(0)->gemm[t](&op, 0, op.m, 0, op.n);
    op.y = p->y;
    if (use_gemv) kt->gemv[t](&op, 0, op.m, 0, op.n);
    else kt->gemm[t](&op, 0, op.m, 0, op.n);
}

/* Bound for float products: 2 k 2^-24 sum|x w| + 2^-23 |y| (for the bias add). */
static double float_bound(const est_gemm_op *op, int i, int j, float yref) {
    const float *xr = op->x + (size_t)i * op->ldx;
    const uint8_t *wr = (const uint8_t *)op->w + (size_t)j * op->w_stride;
    double s = 0;
    for (int t = 0; t < op->k; t++) {
        double w = op->type == EDGESTT_TYPE_F32 ? est_rd_f32(wr + 4 * t) : est_f16_to_f32(est_rd_u16(wr + 2 * t));
        s += fabs((double)xr[t] * w);
    }
    return 2.0 * op->k * ldexp(1.0, -24) * s + ldexp(1.0, -23) * fabs(yref) + 1e-37;
}

/* Compare y with yref: bit-exact for quantized types, within float_bound otherwise; the guard
 * columns [n, ldy) must stay NaN. */
static int check_result(const char *var, const char *path, prob *p) {
    const est_gemm_op *op = &p->op;
    const int quant = est_type_is_quant(op->type);
    for (int i = 0; i < op->m; i++) {
        for (size_t j = 0; j < op->ldy; j++) {
            const float a = p->y[(size_t)i * op->ldy + j], e = p->yref[(size_t)i * op->ldy + j];
            if (j >= (size_t)op->n) {
                if (!isnan(a)) {
                    est_test_fail(__FILE__, __LINE__, "%s %s %s m=%d n=%d k=%d: store past n at [%d][%zu]",
                                  var, path, type_names[est_wt_index(op->type)], op->m, op->n, op->k, i, j);
                    return 0;
                }
                continue;
            }
            int ok;
            if (quant) ok = fbits(a) == fbits(e);
            else ok = fabs((double)a - (double)e) <= float_bound(op, i, (int)j, e);
            if (!ok) {
                est_test_fail(__FILE__, __LINE__,
                              "%s %s %s m=%d n=%d k=%d bias=%d: y[%d][%zu] = %.9g (0x%08x), ref %.9g (0x%08x)",
                              var, path, type_names[est_wt_index(op->type)], op->m, op->n, op->k,
                              op->bias != NULL, i, j, (double)a, fbits(a), (double)e, fbits(e));
                return 0;
            }
        }
    }
    return 1;
}

static const shape shapes[] = {
    {1, 1, 32},    {1, 8, 32},    {1, 9, 64},     {1, 31, 96},    {1, 67, 1056}, {1, 16, 4096},
    {2, 17, 160},  {3, 24, 64},   {4, 8, 32},     {4, 16, 256},   {5, 7, 96},    {5, 13, 1056},
    {6, 16, 32},   {7, 33, 128},  {8, 8, 224},    {9, 41, 64},    {12, 17, 288}, {13, 31, 1024},
    {16, 64, 96},  {23, 19, 2048}, {6, 16, 4096}, {33, 8, 32},    {37, 67, 160}, {130, 9, 64},
};

/* Float weights also take k that is no multiple of any vector width or k-chunk (256). */
static const shape float_shapes[] = {
    {1, 5, 1}, {3, 9, 7}, {7, 17, 33}, {13, 19, 100}, {25, 40, 257}, {2, 11, 1500}, {30, 23, 513}, {1, 3, 4097},
};

static uint32_t cpu(void) { return est_port_cpu_features(); }

/* ---- dispatch ------------------------------------------------------------------------------ */

TEST(kernels_dispatch_select) {
    const est_kernels *kt;
    CHECK(est_kernels_variant(0) && !strcmp(est_kernels_variant(0)->name, "ref"));
    CHECK_ST(est_kernels_select("ref", 0, &kt), EDGESTT_OK);
    CHECK(!strcmp(kt->name, "ref"));
    CHECK_ST(est_kernels_select(NULL, 0, &kt), EDGESTT_OK);
    CHECK(!strcmp(kt->name, "ref"));
    CHECK_ST(est_kernels_select("bogus", cpu(), &kt), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_kernels_select("avx2", 0, &kt), EDGESTT_E_UNSUPPORTED);
    CHECK_ST(est_kernels_select("neondot", 0, &kt), EDGESTT_E_UNSUPPORTED);
    CHECK_ST(est_kernels_select("auto", cpu(), &kt), EDGESTT_OK);
#if defined(__x86_64__)
    const uint32_t want = EST_CPU_AVX2 | EST_CPU_FMA | EST_CPU_F16C;
    CHECK(!strcmp(kt->name, (cpu() & want) == want ? "avx2" : "ref"));
    CHECK_ST(est_kernels_select("", want, &kt), EDGESTT_OK);
    CHECK(!strcmp(kt->name, "avx2"));
    CHECK_ST(est_kernels_select("avx2", EST_CPU_AVX2 | EST_CPU_FMA, &kt), EDGESTT_E_UNSUPPORTED);
    CHECK_ST(est_kernels_select("neon", want, &kt), EDGESTT_E_UNSUPPORTED);
#elif defined(__aarch64__)
    CHECK(!strcmp(kt->name, (cpu() & EST_CPU_DOTPROD) ? "neondot" : "neon"));
    CHECK_ST(est_kernels_select("auto", EST_CPU_NEON, &kt), EDGESTT_OK);
    CHECK(!strcmp(kt->name, "neon"));
    CHECK_ST(est_kernels_select("neondot", EST_CPU_NEON, &kt), EDGESTT_E_UNSUPPORTED);
    CHECK_ST(est_kernels_select("neondot", EST_CPU_NEON | EST_CPU_DOTPROD, &kt), EDGESTT_OK);
    CHECK_ST(est_kernels_select("avx2", ~0u, &kt), EDGESTT_E_UNSUPPORTED);
#endif
    /* every built variant is complete */
    for (int v = 0; est_kernels_variant(v); v++) {
        const est_kernels *t = est_kernels_variant(v);
        CHECK(t->quantize_x && t->layer_norm && t->softmax && t->gelu && t->add);
        for (int i = 0; i < EST_WT_COUNT; i++) CHECK(t->gemm[i] && t->gemv[i]);
    }
    printf("    kernels: runnable here:");
    for (int v = 0; est_kernels_variant(v); v++)
        if (est_kernels_runnable(est_kernels_variant(v), cpu())) printf(" %s", est_kernels_variant(v)->name);
    printf("\n");
}

/* ---- the activation quantizer ------------------------------------------------------------ */

TEST(kernels_quantize_x_bitexact) {
    uint64_t s = rng_for("quantize");
    const int ks[] = {32, 64, 96, 416, 4096};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const int k = ks[ki], m = 1 + (int)rbits(&s, 9);
        const size_t ldx = (size_t)k + rbits(&s, 3), qs = est_qx_row_bytes(k);
        float *x = xalloc(sizeof(float) * ldx * (size_t)m);
        uint8_t *q0 = xalloc(qs * (size_t)m), *q1 = xalloc(qs * (size_t)m);
        CHECK(x && q0 && q1);
        fill_x(&s, x, m, k, ldx, 1);
        /* NaN and inf are deterministic too */
        x[rbits(&s, (uint32_t)k)] = NAN;
        if (m > 1) x[ldx + rbits(&s, (uint32_t)k)] = INFINITY;
        est_quantize_x__ref(x, ldx, 0, m, k, q0, qs);
        for (int v = 1; est_kernels_variant(v); v++) {
            const est_kernels *kt = est_kernels_variant(v);
            if (!est_kernels_runnable(kt, cpu())) continue;
            memset(q1, 0x5a, qs * (size_t)m);
            kt->quantize_x(x, ldx, 0, m, k, q1, qs);
            for (int i = 0; i < m; i++) {
                const uint8_t *a = q1 + (size_t)i * qs, *e = q0 + (size_t)i * qs;
                for (int t = 0; t < k + k / 4; t++)
                    CHECKF(a[t] == e[t], "%s quantize k=%d row %d byte %d (block %d): %02x, ref %02x", kt->name,
                           k, i, t, t < k ? t / 32 : (t - k) % (k / 8) / 4, a[t], e[t]);
            }
        }
        free(x);
        free(q0);
        free(q1);
    }
}

/* The reference quantizer does what the layout promises: |q| <= 127, sum, and q*d within d/2. */
TEST(kernels_quantize_x_ref_spec) {
    uint64_t s = rng_for("qspec");
    const int k = 256, m = 64;
    const size_t qs = est_qx_row_bytes(k);
    float *x = xalloc(sizeof(float) * (size_t)k * m);
    uint8_t *q = xalloc(qs * (size_t)m);
    CHECK(x && q);
    fill_x(&s, x, m, k, (size_t)k, 1);
    est_quantize_x__ref(x, (size_t)k, 0, m, k, q, qs);
    for (int i = 0; i < m; i++) {
        const uint8_t *row = q + (size_t)i * qs;
        for (int b = 0; b < k / 32; b++) {
            const float d = EST_QX_D(row, k)[b];
            double amax = 0;
            int32_t sum = 0;
            for (int t = 0; t < 32; t++) { /* (an fmax reduction here hits an ICE in aarch64 gcc 12.2 -O2) */
                const double a = fabs((double)x[(size_t)i * k + 32 * b + t]);
                if (a > amax) amax = a;
            }
            if (amax < 0x1p-96) CHECKF(d == 0.0f, "row %d block %d: tiny block kept scale %g", i, b, (double)d);
            else CHECKF(fabs(d - amax / 127) <= amax / 127 * 1e-7, "row %d block %d: d %g amax %g", i, b, (double)d, amax);
            for (int t = 0; t < 32; t++) {
                const int qv = EST_QX_QS(row)[32 * b + t];
                const double xv = x[(size_t)i * k + 32 * b + t];
                sum += qv;
                CHECK(qv >= -127 && qv <= 127);
                if (d != 0.0f)
                    CHECKF(fabs(qv * (double)d - xv) <= 0.5 * d + 127.0 * d * 0x1p-22,
                           "row %d k %d: x %.9g q %d d %g", i, 32 * b + t, xv, qv, (double)d);
            }
            CHECK(sum == EST_QX_SUM(row, k)[b]);
        }
    }
    /* ties round away from zero */
    float t[32];
    for (int j = 0; j < 32; j++) t[j] = (j & 1 ? -1.0f : 1.0f) * (float)(j % 4) + (j & 1 ? -0.5f : 0.5f);
    t[31] = 127.0f;
    est_quantize_x__ref(t, 32, 0, 1, 32, q, qs);
    for (int j = 0; j < 31; j++) {
        const int want = (j & 1 ? -1 : 1) * (j % 4 + 1);
        CHECKF(EST_QX_QS(q)[j] == want, "tie %g -> %d, want %d", (double)t[j], EST_QX_QS(q)[j], want);
    }
    free(x);
    free(q);
}

/* ---- products ---------------------------------------------------------------------------- */

static void sweep(int type) {
    char name[32];
    snprintf(name, sizeof name, "sweep%d", type);
    uint64_t s = rng_for(name);
    const size_t nq = sizeof shapes / sizeof shapes[0];
    const size_t nf = est_type_is_quant(type) ? 0 : sizeof float_shapes / sizeof float_shapes[0];
    for (size_t si = 0; si < nq + nf; si++) {
        const shape sh = si < nq ? shapes[si] : float_shapes[si - nq];
        prob p;
        if (!prob_make(&p, &s, type, sh.m, sh.n, sh.k, (int)(si & 1), 1)) {
            prob_free(&p);
            CHECK(!"out of memory");
        }
        for (int v = 1; est_kernels_variant(v); v++) {
            const est_kernels *kt = est_kernels_variant(v);
            if (!est_kernels_runnable(kt, cpu())) continue;
            for (int path = 0; path < 2; path++) {
                run_both(kt, &p, path);
                if (!check_result(kt->name, path ? "gemv" : "gemm", &p)) {
                    prob_free(&p);
                    return;
                }
            }
        }
        prob_free(&p);
    }
}

TEST(kernels_gemm_q8_0_bitexact) { sweep(EDGESTT_TYPE_Q8_0); }
TEST(kernels_gemm_q4_0_bitexact) { sweep(EDGESTT_TYPE_Q4_0); }
TEST(kernels_gemm_f32_bound) { sweep(EDGESTT_TYPE_F32); }
TEST(kernels_gemm_f16_bound) { sweep(EDGESTT_TYPE_F16); }

/* Sub-tiles: a tile call writes exactly its rectangle, with the same bits as the whole product. */
TEST(kernels_gemm_tiles) {
    uint64_t s = rng_for("tiles");
    for (int ti = 0; ti < 2 * EST_WT_COUNT; ti++) {
        const int M = ti < EST_WT_COUNT ? 29 : 7; /* a gemm-sized and a gemv-sized product */
        prob p;
        CHECK(prob_make(&p, &s, wt_types[ti % EST_WT_COUNT], M, 37, 96, 1, 0));
        est_gemm_op op = p.op;
        for (int v = 0; est_kernels_variant(v); v++) {
            const est_kernels *kt = est_kernels_variant(v);
            if (!est_kernels_runnable(kt, cpu())) continue;
            const size_t total = op.ldy * (size_t)op.m;
            fill_nan(p.yref, total);
            op.y = p.yref;
            est_gemm_tile(kt, &op, 0, op.m, 0, op.n);
            for (int rep = 0; rep < 6; rep++) {
                int m0 = (int)rbits(&s, (uint32_t)M), m1 = m0 + 1 + (int)rbits(&s, (uint32_t)(M - m0));
                int n0 = (int)rbits(&s, 37), n1 = n0 + 1 + (int)rbits(&s, (uint32_t)(37 - n0));
                fill_nan(p.y, total);
                op.y = p.y;
                est_gemm_tile(kt, &op, m0, m1, n0, n1);
                for (int i = 0; i < op.m; i++)
                    for (int j = 0; j < op.n; j++) {
                        const float a = p.y[(size_t)i * op.ldy + j], e = p.yref[(size_t)i * op.ldy + j];
                        const int inside = i >= m0 && i < m1 && j >= n0 && j < n1;
                        if (!inside) {
                            CHECKF(isnan(a), "%s %s tile [%d,%d)x[%d,%d) wrote y[%d][%d]", kt->name,
                                   type_names[ti % EST_WT_COUNT], m0, m1, n0, n1, i, j);
                        } else {
                            /* the kernel is chosen by the whole m: same bits (float kernels too) */
                            CHECKF(fbits(a) == fbits(e), "%s %s tile [%d,%d)x[%d,%d) y[%d][%d] %.9g != %.9g",
                                   kt->name, type_names[ti % EST_WT_COUNT], m0, m1, n0, n1, i, j, (double)a, (double)e);
                        }
                    }
            }
        }
        prob_free(&p);
    }
}

/* The reference against a double-precision dequantize-then-dot: (a) with the quantized
 * activations, only float rounding separates them; (b) against the f32 activations, the
 * activation rounding error is at most d_x/2 per element. */
TEST(kernels_gemm_ref_vs_double) {
    uint64_t s = rng_for("vsdouble");
    const est_kernels *ref = est_kernels_variant(0);
    for (int qt = 0; qt < 2; qt++) {
        const int type = qt ? EDGESTT_TYPE_Q4_0 : EDGESTT_TYPE_Q8_0;
        for (int rep = 0; rep < 4; rep++) {
            const int m = 3 + rep, n = 11, k = 32 * (1 + (int)rbits(&s, 40));
            prob p;
            CHECK(prob_make(&p, &s, type, m, n, k, rep & 1, rep >= 2));
            ref->gemm[est_wt_index(type)](&p.op, 0, m, 0, n);
            float *wd = xalloc(sizeof(float) * (size_t)k);
            CHECK(wd);
            for (int j = 0; j < n; j++) {
                est_dequantize_row(type, (const uint8_t *)p.op.w + (size_t)j * p.op.w_stride, wd, k);
                for (int i = 0; i < m; i++) {
                    const uint8_t *row = p.xq + (size_t)i * p.op.xq_stride;
                    double exact = 0, mag = 0, xerr = 0, xdot = 0;
                    for (int b = 0; b < k / 32; b++) {
                        const double dx = EST_QX_D(row, k)[b];
                        double blk = 0;
                        for (int t = 0; t < 32; t++) {
                            const double xv = p.x[(size_t)i * p.op.ldx + 32 * b + t];
                            blk += EST_QX_QS(row)[32 * b + t] * dx * wd[32 * b + t];
                            xdot += xv * wd[32 * b + t];
                            /* rounding to the grid d_x; blocks flushed to zero (amax < 2^-96) lose all of x */
                            xerr += fabs((double)wd[32 * b + t]) * (dx == 0 ? fabs(xv) : 0.5 * dx * (1 + 1e-6) + fabs(xv) * 1e-7);
                        }
                        exact += blk;
                        mag += fabs(blk);
                    }
                    const double bias = p.bias ? p.bias[j] : 0.0;
                    const double y = p.y[(size_t)i * p.op.ldy + j];
                    const double tol = 2.0 * (k / 32 + 2) * ldexp(1.0, -24) * (mag + fabs(bias)) + 1e-30;
                    CHECKF(fabs(y - (exact + bias)) <= tol, "%s ref vs dequantized double: m=%d n=%d k=%d y[%d][%d] "
                           "%.9g, exact %.9g, tol %.3g", type_names[est_wt_index(type)], m, n, k, i, j, y, exact + bias, tol);
                    CHECKF(fabs(y - (xdot + bias)) <= tol + xerr, "%s ref vs f32 activations: y[%d][%d] %.9g, "
                           "exact %.9g, tol %.3g", type_names[est_wt_index(type)], i, j, y, xdot + bias, tol + xerr);
                }
            }
            free(wd);
            prob_free(&p);
        }
    }
}

/* Extremes: -128 weights times -127 activations in every position, nibbles 0 and 15, zero and
 * huge scales; the integer sums are exact, so results are known in closed form. */
TEST(kernels_gemm_extremes) {
    const int k = 64, n = 8, m = 5;
    for (int qt = 0; qt < 2; qt++) {
        const int type = qt ? EDGESTT_TYPE_Q4_0 : EDGESTT_TYPE_Q8_0;
        const size_t bs = qt ? 18 : 34, ws = bs * 2;
        uint8_t *w = xalloc(ws * n + 1);
        float *x = xalloc(sizeof(float) * k * m), *y = xalloc(sizeof(float) * n * m);
        uint8_t *xq = xalloc(est_qx_row_bytes(k) * m);
        CHECK(w && x && y && xq);
        for (int j = 0; j < n; j++)
            for (int b = 0; b < 2; b++) {
                uint8_t *blk = w + 1 + j * ws + b * bs;
                const uint16_t d = j == 3 ? 0 : j == 5 ? 0x7bff : est_f32_to_f16(1.0f);
                memcpy(blk, &d, 2);
                /* q8: -128 or 127; q4: nibble 0 (-8) or 15 (+7) */
                memset(blk + 2, (j & 1) ? (qt ? 0xff : 0x7f) : (qt ? 0x00 : 0x80), bs - 2);
            }
        for (int i = 0; i < m; i++)
            for (int t = 0; t < k; t++) x[i * k + t] = (i & 1) ? -1.0f : 1.0f;
        for (int v = 0; est_kernels_variant(v); v++) {
            const est_kernels *kt = est_kernels_variant(v);
            if (!est_kernels_runnable(kt, cpu())) continue;
            est_gemm_op op = {.type = type, .m = m, .n = n, .k = k, .w = w + 1, .w_stride = ws, .x = x,
                              .ldx = k, .xq = xq, .xq_stride = est_qx_row_bytes(k), .y = y, .ldy = n};
            kt->quantize_x(x, k, 0, m, k, xq, op.xq_stride);
            for (int path = 0; path < 2; path++) {
                memset(y, 0, sizeof(float) * n * m);
                if (path) kt->gemv[est_wt_index(type)](&op, 0, m, 0, n);
                else kt->gemm[est_wt_index(type)](&op, 0, m, 0, n);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        const double qw = (j & 1) ? (qt ? 7 : 127) : (qt ? -8 : -128);
                        const double dw = j == 3 ? 0 : j == 5 ? 65504.0 : 1.0;
                        const float dx = 1.0f / 127.0f;
                        const double isum = 32.0 * 127 * ((i & 1) ? -1 : 1) * qw;
                        const float sc = (float)dw * dx;
                        const float want = fmaf((float)isum, sc, fmaf((float)isum, sc, 0.0f));
                        CHECKF(fbits(y[i * n + j]) == fbits(want), "%s %s %s y[%d][%d] = %.9g, want %.9g", kt->name,
                               path ? "gemv" : "gemm", type_names[est_wt_index(type)], i, j, (double)y[i * n + j],
                               (double)want);
                    }
            }
        }
        free(w);
        free(x);
        free(y);
        free(xq);
    }
}

/* ---- the pool driver --------------------------------------------------------------------- */

TEST(kernels_gemm_driver) {
    uint64_t s = rng_for("driver");
    static uint8_t pool_mem[4096] __attribute__((aligned(64)));
    est_pool *pool;
    CHECK(est_pool_size(2) <= sizeof pool_mem);
    CHECK_ST(est_pool_init(&pool, pool_mem, sizeof pool_mem, 2), EDGESTT_OK);
    const shape sh[] = {{1, 200, 256}, {3, 300, 512}, {70, 150, 160}, {200, 40, 96}};
    for (int ti = 0; ti < EST_WT_COUNT; ti++) {
        for (size_t si = 0; si < sizeof sh / sizeof sh[0]; si++) {
            prob p;
            if (!prob_make(&p, &s, wt_types[ti], sh[si].m, sh[si].n, sh[si].k, 1, 0)) {
                prob_free(&p);
                est_pool_destroy(pool);
                CHECK(!"out of memory");
            }
            const size_t need = est_gemm_scratch_size(p.op.type, p.op.m, p.op.k);
            uint8_t *scratch = xalloc(need + 64);
            for (int v = 0; est_kernels_variant(v); v++) {
                const est_kernels *kt = est_kernels_variant(v);
                if (!est_kernels_runnable(kt, cpu())) continue;
                est_gemm_op op = p.op;
                op.xq = NULL;
                op.y = p.yref;
                fill_nan(p.yref, op.ldy * (size_t)op.m);
                fill_nan(p.y, op.ldy * (size_t)op.m);
                int st1 = est_gemm(kt, NULL, &op, scratch, need + 64);
                op.y = p.y;
                int st2 = est_gemm(kt, pool, &op, scratch, need + 64);
                int bad = st1 != EDGESTT_OK || st2 != EDGESTT_OK;
                for (int i = 0; i < op.m && !bad; i++)
                    for (int j = 0; j < op.n && !bad; j++)
                        bad = fbits(p.y[(size_t)i * op.ldy + j]) != fbits(p.yref[(size_t)i * op.ldy + j]);
                if (bad) {
                    free(scratch);
                    prob_free(&p);
                    est_pool_destroy(pool);
                    CHECKF(0, "%s %s m=%d n=%d k=%d: pool result differs (st %d %d)", kt->name, type_names[ti],
                           sh[si].m, sh[si].n, sh[si].k, st1, st2);
                }
                if (est_type_is_quant(op.type)) {
                    int st = est_gemm(kt, pool, &op, scratch, need - 1);
                    int st_al = est_gemm(kt, pool, &op, scratch + 8, need + 32);
                    if (st != EDGESTT_E_NOMEM || st_al != EDGESTT_E_INVALID_ARG) {
                        free(scratch);
                        prob_free(&p);
                        est_pool_destroy(pool);
                        CHECKF(0, "scratch checks: %d %d", st, st_al);
                    }
                }
            }
            free(scratch);
            prob_free(&p);
        }
    }
    est_pool_destroy(pool);
}

TEST(kernels_gemm_check_args) {
    float x[64] = {0}, y[64];
    uint8_t w[34 * 2] = {0};
    est_gemm_op op = {.type = EDGESTT_TYPE_Q8_0, .m = 1, .n = 2, .k = 32, .w = w, .w_stride = 34, .x = x,
                      .ldx = 32, .y = y, .ldy = 2};
    CHECK_ST(est_gemm_check(&op), EDGESTT_OK);
    op.k = 48;
    CHECK_ST(est_gemm_check(&op), EDGESTT_E_INVALID_ARG);
    op.k = 32;
    op.w_stride = 33;
    CHECK_ST(est_gemm_check(&op), EDGESTT_E_INVALID_ARG);
    op.w_stride = 34;
    op.type = 3;
    CHECK_ST(est_gemm_check(&op), EDGESTT_E_UNSUPPORTED);
    op.type = EDGESTT_TYPE_F32;
    op.w_stride = 128;
    op.ldy = 1;
    CHECK_ST(est_gemm_check(&op), EDGESTT_E_INVALID_ARG);
    op.ldy = 2;
    op.m = 0;
    CHECK_ST(est_gemm_check(&op), EDGESTT_E_INVALID_ARG);
    CHECK(est_qx_row_bytes(31) == 0 && est_qx_row_bytes(32) == 64 && est_qx_row_bytes(384) == 512);
    CHECK(est_gemm_scratch_size(EDGESTT_TYPE_F16, 10, 384) == 0);
    CHECK(est_gemm_scratch_size(EDGESTT_TYPE_Q4_0, 10, 384) == 5120);
    CHECK(est_gemm_scratch_size(EDGESTT_TYPE_Q4_0, 10, 33) == SIZE_MAX);
    CHECK(est_gemm_scratch_size(EDGESTT_TYPE_Q8_0, INT32_MAX, 1 << 30) != 0);
}

/* ---- f32 row helpers --------------------------------------------------------------------- */

/* Every runnable variant's helpers against the reference, rows of awkward lengths. */
TEST(kernels_ops_vs_ref) {
    uint64_t s = rng_for("ops");
    const int ns[] = {1, 3, 4, 7, 8, 9, 17, 64, 384, 1500, 1501};
    enum { MAXN = 1501 };
    float *x = xalloc(sizeof(float) * MAXN), *g = xalloc(sizeof(float) * MAXN), *b = xalloc(sizeof(float) * MAXN);
    float *y0 = xalloc(sizeof(float) * (MAXN + 8)), *y1 = xalloc(sizeof(float) * (MAXN + 8));
    CHECK(x && g && b && y0 && y1);
    for (int v = 1; est_kernels_variant(v); v++) {
        const est_kernels *kt = est_kernels_variant(v), *ref = est_kernels_variant(0);
        if (!est_kernels_runnable(kt, cpu())) continue;
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            const int n = ns[ni];
            for (int i = 0; i < n; i++) {
                x[i] = 3.0f + 2.0f * urand(&s); /* offset mean: the variance must be two-pass */
                g[i] = 1.0f + 0.5f * urand(&s);
                b[i] = 0.1f * urand(&s);
            }
            /* layer norm, with and without weight/bias; y1[n] must stay untouched */
            for (int gb = 0; gb < 2; gb++) {
                y1[n] = 12345.0f;
                ref->layer_norm(y0, x, gb ? g : NULL, gb ? b : NULL, n, 1e-5f);
                kt->layer_norm(y1, x, gb ? g : NULL, gb ? b : NULL, n, 1e-5f);
                CHECKF(y1[n] == 12345.0f, "%s layer_norm n=%d wrote past n", kt->name, n);
                for (int i = 0; i < n; i++)
                    CHECKF(fabsf(y1[i] - y0[i]) <= 2e-5f * (1.0f + fabsf(y0[i])), "%s layer_norm n=%d [%d]: %.9g ref %.9g",
                           kt->name, n, i, (double)y1[i], (double)y0[i]);
            }
            /* softmax: scores of a wide range, some masked */
            for (int i = 0; i < n; i++) {
                x[i] = 20.0f * urand(&s);
                if (rbits(&s, 8) == 0) x[i] = -INFINITY;
            }
            memcpy(y0, x, sizeof(float) * n);
            memcpy(y1, x, sizeof(float) * n);
            y1[n] = 12345.0f;
            ref->softmax(y0, n, 0.7f);
            kt->softmax(y1, n, 0.7f);
            CHECK(y1[n] == 12345.0f);
            double mx = -INFINITY;
            for (int i = 0; i < n; i++) mx = fmax(mx, 0.7 * x[i]);
            for (int i = 0; i < n; i++) {
                /* sum reordering (n eps) plus exp's conditioning: the argument x*scale - max may
                 * round differently (fused or not) by |x*scale| + 2|x*scale - max| half-ulps */
                const double arg = isinf(x[i]) ? 0 : fabs(0.7 * x[i]) + 2 * fabs(0.7 * x[i] - mx);
                const double tol = (8.0 + 2.0 * n + arg) * ldexp(1.0, -24) * y0[i] + 1e-37;
                CHECKF(fabs((double)y1[i] - y0[i]) <= tol, "%s softmax n=%d [%d] (x %g): %.9g ref %.9g", kt->name, n, i,
                       (double)x[i], (double)y1[i], (double)y0[i]);
                if (x[i] == -INFINITY) CHECKF(y1[i] == 0.0f, "%s softmax: masked entry %d = %g", kt->name, i, (double)y1[i]);
            }
            /* gelu over [-12, 12] */
            for (int i = 0; i < n; i++) x[i] = 12.0f * urand(&s);
            y1[n] = 12345.0f;
            ref->gelu(y0, x, n);
            kt->gelu(y1, x, n);
            CHECK(y1[n] == 12345.0f);
            for (int i = 0; i < n; i++)
                CHECKF(fabsf(y1[i] - y0[i]) <= 1e-6f * fabsf(x[i]) + 4e-7f * fabsf(y0[i]) + 1e-30f,
                       "%s gelu(%.9g) = %.9g, ref %.9g", kt->name, (double)x[i], (double)y1[i], (double)y0[i]);
            /* add (exact), dot, axpy */
            for (int i = 0; i < n; i++) g[i] = urand(&s);
            y1[n] = 12345.0f;
            kt->add(y1, x, g, n);
            CHECK(y1[n] == 12345.0f);
            for (int i = 0; i < n; i++) CHECK(fbits(y1[i]) == fbits(x[i] + g[i]));
            double mag = 0;
            for (int i = 0; i < n; i++) mag += fabs((double)x[i] * g[i]);
            const float d0 = ref->dot(x, g, n), d1 = kt->dot(x, g, n);
            CHECKF(fabs((double)d1 - d0) <= 2.0 * n * ldexp(1.0, -24) * mag, "%s dot n=%d: %.9g ref %.9g", kt->name, n,
                   (double)d1, (double)d0);
            memcpy(y0, b, sizeof(float) * n);
            memcpy(y1, b, sizeof(float) * n);
            y1[n] = 12345.0f;
            ref->axpy(y0, -0.37f, x, n);
            kt->axpy(y1, -0.37f, x, n);
            CHECK(y1[n] == 12345.0f);
            for (int i = 0; i < n; i++)
                CHECK(fabs((double)y1[i] - y0[i]) <= ldexp(1.0, -23) * (fabs((double)b[i]) + fabs(0.37 * x[i])));
        }
        /* an all-masked softmax row is all zero */
        for (int i = 0; i < 9; i++) y1[i] = -INFINITY;
        kt->softmax(y1, 9, 1.0f);
        for (int i = 0; i < 9; i++) CHECK(y1[i] == 0.0f);
    }
    free(x);
    free(g);
    free(b);
    free(y0);
    free(y1);
}

/* The reference GELU is the erf formula and the reference softmax sums to 1 (spec sanity). */
TEST(kernels_ops_ref_spec) {
    const est_kernels *ref = est_kernels_variant(0);
    const float xs[] = {-5.0f, -1.0f, -0.1f, 0.0f, 0.3f, 1.0f, 2.5f};
    float y[7];
    ref->gelu(y, xs, 7);
    for (int i = 0; i < 7; i++) {
        const double want = 0.5 * xs[i] * (1.0 + erf(xs[i] / sqrt(2.0)));
        CHECKF(fabs(y[i] - want) <= 1e-6 * fabs(want) + 1e-7, "gelu(%g) = %.9g want %.9g", (double)xs[i], (double)y[i], want);
    }
    float p[5] = {1, 2, 3, 4, -INFINITY};
    ref->softmax(p, 5, 1.0f);
    double sum = 0;
    for (int i = 0; i < 5; i++) sum += p[i];
    CHECK(fabs(sum - 1.0) < 1e-6 && p[4] == 0.0f && fabs(p[3] / p[2] - exp(1.0)) < 1e-5);
}

/* Attention (self with a causal KV cache, and cross) against a double-precision computation. */
TEST(kernels_attention) {
    uint64_t s = rng_for("attn");
    const int heads = 3, dh = 20, nkv = 37, m = 5, ld = heads * dh + 3;
    float *q = xalloc(sizeof(float) * m * ld), *k = xalloc(sizeof(float) * nkv * ld);
    float *vv = xalloc(sizeof(float) * nkv * ld), *out = xalloc(sizeof(float) * m * ld);
    float *scores = xalloc(sizeof(float) * nkv);
    CHECK(q && k && vv && out && scores);
    for (int i = 0; i < m * ld; i++) q[i] = urand(&s);
    for (int i = 0; i < nkv * ld; i++) {
        k[i] = urand(&s);
        vv[i] = urand(&s);
    }
    for (int v = 0; est_kernels_variant(v); v++) {
        const est_kernels *kt = est_kernels_variant(v);
        if (!est_kernels_runnable(kt, cpu())) continue;
        for (int causal = 0; causal < 2; causal++) {
            est_attn_args a = {.q = q, .k = k, .v = vv, .out = out, .ldq = ld, .ldk = ld, .ldv = ld, .ldo = ld, .m = m,
                               .n_kv = nkv, .n_head = heads, .d_head = dh, .scale = 1.0f / sqrtf((float)dh),
                               .causal = causal};
            for (int i = 0; i < m * ld; i++) out[i] = NAN;
            est_attention(kt, &a, 0, 2, scores);
            est_attention(kt, &a, 2, heads, scores);
            for (int i = 0; i < m; i++) {
                CHECK(isnan(out[i * ld + heads * dh])); /* padding untouched */
                for (int h = 0; h < heads; h++) {
                    const int nk = causal ? nkv - m + 1 + i : nkv;
                    double sc[64], mx = -1e300, sum = 0;
                    for (int j = 0; j < nk; j++) {
                        double d = 0;
                        for (int t = 0; t < dh; t++) d += (double)q[i * ld + h * dh + t] * k[j * ld + h * dh + t];
                        sc[j] = d / sqrt((double)dh);
                        if (sc[j] > mx) mx = sc[j];
                    }
                    for (int j = 0; j < nk; j++) sum += (sc[j] = exp(sc[j] - mx));
                    for (int t = 0; t < dh; t++) {
                        double o = 0;
                        for (int j = 0; j < nk; j++) o += sc[j] / sum * vv[j * ld + h * dh + t];
                        const float got = out[i * ld + h * dh + t];
                        CHECKF(fabs(got - o) <= 2e-5, "%s attention causal=%d row %d head %d [%d]: %.9g want %.9g",
                               kt->name, causal, i, h, t, (double)got, o);
                    }
                }
            }
        }
    }
    free(q);
    free(k);
    free(vv);
    free(out);
    free(scores);
}
