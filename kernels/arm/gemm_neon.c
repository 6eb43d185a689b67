/*
 * gemm_neon.c - ARMv8.0 ASIMD (Cortex-A53/A72: Raspberry Pi 3/4) matrix products and the
 * activation quantizer (kernels.h).  Also the 32-bit ARMv7-A NEON build (Pi Zero 2 W / Pi 3 on a
 * 32-bit OS): neon_compat.h supplies the AArch64-only intrinsics with the same results.
 *
 * GEMM: weights packed per 8-column panel (neon_common.h), SIMD lanes are output columns, so each
 * lane runs the reference's sequential float accumulation over blocks for its own element.
 *   Q8_0 x QX, 4x8 tile: smull + smlal of two 4-k steps in int16 (|w| <= 128, |x| <= 127: two
 *       products <= 32512), then sadalp into int32 (<= 32*128*127 per block).
 *   Q4_0 x QX, 4x8 tile: nibbles u in [0,15] (products <= 15*127), all 8 steps of a block summed in
 *       int16 (<= 15240), isum = sum(u x) - 8 * sum(x) exactly.
 *   F32/F16, 4x16 tile: W panel converted to f32 and transposed to [k][16]; fmla by lane.
 * GEMV: W streamed in place, 4 columns at a time, lanes over k, pairwise reductions; quantized
 * column remainders (n % 4) go to the reference (bit-identical), float ones run the vector code
 * on clamped rows.
 */
#if defined(__aarch64__) || defined(__ARM_NEON)
#include "neon_common.h"

#define FKC 256 /* k per packed chunk (f32/f16): 16 KiB */

/* ==== activation quantizer ================================================================ */

void est_quantize_x__neon(const float *x, size_t ldx, int m0, int m1, int k, uint8_t *xq, size_t xq_stride) {
    const int nb = k / EST_QK;
    for (int i = m0; i < m1; i++) {
        const float *xr = x + (size_t)i * ldx;       /* [k] */
        uint8_t *row = xq + (size_t)i * xq_stride;
        float *d = (float *)(row + k);               /* [nb] */
        int32_t *sum = (int32_t *)(row + k + k / 8); /* [nb] */
        for (int b = 0; b < nb; b++) {
            const float *xb = xr + b * EST_QK;
            float32x4_t v[8];
            float32x4_t m = vdupq_n_f32(0.0f);
            for (int q = 0; q < 8; q++) {
                v[q] = vld1q_f32(xb + 4 * q);
                m = vmaxnmq_f32(m, vabsq_f32(v[q])); /* maxNum: NaN ignored, as fmaxf */
            }
            const float amax = vmaxnmvq_f32(m);
            if (!(amax >= EST_QX_AMAX_MIN)) {
                memset(row + b * EST_QK, 0, EST_QK);
                d[b] = 0.0f;
                sum[b] = 0;
                continue;
            }
            const float id = 127.0f / amax;
            d[b] = amax / 127.0f;
            int32x4_t q32[8];
            int32x4_t s = vdupq_n_s32(0);
            for (int q = 0; q < 8; q++) {
                float32x4_t t = vmulq_n_f32(v[q], id);
                t = vmaxnmq_f32(t, vdupq_n_f32(-127.0f)); /* NaN -> -127, as fmaxf(NaN, -127) */
                t = vminnmq_f32(t, vdupq_n_f32(127.0f));
                q32[q] = vcvtaq_s32_f32(t); /* round to nearest, ties away: roundf */
                s = vaddq_s32(s, q32[q]);
            }
            for (int q = 0; q < 8; q += 2) {
                const int16x8_t h = vcombine_s16(vmovn_s32(q32[q]), vmovn_s32(q32[q + 1]));
                vst1_s8((int8_t *)row + b * EST_QK + 4 * q, vmovn_s16(h));
            }
            sum[b] = vaddvq_s32(s);
        }
    }
}

/* ==== quantized GEMM ====================================================================== */

