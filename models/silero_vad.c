/*
 * silero_vad.c - Silero VAD v5, 16 kHz branch, one 512-sample window at a time (see silero_vad.h).
 *
 * The network, as the ONNX graph computes it (tests/reference/silero_ref.py is the reference):
 *   x (640)    = 64 context samples + 512 new samples, reflect-padded by 64 on the right
 *   spec       = basis (258 x 256) applied to 4 frames of 256 samples, hop 128 (a strided conv)
 *   mag (129x4) = sqrt(re^2 + im^2)
 *   encoder    = conv1d k3 pad 1 + ReLU: 129->128 (stride 1), ->64 (2), ->64 (2), ->128 (1);
 *                lengths 4, 4, 2, 1, 1
 *   LSTM cell  = gates W_ih x + b_ih + W_hh h + b_hh (i, f, g, o); c = sf c + si tg; h = so tanh c
 *   prob       = sigmoid(dec_w . relu(h) + dec_b)  (the mean over one frame is the frame itself)
 * Every product is a dot of contiguous rows (the STFT frames in place, each conv through im2col
 * columns), run by the kernel table's dot (SIMD where the CPU has it).  Arithmetic is float32;
 * the reference (float64) agrees within ~2e-6 per window.
 */
#include <math.h>

#include "silero_vad.h"

#include "../core/gguf.h"
#include "../kernels/kernels.h"

#define MAX_KV 256      /* the shipped file has 15 pairs and 15 tensors */
#define MAX_TENSORS 64

/* ---- binding --------------------------------------------------------------------------------- */

typedef struct want {
    const char *name;
    int n_dims;
    int64_t ne[3];      /* ggml order */
} want;

static const want WANT[15] = {
    {"stft.forward_basis_buffer", 3, {256, 1, 258}},
    {"encoder.0.reparam_conv.weight", 3, {3, 129, 128}},
    {"encoder.0.reparam_conv.bias", 1, {128, 1, 1}},
    {"encoder.1.reparam_conv.weight", 3, {3, 128, 64}},
    {"encoder.1.reparam_conv.bias", 1, {64, 1, 1}},
    {"encoder.2.reparam_conv.weight", 3, {3, 64, 64}},
    {"encoder.2.reparam_conv.bias", 1, {64, 1, 1}},
    {"encoder.3.reparam_conv.weight", 3, {3, 64, 128}},
    {"encoder.3.reparam_conv.bias", 1, {128, 1, 1}},
    {"decoder.rnn.weight_ih", 2, {128, 512, 1}},
    {"decoder.rnn.weight_hh", 2, {128, 512, 1}},
    {"decoder.rnn.bias_ih", 1, {512, 1, 1}},
    {"decoder.rnn.bias_hh", 1, {512, 1, 1}},
    {"decoder.decoder.2.weight", 3, {1, 128, 1}},
    {"decoder.decoder.2.bias", 1, {1, 1, 1}},
};

/* Hyper-parameter keys and the only values this implementation computes. */
static const struct { const char *key; uint32_t value; } HPARAMS[] = {
    {"silero-vad.version", 5},  {"silero-vad.sample_rate", 16000}, {"silero-vad.window", 512},
    {"silero-vad.context", 64}, {"silero-vad.n_fft", 256},         {"silero-vad.hop", 128},
    {"silero-vad.n_hidden", 128},
};

/* Architecture and hyper-parameters of a filled table. */
static int check_keys(const est_gguf *g, edgestt_diag *diag) {
    const char *s;
    size_t len;
    size_t n_kv = (size_t)g->lay.n_kv;
    int st = est_gguf_get_str(g->kv, n_kv, "general.architecture", &s, &len, diag);
    if (st == EDGESTT_E_NOT_FOUND) return est_diag(diag, EDGESTT_E_FORMAT, "vad: general.architecture is missing");
    if (st) return st;
    if (len != 10 || memcmp(s, "silero-vad", 10))
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "vad: architecture '%.*s' is not silero-vad", (int)(len > 64 ? 64 : len), s);
    for (size_t i = 0; i < sizeof HPARAMS / sizeof HPARAMS[0]; i++) {
        uint32_t v;
        st = est_gguf_get_u32(g->kv, n_kv, HPARAMS[i].key, &v, diag);
        if (st == EDGESTT_E_NOT_FOUND) return est_diag(diag, EDGESTT_E_FORMAT, "vad: %s is missing", HPARAMS[i].key);
        if (st) return st;
        if (v != HPARAMS[i].value)
            return est_diag(diag, EDGESTT_E_UNSUPPORTED, "vad: %s = %u (only %u is supported)", HPARAMS[i].key, v,
                            HPARAMS[i].value);
    }
    return EDGESTT_OK;
}

