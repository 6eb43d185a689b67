/*
 * parakeet_bin.c - whisper.cpp's Parakeet .bin layout into an est_pk_model (see parakeet_bin.h and
 * models/parakeet-bin.md).
 *
 * Invariants: scan() validates the header, the filter bank, window, durations, vocabulary and every
 * tensor record (n_dims 0..4, name, type f32/f16/q8_0/q4_0, data inside the image) before anything
 * is bound; build() runs twice with the same code, once on a measuring arena (sizes only, nothing
 * written) and once placing, so the plan and the placement cannot disagree.  Tensors are found by
 * walking the records (at most PKB_MAX_TENSORS of them), so no table is kept.  Semantics the file
 * cannot say follow the peer: hop 160, pre-emphasis 0.97, no xscaling, d_ff = 4 d.  Every record
 * but num_batches_tracked must be bound exactly once.  est_pkbin_convert re-writes the image as this
 * project's parakeet GGUF through a sink (fixed stack buffers, no allocation).
 */
#include "../core/crc32.h"
#include "../core/ggml_bin.h"
#include "../core/gguf_write.h"
#include "../kernels/conv.h"
#include "../kernels/quant.h"
#include "parakeet_bin.h"

#define PKB_N_HP 15
#define PKB_MAX_TENSORS 8192
#define PKB_MAX_NAME 256

enum { /* header fields after the magic */
    H_VOCAB, H_CTX, H_D, H_HEADS, H_LAYERS, H_MELS, H_FTYPE, H_FFT, H_SUB, H_CHANNELS, H_KERNEL, H_PRED, H_PRED_LAYERS,
    H_DUR, H_MAX_SYM
};

typedef struct pkb_hdr {
    const uint8_t *base;
    size_t size;
    int32_t hp[PKB_N_HP];
    const uint8_t *fb;      /* [n_mels][n_fft/2 + 1] f32, unaligned */
    const uint8_t *window;  /* [n_window] f32, unaligned */
    int32_t n_window;
    const uint8_t *dur;     /* [n_dur] u32 */
    int32_t n_words;
    const uint8_t *words;   /* first u32 length + bytes record */
    size_t words_bytes;
    size_t tensors_at;
    uint64_t n_tensors;
    uint64_t n_unused;      /* records nothing binds (num_batches_tracked) */
} pkb_hdr;

/* ================================================================ scan ===================== */

int est_pkbin_detect(const void *image, size_t size) {
    const uint8_t *p = (const uint8_t *)image;
    if (!image || size < 72 || est_rd_u32(p) != EST_GGML_MAGIC) return 0;
    const int32_t mels = est_rd_i32(p + 4 + 4 * H_MELS), fft = est_rd_i32(p + 4 + 4 * H_FFT);
    return est_rd_i32(p + 4 + 4 * H_SUB) == 8 && fft > 0 && est_rd_i32(p + 64) == mels &&
           est_rd_i32(p + 68) == fft / 2 + 1;
}

/* Parse the tensor record at *pos into t and advance *pos past its data. */
static int next_record(const pkb_hdr *h, size_t *pos, uint64_t idx, est_file_tensor *t, edgestt_diag *diag) {
    const uint8_t *b = h->base;
    const size_t size = h->size, at = *pos;
    if (size - at < 12)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "pkbin: file ends inside tensor record %llu at byte %zu",
                        (unsigned long long)idx, at);
    const int32_t n_dims = est_rd_i32(b + at), name_len = est_rd_i32(b + at + 4), type = est_rd_i32(b + at + 8);
    if (n_dims < 0 || n_dims > EST_MAX_DIMS || name_len < 1 || name_len > PKB_MAX_NAME)
        return est_diag(diag, EDGESTT_E_FORMAT, "pkbin: tensor record %llu at byte %zu has %d dims, a %d-byte name",
                        (unsigned long long)idx, at, (int)n_dims, (int)name_len);
    const size_t hdr = (size_t)n_dims * 4 + (size_t)name_len;
    if (size - at - 12 < hdr)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "pkbin: file ends inside tensor record %llu at byte %zu",
                        (unsigned long long)idx, at);
    memset(t, 0, sizeof *t);
    t->name = (const char *)(b + at + 12 + (size_t)n_dims * 4);
    t->name_len = (uint32_t)name_len;
    t->type = type;
    t->n_dims = n_dims ? n_dims : 1; /* a 0-dim record (batch_norm.num_batches_tracked) is one element */
    for (int i = 0; i < EST_MAX_DIMS; i++) t->ne[i] = i < n_dims ? est_rd_i32(b + at + 12 + 4 * (size_t)i) : 1;
    int st = est_file_tensor_size(type, t->n_dims, t->ne, &t->nbytes);
    if (st)
        return est_diag(diag, st, "pkbin: tensor '%.*s' has type %d / shape [%lld %lld %lld %lld] not supported",
                        (int)name_len, t->name, (int)type, (long long)t->ne[0], (long long)t->ne[1],
                        (long long)t->ne[2], (long long)t->ne[3]);
    const size_t data_at = at + 12 + hdr;
    if (t->nbytes > size - data_at)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "pkbin: tensor '%.*s' needs %zu bytes at byte %zu, %zu left",
                        (int)name_len, t->name, t->nbytes, data_at, size - data_at);
    t->data = b + data_at;
    *pos = data_at + t->nbytes;
    return EDGESTT_OK;
}

static int conv_skip(const est_file_tensor *t);

