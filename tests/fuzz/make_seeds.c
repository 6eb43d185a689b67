/*
 * make_seeds.c - writes the fuzz seed corpora (a host tool; stdio and malloc are fine here):
 *   make_seeds OUT_DIR [--models DIR] [--big]
 * into OUT_DIR/{gguf,ggml_bin,wav,tokenizer}/.  tests/fuzz/corpus/ was made with
 *   build/fuzz/make_seeds tests/fuzz/corpus --models build/testmodels
 * plus the inputs fuzzing found (merged) and saved crash reproducers (crash-*).
 *
 * Seeds: complete tiny valid Whisper models (n_state 1, one layer, F16 token embedding: the
 * smallest files that open; .bin with 0 or 256 stored words, GGUF with explicit special-token keys
 * and n_vocab 50001 -- ~0.5 MB because GGUF stores every token string), synthetic GGUFs holding
 * every KV value type and each tensor type, header prefixes of the generated mini models (--models),
 * WAVs of every sample format, layout and rate, and tokenizer id sequences.  --big adds the
 * derived-layout GGUF (n_vocab 51864, no token keys) that is too large to commit.
 * Deterministic: the same output on every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ==== a growable byte buffer ============================================================== */

typedef struct sbuf {
    unsigned char *p;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            fprintf(stderr, "make_seeds: out of memory\n");
            exit(1);
        }
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u8(sbuf *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void put_u16(sbuf *b, unsigned v) { put_u8(b, v & 255), put_u8(b, (v >> 8) & 255); }
static void put_u32(sbuf *b, unsigned long v) { put_u16(b, (unsigned)(v & 0xffff)), put_u16(b, (unsigned)((v >> 16) & 0xffff)); }
static void put_u64(sbuf *b, unsigned long long v) { put_u32(b, (unsigned long)(v & 0xffffffffu)), put_u32(b, (unsigned long)(v >> 32)); }
static void put_f32(sbuf *b, float f) { put(b, &f, 4); } /* little-endian hosts only (x86-64, aarch64) */
static void put_gstr(sbuf *b, const char *s, size_t n) { put_u64(b, n), put(b, s, n); }
static void pad_to(sbuf *b, size_t a) { while (b->n % a) put_u8(b, 0); }

static const char *out_dir;

static void save(const char *harness, const char *name, const void *p, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_dir, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void save_buf(const char *harness, const char *name, sbuf *b) {
    save(harness, name, b->p, b->n);
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ==== tiny Whisper models ================================================================= */

enum { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q8_0 = 8 };

typedef struct tdesc {
    char name[64];
    int type, n_dims;
    long long ne[4];
} tdesc;

static tdesc tl[256];
static int n_tl;

static void add_t(const char *name, int type, int n_dims, long long ne0, long long ne1, long long ne2) {
    tdesc *t = &tl[n_tl++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->n_dims = n_dims;
    t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2, t->ne[3] = 1;
}

static size_t t_bytes(const tdesc *t) {
    size_t n = (size_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    return t->type == T_F32 ? 4 * n : t->type == T_F16 ? 2 * n : t->type == T_Q8_0 ? n / 32 * 34 : n / 32 * 18;
}

/* The tensor list of a model with width S, M mels, contexts AC/TC, V tokens, one layer each side.
 * bin: conv biases as whisper.cpp stores them (ne [1, S]) and no mel_filters tensor. */
static void tiny_tensors(long long S, long long M, long long AC, long long TC, long long V, int bin) {
    char b[96];
    n_tl = 0;
    if (!bin) add_t("mel_filters", T_F32, 2, 201, M, 1);
    add_t("encoder.positional_embedding", T_F32, 2, S, AC, 1);
    add_t("encoder.conv1.weight", T_F16, 3, 3, M, S);
    add_t("encoder.conv1.bias", T_F32, bin ? 2 : 1, bin ? 1 : S, bin ? S : 1, 1);
    add_t("encoder.conv2.weight", T_F16, 3, 3, S, S);
    add_t("encoder.conv2.bias", T_F32, bin ? 2 : 1, bin ? 1 : S, bin ? S : 1, 1);
    const char *attn[] = {"query", "key", "value", "out"};
    for (int part = 0; part < 2; part++) {
        const char *pre = part ? "decoder.blocks.0" : "encoder.blocks.0";
        const int n_att = part ? 2 : 1;
        for (int a = 0; a < n_att; a++) {
            const char *an = a ? "cross_attn" : "attn";
            for (int i = 0; i < 4; i++) {
                snprintf(b, sizeof b, "%s.%s.%s.weight", pre, an, attn[i]);
                add_t(b, T_F32, 2, S, S, 1);
                if (i == 1) continue;
                snprintf(b, sizeof b, "%s.%s.%s.bias", pre, an, attn[i]);
                add_t(b, T_F32, 1, S, 1, 1);
            }
            snprintf(b, sizeof b, "%s.%s_ln.weight", pre, an);
            add_t(b, T_F32, 1, S, 1, 1);
            snprintf(b, sizeof b, "%s.%s_ln.bias", pre, an);
            add_t(b, T_F32, 1, S, 1, 1);
        }
        snprintf(b, sizeof b, "%s.mlp.0.weight", pre), add_t(b, T_F32, 2, S, 4 * S, 1);
        snprintf(b, sizeof b, "%s.mlp.0.bias", pre), add_t(b, T_F32, 1, 4 * S, 1, 1);
        snprintf(b, sizeof b, "%s.mlp.2.weight", pre), add_t(b, T_F32, 2, 4 * S, S, 1);
        snprintf(b, sizeof b, "%s.mlp.2.bias", pre), add_t(b, T_F32, 1, S, 1, 1);
        snprintf(b, sizeof b, "%s.mlp_ln.weight", pre), add_t(b, T_F32, 1, S, 1, 1);
        snprintf(b, sizeof b, "%s.mlp_ln.bias", pre), add_t(b, T_F32, 1, S, 1, 1);
    }
    add_t("encoder.ln_post.weight", T_F32, 1, S, 1, 1);
    add_t("encoder.ln_post.bias", T_F32, 1, S, 1, 1);
    add_t("decoder.positional_embedding", T_F32, 2, S, TC, 1);
    add_t("decoder.token_embedding.weight", T_F16, 2, S, V, 1);
    add_t("decoder.ln.weight", T_F32, 1, S, 1, 1);
    add_t("decoder.ln.bias", T_F32, 1, S, 1, 1);
}

/* Deterministic small values: F32 in [-0.5, 0.5), F16 from a table of exact patterns. */
static void put_data(sbuf *b, const tdesc *t, unsigned *rng) {
    static const unsigned short f16[8] = {0x0000, 0x3c00, 0xbc00, 0x3800, 0xb800, 0x3400, 0x2e66, 0xac00};
    size_t n = (size_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    for (size_t i = 0; i < n; i++) {
        *rng = *rng * 1103515245u + 12345u;
        if (t->type == T_F32) put_f32(b, (float)((*rng >> 8) & 0xffff) / 65536.0f - 0.5f);
        else put_u16(b, f16[(*rng >> 16) & 7]);
    }
}

/* A .bin model: n_vocab 51864/51865, n_words stored words (byte i as word i). */
static void tiny_bin(sbuf *b, int n_vocab, int n_words, int n_mels) {
    const long long S = 1;
    unsigned rng = 1;
    put_u32(b, 0x67676d6cu);
    const int hp[11] = {n_vocab, 1, (int)S, 1, 1, 1, (int)S, 1, 1, n_mels, 1};
    for (int i = 0; i < 11; i++) put_u32(b, (unsigned long)hp[i]);
    put_u32(b, (unsigned long)n_mels), put_u32(b, 201);
    for (int i = 0; i < n_mels * 201; i++) put_f32(b, (float)(i % 7) * 0.001f);
    put_u32(b, (unsigned long)n_words);
    for (int i = 0; i < n_words; i++) put_u32(b, 1), put_u8(b, (unsigned)i & 255);
    tiny_tensors(S, n_mels, 1, 1, n_vocab, 1);
    for (int i = 0; i < n_tl; i++) {
        const tdesc *t = &tl[i];
        put_u32(b, (unsigned long)t->n_dims), put_u32(b, strlen(t->name)), put_u32(b, (unsigned long)t->type);
        for (int d = 0; d < t->n_dims; d++) put_u32(b, (unsigned long)t->ne[d]);
        put(b, t->name, strlen(t->name));
        put_data(b, t, &rng);
    }
}

static void kv_key(sbuf *b, const char *k, unsigned type) { put_gstr(b, k, strlen(k)), put_u32(b, type); }
static void kv_u32(sbuf *b, const char *k, unsigned v) { kv_key(b, k, 4), put_u32(b, v); }
static void kv_str(sbuf *b, const char *k, const char *v) { kv_key(b, k, 8), put_gstr(b, v, strlen(v)); }

/* GPT-2 byte-level form of byte c (printable bytes are themselves, others U+0100 + k). */
static size_t gpt2_char(unsigned c, char out[2]) {
    int printable = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174;
    unsigned cp = c;
    if (!printable) cp = 256 + (c <= 32 ? c : c <= 160 ? 33 + (c - 127) : 67);
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* A GGUF model.  explicit_tokens: whisper.token.* keys with eot 256 and n_vocab 50001 (the smallest
 * the engine accepts); else n_vocab 51864 and the derived English layout. */
static void tiny_gguf(sbuf *b, int explicit_tokens) {
    const long long S = 1, M = 2;
    const int n_vocab = explicit_tokens ? 50001 : 51864;
    unsigned rng = 2;
    tiny_tensors(S, M, 1, 1, n_vocab, 0);
    put_u32(b, 0x46554747u), put_u32(b, 3), put_u64(b, (unsigned long long)n_tl);
    const struct { const char *k; unsigned v; } u32s[] = {
        {"general.alignment", 32}, {"whisper.n_vocab", (unsigned)n_vocab}, {"whisper.n_mels", (unsigned)M},
        {"whisper.audio.n_ctx", 1}, {"whisper.audio.n_state", 1}, {"whisper.audio.n_head", 1},
        {"whisper.audio.n_layer", 1}, {"whisper.text.n_ctx", 1}, {"whisper.text.n_state", 1},
        {"whisper.text.n_head", 1}, {"whisper.text.n_layer", 1},
    };
    const struct { const char *k; unsigned v; } toks[] = {
        {"whisper.n_languages", 3}, {"whisper.token.eot", 256}, {"whisper.token.sot", 257},
        {"whisper.token.lang_first", 258}, {"whisper.token.translate", 261}, {"whisper.token.transcribe", 262},
        {"whisper.token.sot_lm", 263}, {"whisper.token.sot_prev", 264}, {"whisper.token.no_speech", 265},
        {"whisper.token.no_timestamps", 266}, {"whisper.token.timestamp_begin", 267},
    };
    const size_t nu = sizeof u32s / sizeof u32s[0], nt = explicit_tokens ? sizeof toks / sizeof toks[0] : 0;
    put_u64(b, 3 + nu + nt);
    kv_str(b, "general.architecture", "whisper");
    for (size_t i = 0; i < nu; i++) kv_u32(b, u32s[i].k, u32s[i].v);
    for (size_t i = 0; i < nt; i++) kv_u32(b, toks[i].k, toks[i].v);
    kv_str(b, "whisper.tokenizer.model", "gpt2");
    kv_key(b, "whisper.tokenizer.tokens", 9), put_u32(b, 8), put_u64(b, (unsigned long long)n_vocab);
    for (int id = 0; id < n_vocab; id++) {
        char c[2];
        if (id < 256) put_gstr(b, c, gpt2_char((unsigned)id, c)); /* byte tokens; the rest are empty */
        else put_u64(b, 0);
    }
    unsigned long long off = 0;
    for (int i = 0; i < n_tl; i++) {
        put_gstr(b, tl[i].name, strlen(tl[i].name));
        put_u32(b, (unsigned long)tl[i].n_dims);
        for (int d = 0; d < tl[i].n_dims; d++) put_u64(b, (unsigned long long)tl[i].ne[d]);
        put_u32(b, (unsigned long)tl[i].type), put_u64(b, off);
        off = (off + t_bytes(&tl[i]) + 31) / 32 * 32;
    }
    pad_to(b, 32);
    for (int i = 0; i < n_tl; i++) {
        put_data(b, &tl[i], &rng);
        pad_to(b, 32);
    }
}

/* ==== synthetic GGUFs (the reader on its own) ============================================= */

/* Every KV value type incl. nested arrays, then tensors of each type; version and alignment vary. */
static void synth_gguf(sbuf *b, unsigned version, unsigned alignment, int n_tensors) {
    put_u32(b, 0x46554747u), put_u32(b, version), put_u64(b, (unsigned long long)n_tensors);
    put_u64(b, alignment ? 17 : 16);
    kv_key(b, "t.u8", 0), put_u8(b, 200);
    kv_key(b, "t.i8", 1), put_u8(b, 0xfb);
    kv_key(b, "t.u16", 2), put_u16(b, 60000);
    kv_key(b, "t.i16", 3), put_u16(b, 0xfed4);
    kv_key(b, "t.u32", 4), put_u32(b, 4000000000u);
    kv_key(b, "t.i32", 5), put_u32(b, 0xfffffff9u);
    kv_key(b, "t.f32", 6), put_f32(b, 1.5f);
    kv_key(b, "t.bool", 7), put_u8(b, 1);
    kv_str(b, "t.str", "hello");
    kv_key(b, "t.u64", 10), put_u64(b, 1ull << 40);
    kv_key(b, "t.i64", 11), put_u64(b, (unsigned long long)-(1ll << 40));
    double d = 2.25;
    kv_key(b, "t.f64", 12), put(b, &d, 8);
    kv_key(b, "t.arr_u32", 9), put_u32(b, 4), put_u64(b, 3), put_u32(b, 1), put_u32(b, 2), put_u32(b, 3);
    kv_key(b, "t.arr_str", 9), put_u32(b, 8), put_u64(b, 2), put_gstr(b, "a", 1), put_gstr(b, "bc", 2);
    kv_key(b, "t.nested", 9), put_u32(b, 9), put_u64(b, 2);
    put_u32(b, 3), put_u64(b, 2), put_u16(b, 1), put_u16(b, 2);
    put_u32(b, 3), put_u64(b, 1), put_u16(b, 3);
    kv_u32(b, "general.file_type", 1); /* a duplicate-free integer key the whisper probe reads */
    if (alignment) kv_u32(b, "general.alignment", alignment);
    const unsigned pa = alignment ? alignment : 32;
    static const struct { const char *name; int type, n_dims; long long ne[4]; } ts[] = {
        {"a", T_F32, 2, {4, 2, 1, 1}}, {"b", T_Q8_0, 1, {64, 1, 1, 1}}, {"c", T_Q4_0, 3, {32, 2, 1, 1}},
        {"d", T_F16, 4, {2, 1, 3, 2}},
    };
    unsigned long long off = 0;
    for (int i = 0; i < n_tensors; i++) {
        const int k = i % 4;
        char name[16];
        snprintf(name, sizeof name, "%s%d", ts[k].name, i);
        put_gstr(b, name, strlen(name)), put_u32(b, (unsigned long)ts[k].n_dims);
        for (int j = 0; j < ts[k].n_dims; j++) put_u64(b, (unsigned long long)ts[k].ne[j]);
        put_u32(b, (unsigned long)ts[k].type), put_u64(b, off);
        tdesc t = {"", ts[k].type, ts[k].n_dims, {ts[k].ne[0], ts[k].ne[1], ts[k].ne[2], ts[k].ne[3]}};
        off = (off + t_bytes(&t) + pa - 1) / pa * pa;
    }
    pad_to(b, pa);
    for (unsigned long long i = 0; i < off; i++) put_u8(b, (unsigned)(i * 7 + 1) & 255);
}

/* ==== WAVs ================================================================================ */

typedef struct wav_spec {
    int tag, sub_tag, channels, rate, bits, valid_bits;
    int frames;
    int rf64, streamed, data_first, odd_chunk;
} wav_spec;

static void wav_fmt_chunk(sbuf *b, const wav_spec *s) {
    const int ext = s->tag == 0xFFFE, ba = s->channels * ((s->bits + 7) / 8);
    put(b, "fmt ", 4), put_u32(b, ext ? 40 : 16);
    put_u16(b, (unsigned)s->tag), put_u16(b, (unsigned)s->channels), put_u32(b, (unsigned long)s->rate);
    put_u32(b, (unsigned long)(s->rate * ba)), put_u16(b, (unsigned)ba), put_u16(b, (unsigned)s->bits);
    if (ext) {
        static const unsigned char tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                               0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
        put_u16(b, 22), put_u16(b, (unsigned)(s->valid_bits ? s->valid_bits : s->bits)), put_u32(b, 3);
        put_u16(b, (unsigned)s->sub_tag), put(b, tail, 14);
    }
}

static void wav_data_chunk(sbuf *b, const wav_spec *s) {
    const int bytes = (s->bits + 7) / 8;
    const size_t n = (size_t)s->frames * (size_t)s->channels * (size_t)bytes;
    put(b, "data", 4), put_u32(b, s->rf64 || s->streamed ? 0xFFFFFFFFu : (unsigned long)n);
    unsigned rng = 7;
    for (size_t i = 0; i < n; i++) {
        rng = rng * 1103515245u + 12345u;
        put_u8(b, (rng >> 16) & 255);
    }
    if (n & 1) put_u8(b, 0);
}

static void wav(sbuf *b, const wav_spec *s) {
    put(b, s->rf64 ? "RF64" : "RIFF", 4), put_u32(b, s->rf64 ? 0xFFFFFFFFu : 0), put(b, "WAVE", 4);
    if (s->rf64) {
        const size_t n = (size_t)s->frames * (size_t)s->channels * (size_t)((s->bits + 7) / 8);
        put(b, "ds64", 4), put_u32(b, 28), put_u64(b, 0), put_u64(b, n), put_u64(b, (unsigned long long)s->frames);
        put_u32(b, 0);
    }
    if (s->odd_chunk) put(b, "LIST", 4), put_u32(b, 5), put(b, "INFOx", 5), put_u8(b, 0);
    if (s->data_first) wav_data_chunk(b, s), wav_fmt_chunk(b, s);
    else wav_fmt_chunk(b, s), wav_data_chunk(b, s);
    if (!s->rf64) {
        unsigned long riff = (unsigned long)(b->n - 8);
        b->p[4] = (unsigned char)riff, b->p[5] = (unsigned char)(riff >> 8);
        b->p[6] = (unsigned char)(riff >> 16), b->p[7] = (unsigned char)(riff >> 24);
    }
}

static void all_wavs(void) {
    static const wav_spec specs[] = {
        /* tag, sub, ch, rate, bits, valid, frames, rf64, streamed, data_first, odd */
        {1, 0, 1, 16000, 16, 0, 64, 0, 0, 0, 0},     {1, 0, 1, 16000, 8, 0, 63, 0, 0, 0, 0},
        {1, 0, 2, 16000, 24, 0, 40, 0, 0, 0, 0},     {1, 0, 1, 16000, 32, 0, 20, 0, 0, 0, 0},
        {3, 0, 1, 16000, 32, 0, 20, 0, 0, 0, 0},     {3, 0, 2, 16000, 64, 0, 10, 0, 0, 0, 0},
        {0xFFFE, 1, 2, 48000, 32, 24, 30, 0, 0, 0, 0}, {0xFFFE, 3, 1, 16000, 32, 32, 16, 0, 0, 0, 0},
        {1, 0, 1, 44100, 16, 0, 300, 0, 0, 0, 0},    {1, 0, 1, 8000, 16, 0, 100, 0, 0, 0, 0},
        {1, 0, 1, 1000, 8, 0, 50, 0, 0, 0, 0},       {1, 0, 1, 384000, 16, 0, 500, 0, 0, 0, 0},
        {1, 0, 1, 44101, 16, 0, 200, 0, 0, 0, 0},    {1, 0, 6, 22050, 16, 0, 30, 0, 0, 0, 0},
        {1, 0, 1, 16000, 16, 0, 32, 1, 0, 0, 0},     {1, 0, 1, 16000, 16, 0, 32, 0, 1, 0, 0},
        {1, 0, 1, 16000, 16, 0, 33, 0, 0, 1, 1},     {1, 0, 1, 16000, 12, 0, 16, 0, 0, 0, 0},
        {0x55, 0, 1, 16000, 16, 0, 16, 0, 0, 0, 0},  {3, 0, 1, 11025, 32, 0, 100, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        sbuf b = {0};
        const wav_spec *s = &specs[i];
        wav(&b, s);
        char name[96];
        snprintf(name, sizeof name, "seed-%02zu-tag%x-%dch-%dHz-%dbit%s%s%s%s.wav", i, (unsigned)s->tag, s->channels,
                 s->rate, s->bits, s->rf64 ? "-rf64" : "", s->streamed ? "-streamed" : "",
                 s->data_first ? "-datafirst" : "", s->odd_chunk ? "-oddchunk" : "");
        save_buf("wav", name, &b);
    }
}

/* ==== tokenizer id sequences ============================================================== */

static void tok_seed(const char *name, unsigned model, unsigned capsel, const int *ids, int n) {
    sbuf b = {0};
    put_u8(&b, model), put_u8(&b, capsel);
    for (int i = 0; i < n; i++) put_u32(&b, (unsigned long)(unsigned)ids[i]);
    save_buf("tokenizer", name, &b);
}

static void all_tokenizer(void) {
    const int text[] = {2396, 318, 257, 1332, 13, 220, 50256, 464, 50363, 50364, 11};
    const int special[] = {50257, 50258, 50259, 50358, 50359, 50360, 50361, 50362, 50363, 51863, 51864, 51865};
    const int bad[] = {1, 2, 3, -1, 4, 5, 2147483647, (int)0x80000000u, 60000};
    const int bytes[] = {0, 1, 31, 32, 127, 160, 173, 255, 256, 50255};
    for (unsigned m = 0; m < 3; m++) {
        char name[64];
        snprintf(name, sizeof name, "seed-text-m%u", m), tok_seed(name, m, 7, text, 11);
        snprintf(name, sizeof name, "seed-special-m%u", m), tok_seed(name, m, 0, special, 12);
        snprintf(name, sizeof name, "seed-bad-m%u", m), tok_seed(name, m, 3, bad, 9);
        snprintf(name, sizeof name, "seed-bytes-m%u", m), tok_seed(name, m, 255, bytes, 10);
    }
    tok_seed("seed-empty", 0, 0, NULL, 0);
}

/* ==== prefixes of the generated mini models =============================================== */

static void prefixes(const char *models) {
    static const struct { const char *file, *harness; } m[] = {
        {"mini-en-f16.gguf", "gguf"}, {"mini-en-f16.bin", "ggml_bin"},
    };
    static const size_t cuts[] = {24, 64, 300, 4096, 65536};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", models, m[i].file);
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "make_seeds: %s missing, no prefix seeds\n", path);
            continue;
        }
        unsigned char *buf = malloc(65536);
        size_t n = buf ? fread(buf, 1, 65536, f) : 0;
        fclose(f);
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            if (cuts[c] > n) continue;
            char name[96];
            snprintf(name, sizeof name, "seed-prefix-%zu-%s", cuts[c], m[i].file);
            save(m[i].harness, name, buf, cuts[c]);
        }
        free(buf);
    }
}

int main(int argc, char **argv) {
    const char *models = NULL;
    int big = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--models") && i + 1 < argc) models = argv[++i];
        else if (!strcmp(argv[i], "--big")) big = 1;
        else if (!out_dir) out_dir = argv[i];
    }
    if (!out_dir) {
        fprintf(stderr, "usage: make_seeds OUT_DIR [--models DIR] [--big]\n");
        return 2;
    }
    mkdir(out_dir, 0755);
    sbuf b = {0};
    tiny_bin(&b, 51864, 0, 1), save_buf("ggml_bin", "seed-valid-tiny-en-0words.bin", &b);
    tiny_bin(&b, 51865, 256, 2), save_buf("ggml_bin", "seed-valid-tiny-multi-256words.bin", &b);
    tiny_gguf(&b, 1), save_buf("gguf", "seed-valid-tiny-explicit-tokens.gguf", &b);
    if (big) tiny_gguf(&b, 0), save_buf("gguf", "seed-valid-tiny-derived-tokens.gguf", &b);
    synth_gguf(&b, 3, 64, 4), save_buf("gguf", "seed-synth-v3-align64.gguf", &b);
    synth_gguf(&b, 2, 0, 2), save_buf("gguf", "seed-synth-v2-default-align.gguf", &b);
    synth_gguf(&b, 3, 128, 0), save_buf("gguf", "seed-synth-v3-no-tensors.gguf", &b);
    synth_gguf(&b, 3, 32, 8), save_buf("gguf", "seed-synth-v3-8-tensors.gguf", &b);
    all_wavs();
    all_tokenizer();
    if (models) prefixes(models);
    return 0;
}
