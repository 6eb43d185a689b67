/*
 * whisper.c - Whisper model files: header probing for both layouts (GGUF schema in
 * models/whisper-gguf.md, whisper.cpp .bin), hyper-parameter limits, the special-token layout, and
 * tensor binding by OpenAI state-dict names (see whisper.h).  Opening reads headers only: no
 * tensor data is touched here.
 */
#include "whisper.h"

#include "../kernels/quant.h"

/* ==== limits and special tokens ========================================================== */

#define MAX_DIM 65536
#define MAX_LAYERS 128
#define MAX_MELS 256
#define MAX_VOCAB (1 << 20)
#define MEL_BINS 201 /* n_fft / 2 + 1 */

/* min_vocab: 50001 where the special ids are derived from n_vocab; MIN_COMPACT_VOCAB where the
 * file states them (whisper.token.* keys: compact vocabularies, models/whisper-gguf.md). */
#define MIN_COMPACT_VOCAB 8
static int check_hparams(const est_whisper_hparams *hp, int min_vocab, edgestt_diag *diag) {
    const struct { const char *name; int v, lo, hi; } r[] = {
        {"n_vocab", hp->n_vocab, min_vocab, MAX_VOCAB},
        {"n_audio_ctx", hp->n_audio_ctx, 1, MAX_DIM},   {"n_audio_state", hp->n_audio_state, 1, MAX_DIM},
        {"n_audio_head", hp->n_audio_head, 1, MAX_DIM}, {"n_audio_layer", hp->n_audio_layer, 1, MAX_LAYERS},
        {"n_text_ctx", hp->n_text_ctx, 1, MAX_DIM},     {"n_text_state", hp->n_text_state, 1, MAX_DIM},
        {"n_text_head", hp->n_text_head, 1, MAX_DIM},   {"n_text_layer", hp->n_text_layer, 1, MAX_LAYERS},
        {"n_mels", hp->n_mels, 1, MAX_MELS},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return est_diag(diag, EDGESTT_E_LIMIT, "whisper: %s = %d is outside %d..%d", r[i].name, r[i].v,
                            r[i].lo, r[i].hi);
    if (hp->n_audio_state % hp->n_audio_head)
        return est_diag(diag, EDGESTT_E_LIMIT, "whisper: n_audio_head %d does not divide n_audio_state %d",
                        hp->n_audio_head, hp->n_audio_state);
    if (hp->n_text_state % hp->n_text_head)
        return est_diag(diag, EDGESTT_E_LIMIT, "whisper: n_text_head %d does not divide n_text_state %d",
                        hp->n_text_head, hp->n_text_state);
    if (hp->n_audio_state != hp->n_text_state)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "whisper: n_audio_state %d != n_text_state %d",
                        hp->n_audio_state, hp->n_text_state);
    return EDGESTT_OK;
}

int est_whisper_check_hparams(const est_whisper_hparams *hp, edgestt_diag *diag) {
    return check_hparams(hp, EST_TOK_COMPACT_MAX + 1, diag);
}

int est_whisper_derive_special(int n_vocab, edgestt_special_tokens *st, edgestt_diag *diag) {
    if (n_vocab < 51864 || n_vocab > 51866)
        return est_diag(diag, EDGESTT_E_LIMIT,
                        "whisper: n_vocab %d has no known special-token layout (51864..51866)", n_vocab);
    /* English-only layout; multilingual shifts eot.. by one and translate.. by n_languages - 98
     * (whisper.cpp: whisper_vocab, is_multilingual / num_languages). */
    const int multi = n_vocab >= 51865;
    const int n_lang = n_vocab - 51765 - (multi ? 1 : 0);
    const int dt = multi ? n_lang - 98 : 0;
    st->eot = 50256 + multi;
    st->sot = 50257 + multi;
    st->lang_first = 50258 + multi;
    st->n_languages = n_lang;
    st->translate = 50357 + dt;
    st->transcribe = 50358 + dt;
    st->solm = 50359 + dt;
    st->prev = 50360 + dt;
    st->nosp = 50361 + dt;
    st->no_timestamps = 50362 + dt;
    st->timestamp_begin = 50363 + dt;
    return EDGESTT_OK;
}

/* ==== GGUF probe ========================================================================= */

