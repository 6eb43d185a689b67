/*
 * test_model_corrupt.c - the readers against hostile input.  A synthetic GGUF holds every KV value
 * type (nested arrays too) and checks the reader's tables and typed getters; then synthetic and
 * real model images are truncated at many offsets, given bad magic / version / alignment / counts,
 * patched hyper-parameters, and rebuilt with missing, renamed, duplicated, extra, misshaped or
 * wrongly typed tensors.  Each case must return its documented status (with a diag line naming
 * the culprit) and never crash or read out of bounds (run `make sanitize` to prove the latter).
 */
#include <stdlib.h>

#include "../core/model.h"
#include "test.h"

/* ==== a growable byte buffer and GGUF writing helpers ===================================== */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void put_u16(buf *b, uint16_t v) { put(b, &v, 2); }
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf *b, const char *s) {
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void put_key(buf *b, const char *k, uint32_t type) {
    put_str(b, k);
    put_u32(b, type);
}
static void pad_to(buf *b, size_t align) {
    while (b->n % align) put_u8(b, 0);
}

static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* Open an image through the public API; returns the status, diag in *d. */
static int try_open(const void *img, size_t size, edgestt_diag *d) {
    edgestt_model *m = NULL;
    d->msg[0] = 0;
    int st = edgestt_open_memory(img, size, NULL, NULL, 0, &m, d);
    if (!st) {
        edgestt_model_info in;
        edgestt_model_get_info(m, &in); /* a successful open must be usable */
        edgestt_close(m);
    }
    return st;
}

/* ==== synthetic GGUF: every value type ==================================================== */

/* The KV section of the synthetic file (n_kv = 16 pairs). */
static void synth_kvs(buf *b, uint32_t alignment) {
    put_key(b, "t.u8", EST_GGUF_U8), put_u8(b, 200);
    put_key(b, "t.i8", EST_GGUF_I8), put_u8(b, (uint8_t)-5);
    put_key(b, "t.u16", EST_GGUF_U16), put_u16(b, 60000);
    put_key(b, "t.i16", EST_GGUF_I16), put_u16(b, (uint16_t)-300);
    put_key(b, "t.u32", EST_GGUF_U32), put_u32(b, 4000000000u);
    put_key(b, "t.i32", EST_GGUF_I32), put_u32(b, (uint32_t)-7);
    put_key(b, "t.f32", EST_GGUF_F32);
    float f = 1.5f;
    put(b, &f, 4);
    put_key(b, "t.bool", EST_GGUF_BOOL), put_u8(b, 1);
    put_key(b, "t.str", EST_GGUF_STRING), put_str(b, "hello");
    put_key(b, "t.u64", EST_GGUF_U64), put_u64(b, 1ull << 40);
    put_key(b, "t.i64", EST_GGUF_I64), put_u64(b, (uint64_t)-(1ll << 40));
    put_key(b, "t.f64", EST_GGUF_F64);
    double d = 2.25;
    put(b, &d, 8);
    put_key(b, "t.arr_u32", EST_GGUF_ARRAY), put_u32(b, EST_GGUF_U32), put_u64(b, 3);
    put_u32(b, 1), put_u32(b, 2), put_u32(b, 3);
    put_key(b, "t.arr_str", EST_GGUF_ARRAY), put_u32(b, EST_GGUF_STRING), put_u64(b, 2);
    put_str(b, "a"), put_str(b, "bc");
    put_key(b, "t.nested", EST_GGUF_ARRAY), put_u32(b, EST_GGUF_ARRAY), put_u64(b, 2);
    put_u32(b, EST_GGUF_I16), put_u64(b, 2), put_u16(b, 1), put_u16(b, 2);
    put_u32(b, EST_GGUF_I16), put_u64(b, 1), put_u16(b, 3);
    put_key(b, "general.alignment", EST_GGUF_U32), put_u32(b, alignment);
}

/* A whole synthetic GGUF: 16 KVs and two tensors, "a" f32 [4, 2] and "b" q8_0 [64]; the last
 * tensor ends exactly at the end of the file. */
static buf synth_gguf(uint32_t version, uint32_t alignment) {
    buf b = {0};
    const uint32_t pa = alignment >= 32 && !(alignment & (alignment - 1)) ? alignment : 64; /* padding used */
    put_u32(&b, EST_GGUF_MAGIC);
    put_u32(&b, version);
    put_u64(&b, 2);
    put_u64(&b, 16);
    synth_kvs(&b, alignment);
    put_str(&b, "a"), put_u32(&b, 2), put_u64(&b, 4), put_u64(&b, 2), put_u32(&b, EDGESTT_TYPE_F32), put_u64(&b, 0);
    put_str(&b, "b"), put_u32(&b, 1), put_u64(&b, 64), put_u32(&b, EDGESTT_TYPE_Q8_0), put_u64(&b, pa);
    pad_to(&b, pa);
    for (int i = 0; i < 8; i++) {
        float v = (float)i;
        put(&b, &v, 4);
    }
    pad_to(&b, pa);
    for (int i = 0; i < 68; i++) put_u8(&b, (uint8_t)i);
    return b;
}

static int count_visits(void *ctx, const est_gguf_kv *kv) {
    (void)kv;
    ++*(int *)ctx;
    return 0;
}

static int stop_visit(void *ctx, const est_gguf_kv *kv) {
    (void)ctx;
    return est_gguf_key_is(kv, "t.str") ? EDGESTT_E_NOT_FOUND : 0;
}

TEST(gguf_reader_every_value_type) {
    buf b = synth_gguf(3, 64);
    est_gguf_layout lay;
    edgestt_diag d;
    int visits = 0;
    CHECKF(est_gguf_scan(b.p, b.n, &lay, count_visits, &visits, &d) == EDGESTT_OK, "%s", d.msg);
    CHECK(lay.version == 3 && lay.n_kv == 16 && lay.n_tensors == 2 && lay.alignment == 64 && visits == 16);
    CHECK(lay.data_offset % 64 == 0);
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, stop_visit, NULL, &d), EDGESTT_E_NOT_FOUND);
    size_t nk, nt;
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_OK);
    CHECK_ST(est_gguf_table_counts(&lay, &nk, &nt), EDGESTT_OK);
    est_gguf_kv kv[16];
    est_file_tensor t[2];
    est_gguf g;
    CHECK_ST(est_gguf_fill(b.p, b.n, &lay, kv, t, &g, &d), EDGESTT_OK);
    uint32_t u32;
    uint64_t u64;
    float f;
    const char *s;
    size_t len;
    CHECK(est_gguf_get_u32(kv, nk, "t.u8", &u32, &d) == 0 && u32 == 200);
    CHECK(est_gguf_get_u32(kv, nk, "t.u16", &u32, &d) == 0 && u32 == 60000);
    CHECK(est_gguf_get_u32(kv, nk, "t.u32", &u32, &d) == 0 && u32 == 4000000000u);
    CHECK(est_gguf_get_u32(kv, nk, "t.bool", &u32, &d) == 0 && u32 == 1);
    CHECK(est_gguf_get_u64(kv, nk, "t.u64", &u64, &d) == 0 && u64 == 1ull << 40);
    CHECK_ST(est_gguf_get_u32(kv, nk, "t.u64", &u32, &d), EDGESTT_E_FORMAT); /* does not fit */
    CHECK_ST(est_gguf_get_u32(kv, nk, "t.i8", &u32, &d), EDGESTT_E_FORMAT);  /* negative */
    CHECK_ST(est_gguf_get_u32(kv, nk, "t.i16", &u32, &d), EDGESTT_E_FORMAT);
    CHECK_ST(est_gguf_get_u64(kv, nk, "t.i64", &u64, &d), EDGESTT_E_FORMAT);
    CHECK(strstr(d.msg, "t.i64") != NULL);
    CHECK_ST(est_gguf_get_u32(kv, nk, "t.i32", &u32, &d), EDGESTT_E_FORMAT);
    CHECK_ST(est_gguf_get_u32(kv, nk, "t.str", &u32, &d), EDGESTT_E_FORMAT);
    CHECK_ST(est_gguf_get_u32(kv, nk, "t.missing", &u32, &d), EDGESTT_E_NOT_FOUND);
    CHECK(est_gguf_get_f32(kv, nk, "t.f32", &f, &d) == 0 && f == 1.5f);
    CHECK(est_gguf_get_f32(kv, nk, "t.f64", &f, &d) == 0 && f == 2.25f);
    CHECK_ST(est_gguf_get_f32(kv, nk, "t.u8", &f, &d), EDGESTT_E_FORMAT);
    CHECK(est_gguf_get_str(kv, nk, "t.str", &s, &len, &d) == 0 && len == 5 && !memcmp(s, "hello", 5));
    const uint8_t *first;
    uint64_t n;
    CHECK(est_gguf_get_arr(kv, nk, "t.arr_u32", EST_GGUF_U32, &first, &n, &d) == 0 && n == 3);
    CHECK(est_rd_u32(first + 8) == 3);
    CHECK_ST(est_gguf_get_arr(kv, nk, "t.arr_u32", EST_GGUF_STRING, &first, &n, &d), EDGESTT_E_FORMAT);
    CHECK(est_gguf_get_arr(kv, nk, "t.nested", -1, &first, &n, &d) == 0 && n == 2);
    CHECK(est_gguf_get_arr(kv, nk, "t.arr_str", EST_GGUF_STRING, &first, &n, &d) == 0 && n == 2);
    const uint8_t *end = kv[est_gguf_find(kv, nk, "t.arr_str")].end;
    uint64_t l;
    CHECK(est_gguf_next_str(&first, end, &s, &l) && l == 1 && s[0] == 'a');
    CHECK(est_gguf_next_str(&first, end, &s, &l) && l == 2 && !memcmp(s, "bc", 2));
    CHECK(!est_gguf_next_str(&first, end, &s, &l));
    CHECK(est_gguf_find(kv, nk, "general.alignment") == 15 && est_gguf_find(kv, nk, "nope") == -1);
    CHECK(est_file_tensor_is(&t[0], "a") && t[0].type == EDGESTT_TYPE_F32 && t[0].n_dims == 2 && t[0].ne[0] == 4 &&
          t[0].ne[1] == 2 && t[0].ne[2] == 1 && t[0].nbytes == 32 && t[0].data == b.p + lay.data_offset);
    CHECK(est_file_tensor_is(&t[1], "b") && t[1].nbytes == 68 && t[1].data == b.p + lay.data_offset + 64);
    CHECK(t[1].data + t[1].nbytes == b.p + b.n);
    float v5;
    memcpy(&v5, t[0].data + 20, 4);
    CHECK(v5 == 5.0f);
    free(b.p);
    /* version 2 reads the same; 1 and 4 are refused */
    b = synth_gguf(2, 64);
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_OK);
    free(b.p);
    b = synth_gguf(1, 64);
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_E_UNSUPPORTED);
    CHECK(strstr(d.msg, "version 1") != NULL);
    free(b.p);
    b = synth_gguf(4, 64);
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_E_UNSUPPORTED);
    free(b.p);
    /* alignment: 32 (default-sized) and 128 fine; 48 and 0 refused */
    b = synth_gguf(3, 128);
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_OK);
    CHECK(lay.alignment == 128 && lay.data_offset % 128 == 0);
    free(b.p);
    b = synth_gguf(3, 48);
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_E_FORMAT);
    CHECK(strstr(d.msg, "alignment") != NULL);
    free(b.p);
    b = synth_gguf(3, 0);
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_E_FORMAT);
    free(b.p);
}

