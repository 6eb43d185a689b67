/*
 * conv_ref.c - reference f32 kernels of conv.h (the specification; plain C, always built).
 */
#include <math.h>

#include "conv.h"

void est_silu__ref(float *y, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

void est_relu__ref(float *y, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void est_glu__ref(float *y, const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++) y[i] = a[i] / (1.0f + expf(-b[i]));
}

void est_batch_norm__ref(float *x, int n, int c, const float *mean, const float *var, const float *w,
                         const float *b, float eps) {
    for (int t = 0; t < n; t++) {
        float *r = x + (size_t)t * (size_t)c;
        for (int ch = 0; ch < c; ch++) r[ch] = (r[ch] - mean[ch]) / sqrtf(var[ch] + eps) * w[ch] + b[ch];
    }
}

void est_dwconv1d__ref(float *y, size_t ldy, const float *x, size_t ldx, int n_t, int c, const float *w,
                       int k, int pad, const float *bias) {
    for (int t = 0; t < n_t; t++) {
        float *yr = y + (size_t)t * ldy;
        for (int ch = 0; ch < c; ch++) yr[ch] = bias ? bias[ch] : 0.0f;
        for (int j = 0; j < k; j++) {
            const int s = t + j - pad;
            if (s < 0 || s >= n_t) continue;
            const float *xr = x + (size_t)s * ldx;
            for (int ch = 0; ch < c; ch++) yr[ch] += w[(size_t)ch * (size_t)k + (size_t)j] * xr[ch];
        }
    }
}

void est_conv2d_1ch_3x3s2__ref(float *y, const float *x, size_t sh, size_t sw, int h, int w, int c,
                               const float *wt, const float *bias) {
    const int ho = est_conv_s2_out(h), wo = est_conv_s2_out(w);
    for (int oh = 0; oh < ho; oh++) {
        for (int ow = 0; ow < wo; ow++) {
            float *yr = y + ((size_t)oh * (size_t)wo + (size_t)ow) * (size_t)c;
            for (int ch = 0; ch < c; ch++) yr[ch] = bias ? bias[ch] : 0.0f;
            for (int i = 0; i < 3; i++) {
                const int ih = 2 * oh + i - 1;
                if (ih < 0 || ih >= h) continue;
                for (int j = 0; j < 3; j++) {
                    const int iw = 2 * ow + j - 1;
                    if (iw < 0 || iw >= w) continue;
                    const float v = x[(size_t)ih * sh + (size_t)iw * sw];
                    for (int ch = 0; ch < c; ch++) yr[ch] += wt[(size_t)ch * 9 + (size_t)(3 * i + j)] * v;
                }
            }
        }
    }
}

void est_dwconv2d_3x3s2__ref(float *y, const float *x, int h, int w, int c, const float *wt,
                             const float *bias) {
    const int ho = est_conv_s2_out(h), wo = est_conv_s2_out(w);
    for (int oh = 0; oh < ho; oh++) {
        for (int ow = 0; ow < wo; ow++) {
            float *yr = y + ((size_t)oh * (size_t)wo + (size_t)ow) * (size_t)c;
            for (int ch = 0; ch < c; ch++) yr[ch] = bias ? bias[ch] : 0.0f;
            for (int i = 0; i < 3; i++) {
                const int ih = 2 * oh + i - 1;
                if (ih < 0 || ih >= h) continue;
                for (int j = 0; j < 3; j++) {
                    const int iw = 2 * ow + j - 1;
                    if (iw < 0 || iw >= w) continue;
                    const float *xr = x + ((size_t)ih * (size_t)w + (size_t)iw) * (size_t)c;
                    for (int ch = 0; ch < c; ch++) yr[ch] += wt[(size_t)ch * 9 + (size_t)(3 * i + j)] * xr[ch];
                }
            }
        }
    }
}
