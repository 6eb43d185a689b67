/*
 * convert_input.c - the inputs of edgestt_convert: whisper.cpp .bin (incl. Q4_1/Q5_0/Q5_1 tensors,
 * which the engine does not load), GGUF (this schema), and Hugging Face checkpoints (convert_hf.c).
 * Each fills an est_conv (tensor list under OpenAI names, hparams, special tokens, a vocabulary
 * writer) over the mapped input; nothing is copied but names.
 */
#include "convert.h"

#include "../kernels/quant.h"
#include "../models/parakeet_bin.h"
#include "../port/port.h"
#include "mel.h"
#include "modeltable.h"
#include "tokenizer.h"

#define CHUNK 4096

void edgestt_convert_params_default(edgestt_convert_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->type = EDGESTT_TYPE_Q8_0;
}

/* Copy a name into a tensor slot (EDGESTT_E_LIMIT if too long). */
static int set_name(est_conv_tensor *t, const char *s, size_t n, edgestt_diag *diag) {
    if (n >= EST_CONV_NAME) return est_diag(diag, EDGESTT_E_LIMIT, "convert: tensor name of %zu bytes is too long", n);
    memcpy(t->name, s, n);
    t->name[n] = 0;
    return EDGESTT_OK;
}

/* The mel filter tensor: f32 [201, n_mels] at data. */
static void add_mel(est_conv *cv, const uint8_t *data) {
    est_conv_tensor *t = &cv->t[cv->n_tensors++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, "mel_filters", 12);
    t->src_type = EDGESTT_TYPE_F32;
    t->n_dims = 2;
    t->ne[0] = EST_MEL_N_BINS;
    t->ne[1] = cv->hp.n_mels;
    t->ne[2] = t->ne[3] = 1;
    t->data = data;
}

/* ==== .bin =============================================================================== */

/* Walk the tensor records from b->tensors_at; tab == NULL counts only (*n). */
static int bin_walk(const est_ggml_bin *b, est_conv *cv, uint64_t *n, edgestt_diag *diag) {
    size_t at = b->tensors_at, size = b->size;
    const uint8_t *d = b->data;
    uint64_t k = 0;
    while (at < size) {
        if (size - at < 12) return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: tensor record cut at byte %zu", at);
        int32_t n_dims = est_rd_i32(d + at), name_len = est_rd_i32(d + at + 4), type = est_rd_i32(d + at + 8);
        at += 12;
        if (n_dims < 1 || n_dims > 4 || name_len < 1 || name_len >= EST_CONV_NAME)
            return est_diag(diag, EDGESTT_E_FORMAT, "bin: tensor record %llu has %d dims, name of %d bytes",
                            (unsigned long long)k, n_dims, name_len);
        if (size - at < (size_t)n_dims * 4 + (size_t)name_len)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: tensor record %llu cut", (unsigned long long)k);
        int64_t ne[4] = {1, 1, 1, 1};
        uint64_t nel = 1;
        for (int i = 0; i < n_dims; i++) {
            ne[i] = est_rd_i32(d + at + 4 * (size_t)i);
            if (ne[i] < 1 || !est_mul_u64(nel, (uint64_t)ne[i], &nel))
                return est_diag(diag, EDGESTT_E_FORMAT, "bin: tensor record %llu has a bad dimension",
                                (unsigned long long)k);
        }
        at += (size_t)n_dims * 4;
        const char *name = (const char *)d + at;
        at += (size_t)name_len;
        uint64_t row = 0;
        switch (type) {
        case EDGESTT_TYPE_F32: case EDGESTT_TYPE_F16: case EDGESTT_TYPE_Q8_0: case EDGESTT_TYPE_Q4_0:
        case EST_SRC_Q4_1: case EST_SRC_Q5_0: case EST_SRC_Q5_1: break;
        default:
            return est_diag(diag, EDGESTT_E_UNSUPPORTED, "bin: tensor '%.*s' has type %d (f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1)",
                            name_len, name, type);
        }
        if (type != EDGESTT_TYPE_F32 && type != EDGESTT_TYPE_F16 && ne[0] % 32)
            return est_diag(diag, EDGESTT_E_FORMAT, "bin: tensor '%.*s' rows do not fill whole blocks", name_len, name);
        uint64_t nb;
        switch (type) {
        case EDGESTT_TYPE_F32: nb = nel * 4; break;
        case EDGESTT_TYPE_F16: nb = nel * 2; break;
        default:
            row = type == EDGESTT_TYPE_Q8_0 ? 34 : type == EDGESTT_TYPE_Q4_0 ? 18 : type == EST_SRC_Q4_1 ? 20
                  : type == EST_SRC_Q5_0 ? 22 : 24;
            nb = nel / 32 * row;
        }
        if (nel > ((uint64_t)1 << 40)) return est_diag(diag, EDGESTT_E_LIMIT, "bin: tensor '%.*s' is too large", name_len, name);
        if (nb > size - at)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "bin: tensor '%.*s' data cut by the end of the file", name_len, name);
        if (cv) {
            est_conv_tensor *t = &cv->t[cv->n_tensors++];
            memset(t, 0, sizeof *t);
            int st = set_name(t, name, (size_t)name_len, diag);
            if (st) return st;
            t->src_type = type;
            /* conv biases are stored (S, 1) in .bin: written as [S] */
            if (n_dims == 2 && ne[0] == 1 && est_modeltable_class(name, (size_t)name_len) == EST_TC_F32) {
                ne[0] = ne[1];
                ne[1] = 1;
                n_dims = 1;
            }
            t->n_dims = n_dims;
            memcpy(t->ne, ne, sizeof ne);
            t->data = d + at;
        }
        at += (size_t)nb;
        k++;
    }
    *n = k;
    return EDGESTT_OK;
}

