/*
 * gguf.c - GGUF v3/v2 reader (see gguf.h).  One parser serves both phases: with NULL tables it
 * only validates and counts (the scan), with tables it stores (the fill).  Every read is
 * bounds-checked against the image with overflow-safe arithmetic; a count is compared with the
 * bytes left (divided by the smallest possible element) before any loop runs over it.
 */
#include "gguf.h"

#include "../kernels/quant.h"

#define MAX_NAME_LEN 1024          /* tensor names (ggml itself allows 63) */
#define MIN_KV_BYTES 13            /* u64 key length + u32 type + a 1-byte value */
#define MIN_INFO_BYTES 24          /* u64 name length + u32 n_dims + u32 type + u64 offset */

typedef struct parser {
    const uint8_t *base;
    size_t size, pos;
    edgestt_diag *diag;
} parser;

static size_t left(const parser *p) { return p->size - p->pos; }

size_t est_gguf_type_size(uint32_t type) {
    switch (type) {
    case EST_GGUF_U8: case EST_GGUF_I8: case EST_GGUF_BOOL: return 1;
    case EST_GGUF_U16: case EST_GGUF_I16: return 2;
    case EST_GGUF_U32: case EST_GGUF_I32: case EST_GGUF_F32: return 4;
    case EST_GGUF_U64: case EST_GGUF_I64: case EST_GGUF_F64: return 8;
    default: return 0;
    }
}

/* Read n raw bytes' position; TRUNCATED naming what was being read. */
static int need(parser *p, size_t n, const char *what) {
    if (n > left(p))
        return est_diag(p->diag, EDGESTT_E_TRUNCATED, "gguf: file ends inside %s at byte %zu", what,
                        p->pos);
    return EDGESTT_OK;
}

static int rd_u32(parser *p, uint32_t *v, const char *what) {
    int st = need(p, 4, what);
    if (st) return st;
    *v = est_rd_u32(p->base + p->pos);
    p->pos += 4;
    return EDGESTT_OK;
}

static int rd_u64(parser *p, uint64_t *v, const char *what) {
    int st = need(p, 8, what);
    if (st) return st;
    *v = est_rd_u64(p->base + p->pos);
    p->pos += 8;
    return EDGESTT_OK;
}

/* A GGUF string: u64 length then bytes. */
static int rd_str(parser *p, const char **s, uint64_t *len, const char *what) {
    int st = rd_u64(p, len, what);
    if (st) return st;
    if (*len > left(p))
        return est_diag(p->diag, EDGESTT_E_TRUNCATED,
                        "gguf: %s of %llu bytes at byte %zu runs past the end of the file", what,
                        (unsigned long long)*len, p->pos);
    *s = (const char *)(p->base + p->pos);
    p->pos += (size_t)*len;
    return EDGESTT_OK;
}

/* Skip one value of the given type; arrays recurse up to EST_GGUF_MAX_DEPTH. */
static int skip_value(parser *p, uint32_t type, int depth, const char *key, uint32_t key_len) {
    size_t sz = est_gguf_type_size(type);
    if (sz) {
        int st = need(p, sz, "a value");
        if (st) return st;
        p->pos += sz;
        return EDGESTT_OK;
    }
    if (type == EST_GGUF_STRING) {
        const char *s;
        uint64_t n;
        return rd_str(p, &s, &n, "a string value");
    }
    if (type != EST_GGUF_ARRAY)
        return est_diag(p->diag, EDGESTT_E_FORMAT, "gguf: key '%.*s' has unknown value type %u",
                        (int)key_len, key, type);
    if (depth >= EST_GGUF_MAX_DEPTH)
        return est_diag(p->diag, EDGESTT_E_FORMAT, "gguf: key '%.*s' nests arrays deeper than %d",
                        (int)key_len, key, EST_GGUF_MAX_DEPTH);
    uint32_t et;
    uint64_t n;
    int st = rd_u32(p, &et, "an array header");
    if (!st) st = rd_u64(p, &n, "an array header");
    if (st) return st;
    if (et >= EST_GGUF_N_TYPES)
        return est_diag(p->diag, EDGESTT_E_FORMAT, "gguf: key '%.*s' has arrays of unknown type %u",
                        (int)key_len, key, et);
    size_t esz = est_gguf_type_size(et);
    size_t min = esz ? esz : et == EST_GGUF_STRING ? 8 : 12;
    if (n > left(p) / min)
        return est_diag(p->diag, EDGESTT_E_TRUNCATED,
                        "gguf: key '%.*s': %llu array elements cannot fit in the %zu bytes left",
                        (int)key_len, key, (unsigned long long)n, left(p));
    if (esz) {
        p->pos += (size_t)n * esz;
        return EDGESTT_OK;
    }
    if (et == EST_GGUF_STRING) { /* the common large case (vocabularies): a tight loop */
        const uint8_t *b = p->base;
        size_t pos = p->pos, size = p->size;
        for (uint64_t i = 0; i < n; i++) {
            if (size - pos < 8) {
                p->pos = pos;
                return need(p, 8, "a string array");
            }
            uint64_t len = est_rd_u64(b + pos);
            pos += 8;
            if (len > size - pos) {
                p->pos = pos;
                return est_diag(p->diag, EDGESTT_E_TRUNCATED,
                                "gguf: key '%.*s': string %llu of %llu bytes runs past the end of the file",
                                (int)key_len, key, (unsigned long long)i, (unsigned long long)len);
            }
            pos += (size_t)len;
        }
        p->pos = pos;
        return EDGESTT_OK;
    }
    for (uint64_t i = 0; i < n; i++) {
        st = skip_value(p, et, depth + 1, key, key_len);
        if (st) return st;
    }
    return EDGESTT_OK;
}