/* Header, front-end tables, vocabulary, then every tensor record; hparams within the limits the
 * kernels rely on. */
static int scan(const void *image, size_t size, pkb_hdr *h, edgestt_diag *diag) {
    memset(h, 0, sizeof *h);
    const uint8_t *p = (const uint8_t *)image;
    if (!image) return est_diag(diag, EDGESTT_E_INVALID_ARG, "pkbin: no data");
    if (size < 4 || est_rd_u32(p) != EST_GGML_MAGIC) return est_diag(diag, EDGESTT_E_FORMAT, "pkbin: bad magic");
    if (size < 4 + 4 * PKB_N_HP + 8)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "pkbin: file of %zu bytes ends inside the header", size);
    for (int i = 0; i < PKB_N_HP; i++) h->hp[i] = est_rd_i32(p + 4 + 4 * i);
    const int32_t *v = h->hp;
    const int32_t ftype = v[H_FTYPE] % EST_GGML_QNT_VERSION_FACTOR;
    if (v[H_VOCAB] < 1 || v[H_VOCAB] > (1 << 20) || v[H_D] < 1 || v[H_D] > 65536 || v[H_HEADS] < 1 ||
        v[H_HEADS] > 1024 || v[H_D] % v[H_HEADS] || v[H_LAYERS] < 1 || v[H_LAYERS] > EST_PK_MAX_LAYERS ||
        v[H_MELS] < 1 || v[H_MELS] > 1024 || v[H_FFT] < 2 || v[H_FFT] > 4096 || (v[H_FFT] & (v[H_FFT] - 1)) ||
        v[H_SUB] != 8 || v[H_CHANNELS] < 1 || v[H_CHANNELS] > 65536 || v[H_KERNEL] < 1 || v[H_KERNEL] > 1023 ||
        v[H_KERNEL] % 2 == 0 || v[H_PRED] < 1 || v[H_PRED] > 65536 || v[H_PRED_LAYERS] < 1 ||
        v[H_PRED_LAYERS] > EST_PK_MAX_LSTM || v[H_DUR] < 0 || v[H_DUR] > EST_PK_MAX_DUR || v[H_MAX_SYM] < 1 ||
        v[H_MAX_SYM] > 1000 || ftype < 0)
        return est_diag(diag, EDGESTT_E_FORMAT,
                        "pkbin: bad header (vocab %d, d %d, heads %d, layers %d, mels %d, n_fft %d, subsampling %d, "
                        "channels %d, kernel %d, pred %d x %d, durations %d, max_symbols %d, ftype %d)",
                        v[H_VOCAB], v[H_D], v[H_HEADS], v[H_LAYERS], v[H_MELS], v[H_FFT], v[H_SUB], v[H_CHANNELS],
                        v[H_KERNEL], v[H_PRED_LAYERS], v[H_PRED], v[H_DUR], v[H_MAX_SYM], v[H_FTYPE]);
    size_t pos = 4 + 4 * PKB_N_HP;
    const int32_t n_mel = est_rd_i32(p + pos), n_fb = est_rd_i32(p + pos + 4);
    pos += 8;
    if (n_mel != v[H_MELS] || n_fb != v[H_FFT] / 2 + 1)
        return est_diag(diag, EDGESTT_E_FORMAT, "pkbin: filter bank %d x %d, the header says %d x %d", (int)n_mel,
                        (int)n_fb, v[H_MELS], v[H_FFT] / 2 + 1);
    const size_t fb_bytes = (size_t)n_mel * (size_t)n_fb * 4; /* < 2^10 * 2^12 * 4 */
    if (size - pos < fb_bytes + 4)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "pkbin: file ends inside the filter bank");
    h->fb = p + pos;
    pos += fb_bytes;
    h->n_window = est_rd_i32(p + pos);
    pos += 4;
    if (h->n_window < 1 || h->n_window > v[H_FFT])
        return est_diag(diag, EDGESTT_E_FORMAT, "pkbin: window of %d samples (1..n_fft %d)", (int)h->n_window, v[H_FFT]);
    if (size - pos < (size_t)h->n_window * 4 + (size_t)v[H_DUR] * 4 + 4)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "pkbin: file ends inside the window or the durations");
    h->window = p + pos;
    pos += (size_t)h->n_window * 4;
    h->dur = p + pos;
    for (int i = 0; i < v[H_DUR]; i++) {
        const uint32_t d = est_rd_u32(h->dur + 4 * (size_t)i);
        if (d > 64) return est_diag(diag, EDGESTT_E_FORMAT, "pkbin: duration %d is %u (0..64)", i, (unsigned)d);
    }
    pos += (size_t)v[H_DUR] * 4;
    h->n_words = est_rd_i32(p + pos);
    pos += 4;
    if (h->n_words != v[H_VOCAB])
        return est_diag(diag, EDGESTT_E_FORMAT, "pkbin: %d vocabulary pieces, the header says %d", (int)h->n_words,
                        v[H_VOCAB]);
    h->words = p + pos;
    for (int32_t i = 0; i < h->n_words; i++) {
        if (size - pos < 4) return est_diag(diag, EDGESTT_E_TRUNCATED, "pkbin: file ends inside vocabulary piece %d", (int)i);
        const uint32_t len = est_rd_u32(p + pos);
        pos += 4;
        if (len > size - pos)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "pkbin: vocabulary piece %d of %u bytes runs past the end",
                            (int)i, (unsigned)len);
        pos += len;
    }
    h->words_bytes = pos - (size_t)(h->words - p);
    h->base = p;
    h->size = size;
    h->tensors_at = pos;
    est_file_tensor t;
    while (pos < size) {
        if (h->n_tensors >= PKB_MAX_TENSORS)
            return est_diag(diag, EDGESTT_E_LIMIT, "pkbin: more than %d tensor records", PKB_MAX_TENSORS);
        int st = next_record(h, &pos, h->n_tensors, &t, diag);
        if (st) return st;
        h->n_tensors++;
        h->n_unused += conv_skip(&t);
    }
    if (!h->n_tensors) return est_diag(diag, EDGESTT_E_FORMAT, "pkbin: the file has no tensors");
    return EDGESTT_OK;
}