TEST(gguf_reader_truncated_at_every_offset) {
    buf b = synth_gguf(3, 64);
    est_gguf_layout lay;
    edgestt_diag d;
    uint8_t *copy = malloc(b.n);
    CHECK(copy);
    for (size_t cut = 0; cut < b.n; cut++) {
        memcpy(copy, b.p, cut); /* a fresh allocation-free prefix: the reader must stop at cut */
        d.msg[0] = 0;
        int st = est_gguf_scan(copy, cut, &lay, NULL, NULL, &d);
        CHECKF(st == EDGESTT_E_TRUNCATED && d.msg[0], "cut at %zu of %zu: status %d '%s'", cut, b.n, st, d.msg);
    }
    free(copy);
    free(b.p);
}

/* A synthetic GGUF with one KV of the given raw bytes after its key, and no tensors. */
static int scan_one_kv(uint32_t type, const void *val, size_t n, uint64_t n_tensors, edgestt_diag *d) {
    buf b = {0};
    put_u32(&b, EST_GGUF_MAGIC);
    put_u32(&b, 3);
    put_u64(&b, n_tensors);
    put_u64(&b, 1);
    put_key(&b, "k", type);
    put(&b, val, n);
    est_gguf_layout lay;
    int st = est_gguf_scan(b.p, b.n, &lay, NULL, NULL, d);
    free(b.p);
    return st;
}