/* One KV pair into *kv (always filled; the caller decides whether to keep it). */
static int parse_kv(parser *p, est_gguf_kv *kv) {
    const char *key;
    uint64_t key_len;
    int st = rd_str(p, &key, &key_len, "a key");
    if (st) return st;
    if (key_len == 0 || key_len > UINT32_MAX)
        return est_diag(p->diag, EDGESTT_E_FORMAT, "gguf: key of length %llu at byte %zu",
                        (unsigned long long)key_len, p->pos);
    kv->key = key;
    kv->key_len = (uint32_t)key_len;
    kv->arr_type = 0;
    kv->arr_n = 0;
    st = rd_u32(p, &kv->type, "a value type");
    if (st) return st;
    if (kv->type >= EST_GGUF_N_TYPES)
        return est_diag(p->diag, EDGESTT_E_FORMAT, "gguf: key '%.*s' has unknown value type %u",
                        (int)kv->key_len, key, kv->type);
    kv->val = p->base + p->pos;
    if (kv->type == EST_GGUF_ARRAY && left(p) >= 12) {
        kv->arr_type = est_rd_u32(p->base + p->pos);
        kv->arr_n = est_rd_u64(p->base + p->pos + 4);
        kv->val = p->base + p->pos + 12;
    }
    st = skip_value(p, kv->type, 0, key, kv->key_len);
    kv->end = p->base + p->pos;
    return st;
}

/* One tensor info into *t (data not yet resolved: *offset gets the stored offset). */
static int parse_info(parser *p, est_file_tensor *t, uint64_t *offset) {
    const char *name;
    uint64_t name_len;
    int st = rd_str(p, &name, &name_len, "a tensor name");
    if (st) return st;
    if (name_len == 0 || name_len > MAX_NAME_LEN)
        return est_diag(p->diag, EDGESTT_E_FORMAT, "gguf: tensor name of length %llu at byte %zu",
                        (unsigned long long)name_len, p->pos);
    t->name = name;
    t->name_len = (uint32_t)name_len;
    uint32_t n_dims, type;
    st = rd_u32(p, &n_dims, "a tensor info");
    if (st) return st;
    if (n_dims < 1 || n_dims > EST_MAX_DIMS)
        return est_diag(p->diag, EDGESTT_E_FORMAT, "gguf: tensor '%.*s' has %u dimensions (1..%d)",
                        (int)t->name_len, name, n_dims, EST_MAX_DIMS);
    t->n_dims = (int32_t)n_dims;
    for (int i = 0; i < EST_MAX_DIMS; i++) t->ne[i] = 1;
    for (uint32_t i = 0; i < n_dims; i++) {
        uint64_t d;
        st = rd_u64(p, &d, "tensor dimensions");
        if (st) return st;
        if (d == 0 || d > (uint64_t)INT64_MAX)
            return est_diag(p->diag, EDGESTT_E_FORMAT, "gguf: tensor '%.*s' dimension %u is %llu",
                            (int)t->name_len, name, i, (unsigned long long)d);
        t->ne[i] = (int64_t)d;
    }
    st = rd_u32(p, &type, "a tensor info");
    if (!st) st = rd_u64(p, offset, "a tensor info");
    if (st) return st;
    t->type = type > INT32_MAX ? -1 : (int32_t)type;
    st = est_file_tensor_size(t->type, t->n_dims, t->ne, &t->nbytes);
    if (st == EDGESTT_E_UNSUPPORTED)
        return est_diag(p->diag, st, "gguf: tensor '%.*s' has type %u, not f32/f16/q8_0/q4_0",
                        (int)t->name_len, name, type);
    if (st)
        return est_diag(p->diag, st, "gguf: tensor '%.*s' has an invalid shape for type %s",
                        (int)t->name_len, name, edgestt_type_name(t->type));
    t->data = NULL;
    return EDGESTT_OK;
}

