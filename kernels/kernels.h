/*
 * kernels.h - the numeric kernel table and the matrix-multiply driver.
 *
 * One place (dispatch.c) picks the variants at model open from port's CPU detection (or
 * EDGESTT_KERNELS / edgestt_params.kernels) and the handle keeps the table.  Variants: __ref (plain
 * C, the specification, always built), __avx2 (AVX2+FMA+F16C), __neon (ARMv8.0 ASIMD), __neondot
 * (ARMv8.2 sdot).
 *
 * The matrix product.  Y[m][n] = X[m][k] . W[n][k]^T (+ bias[n]).  X is f32 (row stride ldx
 * floats); W holds n rows of k weights of one type (F32, F16, Q8_0, Q4_0; quant.h block layouts),
 * row stride w_stride bytes, at any address (whisper.cpp .bin tensors are unaligned); Y is f32 (row
 * stride ldy floats).
 *
 * Quantized weights (Q8_0, Q4_0) multiply Q8 activations ("QX"): X is first quantized per row in
 * blocks of 32 (est_kernels.quantize_x) into a buffer of m rows of est_qx_row_bytes(k) bytes:
 *     int8  qs[k]       at 0        q = clamp(roundf(x * (127 / amax)), -127, 127)
 *     float d[k/32]     at k        d = amax / 127  (f32, exact: kept internal, never f16)
 *     int32 sum[k/32]   at k + k/8  sum of the block's 32 q (used by the Q4_0 kernels)
 * amax = max |x| over the block (NaN ignored); a block with amax < 2^-96 (or amax NaN) is all zero
 * with d = 0.  |q| <= 127 always (never -128), which the SIMD sign tricks rely on.  roundf rounds
 * half away from zero.  Every variant's quantizer is bit-identical to est_quantize_x__ref.
 *
 * The quantized product is specified bit for bit (est_gemm_q8q8__ref, est_gemm_q4q8__ref): per
 * output element, over blocks b in order,
 *     isum_b = sum_t qx[b][t] * qw[b][t]            exact int32 (|isum| <= 32*127*128 < 2^24)
 *     acc    = fmaf((float)isum_b, dw_b * dx_b, acc)  starting from acc = +0.0f
 *     y      = acc + bias[j]  (or acc without bias)
 * with qw = the int8 weight (Q8_0) or nibble - 8 (Q4_0) and dw = the block's f16 scale as f32.
 * SIMD variants vectorise inside a block (exact integer math) and across rows/columns, never
 * reorder the float sum, so Q8_0/Q4_0 results are identical on every ISA for finite inputs.
 * F32/F16 weights are specified bit for bit too, with two orders chosen by the whole m against
 * the fixed EST_FLOAT_GEMV_MAX_M (every table's gemv_max_m for F32 and F16):
 *   m >  EST_FLOAT_GEMV_MAX_M (GEMM, est_gemm_f32__ref): acc = fmaf(x_t, w_t, acc) for t = 0..k-1
 *       from +0.0f - the order of kernels whose SIMD lanes are output columns;
 *   m <= EST_FLOAT_GEMV_MAX_M (GEMV, est_gemv_f32__ref): 8 partial sums, p_l = fmaf(x_t, w_t, p_l)
 *       for t = l, l + 8, ... over k zero-padded to a multiple of 8, then
 *       ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)) - the order of kernels whose lanes run
 *       along k, streaming W in place;
 *   then y = acc + bias[j].  W's f16 values convert exactly.
 * So, with the row helpers (ops_ref.c), the whole forward pass of a Q8_0/Q4_0 model gives the same
 * bits - and the same tokens - through every table (tests/test_float_bitexact.c,
 * tests/test_isa_transcripts.c), except where ARMv7 NEON flushes a subnormal to zero.
 * For every type, a variant's result does not depend on how the product is split into tiles or
 * threads: the gemm/gemv kernel is chosen by the whole m, and each output element's arithmetic
 * does not depend on its neighbours.
 */
