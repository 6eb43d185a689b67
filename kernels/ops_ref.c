/*
 * ops_ref.c - reference f32 row helpers the models need: layer norm, softmax, exact GELU, add.
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

/* y = 0.5 x (1 + erf(x / sqrt(2))) */
void est_gelu__ref(float *y, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void est_add__ref(float *y, const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++) y[i] = a[i] + b[i];
}