/* The one parser: fill == 0 scans, fill == 1 stores into the tables (counts must then match lay). */
static int parse(const void *data, size_t size, est_gguf_layout *lay, est_gguf_visit_fn visit,
                 void *ctx, int fill, est_gguf_kv *kv_tab, est_file_tensor *t_tab, edgestt_diag *diag) {
    parser P = {(const uint8_t *)data, size, 0, diag}, *p = &P;
    if (!data && size) return est_diag(diag, EDGESTT_E_INVALID_ARG, "gguf: no data");
    if (size < 4) return est_diag(diag, EDGESTT_E_TRUNCATED, "gguf: file of %zu bytes has no header", size);
    if (est_rd_u32(p->base) != EST_GGUF_MAGIC) return est_diag(diag, EDGESTT_E_FORMAT, "gguf: bad magic");
    p->pos = 4;
    uint32_t version;
    uint64_t n_tensors, n_kv;
    int st = rd_u32(p, &version, "the header");
    if (st) return st;
    if (version != 2 && version != 3)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "gguf: version %u is not supported (2 or 3)", version);
    st = rd_u64(p, &n_tensors, "the header");
    if (!st) st = rd_u64(p, &n_kv, "the header");
    if (st) return st;
    if (n_kv > left(p) / MIN_KV_BYTES)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "gguf: %llu KV pairs cannot fit in the %zu bytes left",
                        (unsigned long long)n_kv, left(p));
    if (fill && n_kv != lay->n_kv) return est_diag(diag, EDGESTT_E_INTERNAL, "gguf: image changed");
    uint32_t alignment = EST_GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv; i++) {
        est_gguf_kv kv;
        st = parse_kv(p, &kv);
        if (st) return st;
        if (est_gguf_key_is(&kv, "general.alignment")) {
            if (kv.type != EST_GGUF_U32)
                return est_diag(diag, EDGESTT_E_FORMAT, "gguf: general.alignment is not a u32");
            alignment = est_rd_u32(kv.val);
            if (alignment == 0 || (alignment & (alignment - 1)))
                return est_diag(diag, EDGESTT_E_FORMAT,
                                "gguf: general.alignment %u is not a nonzero power of two", alignment);
        }
        if (fill) kv_tab[i] = kv;
        if (visit && (st = visit(ctx, &kv)) != 0) return st;
    }
    if (n_tensors > left(p) / MIN_INFO_BYTES)
        return est_diag(diag, EDGESTT_E_TRUNCATED,
                        "gguf: %llu tensor infos cannot fit in the %zu bytes left",
                        (unsigned long long)n_tensors, left(p));
    if (fill && n_tensors != lay->n_tensors) return est_diag(diag, EDGESTT_E_INTERNAL, "gguf: image changed");
    /* Pass 1 over the infos: structure and sizes; finds where the data section starts. */
    size_t infos_at = p->pos;
    for (uint64_t i = 0; i < n_tensors; i++) {
        est_file_tensor t;
        uint64_t off;
        st = parse_info(p, &t, &off);
        if (st) return st;
    }
    size_t data_offset;
    if (!est_add(p->pos, alignment - 1, &data_offset))
        return est_diag(diag, EDGESTT_E_FORMAT, "gguf: data section offset overflows");
    data_offset &= ~(size_t)(alignment - 1);
    if (n_tensors && data_offset > size)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "gguf: file ends before its data section");
    /* Pass 2: resolve and check every tensor's data range. */
    p->pos = infos_at;
    for (uint64_t i = 0; i < n_tensors; i++) {
        est_file_tensor t;
        uint64_t off;
        st = parse_info(p, &t, &off);
        if (st) return st;
        if (off % alignment)
            return est_diag(diag, EDGESTT_E_FORMAT, "gguf: tensor '%.*s' offset %llu is not %u-aligned",
                            (int)t.name_len, t.name, (unsigned long long)off, alignment);
        if (!est_in_bounds(off, t.nbytes, size - data_offset))
            return est_diag(diag, EDGESTT_E_TRUNCATED,
                            "gguf: tensor '%.*s' (%zu bytes at data offset %llu) runs past the end of the file",
                            (int)t.name_len, t.name, t.nbytes, (unsigned long long)off);
        t.data = p->base + data_offset + (size_t)off;
        if (fill) t_tab[i] = t;
    }
    lay->version = version;
    lay->n_kv = n_kv;
    lay->n_tensors = n_tensors;
    lay->alignment = alignment;
    lay->data_offset = data_offset;
    return EDGESTT_OK;
}