TEST(gguf_reader_hostile_counts_and_types) {
    edgestt_diag d;
    buf v = {0};
    /* nesting: 4 levels of arrays are fine, 5 are refused */
    for (int depth = 4; depth <= 5; depth++) {
        v.n = 0;
        for (int i = 0; i < depth - 1; i++) put_u32(&v, EST_GGUF_ARRAY), put_u64(&v, 1);
        put_u32(&v, EST_GGUF_U8), put_u64(&v, 1), put_u8(&v, 7);
        CHECK_ST(scan_one_kv(EST_GGUF_ARRAY, v.p, v.n, 0, &d), depth == 4 ? EDGESTT_OK : EDGESTT_E_FORMAT);
    }
    CHECK(strstr(d.msg, "deeper") != NULL);
    v.n = 0;
    put_u32(&v, 0);
    CHECK_ST(scan_one_kv(13, v.p, v.n, 0, &d), EDGESTT_E_FORMAT); /* unknown value type */
    v.n = 0;
    put_u32(&v, 13), put_u64(&v, 1), put_u32(&v, 0);
    CHECK_ST(scan_one_kv(EST_GGUF_ARRAY, v.p, v.n, 0, &d), EDGESTT_E_FORMAT); /* unknown element type */
    /* absurd counts are refused at once, not looped over */
    const uint32_t elem[] = {EST_GGUF_U32, EST_GGUF_STRING, EST_GGUF_ARRAY, EST_GGUF_F64};
    for (int i = 0; i < 4; i++) {
        v.n = 0;
        put_u32(&v, elem[i]), put_u64(&v, 1ull << 62), put_u64(&v, 0);
        CHECK_ST(scan_one_kv(EST_GGUF_ARRAY, v.p, v.n, 0, &d), EDGESTT_E_TRUNCATED);
    }
    v.n = 0;
    put_u64(&v, 1ull << 60);
    CHECK_ST(scan_one_kv(EST_GGUF_STRING, v.p, v.n, 0, &d), EDGESTT_E_TRUNCATED); /* string past the end */
    v.n = 0;
    put_u8(&v, 1);
    CHECK_ST(scan_one_kv(EST_GGUF_U8, v.p, v.n, 1ull << 62, &d), EDGESTT_E_TRUNCATED); /* n_tensors */
    CHECK(strstr(d.msg, "tensor infos") != NULL);
    free(v.p);
    /* header counts and key lengths */
    buf b = synth_gguf(3, 64);
    est_gguf_layout lay;
    uint64_t huge = 1ull << 62;
    memcpy(b.p + 16, &huge, 8); /* n_kv */
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_E_TRUNCATED);
    CHECK(strstr(d.msg, "KV pairs") != NULL);
    free(b.p);
    b = synth_gguf(3, 64);
    memcpy(b.p + 24, &huge, 8); /* first key length */
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_E_TRUNCATED);
    uint64_t zero = 0;
    memcpy(b.p + 24, &zero, 8);
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_E_FORMAT);
    b.p[0] = 'X';
    CHECK_ST(est_gguf_scan(b.p, b.n, &lay, NULL, NULL, &d), EDGESTT_E_FORMAT);
    free(b.p);
}

/* The synthetic file with tensor "b"'s info replaced: n_dims, ne[], type, offset. */
static int scan_tensor_b(uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset, edgestt_diag *d) {
    buf b = {0};
    put_u32(&b, EST_GGUF_MAGIC);
    put_u32(&b, 3);
    put_u64(&b, 2);
    put_u64(&b, 16);
    synth_kvs(&b, 64);
    put_str(&b, "a"), put_u32(&b, 2), put_u64(&b, 4), put_u64(&b, 2), put_u32(&b, EDGESTT_TYPE_F32), put_u64(&b, 0);
    put_str(&b, "b"), put_u32(&b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) put_u64(&b, ne[i]);
    put_u32(&b, type), put_u64(&b, offset);
    pad_to(&b, 64);
    for (int i = 0; i < 64 + 68; i++) put_u8(&b, 0);
    est_gguf_layout lay;
    int st = est_gguf_scan(b.p, b.n, &lay, NULL, NULL, d);
    free(b.p);
    return st;
}

