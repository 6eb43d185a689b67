/*
 * parakeet.c - NeMo FastConformer transducer (Parakeet TDT / RNN-T), see parakeet.h.
 *
 * Invariants: every tensor is bound from a GGUF image whose header est_gguf_scan validated; shapes
 * are checked against hyper-parameters derived from the tensors themselves (d_model from the
 * layer norms, vocabulary from the embedding, ...) plus the few keys only the file can say
 * (heads come from pos_bias_u's shape, durations and front-end numbers from parakeet.* keys).
 * Small parameters (norms, biases, convolution kernels, filter bank) must be F32; linear layers
 * and the predictor's embedding may be F32, F16, Q8_0 or Q4_0 (est_gemm; embedding rows are
 * dequantized when fed).  Activations are channels-last f32 in
 * the state's one block; no allocation after init.
 */
#include <math.h>

#include "../core/gguf.h"
#include "../kernels/conv.h"
#include "../kernels/quant.h"
#include "parakeet.h"

#define LN_EPS 1e-5f
#define BN_EPS 1e-5f
#define LOG_GUARD 5.9604644775390625e-08f /* 2^-24 */
#define NORM_EPS 1e-5f
#define EST_PK_MAX_MELS 1024

/* ================================================================ hyper-parameter keys ====== */

/* Keys picked during the scan (the only ones read before the tables exist). */
typedef struct key_pick {
    est_gguf_kv kv[16];
    size_t n;
} key_pick;

static const char *const pick_keys[] = {
    "general.architecture", "parakeet.encoder.n_layers", "parakeet.n_layers",
};

static int pick_key(void *ctx, const est_gguf_kv *kv) {
    key_pick *k = ctx;
    for (size_t i = 0; i < sizeof pick_keys / sizeof pick_keys[0]; i++)
        if (est_gguf_key_is(kv, pick_keys[i]) && k->n < sizeof k->kv / sizeof k->kv[0]) k->kv[k->n++] = *kv;
    return 0;
}

/* The filled GGUF tables the binder reads, and a mark per tensor description: set when a lookup
 * finds it, so after binding an unmarked one is unknown to the model (or a duplicate name). */
typedef struct pk_src {
    const uint8_t *data;
    size_t size;
    est_gguf_layout lay;
    est_gguf_kv *kv;
    est_file_tensor *tensors;
    uint8_t *seen; /* [lay.n_tensors] */
} pk_src;

/* Optional integer key (first of two spellings); *out unchanged if absent. */
static int opt_int(const pk_src *g, const char *key, const char *alt, int lo, int hi, int *out,
                   edgestt_diag *diag) {
    uint32_t v;
    const char *used = key;
    int st = est_gguf_get_u32(g->kv, g->lay.n_kv, key, &v, diag);
    if (st == EDGESTT_E_NOT_FOUND && alt) {
        used = alt;
        st = est_gguf_get_u32(g->kv, g->lay.n_kv, alt, &v, diag);
    }
    if (st == EDGESTT_E_NOT_FOUND) return EDGESTT_OK;
    if (st) return st;
    if ((int64_t)v < lo || (int64_t)v > hi)
        return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: %s = %u is outside [%d, %d]", used, v, lo, hi);
    *out = (int)v;
    return EDGESTT_OK;
}

static int opt_f32(const pk_src *g, const char *key, float lo, float hi, float *out, edgestt_diag *diag) {
    float v;
    int st = est_gguf_get_f32(g->kv, g->lay.n_kv, key, &v, diag);
    if (st == EDGESTT_E_NOT_FOUND) return EDGESTT_OK;
    if (st) return st;
    if (!(v >= lo && v <= hi)) return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: %s is out of range", key);
    *out = v;
    return EDGESTT_OK;
}

/* ================================================================ tensor binding =========== */

static const est_file_tensor *find_tensor(const pk_src *g, const char *name) {
    for (uint64_t i = 0; i < g->lay.n_tensors; i++)
        if (est_file_tensor_is(&g->tensors[i], name)) {
            g->seen[i] = 1;
            return &g->tensors[i];
        }
    return NULL;
}

/* Every tensor of the file belongs to the model: the first unmarked one is a duplicate of a name
 * already bound or a name the architecture does not have (EDGESTT_E_MODEL, naming it). */
static int check_all_bound(const pk_src *g, edgestt_diag *diag) {
    for (uint64_t i = 0; i < g->lay.n_tensors; i++) {
        if (g->seen[i]) continue;
        const est_file_tensor *t = &g->tensors[i];
        const int n = (int)(t->name_len < 96 ? t->name_len : 96);
        for (uint64_t j = 0; j < g->lay.n_tensors; j++)
            if (j != i && g->tensors[j].name_len == t->name_len && !memcmp(g->tensors[j].name, t->name, t->name_len))
                return est_diag(diag, EDGESTT_E_MODEL, "parakeet: tensor '%.*s' appears twice", n, t->name);
        return est_diag(diag, EDGESTT_E_MODEL, "parakeet: unknown tensor '%.*s' (not part of the architecture)", n,
                        t->name);
    }
    return EDGESTT_OK;
}

/* An F32 tensor of exactly nelem elements (nelem < 0: any, returned in *got). */
static int bind_vec(const pk_src *g, const char *name, int64_t nelem, int required, const float **out,
                    int64_t *got, edgestt_diag *diag) {
    const est_file_tensor *t = find_tensor(g, name);
    *out = NULL;
    if (!t) return required ? est_diag(diag, EDGESTT_E_MODEL, "parakeet: tensor '%s' is missing", name) : EDGESTT_OK;
    if (t->type != EDGESTT_TYPE_F32)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "parakeet: tensor '%s' must be F32 (type %d)", name, (int)t->type);
    const int64_t ne = est_file_tensor_nelem(t);
    if (nelem >= 0 && ne != nelem)
        return est_diag(diag, EDGESTT_E_MODEL, "parakeet: tensor '%s' has %lld elements, want %lld", name,
                        (long long)ne, (long long)nelem);
    if ((uintptr_t)t->data & 3)
        return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: tensor '%s' data is not 4-byte aligned", name);
    if (got) *got = ne;
    *out = (const float *)(const void *)t->data;
    return EDGESTT_OK;
}

/* A linear layer's weight [n][k] (trailing conv dims of 1 allowed) and optional bias [n]. */
static int bind_lin(const pk_src *g, const char *prefix, int n, int k, int bias_required, est_pk_linear *L,
                    edgestt_diag *diag) {
    char name[160];
    est_fmt(name, sizeof name, "%s.weight", prefix);
    const est_file_tensor *t = find_tensor(g, name);
    if (!t) return est_diag(diag, EDGESTT_E_MODEL, "parakeet: tensor '%s' is missing", name);
    if (est_wt_index(t->type) < 0)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "parakeet: tensor '%s' has unsupported type %d", name, (int)t->type);
    /* dims [0, s) hold one row of k, dims [s, 4) the n rows */
    int ok = 0;
    int64_t inner = 1;
    for (int s = 1; s <= EST_MAX_DIMS && !ok; s++) {
        inner *= t->ne[s - 1];
        int64_t outer = 1;
        for (int d = s; d < EST_MAX_DIMS; d++) outer *= t->ne[d];
        if (inner == k && outer == n && (s == 1 || !est_type_is_quant(t->type))) ok = 1;
    }
    if (!ok)
        return est_diag(diag, EDGESTT_E_MODEL, "parakeet: tensor '%s' is [%lld %lld %lld %lld], want %d x %d", name,
                        (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], n, k);
    L->type = t->type;
    L->n = n;
    L->k = k;
    L->w = t->data;
    L->stride = est_type_row_bytes(t->type, (uint64_t)k);
    if (!L->stride)
        return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: tensor '%s' rows of %d do not fill whole blocks", name, k);
    est_fmt(name, sizeof name, "%s.bias", prefix);
    return bind_vec(g, name, n, bias_required, &L->b, NULL, diag);
}

static int bind_norm(const pk_src *g, const char *prefix, int d, est_pk_norm *nm, edgestt_diag *diag) {
    char name[160];
    est_fmt(name, sizeof name, "%s.weight", prefix);
    int st = bind_vec(g, name, d, 1, &nm->g, NULL, diag);
    est_fmt(name, sizeof name, "%s.bias", prefix);
    if (!st) st = bind_vec(g, name, d, 1, &nm->b, NULL, diag);
    return st;
}

