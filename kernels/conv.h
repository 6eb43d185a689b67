/*
 * conv.h - f32 reference kernels for convolutional encoders (FastConformer / Parakeet): Swish,
 * GLU, ReLU, depthwise conv1d over time, the 3x3 stride-2 convolutions of depthwise-striding
 * subsampling, and eval-mode batch norm.  Plain C (__ref), the specification any SIMD variant
 * must match; kernels/conv_ref.c.
 *
 * Layouts are channels-last: a [T][C] sequence has C contiguous floats per frame; a [H][W][C]
 * image has C contiguous floats per pixel.  Outputs never alias inputs unless a kernel says so.
 * Every sum runs in float in the order stated, starting from the bias (or +0.0f).
 */
#ifndef EST_CONV_H
#define EST_CONV_H

#include "../core/internal.h"

/* y = x * sigmoid(x) = x / (1 + exp(-x)) (n elements; y == x allowed). */
EST_HIDDEN void est_silu__ref(float *y, const float *x, int n);
/* y = max(x, 0) (y == x allowed). */
EST_HIDDEN void est_relu__ref(float *y, const float *x, int n);
/* Gated linear unit: y[i] = a[i] * sigmoid(b[i]) (y == a allowed). */
EST_HIDDEN void est_glu__ref(float *y, const float *a, const float *b, int n);
/* Eval batch norm over [n][c] channels-last rows, in place:
 * x = (x - mean[ch]) / sqrtf(var[ch] + eps) * w[ch] + b[ch]. */
EST_HIDDEN void est_batch_norm__ref(float *x, int n, int c, const float *mean, const float *var,
                                    const float *w, const float *b, float eps);
/* Depthwise conv1d over time, zero padded: y[t][c] = bias[c] + sum_{j<k} w[c][j] * x[t + j - pad][c]
 * (terms in j order; x rows outside [0, n_t) are zero).  x, y: [n_t][c] (row strides ldx, ldy);
 * w: [c][k]; bias may be NULL. */
EST_HIDDEN void est_dwconv1d__ref(float *y, size_t ldy, const float *x, size_t ldx, int n_t, int c,
                                  const float *w, int k, int pad, const float *bias);
/* Output size of a 3x3 stride-2 padding-1 convolution along one axis: (n - 1) / 2 + 1. */
static inline int est_conv_s2_out(int n) { return n < 1 ? 0 : (n - 1) / 2 + 1; }
/* Conv2d(1 -> c, 3x3, stride 2, padding 1) of a single-channel image in(h, w) = x[h * sh + w * sw]
 * (any strides, so a [mels][frames] spectrogram reads as time x frequency): y [ho][wo][c],
 * y = bias[ch] + sum over (i, j) in row-major order of wt[ch][i][j] * in(2 ho + i - 1, 2 wo + j - 1).
 * wt: [c][3][3]; bias may be NULL. */
EST_HIDDEN void est_conv2d_1ch_3x3s2__ref(float *y, const float *x, size_t sh, size_t sw, int h, int w,
                                          int c, const float *wt, const float *bias);
/* Depthwise Conv2d(c -> c, groups c, 3x3, stride 2, padding 1): x [h][w][c] -> y [ho][wo][c], same
 * sum order as above.  wt: [c][3][3]; bias may be NULL. */
EST_HIDDEN void est_dwconv2d_3x3s2__ref(float *y, const float *x, int h, int w, int c, const float *wt,
                                        const float *bias);

#endif
