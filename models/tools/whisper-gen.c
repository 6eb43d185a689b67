/*
 * whisper-gen - writes seeded random Whisper models of the released shapes (and a small "mini"
 * shape for fast tests) as GGUF (models/whisper-gguf.md) or whisper.cpp .bin files.  A host tool:
 * stdio and malloc are fine here.
 *
 *   whisper-gen --size tiny|base|small|medium|large|mini|kiosk [--vocab-kind en|multi|v3|char]
 *               [--layout gguf|bin] [--type f32|f16|q8_0|q4_0] [--seed N] [--vocab encoder.json]
 *               [--audio-ctx N] [--text-ctx N] -o FILE
 *   whisper-gen --preset kiosk [--type T] -o FILE   (= --size kiosk --vocab-kind char: the layout of
 *               the project's trained small model, contract in models/whisper-gguf.md)
 *   whisper-gen --test-set DIR       (exactly the files the tests use)
 *
 * The "char" vocabulary is the compact character-level one of the project's small models (GGUF
 * only): text ids 0..37 = space (GPT-2 "Ġ"), "'", a..z, 0..9; eot 38, sot 39, <|en|> 40 (one
 * language), translate 41, transcribe 42, sot_lm 43, sot_prev 44, no_speech 45, no_timestamps 46,
 * timestamp_begin 47 and n_audio_ctx + 1 timestamps (n_vocab = 48 + n_audio_ctx).
 *
 * Weights are deterministic and platform-independent: each tensor has its own splitmix64 stream
 * seeded from (seed, FNV-1a of its name), so the same seed gives the same values in both layouts
 * and in any tensor order; a value is a sum of four 22-bit uniforms (an exact integer) times one
 * float scale, so only single IEEE multiplications and additions touch it (no libm).  Type policy:
 * .bin follows whisper.cpp (f16: 1-D tensors, conv biases and positional embeddings stay F32;
 * quantized: only 2-D tensors are quantized, conv weights F16); GGUF the same (linear weights and
 * the token embedding take the type, norms/biases/positional F32, conv weights F16, all F32 for
 * f32) - so a .bin and a .gguf of one seed hold byte-identical tensor data.
 * Output goes to FILE.part, renamed to FILE when complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/gguf_write.h"
#include "../../core/internal.h"
#include "../../core/mel.h"
#include "../../core/tokenizer.h"
#include "../../kernels/quant.h"
#include "../whisper.h"

#define N_TEXT_GPT2 50256 /* GPT-2 text tokens (encoder.json ids 0..50255; 50256 is <|endoftext|>) */
#define FILLER "<|filler|>"
#define GGUF_ALIGN 64
#define QNT_VERSION 2     /* ggml's GGML_QNT_VERSION, folded into the .bin ftype */
#define DEFAULT_SEED 20240601ull

typedef struct cfg {
    const char *size;
    int n_state, n_head, n_layer;
    int n_vocab, n_mels, n_audio_ctx, n_text_ctx;
    int type;        /* edgestt_type */
    int gguf;        /* 1: GGUF, 0: .bin */
    int chars;       /* 1: the compact character vocabulary (GGUF only) */
    uint64_t seed;
    char name[96];
} cfg;

