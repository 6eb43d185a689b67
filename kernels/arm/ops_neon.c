/*
 * ops_neon.c - aarch64 ASIMD f32 row helpers: layer norm, softmax, exact GELU, add, dot, axpy.
 * Bit-identical to the reference (kernels/ops_ref.c states the specification) and so to
 * ops_avx2.c: each sum keeps two 4-lane accumulators (lo: t % 8 in 0..3, hi: 4..7), row tails are
 * zero-padded 8-float copies, tree8 combines them in the spec's order, exp4 / gelu4 are exp_spec /
 * the erfc fit operation by operation.  aarch64, and ARMv7-A NEON through neon_compat.h.
 */
#if defined(__aarch64__) || defined(__ARM_NEON)
#include "neon_compat.h"
#include <math.h>

#include "../kernels_impl.h"

/* Load / store the last n % 4 floats through a padded copy (pad value given). */
static inline float32x4_t ld_tail(const float *p, int r, float pad) {
    float t[4] = {pad, pad, pad, pad};
    memcpy(t, p, sizeof(float) * (size_t)r);
    return vld1q_f32(t);
}

static inline void st_tail(float *p, int r, float32x4_t v) {
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, sizeof(float) * (size_t)r);
}

/* The last r (< 8) floats at p as two vectors, padded with pad. */
static inline void ld8_tail(const float *p, int r, float pad, float32x4_t *lo, float32x4_t *hi) {
    float t[8] = {pad, pad, pad, pad, pad, pad, pad, pad};
    memcpy(t, p, sizeof(float) * (size_t)r);
    *lo = vld1q_f32(t);
    *hi = vld1q_f32(t + 4);
}

/* ((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7)) of lo = p0..3, hi = p4..7: the spec's tree8 */
static inline float tree8(float32x4_t lo, float32x4_t hi) {
    const float32x4_t s = vaddq_f32(lo, hi);
    const float32x2_t h = vadd_f32(vget_low_f32(s), vget_high_f32(s));
    return vget_lane_f32(vpadd_f32(h, h), 0);
}

/* e^x for x <= 88 (larger inputs are clamped); x < -87.33 (incl. -inf) gives 0. */
static inline float32x4_t exp4(float32x4_t x) {
    const uint32x4_t under = vcltq_f32(x, vdupq_n_f32(-87.33f));
    x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(88.0f)), vdupq_n_f32(-87.33f));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504089f));
    float32x4_t r = vfmsq_n_f32(x, n, 0.693359375f); /* ln 2 = hi + lo */
    r = vfmsq_n_f32(r, n, -2.12194440e-4f);
    float32x4_t p = vdupq_n_f32(1.0f / 5040);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 720), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    const float32x4_t v = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(v), under));
}

void est_layer_norm__neon(float *y, const float *x, const float *g, const float *b, int n, float eps) {
    const int n8 = n & ~7, r8 = n - n8;
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f), tl, th;
    for (int i = 0; i < n8; i += 8) {
        lo = vaddq_f32(lo, vld1q_f32(x + i));
        hi = vaddq_f32(hi, vld1q_f32(x + i + 4));
    }
    if (r8) {
        ld8_tail(x + n8, r8, 0.0f, &tl, &th);
        lo = vaddq_f32(lo, tl);
        hi = vaddq_f32(hi, th);
    }
    const float mean = tree8(lo, hi) / (float)n;
    const float32x4_t mv = vdupq_n_f32(mean);
    lo = vdupq_n_f32(0.0f);
    hi = vdupq_n_f32(0.0f);
    for (int i = 0; i < n8; i += 8) {
        const float32x4_t d0 = vsubq_f32(vld1q_f32(x + i), mv), d1 = vsubq_f32(vld1q_f32(x + i + 4), mv);
        lo = vfmaq_f32(lo, d0, d0);
        hi = vfmaq_f32(hi, d1, d1);
    }
    if (r8) { /* padded with the mean: the padded differences are +0 */
        ld8_tail(x + n8, r8, mean, &tl, &th);
        const float32x4_t d0 = vsubq_f32(tl, mv), d1 = vsubq_f32(th, mv);
        lo = vfmaq_f32(lo, d0, d0);
        hi = vfmaq_f32(hi, d1, d1);
    }
    const float var = tree8(lo, hi) / (float)n;
    const float rs = 1.0f / sqrtf(var + eps);
    const int nv = n & ~3, rem = n - nv;
    const float32x4_t one = vdupq_n_f32(1.0f), zero = vdupq_n_f32(0.0f);
    for (int i = 0; i < nv; i += 4) {
        const float32x4_t v = vmulq_n_f32(vsubq_f32(vld1q_f32(x + i), mv), rs);
        vst1q_f32(y + i, vfmaq_f32(b ? vld1q_f32(b + i) : zero, v, g ? vld1q_f32(g + i) : one));
    }
    if (rem) {
        const float32x4_t v = vmulq_n_f32(vsubq_f32(ld_tail(x + nv, rem, 0.0f), mv), rs);
        st_tail(y + nv, rem, vfmaq_f32(b ? ld_tail(b + nv, rem, 0.0f) : zero, v, g ? ld_tail(g + nv, rem, 0.0f) : one));
    }
}

