/*
 * dispatch.c - the one place that picks kernel variants (see kernels.h).  Each table is filled at
 * compile time; a variant's table exists only in builds for its architecture, and is usable only
 * when the CPU has every feature in cpu_needs.
 */
#include "kernels_impl.h"

static const est_kernels table_ref = {
    .name = "ref",
    .cpu_needs = 0,
    .quantize_x = est_quantize_x__ref,
    .gemm = {est_gemm_f32__ref, est_gemm_f16__ref, est_gemm_q8q8__ref, est_gemm_q4q8__ref},
    .gemv = {est_gemv_f32__ref, est_gemv_f16__ref, est_gemm_q8q8__ref, est_gemm_q4q8__ref},
    .gemv_max_m = {EST_FLOAT_GEMV_MAX_M, EST_FLOAT_GEMV_MAX_M, 0, 0},
    .layer_norm = est_layer_norm__ref,
    .softmax = est_softmax__ref,
    .gelu = est_gelu__ref,
    .add = est_add__ref,
    .dot = est_dot__ref,
    .axpy = est_axpy__ref,
};

#if defined(__x86_64__)
static const est_kernels table_avx2 = {
    .name = "avx2",
    .cpu_needs = EST_CPU_AVX2 | EST_CPU_FMA | EST_CPU_F16C,
    .quantize_x = est_quantize_x__avx2,
    .gemm = {est_gemm_f32_6x16__avx2, est_gemm_f16_6x16__avx2, est_gemm_q8q8_4x8__avx2,
             est_gemm_q4q8_4x8__avx2},
    .gemv = {est_gemv_f32_1x8__avx2, est_gemv_f16_1x8__avx2, est_gemv_q8q8_1x8__avx2,
             est_gemv_q4q8_1x8__avx2},
    /* float: the specification's fixed crossover (kernels.h); quantized: benched on a 2-core
     * Sapphire Rapids, k = 384, n = 1536 */
    .gemv_max_m = {EST_FLOAT_GEMV_MAX_M, EST_FLOAT_GEMV_MAX_M, 5, 3},
    .layer_norm = est_layer_norm__avx2,
    .softmax = est_softmax__avx2,
    .gelu = est_gelu__avx2,
    .add = est_add__avx2,
    .dot = est_dot__avx2,
    .axpy = est_axpy__avx2,
};
#endif

/* aarch64, and 32-bit ARMv7-A NEON (kernels/arm/neon_compat.h) */
#if defined(__aarch64__) || defined(__ARM_NEON)
static const est_kernels table_neon = {
    .name = "neon",
    .cpu_needs = EST_CPU_NEON,
    .quantize_x = est_quantize_x__neon,
    .gemm = {est_gemm_f32_4x16__neon, est_gemm_f16_4x16__neon, est_gemm_q8q8_4x8__neon,
             est_gemm_q4q8_4x8__neon},
    .gemv = {est_gemv_f32_1x4__neon, est_gemv_f16_1x4__neon, est_gemv_q8q8_1x4__neon,
             est_gemv_q4q8_1x4__neon},
    .gemv_max_m = {EST_FLOAT_GEMV_MAX_M, EST_FLOAT_GEMV_MAX_M, 4, 2}, /* quantized: a guess (no hardware) */
    .layer_norm = est_layer_norm__neon,
    .softmax = est_softmax__neon,
    .gelu = est_gelu__neon,
    .add = est_add__neon,
    .dot = est_dot__neon,
    .axpy = est_axpy__neon,
};
#endif

#if defined(__aarch64__)
static const est_kernels table_neondot = {
    .name = "neondot",
    .cpu_needs = EST_CPU_NEON | EST_CPU_DOTPROD,
    .quantize_x = est_quantize_x__neon,
    .gemm = {est_gemm_f32_4x16__neon, est_gemm_f16_4x16__neon, est_gemm_q8q8_4x8__neondot,
             est_gemm_q4q8_4x8__neondot},
    .gemv = {est_gemv_f32_1x4__neon, est_gemv_f16_1x4__neon, est_gemv_q8q8_1x4__neondot,
             est_gemv_q4q8_1x4__neondot},
    .gemv_max_m = {EST_FLOAT_GEMV_MAX_M, EST_FLOAT_GEMV_MAX_M, 4, 2}, /* quantized: a guess (no hardware) */
    .layer_norm = est_layer_norm__neon,
    .softmax = est_softmax__neon,
    .gelu = est_gelu__neon,
    .add = est_add__neon,
    .dot = est_dot__neon,
    .axpy = est_axpy__neon,
};
#endif

/* Best first after ref: auto picks the last runnable entry. */
static const est_kernels *const variants[] = {
    &table_ref,
#if defined(__x86_64__)
    &table_avx2,
#endif
#if defined(__aarch64__) || defined(__ARM_NEON)
    &table_neon,
#endif
#if defined(__aarch64__)
    &table_neondot,
#endif
    NULL,
};

const est_kernels *est_kernels_variant(int i) {
    if (i < 0 || i >= (int)(sizeof variants / sizeof variants[0])) return NULL;
    return variants[i];
}

int est_kernels_runnable(const est_kernels *kt, uint32_t cpu_features) {
    return kt && (kt->cpu_needs & cpu_features) == kt->cpu_needs;
}

int est_kernels_select(const char *request, uint32_t cpu_features, const est_kernels **out) {
    static const char *const known[] = {"ref", "avx2", "neon", "neondot"};
    *out = &table_ref;
    if (!request || !*request || !strcmp(request, "auto")) {
        for (int i = 0; variants[i]; i++)
            if (est_kernels_runnable(variants[i], cpu_features)) *out = variants[i];
        return EDGESTT_OK;
    }
    for (int i = 0; variants[i]; i++) {
        if (strcmp(request, variants[i]->name)) continue;
        if (!est_kernels_runnable(variants[i], cpu_features)) return EDGESTT_E_UNSUPPORTED;
        *out = variants[i];
        return EDGESTT_OK;
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(request, known[i])) return EDGESTT_E_UNSUPPORTED; /* not built for this arch */
    return EDGESTT_E_INVALID_ARG;
}
