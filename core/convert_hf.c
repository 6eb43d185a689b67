/*
 * convert_hf.c - Hugging Face Whisper checkpoints as a convert input: a directory holding
 * model.safetensors, config.json, vocab.json and (optionally) added_tokens.json, or the path of its
 * model.safetensors.
 *
 * Sharded checkpoints (model.safetensors.index.json naming model-0000k-of-0000N.safetensors files
 * beside it, as save_pretrained writes large ones) are read as one: every shard is mapped and
 * walked, a tensor in two shards is refused like any duplicate.
 *
 * What is read: config.json for the hyper-parameters (d_model, encoder_/decoder_layers,
 * encoder_/decoder_attention_heads, num_mel_bins, max_source_positions, max_target_positions,
 * vocab_size); the safetensors header (u64 length + JSON: name -> dtype, shape, data_offsets) for
 * the tensors (F32, F16 or BF16), renamed to OpenAI's state-dict names (model.encoder.layers.N.
 * self_attn.q_proj -> encoder.blocks.N.attn.query, fc1 -> mlp.0, ...; the shapes are OpenAI's, so
 * nothing is reshaped); vocab.json for the text tokens (its keys are already GPT-2 byte-level
 * strings) and, with added_tokens.json or tokenizer_config.json's added_tokens_decoder, the
 * special-token ids (found by their textual forms).
 * proj_out.weight (tied to the token embedding) is skipped.  The mel filter bank, which HF
 * checkpoints do not hold, is computed (est_mel_filters_slaney, as whisper-gen writes it).
 *
 * Output order is fixed (whisper-gen's order: mel_filters, encoder globals, encoder blocks,
 * ln_post, decoder globals, decoder blocks, decoder.ln), whatever the order in the file, so an HF
 * checkpoint and a GGUF of the same weights convert to byte-identical files.
 *
 * Inputs are untrusted: the JSON is read by the bounded reader of json.h, every tensor's offsets
 * are checked against the data section and its byte count against its shape and dtype, and every
 * vocabulary string is checked to be GPT-2 byte-level text before anything is written.  Memory:
 * one est_port_alloc (tensor table, chunk buffers, mel filters, vocabulary index), released here.
 */
#include "convert.h"

#include "../port/port.h"
#include "json.h"
#include "mel.h"
#include "tokenizer.h"

#define CHUNK 4096          /* elements per conversion step: convert.c uses cv->f32 / cv->outbuf with this size */
#define HF_TOK_MAX 1024     /* longest escaped vocabulary string accepted */
#define HF_PATH 4096
#define HF_MAX_SHARDS 64    /* safetensors files of one checkpoint */

/* Special tokens by textual form (index order used below). */
enum { SP_EOT, SP_SOT, SP_TRANSLATE, SP_TRANSCRIBE, SP_SOLM, SP_PREV, SP_NOSP, SP_NOCAP, SP_NOTS, SP_TS0, SP_EN, SP_N };
static const char *const sp_form[SP_N] = {
    "<|endoftext|>", "<|startoftranscript|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>",
    "<|startofprev|>", "<|nospeech|>", "<|nocaptions|>", "<|notimestamps|>", "<|0.00|>", "<|en|>",
};

typedef struct hf_in {
    char dir[HF_PATH];        /* the checkpoint directory */
    char path[HF_PATH + 64];  /* scratch: dir/FILE */
    est_map st[HF_MAX_SHARDS]; /* model.safetensors, or the shards of the index (mapped until the end) */
    int n_st;
    est_map vocab;            /* vocab.json (mapped until the end) */
    char name[96];            /* config.json "_name_or_path" (escaped bytes, may be empty) */
} hf_in;

static const char *join(hf_in *h, const char *file) {
    est_fmt(h->path, sizeof h->path, "%s/%s", h->dir, file);
    return h->path;
}

/* ==== files ============================================================================== */

/* 1 if the mapped bytes look like a safetensors file (u64 header length, then '{'). */
static int is_safetensors(const est_map *m) { return m->size >= 9 && m->data[8] == '{'; }

/* Map the shards model.safetensors.index.json names (its weight_map values, each a plain file name
 * in the directory, deduplicated). */