/* Dimensions from the tensors, then the keys; checks every limit the kernels rely on. */
static int derive_hparams(const pk_src *g, est_pk_hparams *hp, edgestt_diag *diag) {
    const est_file_tensor *t;
    const float *dummy;
    int64_t n;
    int st;
    memset(hp, 0, sizeof *hp);
    hp->sample_rate = 16000, hp->n_fft = 512, hp->win_length = 400, hp->hop_length = 160;
    hp->preemph = 0.97f, hp->sub_factor = 8, hp->xscaling = 1, hp->max_symbols = 10;
#define NEED(name) \
    if (!(t = find_tensor(g, name))) return est_diag(diag, EDGESTT_E_MODEL, "parakeet: tensor '%s' is missing", name)
    NEED("encoder.layers.0.norm_out.weight");
    hp->d_model = (int)(t->ne[0] <= 65536 ? t->ne[0] : 0);
    NEED("encoder.layers.0.feed_forward1.linear1.weight");
    hp->d_ff = (int)(est_file_tensor_nelem(t) / (hp->d_model ? hp->d_model : 1));
    NEED("encoder.layers.0.self_attn.pos_bias_u");
    hp->n_heads = (int)(t->ne[1] <= 1024 ? t->ne[1] : 0);
    NEED("encoder.layers.0.conv.depthwise_conv.weight");
    hp->conv_kernel = (int)(est_file_tensor_nelem(t) / (hp->d_model ? hp->d_model : 1));
    NEED("encoder.pre_encode.conv.0.weight");
    hp->sub_channels = (int)(est_file_tensor_nelem(t) / 9 <= 65536 ? est_file_tensor_nelem(t) / 9 : 0);
    NEED("preprocessor.featurizer.fb");
    hp->n_mels = (int)(est_file_tensor_nelem(t) / t->ne[0] <= EST_PK_MAX_MELS ? est_file_tensor_nelem(t) / t->ne[0] : 0);
    NEED("decoder.prediction.embed.weight");
    hp->pred_hidden = (int)(t->ne[0] <= 65536 ? t->ne[0] : 0);
    hp->n_vocab = (int)(est_file_tensor_nelem(t) / t->ne[0] - 1 <= (1 << 20) ? est_file_tensor_nelem(t) / t->ne[0] - 1 : 0);
    NEED("joint.enc.weight");
    hp->joint_hidden = (int)(est_file_tensor_nelem(t) / (hp->d_model ? hp->d_model : 1));
    NEED("joint.joint_net.2.weight");
    n = hp->joint_hidden ? est_file_tensor_nelem(t) / hp->joint_hidden : 0;
    hp->n_dur = (int)(n - hp->n_vocab - 1);
#undef NEED
    char name[96];
    for (hp->n_layers = 0; hp->n_layers <= EST_PK_MAX_LAYERS; hp->n_layers++) {
        est_fmt(name, sizeof name, "encoder.layers.%d.norm_out.weight", hp->n_layers);
        if (!find_tensor(g, name)) break;
    }
    for (hp->pred_layers = 0; hp->pred_layers <= EST_PK_MAX_LSTM; hp->pred_layers++) {
        est_fmt(name, sizeof name, "decoder.prediction.dec_rnn.lstm.weight_ih_l%d", hp->pred_layers);
        if (!find_tensor(g, name)) break;
    }
    if (hp->d_model < 1 || hp->n_heads < 1 || hp->d_model % hp->n_heads || hp->d_ff < 1 || hp->d_ff > (1 << 18) ||
        hp->conv_kernel < 1 || hp->conv_kernel % 2 == 0 || hp->conv_kernel > 1023 || hp->sub_channels < 1 ||
        hp->n_mels < 1 || hp->pred_hidden < 1 || hp->n_vocab < 1 || hp->joint_hidden < 1 || hp->joint_hidden > 65536 ||
        hp->n_dur < 0 || hp->n_dur > EST_PK_MAX_DUR || hp->n_layers < 1 || hp->n_layers > EST_PK_MAX_LAYERS ||
        hp->pred_layers < 1 || hp->pred_layers > EST_PK_MAX_LSTM)
        return est_diag(diag, EDGESTT_E_FORMAT,
                        "parakeet: bad dimensions (d_model %d, heads %d, ff %d, kernel %d, channels %d, mels %d, "
                        "pred %d x %d, vocab %d, joint %d, durations %d, layers %d)",
                        hp->d_model, hp->n_heads, hp->d_ff, hp->conv_kernel, hp->sub_channels, hp->n_mels,
                        hp->pred_layers, hp->pred_hidden, hp->n_vocab, hp->joint_hidden, hp->n_dur, hp->n_layers);
    (void)dummy;
    st = opt_int(g, "parakeet.sample_rate", "parakeet.preprocessor.sample_rate", 1000, 192000, &hp->sample_rate, diag);
    if (!st) st = opt_int(g, "parakeet.n_fft", "parakeet.preprocessor.n_fft", 2, 4096, &hp->n_fft, diag);
    if (!st) st = opt_int(g, "parakeet.win_length", "parakeet.preprocessor.win_length", 1, 4096, &hp->win_length, diag);
    if (!st) st = opt_int(g, "parakeet.hop_length", "parakeet.preprocessor.hop_length", 1, 4096, &hp->hop_length, diag);
    if (!st) st = opt_int(g, "parakeet.subsampling_factor", "parakeet.encoder.subsampling_factor", 8, 8, &hp->sub_factor, diag);
    if (!st) st = opt_int(g, "parakeet.xscaling", "parakeet.encoder.xscaling", 0, 1, &hp->xscaling, diag);
    if (!st) st = opt_int(g, "parakeet.max_symbols", "parakeet.decoding.max_symbols", 1, 1000, &hp->max_symbols, diag);
    if (!st) st = opt_f32(g, "parakeet.preemph", 0.0f, 1.0f, &hp->preemph, diag);
    if (st) return st;
    /* keys that must agree with the tensors, and NeMo options this reader implements one value of */
    static const struct { const char *key; int off; } same[] = {
        {"parakeet.n_mels", offsetof(est_pk_hparams, n_mels)}, {"parakeet.d_model", offsetof(est_pk_hparams, d_model)},
        {"parakeet.n_layers", offsetof(est_pk_hparams, n_layers)}, {"parakeet.n_heads", offsetof(est_pk_hparams, n_heads)},
        {"parakeet.ff_dim", offsetof(est_pk_hparams, d_ff)}, {"parakeet.conv_kernel", offsetof(est_pk_hparams, conv_kernel)},
        {"parakeet.subsampling_channels", offsetof(est_pk_hparams, sub_channels)},
        {"parakeet.n_vocab", offsetof(est_pk_hparams, n_vocab)}, {"parakeet.blank_id", offsetof(est_pk_hparams, n_vocab)},
        {"parakeet.pred_hidden", offsetof(est_pk_hparams, pred_hidden)},
        {"parakeet.pred_layers", offsetof(est_pk_hparams, pred_layers)},
        {"parakeet.joint_hidden", offsetof(est_pk_hparams, joint_hidden)},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        const int have = *(const int *)(const void *)((const char *)hp + same[i].off);
        int v = have;
        st = opt_int(g, same[i].key, NULL, 0, INT32_MAX, &v, diag);
        if (st) return st;
        if (v != have)
            return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: %s = %d, the tensors say %d", same[i].key, v, have);
    }
    if (hp->sample_rate != 16000)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "parakeet: sample_rate %d (only 16000)", hp->sample_rate);
    static const struct { const char *key; float want; } fixed[] = {
        {"parakeet.log_zero_guard", LOG_GUARD}, {"parakeet.mag_power", 2.0f},
        {"parakeet.layer_norm_eps", LN_EPS}, {"parakeet.batch_norm_eps", BN_EPS},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        float v = fixed[i].want;
        st = opt_f32(g, fixed[i].key, -1e30f, 1e30f, &v, diag);
        if (st) return st;
        if (fabsf(v - fixed[i].want) > 1e-3f * fixed[i].want)
            return est_diag(diag, EDGESTT_E_UNSUPPORTED, "parakeet: %s differs from the supported value", fixed[i].key);
    }
    static const struct { const char *key, *want; } strs[] = {
        {"parakeet.normalize", "per_feature"}, {"parakeet.joint_activation", "relu"},
        {"parakeet.model_type", NULL},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        const char *v;
        size_t len;
        st = est_gguf_get_str(g->kv, g->lay.n_kv, strs[i].key, &v, &len, diag);
        if (st == EDGESTT_E_NOT_FOUND) continue;
        if (st) return st;
        const char *want = strs[i].want ? strs[i].want : hp->n_dur ? "tdt" : "rnnt";
        if (len != strlen(want) || memcmp(v, want, len) != 0)
            return est_diag(diag, EDGESTT_E_UNSUPPORTED, "parakeet: %s is '%.*s' (this file's tensors need '%s')",
                            strs[i].key, (int)(len < 32 ? len : 32), v, want);
    }
    if (hp->n_fft & (hp->n_fft - 1) || hp->win_length > hp->n_fft)
        return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: n_fft %d (power of two) and win_length %d (<= n_fft)",
                        hp->n_fft, hp->win_length);
    if (est_file_tensor_nelem(find_tensor(g, "preprocessor.featurizer.fb")) != (int64_t)hp->n_mels * (hp->n_fft / 2 + 1))
        return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: preprocessor.featurizer.fb is not %d x %d", hp->n_mels,
                        hp->n_fft / 2 + 1);
    for (int i = 0; i < hp->n_dur; i++) hp->durations[i] = i;
    if (hp->n_dur > 0) {
        const uint8_t *first;
        uint64_t cnt;
        const char *key = "parakeet.durations";
        st = est_gguf_get_arr(g->kv, g->lay.n_kv, key, -1, &first, &cnt, diag);
        if (st == EDGESTT_E_NOT_FOUND) {
            key = "parakeet.decoding.durations";
            st = est_gguf_get_arr(g->kv, g->lay.n_kv, key, -1, &first, &cnt, diag);
        }
        if (st && st != EDGESTT_E_NOT_FOUND) return st;
        if (!st) {
            const est_gguf_kv *kv = &g->kv[est_gguf_find(g->kv, g->lay.n_kv, key)];
            if (cnt != (uint64_t)hp->n_dur || (kv->arr_type != EST_GGUF_I32 && kv->arr_type != EST_GGUF_U32))
                return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: %s must be %d int32 values", key, hp->n_dur);
            for (int i = 0; i < hp->n_dur; i++) {
                int32_t v = est_rd_i32(first + 4 * (size_t)i);
                if (v < 0 || v > 64) return est_diag(diag, EDGESTT_E_FORMAT, "parakeet: duration %d out of range", (int)v);
                hp->durations[i] = v;
            }
        }
    }
    return EDGESTT_OK;
}