static void die(const char *msg, const char *arg) {
    fprintf(stderr, "whisper-gen: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

/* ==== vocabulary: encoder.json =========================================================== */

static char *vocab[N_TEXT_GPT2 + 1]; /* GPT-2 byte-level strings, NUL-terminated */
static size_t vocab_len[N_TEXT_GPT2 + 1];

static void put_utf8(char *out, size_t *n, unsigned cp) {
    if (cp < 0x80) out[(*n)++] = (char)cp;
    else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static unsigned hex4(const char *s) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else die("bad \\u escape in encoder.json", NULL);
    }
    return v;
}

/* A JSON string at *p (opening quote) into a new NUL-terminated buffer; *p past the closing quote. */
static char *json_string(const char **p, const char *end, size_t *len) {
    const char *s = *p;
    if (s >= end || *s != '"') die("encoder.json: expected a string", NULL);
    s++;
    size_t n = 0, cap = 64;
    char *out = malloc(cap);
    if (!out) die("out of memory", NULL);
    while (s < end && *s != '"') {
        if (n + 8 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            if (!out) die("out of memory", NULL);
        }
        if (*s != '\\') {
            out[n++] = *s++;
            continue;
        }
        if (++s >= end) break;
        char c = *s++;
        switch (c) {
        case '"': case '\\': case '/': out[n++] = c; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            if (end - s < 4) die("encoder.json: cut \\u escape", NULL);
            unsigned cp = hex4(s);
            s += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - s >= 6 && s[0] == '\\' && s[1] == 'u') {
                unsigned lo = hex4(s + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                }
            }
            put_utf8(out, &n, cp);
            break;
        }
        default: die("encoder.json: bad escape", NULL);
        }
    }
    if (s >= end) die("encoder.json: unterminated string", NULL);
    *p = s + 1;
    out[n] = 0;
    *len = n;
    return out;
}