/* Find the tensor of WANT[k], check type, shape and alignment, return its data. */
static int bind_one(const est_gguf *g, int k, const float **out, edgestt_diag *diag) {
    const want *w = &WANT[k];
    const est_file_tensor *t = NULL;
    for (uint64_t i = 0; i < g->lay.n_tensors; i++) {
        if (!est_file_tensor_is(&g->tensors[i], w->name)) continue;
        if (t) return est_diag(diag, EDGESTT_E_MODEL, "vad: tensor '%s' appears twice", w->name);
        t = &g->tensors[i];
    }
    if (!t) return est_diag(diag, EDGESTT_E_MODEL, "vad: tensor '%s' is missing", w->name);
    if (t->type != EDGESTT_TYPE_F32)
        return est_diag(diag, EDGESTT_E_MODEL, "vad: tensor '%s' has type %s (f32 expected)", w->name,
                        edgestt_type_name(t->type));
    if (t->n_dims != w->n_dims || t->ne[0] != w->ne[0] || t->ne[1] != w->ne[1] || t->ne[2] != w->ne[2] || t->ne[3] != 1)
        return est_diag(diag, EDGESTT_E_MODEL, "vad: tensor '%s' is [%lld %lld %lld %lld] (want [%lld %lld %lld])",
                        w->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                        (long long)w->ne[0], (long long)w->ne[1], (long long)w->ne[2]);
    if ((uintptr_t)t->data % sizeof(float))
        return est_diag(diag, EDGESTT_E_FORMAT, "vad: tensor '%s' data is not 4-byte aligned", w->name);
    *out = (const float *)(const void *)t->data;
    return EDGESTT_OK;
}

/* Non-finite weights would make every probability NaN: refuse them at open. */
static int check_finite(const float *p, size_t n, const char *name, edgestt_diag *diag) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) return est_diag(diag, EDGESTT_E_MODEL, "vad: tensor '%s' element %zu is not finite", name, i);
    return EDGESTT_OK;
}

int est_silero_bind(const uint8_t *data, size_t size, est_arena *a, est_silero *w, edgestt_diag *diag) {
    est_gguf_layout lay;
    memset(w, 0, sizeof *w);
    if (size < 4 || est_rd_u32(data) != EST_GGUF_MAGIC)
        return est_diag(diag, size < 4 ? EDGESTT_E_TRUNCATED : EDGESTT_E_FORMAT, "vad: not a GGUF file");
    int st = est_gguf_scan(data, size, &lay, NULL, NULL, diag);
    if (st) return st;
    if (lay.n_kv > MAX_KV || lay.n_tensors > MAX_TENSORS)
        return est_diag(diag, EDGESTT_E_LIMIT, "vad: %llu keys / %llu tensors (at most %d / %d)",
                        (unsigned long long)lay.n_kv, (unsigned long long)lay.n_tensors, MAX_KV, MAX_TENSORS);
    size_t n_kv, n_t;
    if ((st = est_gguf_table_counts(&lay, &n_kv, &n_t)) != 0) return est_diag(diag, st, "vad: table size");
    size_t mark = est_arena_mark(a);
    void *kv = NULL, *tensors = NULL;
    if ((st = est_arena_scratch(a, n_kv * sizeof(est_gguf_kv) + 1, &kv)) != 0 ||
        (st = est_arena_scratch(a, n_t * sizeof(est_file_tensor) + 1, &tensors)) != 0)
        return est_diag(diag, st, "vad: no room for the GGUF tables");
    if (est_arena_measuring(a)) {
        est_arena_release(a, mark);
        return EDGESTT_OK;
    }
    est_gguf g;
    st = est_gguf_fill(data, size, &lay, (est_gguf_kv *)kv, (est_file_tensor *)tensors, &g, diag);
    if (!st) st = check_keys(&g, diag);
    const float **slot[15] = {&w->basis,    &w->enc_w[0], &w->enc_b[0], &w->enc_w[1], &w->enc_b[1],
                              &w->enc_w[2], &w->enc_b[2], &w->enc_w[3], &w->enc_b[3], &w->w_ih,
                              &w->w_hh,     &w->b_ih,     &w->b_hh,     &w->dec_w,    &w->dec_b};
    for (int k = 0; !st && k < 15; k++) {
        st = bind_one(&g, k, slot[k], diag);
        if (!st) {
            const want *t = &WANT[k];
            st = check_finite(*slot[k], (size_t)(t->ne[0] * t->ne[1] * t->ne[2]), t->name, diag);
        }
    }
    est_arena_release(a, mark);
    if (st) memset(w, 0, sizeof *w);
    return st;
}

int est_silero_plan_state(est_arena *a, est_silero_state *s) {
    int st;
    float **bufs[9] = {&s->h, &s->c, &s->ctx, &s->x, &s->spec, &s->a, &s->b, &s->gates, &s->cols};
    const size_t n[9] = {EST_SILERO_HIDDEN, EST_SILERO_HIDDEN, EST_SILERO_CONTEXT, EST_SILERO_PADDED,
                         2 * EST_SILERO_NBINS * EST_SILERO_NFRAMES, 128 * EST_SILERO_NFRAMES,
                         128 * EST_SILERO_NFRAMES, 4 * EST_SILERO_HIDDEN, EST_SILERO_COLS};
    for (int i = 0; i < 9; i++) {
        void *p;
        if ((st = est_arena_array(a, n[i], sizeof(float), &p)) != 0) return st;
        *bufs[i] = (float *)p;
    }
    return EDGESTT_OK;
}