/* Bind every tensor of the model (hp already derived). */
static int bind_all(const pk_src *g, est_pk_model *m, edgestt_diag *diag) {
    const est_pk_hparams *hp = &m->hp;
    const int d = hp->d_model, C = hp->sub_channels, P = hp->pred_hidden, J = hp->joint_hidden;
    const int f3 = est_conv_s2_out(est_conv_s2_out(est_conv_s2_out(hp->n_mels)));
    char name[160];
    int st = bind_vec(g, "preprocessor.featurizer.fb", (int64_t)hp->n_mels * (hp->n_fft / 2 + 1), 1, &m->fb, NULL, diag);
    if (!st) st = bind_vec(g, "preprocessor.featurizer.window", hp->win_length, 0, &m->window, NULL, diag);
    if (!st) st = bind_vec(g, "encoder.pre_encode.conv.0.weight", (int64_t)C * 9, 1, &m->sub0_w, NULL, diag);
    if (!st) st = bind_vec(g, "encoder.pre_encode.conv.0.bias", C, 1, &m->sub0_b, NULL, diag);
    if (!st) st = bind_vec(g, "encoder.pre_encode.conv.2.weight", (int64_t)C * 9, 1, &m->sub2_w, NULL, diag);
    if (!st) st = bind_vec(g, "encoder.pre_encode.conv.2.bias", C, 1, &m->sub2_b, NULL, diag);
    if (!st) st = bind_lin(g, "encoder.pre_encode.conv.3", C, C, 1, &m->sub3, diag);
    if (!st) st = bind_vec(g, "encoder.pre_encode.conv.5.weight", (int64_t)C * 9, 1, &m->sub5_w, NULL, diag);
    if (!st) st = bind_vec(g, "encoder.pre_encode.conv.5.bias", C, 1, &m->sub5_b, NULL, diag);
    if (!st) st = bind_lin(g, "encoder.pre_encode.conv.6", C, C, 1, &m->sub6, diag);
    if (!st) st = bind_lin(g, "encoder.pre_encode.out", d, C * f3, 1, &m->sub_out, diag);
    for (int i = 0; i < hp->n_layers && !st; i++) {
        est_pk_layer *L = &m->layers[i];
        char pre[96];
#define P_(fmt) (est_fmt(pre, sizeof pre, "encoder.layers.%d." fmt, i), pre)
        st = bind_norm(g, P_("norm_feed_forward1"), d, &L->ln_ff1, diag);
        if (!st) st = bind_lin(g, P_("feed_forward1.linear1"), hp->d_ff, d, 0, &L->ff1_1, diag);
        if (!st) st = bind_lin(g, P_("feed_forward1.linear2"), d, hp->d_ff, 0, &L->ff1_2, diag);
        if (!st) st = bind_norm(g, P_("norm_self_att"), d, &L->ln_att, diag);
        if (!st) st = bind_lin(g, P_("self_attn.linear_q"), d, d, 0, &L->q, diag);
        if (!st) st = bind_lin(g, P_("self_attn.linear_k"), d, d, 0, &L->k, diag);
        if (!st) st = bind_lin(g, P_("self_attn.linear_v"), d, d, 0, &L->v, diag);
        if (!st) st = bind_lin(g, P_("self_attn.linear_out"), d, d, 0, &L->o, diag);
        if (!st) st = bind_lin(g, P_("self_attn.linear_pos"), d, d, 0, &L->pos, diag);
        if (!st) st = bind_vec(g, P_("self_attn.pos_bias_u"), d, 1, &L->pos_u, NULL, diag);
        if (!st) st = bind_vec(g, P_("self_attn.pos_bias_v"), d, 1, &L->pos_v, NULL, diag);
        if (!st) st = bind_norm(g, P_("norm_conv"), d, &L->ln_conv, diag);
        if (!st) st = bind_lin(g, P_("conv.pointwise_conv1"), 2 * d, d, 0, &L->pw1, diag);
        if (!st) st = bind_vec(g, P_("conv.depthwise_conv.weight"), (int64_t)d * hp->conv_kernel, 1, &L->dw_w, NULL, diag);
        if (!st) st = bind_vec(g, P_("conv.depthwise_conv.bias"), d, 0, &L->dw_b, NULL, diag);
        if (!st) st = bind_vec(g, P_("conv.batch_norm.weight"), d, 0, &L->bn_w, NULL, diag);
        if (!st && L->bn_w) {
            st = bind_vec(g, P_("conv.batch_norm.bias"), d, 1, &L->bn_b, NULL, diag);
            if (!st) st = bind_vec(g, P_("conv.batch_norm.running_mean"), d, 1, &L->bn_mean, NULL, diag);
            if (!st) st = bind_vec(g, P_("conv.batch_norm.running_var"), d, 1, &L->bn_var, NULL, diag);
        }
        if (!st) st = bind_lin(g, P_("conv.pointwise_conv2"), d, d, 0, &L->pw2, diag);
        if (!st) st = bind_norm(g, P_("norm_feed_forward2"), d, &L->ln_ff2, diag);
        if (!st) st = bind_lin(g, P_("feed_forward2.linear1"), hp->d_ff, d, 0, &L->ff2_1, diag);
        if (!st) st = bind_lin(g, P_("feed_forward2.linear2"), d, hp->d_ff, 0, &L->ff2_2, diag);
        if (!st) st = bind_norm(g, P_("norm_out"), d, &L->ln_out, diag);
#undef P_
    }
    if (!st) { /* the embedding as a "linear" [V + 1][P] table: any kernel type, rows dequantized when fed */
        est_pk_linear e;
        st = bind_lin(g, "decoder.prediction.embed", hp->n_vocab + 1, P, 0, &e, diag);
        m->embed = e.w, m->embed_type = e.type, m->embed_stride = e.stride;
    }
    for (int l = 0; l < hp->pred_layers && !st; l++) {
        est_fmt(name, sizeof name, "decoder.prediction.dec_rnn.lstm.weight_ih_l%d", l);
        char pre[96];
        est_fmt(pre, sizeof pre, "decoder.prediction.dec_rnn.lstm.X_ih_l%d", l);
        /* LSTM names are weight_ih_lN / bias_ih_lN, not prefix.weight: bind by hand */
        const est_file_tensor *t = find_tensor(g, name);
        est_pk_linear *Li = &m->lstm_ih[l], *Lh = &m->lstm_hh[l];
        for (int w = 0; w < 2 && !st; w++) {
            est_pk_linear *L = w ? Lh : Li;
            est_fmt(name, sizeof name, "decoder.prediction.dec_rnn.lstm.weight_%s_l%d", w ? "hh" : "ih", l);
            t = find_tensor(g, name);
            if (!t || est_wt_index(t->type) < 0 || t->ne[0] != P || est_file_tensor_nelem(t) != (int64_t)4 * P * P) {
                st = est_diag(diag, EDGESTT_E_MODEL, "parakeet: tensor '%s' missing or not %d x %d", name, 4 * P, P);
                break;
            }
            L->type = t->type, L->n = 4 * P, L->k = P, L->w = t->data;
            L->stride = est_type_row_bytes(t->type, (uint64_t)P);
            if (!L->stride) st = est_diag(diag, EDGESTT_E_FORMAT, "parakeet: tensor '%s' rows do not fill blocks", name);
            est_fmt(name, sizeof name, "decoder.prediction.dec_rnn.lstm.bias_%s_l%d", w ? "hh" : "ih", l);
            if (!st) st = bind_vec(g, name, 4 * (int64_t)P, 1, &L->b, NULL, diag);
        }
        (void)pre;
    }
    if (!st) st = bind_lin(g, "joint.enc", J, d, 1, &m->joint_enc, diag);
    if (!st) st = bind_lin(g, "joint.pred", J, P, 1, &m->joint_pred, diag);
    if (!st) st = bind_lin(g, "joint.joint_net.2", hp->n_vocab + 1 + hp->n_dur, J, 1, &m->joint_out, diag);
    if (st) return st;
    const uint8_t *first;
    uint64_t cnt;
    if (!est_gguf_get_arr(g->kv, g->lay.n_kv, "tokenizer.ggml.tokens", EST_GGUF_STRING, &first, &cnt, NULL)) {
        m->tokens = first;
        m->n_tokens = cnt;
    }
    m->image_end = g->data + g->size;
    return EDGESTT_OK;
}

/* ================================================================ open ===================== */

typedef struct open_plan {
    est_pk_model *m;
    est_pk_layer *layers;
    est_gguf_kv *kv;
    est_file_tensor *tensors;
    uint8_t *seen;
} open_plan;

/* The same reservations measure (open_size) and place (open). */
static int plan_open(est_arena *a, const est_gguf_layout *lay, int n_layers, open_plan *pl) {
    size_t n_kv, n_t;
    int st = est_gguf_table_counts(lay, &n_kv, &n_t);
    if (!st) st = est_arena_alloc(a, sizeof(est_pk_model), (void **)&pl->m);
    if (!st) st = est_arena_array(a, (size_t)n_layers, sizeof(est_pk_layer), (void **)&pl->layers);
    size_t b1, b2;
    if (!st && (!est_mul(n_kv ? n_kv : 1, sizeof(est_gguf_kv), &b1) || !est_mul(n_t ? n_t : 1, sizeof(est_file_tensor), &b2)))
        st = EDGESTT_E_LIMIT;
    if (!st) st = est_arena_scratch(a, b1, (void **)&pl->kv);
    if (!st) st = est_arena_scratch(a, b2, (void **)&pl->tensors);
    if (!st) st = est_arena_scratch(a, n_t ? n_t : 1, (void **)&pl->seen);
    return st;
}