static const char *const gguf_keys[] = {
    "general.architecture", "general.file_type", "whisper.n_vocab", "whisper.n_mels",
    "whisper.audio.n_ctx", "whisper.audio.n_state", "whisper.audio.n_head", "whisper.audio.n_layer",
    "whisper.text.n_ctx", "whisper.text.n_state", "whisper.text.n_head", "whisper.text.n_layer",
    "whisper.tokenizer.model", "whisper.tokenizer.tokens", "whisper.n_languages",
    "whisper.token.eot", "whisper.token.sot", "whisper.token.translate", "whisper.token.transcribe",
    "whisper.token.sot_lm", "whisper.token.sot_prev", "whisper.token.no_speech",
    "whisper.token.no_timestamps", "whisper.token.timestamp_begin", "whisper.token.lang_first",
};
#define N_GGUF_KEYS (sizeof gguf_keys / sizeof gguf_keys[0])

typedef struct key_pick {
    est_gguf_kv kv[N_GGUF_KEYS];
    size_t n;
} key_pick;

/* Scan visitor: keep the first occurrence of each key this binder reads. */
static int pick_key(void *ctx, const est_gguf_kv *kv) {
    key_pick *k = (key_pick *)ctx;
    if (kv->key_len < 8) return 0;
    for (size_t i = 0; i < N_GGUF_KEYS; i++) {
        if (!est_gguf_key_is(kv, gguf_keys[i])) continue;
        if (est_gguf_find(k->kv, k->n, gguf_keys[i]) < 0 && k->n < N_GGUF_KEYS) k->kv[k->n++] = *kv;
        break;
    }
    return 0;
}

/* A u32 key as int (values past INT32_MAX become INT32_MAX, which every limit refuses). */
static int get_int(const key_pick *k, const char *key, int *out, int required, edgestt_diag *diag) {
    uint32_t v;
    int st = est_gguf_get_u32(k->kv, k->n, key, &v, diag);
    if (st == EDGESTT_E_NOT_FOUND && !required) return st;
    if (st) return st == EDGESTT_E_NOT_FOUND ? est_diag(diag, EDGESTT_E_FORMAT, "gguf: key '%s' is missing", key) : st;
    *out = v > INT32_MAX ? INT32_MAX : (int)v;
    return EDGESTT_OK;
}

/* Special tokens from explicit whisper.token.* keys, checked against n_vocab. */
static int gguf_special(const key_pick *k, int n_vocab, edgestt_special_tokens *st, edgestt_diag *diag) {
    struct { const char *key; int *dst; } m[] = {
        {"whisper.token.eot", &st->eot}, {"whisper.token.sot", &st->sot},
        {"whisper.token.translate", &st->translate}, {"whisper.token.transcribe", &st->transcribe},
        {"whisper.token.sot_lm", &st->solm}, {"whisper.token.sot_prev", &st->prev},
        {"whisper.token.no_speech", &st->nosp}, {"whisper.token.no_timestamps", &st->no_timestamps},
        {"whisper.token.timestamp_begin", &st->timestamp_begin}, {"whisper.token.lang_first", &st->lang_first},
        {"whisper.n_languages", &st->n_languages},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        int st2 = get_int(k, m[i].key, m[i].dst, 1, diag);
        if (st2) return st2;
        if (i + 1 < sizeof m / sizeof m[0] && *m[i].dst >= n_vocab)
            return est_diag(diag, EDGESTT_E_FORMAT, "gguf: %s = %d is not below n_vocab %d", m[i].key,
                            *m[i].dst, n_vocab);
        if (i > 0 && i + 1 < sizeof m / sizeof m[0] && *m[i].dst < st->eot)
            return est_diag(diag, EDGESTT_E_FORMAT, "gguf: %s = %d is below whisper.token.eot %d", m[i].key,
                            *m[i].dst, st->eot);
    }
    if (st->eot < 1) return est_diag(diag, EDGESTT_E_FORMAT, "gguf: whisper.token.eot is 0");
    if (st->n_languages > EST_TOK_N_LANG_CODES || st->lang_first + st->n_languages > n_vocab)
        return est_diag(diag, EDGESTT_E_FORMAT, "gguf: %d languages from token %d do not fit (at most %d, below n_vocab)",
                        st->n_languages, st->lang_first, EST_TOK_N_LANG_CODES);
    return EDGESTT_OK;
}

