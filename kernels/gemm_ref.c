/*
 * gemm_ref.c - the reference activation quantizer and matrix products: plain C, always built, the
 * specification every SIMD variant follows (kernels.h states the QX layout and the exact float
 * accumulation order of every product).  These also serve the SIMD variants' remainders.
 *
 * Every fused multiply-add of the specification is written as fmaf() so that no compiler
 * contraction setting can change a rounding; products that must round on their own (dw * dx) are
 * separate statements.
 */
#include <math.h>

#include "kernels_impl.h"

/* Round half away from zero after clamping to [-127, 127]; NaN clamps to -127 exactly like the
 * SIMD max/min sequence (max(v, -127) returns -127 for NaN, then min keeps it). */
static int8_t quant_one(float v) {
    v = fmaxf(v, -127.0f);
    v = fminf(v, 127.0f);
    return (int8_t)roundf(v);
}

void est_quantize_x__ref(const float *x, size_t ldx, int m0, int m1, int k, uint8_t *xq,
                         size_t xq_stride) {
    const int nb = k / EST_QK;
    for (int i = m0; i < m1; i++) {
        const float *xr = x + (size_t)i * ldx;          /* [k] */
        uint8_t *row = xq + (size_t)i * xq_stride;
        int8_t *qs = (int8_t *)row;                      /* [k] */
        float *d = (float *)(row + k);                   /* [nb] */
        int32_t *sum = (int32_t *)(row + k + k / 8);     /* [nb] */
        for (int b = 0; b < nb; b++) {
            const float *xb = xr + b * EST_QK;
            float amax = 0.0f;
            for (int t = 0; t < EST_QK; t++) amax = fmaxf(amax, fabsf(xb[t]));
            int32_t s = 0;
            if (!(amax >= EST_QX_AMAX_MIN)) {
                memset(qs + b * EST_QK, 0, EST_QK);
                d[b] = 0.0f;
            } else {
                const float id = 127.0f / amax;
                d[b] = amax / 127.0f;
                for (int t = 0; t < EST_QK; t++) {
                    const float v = xb[t] * id;
                    const int8_t q = quant_one(v);
                    qs[b * EST_QK + t] = q;
                    s += q;
                }
            }
            sum[b] = s;
        }
    }
}

/* y = acc (+ bias[j]) */
static inline float finish(const est_gemm_op *op, int j, float acc) {
    return op->bias ? acc + op->bias[j] : acc;
}

void est_gemm_q8q8__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    const int k = op->k, nb = k / EST_QK;
    for (int i = m0; i < m1; i++) {
        const uint8_t *xr = op->xq + (size_t)i * op->xq_stride;
        const int8_t *qx = EST_QX_QS(xr);  /* [k] */
        const float *dx = EST_QX_D(xr, k); /* [nb] */
        for (int j = n0; j < n1; j++) {
            const uint8_t *wr = (const uint8_t *)op->w + (size_t)j * op->w_stride; /* [nb] blocks */
            float acc = 0.0f;
            for (int b = 0; b < nb; b++) {
                const uint8_t *blk = wr + (size_t)b * sizeof(est_block_q8_0);
                const int8_t *qw = (const int8_t *)(blk + 2);
                int32_t isum = 0;
                for (int t = 0; t < EST_QK; t++) isum += (int32_t)qx[b * EST_QK + t] * qw[t];
                const float s = est_f16_to_f32(est_rd_u16(blk)) * dx[b];
                acc = fmaf((float)isum, s, acc);
            }
            op->y[(size_t)i * op->ldy + j] = finish(op, j, acc);
        }
    }
}

void est_gemm_q4q8__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    const int k = op->k, nb = k / EST_QK;
    for (int i = m0; i < m1; i++) {
        const uint8_t *xr = op->xq + (size_t)i * op->xq_stride;
        const int8_t *qx = EST_QX_QS(xr);  /* [k] */
        const float *dx = EST_QX_D(xr, k); /* [nb] */
        for (int j = n0; j < n1; j++) {
            const uint8_t *wr = (const uint8_t *)op->w + (size_t)j * op->w_stride; /* [nb] blocks */
            float acc = 0.0f;
            for (int b = 0; b < nb; b++) {
                const uint8_t *blk = wr + (size_t)b * sizeof(est_block_q4_0);
                const uint8_t *qw = blk + 2;
                const int8_t *xb = qx + b * EST_QK;
                int32_t isum = 0;
                for (int t = 0; t < EST_QK / 2; t++) {
                    isum += (int32_t)xb[t] * ((qw[t] & 0x0f) - 8);
                    isum += (int32_t)xb[t + EST_QK / 2] * ((qw[t] >> 4) - 8);
                }
                const float s = est_f16_to_f32(est_rd_u16(blk)) * dx[b];
                acc = fmaf((float)isum, s, acc);
            }
            op->y[(size_t)i * op->ldy + j] = finish(op, j, acc);
        }
    }
}

void est_gemm_f32__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    const int k = op->k;
    for (int i = m0; i < m1; i++) {
        const float *xr = op->x + (size_t)i * op->ldx; /* [k] */
        for (int j = n0; j < n1; j++) {
            const uint8_t *wr = (const uint8_t *)op->w + (size_t)j * op->w_stride; /* [k] f32 */
            float acc = 0.0f;
            for (int t = 0; t < k; t++) acc = fmaf(xr[t], est_rd_f32(wr + 4 * (size_t)t), acc);
            op->y[(size_t)i * op->ldy + j] = finish(op, j, acc);
        }
    }
}

void est_gemm_f16__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    const int k = op->k;
    for (int i = m0; i < m1; i++) {
        const float *xr = op->x + (size_t)i * op->ldx; /* [k] */
        for (int j = n0; j < n1; j++) {
            const uint8_t *wr = (const uint8_t *)op->w + (size_t)j * op->w_stride; /* [k] f16 */
            float acc = 0.0f;
            for (int t = 0; t < k; t++) acc = fmaf(xr[t], est_f16_to_f32(est_rd_u16(wr + 2 * (size_t)t)), acc);
            op->y[(size_t)i * op->ldy + j] = finish(op, j, acc);
        }
    }
}

/* The GEMV order (kernels.h): 8 partial sums over k zero-padded to a multiple of 8, fixed tree. */
static inline float gemv_order(const float *xr, const uint8_t *wr, int k, const int is_f16) {
    const int kp = (k + 7) & ~7;
    float p[8] = {0};
    for (int t = 0; t < kp; t++) {
        float w = 0.0f, x = 0.0f;
        if (t < k) {
            w = is_f16 ? est_f16_to_f32(est_rd_u16(wr + 2 * (size_t)t)) : est_rd_f32(wr + 4 * (size_t)t);
            x = xr[t];
        }
        p[t & 7] = fmaf(x, w, p[t & 7]);
    }
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

static void gemv_f_ref(const est_gemm_op *op, int m0, int m1, int n0, int n1, const int is_f16) {
    for (int i = m0; i < m1; i++) {
        const float *xr = op->x + (size_t)i * op->ldx; /* [k] */
        for (int j = n0; j < n1; j++) {
            const uint8_t *wr = (const uint8_t *)op->w + (size_t)j * op->w_stride; /* [k] */
            op->y[(size_t)i * op->ldy + j] = finish(op, j, gemv_order(xr, wr, op->k, is_f16));
        }
    }
}

void est_gemv_f32__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1) { gemv_f_ref(op, m0, m1, n0, n1, 0); }

void est_gemv_f16__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1) { gemv_f_ref(op, m0, m1, n0, n1, 1); }
