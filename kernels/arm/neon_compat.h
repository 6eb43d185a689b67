/*
 * neon_compat.h - the AArch64-only ASIMD intrinsics the NEON kernels use, written with ARMv7-A
 * NEON (+VFPv4 fused multiply-add, +fp16 conversions) for the 32-bit build (Pi Zero 2 W / Pi 3 on
 * a 32-bit OS).  On aarch64 this header only defines the two helpers both builds share.
 *
 * Every replacement computes the same bits as the AArch64 instruction it stands for on the values
 * the kernels give it: integer ops exactly; vaddvq_f32 as FADDP does ((v0 + v1) + (v2 + v3));
 * maxNum/minNum with NaN handling; round-to-nearest (even / ties away) exactly for |v| < 2^22;
 * division lane by lane in IEEE single precision.  One difference is inherent: ARMv7 NEON
 * arithmetic flushes subnormal inputs and results to zero (the kernels' tests use normal values).
 */
#ifndef EST_NEON_COMPAT_H
#define EST_NEON_COMPAT_H

#include <arm_neon.h>

#if defined(__aarch64__)

/* [a.lo64, b.lo64] and [a.hi64, b.hi64] of two f32x4 (the 64-bit halves as units). */
static inline float32x4_t est_zip_lo64_f32(float32x4_t a, float32x4_t b) {
    return vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(b)));
}
static inline float32x4_t est_zip_hi64_f32(float32x4_t a, float32x4_t b) {
    return vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(b)));
}

#else /* ARMv7-A NEON */

static inline float32x4_t est_zip_lo64_f32(float32x4_t a, float32x4_t b) {
    return vcombine_f32(vget_low_f32(a), vget_low_f32(b));
}
static inline float32x4_t est_zip_hi64_f32(float32x4_t a, float32x4_t b) {
    return vcombine_f32(vget_high_f32(a), vget_high_f32(b));
}

/* pairwise adds across two vectors: [a0+a1, a2+a3, b0+b1, b2+b3] */
static inline int32x4_t est_v7_vpaddq_s32(int32x4_t a, int32x4_t b) {
    return vcombine_s32(vpadd_s32(vget_low_s32(a), vget_high_s32(a)), vpadd_s32(vget_low_s32(b), vget_high_s32(b)));
}
static inline float32x4_t est_v7_vpaddq_f32(float32x4_t a, float32x4_t b) {
    return vcombine_f32(vpadd_f32(vget_low_f32(a), vget_high_f32(a)), vpadd_f32(vget_low_f32(b), vget_high_f32(b)));
}
/* across-vector sums: (v0 + v1) + (v2 + v3), FADDP's order */
static inline float est_v7_vaddvq_f32(float32x4_t v) {
    const float32x2_t p = vpadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(vpadd_f32(p, p), 0);
}
static inline int32_t est_v7_vaddvq_s32(int32x4_t v) {
    const int32x2_t p = vpadd_s32(vget_low_s32(v), vget_high_s32(v));
    return vget_lane_s32(vpadd_s32(p, p), 0);
}
/* IEEE maxNum / minNum: a NaN operand loses to a number */
static inline float32x4_t est_v7_vmaxnmq_f32(float32x4_t a, float32x4_t b) {
    float32x4_t r = vmaxq_f32(a, b);
    r = vbslq_f32(vceqq_f32(a, a), r, b);
    return vbslq_f32(vceqq_f32(b, b), r, a);
}
static inline float32x4_t est_v7_vminnmq_f32(float32x4_t a, float32x4_t b) {
    float32x4_t r = vminq_f32(a, b);
    r = vbslq_f32(vceqq_f32(a, a), r, b);
    return vbslq_f32(vceqq_f32(b, b), r, a);
}
static inline float est_v7_maxnm(float a, float b) { return a != a ? b : b != b ? a : a > b ? a : b; }
static inline float est_v7_vmaxnmvq_f32(float32x4_t v) {
    return est_v7_maxnm(est_v7_maxnm(vgetq_lane_f32(v, 0), vgetq_lane_f32(v, 1)),
                        est_v7_maxnm(vgetq_lane_f32(v, 2), vgetq_lane_f32(v, 3)));
}
static inline float est_v7_vmaxvq_f32(float32x4_t v) {
    const float32x2_t p = vpmax_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(vpmax_f32(p, p), 0);
}
/* round to nearest, ties to even (|v| < 2^22): the 1.5 * 2^23 trick is exact there */
static inline float32x4_t est_v7_vrndnq_f32(float32x4_t v) {
    const float32x4_t magic = vdupq_n_f32(12582912.0f);
    return vsubq_f32(vaddq_f32(v, magic), magic);
}
/* round to nearest, ties away from zero, to int32 (|v| <= 2^22): t = trunc(v) and v - t are exact */
static inline int32x4_t est_v7_vcvtaq_s32_f32(float32x4_t v) {
    const int32x4_t ti = vcvtq_s32_f32(v);
    const float32x4_t f = vabsq_f32(vsubq_f32(v, vcvtq_f32_s32(ti)));
    const uint32x4_t up = vcgeq_f32(f, vdupq_n_f32(0.5f));
    const int32x4_t sgn = vorrq_s32(vshrq_n_s32(vreinterpretq_s32_f32(v), 31), vdupq_n_s32(1)); /* -1 or +1 */
    return vaddq_s32(ti, vandq_s32(sgn, vreinterpretq_s32_u32(up)));
}
static inline float32x4_t est_v7_vdivq_f32(float32x4_t a, float32x4_t b) {
    float x[4], y[4];
    vst1q_f32(x, a);
    vst1q_f32(y, b);
    for (int i = 0; i < 4; i++) x[i] /= y[i];
    return vld1q_f32(x);
}

#define vpaddq_s32 est_v7_vpaddq_s32
#define vpaddq_f32 est_v7_vpaddq_f32
#define vaddvq_f32 est_v7_vaddvq_f32
#define vaddvq_s32 est_v7_vaddvq_s32
#define vmaxnmq_f32 est_v7_vmaxnmq_f32
#define vminnmq_f32 est_v7_vminnmq_f32
#define vmaxnmvq_f32 est_v7_vmaxnmvq_f32
#define vmaxvq_f32 est_v7_vmaxvq_f32
#define vrndnq_f32 est_v7_vrndnq_f32
#define vcvtaq_s32_f32 est_v7_vcvtaq_s32_f32
#define vdivq_f32 est_v7_vdivq_f32
#define vfmaq_n_f32(a, b, n) vfmaq_f32((a), (b), vdupq_n_f32(n))
#define vfmsq_n_f32(a, b, n) vfmsq_f32((a), (b), vdupq_n_f32(n))
#define vfmaq_laneq_f32(a, b, v, l) vfmaq_f32((a), (b), vdupq_n_f32(vgetq_lane_f32((v), (l))))
#define vmull_high_s8(a, b) vmull_s8(vget_high_s8(a), vget_high_s8(b))
#define vmlal_high_s8(acc, a, b) vmlal_s8((acc), vget_high_s8(a), vget_high_s8(b))
#define vtrn1q_f32(a, b) (vtrnq_f32((a), (b)).val[0])
#define vtrn2q_f32(a, b) (vtrnq_f32((a), (b)).val[1])

#endif /* __aarch64__ */
#endif