/* The record named name (scan() validated every record), or NULL. */
static int find(const pkb_hdr *h, const char *name, est_file_tensor *t) {
    size_t pos = h->tensors_at;
    for (uint64_t i = 0; i < h->n_tensors; i++) {
        if (next_record(h, &pos, i, t, NULL)) return 0;
        if (est_file_tensor_is(t, name)) return 1;
    }
    return 0;
}

/* ================================================================ binding ================== */

typedef struct pkb_ctx {
    const pkb_hdr *h;
    est_arena *a;
    edgestt_diag *diag;
    uint64_t bound;   /* records bound so far (each name once) */
} pkb_ctx;

/* nelem f32 values from the unaligned src into a fresh aligned block of the handle. */
static int copy_f32(pkb_ctx *c, const uint8_t *src, size_t nelem, const float **out) {
    void *dst;
    int st = est_arena_array(c->a, nelem, 4, &dst);
    if (st) return est_diag(c->diag, st, "pkbin: the handle block is too small");
    if (!est_arena_measuring(c->a)) memcpy(dst, src, nelem * 4);
    *out = (const float *)dst;
    return EDGESTT_OK;
}

/* An F32 tensor of exactly nelem elements, copied aligned (NULL if absent and not required). */
static int vec(pkb_ctx *c, const char *name, int64_t nelem, int required, const float **out) {
    est_file_tensor t;
    *out = NULL;
    if (!find(c->h, name, &t))
        return required ? est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor '%s' is missing", name) : EDGESTT_OK;
    c->bound++;
    if (t.type != EDGESTT_TYPE_F32)
        return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor '%s' must be F32 (type %d)", name, (int)t.type);
    if (est_file_tensor_nelem(&t) != nelem)
        return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor '%s' has %lld elements, want %lld", name,
                        (long long)est_file_tensor_nelem(&t), (long long)nelem);
    return copy_f32(c, t.data, (size_t)nelem, out);
}

/* A weight [n][k] in place (any kernel type; leading dims holding k, trailing ones n) into L. */
static int weight(pkb_ctx *c, const char *name, int n, int k, est_pk_linear *L, est_file_tensor *t) {
    if (!find(c->h, name, t)) return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor '%s' is missing", name);
    c->bound++;
    if (est_wt_index(t->type) < 0)
        return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor '%s' has unsupported type %d", name, (int)t->type);
    int ok = 0;
    int64_t inner = 1;
    for (int s = 1; s <= EST_MAX_DIMS && !ok; s++) {
        inner *= t->ne[s - 1];
        int64_t outer = 1;
        for (int d = s; d < EST_MAX_DIMS; d++) outer *= t->ne[d];
        if (inner == k && outer == n && (s == 1 || !est_type_is_quant(t->type))) ok = 1;
    }
    if (!ok)
        return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor '%s' is [%lld %lld %lld %lld], want %d x %d", name,
                        (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], n, k);
    L->type = t->type, L->n = n, L->k = k, L->w = t->data, L->b = NULL;
    L->stride = est_type_row_bytes(t->type, (uint64_t)k);
    if (!L->stride) return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor '%s' rows do not fill blocks", name);
    return EDGESTT_OK;
}

/* prefix.weight in place and prefix.bias (copied; required or optional). */
static int lin(pkb_ctx *c, const char *prefix, int n, int k, int bias_required, est_pk_linear *L) {
    char name[PKB_MAX_NAME];
    est_file_tensor t;
    est_fmt(name, sizeof name, "%s.weight", prefix);
    int st = weight(c, name, n, k, L, &t);
    est_fmt(name, sizeof name, "%s.bias", prefix);
    return st ? st : vec(c, name, n, bias_required, &L->b);
}

static int norm(pkb_ctx *c, const char *prefix, int d, est_pk_norm *nm) {
    char name[PKB_MAX_NAME];
    est_fmt(name, sizeof name, "%s.weight", prefix);
    int st = vec(c, name, d, 1, &nm->g);
    est_fmt(name, sizeof name, "%s.bias", prefix);
    return st ? st : vec(c, name, d, 1, &nm->b);
}

/* One LSTM layer: the peer stores the 4 gate blocks of weight_ih/weight_hh/bias_h as i, f, o, g;
 * parakeet.c computes i, f, g, o, so the blocks are copied swapped (type kept, rows whole).  The
 * peer folded bias_ih into bias_h: it goes to lstm_hh, lstm_ih has none. */