static void skip_ws(const char **p, const char *end) {
    while (*p < end && (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t')) (*p)++;
}

static void load_vocab(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open the vocabulary (use --vocab models/vocab/encoder.json)", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) die("cannot read", path);
    fclose(f);
    const char *p = buf, *end = buf + sz;
    skip_ws(&p, end);
    if (p >= end || *p++ != '{') die("encoder.json: expected an object", NULL);
    int count = 0;
    for (;;) {
        skip_ws(&p, end);
        if (p < end && *p == '}') break;
        size_t len;
        char *key = json_string(&p, end, &len);
        skip_ws(&p, end);
        if (p >= end || *p++ != ':') die("encoder.json: expected ':'", NULL);
        skip_ws(&p, end);
        long id = strtol(p, (char **)&p, 10);
        if (id < 0 || id > N_TEXT_GPT2) die("encoder.json: id out of range", key);
        if (vocab[id]) die("encoder.json: duplicate id", key);
        vocab[id] = key;
        vocab_len[id] = len;
        count++;
        skip_ws(&p, end);
        if (p < end && *p == ',') p++;
    }
    free(buf);
    if (count != N_TEXT_GPT2 + 1) die("encoder.json: expected 50257 entries", path);
    if (strcmp(vocab[N_TEXT_GPT2], "<|endoftext|>")) die("encoder.json: id 50256 is not <|endoftext|>", NULL);
}

/* ==== deterministic weights ============================================================== */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* Square root by Newton's iteration in double (+, *, / only: the same on every IEEE host). */
static double newton_sqrt(double x) {
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 80; i++) r = 0.5 * (r + x / r);
    return r;
}

/* An integer with mean 0 and standard deviation 2^22 / sqrt(3) (sum of four 22-bit uniforms). */
static int32_t gen_int(uint64_t *s) {
    uint64_t a = splitmix(s), b = splitmix(s);
    const uint64_t m = (1u << 22) - 1;
    return (int32_t)((a & m) + ((a >> 32) & m) + (b & m) + ((b >> 32) & m)) - (1 << 23);
}

enum { K_NORM, K_BIAS, K_LINEAR, K_CONV, K_POS, K_EMB, K_MEL };

typedef struct gtensor {
    char name[80];
    int kind;
    int n_dims;
    int64_t ne[4];   /* ggml order */
    int64_t n_in;    /* fan-in for linear / conv scaling */
    int type;
    int conv_bias;   /* written as ne [1, n_state] in .bin, as whisper.cpp does */
} gtensor;

/* Values of one tensor in ggml memory order (= PyTorch row-major order). */
static void gen_values(const cfg *c, const gtensor *t, float *out, int64_t n) {
    uint64_t s = c->seed ^ fnv1a(t->name);
    splitmix(&s);
    double std;
    float add = 0.0f;
    switch (t->kind) {
    case K_NORM: std = 0.1; add = 1.0f; break;
    case K_BIAS: std = 0.05; break;
    case K_POS: std = 0.2; break;
    case K_EMB: std = 0.1; break; /* small enough that random-weight decoding varies (timestamps, eot) */
    default: std = 1.0 / newton_sqrt((double)t->n_in); break;
    }
    const float k = (float)(std * newton_sqrt(3.0) / 4194304.0);
    for (int64_t i = 0; i < n; i++) out[i] = add + (float)gen_int(&s) * k;
}

/* ==== the tensor list ==================================================================== */

static int n_tensors;
static gtensor tensors[1024];

static gtensor *add(const char *name, int kind, int n_dims, int64_t ne0, int64_t ne1, int64_t ne2, int64_t n_in) {
    if (n_tensors >= 1024) die("too many tensors", NULL);
    gtensor *t = &tensors[n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->n_dims = n_dims;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->ne[2] = ne2;
    t->ne[3] = 1;
    t->n_in = n_in;
    return t;
}

static void add_attn(const char *pre, int64_t S) {
    char b[80];
    const char *parts[] = {"query", "key", "value", "out"};
    for (int i = 0; i < 4; i++) {
        snprintf(b, sizeof b, "%s.%s.weight", pre, parts[i]);
        add(b, K_LINEAR, 2, S, S, 1, S);
        if (i != 1) {
            snprintf(b, sizeof b, "%s.%s.bias", pre, parts[i]);
            add(b, K_BIAS, 1, S, 1, 1, 0);
        }
    }
}

static void add_ln(const char *pre) {
    char b[80];
    snprintf(b, sizeof b, "%s.weight", pre);
    add(b, K_NORM, 1, 0, 1, 1, 0);
    snprintf(b, sizeof b, "%s.bias", pre);
    add(b, K_BIAS, 1, 0, 1, 1, 0);
}

/* Weight type of a tensor under the file's type policy (see the header comment). */
static int policy_type(const cfg *c, const gtensor *t) {
    if (t->kind == K_MEL || c->type == EDGESTT_TYPE_F32) return EDGESTT_TYPE_F32;
    if (t->kind == K_CONV) return EDGESTT_TYPE_F16;
    if (t->kind == K_LINEAR || t->kind == K_EMB) return c->type;
    return EDGESTT_TYPE_F32; /* norms, biases, positional embeddings */
}

static void build_tensors(const cfg *c) {
    const int64_t S = c->n_state, M = c->n_mels;
    char b[96];
    n_tensors = 0;
    if (c->gguf) add("mel_filters", K_MEL, 2, EST_MEL_N_BINS, M, 1, 0);
    add("encoder.positional_embedding", K_POS, 2, S, c->n_audio_ctx, 1, 0);
    add("encoder.conv1.weight", K_CONV, 3, 3, M, S, 3 * M);
    add("encoder.conv1.bias", K_BIAS, 1, S, 1, 1, 0)->conv_bias = 1;
    add("encoder.conv2.weight", K_CONV, 3, 3, S, S, 3 * S);
    add("encoder.conv2.bias", K_BIAS, 1, S, 1, 1, 0)->conv_bias = 1;
    for (int l = 0; l < c->n_layer; l++) {
        snprintf(b, sizeof b, "encoder.blocks.%d.attn", l);
        add_attn(b, S);
        snprintf(b, sizeof b, "encoder.blocks.%d.attn_ln", l);
        add_ln(b);
        snprintf(b, sizeof b, "encoder.blocks.%d.mlp.0.weight", l);
        add(b, K_LINEAR, 2, S, 4 * S, 1, S);
        snprintf(b, sizeof b, "encoder.blocks.%d.mlp.0.bias", l);
        add(b, K_BIAS, 1, 4 * S, 1, 1, 0);
        snprintf(b, sizeof b, "encoder.blocks.%d.mlp.2.weight", l);
        add(b, K_LINEAR, 2, 4 * S, S, 1, 4 * S);
        snprintf(b, sizeof b, "encoder.blocks.%d.mlp.2.bias", l);
        add(b, K_BIAS, 1, S, 1, 1, 0);
        snprintf(b, sizeof b, "encoder.blocks.%d.mlp_ln", l);
        add_ln(b);
    }
    add_ln("encoder.ln_post");
    add("decoder.positional_embedding", K_POS, 2, S, c->n_text_ctx, 1, 0);
    add("decoder.token_embedding.weight", K_EMB, 2, S, c->n_vocab, 1, S);
    for (int l = 0; l < c->n_layer; l++) {
        snprintf(b, sizeof b, "decoder.blocks.%d.attn", l);
        add_attn(b, S);
        snprintf(b, sizeof b, "decoder.blocks.%d.attn_ln", l);
        add_ln(b);
        snprintf(b, sizeof b, "decoder.blocks.%d.cross_attn", l);
        add_attn(b, S);
        snprintf(b, sizeof b, "decoder.blocks.%d.cross_attn_ln", l);
        add_ln(b);
        snprintf(b, sizeof b, "decoder.blocks.%d.mlp.0.weight", l);
        add(b, K_LINEAR, 2, S, 4 * S, 1, S);
        snprintf(b, sizeof b, "decoder.blocks.%d.mlp.0.bias", l);
        add(b, K_BIAS, 1, 4 * S, 1, 1, 0);
        snprintf(b, sizeof b, "decoder.blocks.%d.mlp.2.weight", l);
        add(b, K_LINEAR, 2, 4 * S, S, 1, 4 * S);
        snprintf(b, sizeof b, "decoder.blocks.%d.mlp.2.bias", l);
        add(b, K_BIAS, 1, S, 1, 1, 0);
        snprintf(b, sizeof b, "decoder.blocks.%d.mlp_ln", l);
        add_ln(b);
    }
    add_ln("decoder.ln");
    for (int i = 0; i < n_tensors; i++) {
        if (tensors[i].ne[0] == 0) tensors[i].ne[0] = S; /* layer norms */
        tensors[i].type = policy_type(c, &tensors[i]);
    }
}

static int64_t nelem(const gtensor *t) { return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; }

static size_t tensor_bytes(const gtensor *t) {
    return est_type_row_bytes(t->type, (uint64_t)t->ne[0]) * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
}

/* ==== writing ============================================================================ */

typedef struct out {
    FILE *f;
    uint64_t pos;
} out;

static void wr(out *o, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, o->f) != n) die("write failed", NULL);
    o->pos += n;
}
static void wr_u32(out *o, uint32_t v) { wr(o, &v, 4); }
static void wr_i32(out *o, int32_t v) { wr(o, &v, 4); }

