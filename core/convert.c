/*
 * convert.c - edgestt_convert (see edgestt.h): any supported model input -> this project's GGUF,
 * optionally in shards, with a CRC-32 per tensor (key edgestt.crc32, u32 array in tensor order).
 *
 * Flow: map the input and list its tensors (OpenAI names, source type, dims, data) -> decide each
 * output type (policy + keep patterns) and place the tensors in shards (sizes are exact: the
 * header bytes are measured by running the header writer against a counting sink) -> per shard:
 * header with a zeroed CRC array, tensor data converted in chunks of CHUNK elements (same type:
 * copied byte for byte), then the CRC array patched.  Before anything is written the planned
 * output goes through the engine's binder (check_bindable), so convert never writes a file that
 * edgestt_open refuses.  Memory: one est_port_alloc for the tensor table and the chunk buffers
 * (and one, released at once, for the binding check).  Inputs are untrusted: the readers (gguf.c, ggml_bin.c' header,
 * the .bin record walk below) check every size and offset.
 */
#include "convert.h"

#include "../kernels/quant.h"
#include "../models/whisper.h"
#include "../port/port.h"
#include "crc32.h"
#include "gguf_write.h"
#include "mel.h"
#include "modeltable.h"

#define ALIGN 64
#define CHUNK 4096 /* elements per conversion step (a multiple of the 32-element block) */

/* ==== source block types (ggml layouts, read only) ======================================= */

/* Bytes of n elements of a source type, 0 if unknown or n not whole blocks. */
static uint64_t src_bytes(int type, uint64_t n) {
    switch (type) {
    case EST_SRC_BF16: return 2 * n;
    case EST_SRC_Q4_1: return n % 32 ? 0 : n / 32 * 20;
    case EST_SRC_Q5_0: return n % 32 ? 0 : n / 32 * 22;
    case EST_SRC_Q5_1: return n % 32 ? 0 : n / 32 * 24;
    default: return est_type_supported(type) ? est_type_row_bytes(type, n) : 0;
    }
}

/* Q4_1: {f16 d, f16 m, 16 nibble bytes}: x = q * d + m (low nibble j, high j + 16). */
static void deq_q4_1(const uint8_t *x, float *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 20, y += 32) {
        float d = est_f16_to_f32(est_rd_u16(x)), m = est_f16_to_f32(est_rd_u16(x + 2));
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(x[4 + j] & 0x0F) * d + m;
            y[j + 16] = (float)(x[4 + j] >> 4) * d + m;
        }
    }
}

/* Q5_0 / Q5_1: {f16 d, [f16 m,] u32 high bits, 16 nibble bytes}; 5-bit q = nibble | high bit << 4;
 * Q5_0: x = (q - 16) * d; Q5_1: x = q * d + m. */
static void deq_q5(const uint8_t *x, float *y, int64_t n, int with_m) {
    const size_t bs = with_m ? 24 : 22;
    for (int64_t b = 0; b < n / 32; b++, x += bs, y += 32) {
        float d = est_f16_to_f32(est_rd_u16(x)), m = with_m ? est_f16_to_f32(est_rd_u16(x + 2)) : 0.0f;
        const uint8_t *h = x + (with_m ? 4 : 2);
        uint32_t qh = est_rd_u32(h);
        const uint8_t *qs = h + 4;
        for (int j = 0; j < 16; j++) {
            int x0 = (qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10);
            int x1 = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
            if (with_m) {
                y[j] = (float)x0 * d + m;
                y[j + 16] = (float)x1 * d + m;
            } else {
                y[j] = (float)(x0 - 16) * d;
                y[j + 16] = (float)(x1 - 16) * d;
            }
        }
    }
}

int est_convert_to_f32(int type, const uint8_t *x, float *y, int64_t n) {
    switch (type) {
    case EST_SRC_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint32_t u = (uint32_t)est_rd_u16(x + 2 * i) << 16;
            memcpy(&y[i], &u, 4);
        }
        return EDGESTT_OK;
    case EST_SRC_Q4_1: deq_q4_1(x, y, n); return EDGESTT_OK;
    case EST_SRC_Q5_0: deq_q5(x, y, n, 0); return EDGESTT_OK;
    case EST_SRC_Q5_1: deq_q5(x, y, n, 1); return EDGESTT_OK;
    case EDGESTT_TYPE_F32: memcpy(y, x, (size_t)n * 4); return EDGESTT_OK;
    default: return est_dequantize_row(type, x, y, n);
    }
}