INLINE void q8_rows(const int rm, const qpanel *p, int i0) {
    const est_gemm_op *op = p->op;
    const int k = op->k;
    const int8_t *xs[4];
    const float *dx[4];
    float *yr[4];
    float32x4_t f0[4], f1[4];
    UNROLL for (int r = 0; r < rm; r++) {
        const uint8_t *row = op->xq + (size_t)(i0 + r) * op->xq_stride;
        xs[r] = EST_QX_QS(row) + (size_t)p->b0 * EST_QK;
        dx[r] = EST_QX_D(row, k) + p->b0;
        yr[r] = op->y + (size_t)(i0 + r) * op->ldy + p->j0;
        load_acc8(p, yr[r], &f0[r], &f1[r]);
    }
    for (int b = 0; b < p->kb; b++) {
        int32x4_t a[4][4]; /* [row][column pair]: lanes (c, k01) (c, k23) (c+1, k01) (c+1, k23) */
        UNROLL for (int r = 0; r < rm; r++)
            UNROLL for (int c = 0; c < 4; c++) a[r][c] = vdupq_n_s32(0);
        const int8_t *pw = p->pq + b * 256;
        NOUNROLL for (int s = 0; s < 8; s += 2) {
            const int8x16_t w0 = vld1q_s8(pw + s * 32), w1 = vld1q_s8(pw + s * 32 + 16);
            const int8x16_t v0 = vld1q_s8(pw + s * 32 + 32), v1 = vld1q_s8(pw + s * 32 + 48);
            UNROLL for (int r = 0; r < rm; r++) {
                const int8x16_t xa = vreinterpretq_s8_s32(vdupq_n_s32(ld32(xs[r] + b * EST_QK + 4 * s)));
                const int8x16_t xb = vreinterpretq_s8_s32(vdupq_n_s32(ld32(xs[r] + b * EST_QK + 4 * s + 4)));
                int16x8_t t;
                t = vmlal_s8(vmull_s8(vget_low_s8(w0), vget_low_s8(xa)), vget_low_s8(v0), vget_low_s8(xb));
                a[r][0] = vpadalq_s16(a[r][0], t);
                t = vmlal_high_s8(vmull_high_s8(w0, xa), v0, xb);
                a[r][1] = vpadalq_s16(a[r][1], t);
                t = vmlal_s8(vmull_s8(vget_low_s8(w1), vget_low_s8(xa)), vget_low_s8(v1), vget_low_s8(xb));
                a[r][2] = vpadalq_s16(a[r][2], t);
                t = vmlal_high_s8(vmull_high_s8(w1, xa), v1, xb);
                a[r][3] = vpadalq_s16(a[r][3], t);
            }
        }
        const float32x4_t d0 = vld1q_f32(p->pd + b * 8), d1 = vld1q_f32(p->pd + b * 8 + 4);
        UNROLL for (int r = 0; r < rm; r++) {
            const int32x4_t i0v = vpaddq_s32(a[r][0], a[r][1]), i1v = vpaddq_s32(a[r][2], a[r][3]);
            f0[r] = vfmaq_f32(f0[r], vcvtq_f32_s32(i0v), vmulq_n_f32(d0, dx[r][b]));
            f1[r] = vfmaq_f32(f1[r], vcvtq_f32_s32(i1v), vmulq_n_f32(d1, dx[r][b]));
        }
    }
    UNROLL for (int r = 0; r < rm; r++) store_acc8(p, yr[r], f0[r], f1[r]);
}

