/*
 * make_corrupt.c - the corrupt-model corpus generator (see make_corrupt.h): damaged images of a
 * valid GGUF or .bin model, each with the outcome opening it must have.
 *
 * The generator parses the valid image with the readers (to know where every section, KV pair,
 * tensor info / record and tensor's data lie), then patches the caller's copy in place and
 * restores it after each case, so no case copies the (megabyte-sized) image.  Families:
 * truncations at every section boundary and at seeded offsets; bit flips in the header, dims,
 * offsets and tensor data; absurd hyper-parameters, head counts, dims and n_dims (0, -1, 2^31,
 * 2^32, 2^63, ...); unknown and wrong tensor types; duplicate, unknown and past-the-layers names;
 * a GGUF alignment that is not a power of two; string, name and word lengths and counts that run
 * past the end; NaN / Inf scales in Q8_0 blocks and NaN in F32 tensors and mel filters.
 *
 * The last family opens cleanly by design: opening a model reads headers only and touches no
 * tensor data (models/whisper.c), so non-finite weights are not an open error -- they are
 * `edge-stt check`'s job (a data scan), not the loader's.  Likewise damage confined to tensor
 * data, and (GGUF) a tensor offset moved to another aligned in-bounds place, must open: the
 * format does not forbid overlapping tensors.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/model.h"
#include "make_corrupt.h"
#include "test.h"

typedef struct gen {
    uint8_t *img;
    size_t size;
    est_corrupt_fn fn;
    void *ctx;
    size_t n;
    int stop;
    uint64_t rng;
    int gguf;
    int other;           /* a GGUF of another architecture (Parakeet): no Whisper hyper-parameters */
    est_whisper_probe pr;
    est_file_tensor *t;  /* [nt] tensors of the valid image */
    size_t nt;
    est_gguf_kv *kv;     /* [nkv] (GGUF) */
    size_t nkv;
    size_t data_end;     /* end of the last tensor's data */
    char what[160];
} gen;

static uint64_t rnd(gen *g) { return est_test_rand(&g->rng); }
static size_t at(const gen *g, const void *p) { return (size_t)((const uint8_t *)p - g->img); }

/* Format the description of the next case into g->what. */
static const char *what(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *what(gen *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->what, sizeof g->what, fmt, ap);
    va_end(ap);
    return g->what;
}

/* Hand the current image (first size bytes) to the callback. */
static void emit(gen *g, size_t size, int expect, int want, const char *needle, const char *desc) {
    if (g->stop) return;
    est_corrupt_case c;
    c.img = g->img;
    c.size = size;
    c.full = g->size;
    c.expect = expect;
    c.want_status = want;
    c.needle = needle;
    snprintf(c.what, sizeof c.what, "%s", desc);
    g->n++;
    if (g->fn(g->ctx, &c)) g->stop = 1;
}

/* Patch n bytes at off, emit, restore. */
static void patch(gen *g, size_t off, const void *v, size_t n, int expect, int want, const char *needle,
                  const char *desc) {
    uint8_t old[16];
    if (off > g->size || n > g->size - off || n > sizeof old) return;
    memcpy(old, g->img + off, n);
    memcpy(g->img + off, v, n);
    emit(g, g->size, expect, want, needle, desc);
    memcpy(g->img + off, old, n);
}
static void patch_u16(gen *g, size_t off, uint16_t v, int e, int w, const char *nd, const char *d) { patch(g, off, &v, 2, e, w, nd, d); }
static void patch_u32(gen *g, size_t off, uint32_t v, int e, int w, const char *nd, const char *d) { patch(g, off, &v, 4, e, w, nd, d); }
static void patch_u64(gen *g, size_t off, uint64_t v, int e, int w, const char *nd, const char *d) { patch(g, off, &v, 8, e, w, nd, d); }
static void patch_f32(gen *g, size_t off, float v, int e, const char *d) { patch(g, off, &v, 4, e, 0, NULL, d); }

/* Flip one bit of the byte at off. */
static void flip(gen *g, size_t off, unsigned bit, int expect, int want, const char *needle, const char *desc) {
    if (off >= g->size) return;
    uint8_t v = (uint8_t)(g->img[off] ^ (1u << (bit & 7)));
    patch(g, off, &v, 1, expect, want, needle, desc);
}