/* Scan the header: layout and the layer count (for planning). */
static int scan(const void *image, size_t size, est_gguf_layout *lay, int *n_layers, edgestt_diag *diag) {
    key_pick k = {0};
    int st = est_gguf_scan(image, size, lay, pick_key, &k, diag);
    if (st) return st;
    const char *s;
    size_t len;
    st = est_gguf_get_str(k.kv, k.n, "general.architecture", &s, &len, diag);
    if (st == EDGESTT_E_NOT_FOUND) return est_diag(diag, EDGESTT_E_FORMAT, "gguf: general.architecture is missing");
    if (st) return st;
    if (len != 8 || memcmp(s, "parakeet", 8) != 0)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "parakeet: architecture '%.*s' is not parakeet", (int)(len < 64 ? len : 64), s);
    /* the layer count is re-derived from the tensors at bind; plan for the limit if no key says it */
    uint32_t v = EST_PK_MAX_LAYERS;
    if (est_gguf_get_u32(k.kv, k.n, "parakeet.encoder.n_layers", &v, NULL) &&
        est_gguf_get_u32(k.kv, k.n, "parakeet.n_layers", &v, NULL))
        v = EST_PK_MAX_LAYERS;
    *n_layers = v >= 1 && v <= EST_PK_MAX_LAYERS ? (int)v : EST_PK_MAX_LAYERS;
    return EDGESTT_OK;
}

int est_pk_open_size(const void *image, size_t size, size_t *bytes, edgestt_diag *diag) {
    est_gguf_layout lay;
    int n_layers;
    if (!image || !bytes) return EDGESTT_E_INVALID_ARG;
    int st = scan(image, size, &lay, &n_layers, diag);
    if (st) return st;
    est_arena a;
    open_plan pl;
    est_arena_init_measure(&a);
    st = plan_open(&a, &lay, n_layers, &pl);
    if (st) return st;
    *bytes = est_arena_required(&a);
    return EDGESTT_OK;
}

int est_pk_open(const void *image, size_t size, const est_kernels *kt, void *mem, size_t mem_size,
                est_pk_model **out, edgestt_diag *diag) {
    est_gguf_layout lay;
    int n_layers;
    if (!image || !kt || !out) return EDGESTT_E_INVALID_ARG;
    *out = NULL;
    int st = scan(image, size, &lay, &n_layers, diag);
    if (st) return st;
    est_arena a;
    open_plan pl;
    est_arena_init(&a, mem, mem ? mem_size : 0);
    st = plan_open(&a, &lay, n_layers, &pl);
    if (st) return est_diag(diag, st, "parakeet: %zu bytes are too few for the handle", mem_size);
    est_gguf g;
    size_t n_kv, n_t;
    est_gguf_table_counts(&lay, &n_kv, &n_t);
    st = est_gguf_fill(image, size, &lay, pl.kv, pl.tensors, &g, diag);
    if (st) return st;
    est_pk_model *m = pl.m;
    m->kt = kt;
    m->layers = pl.layers;
    pk_src src = {g.data, g.size, g.lay, g.kv, g.tensors, pl.seen};
    memset(pl.seen, 0, n_t ? n_t : 1);
    st = derive_hparams(&src, &m->hp, diag);
    if (!st && m->hp.n_layers > n_layers)
        st = est_diag(diag, EDGESTT_E_FORMAT, "parakeet: %d layers in the file, the key says %d", m->hp.n_layers, n_layers);
    if (!st) st = bind_all(&src, m, diag);
    if (!st) st = check_all_bound(&src, diag);
    if (st) return st;
    if (diag) diag->msg[0] = 0; /* the optional keys' lookups leave "missing" lines behind */
    *out = m;
    return EDGESTT_OK;
}

/* ================================================================ sizes ==================== */

int est_pk_n_feat_frames(const est_pk_model *m, size_t n_samples) {
    size_t f = n_samples / (size_t)m->hp.hop_length + 1;
    return f > (size_t)(1 << 24) ? -1 : (int)f;
}

int est_pk_n_enc_frames(const est_pk_model *m, int tf) {
    (void)m;
    return est_conv_s2_out(est_conv_s2_out(est_conv_s2_out(tf)));
}

/* ================================================================ state ==================== */

static size_t umax(size_t a, size_t b) { return a > b ? a : b; }

/* Quantized-activation scratch for one product (0 for float weights). */
static size_t gemm_need(const est_pk_linear *L, int m) {
    size_t n = est_gemm_scratch_size(L->type, m, L->k);
    return n == SIZE_MAX ? 0 : n;
}

/* Labels per frame a beam hypothesis is planned for (TDT; more with a larger max_symbols: EDGESTT_E_LIMIT). */
#define EST_PK_BEAM_SYMBOLS 16

/* Reserve every buffer (measuring arena: only count). */
static int plan_state(est_arena *a, const est_pk_model *m, size_t max_samples, int n_threads, est_pk_state *s) {
    const est_pk_hparams *hp = &m->hp;
    const int tf = est_pk_n_feat_frames(m, max_samples);
    if (tf < 1) return EDGESTT_E_LIMIT;
    const int C = hp->sub_channels, d = hp->d_model;
    const int t1 = est_conv_s2_out(tf), f1 = est_conv_s2_out(hp->n_mels);
    const int t2 = est_conv_s2_out(t1), f2 = est_conv_s2_out(f1);
    const int t = est_conv_s2_out(t2);
    const int n_out = hp->n_vocab + 1 + hp->n_dur;
    const size_t F = sizeof(float);
    /* every buffer's element count must fit an int (the kernels count in int) */
    const uint64_t lim = INT32_MAX;
    const uint64_t sa = (uint64_t)t1 * (uint64_t)f1 * (uint64_t)C, sb = (uint64_t)t2 * (uint64_t)f2 * (uint64_t)C;
    const uint64_t td = (uint64_t)t * (uint64_t)d, pe = (uint64_t)(2 * t - 1) * (uint64_t)d;
    const uint64_t hid = (uint64_t)t * (uint64_t)umax((size_t)hp->d_ff, 2 * (size_t)d);
    const uint64_t fe = (uint64_t)hp->n_mels * (uint64_t)tf;
    if (sa > lim || sb > lim || td > lim || pe > lim || hid > lim || fe > lim ||
        (uint64_t)t * (uint64_t)hp->joint_hidden > lim)
        return EDGESTT_E_LIMIT;
    s->max_tf = tf;
    s->max_t = t;
    int st = est_arena_array(a, (size_t)fe, F, (void **)&s->feat);
    if (!st) st = est_arena_array(a, (size_t)sa, F, (void **)&s->sub_a);
    if (!st) st = est_arena_array(a, (size_t)sb, F, (void **)&s->sub_b);
    if (!st) st = est_arena_array(a, (size_t)td, F, (void **)&s->x);
    if (!st) st = est_arena_array(a, (size_t)td, F, (void **)&s->ln);
    if (!st) st = est_arena_array(a, (size_t)td, F, (void **)&s->q);
    if (!st) st = est_arena_array(a, (size_t)td, F, (void **)&s->k);
    if (!st) st = est_arena_array(a, (size_t)td, F, (void **)&s->v);
    if (!st) st = est_arena_array(a, (size_t)td, F, (void **)&s->att);
    if (!st) st = est_arena_array(a, (size_t)hid, F, (void **)&s->hid);
    if (!st) st = est_arena_array(a, (size_t)pe, F, (void **)&s->pe);
    if (!st) st = est_arena_array(a, (size_t)pe, F, (void **)&s->p);
    /* per-thread attention scratch: scores [max_t] and (q+u), (q+v) [2 d] */
    s->n_threads = n_threads;
    s->scr_stride = (size_t)t + 2 * (size_t)d;
    if (!st) st = est_arena_array(a, (size_t)n_threads * s->scr_stride, F, (void **)&s->scores);
    if (!st) st = est_arena_array(a, (size_t)t * (size_t)hp->joint_hidden, F, (void **)&s->encp);
    if (!st) st = est_arena_array(a, (size_t)hp->pred_layers * (size_t)hp->pred_hidden, F, (void **)&s->h);
    if (!st) st = est_arena_array(a, (size_t)hp->pred_layers * (size_t)hp->pred_hidden, F, (void **)&s->c);
    if (!st) st = est_arena_array(a, (size_t)hp->pred_hidden, F, (void **)&s->g);
    if (!st) st = est_arena_array(a, (size_t)hp->pred_hidden, F, (void **)&s->emb);
    if (!st) st = est_arena_array(a, 8 * (size_t)hp->pred_hidden, F, (void **)&s->gates);
    if (!st) st = est_arena_array(a, (size_t)hp->joint_hidden, F, (void **)&s->predp);
    if (!st) st = est_arena_array(a, (size_t)hp->joint_hidden, F, (void **)&s->jh);
    if (!st) st = est_arena_array(a, (size_t)n_out, F, (void **)&s->logits);
    /* beam search: 2 x EST_PK_MAX_BEAM hypotheses (tokens, frames, durations, probabilities, predictor) and
     * the log-probabilities of the expanded ones */
    const int per_frame = hp->n_dur ? (hp->max_symbols < EST_PK_BEAM_SYMBOLS ? hp->max_symbols : EST_PK_BEAM_SYMBOLS) : 1;
    const uint64_t ml = (uint64_t)t * (uint64_t)(per_frame > 1 ? per_frame : 1);
    if (ml > lim) return EDGESTT_E_LIMIT;
    s->max_len = (int)ml;
    const size_t LP = (size_t)hp->pred_layers * (size_t)hp->pred_hidden;
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < EST_PK_MAX_BEAM && !st; i++) {
            est_pk_hyp *y = &s->hyp[b][i];
            st = est_arena_array(a, (size_t)ml, sizeof(int32_t), (void **)&y->tok);
            if (!st) st = est_arena_array(a, (size_t)ml, sizeof(int32_t), (void **)&y->fr);
            if (!st) st = est_arena_array(a, (size_t)ml, sizeof(int32_t), (void **)&y->du);
            if (!st) st = est_arena_array(a, (size_t)ml, F, (void **)&y->p);
            if (!st) st = est_arena_array(a, LP, F, (void **)&y->h);
            if (!st) st = est_arena_array(a, LP, F, (void **)&y->c);
            if (!st) st = est_arena_array(a, (size_t)hp->joint_hidden, F, (void **)&y->predp);
        }
    if (!st) st = est_arena_array(a, (size_t)EST_PK_MAX_BEAM * (size_t)n_out, sizeof(double), (void **)&s->lp);
    /* fft work [n_fft][2], twiddles [n_fft/2][2], window [n_fft] */
    if (!st) st = est_arena_array(a, 4 * (size_t)hp->n_fft, sizeof(double), (void **)&s->fft);
    if (!st) st = est_arena_array(a, (size_t)hp->n_fft / 2 + 1, F, (void **)&s->power);
    size_t gs = 0;
    gs = umax(gs, gemm_need(&m->sub3, t2 * f2));
    gs = umax(gs, gemm_need(&m->sub6, t * est_conv_s2_out(f2)));
    gs = umax(gs, gemm_need(&m->sub_out, t));
    for (int i = 0; i < hp->n_layers; i++) {
        const est_pk_layer *L = &m->layers[i];
        gs = umax(gs, gemm_need(&L->ff1_1, t)), gs = umax(gs, gemm_need(&L->ff1_2, t));
        gs = umax(gs, gemm_need(&L->ff2_1, t)), gs = umax(gs, gemm_need(&L->ff2_2, t));
        gs = umax(gs, gemm_need(&L->q, t)), gs = umax(gs, gemm_need(&L->pos, 2 * t - 1));
        gs = umax(gs, gemm_need(&L->pw1, t)), gs = umax(gs, gemm_need(&L->pw2, t));
    }
    for (int l = 0; l < hp->pred_layers; l++) gs = umax(gs, gemm_need(&m->lstm_ih[l], 1));
    gs = umax(gs, gemm_need(&m->joint_enc, t));
    gs = umax(gs, gemm_need(&m->joint_out, 1));
    s->gemm_scratch_size = gs;
    s->gemm_scratch = NULL;
    if (!st && gs) st = est_arena_alloc(a, gs, &s->gemm_scratch);
    return st;
}