#ifndef EST_KERNELS_H
#define EST_KERNELS_H

#include "../core/internal.h"
#include "../port/port.h"

/* Float products with m at most this run the GEMV order (see above), in every table. */
#define EST_FLOAT_GEMV_MAX_M 16

/* Weight-type slots of the tables. */
enum { EST_WT_F32 = 0, EST_WT_F16, EST_WT_Q8_0, EST_WT_Q4_0, EST_WT_COUNT };
/* Slot of an edgestt_type, -1 if the kernels do not handle it. */
static inline int est_wt_index(int type) {
    switch (type) {
    case EDGESTT_TYPE_F32: return EST_WT_F32;
    case EDGESTT_TYPE_F16: return EST_WT_F16;
    case EDGESTT_TYPE_Q8_0: return EST_WT_Q8_0;
    case EDGESTT_TYPE_Q4_0: return EST_WT_Q4_0;
    default: return -1;
    }
}
static inline int est_type_is_quant(int type) {
    return type == EDGESTT_TYPE_Q8_0 || type == EDGESTT_TYPE_Q4_0;
}

/* One matrix product.  Kernels read x (F32/F16 weights) or xq (quantized weights). */
typedef struct est_gemm_op {
    int type;            /* weight type (edgestt_type) */
    int m, n, k;         /* rows of X/Y, rows of W (= columns of Y), inner length */
    const void *w;       /* [n][w_stride bytes] weights, any alignment */
    size_t w_stride;     /* bytes between rows of W, >= est_type_row_bytes(type, k) */
    const float *x;      /* [m][ldx] activations (f32) */
    size_t ldx;          /* floats between rows of X, >= k */
    const uint8_t *xq;   /* [m][xq_stride] quantized activations (QX layout), 64-byte aligned */
    size_t xq_stride;    /* est_qx_row_bytes(k) */
    const float *bias;   /* [n] or NULL */
    float *y;            /* [m][ldy] output */
    size_t ldy;          /* floats between rows of Y, >= n */
} est_gemm_op;

/* A tile kernel: computes Y rows [m0, m1) x columns [n0, n1) of op (0 <= m0 <= m1 <= m, same
 * for n).  Tiles are independent, so callers may run disjoint tiles on different threads. */
typedef void (*est_gemm_fn)(const est_gemm_op *op, int m0, int m1, int n0, int n1);
/* Quantize rows [m0, m1) of X (row stride ldx floats, k % 32 == 0) into the QX layout. */
typedef void (*est_qx_fn)(const float *x, size_t ldx, int m0, int m1, int k, uint8_t *xq,
                          size_t xq_stride);

typedef struct est_kernels {
    const char *name;            /* "ref", "avx2", "neon", "neondot" */
    uint32_t cpu_needs;          /* EST_CPU_* bits the variant needs */
    est_qx_fn quantize_x;
    est_gemm_fn gemm[EST_WT_COUNT]; /* used when m > gemv_max_m[type] (packed weight panels) */
    est_gemm_fn gemv[EST_WT_COUNT]; /* used when m <= gemv_max_m[type] (W streamed in place) */
    int gemv_max_m[EST_WT_COUNT];   /* crossover measured per type (packing pays off above it) */
    /* f32 row helpers (n elements; in-place allowed where y == x) */
    void (*layer_norm)(float *y, const float *x, const float *g, const float *b, int n, float eps);
    void (*softmax)(float *x, int n, float scale); /* x = softmax(scale * x) */
    void (*gelu)(float *y, const float *x, int n); /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
    void (*add)(float *y, const float *a, const float *b, int n);
    float (*dot)(const float *a, const float *b, int n);
    void (*axpy)(float *y, float a, const float *x, int n); /* y += a x */
} est_kernels;

/* Pick a table.  request: NULL, "" or "auto" = best for cpu_features; otherwise a variant name,
 * refused with EDGESTT_E_UNSUPPORTED if this CPU (cpu_features) or build cannot run it, and
 * EDGESTT_E_INVALID_ARG if the name is unknown. */