/* Tensor name as text for descriptions. */
static const char *tname(const est_file_tensor *t, char buf[80]) {
    snprintf(buf, 80, "%.*s", (int)(t->name_len < 79 ? t->name_len : 79), t->name);
    return buf;
}

/* ---- where things are ------------------------------------------------------------------- */

/* GGUF tensor info fields: start (the name length), n_dims, ne[0], type, offset. */
static size_t gi_start(const gen *g, const est_file_tensor *t) { return at(g, t->name) - 8; }
static size_t gi_ndims(const gen *g, const est_file_tensor *t) { return at(g, t->name) + t->name_len; }
static size_t gi_ne(const gen *g, const est_file_tensor *t, int k) { return gi_ndims(g, t) + 4 + 8 * (size_t)k; }
static size_t gi_type(const gen *g, const est_file_tensor *t) { return gi_ne(g, t, t->n_dims); }
static size_t gi_offset(const gen *g, const est_file_tensor *t) { return gi_type(g, t) + 4; }

/* .bin record fields: start (n_dims), name length, type, ne[k], name, data. */
static size_t br_start(const gen *g, const est_file_tensor *t) { return at(g, t->name) - 12 - 4 * (size_t)t->n_dims; }
static size_t br_ne(const gen *g, const est_file_tensor *t, int k) { return br_start(g, t) + 12 + 4 * (size_t)k; }

/* GGUF KV fields: key length, type, value (scalars and strings; arrays: the element type). */
static size_t kv_start(const gen *g, const est_gguf_kv *kv) { return at(g, kv->key) - 8; }
static size_t kv_type(const gen *g, const est_gguf_kv *kv) { return at(g, kv->key) + kv->key_len; }
static size_t kv_value(const gen *g, const est_gguf_kv *kv) { return kv_type(g, kv) + 4; }

static const est_gguf_kv *find_kv(const gen *g, const char *key) {
    int64_t i = est_gguf_find(g->kv, g->nkv, key);
    return i < 0 ? NULL : &g->kv[i];
}

/* ---- families ----------------------------------------------------------------------------- */

/* Truncation at cut: GGUF TRUNCATED below the end of the last tensor's data, OK past it; .bin
 * TRUNCATED, or MODEL ("missing") exactly between tensor records. */
static void cut_at(gen *g, size_t cut, const char *where) {
    if (cut >= g->size) return;
    if (g->gguf) {
        if (cut >= g->data_end) emit(g, cut, EST_CORRUPT_OK, 0, NULL, what(g, "cut at %zu (%s, past the data)", cut, where));
        else emit(g, cut, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, what(g, "cut at %zu (%s)", cut, where));
        return;
    }
    int boundary = cut == g->pr.bin.tensors_at;
    for (size_t i = 0; i < g->nt && !boundary; i++) boundary = cut == br_start(g, &g->t[i]);
    if (boundary) emit(g, cut, EST_CORRUPT_FAIL, EDGESTT_E_MODEL, "missing", what(g, "cut at %zu (%s, between records)", cut, where));
    else emit(g, cut, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, what(g, "cut at %zu (%s)", cut, where));
}