/* f32 -> an output type (n a multiple of 32 for the block types). */
static void from_f32(int type, const float *x, uint8_t *y, int64_t n) {
    switch (type) {
    case EDGESTT_TYPE_F32: memcpy(y, x, (size_t)n * 4); break;
    case EDGESTT_TYPE_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = est_f32_to_f16(x[i]);
            memcpy(y + 2 * i, &h, 2);
        }
        break;
    case EDGESTT_TYPE_Q8_0: est_quantize_row_q8_0_ref(x, y, n); break;
    default: est_quantize_row_q4_0_ref(x, y, n); break;
    }
}

/* ==== keep patterns ====================================================================== */

/* Glob with '*' only, over name[0..n). */
static int glob(const char *p, size_t pn, const char *s, size_t sn) {
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
    while (si < sn) {
        if (pi < pn && p[pi] == '*') star = pi++, mark = si;
        else if (pi < pn && p[pi] == s[si]) pi++, si++;
        else if (star != (size_t)-1) pi = star + 1, si = ++mark;
        else return 0;
    }
    while (pi < pn && p[pi] == '*') pi++;
    return pi == pn;
}

static int parse_type(const char *s, size_t n) {
    static const int types[] = {EDGESTT_TYPE_F32, EDGESTT_TYPE_F16, EDGESTT_TYPE_Q8_0, EDGESTT_TYPE_Q4_0};
    for (int i = 0; i < 4; i++) {
        const char *nm = edgestt_type_name(types[i]);
        if (strlen(nm) == n && !memcmp(nm, s, n)) return types[i];
    }
    return -1;
}

/* Output type of tensor t: keep patterns, else the policy; validated against what the engine loads. */
static int out_type(const edgestt_convert_params *p, const est_conv_tensor *t, int *type, edgestt_diag *diag) {
    size_t len = strlen(t->name);
    int cls = est_modeltable_class(t->name, len);
    int ty = est_modeltable_policy(cls, p->type);
    for (int i = 0; i < p->n_keep; i++) {
        const char *k = p->keep[i], *eq = k ? strrchr(k, '=') : NULL;
        int kt = eq ? parse_type(eq + 1, strlen(eq + 1)) : -1;
        if (kt < 0) return est_diag(diag, EDGESTT_E_INVALID_ARG, "convert: keep '%s' is not PATTERN=TYPE", k ? k : "");
        if (glob(k, (size_t)(eq - k), t->name, len)) {
            ty = kt;
            break;
        }
    }
    if ((cls == EST_TC_F32 && ty != EDGESTT_TYPE_F32) ||
        (cls == EST_TC_CONV && ty != EDGESTT_TYPE_F32 && ty != EDGESTT_TYPE_F16))
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "convert: tensor '%s' cannot be %s (the engine loads it as %s)",
                        t->name, edgestt_type_name(ty), cls == EST_TC_F32 ? "f32" : "f32 or f16");
    if ((ty == EDGESTT_TYPE_Q8_0 || ty == EDGESTT_TYPE_Q4_0) && t->ne[0] % 32)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "convert: tensor '%s' rows of %lld cannot be %s", t->name,
                        (long long)t->ne[0], edgestt_type_name(ty));
    *type = ty;
    return EDGESTT_OK;
}

/* ==== the writer ========================================================================= */

typedef struct wctx {
    edgestt_sink_fn sink;   /* NULL: count only */
    void *user;
    int shard, n_shards;
} wctx;

static int sink_fn(void *ctx, uint64_t off, const void *data, size_t n) {
    wctx *c = (wctx *)ctx;
    if (!c->sink) return 0;
    return c->sink(c->user, c->shard, c->n_shards, off, data, n) ? EDGESTT_E_IO : 0;
}

static void kv_u32(est_gguw *w, const char *k, int v) { est_gguw_kv_u32(w, k, (uint32_t)v); }

/* One shard's header up to (and including) the padding before the data; *crc_at gets the offset of
 * the first CRC value. */