int est_pk_state_size(const est_pk_model *m, size_t max_samples, int n_threads, size_t *bytes) {
    if (!m || !bytes || n_threads < 1 || n_threads > 1024) return EDGESTT_E_INVALID_ARG;
    est_arena a;
    est_pk_state s;
    est_arena_init_measure(&a);
    int st = plan_state(&a, m, max_samples, n_threads, &s);
    if (st) return st;
    *bytes = est_arena_required(&a);
    return EDGESTT_OK;
}

int est_pk_state_init(est_pk_state *s, const est_pk_model *m, size_t max_samples, est_pool *pool, void *mem,
                      size_t mem_size) {
    if (!s || !m) return EDGESTT_E_INVALID_ARG;
    memset(s, 0, sizeof *s);
    est_arena_init(&s->arena, mem, mem ? mem_size : 0);
    const int nth = pool ? est_pool_threads(pool) : 1;
    int st = plan_state(&s->arena, m, max_samples, nth < 1 ? 1 : nth, s);
    if (st) return st;
    s->m = m;
    s->pool = pool;
    return EDGESTT_OK;
}

/* y [m][n] = x [m][k] . W^T (+ b) through the kernel table. */
static int lin(const est_pk_state *s, const est_pk_linear *L, const float *x, size_t ldx, int m, float *y,
               size_t ldy) {
    est_gemm_op op = {0};
    op.type = L->type, op.m = m, op.n = L->n, op.k = L->k, op.w = L->w, op.w_stride = L->stride;
    op.x = x, op.ldx = ldx, op.bias = L->b, op.y = y, op.ldy = ldy;
    return est_gemm(s->m->kt, s->pool, &op, s->gemm_scratch, s->gemm_scratch_size);
}

/* ================================================================ front end ================ */

/* In-place radix-2 complex FFT of n points (interleaved re/im), twiddles tw[j] = exp(-2 pi i j / n). */
static void fft_pow2(double *x, int n, const double *tw) {
    for (int i = 1, j = 0; i < n; i++) { /* bit reversal */
        int bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double tr = x[2 * i], ti = x[2 * i + 1];
            x[2 * i] = x[2 * j], x[2 * i + 1] = x[2 * j + 1];
            x[2 * j] = tr, x[2 * j + 1] = ti;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        const int half = len / 2, step = n / len;
        for (int i = 0; i < n; i += len) {
            for (int k = 0; k < half; k++) {
                const double wr = tw[2 * k * step], wi = tw[2 * k * step + 1];
                double *a = x + 2 * (i + k), *b = x + 2 * (i + k + half);
                const double br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - br, b[1] = a[1] - bi;
                a[0] += br, a[1] += bi;
            }
        }
    }
}

/* Pre-emphasised sample j of the signal (0 outside it). */
static inline double emph(const float *x, size_t n, int64_t j, float pre) {
    if (j < 0 || (uint64_t)j >= n) return 0.0;
    return j == 0 ? (double)x[0] : (double)(x[j] - pre * x[j - 1]);
}

int est_pk_features(est_pk_state *s, const float *samples, size_t n_samples, int *n_frames, int *n_valid) {
    const est_pk_model *m = s->m;
    const est_pk_hparams *hp = &m->hp;
    if ((!samples && n_samples) || !n_frames || !n_valid) return EDGESTT_E_INVALID_ARG;
    const int tf = est_pk_n_feat_frames(m, n_samples), len = tf - 1; /* NeMo: L = n // hop valid frames */
    if (tf < 1 || tf > s->max_tf) return EDGESTT_E_LIMIT;
    const int nfft = hp->n_fft, nb = nfft / 2 + 1, win = hp->win_length, n_mels = hp->n_mels;
    double *x = s->fft, *tw = s->fft + 2 * nfft, *w = s->fft + 3 * nfft;
    const double PI = 3.14159265358979323846;
    for (int j = 0; j < nfft / 2; j++) tw[2 * j] = cos(2 * PI * j / nfft), tw[2 * j + 1] = -sin(2 * PI * j / nfft);
    for (int i = 0; i < win; i++)
        w[i] = m->window ? (double)m->window[i] : (win > 1 ? 0.5 - 0.5 * cos(2 * PI * i / (win - 1)) : 1.0);
    /* frame f: padded samples [f hop, f hop + n_fft) = signal [f hop - n_fft/2, ...), window centred */
    const int64_t woff = (nfft - win) / 2;
    for (int f = 0; f < tf; f++) {
        const int64_t start = (int64_t)f * hp->hop_length - nfft / 2 + woff;
        for (int i = 0; i < nfft; i++) x[2 * i] = x[2 * i + 1] = 0.0;
        for (int i = 0; i < win; i++) x[2 * i] = emph(samples, n_samples, start + i, hp->preemph) * w[i];
        fft_pow2(x, nfft, tw); /* the window at offset 0 instead of woff: same magnitudes */
        for (int k = 0; k < nb; k++) s->power[k] = (float)(x[2 * k] * x[2 * k] + x[2 * k + 1] * x[2 * k + 1]);
        for (int mel = 0; mel < n_mels; mel++) {
            const float *fb = m->fb + (size_t)mel * (size_t)nb;
            float acc = 0.0f;
            for (int k = 0; k < nb; k++) acc += fb[k] * s->power[k];
            s->feat[(size_t)mel * (size_t)s->max_tf + (size_t)f] = logf(acc + LOG_GUARD);
        }
    }
    /* per-feature normalisation over the L valid frames (unbiased std, + 1e-5); frames >= L are 0 */
    for (int mel = 0; mel < n_mels; mel++) {
        float *r = s->feat + (size_t)mel * (size_t)s->max_tf;
        double sum = 0.0, sq = 0.0;
        for (int f = 0; f < len; f++) sum += r[f];
        const double mean = len > 0 ? sum / len : 0.0;
        for (int f = 0; f < len; f++) sq += (r[f] - mean) * (r[f] - mean);
        const double sd = len > 1 ? sqrt(sq / (len - 1)) : 0.0;
        const double den = (double)((float)sd + NORM_EPS);
        for (int f = 0; f < len; f++) r[f] = (float)((r[f] - mean) / den);
        for (int f = len; f < tf; f++) r[f] = 0.0f;
    }
    *n_frames = tf;
    *n_valid = len;
    return EDGESTT_OK;
}

