/*
 * gguf_write.h - a GGUF v3 writer over a caller-supplied sink (no stdio in core/).
 *
 * The writer tracks the byte position and calls the sink for every piece, in file order; the sink
 * also receives the absolute offset, so a caller can patch an earlier range with est_gguw_patch
 * (used for the per-tensor CRC32 array, written as zeros first and filled once the data has
 * gone out).  Errors are sticky: after the first failing sink call every later call is a no-op
 * and est_gguw_status returns that status.  Little-endian hosts only (as the reader).
 */
#ifndef EST_GGUF_WRITE_H
#define EST_GGUF_WRITE_H

#include "gguf.h"

/* Write n bytes at byte offset off of the current output; 0 or an edgestt_status. */
typedef int (*est_sink_fn)(void *ctx, uint64_t off, const void *data, size_t n);

typedef struct est_gguw {
    est_sink_fn sink;
    void *ctx;
    uint64_t pos;      /* bytes written so far */
    int status;        /* first failure, sticky */
} est_gguw;

EST_HIDDEN void est_gguw_init(est_gguw *w, est_sink_fn sink, void *ctx);
EST_HIDDEN int est_gguw_status(const est_gguw *w);
/* Raw bytes at the current position. */
EST_HIDDEN void est_gguw_bytes(est_gguw *w, const void *p, size_t n);
/* Zero bytes up to the next multiple of align (a power of two). */
EST_HIDDEN void est_gguw_pad(est_gguw *w, uint32_t align);
/* Overwrite [off, off + n) (already written). */
EST_HIDDEN void est_gguw_patch(est_gguw *w, uint64_t off, const void *p, size_t n);
EST_HIDDEN void est_gguw_u32(est_gguw *w, uint32_t v);
EST_HIDDEN void est_gguw_u64(est_gguw *w, uint64_t v);
/* A GGUF string: u64 length and the bytes. */
EST_HIDDEN void est_gguw_str(est_gguw *w, const char *s, size_t n);
/* Magic, version 3, tensor and KV counts. */
EST_HIDDEN void est_gguw_header(est_gguw *w, uint64_t n_tensors, uint64_t n_kv);
/* KV pairs (key NUL-terminated). */
EST_HIDDEN void est_gguw_kv_str(est_gguw *w, const char *key, const char *s, size_t n);
EST_HIDDEN void est_gguw_kv_u32(est_gguw *w, const char *key, uint32_t v);
/* An array KV's key and element header; the caller writes the n elements next. */
EST_HIDDEN void est_gguw_kv_arr(est_gguw *w, const char *key, uint32_t elem_type, uint64_t n);
/* One tensor info: name, dims (ggml order), type, offset from the data section. */
EST_HIDDEN void est_gguw_tensor_info(est_gguw *w, const char *name, size_t name_len, int n_dims,
                                     const int64_t *ne, int type, uint64_t offset);
/* x rounded up to a multiple of align (a power of two; the caller keeps x far from 2^64). */
static inline uint64_t est_gguw_align_up(uint64_t x, uint32_t align) {
    return (x + align - 1) & ~(uint64_t)(align - 1);
}

#endif