/* .bin vocabulary: stored words GPT-2 encoded, [_extra_token_N] up to eot, special forms after. */
static void vocab_bin(const est_conv *cv, est_gguw *w) {
    const uint8_t *p = cv->words;
    uint8_t enc[2 * 256];
    char tmp[EST_TOK_MAX_FORM + 32];
    for (int id = 0; id < cv->hp.n_vocab; id++) {
        if (id < cv->st.eot) {
            const uint8_t *s;
            size_t n;
            if (id < cv->n_words) {
                n = est_rd_u32(p);
                s = p + 4;
                p += 4 + n;
            } else {
                n = est_fmt(tmp, sizeof tmp, "[_extra_token_%d]", id);
                s = (const uint8_t *)tmp;
            }
            /* GPT-2 form: each byte one or two bytes of UTF-8; the length first */
            size_t len = 0;
            for (size_t i = 0; i < n; i++) len += (size_t)est_gpt2_encode_byte(s[i], enc);
            est_gguw_u64(w, len);
            for (size_t i = 0; i < n;) {
                size_t k = 0;
                for (; i < n && k + 2 <= sizeof enc; i++) k += (size_t)est_gpt2_encode_byte(s[i], enc + k);
                est_gguw_bytes(w, enc, k);
            }
        } else {
            size_t n = est_tok_special_form(&cv->st, id, tmp);
            est_gguw_str(w, tmp, n);
        }
    }
}

/* ==== GGUF =============================================================================== */

/* GGUF vocabulary: the strings as stored. */
static void vocab_gguf(const est_conv *cv, est_gguw *w) {
    const uint8_t *p = cv->tok_first;
    for (int id = 0; id < cv->hp.n_vocab; id++) {
        const char *s;
        uint64_t n;
        if (!est_gguf_next_str(&p, cv->img_end, &s, &n)) {
            w->status = EDGESTT_E_INTERNAL;
            return;
        }
        est_gguw_str(w, s, (size_t)n);
    }
}

/* ==== the entry point ==================================================================== */