static int lstm(pkb_ctx *c, int l, int P, est_pk_linear *Li, est_pk_linear *Lh) {
    static const int from[4] = {0, 1, 3, 2}; /* destination block -> file block */
    char name[PKB_MAX_NAME];
    est_file_tensor t;
    for (int w = 0; w < 2; w++) {
        est_pk_linear *L = w ? Lh : Li;
        est_fmt(name, sizeof name, "decoder.prediction.dec_rnn.lstm.weight_%s_l%d", w ? "hh" : "ih", l);
        int st = weight(c, name, 4 * P, P, L, &t);
        if (st) return st;
        const size_t block = L->stride * (size_t)P; /* P rows; 4 blocks = t.nbytes (checked by weight()) */
        void *dst;
        if ((st = est_arena_alloc(c->a, 4 * block, &dst)) != 0) return est_diag(c->diag, st, "pkbin: handle too small");
        if (!est_arena_measuring(c->a))
            for (int g = 0; g < 4; g++)
                memcpy((uint8_t *)dst + (size_t)g * block, t.data + (size_t)from[g] * block, block);
        L->w = dst;
    }
    est_fmt(name, sizeof name, "decoder.prediction.dec_rnn.lstm.bias_h_l%d", l);
    if (!find(c->h, name, &t) || t.type != EDGESTT_TYPE_F32 || est_file_tensor_nelem(&t) != 4 * (int64_t)P)
        return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor '%s' missing or not %d F32 values", name, 4 * P);
    c->bound++;
    void *dst;
    int st = est_arena_array(c->a, 4 * (size_t)P, 4, &dst);
    if (st) return est_diag(c->diag, st, "pkbin: handle too small");
    if (!est_arena_measuring(c->a))
        for (int g = 0; g < 4; g++)
            memcpy((float *)dst + (size_t)g * P, t.data + (size_t)from[g] * P * 4, (size_t)P * 4);
    Lh->b = (const float *)dst;
    Li->b = NULL;
    return EDGESTT_OK;
}

/* Hyper-parameters: the header, plus what the peer fixes (hop 160, pre-emphasis 0.97, no xscaling)
 * and the joint width from joint.enc.weight. */
static int derive(pkb_ctx *c, est_pk_hparams *hp) {
    const int32_t *v = c->h->hp;
    memset(hp, 0, sizeof *hp);
    hp->sample_rate = 16000, hp->n_mels = v[H_MELS], hp->n_fft = v[H_FFT], hp->win_length = c->h->n_window;
    hp->hop_length = 160, hp->preemph = 0.97f;
    hp->d_model = v[H_D], hp->n_heads = v[H_HEADS], hp->n_layers = v[H_LAYERS], hp->d_ff = 4 * v[H_D];
    hp->conv_kernel = v[H_KERNEL], hp->sub_channels = v[H_CHANNELS], hp->sub_factor = 8, hp->xscaling = 0;
    hp->pred_hidden = v[H_PRED], hp->pred_layers = v[H_PRED_LAYERS], hp->n_vocab = v[H_VOCAB];
    hp->n_dur = v[H_DUR], hp->max_symbols = v[H_MAX_SYM];
    for (int i = 0; i < hp->n_dur; i++) hp->durations[i] = (int)est_rd_u32(c->h->dur + 4 * (size_t)i);
    est_file_tensor t;
    if (!find(c->h, "joint.enc.weight", &t))
        return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: tensor 'joint.enc.weight' is missing");
    const int64_t J = est_file_tensor_nelem(&t) / hp->d_model;
    if (J < 1 || J > 65536) return est_diag(c->diag, EDGESTT_E_FORMAT, "pkbin: joint width %lld", (long long)J);
    hp->joint_hidden = (int)J;
    return EDGESTT_OK;
}

