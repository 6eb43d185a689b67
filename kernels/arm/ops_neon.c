/*
 * ops_neon.c - aarch64 ASIMD f32 row helpers: layer norm, softmax, exact GELU, add, dot, axpy.
 * Same algorithms as ops_avx2.c (reordered sums, degree-7 exp, Numerical Recipes erfc); row tails
 * go through a zero-padded 4-float copy.  aarch64 only for now.
 */
#if defined(__aarch64__)
#include <arm_neon.h>
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
    const int nv = n & ~3, rem = n - nv;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 8 <= nv; i += 8) {
        s0 = vaddq_f32(s0, vld1q_f32(x + i));
        s1 = vaddq_f32(s1, vld1q_f32(x + i + 4));
    }
    for (; i < nv; i += 4) s0 = vaddq_f32(s0, vld1q_f32(x + i));
    if (rem) s1 = vaddq_f32(s1, ld_tail(x + nv, rem, 0.0f));
    const float mean = vaddvq_f32(vaddq_f32(s0, s1)) / (float)n;
    s0 = vdupq_n_f32(0.0f);
    s1 = vdupq_n_f32(0.0f);
    for (i = 0; i + 8 <= nv; i += 8) {
        const float32x4_t d0 = vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(mean));
        const float32x4_t d1 = vsubq_f32(vld1q_f32(x + i + 4), vdupq_n_f32(mean));
        s0 = vfmaq_f32(s0, d0, d0);
        s1 = vfmaq_f32(s1, d1, d1);
    }
    for (; i < nv; i += 4) {
        const float32x4_t d0 = vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(mean));
        s0 = vfmaq_f32(s0, d0, d0);
    }
    if (rem) {
        const float32x4_t d1 = vsubq_f32(ld_tail(x + nv, rem, mean), vdupq_n_f32(mean)); /* pad: 0 */
        s1 = vfmaq_f32(s1, d1, d1);
    }
    const float var = vaddvq_f32(vaddq_f32(s0, s1)) / (float)n;
    const float rs = 1.0f / sqrtf(var + eps);
    for (i = 0; i < nv; i += 4) {
        float32x4_t v = vmulq_n_f32(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(mean)), rs);
        if (g) v = vmulq_f32(v, vld1q_f32(g + i));
        if (b) v = vaddq_f32(v, vld1q_f32(b + i));
        vst1q_f32(y + i, v);
    }
    if (rem) {
        float32x4_t v = vmulq_n_f32(vsubq_f32(ld_tail(x + nv, rem, 0.0f), vdupq_n_f32(mean)), rs);
        if (g) v = vmulq_f32(v, ld_tail(g + nv, rem, 0.0f));
        if (b) v = vaddq_f32(v, ld_tail(b + nv, rem, 0.0f));
        st_tail(y + nv, rem, v);
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
    const float32x4_t mv = vdupq_n_f32(mx);
    float32x4_t s = vdupq_n_f32(0.0f);
    for (int i = 0; i < nv; i += 4) {
        const float32x4_t e = exp4(vsubq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), mv));
        vst1q_f32(x + i, e);
        s = vaddq_f32(s, e);
    }
    if (rem) {
        const float32x4_t e = exp4(vsubq_f32(vmulq_n_f32(ld_tail(x + nv, rem, -INFINITY), scale), mv));
        st_tail(x + nv, rem, e);
        s = vaddq_f32(s, e); /* padded lanes: exp(-inf) = 0 */
    }
    const float is = 1.0f / vaddvq_f32(s);
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
    const int nv = n & ~3, rem = n - nv;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 8 <= nv; i += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    for (; i < nv; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    if (rem) s1 = vfmaq_f32(s1, ld_tail(a + nv, rem, 0.0f), ld_tail(b + nv, rem, 0.0f));
    return vaddvq_f32(vaddq_f32(s0, s1));
}

void est_axpy__neon(float *y, float a, const float *x, int n) {
    const int nv = n & ~3, rem = n - nv;
    for (int i = 0; i < nv; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
    if (rem) st_tail(y + nv, rem, vfmaq_n_f32(ld_tail(y + nv, rem, 0.0f), ld_tail(x + nv, rem, 0.0f), a));
}

#endif /* __aarch64__ */