int est_gguf_scan(const void *data, size_t size, est_gguf_layout *lay, est_gguf_visit_fn visit,
                  void *ctx, edgestt_diag *diag) {
    memset(lay, 0, sizeof *lay);
    return parse(data, size, lay, visit, ctx, 0, NULL, NULL, diag);
}

int est_gguf_table_counts(const est_gguf_layout *lay, size_t *n_kv, size_t *n_tensors) {
    if (lay->n_kv > SIZE_MAX / sizeof(est_gguf_kv) || lay->n_tensors > SIZE_MAX / sizeof(est_file_tensor))
        return EDGESTT_E_LIMIT;
    *n_kv = (size_t)lay->n_kv;
    *n_tensors = (size_t)lay->n_tensors;
    return EDGESTT_OK;
}

int est_gguf_fill(const void *data, size_t size, const est_gguf_layout *lay, est_gguf_kv *kv,
                  est_file_tensor *tensors, est_gguf *g, edgestt_diag *diag) {
    est_gguf_layout l = *lay;
    if ((!kv && lay->n_kv) || (!tensors && lay->n_tensors))
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "gguf: no tables to fill");
    int st = parse(data, size, &l, NULL, NULL, 1, kv, tensors, diag);
    if (st) return st;
    g->data = (const uint8_t *)data;
    g->size = size;
    g->lay = l;
    g->kv = kv;
    g->tensors = tensors;
    return EDGESTT_OK;
}

/* ---- lookups ---------------------------------------------------------------------------- */

int est_gguf_key_is(const est_gguf_kv *kv, const char *key) {
    size_t n = strlen(key);
    return kv->key_len == n && memcmp(kv->key, key, n) == 0;
}

int64_t est_gguf_find(const est_gguf_kv *kv, size_t n_kv, const char *key) {
    for (size_t i = 0; i < n_kv; i++)
        if (est_gguf_key_is(&kv[i], key)) return (int64_t)i;
    return -1;
}

/* Integer value of a scalar KV as (negative?, magnitude); 0 if not an integer type. */
static int int_value(const est_gguf_kv *kv, int *neg, uint64_t *mag) {
    const uint8_t *v = kv->val;
    int64_t s;
    *neg = 0;
    switch (kv->type) {
    case EST_GGUF_U8: case EST_GGUF_BOOL: *mag = v[0]; return 1;
    case EST_GGUF_U16: *mag = est_rd_u16(v); return 1;
    case EST_GGUF_U32: *mag = est_rd_u32(v); return 1;
    case EST_GGUF_U64: *mag = est_rd_u64(v); return 1;
    case EST_GGUF_I8: s = (int8_t)v[0]; break;
    case EST_GGUF_I16: s = (int16_t)est_rd_u16(v); break;
    case EST_GGUF_I32: s = est_rd_i32(v); break;
    case EST_GGUF_I64: s = (int64_t)est_rd_u64(v); break;
    default: return 0;
    }
    *neg = s < 0;
    *mag = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
    return 1;
}

int est_gguf_get_u64(const est_gguf_kv *kv, size_t n_kv, const char *key, uint64_t *out,
                     edgestt_diag *diag) {
    int64_t i = est_gguf_find(kv, n_kv, key);
    if (i < 0) return est_diag(diag, EDGESTT_E_NOT_FOUND, "gguf: key '%s' is missing", key);
    int neg;
    uint64_t mag;
    if (!int_value(&kv[i], &neg, &mag))
        return est_diag(diag, EDGESTT_E_FORMAT, "gguf: key '%s' is not an integer (type %u)", key, kv[i].type);
    if (neg) return est_diag(diag, EDGESTT_E_FORMAT, "gguf: key '%s' is negative", key);
    *out = mag;
    return EDGESTT_OK;
}