TEST(gguf_reader_bad_tensor_infos) {
    edgestt_diag d;
    const uint64_t ne64[] = {64, 1, 1, 1, 1}, ne33[] = {33}, ne0[] = {64, 0}, big[] = {1ull << 40, 1ull << 40};
    CHECK_ST(scan_tensor_b(1, ne64, EDGESTT_TYPE_Q8_0, 64, &d), EDGESTT_OK);
    CHECK_ST(scan_tensor_b(4, ne64, EDGESTT_TYPE_Q8_0, 64, &d), EDGESTT_OK);
    CHECK_ST(scan_tensor_b(0, ne64, EDGESTT_TYPE_Q8_0, 64, &d), EDGESTT_E_FORMAT);
    CHECK_ST(scan_tensor_b(5, ne64, EDGESTT_TYPE_Q8_0, 64, &d), EDGESTT_E_FORMAT);
    CHECK_ST(scan_tensor_b(2, ne0, EDGESTT_TYPE_Q8_0, 64, &d), EDGESTT_E_FORMAT);
    CHECK_ST(scan_tensor_b(1, ne33, EDGESTT_TYPE_Q8_0, 64, &d), EDGESTT_E_FORMAT); /* partial block */
    CHECK_ST(scan_tensor_b(1, ne64, 6, 64, &d), EDGESTT_E_UNSUPPORTED);              /* q5_0 */
    CHECKF(strstr(d.msg, "'b'") != NULL, "diag '%s'", d.msg);
    CHECK_ST(scan_tensor_b(1, ne64, 0xffffffffu, 64, &d), EDGESTT_E_UNSUPPORTED);
    CHECK_ST(scan_tensor_b(2, big, EDGESTT_TYPE_F32, 64, &d), EDGESTT_E_LIMIT); /* 2^80 elements */
    CHECK_ST(scan_tensor_b(1, ne64, EDGESTT_TYPE_Q8_0, 32, &d), EDGESTT_E_FORMAT);   /* misaligned */
    CHECK(strstr(d.msg, "aligned") != NULL);
    CHECK_ST(scan_tensor_b(1, ne64, EDGESTT_TYPE_Q8_0, 128, &d), EDGESTT_E_TRUNCATED); /* past the end */
    CHECK_ST(scan_tensor_b(1, ne64, EDGESTT_TYPE_Q8_0, ~0ull - 63, &d), EDGESTT_E_TRUNCATED);
}

/* ==== real models: rebuild with edits ===================================================== */

typedef struct model_img {
    uint8_t *img;
    size_t size;
    est_whisper_probe pr;
    est_file_tensor *t;  /* [n] (malloc'd copy the tests edit) */
    size_t n;
    size_t header_end;   /* GGUF: end of the KV section; .bin: start of the tensor records */
} model_img;

static int load_img(model_img *m, const char *name) {
    memset(m, 0, sizeof *m);
    m->img = slurp(est_test_model(name), &m->size);
    if (!m->img) return 0;
    edgestt_diag d;
    if (est_whisper_probe_image(m->img, m->size, &m->pr, &d)) return 0;
    m->n = (size_t)m->pr.n_file_tensors;
    m->t = calloc(m->n + 4, sizeof *m->t);
    if (m->pr.format == EDGESTT_FORMAT_GGUF) {
        est_gguf_kv *kv = calloc((size_t)m->pr.n_file_kv, sizeof *kv);
        est_gguf g;
        int st = est_gguf_fill(m->img, m->size, &m->pr.gguf, kv, m->t, &g, &d);
        free(kv);
        if (st) return 0;
        m->header_end = (size_t)((const uint8_t *)m->t[0].name - m->img) - 8;
    } else {
        est_ggml_bin b = m->pr.bin;
        if (est_ggml_bin_fill(&b, m->t, &d)) return 0;
        m->header_end = b.tensors_at;
    }
    return 1;
}

static void free_img(model_img *m) {
    free(m->img);
    free(m->t);
}

/* A new image: the original header, then tensors t[0..n) (names, types, shapes, data as given). */
static buf rebuild(const model_img *m, const est_file_tensor *t, size_t n) {
    buf b = {0};
    if (m->pr.format == EDGESTT_FORMAT_GGUF) {
        put(&b, m->img, 16);
        memcpy(b.p + 8, &(uint64_t){n}, 8);
        put(&b, m->img + 16, m->header_end - 16);
        uint64_t off = 0;
        for (size_t i = 0; i < n; i++) {
            put_u64(&b, t[i].name_len);
            put(&b, t[i].name, t[i].name_len);
            put_u32(&b, (uint32_t)t[i].n_dims);
            for (int k = 0; k < t[i].n_dims; k++) put_u64(&b, (uint64_t)t[i].ne[k]);
            put_u32(&b, (uint32_t)t[i].type);
            put_u64(&b, off);
            off = (off + t[i].nbytes + 63) / 64 * 64;
        }
        pad_to(&b, 64);
        for (size_t i = 0; i < n; i++) {
            put(&b, t[i].data, t[i].nbytes);
            pad_to(&b, 64);
        }
    } else {
        put(&b, m->img, m->header_end);
        for (size_t i = 0; i < n; i++) {
            put_u32(&b, (uint32_t)t[i].n_dims);
            put_u32(&b, t[i].name_len);
            put_u32(&b, (uint32_t)t[i].type);
            for (int k = 0; k < t[i].n_dims; k++) put_u32(&b, (uint32_t)t[i].ne[k]);
            put(&b, t[i].name, t[i].name_len);
            put(&b, t[i].data, t[i].nbytes);
        }
    }
    return b;
}

static size_t find_tensor(const model_img *m, const char *name) {
    for (size_t i = 0; i < m->n; i++)
        if (est_file_tensor_is(&m->t[i], name)) return i;
    return (size_t)-1;
}

/* Rebuild with edits applied to a copy of the table; open; expect a status and a diag substring. */
static int expect_rebuilt(const model_img *m, est_file_tensor *t, size_t n, int want, const char *needle,
                          const char *what) {
    buf b = rebuild(m, t, n);
    edgestt_diag d;
    int st = try_open(b.p, b.n, &d);
    free(b.p);
    if (st != want || (needle && !strstr(d.msg, needle))) {
        est_test_fail(__FILE__, __LINE__, "%s: status %d (%s) '%s', want %d with '%s'", what, st, edgestt_strerror(st),
                      d.msg, want, needle ? needle : "");
        return 0;
    }
    return 1;
}