EST_HIDDEN int est_kernels_select(const char *request, uint32_t cpu_features, const est_kernels **out);
/* Every variant built into this binary (index 0 is ref); NULL past the end. */
EST_HIDDEN const est_kernels *est_kernels_variant(int i);
/* 1 if the variant can run on a CPU with these features. */
EST_HIDDEN int est_kernels_runnable(const est_kernels *kt, uint32_t cpu_features);

/* ---- the matrix-product driver (gemm.c) --------------------------------------------------- */
/* Bytes of one quantized activation row (multiple of 64); 0 if k is not a positive multiple of 32. */
EST_HIDDEN size_t est_qx_row_bytes(int k);
/* Scratch est_gemm needs for m rows of inner length k with this weight type (0 for F32/F16);
 * SIZE_MAX on overflow or bad arguments. */
EST_HIDDEN size_t est_gemm_scratch_size(int type, int m, int k);
/* Check shapes, strides and pointers of op (xq not required).  EDGESTT_E_INVALID_ARG or
 * EDGESTT_E_UNSUPPORTED (weight type) on failure. */
EST_HIDDEN int est_gemm_check(const est_gemm_op *op);
/* Run rows [m0, m1) x columns [n0, n1) on the calling thread with the variant's gemm or gemv kernel,
 * chosen by the whole product's op->m (not the tile's), so every split of a product - and so every
 * thread count - gives the same bits, for float weights too.  op->xq must already hold the
 * quantized rows for quantized weights. */
EST_HIDDEN void est_gemm_tile(const est_kernels *kt, const est_gemm_op *op, int m0, int m1, int n0,
                              int n1);
/* The whole product over a pool (NULL = calling thread): quantizes X into scratch (64-byte aligned,
 * >= est_gemm_scratch_size bytes) when the weights are quantized, then runs output tiles. */
EST_HIDDEN int est_gemm(const est_kernels *kt, est_pool *pool, const est_gemm_op *op, void *scratch,
                        size_t scratch_size);

/* Several products of the same X (equal m, k, x, ldx; e.g. a layer's Q, K and V) as one job: X is
 * quantized into scratch once (when any weights are quantized; scratch as for est_gemm with a
 * quantized type), and when every product is a GEMV shape (m <= gemv_max_m of its type) their
 * column tiles share one pool run; otherwise they run one after another through est_gemm.  Each
 * output is computed exactly as est_gemm computes it.  ops[].xq is ignored; 1..EST_GEMM_MULTI_MAX. */
#define EST_GEMM_MULTI_MAX 4
EST_HIDDEN int est_gemm_multi(const est_kernels *kt, est_pool *pool, const est_gemm_op *ops, int n_ops,
                              void *scratch, size_t scratch_size);

/* ---- attention (ops_ref.c, generic over the table's dot/softmax/axpy) ---------------------- */
/* Multi-head scaled dot-product attention of m query rows over n_kv key/value rows: the decoder's
 * self attention over its KV cache, or cross attention over the encoder output.  Head h of a row
 * is the column range [h*d_head, (h+1)*d_head) of q, k, v and out. */
typedef struct est_attn_args {
    const float *q;     /* [m][ldq] */
    const float *k;     /* [n_kv][ldk] */
    const float *v;     /* [n_kv][ldv] */
    float *out;         /* [m][ldo] */
    size_t ldq, ldk, ldv, ldo;
    int m, n_kv, n_head, d_head;
    float scale;        /* usually 1/sqrt(d_head) */
    int causal;         /* 1: row i is position n_kv - m + i and sees keys up to it; 0: all keys */
} est_attn_args;

/* Heads [h0, h1) (split heads across threads by calling with disjoint ranges, each with its own
 * scores buffer of n_kv floats). */
EST_HIDDEN void est_attention(const est_kernels *kt, const est_attn_args *a, int h0, int h1, float *scores);

#endif