static void fam_trunc(gen *g) {
    static const size_t head[] = {0, 1, 3, 4, 8, 12, 16, 20, 23, 24, 40, 52, 55, 56};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) cut_at(g, head[i], "header");
    if (g->gguf) {
        for (size_t i = 0; i < g->nkv; i++) {
            const est_gguf_kv *kv = &g->kv[i];
            cut_at(g, kv_start(g, kv), "KV start");
            cut_at(g, kv_start(g, kv) + 9, "inside a key");
            cut_at(g, kv_type(g, kv), "KV type");
            cut_at(g, kv_value(g, kv), "KV value");
            cut_at(g, at(g, kv->end) - 1, "KV last byte");
            if (kv->type == EST_GGUF_ARRAY && kv->arr_type == EST_GGUF_STRING && kv->arr_n > 2) {
                /* element boundaries: the first three and a few seeded ones */
                const uint8_t *p = kv->val;
                const char *s;
                uint64_t l, pick[6];
                for (int k = 0; k < 6; k++) pick[k] = k < 3 ? (uint64_t)k : rnd(g) % kv->arr_n;
                for (uint64_t e = 0; e < kv->arr_n; e++) {
                    for (int k = 0; k < 6; k++)
                        if (pick[k] == e) cut_at(g, at(g, p) + (k & 1 ? 0 : 8), "inside the token strings");
                    if (!est_gguf_next_str(&p, g->img + g->size, &s, &l)) break;
                }
            }
        }
        for (size_t i = 0; i < g->nt; i++) {
            const est_file_tensor *t = &g->t[i];
            cut_at(g, gi_start(g, t), "tensor info start");
            cut_at(g, gi_ndims(g, t), "tensor n_dims");
            cut_at(g, gi_type(g, t), "tensor type");
            cut_at(g, gi_offset(g, t) + 7, "tensor offset");
            cut_at(g, at(g, t->data), "tensor data start");
            cut_at(g, at(g, t->data) + t->nbytes - 1, "tensor data end");
        }
        cut_at(g, g->pr.gguf.data_offset - 1, "before the data section");
        cut_at(g, g->pr.gguf.data_offset, "data section start");
    } else {
        const est_ggml_bin *b = &g->pr.bin;
        const size_t words = at(g, b->words);
        cut_at(g, 56 + (size_t)b->mel_n_mel * (size_t)b->mel_n_fft * 2, "inside the mel filters");
        cut_at(g, words - 4, "word count");
        cut_at(g, words, "first word");
        /* word boundaries: the first three records and a few seeded ones */
        size_t pos = words;
        uint64_t pick[6];
        for (int k = 0; k < 6; k++) pick[k] = k < 3 ? (uint64_t)k : rnd(g) % (uint64_t)(b->n_words ? b->n_words : 1);
        for (int32_t w = 0; w < b->n_words; w++) {
            for (int k = 0; k < 6; k++)
                if (pick[k] == (uint64_t)w) cut_at(g, pos + (k & 1 ? 0 : 2), "inside the vocabulary");
            pos += 4 + est_rd_u32(g->img + pos);
        }
        cut_at(g, b->tensors_at, "first record");
        for (size_t i = 0; i < g->nt; i++) {
            const est_file_tensor *t = &g->t[i];
            cut_at(g, br_start(g, t) + 4, "record name length");
            cut_at(g, br_ne(g, t, 0), "record dims");
            cut_at(g, at(g, t->name), "record name");
            cut_at(g, at(g, t->data), "record data start");
            cut_at(g, at(g, t->data) + t->nbytes - 1, "record data end");
            cut_at(g, at(g, t->data) + t->nbytes, "after a record");
        }
    }
    for (int i = 0; i < 48; i++) cut_at(g, (size_t)(rnd(g) % g->size), "seeded offset");
}

static void fam_flip(gen *g) {
    char nb[80];
    if (g->gguf) {
        for (size_t i = 0; i < 24; i++) {
            /* version 3 ^ 1 = 2 is a valid version */
            const int e = i >= 4 && i < 8 ? EST_CORRUPT_ANY : EST_CORRUPT_FAIL;
            flip(g, i, (unsigned)rnd(g), e, 0, NULL, what(g, "flip in header byte %zu", i));
        }
        for (size_t i = 0; i < g->nt; i++) {
            const est_file_tensor *t = &g->t[i];
            unsigned bit = (unsigned)(rnd(g) % 40);
            flip(g, gi_ne(g, t, 0) + bit / 8, bit, EST_CORRUPT_FAIL, 0, NULL,
                 what(g, "flip bit %u of ne[0] of '%s'", bit, tname(t, nb)));
            if (t->n_dims > 1) {
                bit = (unsigned)(rnd(g) % 40);
                flip(g, gi_ne(g, t, 1) + bit / 8, bit, EST_CORRUPT_FAIL, 0, NULL,
                     what(g, "flip bit %u of ne[1] of '%s'", bit, tname(t, nb)));
            }
            /* an offset moved below the alignment is misaligned; above it, maybe just elsewhere */
            bit = (unsigned)(rnd(g) % 40);
            const unsigned abits = (unsigned)__builtin_ctz(g->pr.gguf.alignment);
            flip(g, gi_offset(g, t) + bit / 8, bit, bit < abits ? EST_CORRUPT_FAIL : EST_CORRUPT_ANY,
                 bit < abits ? EDGESTT_E_FORMAT : 0, bit < abits ? "aligned" : NULL,
                 what(g, "flip bit %u of the offset of '%s'", bit, tname(t, nb)));
        }
    } else {
        for (size_t i = 0; i < 56; i++) {
            /* head counts may flip to another divisor; ftype is informative only */
            const size_t f = (i - 4) / 4;
            const int e = i >= 4 && i < 48 && (f == EST_BIN_N_AUDIO_HEAD || f == EST_BIN_N_TEXT_HEAD || f == EST_BIN_FTYPE)
                              ? EST_CORRUPT_ANY : EST_CORRUPT_FAIL;
            flip(g, i, (unsigned)rnd(g), e, 0, NULL, what(g, "flip in header byte %zu", i));
        }
        for (size_t i = 0; i < g->nt; i++) {
            const est_file_tensor *t = &g->t[i];
            const int k = (int)(rnd(g) % (uint64_t)t->n_dims);
            unsigned bit = (unsigned)(rnd(g) % 32);
            flip(g, br_ne(g, t, k) + bit / 8, bit, EST_CORRUPT_FAIL, 0, NULL,
                 what(g, "flip bit %u of ne[%d] of '%s'", bit, k, tname(t, nb)));
        }
        for (int i = 0; i < 8; i++) { /* mel filter values are data */
            size_t off = 56 + (size_t)(rnd(g) % ((uint64_t)g->pr.bin.mel_n_mel * (uint64_t)g->pr.bin.mel_n_fft * 4));
            flip(g, off, (unsigned)rnd(g), EST_CORRUPT_OK, 0, NULL, what(g, "flip in the mel filters at %zu", off));
        }
    }
    for (int i = 0; i < 16; i++) { /* tensor data only: must open */
        const est_file_tensor *t = &g->t[rnd(g) % g->nt];
        size_t off = at(g, t->data) + (size_t)(rnd(g) % t->nbytes);
        flip(g, off, (unsigned)rnd(g), EST_CORRUPT_OK, 0, NULL, what(g, "flip in the data of '%s' at %zu", tname(t, nb), off));
    }
}

