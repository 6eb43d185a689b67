/*
 * ggml_bin.c - whisper.cpp legacy .bin reader (see ggml_bin.h).  Every length is checked against
 * the bytes left before it is used; the vocabulary and tensor walks are linear in the file size.
 */
#include "ggml_bin.h"

#define MAX_NAME_LEN 1024

/* Tensor records: walk from b->tensors_at to the end; store into tab when non-NULL. */
static int walk_tensors(est_ggml_bin *b, est_file_tensor *tab, uint64_t *count, edgestt_diag *diag) {
    const uint8_t *base = b->data;
    size_t pos = b->tensors_at, size = b->size;
    uint64_t n = 0;
    while (pos < size) {
        if (size - pos < 12)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: file ends inside tensor record %llu at byte %zu",
                            (unsigned long long)n, pos);
        int32_t n_dims = est_rd_i32(base + pos), name_len = est_rd_i32(base + pos + 4);
        int32_t type = est_rd_i32(base + pos + 8);
        size_t at = pos;
        pos += 12;
        if (n_dims < 1 || n_dims > EST_MAX_DIMS)
            return est_diag(diag, EDGESTT_E_FORMAT, "bin: tensor record %llu at byte %zu has %d dimensions",
                            (unsigned long long)n, at, n_dims);
        if (name_len < 1 || name_len > MAX_NAME_LEN)
            return est_diag(diag, EDGESTT_E_FORMAT, "bin: tensor record %llu at byte %zu has a name of %d bytes",
                            (unsigned long long)n, at, name_len);
        size_t hdr = (size_t)n_dims * 4 + (size_t)name_len;
        if (size - pos < hdr)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: file ends inside tensor record %llu at byte %zu",
                            (unsigned long long)n, at);
        est_file_tensor t;
        t.name = (const char *)(base + pos + (size_t)n_dims * 4);
        t.name_len = (uint32_t)name_len;
        t.type = type;
        t.n_dims = n_dims;
        for (int i = 0; i < EST_MAX_DIMS; i++)
            t.ne[i] = i < n_dims ? est_rd_i32(base + pos + 4 * (size_t)i) : 1;
        pos += hdr;
        int st = est_file_tensor_size(type, n_dims, t.ne, &t.nbytes);
        if (st == EDGESTT_E_UNSUPPORTED)
            return est_diag(diag, st, "bin: tensor '%.*s' has type %d, not f32/f16/q8_0/q4_0", name_len,
                            t.name, type);
        if (st == EDGESTT_E_LIMIT)
            return est_diag(diag, st,
                            "bin: tensor '%.*s' of shape [%lld, %lld, %lld, %lld] is larger than this platform's "
                            "address space",
                            name_len, t.name, (long long)t.ne[0], (long long)t.ne[1], (long long)t.ne[2],
                            (long long)t.ne[3]);
        if (st)
            return est_diag(diag, st, "bin: tensor '%.*s' has an invalid shape [%lld, %lld, %lld, %lld]",
                            name_len, t.name, (long long)t.ne[0], (long long)t.ne[1],
                            (long long)t.ne[2], (long long)t.ne[3]);
        if (t.nbytes > size - pos)
            return est_diag(diag, EDGESTT_E_TRUNCATED,
                            "bin: tensor '%.*s' needs %zu bytes at byte %zu, the file has %zu left", name_len,
                            t.name, t.nbytes, pos, size - pos);
        t.data = base + pos;
        pos += t.nbytes;
        if (tab) {
            if (n >= b->n_tensors) return est_diag(diag, EDGESTT_E_INTERNAL, "bin: image changed");
            tab[n] = t;
        }
        n++;
    }
    *count = n;
    return EDGESTT_OK;
}

int est_ggml_bin_scan_header(const void *data, size_t size, est_ggml_bin *b, edgestt_diag *diag) {
    memset(b, 0, sizeof *b);
    const uint8_t *p = (const uint8_t *)data;
    if (!data && size) return est_diag(diag, EDGESTT_E_INVALID_ARG, "bin: no data");
    if (size < 4) return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: file of %zu bytes has no header", size);
    if (est_rd_u32(p) != EST_GGML_MAGIC) return est_diag(diag, EDGESTT_E_FORMAT, "bin: bad magic");
    size_t pos = 4;
    if (size - pos < 4 * EST_GGML_N_HPARAMS + 8)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: file ends inside the header");
    for (int i = 0; i < EST_GGML_N_HPARAMS; i++, pos += 4) b->hp[i] = est_rd_i32(p + pos);
    b->ftype = b->hp[EST_BIN_FTYPE] % EST_GGML_QNT_VERSION_FACTOR;
    b->qnt_version = b->hp[EST_BIN_FTYPE] / EST_GGML_QNT_VERSION_FACTOR;
    /* mel filters */
    b->mel_n_mel = est_rd_i32(p + pos);
    b->mel_n_fft = est_rd_i32(p + pos + 4);
    pos += 8;
    if (b->mel_n_mel < 0 || b->mel_n_fft < 0)
        return est_diag(diag, EDGESTT_E_FORMAT, "bin: mel filters of %d x %d", b->mel_n_mel, b->mel_n_fft);
    /* both factors < 2^31, so the u64 product cannot overflow; once it fits the file it fits size_t */
    if ((uint64_t)b->mel_n_mel * (uint64_t)b->mel_n_fft > (size - pos) / 4)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: file ends inside the mel filters (%d x %d)",
                        b->mel_n_mel, b->mel_n_fft);
    size_t mel_bytes = (size_t)b->mel_n_mel * (size_t)b->mel_n_fft * 4;
    b->mel = p + pos;
    pos += mel_bytes;
    /* vocabulary */
    if (size - pos < 4) return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: file ends before the vocabulary");
    b->n_words = est_rd_i32(p + pos);
    pos += 4;
    if (b->n_words < 0) return est_diag(diag, EDGESTT_E_FORMAT, "bin: vocabulary of %d words", b->n_words);
    if ((size_t)b->n_words > (size - pos) / 4)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: %d vocabulary words cannot fit in the %zu bytes left",
                        b->n_words, size - pos);
    b->words = p + pos;
    size_t words_at = pos;
    for (int32_t i = 0; i < b->n_words; i++) {
        if (size - pos < 4)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: file ends inside vocabulary word %d", i);
        uint32_t len = est_rd_u32(p + pos);
        pos += 4;
        if (len > size - pos)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: vocabulary word %d of %u bytes runs past the end",
                            i, len);
        pos += len;
    }
    b->words_bytes = pos - words_at;
    b->data = p;
    b->size = size;
    b->tensors_at = pos;
    return EDGESTT_OK;
}

int est_ggml_bin_scan_tensors(est_ggml_bin *b, edgestt_diag *diag) {
    return walk_tensors(b, NULL, &b->n_tensors, diag);
}

int est_ggml_bin_scan(const void *data, size_t size, est_ggml_bin *b, edgestt_diag *diag) {
    int st = est_ggml_bin_scan_header(data, size, b, diag);
    return st ? st : est_ggml_bin_scan_tensors(b, diag);
}

int est_ggml_bin_fill(est_ggml_bin *b, est_file_tensor *tab, edgestt_diag *diag) {
    uint64_t n;
    if (!tab && b->n_tensors) return est_diag(diag, EDGESTT_E_INVALID_ARG, "bin: no table to fill");
    int st = walk_tensors(b, tab, &n, diag);
    if (st) return st;
    if (n != b->n_tensors) return est_diag(diag, EDGESTT_E_INTERNAL, "bin: image changed");
    b->tensors = tab;
    return EDGESTT_OK;
}
