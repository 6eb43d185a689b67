/*
 * convert_pk.c - edgestt_convert of a Parakeet GGUF (models/parakeet-gguf.md) into the same schema
 * with the requested matrix type.  Every key is copied as it is, but general.file_type,
 * general.alignment and edgestt.crc32, which are written anew; tensors keep the file's order.  The
 * schema's matrices (the names models/parakeet/nemo_to_gguf.py --type converts: linear and
 * pointwise-conv weights, LSTM weights, the predictor embedding) take params->type, stored 2-D
 * [n][k] when quantized, F16 where the rows are not whole 32-blocks; everything else is F32.
 * The input is bound first (est_pk_open, reference kernels), so a file the engine cannot open is
 * not converted.  One output file (no shards); its per-tensor CRC-32 is patched in at the end.
 */
#include <string.h>

#include "convert.h"
#include "crc32.h"
#include "gguf.h"
#include "internal.h"
#include "../kernels/kernels.h"
#include "../kernels/quant.h"
#include "../models/parakeet.h"
#include "../port/port.h"

#define PK_CHUNK 4096 /* elements converted per step (a multiple of 32) */
#define PK_ALIGN 64

/* 1 if the tensor's name contains s. */
static int name_has(const est_file_tensor *t, const char *s) {
    const size_t n = strlen(s);
    for (size_t i = 0; n <= t->name_len && i + n <= t->name_len; i++)
        if (!memcmp(t->name + i, s, n)) return 1;
    return 0;
}

static int name_starts(const est_file_tensor *t, const char *s) {
    const size_t n = strlen(s);
    return t->name_len >= n && !memcmp(t->name, s, n);
}

/* Rows n (the PyTorch shape's first dimension, ggml's last) and row length k of a tensor. */
static void rows_of(const est_file_tensor *t, int64_t *n, int64_t *k) {
    const int d = t->n_dims >= 1 && t->n_dims <= EST_MAX_DIMS ? t->n_dims : 1;
    *n = t->ne[d - 1];
    *k = *n ? est_file_tensor_nelem(t) / *n : 0;
}

/* A matrix of the schema ("--type applies" rows of models/parakeet-gguf.md)? */
static int is_matrix(const est_file_tensor *t) {
    static const char w[] = "weight";
    if (t->n_dims < 2 || t->name_len < sizeof w - 1 || memcmp(t->name + t->name_len - (sizeof w - 1), w, sizeof w - 1))
        return name_has(t, ".lstm.weight_");
    if (name_starts(t, "preprocessor.") || name_has(t, ".norm_") || name_has(t, ".batch_norm.") ||
        name_has(t, "depthwise_conv"))
        return 0;
    if (name_starts(t, "encoder.pre_encode.conv.") && t->ne[0] != 1 && t->n_dims == 4) return 0; /* 3x3 kernels */
    return 1;
}

/* Output type of a tensor for the requested type. */
static int out_type(const est_file_tensor *t, int type) {
    if (!is_matrix(t) || type == EDGESTT_TYPE_F32) return EDGESTT_TYPE_F32;
    int64_t n, k;
    rows_of(t, &n, &k);
    if (est_type_is_quant(type) && (k <= 0 || k % 32)) return EDGESTT_TYPE_F16;
    return type;
}

/* The output dims of a tensor of type ot: quantized ones 2-D (k, n). */
static int out_dims(const est_file_tensor *t, int ot, int64_t ne[EST_MAX_DIMS]) {
    for (int i = 0; i < EST_MAX_DIMS; i++) ne[i] = t->ne[i];
    if (!est_type_is_quant(ot)) return t->n_dims;
    int64_t n, k;
    rows_of(t, &n, &k);
    ne[0] = k, ne[1] = n, ne[2] = ne[3] = 1;
    return 2;
}

typedef struct pk_out {
    edgestt_sink_fn sink;
    void *user;
} pk_out;

static int pk_sink(void *ctx, uint64_t off, const void *data, size_t n) {
    const pk_out *o = (const pk_out *)ctx;
    return o->sink(o->user, 0, 1, off, data, n) ? EDGESTT_E_IO : 0;
}

