/*
 * ops_ref.c - reference f32 row helpers the models need: layer norm, softmax, exact GELU, add,
 * dot, axpy, and the attention helper (generic over a kernel table).
 *
 * These are the specification that every SIMD variant computes bit for bit (so a transcript does
 * not depend on the ISA; tests/test_kernels.c checks bit equality, tests/test_isa_transcripts.c
 * the token ids):
 *   - a sum over a row runs in 8 interleaved partial sums, element t into partial t % 8, the row
 *     zero-padded to a multiple of 8 (so a partial may see "+ 0.0f"), combined by tree8:
 *     ((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7));
 *   - every fused multiply-add is fmaf() (never left to the compiler's contraction setting);
 *   - e^x is exp_spec (range reduction + degree-7 polynomial, ~2 ulp), erfc is the Numerical
 *     Recipes Chebyshev fit (relative error < 1.2e-7), written out below operation by operation.
 * Inputs are finite (or -inf where softmax masks); NaN handling is not part of the contract.  ARMv7
 * NEON flushes subnormals to zero, so there results may differ where a subnormal occurs.
 */
#include <math.h>

#include "kernels_impl.h"

/* The fixed combination of the 8 partial sums. */
static float tree8(const float p[8]) { return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7])); }

/* e^x as the SIMD variants compute it: x clamped to [-87.33, 88], n = round-to-even(x log2 e),
 * r = x - n ln2 (two fused steps), a degree-7 polynomial by fused steps, times 2^n; x < -87.33
 * (incl. -inf) gives 0. */
static float exp_spec(float x) {
    const int under = x < -87.33f;
    x = fmaxf(fminf(x, 88.0f), -87.33f);
    const float n = rintf(x * 1.44269504089f);
    float r = fmaf(-n, 0.693359375f, x);
    r = fmaf(-n, -2.12194440e-4f, r);
    float p = 1.0f / 5040;
    p = fmaf(p, r, 1.0f / 720);
    p = fmaf(p, r, 1.0f / 120);
    p = fmaf(p, r, 1.0f / 24);
    p = fmaf(p, r, 1.0f / 6);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float two_n;
    memcpy(&two_n, &bits, 4);
    return under ? 0.0f : p * two_n;
}

/* y = (x - mean) / sqrt(var + eps) * g + b   (g, b may be NULL: 1 and 0); two passes (mean,
 * then the centred squares), each in tree8 partial sums. */
void est_layer_norm__ref(float *y, const float *x, const float *g, const float *b, int n, float eps) {
    const int np = (n + 7) & ~7;
    float p[8] = {0};
    for (int i = 0; i < np; i++) p[i & 7] += i < n ? x[i] : 0.0f;
    const float mean = tree8(p) / (float)n;
    for (int l = 0; l < 8; l++) p[l] = 0.0f;
    for (int i = 0; i < np; i++) {
        const float d = i < n ? x[i] - mean : 0.0f;
        p[i & 7] = fmaf(d, d, p[i & 7]);
    }
    const float var = tree8(p) / (float)n;
    const float rs = 1.0f / sqrtf(var + eps);
    for (int i = 0; i < n; i++) y[i] = fmaf((x[i] - mean) * rs, g ? g[i] : 1.0f, b ? b[i] : 0.0f);
}

/* x = softmax(scale * x) in place: e_i = exp_spec(fmaf(x_i, scale, -max)), sum in tree8 partials,
 * x_i = e_i * (1 / sum); -inf entries (masks) give 0; an all -inf row gives all 0. */
void est_softmax__ref(float *x, int n, float scale) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = fmaxf(mx, x[i] * scale);
    if (mx == -INFINITY) {
        for (int i = 0; i < n; i++) x[i] = 0.0f;
        return;
    }
    const int np = (n + 7) & ~7;
    float p[8] = {0};
    for (int i = 0; i < np; i++) {
        float e = 0.0f;
        if (i < n) e = x[i] = exp_spec(fmaf(x[i], scale, -mx));
        p[i & 7] += e;
    }
    const float is = 1.0f / tree8(p);
    for (int i = 0; i < n; i++) x[i] *= is;
}

/* y = 0.5 x (1 + erf(x / sqrt(2))) = x - h for x >= 0, h for x < 0, where h = 0.5 x erfc(z),
 * z = |x| / sqrt 2, erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2) (no cancellation in the tail). */
void est_gelu__ref(float *y, const float *x, int n) {
    for (int i = 0; i < n; i++) {
        const float z = fabsf(x[i]) * 0.70710678118654752f;
        const float t = 1.0f / fmaf(z, 0.5f, 1.0f);
        float p = 0.17087277f;
        p = fmaf(p, t, -0.82215223f);
        p = fmaf(p, t, 1.48851587f);
        p = fmaf(p, t, -1.13520398f);
        p = fmaf(p, t, 0.27886807f);
        p = fmaf(p, t, -0.18628806f);
        p = fmaf(p, t, 0.09678418f);
        p = fmaf(p, t, 0.37409196f);
        p = fmaf(p, t, 1.00002368f);
        p = fmaf(p, t, -1.26551223f);
        const float erfc = t * exp_spec(fmaf(-z, z, p));
        const float h = (x[i] * 0.5f) * erfc;
        y[i] = x[i] >= 0.0f ? x[i] - h : h;
    }
}

void est_add__ref(float *y, const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++) y[i] = a[i] + b[i];
}

/* tree8 partials of fmaf(a_i, b_i, .) */
float est_dot__ref(const float *a, const float *b, int n) {
    const int np = (n + 7) & ~7;
    float p[8] = {0};
    for (int i = 0; i < np; i++) p[i & 7] = i < n ? fmaf(a[i], b[i], p[i & 7]) : p[i & 7] + 0.0f;
    return tree8(p);
}

void est_axpy__ref(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

/* ---- attention ------------------------------------------------------------------------- */

void est_attention(const est_kernels *kt, const est_attn_args *a, int h0, int h1, float *scores) {
    const int dh = a->d_head;
    for (int h = h0; h < h1; h++) {
        for (int i = 0; i < a->m; i++) {
            const float *q = a->q + (size_t)i * a->ldq + (size_t)h * dh;   /* [dh] */
            float *o = a->out + (size_t)i * a->ldo + (size_t)h * dh;       /* [dh] */
            /* keys visible to row i: all, or up to its own absolute position */
            int nk = a->n_kv;
            if (a->causal) {
                nk = a->n_kv - a->m + 1 + i;
                if (nk < 0) nk = 0;
            }
            for (int j = 0; j < nk; j++)
                scores[j] = kt->dot(q, a->k + (size_t)j * a->ldk + (size_t)h * dh, dh);
            memset(o, 0, sizeof(float) * (size_t)dh);
            if (nk == 0) continue;
            kt->softmax(scores, nk, a->scale);
            for (int j = 0; j < nk; j++) kt->axpy(o, scores[j], a->v + (size_t)j * a->ldv + (size_t)h * dh, dh);
        }
    }
}
