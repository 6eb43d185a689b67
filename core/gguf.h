/*
 * gguf.h - a GGUF v3 (and v2) reader over a byte range: a read-only file mapping or caller memory.
 *
 * Two phases.  est_gguf_scan validates the whole header (KV pairs of every value type, nested
 * arrays up to EST_GGUF_MAX_DEPTH, tensor infos, alignment, every tensor's offset and size
 * against the image) and counts, storing nothing; an optional visitor sees each KV pair as it is
 * parsed (how a caller picks a few keys before it has anywhere to store tables).  est_gguf_fill
 * then parses again into tables the caller reserved (est_gguf_table_bytes) and never fails on an
 * image the scan accepted (it re-checks anyway).  Nothing is copied: keys, strings and tensor data
 * point into the image, which must outlive the tables.
 *
 * Limits: counts are checked against the bytes left before any loop (an absurd n_tensors or
 * string length is refused at once, work is linear in the image size); v1 files (32-bit counts)
 * and unknown versions are EDGESTT_E_UNSUPPORTED; general.alignment must be a nonzero power of
 * two (default 32).  Keys are not required to be unique: lookups return the first.
 */
#ifndef EST_GGUF_H
#define EST_GGUF_H

#include "modelfile.h"

#define EST_GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define EST_GGUF_DEFAULT_ALIGNMENT 32
#define EST_GGUF_MAX_DEPTH 4       /* nesting of arrays inside arrays */

/* Value types, numbered as the GGUF specification numbers them. */
enum {
    EST_GGUF_U8 = 0, EST_GGUF_I8 = 1, EST_GGUF_U16 = 2, EST_GGUF_I16 = 3,
    EST_GGUF_U32 = 4, EST_GGUF_I32 = 5, EST_GGUF_F32 = 6, EST_GGUF_BOOL = 7,
    EST_GGUF_STRING = 8, EST_GGUF_ARRAY = 9, EST_GGUF_U64 = 10, EST_GGUF_I64 = 11,
    EST_GGUF_F64 = 12, EST_GGUF_N_TYPES = 13
};

typedef struct est_gguf_kv {
    const char *key;          /* key_len bytes in the image */
    uint32_t key_len;
    uint32_t type;            /* EST_GGUF_* */
    uint32_t arr_type;        /* arrays: element type */
    uint64_t arr_n;           /* arrays: element count */
    const uint8_t *val;       /* scalars: the value's bytes; strings: the u64 length; arrays: first element */
    const uint8_t *end;       /* one past the value's last byte */
} est_gguf_kv;

/* What the scan learns; enough to size and place the tables. */
typedef struct est_gguf_layout {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    uint32_t alignment;
    size_t data_offset;       /* start of the tensor data section */
} est_gguf_layout;

typedef struct est_gguf {
    const uint8_t *data;      /* the image */
    size_t size;
    est_gguf_layout lay;
    est_gguf_kv *kv;          /* [n_kv] */
    est_file_tensor *tensors; /* [n_tensors] */
} est_gguf;

/* Called for each KV pair during the scan; a nonzero return stops the scan with that status. */
typedef int (*est_gguf_visit_fn)(void *ctx, const est_gguf_kv *kv);

EST_HIDDEN int est_gguf_scan(const void *data, size_t size, est_gguf_layout *lay,
                             est_gguf_visit_fn visit, void *ctx, edgestt_diag *diag);
/* Bytes of the two tables (for planning); EDGESTT_E_LIMIT if they overflow size_t. */
EST_HIDDEN int est_gguf_table_counts(const est_gguf_layout *lay, size_t *n_kv, size_t *n_tensors);
/* Parse again into kv[n_kv] and tensors[n_tensors]; fills *g. */
EST_HIDDEN int est_gguf_fill(const void *data, size_t size, const est_gguf_layout *lay,
                             est_gguf_kv *kv, est_file_tensor *tensors, est_gguf *g,
                             edgestt_diag *diag);

/* ---- lookups (on filled tables, or on any array of kv the caller collected) ------------- */
/* Index of the first KV whose key equals key, or -1. */
EST_HIDDEN int64_t est_gguf_find(const est_gguf_kv *kv, size_t n_kv, const char *key);
/* 1 if kv's key equals the NUL-terminated key. */
EST_HIDDEN int est_gguf_key_is(const est_gguf_kv *kv, const char *key);
/* Typed getters.  Integer getters accept any integer value type whose value fits the result
 * (and BOOL for u32); they return EDGESTT_E_NOT_FOUND for a missing key and EDGESTT_E_FORMAT
 * (with a line naming the key) for a wrong type or an out-of-range value. */
EST_HIDDEN int est_gguf_get_u32(const est_gguf_kv *kv, size_t n_kv, const char *key, uint32_t *out,
                                edgestt_diag *diag);
EST_HIDDEN int est_gguf_get_u64(const est_gguf_kv *kv, size_t n_kv, const char *key, uint64_t *out,
                                edgestt_diag *diag);
EST_HIDDEN int est_gguf_get_f32(const est_gguf_kv *kv, size_t n_kv, const char *key, float *out,
                                edgestt_diag *diag);
EST_HIDDEN int est_gguf_get_str(const est_gguf_kv *kv, size_t n_kv, const char *key,
                                const char **s, size_t *len, edgestt_diag *diag);
/* An array of elem_type (any element type when elem_type < 0). */
EST_HIDDEN int est_gguf_get_arr(const est_gguf_kv *kv, size_t n_kv, const char *key, int elem_type,
                                const uint8_t **first, uint64_t *n, edgestt_diag *diag);
/* Walk a string array's elements: *p at an element, end = end of image.  Returns 1 and the
 * string, advancing *p; 0 if the element runs past end. */
EST_HIDDEN int est_gguf_next_str(const uint8_t **p, const uint8_t *end, const char **s,
                                 uint64_t *len);
/* Bytes of one element of a fixed-size value type (0 for STRING and ARRAY and unknown types). */
EST_HIDDEN size_t est_gguf_type_size(uint32_t type);

#endif