INLINE void q4_rows(const int rm, const qpanel *p, int i0) {
    const est_gemm_op *op = p->op;
    const int k = op->k;
    const int8_t *xs[4];
    const float *dx[4];
    const int32_t *sx[4];
    float *yr[4];
    float32x4_t f0[4], f1[4];
    UNROLL for (int r = 0; r < rm; r++) {
        const uint8_t *row = op->xq + (size_t)(i0 + r) * op->xq_stride;
        xs[r] = EST_QX_QS(row) + (size_t)p->b0 * EST_QK;
        dx[r] = EST_QX_D(row, k) + p->b0;
        sx[r] = EST_QX_SUM(row, k) + p->b0;
        yr[r] = op->y + (size_t)(i0 + r) * op->ldy + p->j0;
        load_acc8(p, yr[r], &f0[r], &f1[r]);
    }
    for (int b = 0; b < p->kb; b++) {
        int16x8_t a[4][4]; /* [row][column pair]: lanes (c, k0..3) (c+1, k0..3) */
        UNROLL for (int r = 0; r < rm; r++)
            UNROLL for (int c = 0; c < 4; c++) a[r][c] = vdupq_n_s16(0);
        const int8_t *pw = p->pq + b * 256;
        NOUNROLL for (int s = 0; s < 8; s++) {
            const int8x16_t w0 = vld1q_s8(pw + s * 32), w1 = vld1q_s8(pw + s * 32 + 16);
            UNROLL for (int r = 0; r < rm; r++) {
                const int8x16_t xa = vreinterpretq_s8_s32(vdupq_n_s32(ld32(xs[r] + b * EST_QK + 4 * s)));
                a[r][0] = vmlal_s8(a[r][0], vget_low_s8(w0), vget_low_s8(xa));
                a[r][1] = vmlal_high_s8(a[r][1], w0, xa);
                a[r][2] = vmlal_s8(a[r][2], vget_low_s8(w1), vget_low_s8(xa));
                a[r][3] = vmlal_high_s8(a[r][3], w1, xa);
            }
        }
        const float32x4_t d0 = vld1q_f32(p->pd + b * 8), d1 = vld1q_f32(p->pd + b * 8 + 4);
        UNROLL for (int r = 0; r < rm; r++) {
            const int32x4_t corr = vdupq_n_s32(sx[r][b] * 8);
            const int32x4_t i0v = vsubq_s32(vpaddq_s32(vpaddlq_s16(a[r][0]), vpaddlq_s16(a[r][1])), corr);
            const int32x4_t i1v = vsubq_s32(vpaddq_s32(vpaddlq_s16(a[r][2]), vpaddlq_s16(a[r][3])), corr);
            f0[r] = vfmaq_f32(f0[r], vcvtq_f32_s32(i0v), vmulq_n_f32(d0, dx[r][b]));
            f1[r] = vfmaq_f32(f1[r], vcvtq_f32_s32(i1v), vmulq_n_f32(d1, dx[r][b]));
        }
    }
    UNROLL for (int r = 0; r < rm; r++) store_acc8(p, yr[r], f0[r], f1[r]);
}

void est_gemm_q8q8_4x8__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    EST_NEON_GEMM_Q(op, m0, m1, n0, n1, 0, q8_rows);
}

void est_gemm_q4q8_4x8__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    EST_NEON_GEMM_Q(op, m0, m1, n0, n1, 1, q4_rows);
}

/* ==== f32 / f16 GEMM ====================================================================== */
/* Packed panel: pw[t][16] f32, columns j0..j0+15 (zero past nc) for k = k0 + t. */

static inline float32x4_t ld4w(const uint8_t *p, const int is_f16) {
    return is_f16 ? vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(const void *)p)))
                  : vld1q_f32((const float *)(const void *)p);
}

INLINE void pack_f(const est_gemm_op *op, int j0, int nc, int k0, int kc, float *pw, const int is_f16) {
    const int es = is_f16 ? 2 : 4;
    for (int g = 0; g < 4; g++) { /* 4 columns at a time */
        const uint8_t *wr[4];
        for (int c = 0; c < 4; c++) {
            const int cc = 4 * g + c;
            wr[c] = cc < nc ? (const uint8_t *)op->w + (size_t)(j0 + cc) * op->w_stride + (size_t)k0 * es : NULL;
        }
        int t = 0;
        for (; t + 4 <= kc; t += 4) {
            float32x4_t r[4];
            for (int c = 0; c < 4; c++) r[c] = wr[c] ? ld4w(wr[c] + (size_t)t * es, is_f16) : vdupq_n_f32(0.0f);
            const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
            const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
            float *o = pw + (size_t)t * 16 + 4 * g;
            vst1q_f32(o, est_zip_lo64_f32(t0, t2));
            vst1q_f32(o + 16, est_zip_lo64_f32(t1, t3));
            vst1q_f32(o + 32, est_zip_hi64_f32(t0, t2));
            vst1q_f32(o + 48, est_zip_hi64_f32(t1, t3));
        }
        for (; t < kc; t++) {
            for (int c = 0; c < 4; c++) {
                float v = 0.0f;
                if (wr[c])
                    v = is_f16 ? vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(est_rd_u16(wr[c] + 2 * (size_t)t)))), 0)
                               : est_rd_f32(wr[c] + 4 * (size_t)t);
                pw[(size_t)t * 16 + 4 * g + c] = v;
            }
        }
    }
}

