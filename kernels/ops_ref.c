/*
 * ops_ref.c - reference f32 row helpers the models need: layer norm, softmax, exact GELU, add,
 * dot, axpy, and the attention helper (generic over a kernel table).
 * Plain C, always built; the SIMD versions approximate these within the bounds tests/test_kernels.c
 * states (they may reorder sums and use polynomial exp/erf).
 */
#include <math.h>

#include "kernels_impl.h"

/* y = (x - mean) / sqrt(var + eps) * g + b   (g, b may be NULL: 1 and 0) */
void est_layer_norm__ref(float *y, const float *x, const float *g, const float *b, int n, float eps) {
    float mean = 0.0f, var = 0.0f;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= (float)n;
    for (int i = 0; i < n; i++) {
        const float d = x[i] - mean;
        var += d * d;
    }
    var /= (float)n;
    const float rs = 1.0f / sqrtf(var + eps);
    for (int i = 0; i < n; i++) {
        float v = (x[i] - mean) * rs;
        if (g) v *= g[i];
        if (b) v += b[i];
        y[i] = v;
    }
}

/* x = softmax(scale * x) in place; -inf entries (masks) give 0; an all -inf row gives all 0. */
void est_softmax__ref(float *x, int n, float scale) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = fmaxf(mx, x[i] * scale);
    if (mx == -INFINITY) {
        for (int i = 0; i < n; i++) x[i] = 0.0f;
        return;
    }
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] * scale - mx);
        sum += x[i];
    }
    const float is = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= is;
}

/* y = 0.5 x (1 + erf(x / sqrt(2))); for x < 0 written 0.5 x erfc(-x / sqrt(2)), which avoids the
 * cancellation of 1 + erf (same function, full relative accuracy in the tail). */
void est_gelu__ref(float *y, const float *x, int n) {
    for (int i = 0; i < n; i++) {
        const float z = x[i] * 0.70710678118654752f;
        y[i] = x[i] >= 0.0f ? 0.5f * x[i] * (1.0f + erff(z)) : 0.5f * x[i] * erfcf(-z);
    }
}

void est_add__ref(float *y, const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++) y[i] = a[i] + b[i];
}

float est_dot__ref(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void est_axpy__ref(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
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