void est_silero_reset(est_silero_state *s) {
    memset(s->h, 0, EST_SILERO_HIDDEN * sizeof(float));
    memset(s->c, 0, EST_SILERO_HIDDEN * sizeof(float));
    memset(s->ctx, 0, EST_SILERO_CONTEXT * sizeof(float));
}

/* ---- forward pass ---------------------------------------------------------------------------- */

/* conv1d, kernel 3, zero pad 1, then ReLU: in (cin, len) -> out (cout, lout = (len - 1) / stride + 1),
 * as lout dots of the im2col column cols[t] = in[:, t*stride - 1 .. t*stride + 1] (cin * 3, zeros
 * outside) with the weight rows (cin * 3). */
static void conv3_relu(const est_kernels *kt, const float *in, int cin, int len, const float *w, const float *bias,
                       int cout, int stride, float *cols, float *out) {
    const int lout = (len - 1) / stride + 1, kc = cin * 3;
    for (int t = 0; t < lout; t++) {
        float *col = cols + (size_t)t * kc; /* (cin, 3) */
        for (int i = 0; i < cin; i++)
            for (int k = 0; k < 3; k++) {
                int p = t * stride + k - 1;
                col[i * 3 + k] = p >= 0 && p < len ? in[(size_t)i * len + p] : 0.0f;
            }
    }
    for (int o = 0; o < cout; o++)
        for (int t = 0; t < lout; t++) {
            float acc = bias[o] + kt->dot(w + (size_t)o * kc, cols + (size_t)t * kc, kc);
            out[(size_t)o * lout + t] = acc > 0 ? acc : 0;
        }
}

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

float est_silero_forward(const est_kernels *kt, const est_silero *w, est_silero_state *s, const float *window) {
    float *x = s->x; /* (640) */
    memcpy(x, s->ctx, EST_SILERO_CONTEXT * sizeof(float));
    memcpy(x + EST_SILERO_CONTEXT, window, EDGESTT_VAD_WINDOW * sizeof(float));
    memcpy(s->ctx, x + EST_SILERO_INPUT - EST_SILERO_CONTEXT, EST_SILERO_CONTEXT * sizeof(float));
    for (int k = 0; k < EST_SILERO_PADDED - EST_SILERO_INPUT; k++) /* reflect: x[576 + k] = x[574 - k] */
        x[EST_SILERO_INPUT + k] = x[EST_SILERO_INPUT - 2 - k];

    /* STFT as a strided conv: spec (258, 4), then the magnitude (129, 4) */
    float *spec = s->spec;
    for (int c = 0; c < 2 * EST_SILERO_NBINS; c++)
        for (int t = 0; t < EST_SILERO_NFRAMES; t++)
            spec[c * EST_SILERO_NFRAMES + t] =
                kt->dot(w->basis + (size_t)c * EST_SILERO_NFFT, x + t * EST_SILERO_HOP, EST_SILERO_NFFT);
    /* the magnitude overwrites the imaginary half: each element is read only where it is written */
    float *m = spec + EST_SILERO_NBINS * EST_SILERO_NFRAMES; /* (129, 4) over the imaginary rows */
    for (int i = 0; i < EST_SILERO_NBINS * EST_SILERO_NFRAMES; i++) {
        float re = spec[i], im = m[i];
        m[i] = sqrtf(re * re + im * im);
    }

    /* encoder: lengths 4 -> 4 -> 2 -> 1 -> 1 */
    conv3_relu(kt, m, 129, 4, w->enc_w[0], w->enc_b[0], 128, 1, s->cols, s->a);  /* a (128, 4) */
    conv3_relu(kt, s->a, 128, 4, w->enc_w[1], w->enc_b[1], 64, 2, s->cols, s->b); /* b (64, 2) */
    conv3_relu(kt, s->b, 64, 2, w->enc_w[2], w->enc_b[2], 64, 2, s->cols, s->a);  /* a (64, 1) */
    conv3_relu(kt, s->a, 64, 1, w->enc_w[3], w->enc_b[3], 128, 1, s->cols, s->b); /* b (128, 1) */

    /* LSTM cell */
    const int H = EST_SILERO_HIDDEN;
    float *g = s->gates; /* (512) */
    for (int r = 0; r < 4 * H; r++)
        g[r] = kt->dot(w->w_ih + (size_t)r * H, s->b, H) + w->b_ih[r] + kt->dot(w->w_hh + (size_t)r * H, s->h, H) +
               w->b_hh[r];
    for (int j = 0; j < H; j++) {
        float ig = sigmoidf(g[j]), fg = sigmoidf(g[H + j]), gg = tanhf(g[2 * H + j]), og = sigmoidf(g[3 * H + j]);
        s->c[j] = fg * s->c[j] + ig * gg;
        s->h[j] = og * tanhf(s->c[j]);
    }

    /* decoder: ReLU, 1x1 conv to one channel, sigmoid */
    float z = w->dec_b[0];
    for (int j = 0; j < H; j++) z += w->dec_w[j] * (s->h[j] > 0 ? s->h[j] : 0);
    return sigmoidf(z);
}
