/*
 * neon_common.h - pieces shared by gemm_neon.c (ARMv8.0 ASIMD) and gemm_neondot.c (ARMv8.2 sdot):
 * weight-panel packing for the quantized GEMMs, partial-panel loads/stores of Y, and the tile
 * driver.  Static inline only: each ISA file compiles its own copy with its own flags.
 *
 * Packed quantized panel (8 columns x kb blocks), the same bytes as the AVX2 kernels use:
 *   pq[b][s][c][4]  int8: Q8_0 weight / Q4_0 nibble (0..15) of column c, k = 32b + 4s + t
 *   pd[b][c]        f32 block scale of column c          (columns past nc are zero)
 * So one 16-byte load gives 4 columns x 4 k: the operand of sdot's lane form, or of smull.
 */
#ifndef EST_NEON_COMMON_H
#define EST_NEON_COMMON_H

#include "neon_compat.h"

#include "../kernels_impl.h"

#define UNROLL _Pragma("GCC unroll 16")
#define NOUNROLL _Pragma("GCC unroll 1")
#define INLINE static inline __attribute__((always_inline))

#define QKB 32   /* blocks per packed k-chunk (quantized): 8 KiB of packed weights */
#define MBLK 128 /* rows per block inside one tile call */

static inline int imin(int a, int b) { return a < b ? a : b; }

static inline int32_t ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void pack_qpanel(const est_gemm_op *op, int j0, int nc, int b0, int kb, int8_t *pq, float *pd,
                               const int is_q4) {
    const size_t bs = is_q4 ? sizeof(est_block_q4_0) : sizeof(est_block_q8_0);
    for (int c = 0; c < 8; c++) {
        if (c >= nc) {
            for (int b = 0; b < kb; b++) {
                for (int s = 0; s < 8; s++) memset(pq + b * 256 + s * 32 + c * 4, 0, 4);
                pd[b * 8 + c] = 0.0f;
            }
            continue;
        }
        const uint8_t *wr = (const uint8_t *)op->w + (size_t)(j0 + c) * op->w_stride + (size_t)b0 * bs;
        for (int b = 0; b < kb; b++, wr += bs) {
            uint8_t q[32];
            if (is_q4) {
                const uint8x16_t v = vld1q_u8(wr + 2);
                vst1q_u8(q, vandq_u8(v, vdupq_n_u8(0x0f)));
                vst1q_u8(q + 16, vshrq_n_u8(v, 4));
            } else {
                memcpy(q, wr + 2, 32);
            }
            int8_t *dst = pq + b * 256 + c * 4;
            for (int s = 0; s < 8; s++) memcpy(dst + s * 32, q + 4 * s, 4);
            pd[b * 8 + c] = vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(est_rd_u16(wr)))), 0);
        }
    }
}

/* One quantized panel being computed. */
typedef struct {
    const est_gemm_op *op;
    int j0, nc, b0, kb, first, last;
    const int8_t *pq;
    const float *pd;
} qpanel;

/* 8 accumulators of a row: 0 (first chunk) or the partial sums stored in Y. */
INLINE void load_acc8(const qpanel *p, const float *yr, float32x4_t *a0, float32x4_t *a1) {
    if (p->first) {
        *a0 = vdupq_n_f32(0.0f);
        *a1 = vdupq_n_f32(0.0f);
    } else if (p->nc == 8) {
        *a0 = vld1q_f32(yr);
        *a1 = vld1q_f32(yr + 4);
    } else {
        float t[8] = {0};
        memcpy(t, yr, sizeof(float) * (size_t)p->nc);
        *a0 = vld1q_f32(t);
        *a1 = vld1q_f32(t + 4);
    }
}

INLINE void store_acc8(const qpanel *p, float *yr, float32x4_t a0, float32x4_t a1) {
    float t[8];
    if (p->last && p->op->bias) {
        const float *bias = p->op->bias + p->j0;
        if (p->nc == 8) {
            a0 = vaddq_f32(a0, vld1q_f32(bias));
            a1 = vaddq_f32(a1, vld1q_f32(bias + 4));
        } else {
            float bt[8] = {0};
            memcpy(bt, bias, sizeof(float) * (size_t)p->nc);
            a0 = vaddq_f32(a0, vld1q_f32(bt));
            a1 = vaddq_f32(a1, vld1q_f32(bt + 4));
        }
    }
    if (p->nc == 8) {
        vst1q_f32(yr, a0);
        vst1q_f32(yr + 4, a1);
    } else {
        vst1q_f32(t, a0);
        vst1q_f32(t + 4, a1);
        memcpy(yr, t, sizeof(float) * (size_t)p->nc);
    }
}

/* The quantized GEMM tile driver: row blocks x 8-column panels x k-chunks; ROWS(rm, p, i) is the
 * micro-kernel for rm (1..4) rows starting at row i. */
#define EST_NEON_GEMM_Q(op, m0, m1, n0, n1, is_q4, ROWS)                                           \
    do {                                                                                         \
        _Alignas(64) int8_t pq_[QKB * 256];                                                      \
        _Alignas(64) float pd_[QKB * 8];                                                         \
        const int nb_ = (op)->k / EST_QK;                                                        \
        qpanel p_;                                                                               \
        p_.op = (op);                                                                            \
        p_.pq = pq_;                                                                             \
        p_.pd = pd_;                                                                             \
        for (int mb_ = (m0); mb_ < (m1); mb_ += MBLK) {                                          \
            const int me_ = imin((m1), mb_ + MBLK);                                              \
            for (int j0_ = (n0); j0_ < (n1); j0_ += 8) {                                         \
                p_.j0 = j0_;                                                                     \
                p_.nc = imin(8, (n1)-j0_);                                                       \
                for (int b0_ = 0; b0_ < nb_; b0_ += QKB) {                                       \
                    p_.b0 = b0_;                                                                 \
                    p_.kb = imin(QKB, nb_ - b0_);                                                \
                    p_.first = b0_ == 0;                                                         \
                    p_.last = b0_ + p_.kb == nb_;                                                \
                    pack_qpanel((op), j0_, p_.nc, b0_, p_.kb, pq_, pd_, (is_q4));                \
                    int i_ = mb_;                                                                \
                    for (; i_ + 4 <= me_; i_ += 4) ROWS(4, &p_, i_);                             \
                    switch (me_ - i_) {                                                          \
                    case 3: ROWS(3, &p_, i_); break;                                             \
                    case 2: ROWS(2, &p_, i_); break;                                             \
                    case 1: ROWS(1, &p_, i_); break;                                             \
                    default: break;                                                              \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    } while (0)

/* f16 scales of block b of 4 consecutive W rows, as f32. */
static inline float32x4_t gather_d4(const uint8_t *blk0, size_t ws) {
    uint16_t h[4];
    for (int c = 0; c < 4; c++) h[c] = est_rd_u16(blk0 + (size_t)c * ws);
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}

/* Pairwise reduction: lane c of the result is the sum of the lanes of v[c]. */
static inline int32x4_t hsum4_s32(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

#endif