/* ================================================================ encoder ================== */

/* x += scale * y over [t][d] (contiguous). */
static void add_scaled(float *x, const float *y, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] += scale * y[i];
}

/* Half-step feed-forward: x += 0.5 * W2 silu(W1 LN(x)). */
static int ff_block(est_pk_state *s, const est_pk_norm *nm, const est_pk_linear *l1, const est_pk_linear *l2, int t) {
    const est_kernels *kt = s->m->kt;
    const int d = s->m->hp.d_model, ff = s->m->hp.d_ff;
    for (int i = 0; i < t; i++) kt->layer_norm(s->ln + (size_t)i * d, s->x + (size_t)i * d, nm->g, nm->b, d, LN_EPS);
    int st = lin(s, l1, s->ln, (size_t)d, t, s->hid, (size_t)ff);
    if (st) return st;
    est_silu__ref(s->hid, s->hid, t * ff);
    st = lin(s, l2, s->hid, (size_t)ff, t, s->att, (size_t)d);
    if (st) return st;
    add_scaled(s->x, s->att, (size_t)t * (size_t)d, 0.5f);
    return EDGESTT_OK;
}

typedef struct att_job {
    est_pk_state *s;
    const est_pk_layer *L;
    int t;
} att_job;

/* Attention rows of a share of the (head, row) pairs; task i uses thread scratch i. */
static void att_task(void *ctx, int task, int n_tasks) {
    const att_job *j = ctx;
    est_pk_state *s = j->s;
    const est_pk_layer *L = j->L;
    const est_kernels *kt = s->m->kt;
    const int t = j->t, d = s->m->hp.d_model, H = s->m->hp.n_heads, dk = d / H;
    const int64_t n_pairs = (int64_t)H * t, p0 = n_pairs * task / n_tasks, p1 = n_pairs * (task + 1) / n_tasks;
    float *scores = s->scores + (size_t)task * s->scr_stride, *qu = scores + t, *qv = qu + d;
    const float scale = 1.0f / sqrtf((float)dk);
    for (int64_t pi = p0; pi < p1; pi++) {
        const int h = (int)(pi / t), i = (int)(pi % t);
        const size_t ho = (size_t)h * (size_t)dk;
        const float *qi = s->q + (size_t)i * d + ho;
        for (int k = 0; k < dk; k++) qu[k] = qi[k] + L->pos_u[ho + k], qv[k] = qi[k] + L->pos_v[ho + k];
        /* score(i, j) = (q+u).k_j + (q+v).p[T-1-i+j]  (rel_shift: relative position i - j) */
        for (int jj = 0; jj < t; jj++)
            scores[jj] = kt->dot(qu, s->k + (size_t)jj * d + ho, dk) + kt->dot(qv, s->p + (size_t)(t - 1 - i + jj) * d + ho, dk);
        kt->softmax(scores, t, scale);
        float *o = s->att + (size_t)i * d + ho;
        memset(o, 0, (size_t)dk * sizeof(float));
        for (int jj = 0; jj < t; jj++) kt->axpy(o, scores[jj], s->v + (size_t)jj * d + ho, dk);
    }
}

/* Relative-position multi-head self-attention: x += Wo attn(LN(x)). */
static int att_block(est_pk_state *s, const est_pk_layer *L, int t) {
    const est_kernels *kt = s->m->kt;
    const int d = s->m->hp.d_model, np = 2 * t - 1;
    for (int i = 0; i < t; i++) kt->layer_norm(s->ln + (size_t)i * d, s->x + (size_t)i * d, L->ln_att.g, L->ln_att.b, d, LN_EPS);
    int st = lin(s, &L->q, s->ln, (size_t)d, t, s->q, (size_t)d);
    if (!st) st = lin(s, &L->k, s->ln, (size_t)d, t, s->k, (size_t)d);
    if (!st) st = lin(s, &L->v, s->ln, (size_t)d, t, s->v, (size_t)d);
    if (!st) st = lin(s, &L->pos, s->pe, (size_t)d, np, s->p, (size_t)d);
    if (st) return st;
    att_job j = {s, L, t};
    if (s->pool && s->n_threads > 1 && (int64_t)t * t * d >= (1 << 16)) est_pool_run(s->pool, att_task, &j, s->n_threads);
    else att_task(&j, 0, 1);
    st = lin(s, &L->o, s->att, (size_t)d, t, s->q, (size_t)d);
    if (st) return st;
    add_scaled(s->x, s->q, (size_t)t * (size_t)d, 1.0f);
    return EDGESTT_OK;
}

/* Convolution module: x += pw2 silu(bn(dw(glu(pw1 LN(x))))). */
static int conv_block(est_pk_state *s, const est_pk_layer *L, int t) {
    const est_kernels *kt = s->m->kt;
    const int d = s->m->hp.d_model, K = s->m->hp.conv_kernel;
    for (int i = 0; i < t; i++) kt->layer_norm(s->ln + (size_t)i * d, s->x + (size_t)i * d, L->ln_conv.g, L->ln_conv.b, d, LN_EPS);
    int st = lin(s, &L->pw1, s->ln, (size_t)d, t, s->hid, 2 * (size_t)d);
    if (st) return st;
    for (int i = 0; i < t; i++) est_glu__ref(s->q + (size_t)i * d, s->hid + (size_t)i * 2 * d, s->hid + (size_t)i * 2 * d + d, d);
    est_dwconv1d__ref(s->k, (size_t)d, s->q, (size_t)d, t, d, L->dw_w, K, (K - 1) / 2, L->dw_b);
    if (L->bn_w) est_batch_norm__ref(s->k, t, d, L->bn_mean, L->bn_var, L->bn_w, L->bn_b, BN_EPS);
    est_silu__ref(s->k, s->k, t * d);
    st = lin(s, &L->pw2, s->k, (size_t)d, t, s->att, (size_t)d);
    if (st) return st;
    add_scaled(s->x, s->att, (size_t)t * (size_t)d, 1.0f);
    return EDGESTT_OK;
}

int est_pk_encode(est_pk_state *s, int tf, int *n_out, float *sub_out) {
    /* tf = the L valid feature frames: computing on them alone gives NeMo's masked result for the
     * valid rows (padded rows are zeroed before every conv and masked as keys there) */
    const est_pk_model *m = s->m;
    const est_pk_hparams *hp = &m->hp;
    if (tf < 0 || tf > s->max_tf || !n_out) return EDGESTT_E_INVALID_ARG;
    *n_out = 0;
    if (tf == 0) return EDGESTT_OK; /* under one hop of audio: no frames */
    const int C = hp->sub_channels, d = hp->d_model;
    const int t1 = est_conv_s2_out(tf), f1 = est_conv_s2_out(hp->n_mels);
    const int t2 = est_conv_s2_out(t1), f2 = est_conv_s2_out(f1);
    const int t = est_conv_s2_out(t2), f3 = est_conv_s2_out(f2);
    /* dw_striding: conv 0 + ReLU, (dw 2, pw 3, ReLU), (dw 5, pw 6, ReLU); image = time x mel */
    est_conv2d_1ch_3x3s2__ref(s->sub_a, s->feat, 1, (size_t)s->max_tf, tf, hp->n_mels, C, m->sub0_w, m->sub0_b);
    est_relu__ref(s->sub_a, s->sub_a, t1 * f1 * C);
    est_dwconv2d_3x3s2__ref(s->sub_b, s->sub_a, t1, f1, C, m->sub2_w, m->sub2_b);
    int st = lin(s, &m->sub3, s->sub_b, (size_t)C, t2 * f2, s->sub_a, (size_t)C);
    if (st) return st;
    est_relu__ref(s->sub_a, s->sub_a, t2 * f2 * C);
    est_dwconv2d_3x3s2__ref(s->sub_b, s->sub_a, t2, f2, C, m->sub5_w, m->sub5_b);
    st = lin(s, &m->sub6, s->sub_b, (size_t)C, t * f3, s->sub_a, (size_t)C);
    if (st) return st;
    est_relu__ref(s->sub_a, s->sub_a, t * f3 * C);
    /* NeMo flattens (channel, freq) per frame: [t][f3][C] -> [t][C][f3] */
    for (int i = 0; i < t; i++)
        for (int f = 0; f < f3; f++)
            for (int c = 0; c < C; c++)
                s->sub_b[((size_t)i * C + c) * f3 + f] = s->sub_a[((size_t)i * f3 + f) * C + c];
    st = lin(s, &m->sub_out, s->sub_b, (size_t)C * f3, t, s->x, (size_t)d);
    if (st) return st;
    if (sub_out) memcpy(sub_out, s->x, (size_t)t * d * sizeof(float));
    if (hp->xscaling) {
        const float xs = sqrtf((float)d);
        for (size_t i = 0; i < (size_t)t * d; i++) s->x[i] *= xs;
    }
    /* sinusoidal relative positions T-1 .. -(T-1) */
    const float lscale = -(float)(log(10000.0) / d);
    for (int r = 0; r < 2 * t - 1; r++) {
        const float pos = (float)(t - 1 - r);
        float *pe = s->pe + (size_t)r * d;
        for (int i = 0; i < d / 2; i++) {
            const float a = pos * expf((float)(2 * i) * lscale);
            pe[2 * i] = sinf(a);
            pe[2 * i + 1] = cosf(a);
        }
    }
    for (int l = 0; l < hp->n_layers; l++) {
        const est_pk_layer *L = &m->layers[l];
        st = ff_block(s, &L->ln_ff1, &L->ff1_1, &L->ff1_2, t);
        if (!st) st = att_block(s, L, t);
        if (!st) st = conv_block(s, L, t);
        if (!st) st = ff_block(s, &L->ln_ff2, &L->ff2_1, &L->ff2_2, t);
        if (st) return st;
        for (int i = 0; i < t; i++)
            m->kt->layer_norm(s->x + (size_t)i * d, s->x + (size_t)i * d, L->ln_out.g, L->ln_out.b, d, LN_EPS);
    }
    *n_out = t;
    return EDGESTT_OK;
}