static void fam_absurd(gen *g) {
    char nb[80];
    static const uint32_t vals[] = {0, 65537, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    if (g->gguf) {
        static const char *const keys[] = {
            "whisper.n_vocab", "whisper.n_mels", "whisper.audio.n_ctx", "whisper.audio.n_state",
            "whisper.audio.n_head", "whisper.audio.n_layer", "whisper.text.n_ctx", "whisper.text.n_state",
            "whisper.text.n_head", "whisper.text.n_layer",
        };
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const est_gguf_kv *kv = find_kv(g, keys[k]);
            if (!kv || kv->type != EST_GGUF_U32) continue;
            for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++)
                patch_u32(g, kv_value(g, kv), vals[v], EST_CORRUPT_FAIL, 0, NULL, what(g, "%s = %u", keys[k], vals[v]));
            if (strstr(keys[k], "head"))
                patch_u32(g, kv_value(g, kv), 3, EST_CORRUPT_FAIL, EDGESTT_E_LIMIT, "does not divide", what(g, "%s = 3", keys[k]));
            /* the same bytes read as an i32: -1 */
            uint8_t neg[8];
            uint32_t ty = EST_GGUF_I32, m1 = 0xffffffffu;
            memcpy(neg, &ty, 4), memcpy(neg + 4, &m1, 4);
            patch(g, kv_type(g, kv), neg, 8, EST_CORRUPT_FAIL, EDGESTT_E_FORMAT, "negative", what(g, "%s = (i32) -1", keys[k]));
        }
        /* a Parakeet GGUF (models/parakeet-gguf.md): every dimension key refused at each absurd value
         * (or at 3 heads: d_model 64 not divisible); the front end's frame keys and the decoding
         * limits may take some of the values (any status, still one line and no crash) */
        static const char *const pk_dims[] = {
            "parakeet.sample_rate", "parakeet.n_mels", "parakeet.n_fft", "parakeet.d_model", "parakeet.n_layers",
            "parakeet.n_heads", "parakeet.ff_dim", "parakeet.conv_kernel", "parakeet.subsampling_factor",
            "parakeet.subsampling_channels", "parakeet.n_vocab", "parakeet.blank_id", "parakeet.pred_hidden",
            "parakeet.pred_layers", "parakeet.joint_hidden",
        };
        static const char *const pk_any[] = {"parakeet.win_length", "parakeet.hop_length", "parakeet.xscaling",
                                             "parakeet.use_bias", "parakeet.max_symbols"};
        for (size_t k = 0; k < sizeof pk_dims / sizeof pk_dims[0] + sizeof pk_any / sizeof pk_any[0]; k++) {
            const int dim = k < sizeof pk_dims / sizeof pk_dims[0];
            const char *key = dim ? pk_dims[k] : pk_any[k - sizeof pk_dims / sizeof pk_dims[0]];
            const est_gguf_kv *kv = find_kv(g, key);
            if (!kv || kv->type != EST_GGUF_U32) continue;
            for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++)
                patch_u32(g, kv_value(g, kv), vals[v], dim ? EST_CORRUPT_FAIL : EST_CORRUPT_ANY, 0, NULL,
                          what(g, "%s = %u", key, vals[v]));
            if (!strcmp(key, "parakeet.n_heads"))
                patch_u32(g, kv_value(g, kv), 3, EST_CORRUPT_FAIL, 0, NULL, what(g, "%s = 3", key));
        }
    } else {
        static const char *const names[] = {"n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
                                            "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"};
        for (int k = 0; k < EST_BIN_FTYPE; k++) {
            for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++)
                patch_u32(g, 4 + 4 * (size_t)k, vals[v], EST_CORRUPT_FAIL, 0, NULL, what(g, "%s = %d", names[k], (int32_t)vals[v]));
            if (k == EST_BIN_N_AUDIO_HEAD || k == EST_BIN_N_TEXT_HEAD)
                patch_u32(g, 4 + 4 * (size_t)k, 3, EST_CORRUPT_FAIL, EDGESTT_E_LIMIT, "does not divide", what(g, "%s = 3", names[k]));
        }
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            patch_u32(g, 48, vals[v], EST_CORRUPT_FAIL, 0, NULL, what(g, "mel n_mel = %d", (int32_t)vals[v]));
            patch_u32(g, 52, vals[v], EST_CORRUPT_FAIL, 0, NULL, what(g, "mel n_fft = %d", (int32_t)vals[v]));
        }
    }
    static const uint64_t dims64[] = {0, 1ull << 31, 1ull << 32, 1ull << 63, ~0ull};
    static const uint32_t ndims[] = {0, 5, 0xffffffffu};
    for (size_t i = 0; i < g->nt; i += (i + 4 < g->nt ? 4 : 1)) {
        const est_file_tensor *t = &g->t[i];
        for (size_t v = 0; v < sizeof dims64 / sizeof dims64[0]; v++) {
            if (g->gguf)
                patch_u64(g, gi_ne(g, t, 0), dims64[v], EST_CORRUPT_FAIL, 0, NULL,
                          what(g, "ne[0] of '%s' = %llu", tname(t, nb), (unsigned long long)dims64[v]));
            else
                patch_u32(g, br_ne(g, t, 0), (uint32_t)(dims64[v] ? dims64[v] - 1 : 0), EST_CORRUPT_FAIL, 0, NULL,
                          what(g, "ne[0] of '%s' = %d", tname(t, nb), (int32_t)(uint32_t)(dims64[v] ? dims64[v] - 1 : 0)));
        }
        for (size_t v = 0; v < sizeof ndims / sizeof ndims[0]; v++)
            patch_u32(g, g->gguf ? gi_ndims(g, t) : br_start(g, t), ndims[v], EST_CORRUPT_FAIL, EDGESTT_E_FORMAT, "dimensions",
                      what(g, "n_dims of '%s' = %u", tname(t, nb), ndims[v]));
    }
}