typedef struct {
    const est_gemm_op *op;
    int j0, nc, k0, kc, first, last;
    const float *pw;
} fpanel;

INLINE void f_rows(const int rm, const fpanel *p, int i0) {
    const est_gemm_op *op = p->op;
    const float *xr[4];
    float *yr[4];
    float32x4_t a[4][4];
    const int full = p->nc == 16;
    UNROLL for (int r = 0; r < rm; r++) {
        xr[r] = op->x + (size_t)(i0 + r) * op->ldx + p->k0;
        yr[r] = op->y + (size_t)(i0 + r) * op->ldy + p->j0;
        float t[16] = {0};
        const float *src = yr[r];
        if (!p->first && !full) {
            memcpy(t, yr[r], sizeof(float) * (size_t)p->nc);
            src = t;
        }
        UNROLL for (int c = 0; c < 4; c++) a[r][c] = p->first ? vdupq_n_f32(0.0f) : vld1q_f32(src + 4 * c);
    }
    const float *pw = p->pw;
    const int kc4 = p->kc & ~3;
    int t = 0;
    for (; t < kc4; t += 4) {
        float32x4_t xv[4];
        UNROLL for (int r = 0; r < rm; r++) xv[r] = vld1q_f32(xr[r] + t);
        UNROLL for (int l = 0; l < 4; l++) {
            const float *w = pw + (size_t)(t + l) * 16;
            const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4), w2 = vld1q_f32(w + 8), w3 = vld1q_f32(w + 12);
            UNROLL for (int r = 0; r < rm; r++) {
                a[r][0] = vfmaq_laneq_f32(a[r][0], w0, xv[r], l);
                a[r][1] = vfmaq_laneq_f32(a[r][1], w1, xv[r], l);
                a[r][2] = vfmaq_laneq_f32(a[r][2], w2, xv[r], l);
                a[r][3] = vfmaq_laneq_f32(a[r][3], w3, xv[r], l);
            }
        }
    }
    for (; t < p->kc; t++) { /* k % 4 (the packed panel holds them; x is read as scalars) */
        const float *w = pw + (size_t)t * 16;
        const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4), w2 = vld1q_f32(w + 8), w3 = vld1q_f32(w + 12);
        UNROLL for (int r = 0; r < rm; r++) {
            a[r][0] = vfmaq_n_f32(a[r][0], w0, xr[r][t]);
            a[r][1] = vfmaq_n_f32(a[r][1], w1, xr[r][t]);
            a[r][2] = vfmaq_n_f32(a[r][2], w2, xr[r][t]);
            a[r][3] = vfmaq_n_f32(a[r][3], w3, xr[r][t]);
        }
    }
    float bt[16] = {0};
    const int add_bias = p->last && op->bias;
    if (add_bias) memcpy(bt, op->bias + p->j0, sizeof(float) * (size_t)p->nc);
    UNROLL for (int r = 0; r < rm; r++) {
        float t16[16];
        float *dst = full ? yr[r] : t16;
        UNROLL for (int c = 0; c < 4; c++) {
            float32x4_t v = a[r][c];
            if (add_bias) v = vaddq_f32(v, vld1q_f32(bt + 4 * c));
            vst1q_f32(dst + 4 * c, v);
        }
        if (!full) memcpy(yr[r], t16, sizeof(float) * (size_t)p->nc);
    }
}

INLINE void gemm_f(const est_gemm_op *op, int m0, int m1, int n0, int n1, const int is_f16) {
    _Alignas(64) float pw[FKC * 16];
    const int k = op->k;
    fpanel p;
    p.op = op;
    p.pw = pw;
    for (int mb = m0; mb < m1; mb += MBLK) {
        const int me = imin(m1, mb + MBLK);
        for (int j0 = n0; j0 < n1; j0 += 16) {
            p.j0 = j0;
            p.nc = imin(16, n1 - j0);
            for (int k0 = 0; k0 < k; k0 += FKC) {
                p.k0 = k0;
                p.kc = imin(FKC, k - k0);
                p.first = k0 == 0;
                p.last = k0 + p.kc == k;
                pack_f(op, j0, p.nc, k0, p.kc, pw, is_f16);
                int i = mb;
                for (; i + 4 <= me; i += 4) f_rows(4, &p, i);
                switch (me - i) {
                case 3: f_rows(3, &p, i); break;
                case 2: f_rows(2, &p, i); break;
                case 1: f_rows(1, &p, i); break;
                default: break;
                }
            }
        }
    }
}