static int probe_gguf(const uint8_t *data, size_t size, est_whisper_probe *pr, edgestt_diag *diag) {
    key_pick k;
    k.n = 0;
    int st = est_gguf_scan(data, size, &pr->gguf, pick_key, &k, diag);
    if (st) return st;
    const char *s;
    size_t len;
    st = est_gguf_get_str(k.kv, k.n, "general.architecture", &s, &len, diag);
    if (st == EDGESTT_E_NOT_FOUND) return est_diag(diag, EDGESTT_E_FORMAT, "gguf: general.architecture is missing");
    if (st) return st;
    if (len != 7 || memcmp(s, "whisper", 7))
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "gguf: architecture '%.*s' is not supported (whisper)",
                        (int)(len > 40 ? 40 : len), s);
    st = est_gguf_get_str(k.kv, k.n, "whisper.tokenizer.model", &s, &len, diag);
    if (st && st != EDGESTT_E_NOT_FOUND) return st;
    if (!st && (len != 4 || memcmp(s, "gpt2", 4)))
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "gguf: tokenizer model '%.*s' is not supported (gpt2)",
                        (int)(len > 40 ? 40 : len), s);
    est_whisper_hparams *hp = &pr->hp;
    const struct { const char *key; int *dst; } m[] = {
        {"whisper.n_vocab", &hp->n_vocab},           {"whisper.n_mels", &hp->n_mels},
        {"whisper.audio.n_ctx", &hp->n_audio_ctx},   {"whisper.audio.n_state", &hp->n_audio_state},
        {"whisper.audio.n_head", &hp->n_audio_head}, {"whisper.audio.n_layer", &hp->n_audio_layer},
        {"whisper.text.n_ctx", &hp->n_text_ctx},     {"whisper.text.n_state", &hp->n_text_state},
        {"whisper.text.n_head", &hp->n_text_head},   {"whisper.text.n_layer", &hp->n_text_layer},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if ((st = get_int(&k, m[i].key, m[i].dst, 1, diag)) != 0) return st;
    hp->ftype = -1;
    st = get_int(&k, "general.file_type", &hp->ftype, 0, diag);
    if (st && st != EDGESTT_E_NOT_FOUND) return st;
    const int explicit_tokens = est_gguf_find(k.kv, k.n, "whisper.token.eot") >= 0;
    if ((st = check_hparams(hp, explicit_tokens ? MIN_COMPACT_VOCAB : EST_TOK_COMPACT_MAX + 1, diag)) != 0) return st;
    if (explicit_tokens) st = gguf_special(&k, hp->n_vocab, &pr->st, diag);
    else st = est_whisper_derive_special(hp->n_vocab, &pr->st, diag);
    if (st) return st;
    /* vocabulary: n_vocab strings; the text tokens (ids below eot) are decoded at fill */
    const uint8_t *first;
    uint64_t n;
    st = est_gguf_get_arr(k.kv, k.n, "whisper.tokenizer.tokens", EST_GGUF_STRING, &first, &n, diag);
    if (st == EDGESTT_E_NOT_FOUND) return est_diag(diag, EDGESTT_E_FORMAT, "gguf: whisper.tokenizer.tokens is missing");
    if (st) return st;
    if (n != (uint64_t)hp->n_vocab)
        return est_diag(diag, EDGESTT_E_FORMAT, "gguf: whisper.tokenizer.tokens has %llu entries, n_vocab is %d",
                        (unsigned long long)n, hp->n_vocab);
    pr->tokens = first;
    pr->n_text = pr->st.eot;
    /* Decoded text is never longer than its GPT-2 form, so the bytes of all strings bound it; that
     * over-plans by the special tokens' stored forms (~16 KB) but needs no walk of the array. */
    const est_gguf_kv *tk = &k.kv[est_gguf_find(k.kv, k.n, "whisper.tokenizer.tokens")];
    pr->text_bytes = (size_t)(tk->end - first) - 8 * (size_t)n;
    pr->n_file_tensors = pr->gguf.n_tensors;
    pr->n_file_kv = pr->gguf.n_kv;
    return EDGESTT_OK;
}

/* ==== .bin probe ========================================================================= */