/* Generate, convert and write one tensor's data. */
static void write_data(out *o, const cfg *c, const gtensor *t) {
    int64_t n = nelem(t);
    float *v = malloc((size_t)n * sizeof(float));
    size_t nb = tensor_bytes(t);
    uint8_t *q = malloc(nb);
    if (!v || !q) die("out of memory", NULL);
    if (t->kind == K_MEL) est_mel_filters_slaney((int)t->ne[1], v);
    else gen_values(c, t, v, n);
    switch (t->type) {
    case EDGESTT_TYPE_F32: memcpy(q, v, nb); break;
    case EDGESTT_TYPE_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = est_f32_to_f16(v[i]);
            memcpy(q + 2 * i, &h, 2);
        }
        break;
    case EDGESTT_TYPE_Q8_0: est_quantize_row_q8_0_ref(v, q, n); break;
    case EDGESTT_TYPE_Q4_0: est_quantize_row_q4_0_ref(v, q, n); break;
    default: die("bad type", t->name);
    }
    wr(o, q, nb);
    free(q);
    free(v);
}

#define CHAR_N_TEXT 38 /* space, apostrophe, a..z, 0..9 */

static void special_tokens(const cfg *c, edgestt_special_tokens *st) {
    edgestt_diag d;
    if (c->chars) {
        st->eot = CHAR_N_TEXT;
        st->sot = CHAR_N_TEXT + 1;
        st->lang_first = CHAR_N_TEXT + 2;
        st->n_languages = 1;
        st->translate = CHAR_N_TEXT + 3;
        st->transcribe = CHAR_N_TEXT + 4;
        st->solm = CHAR_N_TEXT + 5;
        st->prev = CHAR_N_TEXT + 6;
        st->nosp = CHAR_N_TEXT + 7;
        st->no_timestamps = CHAR_N_TEXT + 8;
        st->timestamp_begin = CHAR_N_TEXT + 9;
        return;
    }
    if (est_whisper_derive_special(c->n_vocab, st, &d)) die(d.msg, NULL);
}