void est_gemm_f32_4x16__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemm_f(op, m0, m1, n0, n1, 0);
}

void est_gemm_f16_4x16__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemm_f(op, m0, m1, n0, n1, 1);
}

/* ==== GEMV ================================================================================ */

INLINE void gemv_q(const est_gemm_op *op, int m0, int m1, int n0, int n1, const int is_q4) {
    const int k = op->k, nb = k / EST_QK;
    const size_t bs = is_q4 ? sizeof(est_block_q4_0) : sizeof(est_block_q8_0), ws = op->w_stride;
    int j0 = n0;
    for (; j0 + 4 <= n1; j0 += 4) {
        const uint8_t *w0 = (const uint8_t *)op->w + (size_t)j0 * ws;
        for (int i = m0; i < m1; i++) {
            const uint8_t *row = op->xq + (size_t)i * op->xq_stride;
            const int8_t *xs = EST_QX_QS(row);
            const float *dx = EST_QX_D(row, k);
            const int32_t *sx = EST_QX_SUM(row, k);
            float32x4_t acc = vdupq_n_f32(0.0f);
            for (int b = 0; b < nb; b++) {
                const int8x16_t x0 = vld1q_s8(xs + b * EST_QK), x1 = vld1q_s8(xs + b * EST_QK + 16);
                const uint8_t *blk = w0 + (size_t)b * bs;
                int32x4_t pc[4];
                UNROLL for (int c = 0; c < 4; c++) {
                    const uint8_t *q = blk + (size_t)c * ws + 2;
                    int8x16_t wa, wb;
                    if (is_q4) {
                        const uint8x16_t v = vld1q_u8(q);
                        wa = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f)));
                        wb = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
                    } else {
                        wa = vld1q_s8((const int8_t *)q);
                        wb = vld1q_s8((const int8_t *)q + 16);
                    }
                    int16x8_t t0 = vmlal_high_s8(vmull_s8(vget_low_s8(wa), vget_low_s8(x0)), wa, x0);
                    int16x8_t t1 = vmlal_high_s8(vmull_s8(vget_low_s8(wb), vget_low_s8(x1)), wb, x1);
                    pc[c] = vpadalq_s16(vpaddlq_s16(t0), t1);
                }
                int32x4_t isum = hsum4_s32(pc[0], pc[1], pc[2], pc[3]);
                if (is_q4) isum = vsubq_s32(isum, vdupq_n_s32(sx[b] * 8));
                acc = vfmaq_f32(acc, vcvtq_f32_s32(isum), vmulq_n_f32(gather_d4(blk, ws), dx[b]));
            }
            if (op->bias) acc = vaddq_f32(acc, vld1q_f32(op->bias + j0));
            vst1q_f32(op->y + (size_t)i * op->ldy + j0, acc);
        }
    }
    if (j0 < n1) {
        if (is_q4) est_gemm_q4q8__ref(op, m0, m1, j0, n1);
        else est_gemm_q8q8__ref(op, m0, m1, j0, n1);
    }
}

void est_gemv_q8q8_1x4__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_q(op, m0, m1, n0, n1, 0);
}

void est_gemv_q4q8_1x4__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_q(op, m0, m1, n0, n1, 1);
}

/* Float GEMV in the specification's GEMV order (kernels.h): per output two 4-lane accumulators,
 * lo = partials t % 8 in 0..3, hi = 4..7, stepping k by 8 (the k % 8 tail through zero-padded
 * copies), then ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)) by two pairwise adds; a tile is
 * rm (1 or 2) rows x 4 columns (8 or 16 accumulators), each converted weight vector feeding rm
 * FMAs.  Columns past the group's valid count use the last valid row (results not stored), so
 * every output is computed identically wherever a tile or group boundary falls. */
