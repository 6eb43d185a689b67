/*
 * quant_ref.c - reference Q8_0 / Q4_0 quantizers and dequantizers (the specification the SIMD
 * kernels and the model writers follow).  Rounding matches ggml's *_ref quantizers.
 */
#include <math.h>

#include "quant.h"

size_t est_type_row_bytes(int type, uint64_t n) {
    uint64_t b;
    switch (type) {
    case EDGESTT_TYPE_F32: b = n * 4; if (n > UINT64_MAX / 4) return 0; break;
    case EDGESTT_TYPE_F16: b = n * 2; if (n > UINT64_MAX / 2) return 0; break;
    case EDGESTT_TYPE_Q8_0: if (n % EST_QK) return 0; b = n / EST_QK * sizeof(est_block_q8_0); break;
    case EDGESTT_TYPE_Q4_0: if (n % EST_QK) return 0; b = n / EST_QK * sizeof(est_block_q4_0); break;
    default: return 0;
    }
    if (b > SIZE_MAX) return 0;
    return (size_t)b;
}

int est_type_supported(int type) {
    return type == EDGESTT_TYPE_F32 || type == EDGESTT_TYPE_F16 || type == EDGESTT_TYPE_Q8_0 ||
           type == EDGESTT_TYPE_Q4_0;
}

void est_quantize_row_q8_0_ref(const float *x, void *vy, int64_t n) {
    uint8_t *y = (uint8_t *)vy;
    for (int64_t i = 0; i < n / EST_QK; i++, x += EST_QK, y += sizeof(est_block_q8_0)) {
        float amax = 0.0f;
        for (int j = 0; j < EST_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d ? 1.0f / d : 0.0f;
        est_block_q8_0 b;
        b.d = est_f32_to_f16(d);
        for (int j = 0; j < EST_QK; j++) b.qs[j] = (int8_t)roundf(x[j] * id);
        memcpy(y, &b, sizeof b);
    }
}

void est_quantize_row_q4_0_ref(const float *x, void *vy, int64_t n) {
    uint8_t *y = (uint8_t *)vy;
    for (int64_t i = 0; i < n / EST_QK; i++, x += EST_QK, y += sizeof(est_block_q4_0)) {
        float amax = 0.0f, max = 0.0f; /* max keeps the sign of the largest magnitude */
        for (int j = 0; j < EST_QK; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d ? 1.0f / d : 0.0f;
        est_block_q4_0 b;
        b.d = est_f32_to_f16(d);
        for (int j = 0; j < EST_QK / 2; j++) {
            const float x0 = x[j] * id, x1 = x[EST_QK / 2 + j] * id;
            int q0 = (int)(int8_t)(x0 + 8.5f), q1 = (int)(int8_t)(x1 + 8.5f);
            if (q0 > 15) q0 = 15;
            if (q1 > 15) q1 = 15;
            b.qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
        memcpy(y, &b, sizeof b);
    }
}

void est_dequantize_row_q8_0_ref(const void *vx, float *y, int64_t n) {
    const uint8_t *x = (const uint8_t *)vx;
    for (int64_t i = 0; i < n / EST_QK; i++, x += sizeof(est_block_q8_0)) {
        const float d = est_f16_to_f32(est_rd_u16(x));
        const int8_t *q = (const int8_t *)(x + 2);
        for (int j = 0; j < EST_QK; j++) *y++ = (float)q[j] * d;
    }
}

void est_dequantize_row_q4_0_ref(const void *vx, float *y, int64_t n) {
    const uint8_t *x = (const uint8_t *)vx;
    for (int64_t i = 0; i < n / EST_QK; i++, x += sizeof(est_block_q4_0), y += EST_QK) {
        const float d = est_f16_to_f32(est_rd_u16(x));
        const uint8_t *q = x + 2;
        for (int j = 0; j < EST_QK / 2; j++) {
            y[j] = (float)((q[j] & 0x0f) - 8) * d;
            y[j + EST_QK / 2] = (float)((q[j] >> 4) - 8) * d;
        }
    }
}

int est_dequantize_row(int type, const void *x, float *y, int64_t n) {
    switch (type) {
    case EDGESTT_TYPE_F32: memcpy(y, x, (size_t)n * 4); return EDGESTT_OK;
    case EDGESTT_TYPE_F16: {
        const uint8_t *p = (const uint8_t *)x;
        for (int64_t i = 0; i < n; i++) y[i] = est_f16_to_f32(est_rd_u16(p + 2 * i));
        return EDGESTT_OK;
    }
    case EDGESTT_TYPE_Q8_0: est_dequantize_row_q8_0_ref(x, y, n); return EDGESTT_OK;
    case EDGESTT_TYPE_Q4_0: est_dequantize_row_q4_0_ref(x, y, n); return EDGESTT_OK;
    default: return EDGESTT_E_UNSUPPORTED;
    }
}