/* The one allocation: tensor table [n_t], chunk buffers, and extra bytes at *extra. */
static int alloc_conv(est_conv *cv, size_t n_t, size_t extra_bytes, void **block, uint8_t **extra, edgestt_diag *diag) {
    size_t tb, total;
    if (!est_mul(n_t, sizeof(est_conv_tensor), &tb) || !est_add(tb, 8 * CHUNK + 64, &total) ||
        !est_add(total, extra_bytes, &total))
        return est_diag(diag, EDGESTT_E_LIMIT, "convert: tables overflow size_t");
    uint8_t *m = (uint8_t *)est_port_alloc(total);
    if (!m) return est_diag(diag, EDGESTT_E_NOMEM, "convert: cannot allocate %zu bytes", total);
    *block = m;
    cv->t = (est_conv_tensor *)m;
    cv->f32 = (float *)(m + tb);
    cv->outbuf = m + tb + 4 * CHUNK;
    *extra = m + tb + 8 * CHUNK + 64;
    return EDGESTT_OK;
}

static void default_name(est_conv *cv, const edgestt_convert_params *p, const char *what, const char *s, size_t n) {
    if (p->name) est_fmt(cv->name, sizeof cv->name, "%s", p->name);
    else est_fmt(cv->name, sizeof cv->name, "%.*s (converted from %s to %s)", (int)(n > 80 ? 80 : n), s, what,
                 edgestt_type_name(p->type));
}

static int convert_bin(const est_map *m, const edgestt_convert_params *p, est_conv *cv, void **block,
                       edgestt_diag *diag) {
    est_ggml_bin b;
    int st = est_ggml_bin_scan_header(m->data, m->size, &b, diag);
    if (st) return st;
    est_whisper_hparams *hp = &cv->hp;
    hp->n_vocab = b.hp[EST_BIN_N_VOCAB];
    hp->n_audio_ctx = b.hp[EST_BIN_N_AUDIO_CTX];
    hp->n_audio_state = b.hp[EST_BIN_N_AUDIO_STATE];
    hp->n_audio_head = b.hp[EST_BIN_N_AUDIO_HEAD];
    hp->n_audio_layer = b.hp[EST_BIN_N_AUDIO_LAYER];
    hp->n_text_ctx = b.hp[EST_BIN_N_TEXT_CTX];
    hp->n_text_state = b.hp[EST_BIN_N_TEXT_STATE];
    hp->n_text_head = b.hp[EST_BIN_N_TEXT_HEAD];
    hp->n_text_layer = b.hp[EST_BIN_N_TEXT_LAYER];
    hp->n_mels = b.hp[EST_BIN_N_MELS];
    if ((st = est_whisper_check_hparams(hp, diag)) != 0) return st;
    if (b.mel_n_mel != hp->n_mels || b.mel_n_fft != EST_MEL_N_BINS)
        return est_diag(diag, EDGESTT_E_FORMAT, "bin: mel filters are %d x %d", b.mel_n_mel, b.mel_n_fft);
    if ((st = est_whisper_derive_special(hp->n_vocab, &cv->st, diag)) != 0) return st;
    uint64_t n;
    if ((st = bin_walk(&b, NULL, &n, diag)) != 0) return st;
    if (n >= (1u << 20)) return est_diag(diag, EDGESTT_E_LIMIT, "bin: %llu tensors", (unsigned long long)n);
    uint8_t *extra;
    if ((st = alloc_conv(cv, (size_t)n + 1, 0, block, &extra, diag)) != 0) return st;
    add_mel(cv, b.mel);
    if ((st = bin_walk(&b, cv, &n, diag)) != 0) return st;
    cv->words = b.words;
    cv->words_bytes = b.words_bytes;
    cv->n_words = b.n_words;
    cv->vocab = vocab_bin;
    default_name(cv, p, "ggml .bin", "whisper", 7);
    return EDGESTT_OK;
}