static int probe_bin(const uint8_t *data, size_t size, est_whisper_probe *pr, edgestt_diag *diag) {
    est_ggml_bin *b = &pr->bin;
    int st = est_ggml_bin_scan_header(data, size, b, diag);
    if (st) return st;
    est_whisper_hparams *hp = &pr->hp;
    hp->n_vocab = b->hp[EST_BIN_N_VOCAB];
    hp->n_audio_ctx = b->hp[EST_BIN_N_AUDIO_CTX];
    hp->n_audio_state = b->hp[EST_BIN_N_AUDIO_STATE];
    hp->n_audio_head = b->hp[EST_BIN_N_AUDIO_HEAD];
    hp->n_audio_layer = b->hp[EST_BIN_N_AUDIO_LAYER];
    hp->n_text_ctx = b->hp[EST_BIN_N_TEXT_CTX];
    hp->n_text_state = b->hp[EST_BIN_N_TEXT_STATE];
    hp->n_text_head = b->hp[EST_BIN_N_TEXT_HEAD];
    hp->n_text_layer = b->hp[EST_BIN_N_TEXT_LAYER];
    hp->n_mels = b->hp[EST_BIN_N_MELS];
    hp->ftype = b->ftype;
    if ((st = est_whisper_check_hparams(hp, diag)) != 0) return st;
    if (b->mel_n_mel != hp->n_mels || b->mel_n_fft != MEL_BINS)
        return est_diag(diag, EDGESTT_E_FORMAT, "bin: mel filters are %d x %d, expected %d x %d", b->mel_n_mel,
                        b->mel_n_fft, hp->n_mels, MEL_BINS);
    if ((st = est_whisper_derive_special(hp->n_vocab, &pr->st, diag)) != 0) return st;
    if ((st = est_ggml_bin_scan_tensors(b, diag)) != 0) return st;
    pr->n_text = b->n_words < pr->st.eot ? b->n_words : pr->st.eot;
    pr->text_bytes = 0;
    pr->n_file_tensors = b->n_tensors;
    pr->n_file_kv = 0;
    return EDGESTT_OK;
}

int est_whisper_probe_image(const void *data, size_t size, est_whisper_probe *pr, edgestt_diag *diag) {
    memset(pr, 0, sizeof *pr);
    if (!data && size) return est_diag(diag, EDGESTT_E_INVALID_ARG, "no model data");
    if (size < 4) return est_diag(diag, EDGESTT_E_TRUNCATED, "model file of %zu bytes has no header", size);
    const uint8_t *d = (const uint8_t *)data;
    pr->data = d;
    pr->size = size;
    uint32_t magic = est_rd_u32(d);
    int st;
    if (magic == EST_GGUF_MAGIC) {
        pr->format = EDGESTT_FORMAT_GGUF;
        st = probe_gguf(d, size, pr, diag);
    } else if (magic == EST_GGML_MAGIC) {
        pr->format = EDGESTT_FORMAT_GGML_BIN;
        st = probe_bin(d, size, pr, diag);
    } else {
        return est_diag(diag, EDGESTT_E_FORMAT, "not a GGUF or whisper.cpp .bin model (magic %x)", magic);
    }
    if (!st) pr->spec_bytes = est_tok_special_bytes(&pr->st, pr->n_text, pr->hp.n_vocab);
    return st;
}

/* ==== tensor binding ===================================================================== */

enum { C_VEC, C_CBIAS, C_POS, C_CONV, C_MAT };           /* type and shape classes */
enum { D_1 = 1, D_3, D_S, D_S4, D_M, D_AC, D_TC, D_V }; /* symbolic dimensions */

typedef struct slot_def {
    const char *name;  /* full name (globals) or the part after "<part>.blocks.N." */
    size_t off;        /* of the est_tensor in its struct */
    uint8_t cls;
    uint8_t d[3];      /* ggml-order dims, 0 = absent */
} slot_def;

#define W(f) offsetof(est_whisper_weights, f)
#define E(f) offsetof(est_whisper_enc_layer, f)
#define D(f) offsetof(est_whisper_dec_layer, f)

