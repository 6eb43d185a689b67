/*
 * fuzz_gguf.c - libFuzzer harness: the bytes are a GGUF image.
 *
 * 1. The reader alone (core/gguf.c), on any GGUF: est_gguf_scan with a visitor, then tables of the
 *    scanned size and est_gguf_fill, which must succeed on what the scan accepted; every KV is
 *    looked up through every typed getter, string arrays are walked to their end, and every
 *    tensor description must honour core/modelfile.h's invariants (dims, size, data in bounds
 *    and aligned).
 * 2. The whole open path (est_fuzz_model_image): plan, caller buffer, open, info, tokens, close.
 *
 * Run: build/fuzz/fuzz_gguf -max_len=65536 build/fuzz/work/gguf tests/fuzz/corpus/gguf
 * Seeds are header prefixes and small synthetic files (a valid Whisper GGUF needs n_vocab >= 50001
 * strings, ~0.5 MB): mostly the reader's and the probe's error paths are reached.
 */
#include <stdlib.h>
#include <string.h>

#include "../../core/gguf.h"
#include "../../kernels/quant.h"
#include "fuzz.h"

/* Visitor: count the pairs and touch every key byte; stops the scan at pair *stop_at (if set). */
typedef struct fz_gguf_visit {
    uint64_t n, stop_at;
    unsigned sum;
} fz_gguf_visit;

static int fz_gguf_visitor(void *ctx, const est_gguf_kv *kv) {
    fz_gguf_visit *v = (fz_gguf_visit *)ctx;
    for (uint32_t i = 0; i < kv->key_len; i++) v->sum += (uint8_t)kv->key[i];
    FZ_CHECK(kv->end >= kv->val);
    if (++v->n == v->stop_at) return EDGESTT_E_NOT_FOUND;
    return 0;
}

/* A key as a NUL-terminated string for the getters (keys with NUL bytes or over 255 are skipped). */
static int fz_gguf_key(const est_gguf_kv *kv, char *buf, size_t cap) {
    if (kv->key_len >= cap || memchr(kv->key, 0, kv->key_len)) return 0;
    memcpy(buf, kv->key, kv->key_len);
    buf[kv->key_len] = 0;
    return 1;
}

/* Every getter on one key: results consistent with the pair the fill stored. */
static void fz_gguf_lookups(const uint8_t *data, size_t size, const est_gguf_kv *kv, size_t n_kv, size_t i) {
    char key[256];
    if (!fz_gguf_key(&kv[i], key, sizeof key)) return;
    const int64_t first = est_gguf_find(kv, n_kv, key);
    FZ_CHECK(first >= 0 && (size_t)first <= i);
    if (first != (int64_t)i) return; /* a duplicate key: lookups see the first one */
    edgestt_diag d;
    uint32_t u32;
    uint64_t u64;
    float f;
    const char *s;
    size_t len;
    const uint8_t *arr;
    uint64_t n;
    memset(&d, 0, sizeof d);
    int st = est_gguf_get_u64(kv, n_kv, key, &u64, &d);
    est_fuzz_check_status(st, &d);
    memset(&d, 0, sizeof d);
    int st32 = est_gguf_get_u32(kv, n_kv, key, &u32, &d);
    est_fuzz_check_status(st32, &d);
    if (!st32) FZ_CHECK(st == 0 && u64 == u32);
    memset(&d, 0, sizeof d);
    st = est_gguf_get_f32(kv, n_kv, key, &f, &d);
    est_fuzz_check_status(st, &d);
    FZ_CHECK(!st == (kv[i].type == EST_GGUF_F32 || kv[i].type == EST_GGUF_F64));
    memset(&d, 0, sizeof d);
    st = est_gguf_get_str(kv, n_kv, key, &s, &len, &d);
    est_fuzz_check_status(st, &d);
    FZ_CHECK(!st == (kv[i].type == EST_GGUF_STRING));
    if (!st) FZ_CHECK((const uint8_t *)s >= data && len <= size - (size_t)((const uint8_t *)s - data));
    memset(&d, 0, sizeof d);
    st = est_gguf_get_arr(kv, n_kv, key, -1, &arr, &n, &d);
    est_fuzz_check_status(st, &d);
    FZ_CHECK(!st == (kv[i].type == EST_GGUF_ARRAY));
    if (st) return;
    FZ_CHECK(n == kv[i].arr_n && arr == kv[i].val);
    const size_t esz = est_gguf_type_size(kv[i].arr_type);
    if (esz) {
        /* fixed-size elements end exactly where the pair ends */
        FZ_CHECK(n <= (uint64_t)(kv[i].end - arr) / esz && arr + (size_t)n * esz == kv[i].end);
    } else if (kv[i].arr_type == EST_GGUF_STRING) {
        /* the walk a vocabulary reader does: every element is inside, the last ends the pair */
        const uint8_t *p = arr;
        uint64_t k = 0, l;
        while (k < n && est_gguf_next_str(&p, data + size, &s, &l)) k++;
        FZ_CHECK(k == n && p == kv[i].end);
    }
}