static void fam_types(gen *g) {
    char nb[80];
    static const uint32_t bad[] = {3, 6, 7, 9, 10, 16, 39, 0x7fffffffu, 0xffffffffu};
    static const uint32_t ok[] = {EDGESTT_TYPE_F32, EDGESTT_TYPE_F16, EDGESTT_TYPE_Q4_0, EDGESTT_TYPE_Q8_0};
    for (size_t i = 0; i < g->nt; i += (i + 3 < g->nt ? 3 : 1)) {
        const est_file_tensor *t = &g->t[i];
        const size_t off = g->gguf ? gi_type(g, t) : br_start(g, t) + 8;
        for (size_t v = 0; v < sizeof bad / sizeof bad[0]; v++)
            patch_u32(g, off, bad[v], EST_CORRUPT_FAIL, EDGESTT_E_UNSUPPORTED, "type",
                      what(g, "type of '%s' = %u", tname(t, nb), bad[v]));
        for (size_t v = 0; v < 4; v++) {
            if ((int32_t)ok[v] == t->type) continue;
            /* .bin: the record size changes, the walk derails; GGUF: vectors must be F32, a
             * matrix of another type may still fit in bounds (overlapping its neighbours) */
            const int e = !g->gguf || t->n_dims == 1 ? EST_CORRUPT_FAIL : EST_CORRUPT_ANY;
            patch_u32(g, off, ok[v], e, 0, NULL, what(g, "type of '%s' = %s", tname(t, nb), edgestt_type_name((int)ok[v])));
        }
    }
}