/* GPT-2 byte-level string of character-vocabulary text id (0..37). */
static const char *char_token(int id, size_t *len, char *tmp) {
    if (id == 0) {
        *len = 2;
        return "\xc4\xa0"; /* "Ġ": the space byte in GPT-2's alphabet */
    }
    tmp[0] = id == 1 ? '\'' : id < 28 ? (char)('a' + id - 2) : (char)('0' + id - 28);
    tmp[1] = 0;
    *len = 1;
    return tmp;
}

/* Bytes of text token id as the file stores it: GPT-2 string (gguf) or raw bytes (bin). */
static const char *text_token(int id, int raw, size_t *len, char *tmp) {
    if (id == N_TEXT_GPT2) {
        *len = strlen(FILLER);
        return FILLER;
    }
    if (!raw) {
        *len = vocab_len[id];
        return vocab[id];
    }
    int64_t n = est_gpt2_decode((const uint8_t *)vocab[id], vocab_len[id], (uint8_t *)tmp);
    if (n < 0) die("encoder.json token is not GPT-2 byte-level", vocab[id]);
    *len = (size_t)n;
    return tmp;
}

static int file_type(const cfg *c) {
    switch (c->type) {
    case EDGESTT_TYPE_F32: return 0;
    case EDGESTT_TYPE_F16: return 1;
    case EDGESTT_TYPE_Q4_0: return 2;
    default: return 7; /* ggml's GGML_FTYPE_MOSTLY_Q8_0 */
    }
}

static void write_bin(out *o, const cfg *c) {
    edgestt_special_tokens st;
    special_tokens(c, &st);
    wr_u32(o, EST_GGML_MAGIC);
    int ftype = file_type(c);
    if (c->type == EDGESTT_TYPE_Q4_0 || c->type == EDGESTT_TYPE_Q8_0) ftype += QNT_VERSION * EST_GGML_QNT_VERSION_FACTOR;
    const int32_t hp[EST_GGML_N_HPARAMS] = {c->n_vocab, c->n_audio_ctx, c->n_state, c->n_head, c->n_layer,
                                            c->n_text_ctx, c->n_state, c->n_head, c->n_layer, c->n_mels, ftype};
    for (int i = 0; i < EST_GGML_N_HPARAMS; i++) wr_i32(o, hp[i]);
    float *mel = malloc(sizeof(float) * (size_t)c->n_mels * EST_MEL_N_BINS);
    if (!mel) die("out of memory", NULL);
    est_mel_filters_slaney(c->n_mels, mel);
    wr_i32(o, c->n_mels);
    wr_i32(o, EST_MEL_N_BINS);
    wr(o, mel, sizeof(float) * (size_t)c->n_mels * EST_MEL_N_BINS);
    free(mel);
    /* text tokens only, raw bytes: 50256 (English) or 50257 (multilingual, with the filler) */
    wr_i32(o, st.eot);
    char tmp[256];
    for (int id = 0; id < st.eot; id++) {
        size_t len;
        const char *s = text_token(id, 1, &len, tmp);
        wr_u32(o, (uint32_t)len);
        wr(o, s, len);
    }
    for (int i = 0; i < n_tensors; i++) {
        const gtensor *t = &tensors[i];
        int n_dims = t->conv_bias ? 2 : t->n_dims;
        int64_t ne[2] = {t->conv_bias ? 1 : t->ne[0], t->conv_bias ? t->ne[0] : t->ne[1]};
        wr_i32(o, n_dims);
        wr_i32(o, (int32_t)strlen(t->name));
        wr_i32(o, t->type);
        for (int d = 0; d < n_dims; d++) wr_i32(o, (int32_t)(d < 2 ? ne[d] : t->ne[d]));
        wr(o, t->name, strlen(t->name));
        write_data(o, c, t);
    }
}