/* ================================================================ predictor, joint ========= */

int est_pk_project_enc(est_pk_state *s, int t) {
    if (t < 0 || t > s->max_t) return EDGESTT_E_INVALID_ARG;
    if (t == 0) return EDGESTT_OK;
    const est_pk_hparams *hp = &s->m->hp;
    return lin(s, &s->m->joint_enc, s->x, (size_t)hp->d_model, t, s->encp, (size_t)hp->joint_hidden);
}

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

/* One LSTM step over all layers from input x [P] (NULL = zeros), updating s->h, s->c; s->g = top h. */
static int lstm_step(est_pk_state *s, const float *x) {
    const est_pk_model *m = s->m;
    const int P = m->hp.pred_hidden;
    const float *in = x;
    int st = EDGESTT_OK;
    for (int l = 0; l < m->hp.pred_layers && !st; l++) {
        float *h = s->h + (size_t)l * P, *c = s->c + (size_t)l * P;
        float *gi = s->gates, *gh = s->gates + 4 * (size_t)P;
        /* gates = W_ih in + b_ih + W_hh h + b_hh, in PyTorch's order i, f, g, o */
        if (in) {
            st = lin(s, &m->lstm_ih[l], in, (size_t)P, 1, gi, 4 * (size_t)P);
        } else {
            for (int j = 0; j < 4 * P; j++) gi[j] = m->lstm_ih[l].b ? m->lstm_ih[l].b[j] : 0.0f;
        }
        if (!st) st = lin(s, &m->lstm_hh[l], h, (size_t)P, 1, gh, 4 * (size_t)P);
        if (st) break;
        for (int j = 0; j < P; j++) {
            const float ig = sigm(gi[j] + gh[j]), fg = sigm(gi[P + j] + gh[P + j]);
            const float gg = tanhf(gi[2 * P + j] + gh[2 * P + j]), og = sigm(gi[3 * P + j] + gh[3 * P + j]);
            c[j] = fg * c[j] + ig * gg;
            h[j] = og * tanhf(c[j]);
        }
        in = h;
    }
    if (st) return st;
    memcpy(s->g, s->h + (size_t)(m->hp.pred_layers - 1) * P, (size_t)P * sizeof(float));
    return lin(s, &m->joint_pred, s->g, (size_t)P, 1, s->predp, (size_t)m->hp.joint_hidden);
}

void est_pk_pred_reset(est_pk_state *s) {
    const size_t n = (size_t)s->m->hp.pred_layers * (size_t)s->m->hp.pred_hidden;
    memset(s->h, 0, n * sizeof(float));
    memset(s->c, 0, n * sizeof(float));
    lstm_step(s, NULL); /* start of sequence: zero embedding */
}

void est_pk_pred_step(est_pk_state *s, int token) {
    const est_pk_hparams *hp = &s->m->hp;
    if (token < 0 || token > hp->n_vocab) {
        lstm_step(s, NULL);
        return;
    }
    const uint8_t *row = (const uint8_t *)s->m->embed + (size_t)token * s->m->embed_stride;
    est_dequantize_row(s->m->embed_type, row, s->emb, hp->pred_hidden);
    lstm_step(s, s->emb);
}

void est_pk_joint(est_pk_state *s, int t) {
    const est_pk_hparams *hp = &s->m->hp;
    const int J = hp->joint_hidden;
    const float *e = s->encp + (size_t)t * (size_t)J;
    for (int j = 0; j < J; j++) {
        const float v = e[j] + s->predp[j];
        s->jh[j] = v > 0.0f ? v : 0.0f;
    }
    lin(s, &s->m->joint_out, s->jh, (size_t)J, 1, s->logits, (size_t)s->m->joint_out.n);
}