static void fam_names(gen *g) {
    char nb[80];
    if (g->gguf) {
        /* one tensor fewer: the last info becomes padding, the data section may start earlier
         * (still aligned, in bounds): the undescribed tensor is missing */
        patch_u64(g, 8, g->nt - 1, EST_CORRUPT_FAIL, EDGESTT_E_MODEL, "missing", "n_tensors - 1 (last tensor missing)");
        patch_u64(g, 8, g->nt + 1, EST_CORRUPT_FAIL, 0, NULL, "n_tensors + 1");
    }
    const int n_layer = g->pr.hp.n_audio_layer < g->pr.hp.n_text_layer ? g->pr.hp.n_audio_layer : g->pr.hp.n_text_layer;
    for (size_t i = 0; i < g->nt; i++) {
        const est_file_tensor *t = &g->t[i];
        const char *dot = memchr(t->name, '.', t->name_len);
        size_t nl = t->name_len;
        /* "encoder.blocks.D." with one digit: another existing layer (a duplicate), layer 9 (past) */
        if (dot && nl > 16 && !memcmp(dot, ".blocks.", 8) && (size_t)(dot - t->name) + 10 < nl && dot[9] == '.') {
            const size_t d = at(g, dot + 8);
            const int layer = dot[8] - '0';
            if (n_layer >= 2 && n_layer <= 9) {
                uint8_t other = (uint8_t)('0' + (layer + 1) % n_layer);
                patch(g, d, &other, 1, EST_CORRUPT_FAIL, EDGESTT_E_MODEL, "appears twice",
                      what(g, "'%s' renamed to layer %c", tname(t, nb), other));
                uint8_t nine = '9';
                patch(g, d, &nine, 1, EST_CORRUPT_FAIL, EDGESTT_E_MODEL, "past the", what(g, "'%s' renamed to layer 9", tname(t, nb)));
            }
        }
        if (i % 3 == 0) {
            static const uint8_t junk[] = {'X', '\n', 0x00, 0xff};
            const uint8_t c = junk[(i / 3) % 4];
            /* Whisper names the unknown one; a transducer's binder meets the missing original first */
            patch(g, at(g, t->name) + nl - 1, &c, 1, EST_CORRUPT_FAIL, EDGESTT_E_MODEL, g->other ? NULL : "unknown tensor",
                  what(g, "last byte of '%s' = 0x%02x", tname(t, nb), c));
        }
    }
}

static void fam_align(gen *g) {
    if (!g->gguf) return;
    const est_gguf_kv *kv = find_kv(g, "general.alignment");
    if (!kv) return;
    static const uint32_t vals[] = {0, 3, 48, 96, 100, 65535, 0x80000001u, 0xffffffffu};
    for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++)
        patch_u32(g, kv_value(g, kv), vals[v], EST_CORRUPT_FAIL, EDGESTT_E_FORMAT, "power of two",
                  what(g, "general.alignment = %u", vals[v]));
    patch_u32(g, kv_type(g, kv), EST_GGUF_U16, EST_CORRUPT_FAIL, 0, NULL, "general.alignment typed u16");
    patch_u32(g, kv_type(g, kv), EST_GGUF_U64, EST_CORRUPT_FAIL, 0, NULL, "general.alignment typed u64");
}