int est_gguf_get_u32(const est_gguf_kv *kv, size_t n_kv, const char *key, uint32_t *out,
                     edgestt_diag *diag) {
    uint64_t v;
    int st = est_gguf_get_u64(kv, n_kv, key, &v, diag);
    if (st) return st;
    if (v > UINT32_MAX)
        return est_diag(diag, EDGESTT_E_FORMAT, "gguf: key '%s' = %llu does not fit 32 bits", key,
                        (unsigned long long)v);
    *out = (uint32_t)v;
    return EDGESTT_OK;
}

int est_gguf_get_f32(const est_gguf_kv *kv, size_t n_kv, const char *key, float *out,
                     edgestt_diag *diag) {
    int64_t i = est_gguf_find(kv, n_kv, key);
    if (i < 0) return est_diag(diag, EDGESTT_E_NOT_FOUND, "gguf: key '%s' is missing", key);
    if (kv[i].type == EST_GGUF_F32) {
        *out = est_rd_f32(kv[i].val);
        return EDGESTT_OK;
    }
    if (kv[i].type == EST_GGUF_F64) {
        double d;
        memcpy(&d, kv[i].val, 8);
        *out = (float)d;
        return EDGESTT_OK;
    }
    return est_diag(diag, EDGESTT_E_FORMAT, "gguf: key '%s' is not a float (type %u)", key, kv[i].type);
}

int est_gguf_get_str(const est_gguf_kv *kv, size_t n_kv, const char *key, const char **s,
                     size_t *len, edgestt_diag *diag) {
    int64_t i = est_gguf_find(kv, n_kv, key);
    if (i < 0) return est_diag(diag, EDGESTT_E_NOT_FOUND, "gguf: key '%s' is missing", key);
    if (kv[i].type != EST_GGUF_STRING)
        return est_diag(diag, EDGESTT_E_FORMAT, "gguf: key '%s' is not a string (type %u)", key, kv[i].type);
    *len = (size_t)est_rd_u64(kv[i].val); /* the scan checked it against the image */
    *s = (const char *)kv[i].val + 8;
    return EDGESTT_OK;
}

int est_gguf_get_arr(const est_gguf_kv *kv, size_t n_kv, const char *key, int elem_type,
                     const uint8_t **first, uint64_t *n, edgestt_diag *diag) {
    int64_t i = est_gguf_find(kv, n_kv, key);
    if (i < 0) return est_diag(diag, EDGESTT_E_NOT_FOUND, "gguf: key '%s' is missing", key);
    if (kv[i].type != EST_GGUF_ARRAY || (elem_type >= 0 && kv[i].arr_type != (uint32_t)elem_type))
        return est_diag(diag, EDGESTT_E_FORMAT, "gguf: key '%s' is not an array of type %d", key, elem_type);
    *first = kv[i].val;
    *n = kv[i].arr_n;
    return EDGESTT_OK;
}

int est_gguf_next_str(const uint8_t **p, const uint8_t *end, const char **s, uint64_t *len) {
    if (end < *p || (size_t)(end - *p) < 8) return 0;
    uint64_t n = est_rd_u64(*p);
    if (n > (uint64_t)(end - *p) - 8) return 0;
    *s = (const char *)*p + 8;
    *len = n;
    *p += 8 + (size_t)n;
    return 1;
}

/* ---- shared with ggml_bin.c: tensor size from type and shape ---------------------------- */

int est_file_tensor_size(int type, int n_dims, const int64_t ne[EST_MAX_DIMS], size_t *nbytes) {
    if (!est_type_supported(type)) return EDGESTT_E_UNSUPPORTED;
    if (n_dims < 1 || n_dims > EST_MAX_DIMS) return EDGESTT_E_FORMAT;
    for (int i = 0; i < EST_MAX_DIMS; i++)
        if (ne[i] < 1) return EDGESTT_E_FORMAT;
    if (type != EDGESTT_TYPE_F32 && type != EDGESTT_TYPE_F16 && ne[0] % EST_QK) return EDGESTT_E_FORMAT;
    size_t n = est_type_row_bytes(type, (uint64_t)ne[0]);
    if (!n) return EDGESTT_E_LIMIT;
    uint64_t elems = (uint64_t)ne[0];
    for (int i = 1; i < EST_MAX_DIMS; i++) {
        if ((uint64_t)ne[i] > SIZE_MAX || !est_mul(n, (size_t)ne[i], &n)) return EDGESTT_E_LIMIT;
        if (!est_mul_u64(elems, (uint64_t)ne[i], &elems) || elems > (uint64_t)INT64_MAX) return EDGESTT_E_LIMIT;
    }
    *nbytes = n;
    return EDGESTT_OK;
}
