/*
 * test_convert_hf.c - Hugging Face checkpoints as a convert input, and the JSON reader under them.
 *
 * The checkpoints are written here, at test time, from the generated GGUF test models (a C writer
 * of safetensors + config.json + vocab.json + added_tokens.json with HF tensor names, the reverse
 * of core/convert_hf.c's map), so no torch is needed: converting the checkpoint must give the very
 * bytes that converting the GGUF gives (same tensors, vocabulary and special ids, hence the same
 * transcription), with any tensor order in the file, one file or two shards with their index,
 * F32/F16 dtypes as stored, BF16 exactly
 * rounded, and damaged checkpoints refused with one line naming the problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/json.h"
#include "../core/tokenizer.h"
#include "../models/whisper.h"
#include "edgestt.h"
#include "test.h"

/* ==== JSON reader ======================================================================== */

/* Parse s completely with est_json_skip; the status (trailing bytes other than space: FORMAT). */
static int json_status(const char *s) {
    est_json j;
    edgestt_diag d;
    est_json_init(&j, s, strlen(s), "t");
    int st = est_json_skip(&j, &d);
    if (!st && est_json_peek(&j) >= 0) st = EDGESTT_E_FORMAT;
    return st;
}

TEST(json_reader_accepts_and_refuses) {
    static const char *const good[] = {
        "{}", "[]", " {\"a\": [1, -2, 3.5e-3, true, false, null, \"x\\n\\u00e9\\ud83d\\ude00\"]} ", "0", "-0.0E+1",
        "{\"a\":{\"b\":{\"c\":[[[]]]}}}", "\"\\\"\\\\\\/\\b\\f\\r\\t\"",
    };
    static const char *const badj[] = {
        "", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "01", "1.", "-", "1e", "tru", "\"abc",
        "\"\\x\"", "\"\\u12g4\"", "\"a\nb\"", "{1:2}", "[\"\\u12\"]", "{\"a\":1}}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) CHECKF(json_status(good[i]) == 0, "good %zu: %s", i, good[i]);
    for (size_t i = 0; i < sizeof badj / sizeof badj[0]; i++) CHECKF(json_status(badj[i]) != 0, "bad %zu: %s", i, badj[i]);
    /* nesting is bounded, not recursed without limit */
    char deep[200];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    CHECK(json_status(deep) == EDGESTT_E_FORMAT);
    /* integers: range and kind */
    static const struct { const char *s; int ok; int64_t v; } ints[] = {
        {"9223372036854775807", 1, INT64_MAX}, {"-9223372036854775808", 1, INT64_MIN}, {"9223372036854775808", 0, 0},
        {"1.0", 0, 0}, {"1e3", 0, 0}, {"42", 1, 42}, {"-7", 1, -7},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        est_json j;
        int64_t v = 0;
        est_json_init(&j, ints[i].s, strlen(ints[i].s), "t");
        int st = est_json_int(&j, &v, NULL);
        CHECKF((st == 0) == ints[i].ok && (!ints[i].ok || v == ints[i].v), "int %s: st %d v %lld", ints[i].s, st, (long long)v);
    }
    /* unescape: UTF-8 out, surrogate pairs joined, lone surrogates refused, measuring with NULL */
    uint8_t out[16];
    const char *e = "a\\u00e9\\ud83d\\ude00\\n";
    CHECK(est_json_unescape((const uint8_t *)e, strlen(e), NULL, 0) == 8);
    CHECK(est_json_unescape((const uint8_t *)e, strlen(e), out, sizeof out) == 8);
    CHECK(!memcmp(out, "a\xc3\xa9\xf0\x9f\x98\x80\n", 8));
    CHECK(est_json_unescape((const uint8_t *)"\\ud83d", 6, out, sizeof out) < 0);
    CHECK(est_json_unescape((const uint8_t *)"\\ude00", 6, out, sizeof out) < 0);
    CHECK(est_json_unescape((const uint8_t *)"\\", 1, out, sizeof out) < 0);
    /* objects and arrays through the member / element walkers */
    const char *obj = "{\"k\": [3, 4], \"s\": \"v\"}";
    est_json j;
    int first = 1, n = 0;
    const uint8_t *k;
    size_t kl;
    est_json_init(&j, obj, strlen(obj), "t");
    CHECK(est_json_object(&j, NULL) == 0);
    while (est_json_member(&j, &first, &k, &kl, NULL) == 1) {
        if (est_json_key_is(k, kl, "k")) {
            int f2 = 1;
            int64_t v, sum = 0;
            CHECK(est_json_array(&j, NULL) == 0);
            while (est_json_element(&j, &f2, NULL) == 1) {
                CHECK(est_json_int(&j, &v, NULL) == 0);
                sum += v;
            }
            CHECK(sum == 7);
        } else {
            CHECK(est_json_skip(&j, NULL) == 0);
        }
        n++;
    }
    CHECK(n == 2 && est_json_peek(&j) < 0);
}

/* Every prefix and every one-byte change of a valid document: the reader never reads past the
 * end (run under ASan by make sanitize) and never accepts a strict prefix. */
TEST(json_reader_prefixes_and_flips) {
    const char *doc = "{\"a\": [1, 2.5, \"x\\u0041\"], \"b\": {\"c\": null, \"d\": true}, \"e\": -3}";
    const size_t n = strlen(doc);
    for (size_t len = 0; len < n; len++) {
        char *c = malloc(len + 1);
        CHECK(c);
        memcpy(c, doc, len);
        est_json j;
        est_json_init(&j, c, len, "t");
        int st = est_json_skip(&j, NULL);
        free(c);
        CHECKF(st != 0, "prefix of %zu bytes accepted", len);
    }
    uint64_t seed = est_test_seed();
    for (int it = 0; it < 2000; it++) {
        char c[128];
        memcpy(c, doc, n);
        c[est_test_rand(&seed) % n] = (char)est_test_rand(&seed);
        est_json j;
        est_json_init(&j, c, n, "t");
        (void)est_json_skip(&j, NULL);
        CHECK(j.pos <= n);
    }
}

/* ==== a C writer of HF checkpoints from a GGUF =========================================== */

typedef struct gg {
    uint8_t *img;
    size_t size;
    est_whisper_probe pr;
    est_gguf_kv *kv;
    est_file_tensor *t;
    size_t n_kv, n_t;
} gg;

static void gg_free(gg *g) {
    free(g->img);
    free(g->kv);
    free(g->t);
    memset(g, 0, sizeof *g);
}

static int read_all(const char *path, uint8_t **img, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *img = malloc((size_t)n + 1);
    int ok = *img && fread(*img, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    *size = (size_t)n;
    return ok;
}

static int gg_load(const char *rel, gg *g) {
    memset(g, 0, sizeof *g);
    if (!read_all(est_test_model(rel), &g->img, &g->size)) return 0;
    if (est_whisper_probe_image(g->img, g->size, &g->pr, NULL)) return 0;
    if (est_gguf_table_counts(&g->pr.gguf, &g->n_kv, &g->n_t)) return 0;
    g->kv = calloc(g->n_kv + 1, sizeof *g->kv);
    g->t = calloc(g->n_t + 1, sizeof *g->t);
    est_gguf gf;
    return g->kv && g->t && est_gguf_fill(g->img, g->size, &g->pr.gguf, g->kv, g->t, &gf, NULL) == 0;
}

/* OpenAI name -> HF name (the reverse of convert_hf.c's map); 0 for mel_filters. */
static int hf_name(const char *oa, size_t n, char *out, size_t cap) {
    static const char *const glob[][2] = {
        {"encoder.positional_embedding", "model.encoder.embed_positions.weight"},
        {"decoder.positional_embedding", "model.decoder.embed_positions.weight"},
        {"encoder.ln_post.", "model.encoder.layer_norm."}, {"decoder.ln.", "model.decoder.layer_norm."},
        {"decoder.token_embedding.", "model.decoder.embed_tokens."}, {"encoder.conv", "model.encoder.conv"},
    };
    static const char *const layer[][2] = {
        {"attn.query.", "self_attn.q_proj."}, {"attn.key.", "self_attn.k_proj."}, {"attn.value.", "self_attn.v_proj."},
        {"attn.out.", "self_attn.out_proj."}, {"attn_ln.", "self_attn_layer_norm."},
        {"cross_attn.query.", "encoder_attn.q_proj."}, {"cross_attn.key.", "encoder_attn.k_proj."},
        {"cross_attn.value.", "encoder_attn.v_proj."}, {"cross_attn.out.", "encoder_attn.out_proj."},
        {"cross_attn_ln.", "encoder_attn_layer_norm."}, {"mlp.0.", "fc1."}, {"mlp.2.", "fc2."}, {"mlp_ln.", "final_layer_norm."},
    };
    for (size_t i = 0; i < sizeof glob / sizeof glob[0]; i++) {
        size_t k = strlen(glob[i][0]);
        if (n >= k && !memcmp(oa, glob[i][0], k))
            return snprintf(out, cap, "%s%.*s", glob[i][1], (int)(n - k), oa + k) > 0;
    }
    for (int side = 0; side < 2; side++) {
        const char *pre = side ? "decoder.blocks." : "encoder.blocks.";
        if (n < 15 || memcmp(oa, pre, 15)) continue;
        const char *dot = memchr(oa + 15, '.', n - 15);
        if (!dot) return 0;
        size_t rest = (size_t)(dot + 1 - oa);
        for (size_t i = 0; i < sizeof layer / sizeof layer[0]; i++) {
            size_t k = strlen(layer[i][0]);
            if (n - rest >= k && !memcmp(oa + rest, layer[i][0], k))
                return snprintf(out, cap, "model.%s.layers.%.*s.%s%.*s", side ? "decoder" : "encoder",
                                (int)(dot - oa - 15), oa + 15, layer[i][1], (int)(n - rest - k), oa + rest + k) > 0;
        }
    }
    return 0;
}

enum { HF_ASIS = 0, HF_BF16 = 1 };

typedef struct hf_opts {
    int dtype;          /* HF_ASIS: F32/F16 as stored in the GGUF; HF_BF16: every tensor bf16 (truncated) */
    int ascii;          /* vocab.json with \u escapes for non-ASCII (as Python's json.dump writes it) */
    int proj_out;       /* also write proj_out.weight (tied, skipped by the converter) */
    const char *damage; /* NULL, or one of the damage kinds in TEST(convert_hf_refuses_damage) */
    int shards;         /* two model-0000k-of-00002.safetensors files and model.safetensors.index.json */
    int tokcfg;         /* special tokens in tokenizer_config.json's added_tokens_decoder, no added_tokens.json */
} hf_opts;

static int st_write(const gg *g, const char *p, const hf_opts *o, int part, int n_parts);

static void put_json_str(FILE *f, const char *s, size_t n, int ascii) {
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c), i++;
        else if (c < 0x20) fprintf(f, "\\u%04x", c), i++;
        else if (c < 0x80 || !ascii) fputc(c, f), i++;
        else { /* two-byte UTF-8 (the GPT-2 alphabet is below U+0800) */
            unsigned cp = (unsigned)(c & 0x1F) << 6 | ((unsigned char)s[i + 1] & 0x3F);
            fprintf(f, "\\u%04x", cp);
            i += 2;
        }
    }
    fputc('"', f);
}