/* The GGUF side goes through the library's writer (core/gguf_write.c); its sink appends to the
 * stdio stream (the writer only ever writes in order here: no patches). */
static int gguw_sink(void *ctx, uint64_t off, const void *p, size_t n) {
    out *o = (out *)ctx;
    if (off != o->pos) return EDGESTT_E_INTERNAL;
    wr(o, p, n);
    return 0;
}

static void write_gguf(out *o, const cfg *c) {
    edgestt_special_tokens st;
    special_tokens(c, &st);
    const struct { const char *k; int v; } u32s[] = {
        {"general.alignment", GGUF_ALIGN}, {"general.file_type", file_type(c)},
        {"whisper.n_vocab", c->n_vocab}, {"whisper.n_mels", c->n_mels},
        {"whisper.audio.n_ctx", c->n_audio_ctx}, {"whisper.audio.n_state", c->n_state},
        {"whisper.audio.n_head", c->n_head}, {"whisper.audio.n_layer", c->n_layer},
        {"whisper.text.n_ctx", c->n_text_ctx}, {"whisper.text.n_state", c->n_state},
        {"whisper.text.n_head", c->n_head}, {"whisper.text.n_layer", c->n_layer},
        {"whisper.n_languages", st.n_languages},
        {"whisper.token.eot", st.eot}, {"whisper.token.sot", st.sot},
        {"whisper.token.translate", st.translate}, {"whisper.token.transcribe", st.transcribe},
        {"whisper.token.sot_lm", st.solm}, {"whisper.token.sot_prev", st.prev},
        {"whisper.token.no_speech", st.nosp}, {"whisper.token.no_timestamps", st.no_timestamps},
        {"whisper.token.timestamp_begin", st.timestamp_begin}, {"whisper.token.lang_first", st.lang_first},
    };
    const size_t n_u32 = sizeof u32s / sizeof u32s[0];
    est_gguw w;
    est_gguw_init(&w, gguw_sink, o);
    est_gguw_header(&w, (uint64_t)n_tensors, n_u32 + 4);
    est_gguw_kv_str(&w, "general.architecture", "whisper", 7);
    est_gguw_kv_str(&w, "general.name", c->name, strlen(c->name));
    for (size_t i = 0; i < n_u32; i++) est_gguw_kv_u32(&w, u32s[i].k, (uint32_t)u32s[i].v);
    est_gguw_kv_str(&w, "whisper.tokenizer.model", "gpt2", 4);
    est_gguw_kv_arr(&w, "whisper.tokenizer.tokens", EST_GGUF_STRING, (uint64_t)c->n_vocab);
    char tmp[EST_TOK_MAX_FORM];
    for (int id = 0; id < c->n_vocab; id++) {
        size_t len;
        const char *s = id >= st.eot ? (len = est_tok_special_form(&st, id, tmp), tmp)
                        : c->chars  ? char_token(id, &len, tmp)
                                    : text_token(id, 0, &len, NULL);
        est_gguw_str(&w, s, len);
    }
    uint64_t off = 0;
    for (int i = 0; i < n_tensors; i++) {
        const gtensor *t = &tensors[i];
        est_gguw_tensor_info(&w, t->name, strlen(t->name), t->n_dims, t->ne, t->type, off);
        off = est_gguw_align_up(off + tensor_bytes(t), GGUF_ALIGN);
    }
    est_gguw_pad(&w, GGUF_ALIGN);
    for (int i = 0; i < n_tensors; i++) {
        write_data(o, c, &tensors[i]);
        w.pos = o->pos;
        est_gguw_pad(&w, GGUF_ALIGN);
    }
    if (est_gguw_status(&w)) die("GGUF writer failed", NULL);
}