/* Reserve (measuring) or place and bind (placing) the whole handle. */
static int build(pkb_ctx *c, const est_kernels *kt, est_pk_model **out) {
    est_pk_model mm, *m = NULL;
    est_pk_layer dummy, *layers = NULL;
    memset(&mm, 0, sizeof mm);
    int st = derive(c, &mm.hp);
    if (st) return st;
    const est_pk_hparams *hp = &mm.hp;
    const int d = hp->d_model, C = hp->sub_channels, P = hp->pred_hidden, J = hp->joint_hidden;
    const int f3 = est_conv_s2_out(est_conv_s2_out(est_conv_s2_out(hp->n_mels)));
    if ((st = est_arena_alloc(c->a, sizeof *m, (void **)&m)) != 0 ||
        (st = est_arena_array(c->a, (size_t)hp->n_layers, sizeof *layers, (void **)&layers)) != 0)
        return est_diag(c->diag, st, "pkbin: the handle block is too small");
    const int measuring = est_arena_measuring(c->a);
    mm.kt = kt;
    mm.layers = layers;
    st = copy_f32(c, c->h->fb, (size_t)hp->n_mels * (size_t)(hp->n_fft / 2 + 1), &mm.fb);
    if (!st) st = copy_f32(c, c->h->window, (size_t)hp->win_length, &mm.window);
    if (!st) st = vec(c, "encoder.pre_encode.conv.0.weight", (int64_t)C * 9, 1, &mm.sub0_w);
    if (!st) st = vec(c, "encoder.pre_encode.conv.0.bias", C, 0, &mm.sub0_b);
    if (!st) st = vec(c, "encoder.pre_encode.conv.2.weight", (int64_t)C * 9, 1, &mm.sub2_w);
    if (!st) st = vec(c, "encoder.pre_encode.conv.2.bias", C, 0, &mm.sub2_b);
    if (!st) st = lin(c, "encoder.pre_encode.conv.3", C, C, 0, &mm.sub3);
    if (!st) st = vec(c, "encoder.pre_encode.conv.5.weight", (int64_t)C * 9, 1, &mm.sub5_w);
    if (!st) st = vec(c, "encoder.pre_encode.conv.5.bias", C, 0, &mm.sub5_b);
    if (!st) st = lin(c, "encoder.pre_encode.conv.6", C, C, 0, &mm.sub6);
    if (!st) st = lin(c, "encoder.pre_encode.out", d, C * f3, 0, &mm.sub_out);
    for (int i = 0; i < hp->n_layers && !st; i++) {
        est_pk_layer *L = measuring ? &dummy : &layers[i];
        char pre[PKB_MAX_NAME];
        memset(L, 0, sizeof *L);
#define P_(fmt) (est_fmt(pre, sizeof pre, "encoder.layers.%d." fmt, i), pre)
        st = norm(c, P_("norm_feed_forward1"), d, &L->ln_ff1);
        if (!st) st = lin(c, P_("feed_forward1.linear1"), hp->d_ff, d, 0, &L->ff1_1);
        if (!st) st = lin(c, P_("feed_forward1.linear2"), d, hp->d_ff, 0, &L->ff1_2);
        if (!st) st = norm(c, P_("norm_self_att"), d, &L->ln_att);
        if (!st) st = lin(c, P_("self_attn.linear_q"), d, d, 0, &L->q);
        if (!st) st = lin(c, P_("self_attn.linear_k"), d, d, 0, &L->k);
        if (!st) st = lin(c, P_("self_attn.linear_v"), d, d, 0, &L->v);
        if (!st) st = lin(c, P_("self_attn.linear_out"), d, d, 0, &L->o);
        if (!st) st = lin(c, P_("self_attn.linear_pos"), d, d, 0, &L->pos);
        if (!st) st = vec(c, P_("self_attn.pos_bias_u"), d, 1, &L->pos_u);
        if (!st) st = vec(c, P_("self_attn.pos_bias_v"), d, 1, &L->pos_v);
        if (!st) st = norm(c, P_("norm_conv"), d, &L->ln_conv);
        if (!st) st = lin(c, P_("conv.pointwise_conv1"), 2 * d, d, 0, &L->pw1);
        if (!st) st = vec(c, P_("conv.depthwise_conv.weight"), (int64_t)d * hp->conv_kernel, 1, &L->dw_w);
        if (!st) st = vec(c, P_("conv.depthwise_conv.bias"), d, 0, &L->dw_b);
        if (!st) st = vec(c, P_("conv.batch_norm.weight"), d, 1, &L->bn_w);
        if (!st) st = vec(c, P_("conv.batch_norm.bias"), d, 1, &L->bn_b);
        if (!st) st = vec(c, P_("conv.batch_norm.running_mean"), d, 1, &L->bn_mean);
        if (!st) st = vec(c, P_("conv.batch_norm.running_var"), d, 1, &L->bn_var);
        if (!st) st = lin(c, P_("conv.pointwise_conv2"), d, d, 0, &L->pw2);
        if (!st) st = norm(c, P_("norm_feed_forward2"), d, &L->ln_ff2);
        if (!st) st = lin(c, P_("feed_forward2.linear1"), hp->d_ff, d, 0, &L->ff2_1);
        if (!st) st = lin(c, P_("feed_forward2.linear2"), d, hp->d_ff, 0, &L->ff2_2);
        if (!st) st = norm(c, P_("norm_out"), d, &L->ln_out);
#undef P_
    }
    if (!st) { /* the embedding [V + 1][P] in place, any kernel type (rows dequantized when fed) */
        est_pk_linear e;
        est_file_tensor t;
        st = weight(c, "decoder.prediction.embed.weight", hp->n_vocab + 1, P, &e, &t);
        mm.embed = e.w, mm.embed_type = e.type, mm.embed_stride = e.stride;
    }
    for (int l = 0; l < hp->pred_layers && !st; l++) st = lstm(c, l, P, &mm.lstm_ih[l], &mm.lstm_hh[l]);
    if (!st) st = lin(c, "joint.enc", J, d, 0, &mm.joint_enc);
    if (!st) st = lin(c, "joint.pred", J, P, 0, &mm.joint_pred);
    if (!st) st = lin(c, "joint.joint_net.2", hp->n_vocab + 1 + hp->n_dur, J, 0, &mm.joint_out);
    if (st) return st;
    if (c->bound != c->h->n_tensors - c->h->n_unused) /* every name bound once: none unknown, none twice */
        return est_diag(c->diag, EDGESTT_E_MODEL, "pkbin: %llu of %llu tensor records bound (an unknown or repeated name)",
                        (unsigned long long)c->bound, (unsigned long long)(c->h->n_tensors - c->h->n_unused));
    /* vocabulary as GGUF strings (u64 length + bytes), the form est_pk_piece walks */
    size_t tok_bytes;
    uint8_t *tok;
    if (!est_add(c->h->words_bytes, (size_t)c->h->n_words * 4, &tok_bytes))
        return est_diag(c->diag, EDGESTT_E_LIMIT, "pkbin: vocabulary too large");
    if ((st = est_arena_alloc(c->a, tok_bytes, (void **)&tok)) != 0)
        return est_diag(c->diag, st, "pkbin: the handle block is too small");
    if (measuring) return EDGESTT_OK;
    const uint8_t *src = c->h->words;
    uint8_t *dst = tok;
    for (int32_t i = 0; i < c->h->n_words; i++) {
        const uint64_t len = est_rd_u32(src);
        memcpy(dst, &len, 8);
        memcpy(dst + 8, src + 4, (size_t)len);
        dst += 8 + (size_t)len;
        src += 4 + (size_t)len;
    }
    mm.tokens = tok;
    mm.n_tokens = (uint64_t)c->h->n_words;
    mm.image_end = tok + tok_bytes;
    *m = mm;
    *out = m;
    return EDGESTT_OK;
}