void est_softmax__neon(float *x, int n, float scale) {
    const int nv = n & ~3, rem = n - nv;
    float32x4_t m = vdupq_n_f32(-INFINITY);
    for (int i = 0; i < nv; i += 4) m = vmaxq_f32(m, vmulq_n_f32(vld1q_f32(x + i), scale));
    if (rem) m = vmaxq_f32(m, vmulq_n_f32(ld_tail(x + nv, rem, -INFINITY), scale));
    const float mx = vmaxvq_f32(m);
    if (mx == -INFINITY) {
        for (int i = 0; i < n; i++) x[i] = 0.0f;
        return;
    }
    const float32x4_t nmv = vdupq_n_f32(-mx), sc = vdupq_n_f32(scale);
    const int n8 = n & ~7, r8 = n - n8;
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    for (int i = 0; i < n8; i += 8) { /* e = exp(fmaf(x, scale, -max)) */
        const float32x4_t e0 = exp4(vfmaq_f32(nmv, vld1q_f32(x + i), sc));
        const float32x4_t e1 = exp4(vfmaq_f32(nmv, vld1q_f32(x + i + 4), sc));
        vst1q_f32(x + i, e0);
        vst1q_f32(x + i + 4, e1);
        lo = vaddq_f32(lo, e0);
        hi = vaddq_f32(hi, e1);
    }
    if (r8) {
        float32x4_t t0, t1;
        ld8_tail(x + n8, r8, 0.0f, &t0, &t1);
        float e[8];
        vst1q_f32(e, exp4(vfmaq_f32(nmv, t0, sc)));
        vst1q_f32(e + 4, exp4(vfmaq_f32(nmv, t1, sc)));
        for (int i = r8; i < 8; i++) e[i] = 0.0f; /* padding adds +0 */
        memcpy(x + n8, e, sizeof(float) * (size_t)r8);
        lo = vaddq_f32(lo, vld1q_f32(e));
        hi = vaddq_f32(hi, vld1q_f32(e + 4));
    }
    const float is = 1.0f / tree8(lo, hi);
    for (int i = 0; i < nv; i += 4) vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), is));
    for (int i = nv; i < n; i++) x[i] *= is;
}

/* See ops_avx2.c: erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2). */
static inline float32x4_t gelu4(float32x4_t x) {
    const float32x4_t z = vmulq_n_f32(vabsq_f32(x), 0.70710678118654752f);
    const float32x4_t t = vdivq_f32(vdupq_n_f32(1.0f), vfmaq_n_f32(vdupq_n_f32(1.0f), z, 0.5f));
    float32x4_t p = vdupq_n_f32(0.17087277f);
    p = vfmaq_f32(vdupq_n_f32(-0.82215223f), p, t);
    p = vfmaq_f32(vdupq_n_f32(1.48851587f), p, t);
    p = vfmaq_f32(vdupq_n_f32(-1.13520398f), p, t);
    p = vfmaq_f32(vdupq_n_f32(0.27886807f), p, t);
    p = vfmaq_f32(vdupq_n_f32(-0.18628806f), p, t);
    p = vfmaq_f32(vdupq_n_f32(0.09678418f), p, t);
    p = vfmaq_f32(vdupq_n_f32(0.37409196f), p, t);
    p = vfmaq_f32(vdupq_n_f32(1.00002368f), p, t);
    p = vfmaq_f32(vdupq_n_f32(-1.26551223f), p, t);
    const float32x4_t erfc = vmulq_f32(t, exp4(vfmsq_f32(p, z, z)));
    const float32x4_t h = vmulq_f32(vmulq_n_f32(x, 0.5f), erfc);
    return vbslq_f32(vcgeq_f32(x, vdupq_n_f32(0.0f)), vsubq_f32(x, h), h);
}

void est_gelu__neon(float *y, const float *x, int n) {
    const int nv = n & ~3, rem = n - nv;
    for (int i = 0; i < nv; i += 4) vst1q_f32(y + i, gelu4(vld1q_f32(x + i)));
    if (rem) st_tail(y + nv, rem, gelu4(ld_tail(x + nv, rem, 0.0f)));
}

void est_add__neon(float *y, const float *a, const float *b, int n) {
    const int nv = n & ~3, rem = n - nv;
    for (int i = 0; i < nv; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    if (rem) st_tail(y + nv, rem, vaddq_f32(ld_tail(a + nv, rem, 0.0f), ld_tail(b + nv, rem, 0.0f)));
}

float est_dot__neon(const float *a, const float *b, int n) {
    const int n8 = n & ~7, r8 = n - n8;
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    for (int i = 0; i < n8; i += 8) {
        lo = vfmaq_f32(lo, vld1q_f32(a + i), vld1q_f32(b + i));
        hi = vfmaq_f32(hi, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    if (r8) {
        float32x4_t a0, a1, b0, b1;
        ld8_tail(a + n8, r8, 0.0f, &a0, &a1);
        ld8_tail(b + n8, r8, 0.0f, &b0, &b1);
        lo = vfmaq_f32(lo, a0, b0);
        hi = vfmaq_f32(hi, a1, b1);
    }
    return tree8(lo, hi);
}

void est_axpy__neon(float *y, float a, const float *x, int n) {
    const int nv = n & ~3, rem = n - nv;
    for (int i = 0; i < nv; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
    if (rem) st_tail(y + nv, rem, vfmaq_n_f32(ld_tail(y + nv, rem, 0.0f), ld_tail(x + nv, rem, 0.0f), a));
}

#endif /* __aarch64__ || __ARM_NEON */