static void write_header(est_gguw *w, const est_conv *cv, int shard, int n_shards, int first, int count,
                         uint64_t *crc_at) {
    const est_whisper_hparams *hp = &cv->hp;
    const edgestt_special_tokens *st = &cv->st;
    const int full = shard == 0, split = n_shards > 1;
    uint64_t n_kv = 3 + (split ? 3 : 0) + (full ? 25 : 0);
    est_gguw_header(w, (uint64_t)count, n_kv);
    est_gguw_kv_str(w, "general.architecture", "whisper", 7);
    kv_u32(w, "general.alignment", ALIGN);
    if (full) {
        est_gguw_kv_str(w, "general.name", cv->name, strlen(cv->name));
        kv_u32(w, "general.file_type", est_modeltable_file_type(cv->type));
        const struct { const char *k; int v; } u[] = {
            {"whisper.n_vocab", hp->n_vocab}, {"whisper.n_mels", hp->n_mels},
            {"whisper.audio.n_ctx", hp->n_audio_ctx}, {"whisper.audio.n_state", hp->n_audio_state},
            {"whisper.audio.n_head", hp->n_audio_head}, {"whisper.audio.n_layer", hp->n_audio_layer},
            {"whisper.text.n_ctx", hp->n_text_ctx}, {"whisper.text.n_state", hp->n_text_state},
            {"whisper.text.n_head", hp->n_text_head}, {"whisper.text.n_layer", hp->n_text_layer},
            {"whisper.n_languages", st->n_languages},
            {"whisper.token.eot", st->eot}, {"whisper.token.sot", st->sot},
            {"whisper.token.translate", st->translate}, {"whisper.token.transcribe", st->transcribe},
            {"whisper.token.sot_lm", st->solm}, {"whisper.token.sot_prev", st->prev},
            {"whisper.token.no_speech", st->nosp}, {"whisper.token.no_timestamps", st->no_timestamps},
            {"whisper.token.timestamp_begin", st->timestamp_begin}, {"whisper.token.lang_first", st->lang_first},
        };
        for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) kv_u32(w, u[i].k, u[i].v);
        est_gguw_kv_str(w, "whisper.tokenizer.model", "gpt2", 4);
        est_gguw_kv_arr(w, "whisper.tokenizer.tokens", EST_GGUF_STRING, (uint64_t)hp->n_vocab);
        cv->vocab(cv, w);
    }
    if (split) {
        kv_u32(w, "split.no", shard);
        kv_u32(w, "split.count", n_shards);
        kv_u32(w, "split.tensors.count", cv->n_tensors);
    }
    est_gguw_kv_arr(w, "edgestt.crc32", EST_GGUF_U32, (uint64_t)count);
    *crc_at = w->pos;
    for (int i = 0; i < count; i++) est_gguw_u32(w, 0);
    uint64_t off = 0;
    for (int i = first; i < first + count; i++) {
        const est_conv_tensor *t = &cv->t[i];
        est_gguw_tensor_info(w, t->name, strlen(t->name), t->n_dims, t->ne, t->out_type, off);
        off = est_gguw_align_up(off + t->out_bytes, ALIGN);
    }
    est_gguw_pad(w, ALIGN);
}

/* Convert and write one tensor's data (CRC on the way). */
static void write_tensor(est_gguw *w, est_conv *cv, est_conv_tensor *t) {
    const int64_t n = est_file_tensor_nelem_ne(t->ne);
    uint32_t crc = 0;
    if (t->src_type == t->out_type) {
        crc = est_crc32(0, t->data, (size_t)t->out_bytes);
        est_gguw_bytes(w, t->data, (size_t)t->out_bytes);
    } else {
        for (int64_t i = 0; i < n && !w->status; i += CHUNK) {
            int64_t k = n - i < CHUNK ? n - i : CHUNK;
            const uint8_t *src = t->data + src_bytes(t->src_type, (uint64_t)i);
            est_convert_to_f32(t->src_type, src, cv->f32, k);
            from_f32(t->out_type, cv->f32, cv->outbuf, k);
            size_t nb = (size_t)src_bytes(t->out_type, (uint64_t)k);
            crc = est_crc32(crc, cv->outbuf, nb);
            est_gguw_bytes(w, cv->outbuf, nb);
        }
    }
    t->crc = crc;
    est_gguw_pad(w, ALIGN);
}