/* ==== configurations ===================================================================== */

static void set_size(cfg *c, const char *size) {
    static const struct { const char *name; int n_state, n_head, n_layer; } sizes[] = {
        {"mini", 64, 2, 2},     {"tiny", 384, 6, 4},     {"base", 512, 8, 6},
        {"small", 768, 12, 12}, {"medium", 1024, 16, 24}, {"large", 1280, 20, 32},
        {"kiosk", 256, 4, 4},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (strcmp(size, sizes[i].name)) continue;
        c->size = sizes[i].name;
        c->n_state = sizes[i].n_state;
        c->n_head = sizes[i].n_head;
        c->n_layer = sizes[i].n_layer;
        c->n_audio_ctx = strcmp(size, "kiosk") ? 1500 : 400;
        c->n_text_ctx = strcmp(size, "kiosk") ? 448 : 192;
        return;
    }
    die("unknown --size (mini, tiny, base, small, medium, large, kiosk)", size);
}

static void set_vocab_kind(cfg *c, const char *kind) {
    if (!strcmp(kind, "en")) c->n_vocab = 51864, c->n_mels = 80;
    else if (!strcmp(kind, "multi")) c->n_vocab = 51865, c->n_mels = 80;
    else if (!strcmp(kind, "v3")) c->n_vocab = 51866, c->n_mels = 128;
    else if (!strcmp(kind, "char")) c->chars = 1, c->n_mels = 80; /* n_vocab follows n_audio_ctx */
    else die("unknown --vocab-kind (en, multi, v3, char)", kind);
}

static int parse_type(const char *s) {
    if (!strcmp(s, "f32")) return EDGESTT_TYPE_F32;
    if (!strcmp(s, "f16")) return EDGESTT_TYPE_F16;
    if (!strcmp(s, "q8_0")) return EDGESTT_TYPE_Q8_0;
    if (!strcmp(s, "q4_0")) return EDGESTT_TYPE_Q4_0;
    die("unknown --type (f32, f16, q8_0, q4_0)", s);
    return 0;
}

static void generate(cfg *c, const char *kind, const char *path) {
    if (c->chars) {
        if (!c->gguf) die("the char vocabulary exists only in GGUF", NULL);
        c->n_vocab = CHAR_N_TEXT + 10 + c->n_audio_ctx; /* 10 specials from eot, n_audio_ctx + 1 timestamps */
    }
    snprintf(c->name, sizeof c->name, "%s-%s-%s (random weights, seed %llu)", c->size, kind,
             edgestt_type_name(c->type), (unsigned long long)c->seed);
    build_tensors(c);
    char part[4096];
    snprintf(part, sizeof part, "%s.part", path);
    out o = {fopen(part, "wb"), 0};
    if (!o.f) die("cannot create", part);
    static char iobuf[1 << 20];
    setvbuf(o.f, iobuf, _IOFBF, sizeof iobuf);
    if (c->gguf) write_gguf(&o, c);
    else write_bin(&o, c);
    if (fclose(o.f) != 0) die("write failed", part);
    if (rename(part, path) != 0) die("cannot rename", part);
}