static int dmg(const hf_opts *o, const char *kind) { return o->damage && !strcmp(o->damage, kind); }

/* Write dir/{model.safetensors,config.json,vocab.json,added_tokens.json} from g. */
static int hf_write(const gg *g, const char *dir, const hf_opts *o) {
    char p[512];
    mkdir(dir, 0755);
    const est_whisper_hparams *hp = &g->pr.hp;
    const edgestt_special_tokens *sp = &g->pr.st;
    /* config.json */
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    fprintf(f, "{\n  \"_name_or_path\": \"test/whisper-mini\",\n  \"activation_dropout\": 0.0,\n"
               "  \"architectures\": [\"WhisperForConditionalGeneration\"],\n  \"begin_suppress_tokens\": [220, %d],\n"
               "  \"d_model\": %d,\n  \"decoder_attention_heads\": %d,\n  \"decoder_ffn_dim\": %d,\n"
               "  \"decoder_layers\": %d,\n  \"encoder_attention_heads\": %d,\n  \"encoder_ffn_dim\": %d,\n"
               "  \"encoder_layers\": %d,\n  \"init_std\": 0.02,\n  \"max_source_positions\": %d,\n"
               "  \"max_target_positions\": %d,\n  \"model_type\": \"%s\",\n  \"num_mel_bins\": %d,\n"
               "  \"torch_dtype\": \"float32\",\n  \"vocab_size\": %d\n}\n",
            sp->eot, hp->n_audio_state, hp->n_text_head, 4 * hp->n_text_state, hp->n_text_layer, hp->n_audio_head,
            dmg(o, "ffn") ? 3 * hp->n_audio_state : 4 * hp->n_audio_state, hp->n_audio_layer, hp->n_audio_ctx,
            hp->n_text_ctx, dmg(o, "model_type") ? "bert" : "whisper", hp->n_mels,
            dmg(o, "no_vocab_size") ? 0 : hp->n_vocab);
    fclose(f);
    /* vocab.json: GPT-2 strings of the text tokens, then <|endoftext|> */
    snprintf(p, sizeof p, "%s/vocab.json", dir);
    if (!(f = fopen(p, "wb"))) return 0;
    const uint8_t *tp = g->pr.tokens, *end = g->img + g->size;
    fputc('{', f);
    for (int id = 0; id < sp->eot; id++) {
        const char *s;
        uint64_t n;
        if (!est_gguf_next_str(&tp, end, &s, &n)) return fclose(f), 0;
        if (dmg(o, "vocab_gap") && id == 1234) continue;
        if (dmg(o, "vocab_not_gpt2") && id == 7) s = "a b", n = 3;
        fputs(id ? ",\n " : "\n ", f);
        put_json_str(f, s, (size_t)n, o->ascii);
        fprintf(f, ": %d", dmg(o, "vocab_dup") && id == 9 ? 8 : id);
    }
    fprintf(f, ",\n \"<|endoftext|>\": %d\n}\n", sp->eot);
    fclose(f);
    /* added_tokens.json: the forms of ids above eot (the "no speech" token in its old name) */
    snprintf(p, sizeof p, "%s/added_tokens.json", dir);
    remove(p);
    if (o->tokcfg) { /* transformers >= 4.34: tokenizer_config.json, "ID": {"content": FORM, ...} */
        snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
        if (!(f = fopen(p, "wb"))) return 0;
        fprintf(f, "{\n  \"add_prefix_space\": false,\n  \"added_tokens_decoder\": {");
        for (int id = sp->eot; id < hp->n_vocab; id++) {
            char form[EST_TOK_MAX_FORM];
            size_t n = est_tok_special_form(sp, id, form);
            fprintf(f, "%s\n    \"%d%s\": {\"content\": ", id > sp->eot ? "," : "", id,
                    dmg(o, "tokcfg_bad_id") && id == sp->sot ? "x" : "");
            put_json_str(f, form, n, 1);
            fprintf(f, ", \"lstrip\": false, \"normalized\": false, \"special\": true}");
        }
        fprintf(f, "\n  },\n  \"bos_token\": \"<|endoftext|>\",\n  \"model_max_length\": 1024,\n"
                   "  \"tokenizer_class\": \"WhisperTokenizer\"\n}\n");
        fclose(f);
        goto tensors;
    }
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/added_tokens.json", dir);
    if (!(f = fopen(p, "wb"))) return 0;
    fputc('{', f);
    int first = 1;
    for (int id = sp->eot + 1; id < hp->n_vocab; id++) {
        char form[EST_TOK_MAX_FORM];
        size_t n = est_tok_special_form(sp, id, form);
        if (id == sp->nosp) n = (size_t)snprintf(form, sizeof form, "<|nocaptions|>");
        if (dmg(o, "no_sot") && id == sp->sot) continue;
        fprintf(f, "%s\n  ", first ? "" : ",");
        first = 0;
        put_json_str(f, form, n, 1);
        fprintf(f, ": %d", id);
    }
    fputs("\n}\n", f);
    fclose(f);
tensors:
    if (!o->shards) {
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        return st_write(g, p, o, 0, 1);
    }
    /* two shards and their index, as save_pretrained writes large checkpoints */
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    if (!(f = fopen(p, "wb"))) return 0;
    fprintf(f, "{\n  \"metadata\": {\"total_size\": 123},\n  \"weight_map\": {\n");
    for (size_t k = 0, fst = 1; k < g->n_t; k++) {
        const est_file_tensor *t = &g->t[g->n_t - 1 - k];
        char name[128];
        if (!hf_name(t->name, t->name_len, name, sizeof name)) continue;
        const char *file = k % 2 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
        if (dmg(o, "shard_name") && k == 3) file = "../model-00002-of-00002.safetensors";
        if (dmg(o, "shard_missing") && k % 2) file = "model-00002-of-00003.safetensors";
        fprintf(f, "%s    \"%s\": \"%s\"", fst ? "" : ",\n", name, file);
        fst = 0;
    }
    fprintf(f, "\n  }\n}\n");
    fclose(f);
    for (int part = 0; part < 2; part++) {
        snprintf(p, sizeof p, "%s/model-0000%d-of-00002.safetensors", dir, part + 1);
        if (!st_write(g, p, o, part, 2)) return 0;
    }
    return 1;
}