/* Bytes of one tensor info. */
static uint64_t info_bytes(const est_conv_tensor *t) { return 8 + strlen(t->name) + 4 + 8 * (uint64_t)t->n_dims + 12; }

/* Header bytes (to the data) of a shard holding count tensors from first. */
static uint64_t header_bytes(const est_conv *cv, int shard, int n_shards, int first, int count, uint64_t fixed0,
                             uint64_t fixed1) {
    uint64_t b = (shard == 0 ? fixed0 : fixed1) + 4 * (uint64_t)count + (n_shards > 1 ? 3 * (8 + 17 + 4 + 4) : 0);
    for (int i = first; i < first + count; i++) b += info_bytes(&cv->t[i]);
    return est_gguw_align_up(b, ALIGN);
}

/* Measured header bytes without tensors (split keys excluded, padded): shard 0 and the others.
 * header_bytes adds the per-tensor parts and the split keys on top: an upper bound within one
 * alignment step plus a few bytes, which is all the shard planning needs. */
static int measure_fixed(est_conv *cv, uint64_t *f0, uint64_t *f1) {
    wctx c = {NULL, NULL, 0, 1};
    est_gguw w;
    uint64_t at;
    for (int s = 0; s < 2; s++) {
        est_gguw_init(&w, sink_fn, &c);
        write_header(&w, cv, s, 1, 0, 0, &at);
        if (w.status) return w.status;
        *(s ? f1 : f0) = w.pos;
    }
    return EDGESTT_OK;
}

/* Assign shards: greedy in tensor order; returns the shard count. */
static int plan_shards(est_conv *cv, uint64_t limit, uint64_t f0, uint64_t f1, int n_shards) {
    int shard = 0, first = 0;
    uint64_t data = 0;
    for (int i = 0; i < cv->n_tensors; i++) {
        uint64_t tb = est_gguw_align_up(cv->t[i].out_bytes, ALIGN);
        uint64_t with = header_bytes(cv, shard, n_shards, first, i - first + 1, f0, f1) + data + tb;
        if (i > first && with > limit) {
            shard++;
            first = i;
            data = 0;
        }
        cv->t[i].shard = shard;
        data += tb;
    }
    return shard + 1;
}

/* The output as the engine will see it: every tensor through the engine's own binder (names,
 * shapes, output types, nothing missing or doubled), so a file convert writes is one that
 * edgestt_open accepts, and a damaged input is refused before anything reaches the sink. */
static int check_bindable(const est_conv *cv, edgestt_diag *diag) {
    const size_t n = (size_t)cv->n_tensors, na = (size_t)cv->hp.n_audio_layer, nt = (size_t)cv->hp.n_text_layer;
    const size_t b0 = est_gguw_align_up(n * sizeof(est_file_tensor), ALIGN);
    const size_t b1 = est_gguw_align_up(na * sizeof(est_whisper_enc_layer), ALIGN), b2 = nt * sizeof(est_whisper_dec_layer);
    uint8_t *m = (uint8_t *)est_port_alloc(b0 + b1 + b2 + 1); /* n < 2^20 tensors, <= 128 layers: no overflow */
    if (!m) return est_diag(diag, EDGESTT_E_NOMEM, "convert: cannot allocate the binding check");
    memset(m, 0, b0 + b1 + b2 + 1);
    est_file_tensor *ft = (est_file_tensor *)m;
    for (size_t i = 0; i < n; i++) {
        const est_conv_tensor *t = &cv->t[i];
        ft[i].name = t->name;
        ft[i].name_len = (uint32_t)strlen(t->name);
        ft[i].type = t->out_type;
        ft[i].n_dims = t->n_dims;
        memcpy(ft[i].ne, t->ne, sizeof ft[i].ne);
        ft[i].data = t->data ? t->data : m; /* bound-ness only: never read */
        ft[i].nbytes = (size_t)t->out_bytes;
    }
    est_whisper_weights w;
    est_whisper_probe pr;
    memset(&w, 0, sizeof w);
    memset(&pr, 0, sizeof pr);
    w.enc = (est_whisper_enc_layer *)(m + b0);
    w.dec = (est_whisper_dec_layer *)(m + b0 + b1);
    pr.format = EDGESTT_FORMAT_GGUF;
    pr.hp = cv->hp;
    pr.st = cv->st;
    int st = est_whisper_bind(&pr, ft, n, &w, diag);
    est_port_free(m);
    return st;
}

