/*
 * gemm_neondot.c - ARMv8.2 dotprod (Cortex-A76: Raspberry Pi 5) quantized matrix products
 * (kernels.h).  The f32/f16 products and the quantizer are the gemm_neon.c ones.
 *
 * GEMM, 4x8 tile over the neon_common.h packed panel: one sdot by lane per row, 4 columns and one
 * 4-k step: acc[c] += sum_t w[c][4s+t] * x[4s+t], int32 (<= 32*128*127 per block).  Q4_0 nibbles
 * u in [0,15] go through the same sdot; isum = sum(u x) - 8 * sum(x) exactly.
 * GEMV: W streamed in place, 4 columns at a time, sdot over 16 k, pairwise reductions; column
 * remainders (n % 4) go to the reference.
 */
#if defined(__aarch64__)
#include "neon_common.h"

INLINE void q_rows(const int rm, const qpanel *p, int i0, const int is_q4) {
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
        int32x4_t a0[4], a1[4];
        int8x16_t xl[4], xh[4];
        UNROLL for (int r = 0; r < rm; r++) {
            a0[r] = vdupq_n_s32(0);
            a1[r] = vdupq_n_s32(0);
            xl[r] = vld1q_s8(xs[r] + b * EST_QK);      /* steps 0..3 */
            xh[r] = vld1q_s8(xs[r] + b * EST_QK + 16); /* steps 4..7 */
        }
        const int8_t *pw = p->pq + b * 256;
#define STEP(s, xv, lane)                                                                        \
    do {                                                                                         \
        const int8x16_t w0 = vld1q_s8(pw + (s) * 32), w1 = vld1q_s8(pw + (s) * 32 + 16);         \
        UNROLL for (int r = 0; r < rm; r++) {                                                    \
            a0[r] = vdotq_laneq_s32(a0[r], w0, xv[r], lane);                                     \
            a1[r] = vdotq_laneq_s32(a1[r], w1, xv[r], lane);                                     \
        }                                                                                        \
    } while (0)
        STEP(0, xl, 0);
        STEP(1, xl, 1);
        STEP(2, xl, 2);
        STEP(3, xl, 3);
        STEP(4, xh, 0);
        STEP(5, xh, 1);
        STEP(6, xh, 2);
        STEP(7, xh, 3);
#undef STEP
        const float32x4_t d0 = vld1q_f32(p->pd + b * 8), d1 = vld1q_f32(p->pd + b * 8 + 4);
        UNROLL for (int r = 0; r < rm; r++) {
            int32x4_t i0v = a0[r], i1v = a1[r];
            if (is_q4) {
                const int32x4_t corr = vdupq_n_s32(sx[r][b] * 8);
                i0v = vsubq_s32(i0v, corr);
                i1v = vsubq_s32(i1v, corr);
            }
            f0[r] = vfmaq_f32(f0[r], vcvtq_f32_s32(i0v), vmulq_n_f32(d0, dx[r][b]));
            f1[r] = vfmaq_f32(f1[r], vcvtq_f32_s32(i1v), vmulq_n_f32(d1, dx[r][b]));
        }
    }
    UNROLL for (int r = 0; r < rm; r++) store_acc8(p, yr[r], f0[r], f1[r]);
}

#define Q8_ROWS(rm, p, i) q_rows(rm, p, i, 0)
#define Q4_ROWS(rm, p, i) q_rows(rm, p, i, 1)

void est_gemm_q8q8_4x8__neondot(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    EST_NEON_GEMM_Q(op, m0, m1, n0, n1, 0, Q8_ROWS);
}

void est_gemm_q4q8_4x8__neondot(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    EST_NEON_GEMM_Q(op, m0, m1, n0, n1, 1, Q4_ROWS);
}

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
                    pc[c] = vdotq_s32(vdotq_s32(vdupq_n_s32(0), wa, x0), wb, x1);
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

void est_gemv_q8q8_1x4__neondot(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_q(op, m0, m1, n0, n1, 0);
}

void est_gemv_q4q8_1x4__neondot(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_q(op, m0, m1, n0, n1, 1);
}

#endif /* __aarch64__ */
