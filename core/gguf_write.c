/*
 * gguf_write.c - the GGUF v3 writer (see gguf_write.h): sequential pieces through a sink.
 */
#include "gguf_write.h"

void est_gguw_init(est_gguw *w, est_sink_fn sink, void *ctx) {
    w->sink = sink;
    w->ctx = ctx;
    w->pos = 0;
    w->status = sink ? EDGESTT_OK : EDGESTT_E_INVALID_ARG;
}

int est_gguw_status(const est_gguw *w) { return w->status; }

void est_gguw_bytes(est_gguw *w, const void *p, size_t n) {
    if (w->status || !n) return;
    int st = w->sink(w->ctx, w->pos, p, n);
    if (st) w->status = st < 0 ? st : EDGESTT_E_IO;
    else w->pos += n;
}

void est_gguw_pad(est_gguw *w, uint32_t align) {
    static const uint8_t zero[64];
    uint64_t to = est_gguw_align_up(w->pos, align);
    while (!w->status && w->pos < to) {
        uint64_t n = to - w->pos;
        est_gguw_bytes(w, zero, n > sizeof zero ? sizeof zero : (size_t)n);
    }
}

void est_gguw_patch(est_gguw *w, uint64_t off, const void *p, size_t n) {
    if (w->status || !n) return;
    if (off > w->pos || n > w->pos - off) {
        w->status = EDGESTT_E_INTERNAL;
        return;
    }
    int st = w->sink(w->ctx, off, p, n);
    if (st) w->status = st < 0 ? st : EDGESTT_E_IO;
}

void est_gguw_u32(est_gguw *w, uint32_t v) { est_gguw_bytes(w, &v, 4); }
void est_gguw_u64(est_gguw *w, uint64_t v) { est_gguw_bytes(w, &v, 8); }

void est_gguw_str(est_gguw *w, const char *s, size_t n) {
    est_gguw_u64(w, (uint64_t)n);
    est_gguw_bytes(w, s, n);
}

void est_gguw_header(est_gguw *w, uint64_t n_tensors, uint64_t n_kv) {
    est_gguw_u32(w, EST_GGUF_MAGIC);
    est_gguw_u32(w, 3);
    est_gguw_u64(w, n_tensors);
    est_gguw_u64(w, n_kv);
}

void est_gguw_kv_str(est_gguw *w, const char *key, const char *s, size_t n) {
    est_gguw_str(w, key, strlen(key));
    est_gguw_u32(w, EST_GGUF_STRING);
    est_gguw_str(w, s, n);
}

void est_gguw_kv_u32(est_gguw *w, const char *key, uint32_t v) {
    est_gguw_str(w, key, strlen(key));
    est_gguw_u32(w, EST_GGUF_U32);
    est_gguw_u32(w, v);
}

void est_gguw_kv_arr(est_gguw *w, const char *key, uint32_t elem_type, uint64_t n) {
    est_gguw_str(w, key, strlen(key));
    est_gguw_u32(w, EST_GGUF_ARRAY);
    est_gguw_u32(w, elem_type);
    est_gguw_u64(w, n);
}

void est_gguw_tensor_info(est_gguw *w, const char *name, size_t name_len, int n_dims, const int64_t *ne, int type,
                          uint64_t offset) {
    est_gguw_str(w, name, name_len);
    est_gguw_u32(w, (uint32_t)n_dims);
    for (int d = 0; d < n_dims; d++) est_gguw_u64(w, (uint64_t)ne[d]);
    est_gguw_u32(w, (uint32_t)type);
    est_gguw_u64(w, offset);
}
