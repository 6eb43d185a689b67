/*
 * kernels.h - the numeric kernel table.  One place (dispatch.c) picks the variants at model open
 * from port's CPU detection (or EDGESTT_KERNELS / edgestt_params.kernels) and the handle keeps the
 * table.  Variants: __ref (plain C, the specification, always built), __avx2, __neon, __neondot.
 */
#ifndef EST_KERNELS_H
#define EST_KERNELS_H

#include "../core/internal.h"

typedef struct est_kernels {
    const char *name; /* "ref", "avx2", "neon", "neondot" */
} est_kernels;

/* Pick a table.  request: NULL, "" or "auto" = best for cpu_features; otherwise a variant name,
 * refused with EDGESTT_E_UNSUPPORTED if this CPU (cpu_features) or build cannot run it, and
 * EDGESTT_E_INVALID_ARG if the name is unknown. */
EST_HIDDEN int est_kernels_select(const char *request, uint32_t cpu_features, const est_kernels **out);

#endif