/* ================================================================ open ===================== */

int est_pkbin_open_size(const void *image, size_t size, size_t *bytes, edgestt_diag *diag) {
    pkb_hdr h;
    if (!bytes) return EDGESTT_E_INVALID_ARG;
    int st = scan(image, size, &h, diag);
    if (st) return st;
    est_arena a;
    est_arena_init_measure(&a);
    pkb_ctx c = {&h, &a, diag, 0};
    est_pk_model *m = NULL;
    st = build(&c, NULL, &m);
    if (st) return st;
    *bytes = est_arena_required(&a);
    return EDGESTT_OK;
}

int est_pkbin_open(const void *image, size_t size, const est_kernels *kt, void *mem, size_t mem_size,
                   est_pk_model **out, edgestt_diag *diag) {
    pkb_hdr h;
    if (!kt || !out || !mem) return EDGESTT_E_INVALID_ARG;
    *out = NULL;
    int st = scan(image, size, &h, diag);
    if (st) return st;
    est_arena a;
    est_arena_init(&a, mem, mem_size);
    pkb_ctx c = {&h, &a, diag, 0};
    return build(&c, kt, out);
}

/* ================================================================ convert to GGUF ========== */

#define CONV_ALIGN 64
#define CONV_CHUNK 2048 /* elements per conversion step (a multiple of every block size) */

typedef struct conv_out {
    edgestt_sink_fn sink;
    void *user;
} conv_out;

static int conv_sink(void *ctx, uint64_t off, const void *data, size_t n) {
    const conv_out *o = (const conv_out *)ctx;
    return o->sink && o->sink(o->user, 0, 1, off, data, n) ? EDGESTT_E_IO : 0;
}

/* 1 if the record is dropped (num_batches_tracked). */
static int conv_skip(const est_file_tensor *t) {
    static const char tail[] = "num_batches_tracked";
    return t->name_len >= sizeof tail - 1 && !memcmp(t->name + t->name_len - (sizeof tail - 1), tail, sizeof tail - 1);
}

/* The GGUF name of a record (bias_h_lL -> bias_hh_lL) into out[PKB_MAX_NAME + 2]; its length. */
static size_t conv_name(const est_file_tensor *t, char *out) {
    static const char lstm_b[] = "decoder.prediction.dec_rnn.lstm.bias_h_l";
    const size_t pre = sizeof lstm_b - 1;
    if (t->name_len > pre && !memcmp(t->name, lstm_b, pre)) {
        memcpy(out, t->name, pre - 3); /* "...bias_" */
        memcpy(out + pre - 3, "hh_l", 4);
        memcpy(out + pre + 1, t->name + pre, t->name_len - pre);
        out[t->name_len + 1] = 0;
        return t->name_len + 1;
    }
    memcpy(out, t->name, t->name_len);
    out[t->name_len] = 0;
    return t->name_len;
}

/* Output type of a record: 2-D weight matrices take type (F16 if a quant type's blocks do not fit
 * the rows), everything else F32. */
static int conv_type(const est_file_tensor *t, const char *name, int type) {
    if (t->n_dims != 2 || strstr(name, "bias") || strstr(name, "norm") || strstr(name, "depthwise")) return EDGESTT_TYPE_F32;
    return est_type_row_bytes(type, (uint64_t)t->ne[0]) ? type : EDGESTT_TYPE_F16;
}

/* Is the record the peer's folded LSTM bias (bias_h_lL)?  It becomes a zero bias_ih_lL (the GGUF
 * reader wants both) followed by bias_hh_lL. */
static int conv_is_bias_h(const est_file_tensor *t) {
    static const char pre[] = "decoder.prediction.dec_rnn.lstm.bias_h_l";
    return t->name_len > sizeof pre - 1 && !memcmp(t->name, pre, sizeof pre - 1);
}

/* Is the record an LSTM tensor whose gate blocks must go back to i, f, g, o? */
static int conv_is_lstm(const est_file_tensor *t) {
    static const char pre[] = "decoder.prediction.dec_rnn.lstm.";
    return t->name_len > sizeof pre - 1 && !memcmp(t->name, pre, sizeof pre - 1);
}

/* n elements from element index i0 of src (src_type) as out_type, through f32; crc updated. */
static void conv_range(est_gguw *w, const uint8_t *src, int src_type, int out_type, int64_t i0, int64_t n,
                       uint32_t *crc) {
    float f[CONV_CHUNK];
    uint8_t o[CONV_CHUNK * 4];
    if (src_type == out_type) {
        const size_t nb = est_type_row_bytes(src_type, (uint64_t)n);
        const uint8_t *p = src + est_type_row_bytes(src_type, (uint64_t)i0);
        *crc = est_crc32(*crc, p, nb);
        est_gguw_bytes(w, p, nb);
        return;
    }
    for (int64_t i = 0; i < n && !est_gguw_status(w); i += CONV_CHUNK) {
        const int64_t k = n - i < CONV_CHUNK ? n - i : CONV_CHUNK;
        est_dequantize_row(src_type, src + est_type_row_bytes(src_type, (uint64_t)(i0 + i)), f, k);
        if (out_type == EDGESTT_TYPE_F32) memcpy(o, f, (size_t)k * 4);
        if (out_type == EDGESTT_TYPE_F16)
            for (int64_t j = 0; j < k; j++) {
                const uint16_t h = est_f32_to_f16(f[j]);
                memcpy(o + 2 * j, &h, 2);
            }
        if (out_type == EDGESTT_TYPE_Q8_0) est_quantize_row_q8_0_ref(f, o, k);
        if (out_type == EDGESTT_TYPE_Q4_0) est_quantize_row_q4_0_ref(f, o, k);
        const size_t nb = est_type_row_bytes(out_type, (uint64_t)k);
        *crc = est_crc32(*crc, o, nb);
        est_gguw_bytes(w, o, nb);
    }
}