static void tensor_edits(const char *name) {
    model_img m;
    CHECKF(load_img(&m, name), "cannot load %s", name);
    est_file_tensor *t = malloc((m.n + 2) * sizeof *t);
    CHECK(t);
    const int gguf = m.pr.format == EDGESTT_FORMAT_GGUF;
#define RESET() memcpy(t, m.t, m.n * sizeof *t)
    RESET();
    CHECK(expect_rebuilt(&m, t, m.n, EDGESTT_OK, NULL, "unchanged"));
    /* a missing tensor (dropped) */
    size_t k = find_tensor(&m, "encoder.blocks.1.attn.key.weight");
    CHECK(k < m.n);
    memmove(&t[k], &t[k + 1], (m.n - k - 1) * sizeof *t);
    CHECK(expect_rebuilt(&m, t, m.n - 1, EDGESTT_E_MODEL, "'encoder.blocks.1.attn.key.weight' is missing", "dropped"));
    /* renamed (unknown name) */
    RESET();
    t[k].name = "encoder.blocks.1.attn.kez.weight";
    CHECK(expect_rebuilt(&m, t, m.n, EDGESTT_E_MODEL, "unknown tensor 'encoder.blocks.1.attn.kez.weight'", "renamed"));
    /* renamed onto another tensor's name: a duplicate */
    RESET();
    t[k].name = "encoder.blocks.1.attn.query.weight";
    t[k].name_len = (uint32_t)strlen(t[k].name);
    CHECK(expect_rebuilt(&m, t, m.n, EDGESTT_E_MODEL, "appears twice", "duplicate"));
    /* an extra tensor, and a layer past the model's */
    RESET();
    t[m.n] = t[k];
    t[m.n].name = "decoder.blocks.0.attn.rotary";
    t[m.n].name_len = (uint32_t)strlen(t[m.n].name);
    CHECK(expect_rebuilt(&m, t, m.n + 1, EDGESTT_E_MODEL, "unknown tensor 'decoder.blocks.0.attn.rotary'", "extra"));
    t[m.n].name = "encoder.blocks.2.attn.key.weight";
    t[m.n].name_len = (uint32_t)strlen(t[m.n].name);
    CHECK(expect_rebuilt(&m, t, m.n + 1, EDGESTT_E_MODEL, "past the 2 encoder layers", "layer 2"));
    t[m.n].name = "encoder.blocks.01.attn.key.weight";
    t[m.n].name_len = (uint32_t)strlen(t[m.n].name);
    CHECK(expect_rebuilt(&m, t, m.n + 1, EDGESTT_E_MODEL, "unknown tensor", "leading zero"));
    /* wrong type: a bias stored as f16 (half the bytes) */
    RESET();
    size_t bk = find_tensor(&m, "decoder.blocks.1.mlp.0.bias");
    CHECK(bk < m.n);
    t[bk].type = EDGESTT_TYPE_F16;
    t[bk].nbytes /= 2;
    CHECK(expect_rebuilt(&m, t, m.n, EDGESTT_E_MODEL, "'decoder.blocks.1.mlp.0.bias' has type f16, expected f32",
                         "bias f16"));
    /* wrong type: conv weights may not be quantized */
    RESET();
    size_t ck = find_tensor(&m, "encoder.conv2.weight");
    CHECK(ck < m.n);
    t[ck].type = EDGESTT_TYPE_F32;
    t[ck].ne[0] = 32, t[ck].ne[1] = 6, t[ck].ne[2] = 64;
    t[ck].type = EDGESTT_TYPE_Q8_0;
    t[ck].nbytes = 34 * 6 * 64;
    CHECK(expect_rebuilt(&m, t, m.n, EDGESTT_E_MODEL, "'encoder.conv2.weight' has type q8_0", "conv q8_0"));
    /* misshaped: a linear weight transposed, the token embedding one row short */
    RESET();
    size_t mk = find_tensor(&m, "encoder.blocks.0.mlp.0.weight");
    CHECK(mk < m.n);
    int64_t tmp = t[mk].ne[0];
    t[mk].ne[0] = t[mk].ne[1], t[mk].ne[1] = tmp;
    CHECK(expect_rebuilt(&m, t, m.n, EDGESTT_E_MODEL, "'encoder.blocks.0.mlp.0.weight' has ne [256, 64, 1]",
                         "transposed"));
    RESET();
    size_t ek = find_tensor(&m, "decoder.token_embedding.weight");
    CHECK(ek < m.n);
    t[ek].ne[1]--;
    t[ek].nbytes -= t[ek].nbytes / (size_t)(t[ek].ne[1] + 1);
    CHECK(expect_rebuilt(&m, t, m.n, EDGESTT_E_MODEL, "'decoder.token_embedding.weight' has ne", "short embedding"));
    if (gguf) {
        RESET();
        size_t fk = find_tensor(&m, "mel_filters");
        CHECK(fk < m.n);
        memmove(&t[fk], &t[fk + 1], (m.n - fk - 1) * sizeof *t);
        CHECK(expect_rebuilt(&m, t, m.n - 1, EDGESTT_E_MODEL, "'mel_filters' is missing", "no mel filters"));
    } else {
        /* .bin conv biases: whisper.cpp's (n_state, 1) and 1-D are both accepted */
        RESET();
        size_t cb = find_tensor(&m, "encoder.conv1.bias");
        CHECK(cb < m.n && t[cb].n_dims == 2 && t[cb].ne[0] == 1);
        t[cb].n_dims = 1, t[cb].ne[0] = t[cb].ne[1], t[cb].ne[1] = 1;
        CHECK(expect_rebuilt(&m, t, m.n, EDGESTT_OK, NULL, "1-D conv bias"));
        /* a mel_filters tensor is not part of a .bin model */
        RESET();
        t[m.n] = t[cb];
        t[m.n].name = "mel_filters";
        t[m.n].name_len = 11;
        CHECK(expect_rebuilt(&m, t, m.n + 1, EDGESTT_E_MODEL, "unknown tensor 'mel_filters'", "bin mel tensor"));
    }
    /* no tensors at all */
    CHECK(expect_rebuilt(&m, t, 0, EDGESTT_E_MODEL, "is missing", "empty"));
#undef RESET
    free(t);
    free_img(&m);
}