static void fam_strlen(gen *g) {
    char nb[80];
    if (g->gguf) {
        for (size_t i = 0; i < g->nkv; i++) {
            const est_gguf_kv *kv = &g->kv[i];
            const size_t ks = kv_start(g, kv);
            patch_u64(g, ks, (uint64_t)(g->size - ks - 8) + 1, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL,
                      what(g, "key %zu length one past the end", i));
            patch_u64(g, ks, ~0ull, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, what(g, "key %zu length 2^64-1", i));
            if (kv->type == EST_GGUF_STRING) {
                const size_t vs = kv_value(g, kv);
                patch_u64(g, vs, (uint64_t)(g->size - vs - 8) + 1, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL,
                          what(g, "string value %zu length one past the end", i));
                patch_u64(g, vs, 1ull << 63, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, what(g, "string value %zu length 2^63", i));
            }
            if (kv->type == EST_GGUF_ARRAY) {
                const size_t cnt = at(g, kv->val) - 8;
                patch_u64(g, cnt, ~0ull, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, what(g, "array %zu count 2^64-1", i));
                patch_u64(g, cnt, 1ull << 62, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, what(g, "array %zu count 2^62", i));
                patch_u64(g, cnt, kv->arr_n + 1, EST_CORRUPT_FAIL, 0, NULL, what(g, "array %zu count + 1", i));
                if (kv->arr_type == EST_GGUF_STRING && kv->arr_n > 0) {
                    /* element lengths: the first, a seeded one, the last */
                    const uint8_t *p = kv->val;
                    const char *s;
                    uint64_t l, pick = rnd(g) % kv->arr_n;
                    for (uint64_t e = 0; e < kv->arr_n; e++) {
                        if (e == 0 || e == pick || e + 1 == kv->arr_n) {
                            const size_t es = at(g, p);
                            patch_u64(g, es, (uint64_t)(g->size - es - 8) + 1, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL,
                                      what(g, "array %zu string %llu length one past the end", i, (unsigned long long)e));
                            patch_u64(g, es, ~0ull, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL,
                                      what(g, "array %zu string %llu length 2^64-1", i, (unsigned long long)e));
                        }
                        if (!est_gguf_next_str(&p, g->img + g->size, &s, &l)) break;
                    }
                }
            }
        }
        for (size_t i = 0; i < g->nt; i += (i + 5 < g->nt ? 5 : 1)) {
            const est_file_tensor *t = &g->t[i];
            const size_t s = gi_start(g, t);
            patch_u64(g, s, 0, EST_CORRUPT_FAIL, EDGESTT_E_FORMAT, "tensor name", what(g, "name length of '%s' = 0", tname(t, nb)));
            patch_u64(g, s, 1025, EST_CORRUPT_FAIL, 0, NULL, what(g, "name length of '%s' = 1025", tname(t, nb)));
            patch_u64(g, s, ~0ull, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, what(g, "name length of '%s' = 2^64-1", tname(t, nb)));
        }
    } else {
        const est_ggml_bin *b = &g->pr.bin;
        const size_t words = at(g, b->words);
        patch_u32(g, words - 4, 0x7fffffffu, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, "word count INT_MAX");
        patch_u32(g, words - 4, 0xffffffffu, EST_CORRUPT_FAIL, EDGESTT_E_FORMAT, "vocabulary", "word count -1");
        patch_u32(g, words - 4, (uint32_t)b->n_words + 1, EST_CORRUPT_FAIL, 0, NULL, "word count + 1");
        size_t pos = words;
        const uint64_t pick = rnd(g) % (uint64_t)(b->n_words ? b->n_words : 1);
        for (int32_t w = 0; w < b->n_words; w++) {
            if (w == 0 || (uint64_t)w == pick || w + 1 == b->n_words) {
                patch_u32(g, pos, 0xffffffffu, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL, what(g, "word %d length 2^32-1", w));
                patch_u32(g, pos, (uint32_t)(g->size - pos - 4) + 1, EST_CORRUPT_FAIL, EDGESTT_E_TRUNCATED, NULL,
                          what(g, "word %d length one past the end", w));
            }
            pos += 4 + est_rd_u32(g->img + pos);
        }
        static const uint32_t lens[] = {0, 1025, 0x7fffffffu, 0xffffffffu};
        for (size_t i = 0; i < g->nt; i += (i + 5 < g->nt ? 5 : 1)) {
            const est_file_tensor *t = &g->t[i];
            for (size_t v = 0; v < 4; v++)
                patch_u32(g, br_start(g, t) + 4, lens[v], EST_CORRUPT_FAIL, EDGESTT_E_FORMAT, "name of",
                          what(g, "name length of '%s' = %d", tname(t, nb), (int32_t)lens[v]));
        }
    }
}