/* The reader on its own: scan, tables, fill, invariants. */
static void fz_gguf_reader(const uint8_t *data, size_t size) {
    est_gguf_layout lay;
    edgestt_diag d;
    fz_gguf_visit v = {0, 0, 0};
    memset(&d, 0, sizeof d);
    int st = est_gguf_scan(data, size, &lay, fz_gguf_visitor, &v, &d);
    est_fuzz_check_status(st, &d);
    if (st) return;
    FZ_CHECK(v.n == lay.n_kv);
    FZ_CHECK(lay.alignment && !(lay.alignment & (lay.alignment - 1)) && lay.data_offset % lay.alignment == 0);
    if (lay.n_kv > 1) { /* a visitor that stops the scan part-way: its status comes back */
        fz_gguf_visit v2 = {0, 1 + (lay.n_kv - 1) / 2, 0};
        FZ_CHECK(est_gguf_scan(data, size, &lay, fz_gguf_visitor, &v2, NULL) == EDGESTT_E_NOT_FOUND);
        FZ_CHECK(est_gguf_scan(data, size, &lay, NULL, NULL, NULL) == EDGESTT_OK);
    }
    size_t n_kv, n_t;
    if (est_gguf_table_counts(&lay, &n_kv, &n_t)) return;
    /* counts were checked against the bytes left, so the tables are bounded by the input */
    FZ_CHECK(n_kv <= size / 13 && n_t <= size / 24);
    est_gguf_kv *kv = malloc((n_kv ? n_kv : 1) * sizeof *kv);
    est_file_tensor *t = malloc((n_t ? n_t : 1) * sizeof *t);
    est_gguf g;
    if (kv && t) {
        memset(&d, 0, sizeof d);
        st = est_gguf_fill(data, size, &lay, kv, t, &g, &d);
        FZ_CHECK(st == EDGESTT_OK); /* the fill never fails on a scanned image */
        if (!st) {
            FZ_CHECK(g.lay.n_kv == lay.n_kv && g.lay.n_tensors == lay.n_tensors &&
                     g.lay.data_offset == lay.data_offset);
            for (size_t i = 0; i < n_kv; i++) {
                FZ_CHECK(kv[i].key_len > 0 && (const uint8_t *)kv[i].key >= data && kv[i].end <= data + size);
                if (i < 64) fz_gguf_lookups(data, size, kv, n_kv, i);
            }
            for (size_t i = 0; i < n_t; i++) {
                const est_file_tensor *x = &t[i];
                FZ_CHECK(x->n_dims >= 1 && x->n_dims <= EST_MAX_DIMS && est_type_supported(x->type));
                FZ_CHECK(x->ne[0] >= 1 && x->ne[1] >= 1 && x->ne[2] >= 1 && x->ne[3] >= 1);
                size_t nb = est_type_row_bytes(x->type, (uint64_t)x->ne[0]);
                for (int k = 1; k < EST_MAX_DIMS; k++) nb *= (size_t)x->ne[k]; /* no overflow: checked */
                FZ_CHECK(nb == x->nbytes);
                FZ_CHECK(x->data >= data + lay.data_offset && x->nbytes <= size - (size_t)(x->data - data));
                FZ_CHECK((size_t)(x->data - data - lay.data_offset) % lay.alignment == 0);
                FZ_CHECK((const uint8_t *)x->name >= data && x->name_len <= size - (size_t)((const uint8_t *)x->name - data));
            }
        }
    }
    free(kv);
    free(t);
}

int est_fuzz_gguf(const uint8_t *data, size_t size) {
    fz_gguf_reader(data, size);
    est_fuzz_model_image(data, size, est_fuzz_hash(data, size < 4096 ? size : 4096) ^ (uint32_t)size);
    return 0;
}

#ifndef EST_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return est_fuzz_gguf(data, size); }
#endif