TEST(model_corrupt_tensor_sets_gguf) { tensor_edits("mini-en-q8_0.gguf"); }
TEST(model_corrupt_tensor_sets_bin) { tensor_edits("mini-en-q8_0.bin"); }

/* Truncate a real image at many offsets: TRUNCATED everywhere, except .bin cuts that fall exactly
 * between tensor records (the list then just ends: a tensor is missing) and cuts past the last
 * tensor's data in GGUF (only padding is lost). */
static void truncations(const char *name) {
    model_img m;
    CHECKF(load_img(&m, name), "cannot load %s", name);
    const int gguf = m.pr.format == EDGESTT_FORMAT_GGUF;
    size_t data_end = 0;
    for (size_t i = 0; i < m.n; i++) {
        size_t e = (size_t)(m.t[i].data - m.img) + m.t[i].nbytes;
        if (e > data_end) data_end = e;
    }
    uint64_t rng = est_test_seed() ^ 0x7e57;
    size_t cuts[1200];
    int nc = 0;
    for (size_t c = 0; c < 300; c++) cuts[nc++] = c; /* header */
    for (int i = 0; i < 150; i++) cuts[nc++] = (size_t)(est_test_rand(&rng) % m.header_end); /* KVs / vocabulary */
    for (size_t c = m.header_end - 40; c < m.header_end + 200; c++) cuts[nc++] = c;       /* first records */
    for (size_t i = 0; i < m.n && nc < 1150; i += 7) {                                    /* around records */
        size_t s = (size_t)(m.t[i].data - m.img);
        cuts[nc++] = s - 1, cuts[nc++] = s, cuts[nc++] = s + 1;
        cuts[nc++] = s + m.t[i].nbytes - 1, cuts[nc++] = s + m.t[i].nbytes, cuts[nc++] = s + m.t[i].nbytes + 1;
    }
    for (int i = 0; i < 40; i++) cuts[nc++] = (size_t)(est_test_rand(&rng) % m.size);
    cuts[nc++] = m.size - 1;
    for (int i = 0; i < nc; i++) {
        size_t c = cuts[i];
        if (c >= m.size) continue;
        int want = EDGESTT_E_TRUNCATED;
        if (gguf && c >= data_end) want = EDGESTT_OK;
        if (!gguf && c == m.header_end) want = EDGESTT_E_MODEL;
        if (!gguf)
            for (size_t k = 0; k < m.n; k++)
                if ((size_t)(m.t[k].data - m.img) + m.t[k].nbytes == c) want = c == m.size ? EDGESTT_OK : EDGESTT_E_MODEL;
        edgestt_diag d;
        int st = try_open(m.img, c, &d);
        CHECKF(st == want && (st == EDGESTT_OK || d.msg[0]), "%s cut at %zu of %zu: status %d '%s', want %d", name, c,
               m.size, st, d.msg, want);
    }
    free_img(&m);
}

TEST(model_corrupt_truncations_gguf) { truncations("mini-en-q4_0.gguf"); }
TEST(model_corrupt_truncations_bin) { truncations("mini-en-q4_0.bin"); }

/* Offset of the value of a GGUF key in an image (after its type field). */
static size_t gguf_value_at(const uint8_t *img, size_t size, const char *key) {
    size_t n = strlen(key);
    for (size_t i = 8; i + n + 12 < size && i < 4096; i++)
        if (est_rd_u64(img + i - 8) == n && !memcmp(img + i, key, n)) return i + n + 4;
    return 0;
}

/* Patch a u32 at off, open, restore; expect status and diag substring. */
static int patched_u32(uint8_t *img, size_t size, size_t off, uint32_t v, int want, const char *needle) {
    uint32_t old;
    memcpy(&old, img + off, 4);
    memcpy(img + off, &v, 4);
    edgestt_diag d;
    int st = try_open(img, size, &d);
    memcpy(img + off, &old, 4);
    if (st != want || (needle && !strstr(d.msg, needle))) {
        est_test_fail(__FILE__, __LINE__, "u32 %u at %zu: status %d '%s', want %d '%s'", v, off, st, d.msg, want,
                      needle ? needle : "");
        return 0;
    }
    return 1;
}