/* Keys copied verbatim (all but the ones written anew). */
static int copied(const est_gguf_kv *kv) {
    return !est_gguf_key_is(kv, "general.file_type") && !est_gguf_key_is(kv, "general.alignment") &&
           !est_gguf_key_is(kv, "edgestt.crc32");
}

/* Bytes of tensor t converted to ot: written through w, CRC into *crc. */
static void write_data(est_gguw *w, const est_file_tensor *t, int ot, float *f, uint8_t *o, uint32_t *crc) {
    const int64_t n = est_file_tensor_nelem(t);
    if (t->type == ot) {
        *crc = est_crc32(*crc, t->data, t->nbytes);
        est_gguw_bytes(w, t->data, t->nbytes);
        return;
    }
    for (int64_t i = 0; i < n && !est_gguw_status(w); i += PK_CHUNK) {
        const int64_t c = n - i < PK_CHUNK ? n - i : PK_CHUNK;
        est_dequantize_row(t->type, t->data + est_type_row_bytes(t->type, (uint64_t)i), f, c);
        if (ot == EDGESTT_TYPE_F32) memcpy(o, f, (size_t)c * 4);
        else if (ot == EDGESTT_TYPE_F16)
            for (int64_t j = 0; j < c; j++) {
                const uint16_t h = est_f32_to_f16(f[j]);
                memcpy(o + 2 * j, &h, 2);
            }
        else if (ot == EDGESTT_TYPE_Q8_0) est_quantize_row_q8_0_ref(f, o, c);
        else est_quantize_row_q4_0_ref(f, o, c);
        const size_t nb = est_type_row_bytes(ot, (uint64_t)c);
        *crc = est_crc32(*crc, o, nb);
        est_gguw_bytes(w, o, nb);
    }
}

/* Scan visitor: sets *ctx when general.architecture is the string "parakeet". */
static int visit_arch(void *ctx, const est_gguf_kv *kv) {
    if (est_gguf_key_is(kv, "general.architecture") && kv->type == EST_GGUF_STRING && kv->end - kv->val == 16 &&
        !memcmp(kv->val + 8, "parakeet", 8))
        *(int *)ctx = 1;
    return 0;
}

int est_convert_pk_detect(const uint8_t *img, size_t size) {
    int pk = 0;
    est_gguf_layout lay;
    if (size < 4 || est_rd_u32(img) != EST_GGUF_MAGIC) return 0;
    (void)est_gguf_scan(img, size, &lay, visit_arch, &pk, NULL);
    return pk;
}