static void fam_nan(gen *g) {
    char nb[80];
    static const uint16_t scales[] = {0x7e00, 0x7c00, 0xfc00, 0x7bff, 0x0001, 0xffff};
    int q8 = 0, f32 = 0;
    for (size_t i = 0; i < g->nt; i++) {
        const est_file_tensor *t = &g->t[i];
        if (t->type == EDGESTT_TYPE_Q8_0 && q8 < 4) {
            const size_t blocks = t->nbytes / 34, pick[3] = {0, blocks / 2, blocks - 1};
            for (int b = 0; b < 3; b++)
                for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++)
                    patch_u16(g, at(g, t->data) + 34 * pick[b], scales[s], EST_CORRUPT_OK, 0, NULL,
                              what(g, "q8_0 scale of block %zu of '%s' = 0x%04x", pick[b], tname(t, nb), scales[s]));
            q8++;
        }
        if (t->type == EDGESTT_TYPE_F16 && i % 7 == 0)
            patch_u16(g, at(g, t->data), 0x7e00, EST_CORRUPT_OK, 0, NULL, what(g, "f16 NaN in '%s'", tname(t, nb)));
        if (t->type == EDGESTT_TYPE_F32 && f32 < 4) {
            patch_f32(g, at(g, t->data), __builtin_nanf(""), EST_CORRUPT_OK, what(g, "f32 NaN in '%s'", tname(t, nb)));
            patch_f32(g, at(g, t->data) + t->nbytes - 4, -__builtin_inff(), EST_CORRUPT_OK,
                      what(g, "f32 -Inf in '%s'", tname(t, nb)));
            f32++;
        }
    }
    if (!g->gguf) {
        patch_f32(g, 56, __builtin_nanf(""), EST_CORRUPT_OK, "NaN in the mel filters");
        patch_f32(g, 60, __builtin_inff(), EST_CORRUPT_OK, "Inf in the mel filters");
    }
}

/* ---- driver ------------------------------------------------------------------------------- */

int est_corrupt_generate(uint8_t *img, size_t size, unsigned mask, uint64_t seed, est_corrupt_fn fn, void *ctx,
                         size_t *n_cases) {
    gen G, *g = &G;
    memset(g, 0, sizeof *g);
    g->img = img;
    g->size = size;
    g->fn = fn;
    g->ctx = ctx;
    g->rng = seed;
    *n_cases = 0;
    edgestt_diag d;
    if (est_whisper_probe_image(img, size, &g->pr, &d)) {
        /* not a Whisper model: any other GGUF (a Parakeet transducer) by its plain layout; the
         * Whisper hyper-parameters stay 0, so the layer-renaming cases are left out */
        memset(&g->pr, 0, sizeof g->pr);
        if (est_gguf_scan(img, size, &g->pr.gguf, NULL, NULL, &d)) return -1;
        g->pr.format = EDGESTT_FORMAT_GGUF;
        g->other = 1;
        g->pr.n_file_tensors = g->pr.gguf.n_tensors;
        g->pr.n_file_kv = g->pr.gguf.n_kv;
    }
    g->gguf = g->pr.format == EDGESTT_FORMAT_GGUF;
    g->nt = (size_t)g->pr.n_file_tensors;
    g->t = calloc(g->nt ? g->nt : 1, sizeof *g->t);
    int st = -1;
    if (g->gguf) {
        g->nkv = (size_t)g->pr.n_file_kv;
        g->kv = calloc(g->nkv ? g->nkv : 1, sizeof *g->kv);
        est_gguf gg;
        if (g->t && g->kv) st = est_gguf_fill(img, size, &g->pr.gguf, g->kv, g->t, &gg, &d);
    } else if (g->t) {
        est_ggml_bin b = g->pr.bin;
        st = est_ggml_bin_fill(&b, g->t, &d);
    }
    if (st || !g->nt) {
        free(g->t);
        free(g->kv);
        return -1;
    }
    for (size_t i = 0; i < g->nt; i++)
        if (at(g, g->t[i].data) + g->t[i].nbytes > g->data_end) g->data_end = at(g, g->t[i].data) + g->t[i].nbytes;
    if (mask & EST_CORRUPT_TRUNC) fam_trunc(g);
    if (mask & EST_CORRUPT_FLIP) fam_flip(g);
    if (mask & EST_CORRUPT_ABSURD) fam_absurd(g);
    if (mask & EST_CORRUPT_TYPES) fam_types(g);
    if (mask & EST_CORRUPT_NAMES) fam_names(g);
    if (mask & EST_CORRUPT_ALIGN) fam_align(g);
    if (mask & EST_CORRUPT_STRLEN) fam_strlen(g);
    if (mask & EST_CORRUPT_NAN) fam_nan(g);
    *n_cases = g->n;
    free(g->t);
    free(g->kv);
    return 0;
}