TEST(model_corrupt_gguf_header_fields) {
    size_t size;
    uint8_t *img = slurp(est_test_model("mini-en-f16.gguf"), &size);
    CHECK(img);
    CHECK(patched_u32(img, size, 0, 0x46554748, EDGESTT_E_FORMAT, "not a GGUF"));
    CHECK(patched_u32(img, size, 4, 1, EDGESTT_E_UNSUPPORTED, "version 1"));
    CHECK(patched_u32(img, size, 4, 0x03000000, EDGESTT_E_UNSUPPORTED, "version")); /* big-endian file */
    CHECK(patched_u32(img, size, 12, 1, EDGESTT_E_TRUNCATED, "tensor infos"));       /* n_tensors 2^32 + 89 */
    CHECK(patched_u32(img, size, 20, 0x40000000, EDGESTT_E_TRUNCATED, "KV pairs"));
    size_t al = gguf_value_at(img, size, "general.alignment");
    CHECK(al && est_rd_u32(img + al) == 64);
    CHECK(patched_u32(img, size, al, 48, EDGESTT_E_FORMAT, "power of two"));
    CHECK(patched_u32(img, size, al, 0, EDGESTT_E_FORMAT, "power of two"));
    CHECK(patched_u32(img, size, al, 128, EDGESTT_E_FORMAT, "aligned")); /* 64-aligned offsets now misaligned */
    CHECK(patched_u32(img, size, al - 4, EST_GGUF_I32, EDGESTT_E_FORMAT, "alignment is not a u32"));
    size_t v;
    CHECK((v = gguf_value_at(img, size, "whisper.audio.n_layer")) != 0);
    CHECK(patched_u32(img, size, v, 0, EDGESTT_E_LIMIT, "n_audio_layer = 0"));
    CHECK(patched_u32(img, size, v, 129, EDGESTT_E_LIMIT, "n_audio_layer"));
    CHECK(patched_u32(img, size, v, 3, EDGESTT_E_MODEL, "'encoder.blocks.2.attn_ln.weight' is missing"));
    CHECK(patched_u32(img, size, v, 1, EDGESTT_E_MODEL, "past the 1 encoder layers"));
    CHECK(patched_u32(img, size, v, 0x80000000u, EDGESTT_E_LIMIT, "n_audio_layer"));
    CHECK((v = gguf_value_at(img, size, "whisper.audio.n_head")) != 0);
    CHECK(patched_u32(img, size, v, 3, EDGESTT_E_LIMIT, "n_audio_head 3 does not divide"));
    CHECK((v = gguf_value_at(img, size, "whisper.text.n_state")) != 0);
    CHECK(patched_u32(img, size, v, 128, EDGESTT_E_UNSUPPORTED, "n_text_state"));
    CHECK((v = gguf_value_at(img, size, "whisper.n_mels")) != 0);
    CHECK(patched_u32(img, size, v, 300, EDGESTT_E_LIMIT, "n_mels"));
    CHECK(patched_u32(img, size, v, 128, EDGESTT_E_MODEL, "mel_filters"));
    CHECK((v = gguf_value_at(img, size, "whisper.n_vocab")) != 0);
    CHECK(patched_u32(img, size, v, 51865, EDGESTT_E_FORMAT, "whisper.tokenizer.tokens has 51864 entries"));
    /* below 50001 is a compact vocabulary (explicit token keys): the token ids no longer fit */
    CHECK(patched_u32(img, size, v, 40000, EDGESTT_E_FORMAT, "whisper.token.eot = 50256 is not below n_vocab 40000"));
    CHECK(patched_u32(img, size, v, 7, EDGESTT_E_LIMIT, "n_vocab"));
    CHECK((v = gguf_value_at(img, size, "whisper.token.eot")) != 0);
    CHECK(patched_u32(img, size, v, 60000, EDGESTT_E_FORMAT, "whisper.token.eot = 60000"));
    CHECK(patched_u32(img, size, v, 50300, EDGESTT_E_FORMAT, "below whisper.token.eot"));
    CHECK((v = gguf_value_at(img, size, "whisper.n_languages")) != 0);
    CHECK(patched_u32(img, size, v, 101, EDGESTT_E_FORMAT, "languages"));
    CHECK(patched_u32(img, size, v - 4, EST_GGUF_F32, EDGESTT_E_FORMAT, "whisper.n_languages"));
    CHECK((v = gguf_value_at(img, size, "general.architecture")) != 0);
    img[v + 8 + 6] = 'x';
    edgestt_diag d;
    CHECK_ST(try_open(img, size, &d), EDGESTT_E_UNSUPPORTED);
    CHECK(strstr(d.msg, "'whispex'") != NULL);
    img[v + 8 + 6] = 'r';
    CHECK((v = gguf_value_at(img, size, "whisper.tokenizer.model")) != 0);
    img[v + 8] = 'b';
    CHECK_ST(try_open(img, size, &d), EDGESTT_E_UNSUPPORTED);
    img[v + 8] = 'g';
    /* a text token that is not GPT-2 byte-level ("!" -> raw 0x01) */
    CHECK((v = gguf_value_at(img, size, "whisper.tokenizer.tokens")) != 0);
    CHECK(img[v + 12 + 8] == '!');
    img[v + 12 + 8] = 0x01;
    CHECK_ST(try_open(img, size, &d), EDGESTT_E_FORMAT);
    CHECK(strstr(d.msg, "token 0") != NULL);
    img[v + 12 + 8] = '!';
    CHECK_ST(try_open(img, size, &d), EDGESTT_OK);
    free(img);
}

