/*
 * quant.h - ggml-compatible quantized block layouts and their reference (de)quantizers.
 *
 * Q8_0: 32 weights per block, one f16 scale d and 32 int8 q; value = q * d.          (34 bytes)
 * Q4_0: 32 weights per block, one f16 scale d and 16 bytes; weight j < 16 is the low nibble of
 *       byte j, weight j + 16 the high nibble; value = (nibble - 8) * d.                (18 bytes)
 * Blocks in model files are unaligned (whisper.cpp .bin): read d with memcpy.
 *
 * The quantizers round exactly as ggml's reference quantizers (quantize_row_q8_0_ref,
 * quantize_row_q4_0_ref), so files written here agree byte for byte with whisper.cpp's.
 */
#ifndef EST_QUANT_H
#define EST_QUANT_H

#include "../core/internal.h"

#define EST_QK 32

typedef struct {
    uint16_t d;        /* f16 scale */
    int8_t qs[EST_QK]; /* quants */
} est_block_q8_0;

typedef struct {
    uint16_t d;             /* f16 scale */
    uint8_t qs[EST_QK / 2]; /* nibbles: j in low, j + 16 in high */
} est_block_q4_0;

_Static_assert(sizeof(est_block_q8_0) == 34, "q8_0 block is 34 bytes");
_Static_assert(sizeof(est_block_q4_0) == 18, "q4_0 block is 18 bytes");

/* Bytes of one row of n elements of a weight type, or 0 if n is not a multiple of the block size
 * (quantized types) or the type is unknown. */
EST_HIDDEN size_t est_type_row_bytes(int type, uint64_t n);
/* 1 for types the engine can load (F32, F16, Q8_0, Q4_0). */
EST_HIDDEN int est_type_supported(int type);

/* Reference quantizers / dequantizers; n must be a multiple of 32 for the block types. */
EST_HIDDEN void est_quantize_row_q8_0_ref(const float *x, void *y, int64_t n);
EST_HIDDEN void est_quantize_row_q4_0_ref(const float *x, void *y, int64_t n);
EST_HIDDEN void est_dequantize_row_q8_0_ref(const void *x, float *y, int64_t n);
EST_HIDDEN void est_dequantize_row_q4_0_ref(const void *x, float *y, int64_t n);
/* Any supported type -> f32 (F32 copies, F16 converts). */
EST_HIDDEN int est_dequantize_row(int type, const void *x, float *y, int64_t n);

#endif