/* Header, KV pairs and tensor infos (the CRC array zeroed; *crc_at = its offset). */
static void conv_header(est_gguw *w, const pkb_hdr *h, const est_pk_hparams *hp, int type, const char *name,
                        uint64_t n_tensors, uint64_t *crc_at) {
    const struct { const char *k; int v; } u[] = {
        {"parakeet.sample_rate", hp->sample_rate}, {"parakeet.n_mels", hp->n_mels}, {"parakeet.n_fft", hp->n_fft},
        {"parakeet.win_length", hp->win_length}, {"parakeet.hop_length", hp->hop_length},
        {"parakeet.d_model", hp->d_model}, {"parakeet.n_layers", hp->n_layers}, {"parakeet.n_heads", hp->n_heads},
        {"parakeet.ff_dim", hp->d_ff}, {"parakeet.conv_kernel", hp->conv_kernel},
        {"parakeet.subsampling_factor", hp->sub_factor}, {"parakeet.subsampling_channels", hp->sub_channels},
        {"parakeet.xscaling", hp->xscaling}, {"parakeet.use_bias", 0}, {"parakeet.n_vocab", hp->n_vocab},
        {"parakeet.blank_id", hp->n_vocab}, {"parakeet.pred_hidden", hp->pred_hidden},
        {"parakeet.pred_layers", hp->pred_layers}, {"parakeet.joint_hidden", hp->joint_hidden},
        {"parakeet.max_symbols", hp->max_symbols},
    };
    const size_t n_u = sizeof u / sizeof u[0];
    const int ftype = type == EDGESTT_TYPE_F32 ? 0 : type == EDGESTT_TYPE_F16 ? 1 : type == EDGESTT_TYPE_Q8_0 ? 7 : 2;
    est_gguw_header(w, n_tensors, 4 + 1 + n_u + (hp->n_dur ? 1 : 0) + 2 + 1);
    est_gguw_kv_str(w, "general.architecture", "parakeet", 8);
    est_gguw_kv_str(w, "general.name", name, strlen(name));
    est_gguw_kv_u32(w, "general.alignment", CONV_ALIGN);
    est_gguw_kv_u32(w, "general.file_type", (uint32_t)ftype);
    est_gguw_kv_str(w, "parakeet.model_type", hp->n_dur ? "tdt" : "rnnt", hp->n_dur ? 3 : 4);
    for (size_t i = 0; i < n_u; i++) est_gguw_kv_u32(w, u[i].k, (uint32_t)u[i].v);
    if (hp->n_dur) {
        est_gguw_kv_arr(w, "parakeet.durations", EST_GGUF_U32, (uint64_t)hp->n_dur);
        for (int i = 0; i < hp->n_dur; i++) est_gguw_u32(w, (uint32_t)hp->durations[i]);
    }
    est_gguw_kv_str(w, "tokenizer.ggml.model", "sentencepiece", 13);
    est_gguw_kv_arr(w, "tokenizer.ggml.tokens", EST_GGUF_STRING, (uint64_t)h->n_words);
    const uint8_t *src = h->words;
    for (int32_t i = 0; i < h->n_words; i++) {
        const uint32_t len = est_rd_u32(src);
        est_gguw_str(w, (const char *)src + 4, len);
        src += 4 + (size_t)len;
    }
    est_gguw_kv_arr(w, "edgestt.crc32", EST_GGUF_U32, n_tensors);
    *crc_at = w->pos;
    for (uint64_t i = 0; i < n_tensors; i++) est_gguw_u32(w, 0);
    /* infos: the filter bank and window first, then the records in file order */
    uint64_t off = 0;
    const int64_t fb_ne[4] = {hp->n_fft / 2 + 1, hp->n_mels, 1, 1}, win_ne[4] = {hp->win_length, 1, 1, 1};
    est_gguw_tensor_info(w, "preprocessor.featurizer.fb", 26, 2, fb_ne, EDGESTT_TYPE_F32, off);
    off = est_gguw_align_up(off + (uint64_t)fb_ne[0] * (uint64_t)fb_ne[1] * 4, CONV_ALIGN);
    est_gguw_tensor_info(w, "preprocessor.featurizer.window", 30, 1, win_ne, EDGESTT_TYPE_F32, off);
    off = est_gguw_align_up(off + (uint64_t)win_ne[0] * 4, CONV_ALIGN);
    size_t pos = h->tensors_at;
    est_file_tensor t;
    char nm[PKB_MAX_NAME + 2];
    for (uint64_t i = 0; i < h->n_tensors; i++) {
        if (next_record(h, &pos, i, &t, NULL)) break;
        if (conv_skip(&t)) continue;
        const size_t nl = conv_name(&t, nm);
        const int ot = conv_type(&t, nm, type);
        if (conv_is_bias_h(&t)) {
            memcpy(strstr(nm, "bias_hh") + 5, "ih", 2);
            est_gguw_tensor_info(w, nm, nl, t.n_dims, t.ne, EDGESTT_TYPE_F32, off);
            off = est_gguw_align_up(off + (uint64_t)est_file_tensor_nelem(&t) * 4, CONV_ALIGN);
            memcpy(strstr(nm, "bias_ih") + 5, "hh", 2);
        }
        est_gguw_tensor_info(w, nm, nl, t.n_dims, t.ne, ot, off);
        off = est_gguw_align_up(off + est_type_row_bytes(ot, (uint64_t)t.ne[0]) * (uint64_t)(est_file_tensor_nelem(&t) / t.ne[0]),
                                CONV_ALIGN);
    }
    est_gguw_pad(w, CONV_ALIGN);
}