TEST(model_corrupt_bin_header_fields) {
    size_t size;
    uint8_t *img = slurp(est_test_model("mini-en-f16.bin"), &size);
    CHECK(img);
    CHECK(patched_u32(img, size, 0, 0x67676d6d, EDGESTT_E_FORMAT, "not a GGUF or whisper.cpp"));
    const size_t hp = 4; /* n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, ... */
    CHECK(patched_u32(img, size, hp + 0 * 4, 51000, EDGESTT_E_LIMIT, "n_vocab 51000"));
    CHECK(patched_u32(img, size, hp + 0 * 4, 51867, EDGESTT_E_LIMIT, "n_vocab 51867"));
    CHECK(patched_u32(img, size, hp + 0 * 4, (uint32_t)-1, EDGESTT_E_LIMIT, "n_vocab"));
    CHECK(patched_u32(img, size, hp + 1 * 4, 0, EDGESTT_E_LIMIT, "n_audio_ctx"));
    CHECK(patched_u32(img, size, hp + 1 * 4, 1499, EDGESTT_E_MODEL, "encoder.positional_embedding"));
    CHECK(patched_u32(img, size, hp + 2 * 4, 70000, EDGESTT_E_LIMIT, "n_audio_state"));
    CHECK(patched_u32(img, size, hp + 3 * 4, 3, EDGESTT_E_LIMIT, "n_audio_head 3"));
    CHECK(patched_u32(img, size, hp + 4 * 4, 0, EDGESTT_E_LIMIT, "n_audio_layer"));
    CHECK(patched_u32(img, size, hp + 6 * 4, 32, EDGESTT_E_UNSUPPORTED, "n_text_state"));
    CHECK(patched_u32(img, size, hp + 8 * 4, 3, EDGESTT_E_MODEL, "'decoder.blocks.2."));
    CHECK(patched_u32(img, size, hp + 9 * 4, 257, EDGESTT_E_LIMIT, "n_mels"));
    CHECK(patched_u32(img, size, hp + 9 * 4, 40, EDGESTT_E_FORMAT, "mel filters are 80 x 201"));
    CHECK(patched_u32(img, size, hp + 11 * 4 + 4, 200, EDGESTT_E_FORMAT, "mel filters")); /* n_fft */
    CHECK(patched_u32(img, size, hp + 11 * 4, 0x40000000, EDGESTT_E_TRUNCATED, "mel filters"));
    CHECK(patched_u32(img, size, hp + 11 * 4, (uint32_t)-2, EDGESTT_E_FORMAT, "mel filters"));
    const size_t words = hp + 11 * 4 + 8 + 80 * 201 * 4;
    CHECK(est_rd_u32(img + words) == 50256);
    CHECK(patched_u32(img, size, words, (uint32_t)-1, EDGESTT_E_FORMAT, "vocabulary"));
    CHECK(patched_u32(img, size, words, 0x7fffffff, EDGESTT_E_TRUNCATED, "vocabulary"));
    CHECK(patched_u32(img, size, words + 4, 0x7fffffff, EDGESTT_E_TRUNCATED, "vocabulary word 0"));
    {   /* 256 words are then read as tensor records: refused, whatever their bytes make of it */
        uint32_t old = est_rd_u32(img + words), v = 50000;
        memcpy(img + words, &v, 4);
        edgestt_diag d0;
        int st = try_open(img, size, &d0);
        memcpy(img + words, &old, 4);
        CHECKF(st == EDGESTT_E_FORMAT || st == EDGESTT_E_TRUNCATED || st == EDGESTT_E_UNSUPPORTED, "status %d '%s'",
               st, d0.msg);
    }
    /* fewer stored words than eot: the rest are [_extra_token_N], the model still opens */
    buf b = {0};
    model_img m;
    CHECK(load_img(&m, "mini-en-f16.bin"));
    put(&b, m.img, words);
    put_u32(&b, 1000);
    const uint8_t *p = m.img + words + 4;
    for (int i = 0; i < 1000; i++) p += 4 + est_rd_u32(p);
    put(&b, m.img + words + 4, (size_t)(p - (m.img + words + 4)));
    put(&b, m.img + m.header_end, m.size - m.header_end);
    edgestt_model *mm = NULL;
    edgestt_diag d;
    CHECK_ST(edgestt_open_memory(b.p, b.n, NULL, NULL, 0, &mm, &d), EDGESTT_OK);
    const char *s;
    size_t len;
    CHECK(edgestt_token_bytes(mm, 999, &s, &len) == 0 && len > 0);
    CHECK(edgestt_token_bytes(mm, 1000, &s, &len) == 0 && len == 19 && !memcmp(s, "[_extra_token_1000]", 19));
    CHECK(edgestt_token_bytes(mm, 50256, &s, &len) == 0 && len == 13);
    edgestt_close(mm);
    free(b.p);
    free_img(&m);
    /* record fields */
    CHECK(load_img(&m, "mini-en-f16.bin"));
    const size_t r0 = m.header_end;
    CHECK(patched_u32(img, size, r0, 5, EDGESTT_E_FORMAT, "5 dimensions"));
    CHECK(patched_u32(img, size, r0, 0, EDGESTT_E_FORMAT, "0 dimensions"));
    CHECK(patched_u32(img, size, r0 + 4, 0, EDGESTT_E_FORMAT, "name of 0 bytes"));
    CHECK(patched_u32(img, size, r0 + 4, 5000, EDGESTT_E_FORMAT, "name of 5000 bytes"));
    CHECK(patched_u32(img, size, r0 + 8, 3, EDGESTT_E_UNSUPPORTED, "'encoder.positional_embedding' has type 3"));
    CHECK(patched_u32(img, size, r0 + 12, 0, EDGESTT_E_FORMAT, "invalid shape"));
    CHECK(patched_u32(img, size, r0 + 12, (uint32_t)-64, EDGESTT_E_FORMAT, "invalid shape"));
    /* 2^31-1 rows: more bytes than the file has (64-bit), or than a 32-bit address space holds */
    if (sizeof(size_t) >= 8) CHECK(patched_u32(img, size, r0 + 12, 0x7fffffff, EDGESTT_E_TRUNCATED, "needs"));
    else CHECK(patched_u32(img, size, r0 + 12, 0x7fffffff, EDGESTT_E_LIMIT, "address space"));
    free_img(&m);
    free(img);
}

/* Random byte flips in the headers of both layouts: any status, never a crash. */
TEST(model_corrupt_random_header_flips) {
    const char *names[] = {"mini-en-q4_0.gguf", "mini-en-q4_0.bin"};
    uint64_t rng = est_test_seed() ^ 0xf11b;
    for (int f = 0; f < 2; f++) {
        model_img m;
        CHECK(load_img(&m, names[f]));
        const size_t span = m.header_end + 1024 < m.size ? m.header_end + 1024 : m.size;
        int ok = 0;
        for (int it = 0; it < 150; it++) {
            size_t at[3];
            uint8_t old[3];
            for (int j = 0; j < 3; j++) {
                /* half the flips in the first 4 KiB (counts, hparams, lengths), the rest anywhere */
                at[j] = (size_t)(est_test_rand(&rng) % (j == 0 ? 4096 : span));
                old[j] = m.img[at[j]];
                m.img[at[j]] ^= (uint8_t)(1u << (est_test_rand(&rng) % 8));
            }
            edgestt_diag d;
            int st = try_open(m.img, m.size, &d);
            ok += st == EDGESTT_OK;
            CHECKF(st <= 0 && st >= EDGESTT_E_INTERNAL && st != EDGESTT_E_INTERNAL, "%s: status %d", names[f], st);
            for (int j = 2; j >= 0; j--) m.img[at[j]] = old[j];
        }
        (void)ok;
        free_img(&m);
    }
}