int est_convert_write(est_conv *cv, const edgestt_convert_params *p, edgestt_sink_fn sink, void *user,
                      edgestt_convert_report *rep, edgestt_diag *diag) {
    int st;
    uint64_t total = 0;
    for (int i = 0; i < cv->n_tensors; i++) {
        est_conv_tensor *t = &cv->t[i];
        if ((st = out_type(p, t, &t->out_type, diag)) != 0) return st;
        t->out_bytes = src_bytes(t->out_type, (uint64_t)est_file_tensor_nelem_ne(t->ne));
        total += est_gguw_align_up(t->out_bytes, ALIGN);
        if (rep) {
            rep->n_by_type[t->out_type & 15]++;
            if (t->src_type == EST_SRC_Q4_1 || t->src_type == EST_SRC_Q5_0 || t->src_type == EST_SRC_Q5_1)
                rep->n_requantized++;
        }
    }
    if ((st = check_bindable(cv, diag)) != 0) return st;
    uint64_t f0, f1;
    if ((st = measure_fixed(cv, &f0, &f1)) != 0) return est_diag(diag, st, "convert: header measure failed");
    uint64_t limit = p->shard_bytes ? p->shard_bytes : (total + f0 > EDGESTT_DEFAULT_SHARD_BYTES ? EDGESTT_DEFAULT_SHARD_BYTES : UINT64_MAX);
    /* the split keys change the header size; plan once as one file, then as shards if needed */
    int n_shards = plan_shards(cv, limit, f0, f1, 1);
    if (n_shards > 1) n_shards = plan_shards(cv, limit, f0, f1, n_shards);
    if (n_shards > 1) n_shards = plan_shards(cv, limit, f0, f1, n_shards);
    if (n_shards > 99999) return est_diag(diag, EDGESTT_E_LIMIT, "convert: %d shards (limit 99999)", n_shards);
    uint64_t bytes = 0;
    for (int s = 0, first = 0; s < n_shards; s++) {
        int count = 0;
        while (first + count < cv->n_tensors && cv->t[first + count].shard == s) count++;
        wctx c = {sink, user, s, n_shards};
        est_gguw w;
        uint64_t crc_at;
        est_gguw_init(&w, sink_fn, &c);
        write_header(&w, cv, s, n_shards, first, count, &crc_at);
        for (int i = first; i < first + count && !w.status; i++) write_tensor(&w, cv, &cv->t[i]);
        for (int i = 0; i < count && !w.status; i++) {
            uint32_t v = cv->t[first + i].crc;
            est_gguw_patch(&w, crc_at + 4 * (uint64_t)i, &v, 4);
        }
        if (w.status == EDGESTT_E_IO) return est_diag(diag, w.status, "convert: the output sink failed (shard %d)", s + 1);
        if (w.status) return est_diag(diag, w.status, "convert: writing shard %d failed", s + 1);
        bytes += w.pos;
        first += count;
    }
    if (rep) {
        rep->n_tensors = cv->n_tensors;
        rep->n_shards = n_shards;
        rep->bytes = bytes;
    }
    return EDGESTT_OK;
}

/* ==== shard names ======================================================================== */

edgestt_status edgestt_shard_name(const char *path, int no, int count, char *out, size_t cap) {
    if (!path || !out || no < 1 || count < no || count > 99999) return EDGESTT_E_INVALID_ARG;
    size_t n = strlen(path);
    if (count == 1) {
        if (n + 1 > cap) return EDGESTT_E_NOMEM;
        memcpy(out, path, n + 1);
        return EDGESTT_OK;
    }
    size_t stem = n >= 5 && !memcmp(path + n - 5, ".gguf", 5) ? n - 5 : n;
    if (stem + 21 > cap) return EDGESTT_E_NOMEM;
    memcpy(out, path, stem);
    char *o = out + stem;
    const int v[2] = {no, count};
    for (int k = 0; k < 2; k++) {
        memcpy(o, k ? "-of-" : "-", k ? 4 : 1);
        o += k ? 4 : 1;
        for (int d = 4, x = v[k]; d >= 0; d--, x /= 10) o[d] = (char)('0' + x % 10); /* %05d */
        o += 5;
    }
    memcpy(o, ".gguf", 6);
    return EDGESTT_OK;
}