INLINE void gemv_f_tile(const int rm, const est_gemm_op *op, int i0, int j0, int nv, const uint8_t *const *wr,
                        const int is_f16) {
    const int k = op->k, k8 = k & ~7, rem = k - k8;
    const size_t es = is_f16 ? 2 : 4;
    const float *xr[2];
    float32x4_t lo[2][4], hi[2][4];
    UNROLL for (int r = 0; r < rm; r++) {
        xr[r] = op->x + (size_t)(i0 + r) * op->ldx;
        UNROLL for (int c = 0; c < 4; c++) lo[r][c] = hi[r][c] = vdupq_n_f32(0.0f);
    }
    for (int t = 0; t < k8; t += 8) {
        float32x4_t x0[2], x1[2];
        UNROLL for (int r = 0; r < rm; r++) {
            x0[r] = vld1q_f32(xr[r] + t);
            x1[r] = vld1q_f32(xr[r] + t + 4);
        }
        UNROLL for (int c = 0; c < 4; c++) {
            const float32x4_t w0 = ld4w(wr[c] + (size_t)t * es, is_f16), w1 = ld4w(wr[c] + (size_t)(t + 4) * es, is_f16);
            UNROLL for (int r = 0; r < rm; r++) {
                lo[r][c] = vfmaq_f32(lo[r][c], x0[r], w0);
                hi[r][c] = vfmaq_f32(hi[r][c], x1[r], w1);
            }
        }
    }
    if (rem) { /* last k % 8: zero-padded copies (the padded products are +0) */
        float32x4_t x0[2], x1[2];
        UNROLL for (int r = 0; r < rm; r++) {
            float xt[8] = {0};
            memcpy(xt, xr[r] + k8, sizeof(float) * (size_t)rem);
            x0[r] = vld1q_f32(xt);
            x1[r] = vld1q_f32(xt + 4);
        }
        UNROLL for (int c = 0; c < 4; c++) {
            uint8_t wt[32] = {0};
            memcpy(wt, wr[c] + (size_t)k8 * es, (size_t)rem * es);
            const float32x4_t w0 = ld4w(wt, is_f16), w1 = ld4w(wt + 4 * es, is_f16);
            UNROLL for (int r = 0; r < rm; r++) {
                lo[r][c] = vfmaq_f32(lo[r][c], x0[r], w0);
                hi[r][c] = vfmaq_f32(hi[r][c], x1[r], w1);
            }
        }
    }
    UNROLL for (int r = 0; r < rm; r++) {
        /* a_c = [p0+p1, p2+p3, p4+p5, p6+p7]; then [(..)+(..) lo half, hi half] of two columns */
        const float32x4_t a01 = vpaddq_f32(vpaddq_f32(lo[r][0], hi[r][0]), vpaddq_f32(lo[r][1], hi[r][1]));
        const float32x4_t a23 = vpaddq_f32(vpaddq_f32(lo[r][2], hi[r][2]), vpaddq_f32(lo[r][3], hi[r][3]));
        float t4[4];
        vst1q_f32(t4, vpaddq_f32(a01, a23));
        float *yr = op->y + (size_t)(i0 + r) * op->ldy + j0;
        for (int c = 0; c < nv; c++) yr[c] = op->bias ? t4[c] + op->bias[j0 + c] : t4[c];
    }
}

INLINE void gemv_f_rows(const int rm, const est_gemm_op *op, int i0, int n0, int n1, const int is_f16) {
    for (int j0 = n0; j0 < n1; j0 += 4) {
        const uint8_t *wr[4];
        for (int c = 0; c < 4; c++) wr[c] = (const uint8_t *)op->w + (size_t)imin(j0 + c, n1 - 1) * op->w_stride;
        gemv_f_tile(rm, op, i0, j0, imin(4, n1 - j0), wr, is_f16);
    }
}

INLINE void gemv_f(const est_gemm_op *op, int m0, int m1, int n0, int n1, const int is_f16) {
    int i = m0;
    for (; i + 2 <= m1; i += 2) gemv_f_rows(2, op, i, n0, n1, is_f16);
    if (i < m1) gemv_f_rows(1, op, i, n0, n1, is_f16);
}

void est_gemv_f32_1x4__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_f(op, m0, m1, n0, n1, 0);
}

void est_gemv_f16_1x4__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_f(op, m0, m1, n0, n1, 1);
}

#endif /* __aarch64__ || __ARM_NEON */
