/*
 * kernels_impl.h - prototypes of every kernel variant (used by dispatch.c, by SIMD files that hand
 * remainders to the reference, and by the tests).  Names say op, tile and ISA; the __ref functions
 * are the specification (see kernels.h for the QX layout and the float accumulation order).
 */
#ifndef EST_KERNELS_IMPL_H
#define EST_KERNELS_IMPL_H

#include "kernels.h"
#include "quant.h"

/* Quantized activations of one QX row (k inputs): the three arrays of the layout. */
#define EST_QX_QS(row) ((const int8_t *)(row))
#define EST_QX_D(row, k) ((const float *)((const uint8_t *)(row) + (k)))
#define EST_QX_SUM(row, k) ((const int32_t *)((const uint8_t *)(row) + (k) + (k) / 8))
/* Blocks with amax below this quantize to zero (keeps 127 / amax finite). */
#define EST_QX_AMAX_MIN 0x1p-96f

/* ---- reference (kernels/gemm_ref.c, kernels/ops_ref.c) --------------------------------- */
EST_HIDDEN void est_quantize_x__ref(const float *x, size_t ldx, int m0, int m1, int k, uint8_t *xq,
                                    size_t xq_stride);
EST_HIDDEN void est_gemm_f32__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_f16__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_f32__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_f16__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_q8q8__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_q4q8__ref(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_layer_norm__ref(float *y, const float *x, const float *g, const float *b, int n,
                                    float eps);
EST_HIDDEN void est_softmax__ref(float *x, int n, float scale);
EST_HIDDEN void est_gelu__ref(float *y, const float *x, int n);
EST_HIDDEN void est_add__ref(float *y, const float *a, const float *b, int n);
EST_HIDDEN float est_dot__ref(const float *a, const float *b, int n);
EST_HIDDEN void est_axpy__ref(float *y, float a, const float *x, int n);

/* ---- x86 AVX2 + FMA + F16C (kernels/x86/gemm_avx2.c, ops_avx2.c) --------------------------------------- */
#if defined(__x86_64__)
EST_HIDDEN void est_quantize_x__avx2(const float *x, size_t ldx, int m0, int m1, int k, uint8_t *xq,
                                     size_t xq_stride);
EST_HIDDEN void est_gemm_f32_6x16__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_f16_6x16__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_q8q8_4x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_q4q8_4x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_f32_1x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_f16_1x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_q8q8_1x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_q4q8_1x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_layer_norm__avx2(float *y, const float *x, const float *g, const float *b, int n,
                                     float eps);
EST_HIDDEN void est_softmax__avx2(float *x, int n, float scale);
EST_HIDDEN void est_gelu__avx2(float *y, const float *x, int n);
EST_HIDDEN void est_add__avx2(float *y, const float *a, const float *b, int n);
EST_HIDDEN float est_dot__avx2(const float *a, const float *b, int n);
EST_HIDDEN void est_axpy__avx2(float *y, float a, const float *x, int n);
#endif

/* ---- aarch64 ASIMD / ARMv7 NEON (kernels/arm/gemm_neon.c, ops_neon.c); aarch64 sdot (gemm_neondot.c) */
#if defined(__aarch64__) || defined(__ARM_NEON)
EST_HIDDEN void est_quantize_x__neon(const float *x, size_t ldx, int m0, int m1, int k, uint8_t *xq,
                                     size_t xq_stride);
EST_HIDDEN void est_gemm_f32_4x16__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_f16_4x16__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_q8q8_4x8__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_q4q8_4x8__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_f32_1x4__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_f16_1x4__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_q8q8_1x4__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_q4q8_1x4__neon(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_layer_norm__neon(float *y, const float *x, const float *g, const float *b, int n,
                                     float eps);
EST_HIDDEN void est_softmax__neon(float *x, int n, float scale);
EST_HIDDEN void est_gelu__neon(float *y, const float *x, int n);
EST_HIDDEN void est_add__neon(float *y, const float *a, const float *b, int n);
EST_HIDDEN float est_dot__neon(const float *a, const float *b, int n);
EST_HIDDEN void est_axpy__neon(float *y, float a, const float *x, int n);
#endif
#if defined(__aarch64__)
EST_HIDDEN void est_gemm_q8q8_4x8__neondot(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemm_q4q8_4x8__neondot(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_q8q8_1x4__neondot(const est_gemm_op *op, int m0, int m1, int n0, int n1);
EST_HIDDEN void est_gemv_q4q8_1x4__neondot(const est_gemm_op *op, int m0, int m1, int n0, int n1);
#endif

#endif