static const slot_def globals[] = {
    {"encoder.conv1.weight", W(conv1_w), C_CONV, {D_3, D_M, D_S}},
    {"encoder.conv1.bias", W(conv1_b), C_CBIAS, {D_S, 0, 0}},
    {"encoder.conv2.weight", W(conv2_w), C_CONV, {D_3, D_S, D_S}},
    {"encoder.conv2.bias", W(conv2_b), C_CBIAS, {D_S, 0, 0}},
    {"encoder.positional_embedding", W(enc_pos), C_POS, {D_S, D_AC, 0}},
    {"encoder.ln_post.weight", W(ln_post_w), C_VEC, {D_S, 0, 0}},
    {"encoder.ln_post.bias", W(ln_post_b), C_VEC, {D_S, 0, 0}},
    {"decoder.token_embedding.weight", W(tok_emb), C_MAT, {D_S, D_V, 0}},
    {"decoder.positional_embedding", W(dec_pos), C_POS, {D_S, D_TC, 0}},
    {"decoder.ln.weight", W(ln_w), C_VEC, {D_S, 0, 0}},
    {"decoder.ln.bias", W(ln_b), C_VEC, {D_S, 0, 0}},
};

#define ATTN(P, pre, f)                                                                          \
    {pre ".query.weight", P(f.q_w), C_MAT, {D_S, D_S, 0}},                                       \
    {pre ".query.bias", P(f.q_b), C_VEC, {D_S, 0, 0}},                                           \
    {pre ".key.weight", P(f.k_w), C_MAT, {D_S, D_S, 0}},                                         \
    {pre ".value.weight", P(f.v_w), C_MAT, {D_S, D_S, 0}},                                       \
    {pre ".value.bias", P(f.v_b), C_VEC, {D_S, 0, 0}},                                           \
    {pre ".out.weight", P(f.o_w), C_MAT, {D_S, D_S, 0}},                                         \
    {pre ".out.bias", P(f.o_b), C_VEC, {D_S, 0, 0}}
#define LN_MLP(P)                                                                                \
    {"mlp_ln.weight", P(mlp_ln_w), C_VEC, {D_S, 0, 0}},                                          \
    {"mlp_ln.bias", P(mlp_ln_b), C_VEC, {D_S, 0, 0}},                                            \
    {"mlp.0.weight", P(mlp0_w), C_MAT, {D_S, D_S4, 0}},                                          \
    {"mlp.0.bias", P(mlp0_b), C_VEC, {D_S4, 0, 0}},                                              \
    {"mlp.2.weight", P(mlp2_w), C_MAT, {D_S4, D_S, 0}},                                          \
    {"mlp.2.bias", P(mlp2_b), C_VEC, {D_S, 0, 0}}

static const slot_def enc_slots[] = {
    {"attn_ln.weight", E(attn_ln_w), C_VEC, {D_S, 0, 0}},
    {"attn_ln.bias", E(attn_ln_b), C_VEC, {D_S, 0, 0}},
    ATTN(E, "attn", attn),
    LN_MLP(E),
};

static const slot_def dec_slots[] = {
    {"attn_ln.weight", D(attn_ln_w), C_VEC, {D_S, 0, 0}},
    {"attn_ln.bias", D(attn_ln_b), C_VEC, {D_S, 0, 0}},
    ATTN(D, "attn", attn),
    {"cross_attn_ln.weight", D(cross_attn_ln_w), C_VEC, {D_S, 0, 0}},
    {"cross_attn_ln.bias", D(cross_attn_ln_b), C_VEC, {D_S, 0, 0}},
    ATTN(D, "cross_attn", cross),
    LN_MLP(D),
};

#define N_GLOBALS (sizeof globals / sizeof globals[0])
#define N_ENC_SLOTS (sizeof enc_slots / sizeof enc_slots[0])
#define N_DEC_SLOTS (sizeof dec_slots / sizeof dec_slots[0])

static int64_t dim_value(int code, const est_whisper_hparams *hp) {
    switch (code) {
    case D_1: return 1;
    case D_3: return 3;
    case D_S: return hp->n_audio_state; /* == n_text_state */
    case D_S4: return 4 * (int64_t)hp->n_audio_state;
    case D_M: return hp->n_mels;
    case D_AC: return hp->n_audio_ctx;
    case D_TC: return hp->n_text_ctx;
    case D_V: return hp->n_vocab;
    default: return 1;
    }
}