int est_pkbin_convert(const void *image, size_t size, const edgestt_convert_params *p, edgestt_sink_fn sink,
                      void *user, edgestt_convert_report *rep, edgestt_diag *diag) {
    pkb_hdr h;
    if (!p || !sink) return est_diag(diag, EDGESTT_E_INVALID_ARG, "convert: NULL argument");
    if (p->n_keep) return est_diag(diag, EDGESTT_E_UNSUPPORTED, "convert: keep patterns are not supported for a Parakeet .bin");
    const int type = p->type;
    if (type != EDGESTT_TYPE_F32 && type != EDGESTT_TYPE_F16 && type != EDGESTT_TYPE_Q8_0 && type != EDGESTT_TYPE_Q4_0)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "convert: type %d (f32, f16, q8_0 or q4_0)", type);
    int st = scan(image, size, &h, diag);
    if (st) return st;
    /* the whole binding, measured: every tensor the GGUF reader will need is present and shaped */
    est_arena a;
    est_arena_init_measure(&a);
    pkb_ctx c = {&h, &a, diag, 0};
    est_pk_model *m = NULL;
    est_pk_hparams hp;
    if ((st = build(&c, NULL, &m)) != 0 || (st = derive(&c, &hp)) != 0) return st;
    uint64_t n_tensors = 2;
    size_t pos = h.tensors_at;
    est_file_tensor t;
    for (uint64_t i = 0; i < h.n_tensors; i++) {
        if ((st = next_record(&h, &pos, i, &t, diag)) != 0) return st;
        n_tensors += !conv_skip(&t) + conv_is_bias_h(&t);
    }
    if (rep) memset(rep->n_by_type, 0, sizeof rep->n_by_type);
    conv_out o = {sink, user};
    est_gguw w;
    uint64_t crc_at;
    est_gguw_init(&w, conv_sink, &o);
    conv_header(&w, &h, &hp, type, p->name ? p->name : "parakeet", n_tensors, &crc_at);
    uint32_t crc[2] = {0, 0};
    conv_range(&w, h.fb, EDGESTT_TYPE_F32, EDGESTT_TYPE_F32, 0, (int64_t)hp.n_mels * (hp.n_fft / 2 + 1), &crc[0]);
    est_gguw_pad(&w, CONV_ALIGN);
    conv_range(&w, h.window, EDGESTT_TYPE_F32, EDGESTT_TYPE_F32, 0, hp.win_length, &crc[1]);
    est_gguw_pad(&w, CONV_ALIGN);
    est_gguw_patch(&w, crc_at, crc, 8);
    if (rep) rep->n_by_type[EDGESTT_TYPE_F32] += 2;
    pos = h.tensors_at;
    uint64_t k = 2;
    char nm[PKB_MAX_NAME + 2];
    static const int from[4] = {0, 1, 3, 2}; /* i, f, g, o <- the file's i, f, o, g */
    for (uint64_t i = 0; i < h.n_tensors && !est_gguw_status(&w); i++) {
        next_record(&h, &pos, i, &t, NULL);
        if (conv_skip(&t)) continue;
        conv_name(&t, nm);
        const int ot = conv_type(&t, nm, type);
        const int64_t n = est_file_tensor_nelem(&t);
        uint32_t cv = 0;
        if (conv_is_bias_h(&t)) { /* bias_ih: zeros */
            static const float zero[256];
            for (int64_t j = 0; j < n; j += 256) {
                const size_t nb = (size_t)(n - j < 256 ? n - j : 256) * 4;
                cv = est_crc32(cv, zero, nb);
                est_gguw_bytes(&w, zero, nb);
            }
            est_gguw_pad(&w, CONV_ALIGN);
            est_gguw_patch(&w, crc_at + 4 * k, &cv, 4);
            if (rep) rep->n_by_type[EDGESTT_TYPE_F32]++;
            k++;
            cv = 0;
        }
        if (conv_is_lstm(&t))
            for (int g = 0; g < 4; g++) conv_range(&w, t.data, t.type, ot, from[g] * (n / 4), n / 4, &cv);
        else
            conv_range(&w, t.data, t.type, ot, 0, n, &cv);
        est_gguw_pad(&w, CONV_ALIGN);
        est_gguw_patch(&w, crc_at + 4 * k, &cv, 4);
        if (rep) rep->n_by_type[ot & 15]++;
        k++;
    }
    st = est_gguw_status(&w);
    if (st == EDGESTT_E_IO) return est_diag(diag, st, "convert: the output sink failed");
    if (st) return est_diag(diag, st, "convert: writing the GGUF failed");
    if (rep) rep->n_tensors = (int)n_tensors, rep->n_shards = 1, rep->bytes = w.pos;
    return EDGESTT_OK;
}