static int convert_gguf(const est_map *m, const edgestt_convert_params *p, est_conv *cv, void **block,
                        edgestt_diag *diag) {
    est_whisper_probe pr;
    int st = est_whisper_probe_image(m->data, m->size, &pr, diag);
    if (st) return st;
    size_t n_kv, n_t, kvb, ftb, extra_bytes;
    if ((st = est_gguf_table_counts(&pr.gguf, &n_kv, &n_t)) != 0) return est_diag(diag, st, "gguf: tables overflow");
    if (!est_mul(n_kv, sizeof(est_gguf_kv), &kvb) || !est_mul(n_t, sizeof(est_file_tensor), &ftb) ||
        !est_add(kvb + 64, ftb, &extra_bytes))
        return est_diag(diag, EDGESTT_E_LIMIT, "gguf: tables overflow");
    uint8_t *extra;
    if ((st = alloc_conv(cv, n_t, extra_bytes, block, &extra, diag)) != 0) return st;
    est_gguf_kv *kv = (est_gguf_kv *)extra;
    est_file_tensor *ft = (est_file_tensor *)(extra + est_gguw_align_up(kvb, 64));
    est_gguf g;
    if ((st = est_gguf_fill(m->data, m->size, &pr.gguf, kv, ft, &g, diag)) != 0) return st;
    uint32_t split = 1;
    if (est_gguf_get_u32(kv, n_kv, "split.count", &split, NULL) == 0 && split > 1)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "convert: a sharded GGUF input is not supported (open it instead)");
    cv->hp = pr.hp;
    cv->st = pr.st;
    for (size_t i = 0; i < n_t; i++) {
        est_conv_tensor *t = &cv->t[cv->n_tensors++];
        memset(t, 0, sizeof *t);
        if ((st = set_name(t, ft[i].name, ft[i].name_len, diag)) != 0) return st;
        t->src_type = ft[i].type;
        t->n_dims = ft[i].n_dims;
        memcpy(t->ne, ft[i].ne, sizeof t->ne);
        t->data = ft[i].data;
    }
    cv->tok_first = pr.tokens;
    cv->img_end = m->data + m->size;
    cv->vocab = vocab_gguf;
    const char *nm = "whisper";
    size_t nl = 7;
    est_gguf_get_str(kv, n_kv, "general.name", &nm, &nl, NULL);
    default_name(cv, p, "gguf", nm, nl);
    return EDGESTT_OK;
}

edgestt_status edgestt_convert(const char *in_path, const edgestt_convert_params *params, edgestt_sink_fn sink,
                               void *user, edgestt_convert_report *report, edgestt_diag *diag) {
    if (!in_path || !params || !sink) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL argument");
    if (!est_type_supported(params->type) || params->n_keep < 0 || (params->n_keep && !params->keep))
        return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "convert: bad type or keep list");
    if (report) memset(report, 0, sizeof *report);
    est_conv cv;
    memset(&cv, 0, sizeof cv);
    cv.type = params->type;
    void *block = NULL;
    est_map m;
    int st = est_port_map_file(in_path, &m, diag);
    if (st) return (edgestt_status)est_convert_hf(in_path, params, sink, user, report, diag);
    if (est_convert_pk_detect(m.data, m.size)) { /* a Parakeet GGUF: its own writer (core/convert_pk.c) */
        st = est_convert_pk_gguf(m.data, m.size, params, sink, user, report, diag);
        est_port_unmap(&m);
        return (edgestt_status)st;
    } else if (m.size >= 4 && est_rd_u32(m.data) == EST_GGUF_MAGIC) {
        if (report) report->input = EDGESTT_INPUT_GGUF;
        st = convert_gguf(&m, params, &cv, &block, diag);
    } else if (m.size >= 4 && est_rd_u32(m.data) == EST_GGML_MAGIC && est_pkbin_detect(m.data, m.size)) {
        if (report) report->input = EDGESTT_INPUT_GGML_BIN; /* whisper.cpp's Parakeet .bin: its own writer */
        st = est_pkbin_convert(m.data, m.size, params, sink, user, report, diag);
        est_port_unmap(&m);
        return (edgestt_status)st;
    } else if (m.size >= 4 && est_rd_u32(m.data) == EST_GGML_MAGIC) {
        if (report) report->input = EDGESTT_INPUT_GGML_BIN;
        st = convert_bin(&m, params, &cv, &block, diag);
    } else if (m.size < 4) {
        st = est_diag(diag, EDGESTT_E_TRUNCATED, "convert: %s is too short to be a model", in_path);
    } else {
        est_port_unmap(&m);
        return (edgestt_status)est_convert_hf(in_path, params, sink, user, report, diag);
    }
    if (!st) st = est_convert_write(&cv, params, sink, user, report, diag);
    est_port_free(block);
    est_port_unmap(&m);
    return (edgestt_status)st;
}