static int type_ok(int cls, int type) {
    switch (cls) {
    case C_VEC: case C_CBIAS: case C_POS: return type == EDGESTT_TYPE_F32;
    case C_CONV: return type == EDGESTT_TYPE_F32 || type == EDGESTT_TYPE_F16;
    default: return est_type_supported(type);
    }
}

static const char *type_want(int cls) {
    switch (cls) {
    case C_VEC: case C_CBIAS: case C_POS: return "f32";
    case C_CONV: return "f32 or f16";
    default: return "f32, f16, q8_0 or q4_0";
    }
}

/* Check a file tensor against a slot and bind it; E_MODEL with a line on mismatch. */
static int bind_one(const slot_def *s, const est_whisper_hparams *hp, const est_file_tensor *t,
                    est_tensor *dst, est_whisper_weights *w, edgestt_diag *diag) {
    if (dst->data)
        return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor '%.*s' appears twice", (int)t->name_len, t->name);
    if (!type_ok(s->cls, t->type))
        return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor '%.*s' has type %s, expected %s",
                        (int)t->name_len, t->name, edgestt_type_name(t->type), type_want(s->cls));
    int64_t want[EST_MAX_DIMS] = {1, 1, 1, 1};
    for (int i = 0; i < 3; i++) want[i] = s->d[i] ? dim_value(s->d[i], hp) : 1;
    int ok = !memcmp(want, t->ne, sizeof want);
    if (!ok && s->cls == C_CBIAS) /* whisper.cpp stores conv biases as (n_state, 1): ne = [1, n_state] */
        ok = t->ne[0] == 1 && t->ne[1] == want[0] && t->ne[2] == 1 && t->ne[3] == 1;
    if (!ok)
        return est_diag(diag, EDGESTT_E_MODEL,
                        "whisper: tensor '%.*s' has ne [%lld, %lld, %lld], expected [%lld, %lld, %lld]",
                        (int)t->name_len, t->name, (long long)t->ne[0], (long long)t->ne[1],
                        (long long)t->ne[2], (long long)want[0], (long long)want[1], (long long)want[2]);
    dst->type = t->type;
    memcpy(dst->ne, t->ne, sizeof dst->ne);
    dst->data = t->data;
    dst->nbytes = t->nbytes;
    w->n_tensors++;
    w->n_params += est_file_tensor_nelem(t);
    w->weight_bytes += t->nbytes;
    w->n_by_type[t->type & 15]++;
    return EDGESTT_OK;
}

/* "encoder.blocks.12.attn.query.weight" -> layer 12, rest "attn.query.weight"; 0 if no match. */
static int split_layer(const est_file_tensor *t, const char *prefix, int64_t *layer, const char **rest,
                       size_t *rest_len) {
    size_t pl = strlen(prefix), n = t->name_len, i = pl;
    if (n <= pl || memcmp(t->name, prefix, pl)) return 0;
    int64_t v = 0;
    size_t digits = 0;
    while (i < n && t->name[i] >= '0' && t->name[i] <= '9' && digits < 6) {
        v = v * 10 + (t->name[i] - '0');
        i++;
        digits++;
    }
    if (!digits || i >= n || t->name[i] != '.' || (digits > 1 && t->name[pl] == '0')) return 0;
    *layer = v;
    *rest = t->name + i + 1;
    *rest_len = n - i - 1;
    return 1;
}

static const slot_def *find_slot(const slot_def *defs, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(defs[i].name) == len && !memcmp(defs[i].name, name, len)) return &defs[i];
    return NULL;
}