static int open_shards(hf_in *h, edgestt_diag *diag) {
    est_map ix;
    int st = est_port_map_file(join(h, "model.safetensors.index.json"), &ix, diag);
    if (st) return st;
    est_json j;
    int first = 1, more;
    const uint8_t *k;
    size_t kl;
    const uint8_t *names[HF_MAX_SHARDS];
    size_t lens[HF_MAX_SHARDS];
    est_json_init(&j, ix.data, ix.size, "model.safetensors.index.json");
    if ((st = est_json_object(&j, diag)) != 0) goto out;
    while ((more = est_json_member(&j, &first, &k, &kl, diag)) == 1) {
        if (!est_json_key_is(k, kl, "weight_map")) {
            if ((st = est_json_skip(&j, diag)) != 0) goto out;
            continue;
        }
        int f2 = 1, m2;
        const uint8_t *v;
        size_t vl;
        if ((st = est_json_object(&j, diag)) != 0) goto out;
        while ((m2 = est_json_member(&j, &f2, &k, &kl, diag)) == 1) {
            if ((st = est_json_string(&j, &v, &vl, diag)) != 0) goto out;
            int seen = 0;
            for (int i = 0; i < h->n_st && !seen; i++) seen = lens[i] == vl && !memcmp(names[i], v, vl);
            if (seen) continue;
            if (vl == 0 || vl > 200 || v[0] == '.' || memchr(v, '/', vl) || memchr(v, '\\', vl)) {
                st = est_diag(diag, EDGESTT_E_FORMAT, "model.safetensors.index.json: shard name '%.*s' is not a file name "
                              "in the checkpoint directory", (int)(vl > 60 ? 60 : vl), (const char *)v);
                goto out;
            }
            if (h->n_st == HF_MAX_SHARDS) {
                st = est_diag(diag, EDGESTT_E_LIMIT, "model.safetensors.index.json: more than %d shards", HF_MAX_SHARDS);
                goto out;
            }
            char file[256];
            est_fmt(file, sizeof file, "%.*s", (int)vl, (const char *)v);
            names[h->n_st] = v;
            lens[h->n_st] = vl;
            if ((st = est_port_map_file(join(h, file), &h->st[h->n_st], diag)) != 0) {
                st = est_diag(diag, EDGESTT_E_IO, "convert: shard %s of the checkpoint cannot be opened", join(h, file));
                goto out;
            }
            h->n_st++;
            if (!is_safetensors(&h->st[h->n_st - 1])) {
                st = est_diag(diag, EDGESTT_E_FORMAT, "convert: %s is not a safetensors file", join(h, file));
                goto out;
            }
        }
        if ((st = m2) != 0) goto out;
    }
    if ((st = more) != 0) goto out;
    if (!h->n_st) st = est_diag(diag, EDGESTT_E_FORMAT, "model.safetensors.index.json: no weight_map");
out:
    est_port_unmap(&ix);
    return st;
}

/* Map model.safetensors (or the shards of its index) from path (the file itself or a checkpoint
 * directory); set h->dir. */