static void gen_one(const char *dir, const char *size, const char *kind, const char *type, int gguf, uint64_t seed) {
    cfg c;
    memset(&c, 0, sizeof c);
    set_size(&c, size);
    set_vocab_kind(&c, kind);
    if (c.chars) { /* a short window of an odd size: nothing may assume 1500 / 448 */
        c.n_audio_ctx = 250;
        c.n_text_ctx = 96;
    }
    c.type = parse_type(type);
    c.gguf = gguf;
    c.seed = seed;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%s-%s.%s", dir, size, kind, type, gguf ? "gguf" : "bin");
    generate(&c, kind, path);
}

static void usage(void) {
    fprintf(stderr,
            "usage: whisper-gen --size tiny|base|small|medium|large|mini|kiosk [--vocab-kind en|multi|v3|char]\n"
            "                   [--layout gguf|bin] [--type f32|f16|q8_0|q4_0] [--seed N]\n"
            "                   [--vocab models/vocab/encoder.json] [--audio-ctx N] [--text-ctx N] -o FILE\n"
            "       whisper-gen --preset kiosk [--type T] [--seed N] -o FILE\n"
            "       whisper-gen [--vocab FILE] --test-set DIR\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *size = NULL, *kind = "en", *layout = "gguf", *type = "f16", *outp = NULL, *test_dir = NULL;
    const char *vocab_path = "models/vocab/encoder.json";
    uint64_t seed = DEFAULT_SEED;
    int audio_ctx = 0, text_ctx = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--size") && v) size = v, i++;
        else if (!strcmp(a, "--vocab-kind") && v) kind = v, i++;
        else if (!strcmp(a, "--layout") && v) layout = v, i++;
        else if (!strcmp(a, "--type") && v) type = v, i++;
        else if (!strcmp(a, "--seed") && v) seed = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--vocab") && v) vocab_path = v, i++;
        else if (!strcmp(a, "-o") && v) outp = v, i++;
        else if (!strcmp(a, "--test-set") && v) test_dir = v, i++;
        else if (!strcmp(a, "--audio-ctx") && v) audio_ctx = atoi(v), i++;
        else if (!strcmp(a, "--text-ctx") && v) text_ctx = atoi(v), i++;
        else if (!strcmp(a, "--preset") && v) {
            if (strcmp(v, "kiosk")) die("unknown --preset (kiosk)", v);
            size = "kiosk", kind = "char", i++;
        } else usage();
    }
    if (test_dir || strcmp(kind, "char")) load_vocab(vocab_path);
    if (test_dir) {
        static const char *types[] = {"f32", "f16", "q8_0", "q4_0"};
        for (int g = 0; g < 2; g++) {
            for (int t = 0; t < 4; t++) gen_one(test_dir, "mini", "en", types[t], g, DEFAULT_SEED);
            gen_one(test_dir, "mini", "multi", "f16", g, DEFAULT_SEED);
            gen_one(test_dir, "mini", "v3", "f16", g, DEFAULT_SEED);
            gen_one(test_dir, "tiny", "en", "f16", g, DEFAULT_SEED);
            gen_one(test_dir, "tiny", "en", "q8_0", g, DEFAULT_SEED); /* tests/test_e2e.c: layouts agree */
            gen_one(test_dir, "tiny", "en", "q4_0", g, DEFAULT_SEED);
        }
        gen_one(test_dir, "mini", "char", "f32", 1, DEFAULT_SEED);
        gen_one(test_dir, "mini", "char", "q8_0", 1, DEFAULT_SEED);
        return 0;
    }
    if (!size || !outp) usage();
    if (strcmp(layout, "gguf") && strcmp(layout, "bin")) die("unknown --layout (gguf, bin)", layout);
    cfg c;
    memset(&c, 0, sizeof c);
    set_size(&c, size);
    set_vocab_kind(&c, kind);
    c.type = parse_type(type);
    c.gguf = !strcmp(layout, "gguf");
    c.seed = seed;
    if (audio_ctx > 0) c.n_audio_ctx = audio_ctx;
    if (text_ctx > 0) c.n_text_ctx = text_ctx;
    generate(&c, kind, outp);
    return 0;
}