int est_whisper_bind(const est_whisper_probe *pr, const est_file_tensor *tab, size_t n,
                     est_whisper_weights *w, edgestt_diag *diag) {
    const est_whisper_hparams *hp = &pr->hp;
    for (size_t i = 0; i < n; i++) {
        const est_file_tensor *t = &tab[i];
        const slot_def *s;
        int64_t layer;
        const char *rest;
        size_t rest_len;
        int st;
        if (pr->format == EDGESTT_FORMAT_GGUF && est_file_tensor_is(t, "mel_filters")) {
            if (w->mel_filters)
                return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor 'mel_filters' appears twice");
            if (t->type != EDGESTT_TYPE_F32 || t->ne[0] != MEL_BINS || t->ne[1] != hp->n_mels || t->ne[2] != 1 ||
                t->ne[3] != 1)
                return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor 'mel_filters' must be f32 [%d, %d]",
                                MEL_BINS, hp->n_mels);
            w->mel_filters = t->data;
            continue;
        }
        if ((s = find_slot(globals, N_GLOBALS, t->name, t->name_len)) != NULL) {
            st = bind_one(s, hp, t, (est_tensor *)((uint8_t *)w + s->off), w, diag);
        } else if (split_layer(t, "encoder.blocks.", &layer, &rest, &rest_len) &&
                   (s = find_slot(enc_slots, N_ENC_SLOTS, rest, rest_len)) != NULL) {
            if (layer >= hp->n_audio_layer)
                return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor '%.*s' is past the %d encoder layers",
                                (int)t->name_len, t->name, hp->n_audio_layer);
            st = bind_one(s, hp, t, (est_tensor *)((uint8_t *)&w->enc[layer] + s->off), w, diag);
        } else if (split_layer(t, "decoder.blocks.", &layer, &rest, &rest_len) &&
                   (s = find_slot(dec_slots, N_DEC_SLOTS, rest, rest_len)) != NULL) {
            if (layer >= hp->n_text_layer)
                return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor '%.*s' is past the %d decoder layers",
                                (int)t->name_len, t->name, hp->n_text_layer);
            st = bind_one(s, hp, t, (est_tensor *)((uint8_t *)&w->dec[layer] + s->off), w, diag);
        } else {
            return est_diag(diag, EDGESTT_E_MODEL, "whisper: unknown tensor '%.*s'", (int)t->name_len, t->name);
        }
        if (st) return st;
    }
    /* everything bound? */
    for (size_t i = 0; i < N_GLOBALS; i++)
        if (!((const est_tensor *)((const uint8_t *)w + globals[i].off))->data)
            return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor '%s' is missing", globals[i].name);
    for (int l = 0; l < hp->n_audio_layer; l++)
        for (size_t i = 0; i < N_ENC_SLOTS; i++)
            if (!((const est_tensor *)((const uint8_t *)&w->enc[l] + enc_slots[i].off))->data)
                return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor 'encoder.blocks.%d.%s' is missing", l,
                                enc_slots[i].name);
    for (int l = 0; l < hp->n_text_layer; l++)
        for (size_t i = 0; i < N_DEC_SLOTS; i++)
            if (!((const est_tensor *)((const uint8_t *)&w->dec[l] + dec_slots[i].off))->data)
                return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor 'decoder.blocks.%d.%s' is missing", l,
                                dec_slots[i].name);
    if (pr->format == EDGESTT_FORMAT_GGML_BIN) w->mel_filters = pr->bin.mel;
    if (!w->mel_filters) return est_diag(diag, EDGESTT_E_MODEL, "whisper: tensor 'mel_filters' is missing");
    return EDGESTT_OK;
}

int est_whisper_slot(const est_whisper_weights *w, const est_whisper_hparams *hp, int i, char *name, size_t cap,
                     const est_tensor **t) {
    if (i < 0) return 0;
    if ((size_t)i < N_GLOBALS) {
        est_fmt(name, cap, "%s", globals[i].name);
        *t = (const est_tensor *)((const uint8_t *)w + globals[i].off);
        return 1;
    }
    size_t k = (size_t)i - N_GLOBALS;
    if (k < N_ENC_SLOTS * (size_t)hp->n_audio_layer) {
        size_t l = k / N_ENC_SLOTS, j = k % N_ENC_SLOTS;
        est_fmt(name, cap, "encoder.blocks.%zu.%s", l, enc_slots[j].name);
        *t = (const est_tensor *)((const uint8_t *)&w->enc[l] + enc_slots[j].off);
        return 1;
    }
    k -= N_ENC_SLOTS * (size_t)hp->n_audio_layer;
    if (k < N_DEC_SLOTS * (size_t)hp->n_text_layer) {
        size_t l = k / N_DEC_SLOTS, j = k % N_DEC_SLOTS;
        est_fmt(name, cap, "decoder.blocks.%zu.%s", l, dec_slots[j].name);
        *t = (const est_tensor *)((const uint8_t *)&w->dec[l] + dec_slots[j].off);
        return 1;
    }
    return 0;
}