int est_convert_pk_gguf(const uint8_t *img, size_t size, const edgestt_convert_params *p, edgestt_sink_fn sink,
                        void *user, edgestt_convert_report *rep, edgestt_diag *diag) {
    if (p->type != EDGESTT_TYPE_F32 && p->type != EDGESTT_TYPE_F16 && p->type != EDGESTT_TYPE_Q8_0 &&
        p->type != EDGESTT_TYPE_Q4_0)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "convert: parakeet: type %d is not f32, f16, q8_0 or q4_0", p->type);
    if (p->n_keep)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "convert: parakeet: --keep patterns are not supported (one type)");
    /* the model must bind: the same checks as opening it */
    size_t need = 0;
    int st = est_pk_open_size(img, size, &need, diag);
    if (st) return st;
    est_gguf_layout lay;
    if ((st = est_gguf_scan(img, size, &lay, NULL, NULL, diag)) != 0) return st;
    size_t n_kv, n_t, kvb, tb, total;
    if ((st = est_gguf_table_counts(&lay, &n_kv, &n_t)) != 0) return est_diag(diag, st, "gguf: tables overflow");
    if (!est_mul(n_kv, sizeof(est_gguf_kv), &kvb) || !est_mul(n_t, sizeof(est_file_tensor), &tb) ||
        !est_add(kvb, tb, &total) || !est_add(total, need + 64 + 4 * (size_t)PK_CHUNK * 2 + 4 * n_t + 3 * 64, &total))
        return est_diag(diag, EDGESTT_E_LIMIT, "convert: parakeet: tables overflow size_t");
    uint8_t *block = (uint8_t *)est_port_alloc(total);
    if (!block) return est_diag(diag, EDGESTT_E_NOMEM, "convert: cannot allocate %zu bytes", total);
    est_gguf_kv *kv = (est_gguf_kv *)block;
    est_file_tensor *ft = (est_file_tensor *)(block + kvb);
    uint8_t *pk_mem = block + est_gguw_align_up(kvb + tb, 64);
    float *f = (float *)(pk_mem + est_gguw_align_up(need, 64));
    uint8_t *o = (uint8_t *)(f + PK_CHUNK);
    uint32_t *crcs = (uint32_t *)(o + 4 * (size_t)PK_CHUNK);
    est_gguf g;
    est_pk_model *pm = NULL;
    const est_kernels *kt = est_kernels_variant(0);
    if ((st = est_pk_open(img, size, kt, pk_mem, need, &pm, diag)) != 0 ||
        (st = est_gguf_fill(img, size, &lay, kv, ft, &g, diag)) != 0) {
        est_port_free(block);
        return st;
    }
    /* header: copied keys + file type + alignment + the CRC array (zeros, patched at the end) */
    size_t n_copy = 0;
    for (size_t i = 0; i < n_kv; i++) n_copy += (size_t)copied(&kv[i]);
    pk_out po = {sink, user};
    est_gguw w;
    est_gguw_init(&w, pk_sink, &po);
    est_gguw_header(&w, (uint64_t)n_t, (uint64_t)n_copy + 3);
    for (size_t i = 0; i < n_kv; i++)
        if (copied(&kv[i])) /* the pair's bytes: u64 key length, key, u32 type, value */
            est_gguw_bytes(&w, kv[i].key - 8, (size_t)(kv[i].end - (const uint8_t *)(kv[i].key - 8)));
    est_gguw_kv_u32(&w, "general.alignment", PK_ALIGN);
    est_gguw_kv_u32(&w, "general.file_type",
                    p->type == EDGESTT_TYPE_F16 ? 1u : p->type == EDGESTT_TYPE_Q8_0 ? 7u : p->type == EDGESTT_TYPE_Q4_0 ? 2u : 0u);
    est_gguw_kv_arr(&w, "edgestt.crc32", EST_GGUF_U32, (uint64_t)n_t);
    const uint64_t crc_at = w.pos;
    for (size_t i = 0; i < n_t; i++) est_gguw_u32(&w, 0);
    uint64_t off = 0;
    for (size_t i = 0; i < n_t; i++) {
        const int ot = out_type(&ft[i], p->type);
        int64_t ne[EST_MAX_DIMS];
        const int nd = out_dims(&ft[i], ot, ne);
        est_gguw_tensor_info(&w, ft[i].name, ft[i].name_len, nd, ne, ot, off);
        off = est_gguw_align_up(off + est_type_row_bytes(ot, (uint64_t)ne[0]) * (uint64_t)(ne[1] * ne[2] * ne[3]), PK_ALIGN);
        if (rep && ot >= 0 && ot < 16) rep->n_by_type[ot]++;
    }
    est_gguw_pad(&w, PK_ALIGN);
    for (size_t i = 0; i < n_t && !est_gguw_status(&w); i++) {
        crcs[i] = 0;
        write_data(&w, &ft[i], out_type(&ft[i], p->type), f, o, &crcs[i]);
        est_gguw_pad(&w, PK_ALIGN);
    }
    est_gguw_patch(&w, crc_at, crcs, 4 * n_t); /* little-endian hosts, as the writer */
    st = est_gguw_status(&w);
    const uint64_t bytes = w.pos;
    est_port_free(block);
    if (st) return est_diag(diag, st, "convert: parakeet: writing failed (%s)", edgestt_strerror(st));
    if (rep) {
        rep->input = EDGESTT_INPUT_GGUF;
        rep->n_tensors = (int)n_t;
        rep->n_shards = 1;
        rep->bytes = bytes;
    }
    return EDGESTT_OK;
}
