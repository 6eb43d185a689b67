/*
 * dispatch.c - the one place that picks kernel variants (see kernels.h).
 */
#include "kernels.h"

static const est_kernels table_ref = {"ref"};

int est_kernels_select(const char *request, uint32_t cpu_features, const est_kernels **out) {
    (void)cpu_features;
    *out = &table_ref;
    if (!request || !*request || !strcmp(request, "auto") || !strcmp(request, "ref")) return EDGESTT_OK;
    if (!strcmp(request, "avx2") || !strcmp(request, "neon") || !strcmp(request, "neondot"))
        return EDGESTT_E_UNSUPPORTED;
    return EDGESTT_E_INVALID_ARG;
}