static int open_checkpoint(const char *path, hf_in *h, edgestt_diag *diag) {
    size_t n = strlen(path);
    if (n + 32 >= HF_PATH) return est_diag(diag, EDGESTT_E_LIMIT, "convert: path of %zu bytes is too long", n);
    if (est_port_map_file(path, &h->st[0], NULL) == EDGESTT_OK) {
        h->n_st = 1;
        if (!is_safetensors(&h->st[0])) {
            return est_diag(diag, EDGESTT_E_UNSUPPORTED, "convert: %s is not a GGUF, .bin or safetensors file", path);
        }
        const char *slash = strrchr(path, '/');
        if (slash) est_fmt(h->dir, sizeof h->dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
        else est_fmt(h->dir, sizeof h->dir, ".");
        return EDGESTT_OK;
    }
    est_fmt(h->dir, sizeof h->dir, "%s", path);
    while (strlen(h->dir) > 1 && h->dir[strlen(h->dir) - 1] == '/') h->dir[strlen(h->dir) - 1] = 0;
    if (est_port_map_file(join(h, "model.safetensors"), &h->st[0], NULL) == EDGESTT_OK) {
        h->n_st = 1;
        if (is_safetensors(&h->st[0])) return EDGESTT_OK;
        return est_diag(diag, EDGESTT_E_FORMAT, "convert: %s is not a safetensors file", join(h, "model.safetensors"));
    }
    uint64_t size;
    if (est_port_file_size(join(h, "model.safetensors.index.json"), &size, NULL) == EDGESTT_OK) return open_shards(h, diag);
    return est_diag(diag, EDGESTT_E_IO, "convert: cannot open %s (not a model file, nor a directory with model.safetensors)",
                    path);
}

/* ==== config.json ======================================================================== */

/* Hyper-parameters from config.json (mapped here and released). */
static int read_config(hf_in *h, est_whisper_hparams *hp, edgestt_diag *diag) {
    est_map m;
    int st = est_port_map_file(join(h, "config.json"), &m, diag);
    if (st) return est_diag(diag, st, "convert: %s: a Hugging Face checkpoint needs config.json", h->dir);
    static const char *const keys[] = {"d_model", "encoder_layers", "encoder_attention_heads", "decoder_layers",
                                       "decoder_attention_heads", "num_mel_bins", "max_source_positions",
                                       "max_target_positions", "vocab_size", "encoder_ffn_dim", "decoder_ffn_dim"};
    enum { NK = sizeof keys / sizeof keys[0] };
    int64_t v[NK];
    for (int i = 0; i < NK; i++) v[i] = -1;
    int whisper = -1, first = 1, more;
    est_json j;
    const uint8_t *k, *s;
    size_t kl, sl;
    est_json_init(&j, m.data, m.size, "config.json");
    h->name[0] = 0;
    if ((st = est_json_object(&j, diag)) != 0) goto out;
    while ((more = est_json_member(&j, &first, &k, &kl, diag)) == 1) {
        int hit = -1;
        for (int i = 0; i < NK; i++)
            if (est_json_key_is(k, kl, keys[i])) hit = i;
        if (hit >= 0) st = est_json_int(&j, &v[hit], diag);
        else if (est_json_key_is(k, kl, "model_type") && est_json_peek(&j) == '"') {
            if ((st = est_json_string(&j, &s, &sl, diag)) == 0) whisper = sl == 7 && !memcmp(s, "whisper", 7);
        } else if (est_json_key_is(k, kl, "_name_or_path") && est_json_peek(&j) == '"') {
            if ((st = est_json_string(&j, &s, &sl, diag)) == 0)
                est_fmt(h->name, sizeof h->name, "%.*s", (int)(sl > 80 ? 80 : sl), (const char *)s);
        } else st = est_json_skip(&j, diag);
        if (st) goto out;
    }
    if ((st = more) != 0) goto out;
    if (whisper == 0) {
        st = est_diag(diag, EDGESTT_E_UNSUPPORTED, "config.json: model_type is not whisper");
        goto out;
    }
    for (int i = 0; i < 9; i++) {
        if (v[i] < 1 || v[i] > (1 << 24)) {
            st = est_diag(diag, v[i] < 0 ? EDGESTT_E_FORMAT : EDGESTT_E_LIMIT, "config.json: %s %s", keys[i],
                          v[i] < 0 ? "is missing" : "is out of range");
            goto out;
        }
    }
    for (int i = 9; i < NK; i++)
        if (v[i] >= 0 && v[i] != 4 * v[0]) {
            st = est_diag(diag, EDGESTT_E_UNSUPPORTED, "config.json: %s %lld is not 4 x d_model (the engine's MLP)",
                          keys[i], (long long)v[i]);
            goto out;
        }
    hp->n_audio_state = hp->n_text_state = (int)v[0];
    hp->n_audio_layer = (int)v[1];
    hp->n_audio_head = (int)v[2];
    hp->n_text_layer = (int)v[3];
    hp->n_text_head = (int)v[4];
    hp->n_mels = (int)v[5];
    hp->n_audio_ctx = (int)v[6];
    hp->n_text_ctx = (int)v[7];
    hp->n_vocab = (int)v[8];
    hp->ftype = -1;
    st = est_whisper_check_hparams(hp, diag);
out:
    est_port_unmap(&m);
    return st;
}

/* ==== vocabulary ========================================================================= */

/* Walk a {"string": id, ...} object: fn(ctx, body, len, id) per member. */
typedef int (*tok_fn)(void *ctx, const uint8_t *s, size_t n, int64_t id, edgestt_diag *diag);
static int walk_tokens(const est_map *m, const char *what, tok_fn fn, void *ctx, edgestt_diag *diag) {
    est_json j;
    int first = 1, more, st;
    const uint8_t *k;
    size_t kl;
    int64_t id;
    est_json_init(&j, m->data, m->size, what);
    if ((st = est_json_object(&j, diag)) != 0) return st;
    while ((more = est_json_member(&j, &first, &k, &kl, diag)) == 1) {
        if ((st = est_json_int(&j, &id, diag)) != 0) return st;
        if ((st = fn(ctx, k, kl, id, diag)) != 0) return st;
    }
    return more;
}

static int find_special(void *ctx, const uint8_t *s, size_t n, int64_t id, edgestt_diag *diag) {
    int64_t *ids = (int64_t *)ctx;
    (void)diag;
    for (int i = 0; i < SP_N; i++)
        if (est_json_key_is(s, n, sp_form[i])) ids[i] = id;
    return EDGESTT_OK;
}

/* tokenizer_config.json's "added_tokens_decoder": {"ID": {"content": FORM, ...}, ...} (what newer
 * transformers versions write instead of added_tokens.json): the ids of the special forms. */
static int read_tokenizer_config(const est_map *m, int64_t *ids, edgestt_diag *diag) {
    est_json j;
    int first = 1, more, st;
    const uint8_t *k;
    size_t kl;
    est_json_init(&j, m->data, m->size, "tokenizer_config.json");
    if ((st = est_json_object(&j, diag)) != 0) return st;
    while ((more = est_json_member(&j, &first, &k, &kl, diag)) == 1) {
        if (!est_json_key_is(k, kl, "added_tokens_decoder")) {
            if ((st = est_json_skip(&j, diag)) != 0) return st;
            continue;
        }
        int f2 = 1, m2;
        const uint8_t *idk;
        size_t idl;
        if ((st = est_json_object(&j, diag)) != 0) return st;
        while ((m2 = est_json_member(&j, &f2, &idk, &idl, diag)) == 1) {
            int64_t id = 0;
            for (size_t i = 0; i < idl; i++) {
                if (idk[i] < '0' || idk[i] > '9' || id > (1 << 24))
                    return est_diag(diag, EDGESTT_E_FORMAT, "tokenizer_config.json: added token key '%.*s' is not an id",
                                    (int)(idl > 20 ? 20 : idl), (const char *)idk);
                id = id * 10 + (idk[i] - '0');
            }
            int f3 = 1, m3;
            if ((st = est_json_object(&j, diag)) != 0) return st;
            while ((m3 = est_json_member(&j, &f3, &k, &kl, diag)) == 1) {
                const uint8_t *v;
                size_t vl;
                if (est_json_key_is(k, kl, "content") && est_json_peek(&j) == '"') {
                    if ((st = est_json_string(&j, &v, &vl, diag)) != 0) return st;
                    if (idl) find_special(ids, v, vl, id, diag);
                } else if ((st = est_json_skip(&j, diag)) != 0) {
                    return st;
                }
            }
            if (m3) return m3;
        }
        if (m2) return m2;
    }
    return more;
}

/* Special-token ids from their forms in vocab.json, tokenizer_config.json and added_tokens.json
 * (later files win). */
static int read_specials(hf_in *h, const est_whisper_hparams *hp, edgestt_special_tokens *sp, edgestt_diag *diag) {
    int64_t ids[SP_N];
    for (int i = 0; i < SP_N; i++) ids[i] = -1;
    int st = walk_tokens(&h->vocab, "vocab.json", find_special, ids, diag);
    if (st) return st;
    est_map m;
    if (est_port_map_file(join(h, "tokenizer_config.json"), &m, NULL) == EDGESTT_OK) {
        st = read_tokenizer_config(&m, ids, diag);
        est_port_unmap(&m);
        if (st) return st;
    }
    if (est_port_map_file(join(h, "added_tokens.json"), &m, NULL) == EDGESTT_OK) {
        st = walk_tokens(&m, "added_tokens.json", find_special, ids, diag);
        est_port_unmap(&m);
        if (st) return st;
    }
    if (ids[SP_NOSP] < 0) ids[SP_NOSP] = ids[SP_NOCAP];
    if (ids[SP_TS0] < 0 && ids[SP_NOTS] >= 0) ids[SP_TS0] = ids[SP_NOTS] + 1;
    for (int i = 0; i < SP_N; i++) {
        if (i == SP_NOCAP) continue;
        if (ids[i] < 0)
            return est_diag(diag, EDGESTT_E_FORMAT, "vocab.json / added_tokens.json / tokenizer_config.json: no %s token",
                            sp_form[i]);
        if (ids[i] >= hp->n_vocab || ids[i] < ids[SP_EOT])
            return est_diag(diag, EDGESTT_E_FORMAT, "%s is id %lld: outside [eot, n_vocab %d)", sp_form[i],
                            (long long)ids[i], hp->n_vocab);
    }
    const int64_t n_lang = ids[SP_TRANSLATE] - ids[SP_EN];
    if (ids[SP_EOT] < 1 || ids[SP_EN] != ids[SP_SOT] + 1 || n_lang < 1 || n_lang > EST_TOK_N_LANG_CODES)
        return est_diag(diag, EDGESTT_E_FORMAT, "special tokens: sot %lld, <|en|> %lld, translate %lld is not Whisper's layout",
                        (long long)ids[SP_SOT], (long long)ids[SP_EN], (long long)ids[SP_TRANSLATE]);
    sp->eot = (int)ids[SP_EOT];
    sp->sot = (int)ids[SP_SOT];
    sp->translate = (int)ids[SP_TRANSLATE];
    sp->transcribe = (int)ids[SP_TRANSCRIBE];
    sp->solm = (int)ids[SP_SOLM];
    sp->prev = (int)ids[SP_PREV];
    sp->nosp = (int)ids[SP_NOSP];
    sp->no_timestamps = (int)ids[SP_NOTS];
    sp->timestamp_begin = (int)ids[SP_TS0];
    sp->lang_first = (int)ids[SP_EN];
    sp->n_languages = (int)n_lang;
    return EDGESTT_OK;
}

typedef struct tok_index {
    const uint8_t **tok;  /* [eot] */
    uint32_t *len;        /* [eot] */
    int eot, n_vocab;
} tok_index;

static int index_token(void *ctx, const uint8_t *s, size_t n, int64_t id, edgestt_diag *diag) {
    tok_index *x = (tok_index *)ctx;
    if (id < 0 || id >= x->n_vocab)
        return est_diag(diag, EDGESTT_E_FORMAT, "vocab.json: token '%.*s' has id %lld (n_vocab %d)", (int)(n > 40 ? 40 : n),
                        (const char *)s, (long long)id, x->n_vocab);
    if (id >= x->eot) return EDGESTT_OK; /* special forms are written from the ids */
    if (x->tok[id]) return est_diag(diag, EDGESTT_E_FORMAT, "vocab.json: id %lld appears twice", (long long)id);
    if (n > HF_TOK_MAX) return est_diag(diag, EDGESTT_E_LIMIT, "vocab.json: token %lld is %zu bytes long", (long long)id, n);
    x->tok[id] = s;
    x->len[id] = (uint32_t)n;
    return EDGESTT_OK;
}

/* Index the text tokens [0, eot) of vocab.json and check each is GPT-2 byte-level text. */
static int index_vocab(hf_in *h, est_conv *cv, const uint8_t **tok, uint32_t *len, edgestt_diag *diag) {
    tok_index x = {tok, len, cv->st.eot, cv->hp.n_vocab};
    memset(tok, 0, sizeof *tok * (size_t)x.eot);
    int st = walk_tokens(&h->vocab, "vocab.json", index_token, &x, diag);
    if (st) return st;
    uint8_t a[HF_TOK_MAX], b[HF_TOK_MAX];
    for (int id = 0; id < x.eot; id++) {
        if (!tok[id]) return est_diag(diag, EDGESTT_E_FORMAT, "vocab.json: no token with id %d (eot is %d)", id, x.eot);
        int64_t n = est_json_unescape(tok[id], len[id], a, sizeof a);
        if (n < 1 || n > HF_TOK_MAX || est_gpt2_decode(a, (size_t)n, b) < 0)
            return est_diag(diag, EDGESTT_E_FORMAT, "vocab.json: token %d '%.*s' is not a GPT-2 byte-level string", id,
                            (int)(len[id] > 40 ? 40 : len[id]), (const char *)tok[id]);
    }
    cv->hf_tok = tok;
    cv->hf_len = len;
    return EDGESTT_OK;
}

/* The vocabulary writer: vocab.json strings (decoded from JSON) below eot, special forms after. */
static void vocab_hf(const est_conv *cv, est_gguw *w) {
    uint8_t a[HF_TOK_MAX];
    char tmp[EST_TOK_MAX_FORM + 32];
    for (int id = 0; id < cv->hp.n_vocab; id++) {
        if (id < cv->st.eot) {
            int64_t n = est_json_unescape(cv->hf_tok[id], cv->hf_len[id], a, sizeof a);
            if (n < 0 || n > HF_TOK_MAX) { /* checked by index_vocab */
                w->status = EDGESTT_E_INTERNAL;
                return;
            }
            est_gguw_str(w, (const char *)a, (size_t)n);
        } else {
            est_gguw_str(w, tmp, est_tok_special_form(&cv->st, id, tmp));
        }
    }
}

/* ==== tensors ============================================================================ */

/* The expected tensors in output order, with their shapes (ggml order); data unbound. */
static void add(est_conv *cv, int n_dims, int64_t ne0, int64_t ne1, int64_t ne2, const char *pre, const char *part) {
    est_conv_tensor *t = &cv->t[cv->n_tensors++];
    memset(t, 0, sizeof *t);
    est_fmt(t->name, sizeof t->name, "%s%s%s", pre, *part ? "." : "", part);
    t->src_type = -1;
    t->n_dims = n_dims;
    t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2, t->ne[3] = 1;
}

/* pre.attn / pre.cross_attn: q, k, v, out weights (S, S); biases (S) except the key's. */
static void add_attn(est_conv *cv, const char *pre, int64_t S) {
    static const char *const part[] = {"query.weight", "query.bias", "key.weight", "value.weight", "value.bias",
                                       "out.weight", "out.bias"};
    static const int dims[] = {2, 1, 2, 2, 1, 2, 1};
    char f[EST_CONV_NAME];
    for (int i = 0; i < 7; i++) {
        est_fmt(f, sizeof f, "%s.%s", pre, part[i]);
        add(cv, dims[i], S, dims[i] == 2 ? S : 1, 1, f, "");
    }
}

static void add_ln(est_conv *cv, const char *pre, int64_t S) {
    add(cv, 1, S, 1, 1, pre, "weight");
    add(cv, 1, S, 1, 1, pre, "bias");
}

static void add_mlp(est_conv *cv, const char *pre, int64_t S) {
    add(cv, 2, S, 4 * S, 1, pre, "mlp.0.weight");
    add(cv, 1, 4 * S, 1, 1, pre, "mlp.0.bias");
    add(cv, 2, 4 * S, S, 1, pre, "mlp.2.weight");
    add(cv, 1, S, 1, 1, pre, "mlp.2.bias");
}

static int expected_count(const est_whisper_hparams *hp) {
    return 1 + 5 + 15 * hp->n_audio_layer + 2 + 2 + 24 * hp->n_text_layer + 2;
}

/* Fill cv->t with every tensor of the architecture, in whisper-gen's order. */
static void expected(est_conv *cv) {
    const est_whisper_hparams *hp = &cv->hp;
    const int64_t S = hp->n_audio_state, M = hp->n_mels;
    char b[EST_CONV_NAME];
    cv->n_tensors = 0;
    add(cv, 2, EST_MEL_N_BINS, M, 1, "mel_filters", "");
    add(cv, 2, S, hp->n_audio_ctx, 1, "encoder.positional_embedding", "");
    add(cv, 3, 3, M, S, "encoder.conv1.weight", "");
    add(cv, 1, S, 1, 1, "encoder.conv1.bias", "");
    add(cv, 3, 3, S, S, "encoder.conv2.weight", "");
    add(cv, 1, S, 1, 1, "encoder.conv2.bias", "");
    for (int l = 0; l < hp->n_audio_layer; l++) {
        est_fmt(b, sizeof b, "encoder.blocks.%d.attn", l);
        add_attn(cv, b, S);
        est_fmt(b, sizeof b, "encoder.blocks.%d.attn_ln", l);
        add_ln(cv, b, S);
        est_fmt(b, sizeof b, "encoder.blocks.%d", l);
        add_mlp(cv, b, S);
        est_fmt(b, sizeof b, "encoder.blocks.%d.mlp_ln", l);
        add_ln(cv, b, S);
    }
    add_ln(cv, "encoder.ln_post", S);
    add(cv, 2, S, hp->n_text_ctx, 1, "decoder.positional_embedding", "");
    add(cv, 2, S, hp->n_vocab, 1, "decoder.token_embedding.weight", "");
    for (int l = 0; l < hp->n_text_layer; l++) {
        est_fmt(b, sizeof b, "decoder.blocks.%d.attn", l);
        add_attn(cv, b, S);
        est_fmt(b, sizeof b, "decoder.blocks.%d.attn_ln", l);
        add_ln(cv, b, S);
        est_fmt(b, sizeof b, "decoder.blocks.%d.cross_attn", l);
        add_attn(cv, b, S);
        est_fmt(b, sizeof b, "decoder.blocks.%d.cross_attn_ln", l);
        add_ln(cv, b, S);
        est_fmt(b, sizeof b, "decoder.blocks.%d", l);
        add_mlp(cv, b, S);
        est_fmt(b, sizeof b, "decoder.blocks.%d.mlp_ln", l);
        add_ln(cv, b, S);
    }
    add_ln(cv, "decoder.ln", S);
}

/* HF name -> OpenAI name into out (EST_CONV_NAME bytes).  Returns 1 mapped, 0 unknown, -1 skip
 * (proj_out.weight, the output projection tied to the token embedding). */
static int map_name(const uint8_t *hf, size_t n, char *out) {
    static const struct { const char *hf, *oa; } glob[] = {
        {"encoder.conv1.", "encoder.conv1."}, {"encoder.conv2.", "encoder.conv2."},
        {"encoder.embed_positions.weight", "encoder.positional_embedding"}, {"encoder.layer_norm.", "encoder.ln_post."},
        {"decoder.embed_tokens.", "decoder.token_embedding."},
        {"decoder.embed_positions.weight", "decoder.positional_embedding"}, {"decoder.layer_norm.", "decoder.ln."},
    };
    static const struct { const char *hf, *oa; } layer[] = {
        {"self_attn.q_proj.", "attn.query."}, {"self_attn.k_proj.", "attn.key."}, {"self_attn.v_proj.", "attn.value."},
        {"self_attn.out_proj.", "attn.out."}, {"self_attn_layer_norm.", "attn_ln."},
        {"encoder_attn.q_proj.", "cross_attn.query."}, {"encoder_attn.k_proj.", "cross_attn.key."},
        {"encoder_attn.v_proj.", "cross_attn.value."}, {"encoder_attn.out_proj.", "cross_attn.out."},
        {"encoder_attn_layer_norm.", "cross_attn_ln."}, {"fc1.", "mlp.0."}, {"fc2.", "mlp.2."},
        {"final_layer_norm.", "mlp_ln."},
    };
    const char *s = (const char *)hf;
    if (n >= 6 && !memcmp(s, "model.", 6)) s += 6, n -= 6;
    if (n == 15 && !memcmp(s, "proj_out.weight", 15)) return -1;
    if (n >= EST_CONV_NAME - 16) return 0;
    for (size_t i = 0; i < sizeof glob / sizeof glob[0]; i++) {
        size_t k = strlen(glob[i].hf);
        if (n >= k && !memcmp(s, glob[i].hf, k)) {
            est_fmt(out, EST_CONV_NAME, "%s%.*s", glob[i].oa, (int)(n - k), s + k);
            return 1;
        }
    }
    for (int side = 0; side < 2; side++) {
        const char *pre = side ? "decoder.layers." : "encoder.layers.";
        if (n < 15 || memcmp(s, pre, 15)) continue;
        size_t at = 15, d0 = at;
        while (at < n && at - d0 < 4 && s[at] >= '0' && s[at] <= '9') at++;
        if (at == d0 || at >= n || s[at] != '.' || (s[d0] == '0' && at - d0 > 1)) return 0;
        const size_t rest = at + 1;
        for (size_t i = 0; i < sizeof layer / sizeof layer[0]; i++) {
            size_t k = strlen(layer[i].hf);
            if (n - rest >= k && !memcmp(s + rest, layer[i].hf, k)) {
                est_fmt(out, EST_CONV_NAME, "%s.blocks.%.*s.%s%.*s", side ? "decoder" : "encoder", (int)(at - d0),
                        s + d0, layer[i].oa, (int)(n - rest - k), s + rest + k);
                return 1;
            }
        }
        return 0;
    }
    return 0;
}

/* Read one tensor entry {"dtype", "shape", "data_offsets"} of the safetensors header. */
typedef struct st_entry {
    int type;                 /* EDGESTT_TYPE_F32 / _F16 / EST_SRC_BF16; -1 other */
    const uint8_t *dtype;
    size_t dtype_len;
    int n_dims;               /* -1: no shape */
    int64_t shape[EST_MAX_DIMS];
    int64_t off[2];
    int n_off;
} st_entry;

static int read_entry(est_json *j, st_entry *e, edgestt_diag *diag) {
    int first = 1, more, st;
    const uint8_t *k;
    size_t kl;
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->n_dims = -1;
    if ((st = est_json_object(j, diag)) != 0) return st;
    while ((more = est_json_member(j, &first, &k, &kl, diag)) == 1) {
        if (est_json_key_is(k, kl, "dtype")) {
            if ((st = est_json_string(j, &e->dtype, &e->dtype_len, diag)) != 0) return st;
            if (est_json_key_is(e->dtype, e->dtype_len, "F32")) e->type = EDGESTT_TYPE_F32;
            else if (est_json_key_is(e->dtype, e->dtype_len, "F16")) e->type = EDGESTT_TYPE_F16;
            else if (est_json_key_is(e->dtype, e->dtype_len, "BF16")) e->type = EST_SRC_BF16;
        } else if (est_json_key_is(k, kl, "shape") || est_json_key_is(k, kl, "data_offsets")) {
            const int is_shape = kl == 5;
            int f2 = 1, n = 0, el;
            int64_t v, *dst = is_shape ? e->shape : e->off;
            const int cap = is_shape ? EST_MAX_DIMS : 2;
            if ((st = est_json_array(j, diag)) != 0) return st;
            while ((el = est_json_element(j, &f2, diag)) == 1) {
                if ((st = est_json_int(j, &v, diag)) != 0) return st;
                if (n >= cap) return est_diag(diag, EDGESTT_E_FORMAT, "safetensors: %s has more than %d values",
                                              is_shape ? "a shape" : "data_offsets", cap);
                dst[n++] = v;
            }
            if (el) return el;
            if (is_shape) e->n_dims = n;
            else e->n_off = n;
        } else if ((st = est_json_skip(j, diag)) != 0) {
            return st;
        }
    }
    return more;
}

/* Bind one header entry (HF name k) to its expected tensor; data is the data section. */
static int bind_entry(est_conv *cv, const uint8_t *k, size_t kl, const st_entry *e, const uint8_t *data,
                      uint64_t data_size, edgestt_diag *diag) {
    char oa[EST_CONV_NAME];
    const int klp = (int)(kl > 80 ? 80 : kl);
    int m = map_name(k, kl, oa);
    if (m < 0) return EDGESTT_OK;
    est_conv_tensor *t = NULL;
    for (int i = 1; m && i < cv->n_tensors && !t; i++)
        if (!strcmp(cv->t[i].name, oa)) t = &cv->t[i];
    if (!t)
        return est_diag(diag, EDGESTT_E_MODEL, "safetensors: '%.*s' is not a Whisper tensor (or its layer is past n_layer)",
                        klp, (const char *)k);
    if (t->data) return est_diag(diag, EDGESTT_E_MODEL, "safetensors: '%.*s' appears twice", klp, (const char *)k);
    if (e->type < 0)
        return est_diag(diag, e->dtype ? EDGESTT_E_UNSUPPORTED : EDGESTT_E_FORMAT, "safetensors: '%.*s' has dtype %.*s (F32, F16, BF16)",
                        klp, (const char *)k, e->dtype ? (int)(e->dtype_len > 16 ? 16 : e->dtype_len) : 4,
                        e->dtype ? (const char *)e->dtype : "none");
    int ok = e->n_dims == t->n_dims;
    for (int d = 0; ok && d < t->n_dims; d++) ok = e->shape[d] == t->ne[t->n_dims - 1 - d];
    if (!ok) return est_diag(diag, EDGESTT_E_MODEL, "safetensors: '%.*s' has the wrong shape for %s", klp, (const char *)k, t->name);
    const uint64_t bytes = (uint64_t)est_file_tensor_nelem_ne(t->ne) * (e->type == EDGESTT_TYPE_F32 ? 4 : 2);
    if (e->n_off != 2 || e->off[0] < 0 || e->off[1] < e->off[0] || (uint64_t)(e->off[1] - e->off[0]) != bytes)
        return est_diag(diag, EDGESTT_E_FORMAT, "safetensors: '%.*s' data_offsets do not hold its %llu bytes", klp,
                        (const char *)k, (unsigned long long)bytes);
    if (!est_in_bounds((uint64_t)e->off[0], bytes, data_size))
        return est_diag(diag, EDGESTT_E_TRUNCATED, "safetensors: '%.*s' data lies past the end of the file", klp, (const char *)k);
    t->src_type = e->type;
    t->data = data + e->off[0];
    return EDGESTT_OK;
}

/* Walk one safetensors header and bind its tensors. */
static int read_tensors(const est_map *m, est_conv *cv, edgestt_diag *diag) {
    if (m->size < 8) return est_diag(diag, EDGESTT_E_TRUNCATED, "safetensors: shorter than its header length");
    const uint64_t hl = est_rd_u64(m->data);
    if (hl > m->size - 8) return est_diag(diag, EDGESTT_E_TRUNCATED, "safetensors: header of %llu bytes past the end", (unsigned long long)hl);
    const uint8_t *data = m->data + 8 + hl;
    const uint64_t data_size = m->size - 8 - hl;
    est_json j;
    int first = 1, more, st;
    const uint8_t *k;
    size_t kl;
    st_entry e;
    est_json_init(&j, m->data + 8, (size_t)hl, "safetensors header");
    if ((st = est_json_object(&j, diag)) != 0) return st;
    while ((more = est_json_member(&j, &first, &k, &kl, diag)) == 1) {
        if (est_json_key_is(k, kl, "__metadata__")) st = est_json_skip(&j, diag);
        else if ((st = read_entry(&j, &e, diag)) == 0) st = bind_entry(cv, k, kl, &e, data, data_size, diag);
        if (st) return st;
    }
    return more;
}

/* Every shard's tensors; then every expected tensor must be bound. */
static int read_all_tensors(const hf_in *h, est_conv *cv, edgestt_diag *diag) {
    for (int s = 0; s < h->n_st; s++) {
        int st = read_tensors(&h->st[s], cv, diag);
        if (st) return st;
    }
    for (int i = 1; i < cv->n_tensors; i++)
        if (!cv->t[i].data) return est_diag(diag, EDGESTT_E_MODEL, "safetensors: %s is missing", cv->t[i].name);
    return EDGESTT_OK;
}

/* ==== the entry point ==================================================================== */

int est_convert_hf(const char *path, const edgestt_convert_params *p, edgestt_sink_fn sink, void *user,
                   edgestt_convert_report *rep, edgestt_diag *diag) {
    hf_in h;
    est_conv cv;
    void *block = NULL;
    memset(&h, 0, sizeof h);
    memset(&cv, 0, sizeof cv);
    cv.type = p->type;
    int st = open_checkpoint(path, &h, diag);
    if (st) goto out;
    if (rep) rep->input = EDGESTT_INPUT_HF;
    if ((st = read_config(&h, &cv.hp, diag)) != 0) goto out;
    if ((st = est_port_map_file(join(&h, "vocab.json"), &h.vocab, diag)) != 0) {
        st = est_diag(diag, st, "convert: %s: a Hugging Face checkpoint needs vocab.json", h.dir);
        goto out;
    }
    if ((st = read_specials(&h, &cv.hp, &cv.st, diag)) != 0) goto out;
    /* one allocation: tensor table, chunk buffers (f32, output), mel filters, vocabulary index */
    const size_t n_t = (size_t)expected_count(&cv.hp), n_mel = (size_t)cv.hp.n_mels * EST_MEL_N_BINS;
    const size_t eot = (size_t)cv.st.eot;
    size_t tb = n_t * sizeof(est_conv_tensor), at_mel = tb + 8 * CHUNK + 64, at_tok = (at_mel + 4 * n_mel + 7) & ~(size_t)7;
    size_t at_len = at_tok + eot * sizeof(const uint8_t *), total = at_len + eot * sizeof(uint32_t);
    uint8_t *mem = (uint8_t *)est_port_alloc(total);
    if (!mem) {
        st = est_diag(diag, EDGESTT_E_NOMEM, "convert: cannot allocate %zu bytes", total);
        goto out;
    }
    block = mem;
    cv.t = (est_conv_tensor *)mem;
    cv.f32 = (float *)(mem + tb);
    cv.outbuf = mem + tb + 4 * CHUNK;
    expected(&cv);
    est_mel_filters_slaney(cv.hp.n_mels, (float *)(mem + at_mel));
    cv.t[0].src_type = EDGESTT_TYPE_F32;
    cv.t[0].data = mem + at_mel;
    if ((st = read_all_tensors(&h, &cv, diag)) != 0) goto out;
    if ((st = index_vocab(&h, &cv, (const uint8_t **)(void *)(mem + at_tok), (uint32_t *)(void *)(mem + at_len), diag)) != 0)
        goto out;
    cv.vocab = vocab_hf;
    if (p->name) est_fmt(cv.name, sizeof cv.name, "%s", p->name);
    else est_fmt(cv.name, sizeof cv.name, "%s (converted from safetensors to %s)", h.name[0] ? h.name : "whisper",
                 edgestt_type_name(p->type));
    st = est_convert_write(&cv, p, sink, user, rep, diag);
out:
    est_port_free(block);
    est_port_unmap(&h.vocab);
    for (int i = 0; i < h.n_st; i++) est_port_unmap(&h.st[i]);
    return st;
}