/* One safetensors file of the checkpoint: the tensors k with k % n_parts == part (all for one
 * part), listed in reverse file order; header padded to 8, then the data. */
static int st_write(const gg *g, const char *p, const hf_opts *o, int part, int n_parts) {
    FILE *f;
    size_t hcap = 1 << 20, hn = 0, off = 0;
    char *h = malloc(hcap);
    if (!h) return 0;
    hn += (size_t)snprintf(h + hn, hcap - hn, "{\"__metadata__\":{\"format\":\"pt\"}");
    const est_file_tensor *emb = NULL;
    for (size_t k = 0; k <= g->n_t; k++) {
        const est_file_tensor *t;
        char name[128];
        if (n_parts > 1 && k < g->n_t && (int)(k % 2) != part && !(dmg(o, "shard_dup") && k == 2)) continue;
        if (k == g->n_t) { /* proj_out last, sharing the embedding's values */
            if (!o->proj_out || !emb || part) break;
            t = emb;
            snprintf(name, sizeof name, "proj_out.weight");
        } else {
            t = &g->t[g->n_t - 1 - k];
            if (!hf_name(t->name, t->name_len, name, sizeof name)) continue;
            if (est_file_tensor_is(t, "decoder.token_embedding.weight")) emb = t;
            if (dmg(o, "missing") && est_file_tensor_is(t, "decoder.blocks.1.mlp.2.bias")) continue;
            if (dmg(o, "unknown") && est_file_tensor_is(t, "encoder.blocks.0.attn.query.bias"))
                snprintf(name, sizeof name, "model.encoder.layers.0.self_attn.k_proj.bias");
            if (dmg(o, "layer_past") && est_file_tensor_is(t, "encoder.blocks.1.attn.query.bias"))
                snprintf(name, sizeof name, "model.encoder.layers.7.self_attn.q_proj.bias");
        }
        const int es = o->dtype == HF_BF16 || t->type == EDGESTT_TYPE_F16 ? 2 : 4;
        const char *dt = o->dtype == HF_BF16 ? "BF16" : t->type == EDGESTT_TYPE_F16 ? "F16" : "F32";
        if (dmg(o, "dtype_i64") && est_file_tensor_is(t, "encoder.conv1.bias")) dt = "I64";
        size_t bytes = (size_t)est_file_tensor_nelem(t) * (size_t)es;
        hn += (size_t)snprintf(h + hn, hcap - hn, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", name, dt);
        for (int d = t->n_dims - 1; d >= 0; d--) {
            int64_t v = t->ne[d];
            if (dmg(o, "shape") && est_file_tensor_is(t, "encoder.conv2.weight") && d == 0) v = 5;
            hn += (size_t)snprintf(h + hn, hcap - hn, "%lld%s", (long long)v, d ? "," : "");
        }
        size_t b0 = off, b1 = off + bytes;
        if (dmg(o, "offsets") && est_file_tensor_is(t, "decoder.ln.bias")) b1 += 4;
        if (dmg(o, "past_end") && k == 0) b0 += 1u << 30, b1 += 1u << 30;
        hn += (size_t)snprintf(h + hn, hcap - hn, "],\"data_offsets\":[%zu,%zu]}", b0, b1);
        off += bytes;
    }
    hn += (size_t)snprintf(h + hn, hcap - hn, "}");
    while (hn % 8) h[hn++] = ' ';
    if (!(f = fopen(p, "wb"))) return free(h), 0;
    uint64_t hl = dmg(o, "header_len") ? (uint64_t)1 << 40 : hn;
    fwrite(&hl, 8, 1, f);
    fwrite(h, 1, hn, f);
    free(h);
    emb = NULL;
    for (size_t k = 0; k <= g->n_t; k++) {
        const est_file_tensor *t;
        char name[128];
        if (n_parts > 1 && k < g->n_t && (int)(k % 2) != part && !(dmg(o, "shard_dup") && k == 2)) continue;
        if (k == g->n_t) {
            if (!o->proj_out || !emb || part) break;
            t = emb;
        } else {
            t = &g->t[g->n_t - 1 - k];
            if (!hf_name(t->name, t->name_len, name, sizeof name)) continue;
            if (est_file_tensor_is(t, "decoder.token_embedding.weight")) emb = t;
            if (dmg(o, "missing") && est_file_tensor_is(t, "decoder.blocks.1.mlp.2.bias")) continue;
        }
        const int64_t n = est_file_tensor_nelem(t);
        if (o->dtype == HF_BF16) {
            for (int64_t i = 0; i < n; i++) {
                float x = t->type == EDGESTT_TYPE_F16 ? est_f16_to_f32(est_rd_u16(t->data + 2 * i)) : est_rd_f32(t->data + 4 * i);
                uint32_t u;
                memcpy(&u, &x, 4);
                uint16_t b = (uint16_t)(u >> 16);
                fwrite(&b, 2, 1, f);
            }
        } else {
            fwrite(t->data, 1, t->nbytes, f);
        }
    }
    if (dmg(o, "truncated")) {
        fflush(f);
        long at = ftell(f);
        fclose(f);
        return truncate(p, at - 100) == 0;
    }
    return fclose(f) == 0;
}

/* ==== conversion into memory ============================================================= */

typedef struct membuf {
    uint8_t *b;
    size_t n, cap;
} membuf;

static int mem_sink(void *user, int shard, int n_shards, uint64_t off, const void *data, size_t n) {
    membuf *m = (membuf *)user;
    if (shard != 0 || n_shards != 1) return 1;
    if (off + n > m->cap) {
        size_t c = (size_t)(off + n) * 2;
        uint8_t *nb = realloc(m->b, c);
        if (!nb) return 1;
        m->b = nb;
        m->cap = c;
    }
    memcpy(m->b + off, data, n);
    if (off + n > m->n) m->n = (size_t)(off + n);
    return 0;
}

static int convert_to(const char *path, int type, membuf *m, edgestt_convert_report *r, edgestt_diag *d) {
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    p.type = type;
    p.name = "t";
    memset(m, 0, sizeof *m);
    d->msg[0] = 0;
    return edgestt_convert(path, &p, mem_sink, m, r, d);
}

/* A checkpoint written from each GGUF converts to the GGUF's own conversion, byte for byte. */
TEST(convert_hf_matches_gguf) {
    static const struct { const char *gguf; int type; hf_opts o; const char *input; } c[] = {
        {"mini-en-f32.gguf", EDGESTT_TYPE_F32, {HF_ASIS, 0, 1, NULL, 0, 0}, "dir"},
        {"mini-en-f32.gguf", EDGESTT_TYPE_Q8_0, {HF_ASIS, 1, 0, NULL, 0, 0}, "file"},
        {"mini-multi-f16.gguf", EDGESTT_TYPE_F16, {HF_ASIS, 1, 1, NULL, 0, 0}, "dir"},
        {"mini-v3-f16.gguf", EDGESTT_TYPE_Q4_0, {HF_ASIS, 0, 0, NULL, 0, 0}, "file"},
        {"mini-multi-f16.gguf", EDGESTT_TYPE_F16, {HF_ASIS, 0, 1, NULL, 1, 0}, "dir"}, /* sharded */
        {"mini-v3-f16.gguf", EDGESTT_TYPE_F16, {HF_ASIS, 1, 0, NULL, 0, 1}, "dir"},    /* tokenizer_config.json */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        gg g;
        CHECKF(gg_load(c[i].gguf, &g), "cannot load %s", c[i].gguf);
        const char *dir = est_test_tmp("hf-ckpt");
        CHECK(hf_write(&g, dir, &c[i].o));
        char path[512];
        snprintf(path, sizeof path, "%s%s", dir, strcmp(c[i].input, "file") ? "/" : "/model.safetensors");
        membuf a, b;
        edgestt_convert_report ra, rb;
        edgestt_diag d;
        int st = convert_to(path, c[i].type, &a, &ra, &d);
        CHECKF(st == EDGESTT_OK, "case %zu: %s: %s", i, path, d.msg);
        CHECK_ST(convert_to(est_test_model(c[i].gguf), c[i].type, &b, &rb, &d), EDGESTT_OK);
        CHECK(ra.input == EDGESTT_INPUT_HF && rb.input == EDGESTT_INPUT_GGUF);
        CHECK(ra.n_tensors == rb.n_tensors && ra.bytes == rb.bytes);
        size_t at = 0;
        while (at < a.n && at < b.n && a.b[at] == b.b[at]) at++;
        CHECKF(a.n == b.n && at == a.n, "case %zu (%s): HF and GGUF conversions differ at byte %zu of %zu / %zu", i,
               c[i].gguf, at, a.n, b.n);
        edgestt_model *m = NULL;
        CHECK_ST(edgestt_open_memory(a.b, a.n, NULL, NULL, 0, &m, &d), EDGESTT_OK);
        edgestt_close(m);
        free(a.b);
        free(b.b);
        gg_free(&g);
    }
}

/* BF16 checkpoints: every value is the bf16 (truncated) of the source value, exactly. */
TEST(convert_hf_bf16) {
    gg g;
    CHECK(gg_load("mini-en-f32.gguf", &g));
    const char *dir = est_test_tmp("hf-bf16");
    hf_opts o = {HF_BF16, 0, 0, NULL, 0, 0};
    CHECK(hf_write(&g, dir, &o));
    membuf a;
    edgestt_convert_report r;
    edgestt_diag d;
    CHECKF(convert_to(dir, EDGESTT_TYPE_F32, &a, &r, &d) == EDGESTT_OK, "%s", d.msg);
    edgestt_model *m = NULL;
    CHECK_ST(edgestt_open_memory(a.b, a.n, NULL, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_close(m);
    gg o2;
    o2.img = a.b;
    CHECK(est_whisper_probe_image(a.b, a.n, &o2.pr, NULL) == 0);
    CHECK(est_gguf_table_counts(&o2.pr.gguf, &o2.n_kv, &o2.n_t) == 0 && o2.n_t == g.n_t);
    o2.kv = calloc(o2.n_kv, sizeof *o2.kv);
    o2.t = calloc(o2.n_t, sizeof *o2.t);
    est_gguf gf;
    CHECK(est_gguf_fill(a.b, a.n, &o2.pr.gguf, o2.kv, o2.t, &gf, NULL) == 0);
    int64_t checked = 0;
    for (size_t i = 0; i < g.n_t; i++) {
        const est_file_tensor *s = &g.t[i], *t = &o2.t[i];
        CHECK(s->name_len == t->name_len && !memcmp(s->name, t->name, s->name_len) && t->type == EDGESTT_TYPE_F32);
        const int mel = est_file_tensor_is(s, "mel_filters");
        for (int64_t k = 0; k < est_file_tensor_nelem(s); k++, checked++) {
            uint32_t u = est_rd_u32(s->data + 4 * k), v = est_rd_u32(t->data + 4 * k);
            CHECKF(v == (mel ? u : (u & 0xFFFF0000u)), "%.*s[%lld]: %08x from %08x", (int)s->name_len, s->name,
                   (long long)k, v, u);
        }
    }
    CHECK(checked > 1000000);
    free(o2.kv);
    free(o2.t);
    free(a.b);
    gg_free(&g);
}

/* Damaged checkpoints: the right status, one line naming the problem, nothing written. */
TEST(convert_hf_refuses_damage) {
    static const struct { const char *kind; int st; const char *says; } c[] = {
        {"missing", EDGESTT_E_MODEL, "decoder.blocks.1.mlp.2.bias is missing"},
        {"unknown", EDGESTT_E_MODEL, "k_proj.bias"},
        {"layer_past", EDGESTT_E_MODEL, "layers.7"},
        {"shape", EDGESTT_E_MODEL, "wrong shape"},
        {"dtype_i64", EDGESTT_E_UNSUPPORTED, "I64"},
        {"offsets", EDGESTT_E_FORMAT, "data_offsets"},
        {"past_end", EDGESTT_E_TRUNCATED, "past the end"},
        {"header_len", EDGESTT_E_TRUNCATED, "header"},
        {"truncated", EDGESTT_E_TRUNCATED, "past the end"},
        {"vocab_gap", EDGESTT_E_FORMAT, "1234"},
        {"vocab_dup", EDGESTT_E_FORMAT, "twice"},
        {"vocab_not_gpt2", EDGESTT_E_FORMAT, "GPT-2"},
        {"no_sot", EDGESTT_E_FORMAT, "startoftranscript"},
        {"model_type", EDGESTT_E_UNSUPPORTED, "model_type"},
        {"ffn", EDGESTT_E_UNSUPPORTED, "encoder_ffn_dim"},
        {"no_vocab_size", EDGESTT_E_LIMIT, "vocab_size"},
        {"shard_missing", EDGESTT_E_IO, "cannot be opened"},
        {"shard_name", EDGESTT_E_FORMAT, "not a file name"},
        {"shard_dup", EDGESTT_E_MODEL, "appears twice"},
        {"tokcfg_bad_id", EDGESTT_E_FORMAT, "not an id"},
    };
    gg g;
    CHECK(gg_load("mini-en-f32.gguf", &g));
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "hf-dmg-%s", c[i].kind);
        const char *dir = est_test_tmp(rel);
        hf_opts o = {HF_ASIS, 0, 0, c[i].kind, !strncmp(c[i].kind, "shard_", 6), !strcmp(c[i].kind, "tokcfg_bad_id")};
        CHECK(hf_write(&g, dir, &o));
        membuf a;
        edgestt_diag d;
        int st = convert_to(dir, EDGESTT_TYPE_F32, &a, NULL, &d);
        CHECKF(st == c[i].st && strstr(d.msg, c[i].says) && !strchr(d.msg, '\n'), "%s: status %d (%s), want %d: '%s'",
               c[i].kind, st, edgestt_strerror(st), c[i].st, d.msg);
        CHECKF(a.n == 0, "%s: %zu bytes written", c[i].kind, a.n);
        free(a.b);
    }
    gg_free(&g);
    /* not a checkpoint at all */
    membuf a;
    edgestt_diag d;
    CHECK_ST(convert_to(est_test_tmp("no-such-dir"), EDGESTT_TYPE_F32, &a, NULL, &d), EDGESTT_E_IO);
    CHECK(strstr(d.msg, "no-such-dir") != NULL);
    const char *junk = est_test_tmp("junk.safetensors");
    FILE *f = fopen(junk, "wb");
    CHECK(f);
    fputs("definitely not a model", f);
    fclose(f);
    CHECK_ST(convert_to(junk, EDGESTT_TYPE_F32, &a, NULL, &d), EDGESTT_E_UNSUPPORTED);
}

/* Random damage to the safetensors header and vocab.json: never a crash, never output. */
TEST(convert_hf_fuzzed_headers) {
    gg g;
    CHECK(gg_load("mini-en-f32.gguf", &g));
    const char *dir = est_test_tmp("hf-fuzz");
    hf_opts o = {HF_ASIS, 0, 0, NULL, 0, 0};
    CHECK(hf_write(&g, dir, &o));
    gg_free(&g);
    char p[512];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    uint8_t *img;
    size_t size;
    CHECK(read_all(p, &img, &size));
    uint64_t hl = est_rd_u64(img), seed = est_test_seed();
    int refused = 0;
    for (int it = 0; it < 60; it++) {
        uint8_t *c = malloc(size);
        CHECK(c);
        memcpy(c, img, size);
        for (int k = 0; k < 1 + it % 3; k++) c[8 + est_test_rand(&seed) % hl] = (uint8_t)est_test_rand(&seed);
        FILE *f = fopen(p, "wb");
        CHECK(f);
        fwrite(c, 1, size, f);
        fclose(f);
        free(c);
        membuf a;
        edgestt_diag d;
        int st = convert_to(dir, EDGESTT_TYPE_F32, &a, NULL, &d);
        if (st) {
            refused++;
            CHECKF(a.n == 0 && d.msg[0], "iteration %d: status %d, %zu bytes written", it, st, a.n);
        }
        free(a.b);
    }
    CHECK(refused > 0);
    free(img);
}
