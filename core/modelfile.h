/*
 * modelfile.h - what the two model-file readers (core/gguf.c, core/ggml_bin.c) hand to the
 * architecture binders: one description per tensor, pointing into the file image.
 *
 * Invariants (established by the readers, relied on by the binders): name points at name_len
 * bytes inside the image (not NUL-terminated); 1 <= n_dims <= 4, every ne[i] >= 1 (ne[i] = 1 for
 * i >= n_dims); the type is supported (kernels/quant.h est_type_supported); nbytes is exactly
 * est_type_row_bytes(type, ne[0]) * ne[1] * ne[2] * ne[3] and [data, data + nbytes) lies inside
 * the image.  data may be unaligned (whisper.cpp .bin files).
 */
#ifndef EST_MODELFILE_H
#define EST_MODELFILE_H

#include "internal.h"

#define EST_MAX_DIMS 4

typedef struct est_file_tensor {
    const char *name;        /* name_len bytes in the image, not NUL-terminated */
    uint32_t name_len;
    int32_t type;            /* edgestt_type (ggml numbering) */
    int32_t n_dims;          /* 1..4 as stored */
    int64_t ne[EST_MAX_DIMS]; /* ggml order: ne[0] is the contiguous dimension */
    const uint8_t *data;     /* first byte of the tensor data (maybe unaligned) */
    size_t nbytes;
} est_file_tensor;

/* Elements of a tensor description (the readers guarantee this does not overflow). */
static inline int64_t est_file_tensor_nelem(const est_file_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

/* 1 if the tensor's name equals the NUL-terminated s. */
static inline int est_file_tensor_is(const est_file_tensor *t, const char *s) {
    size_t n = strlen(s);
    return n == t->name_len && memcmp(t->name, s, n) == 0;
}

/* Shared by both readers: validate dims and type, compute nbytes (overflow-checked).  Returns
 * EDGESTT_OK, or EDGESTT_E_UNSUPPORTED (unknown/unsupported type), EDGESTT_E_FORMAT (zero
 * dimension, a row that does not fill whole quant blocks) or EDGESTT_E_LIMIT (size overflow);
 * the caller writes the diagnostic naming the tensor. */
EST_HIDDEN int est_file_tensor_size(int type, int n_dims, const int64_t ne[EST_MAX_DIMS],
                                    size_t *nbytes);

#endif