/* log(sum exp(x[i])) over n values, in double. */
static double lse(const float *x, int n) {
    double mx = x[0], sum = 0.0;
    for (int i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    for (int i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    return mx + log(sum);
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* Greedy decoding, NeMo's rules (models/parakeet-gguf.md).  TDT as NeMo's default greedy_batch (label
 * looping): token k and duration d at frame t; blank: t += max(d, 1); else emit and advance the
 * predictor, run = consecutive labels at this frame, t += d, and t += 1 more when run reaches
 * max_symbols with d == 0.  RNN-T: per frame up to max_symbols tokens, blank ends the frame. */
static int greedy(est_pk_state *s, int t_end, int32_t *tokens, int32_t *frames, int32_t *durs, float *probs,
                  int cap, int *n, double *score) {
    const est_pk_hparams *hp = &s->m->hp;
    const int blank = hp->n_vocab, ms = hp->max_symbols;
    if (!n || t_end < 0 || t_end > s->max_t || cap < 0 || (cap && !tokens)) return EDGESTT_E_INVALID_ARG;
    int cnt = 0, run = 0, last_t = -1;
    double total = 0.0;
    est_pk_pred_reset(s);
    for (int t = 0; t < t_end;) {
        est_pk_joint(s, t);
        const int k = argmax(s->logits, hp->n_vocab + 1);
        const int j = hp->n_dur ? argmax(s->logits + hp->n_vocab + 1, hp->n_dur) : 0;
        const int d = hp->n_dur ? hp->durations[j] : 0;
        double lk = 0.0;
        if (probs || score) {
            lk = s->logits[k] - lse(s->logits, hp->n_vocab + 1);
            if (hp->n_dur) total += s->logits[hp->n_vocab + 1 + j] - lse(s->logits + hp->n_vocab + 1, hp->n_dur);
            total += lk;
        }
        if (k == blank) {
            t += d > 0 && hp->n_dur ? d : 1;
            continue;
        }
        if (cnt >= cap) return EDGESTT_E_LIMIT;
        tokens[cnt] = k;
        if (frames) frames[cnt] = t;
        if (durs) durs[cnt] = d;
        if (probs) probs[cnt] = (float)exp(lk);
        cnt++;
        est_pk_pred_step(s, k);
        run = last_t == t ? run + 1 : 1;
        last_t = t;
        t += d;
        if (run >= ms && d == 0) t += 1;
    }
    *n = cnt;
    if (score) *score = total;
    return EDGESTT_OK;
}

int est_pk_greedy(est_pk_state *s, int t_end, int32_t *tokens, int32_t *frames, int32_t *durs, int cap, int *n) {
    return greedy(s, t_end, tokens, frames, durs, NULL, cap, n, NULL);
}

/* log(exp(a) + exp(b)) */
static double log_add(double a, double b) {
    const double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi + log1p(exp(lo - hi));
}

/* Copy hypothesis x's tokens and predictor into y. */
static void hyp_copy(const est_pk_state *s, est_pk_hyp *y, const est_pk_hyp *x) {
    const size_t LP = (size_t)s->m->hp.pred_layers * (size_t)s->m->hp.pred_hidden;
    const size_t n = (size_t)x->n;
    memcpy(y->tok, x->tok, n * sizeof(int32_t));
    memcpy(y->fr, x->fr, n * sizeof(int32_t));
    memcpy(y->du, x->du, n * sizeof(int32_t));
    memcpy(y->p, x->p, n * sizeof(float));
    memcpy(y->h, x->h, LP * sizeof(float));
    memcpy(y->c, x->c, LP * sizeof(float));
    memcpy(y->predp, x->predp, (size_t)s->m->hp.joint_hidden * sizeof(float));
    y->score = x->score, y->t = x->t, y->run = x->run, y->last = x->last, y->n = x->n;
}

/* A kept candidate: hypothesis `parent` carried (k < 0) or expanded with token k (blank = V) and duration
 * index j. */
typedef struct pk_cand { double score; int parent, k, j; } pk_cand;

/* Modified beam search (models/parakeet-gguf.md "Beam search", tests/reference/parakeet_ref.py beam_search):
 * each round expands the hypotheses at the smallest unfinished frame, keeps the `beam` best of the
 * expansions and the carried hypotheses (ties: the earlier enumerated), merges equal (frame, tokens) by
 * log-add in rank order and sorts stably by score. */
static int beam_search(est_pk_state *s, int t_end, int beam, int32_t *tokens, int32_t *frames, int32_t *durs,
                       float *probs, int cap, int *n, double *score) {
    const est_pk_hparams *hp = &s->m->hp;
    const int V = hp->n_vocab, D = hp->n_dur, ms = hp->max_symbols, n_out = V + 1 + D;
    const size_t LP = (size_t)hp->pred_layers * (size_t)hp->pred_hidden, J = (size_t)hp->joint_hidden;
    if (!n || t_end < 0 || t_end > s->max_t || cap < 0 || (cap && !tokens)) return EDGESTT_E_INVALID_ARG;
    est_pk_hyp *cur = s->hyp[0], *nxt = s->hyp[1];
    int nh = 1;
    est_pk_pred_reset(s);
    memcpy(cur[0].h, s->h, LP * sizeof(float));
    memcpy(cur[0].c, s->c, LP * sizeof(float));
    memcpy(cur[0].predp, s->predp, J * sizeof(float));
    cur[0].score = 0.0, cur[0].t = 0, cur[0].run = 0, cur[0].last = -1, cur[0].n = 0;
    for (;;) {
        int ts = t_end;
        for (int i = 0; i < nh; i++)
            if (cur[i].t < ts) ts = cur[i].t;
        if (ts >= t_end) break;
        /* enumerate candidates in list order, keeping the best `beam` (strictly better displaces) */
        pk_cand kept[EST_PK_MAX_BEAM];
        int nk = 0;
        for (int i = 0; i < nh; i++) {
            const est_pk_hyp *h = &cur[i];
            if (h->t != ts) {
                if (nk < beam || h->score > kept[nk - 1].score) {
                    int pos = nk < beam ? nk : beam - 1;
                    while (pos > 0 && kept[pos - 1].score < h->score) pos--;
                    for (int q = (nk < beam ? nk : beam - 1); q > pos; q--) kept[q] = kept[q - 1];
                    kept[pos] = (pk_cand){h->score, i, -1, 0};
                    if (nk < beam) nk++;
                }
                continue;
            }
            memcpy(s->predp, h->predp, J * sizeof(float));
            est_pk_joint(s, ts);
            double *lp = s->lp + (size_t)i * (size_t)n_out, *ld = lp + V + 1;
            const double lt = lse(s->logits, V + 1), ldn = D ? lse(s->logits + V + 1, D) : 0.0;
            double best_d = D ? -HUGE_VAL : 0.0;
            for (int k = 0; k <= V; k++) lp[k] = s->logits[k] - lt;
            for (int j = 0; j < D; j++) {
                ld[j] = s->logits[V + 1 + j] - ldn;
                if (ld[j] > best_d) best_d = ld[j];
            }
            for (int k = 0; k <= V; k++) {
                if (nk == beam && h->score + lp[k] + best_d <= kept[nk - 1].score) continue;
                for (int j = 0; j < (D ? D : 1); j++) {
                    const double sc = h->score + lp[k] + (D ? ld[j] : 0.0);
                    if (nk == beam && !(sc > kept[nk - 1].score)) continue;
                    int pos = nk < beam ? nk : beam - 1;
                    while (pos > 0 && kept[pos - 1].score < sc) pos--;
                    for (int q = (nk < beam ? nk : beam - 1); q > pos; q--) kept[q] = kept[q - 1];
                    kept[pos] = (pk_cand){sc, i, k, j};
                    if (nk < beam) nk++;
                }
            }
        }
        /* materialise in rank order, folding equal (frame, tokens) into the earlier one */
        int nn = 0;
        for (int c = 0; c < nk; c++) {
            const pk_cand *cd = &kept[c];
            const est_pk_hyp *x = &cur[cd->parent];
            const int label = cd->k >= 0 && cd->k != V;
            const int d = cd->k >= 0 && D ? hp->durations[cd->j] : 0;
            int t2 = x->t, run = x->run;
            if (cd->k == V) {
                t2 = ts + (D && d > 0 ? d : 1);
            } else if (label && !D) {
                t2 = ts + 1, run = 1;
            } else if (label) {
                run = x->last == ts ? x->run + 1 : 1;
                t2 = ts + d;
                if (run >= ms && d == 0) t2 += 1;
            }
            const int n2 = x->n + label;
            int q = 0;
            for (; q < nn; q++) {
                const est_pk_hyp *o = &nxt[q];
                if (o->t == t2 && o->n == n2 && !memcmp(o->tok, x->tok, (size_t)x->n * sizeof(int32_t)) &&
                    (!label || o->tok[x->n] == cd->k))
                    break;
            }
            if (q < nn) {
                nxt[q].score = log_add(nxt[q].score, cd->score);
                continue;
            }
            if (n2 > s->max_len) return EDGESTT_E_LIMIT;
            est_pk_hyp *y = &nxt[nn++];
            hyp_copy(s, y, x);
            y->score = cd->score, y->t = t2, y->run = run;
            if (label) {
                const double *lp = s->lp + (size_t)cd->parent * (size_t)n_out;
                y->tok[x->n] = cd->k, y->fr[x->n] = ts, y->du[x->n] = D ? d : 0;
                y->p[x->n] = (float)exp(lp[cd->k]);
                y->n = n2, y->last = ts;
                memcpy(s->h, x->h, LP * sizeof(float));
                memcpy(s->c, x->c, LP * sizeof(float));
                est_pk_pred_step(s, cd->k);
                memcpy(y->h, s->h, LP * sizeof(float));
                memcpy(y->c, s->c, LP * sizeof(float));
                memcpy(y->predp, s->predp, J * sizeof(float));
            }
        }
        /* stable sort by score, best first (swap the slots' contents: pointers move with them) */
        for (int i = 1; i < nn; i++)
            for (int q = i; q > 0 && nxt[q - 1].score < nxt[q].score; q--) {
                const est_pk_hyp tmp = nxt[q];
                nxt[q] = nxt[q - 1];
                nxt[q - 1] = tmp;
            }
        est_pk_hyp *sw = cur;
        cur = nxt, nxt = sw;
        nh = nn;
    }
    const est_pk_hyp *b = &cur[0];
    if (b->n > cap) return EDGESTT_E_LIMIT;
    for (int i = 0; i < b->n; i++) {
        tokens[i] = b->tok[i];
        if (frames) frames[i] = b->fr[i];
        if (durs) durs[i] = b->du[i];
        if (probs) probs[i] = b->p[i];
    }
    *n = b->n;
    if (score) *score = b->score;
    return EDGESTT_OK;
}

int est_pk_decode(est_pk_state *s, int t, int beam, int32_t *tokens, int32_t *frames, int32_t *durs, float *probs,
                  int cap, int *n, double *score) {
    if (!s || !n || beam < 1 || beam > EST_PK_MAX_BEAM) return EDGESTT_E_INVALID_ARG;
    *n = 0;
    if (beam == 1) return greedy(s, t, tokens, frames, durs, probs, cap, n, score);
    return beam_search(s, t, beam, tokens, frames, durs, probs, cap, n, score);
}

/* ================================================================ text ===================== */

int est_pk_piece(const est_pk_model *m, int id, const char **s, size_t *len) {
    if (!m->tokens || id < 0 || (uint64_t)id >= m->n_tokens) return EDGESTT_E_INVALID_ARG;
    const uint8_t *p = m->tokens;
    const char *str = NULL;
    uint64_t n = 0;
    for (int i = 0; i <= id; i++)
        if (!est_gguf_next_str(&p, m->image_end, &str, &n)) return EDGESTT_E_FORMAT;
    *s = str;
    *len = (size_t)n;
    return EDGESTT_OK;
}

/* Value of a byte piece "<0xNN>", or -1. */
static int byte_piece(const char *s, size_t n) {
    if (n != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        const char c = s[i];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

int est_pk_detokenize(const est_pk_model *m, const int32_t *ids, int n, char *out, size_t cap, size_t *len) {
    if ((n && !ids) || (cap && !out) || !len) return EDGESTT_E_INVALID_ARG;
    size_t w = 0;
    for (int i = 0; i < n; i++) {
        const char *s;
        size_t sl;
        if (ids[i] == m->hp.n_vocab) continue; /* blank */
        int st = est_pk_piece(m, ids[i], &s, &sl);
        if (st) return st;
        const int b = byte_piece(s, sl);
        for (size_t k = 0; k < sl; k++) {
            char c;
            if (b >= 0) {
                c = (char)b;
                k = sl;
            } else if (k + 2 < sl && (uint8_t)s[k] == 0xE2 && (uint8_t)s[k + 1] == 0x96 && (uint8_t)s[k + 2] == 0x81) {
                k += 2; /* U+2581 word boundary */
                if (w == 0) continue; /* no leading space */
                c = ' ';
            } else {
                c = s[k];
            }
            if (w + 1 < cap) out[w] = c;
            w++;
        }
    }
    if (cap) out[w < cap ? w : cap - 1] = 0;
    *len = w;
    return w < cap ? EDGESTT_OK : EDGESTT_E_NOMEM;
}

/* ================================================================ whole pipeline ========== */

int est_pk_transcribe_beam(est_pk_state *s, const float *samples, size_t n_samples, int beam, int32_t *tokens,
                           int32_t *frames, int32_t *durs, float *probs, int cap, int *n, double *score) {
    int tf = 0, len = 0, t = 0;
    if (!s || !n) return EDGESTT_E_INVALID_ARG;
    *n = 0;
    int st = est_pk_features(s, samples, n_samples, &tf, &len);
    if (!st) st = est_pk_encode(s, len, &t, NULL);
    if (!st) st = est_pk_project_enc(s, t);
    if (!st) st = est_pk_decode(s, t, beam, tokens, frames, durs, probs, cap, n, score);
    return st;
}

int est_pk_transcribe(est_pk_state *s, const float *samples, size_t n_samples, int32_t *tokens, int32_t *frames,
                      int32_t *durs, int cap, int *n) {
    int tf = 0, len = 0, t = 0;
    if (!s || !n) return EDGESTT_E_INVALID_ARG;
    *n = 0;
    int st = est_pk_features(s, samples, n_samples, &tf, &len);
    if (!st) st = est_pk_encode(s, len, &t, NULL);
    if (!st) st = est_pk_project_enc(s, t);
    if (!st) st = est_pk_greedy(s, t, tokens, frames, durs, cap, n);
    return st;
}
