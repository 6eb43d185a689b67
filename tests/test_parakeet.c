/*
 * test_parakeet.c - the Parakeet transducer (models/parakeet.c) on pk-mini, a GGUF built here in
 * memory from the counter-hash weights of models/parakeet-gguf.md (no model file is committed), and
 * the conv reference kernels (kernels/conv.h) against plain double-precision loops.  With the
 * PyTorch goldens of tests/reference/parakeet_ref.py in tests/data/parakeet/: features, encoder
 * output and joint logits within rel err 1e-4 and the identical greedy token/duration sequence.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/crc32.h"
#include "../core/gguf_write.h"
#include "../kernels/conv.h"
#include "../kernels/kernels.h"
#include "../kernels/quant.h"
#include "../models/parakeet.h"
#include "pk_mini.h"
#include "test.h"

/* ---- pk-mini generator -------------------------------------------------------------------- */

static uint32_t lowbias32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

typedef struct pk_tensor {
    char name[96];
    int n_dims;
    int64_t shape[4]; /* PyTorch order */
} pk_tensor;

typedef struct pk_list {
    pk_tensor t[512];
    int n;
} pk_list;

static void add_t(pk_list *l, const char *name, int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    pk_tensor *t = &l->t[l->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = nd;
    t->shape[0] = a, t->shape[1] = b, t->shape[2] = c, t->shape[3] = d;
}

#define MINI_MELS 80
#define MINI_D 64
#define MINI_H 4
#define MINI_LAYERS 2
#define MINI_FF 256
#define MINI_K 9
#define MINI_C 32
#define MINI_P 64
#define MINI_J 64
#define MINI_V 32
#define MINI_NDUR 5

/* The pk-mini tensor list (names and PyTorch shapes of models/parakeet-gguf.md). */
static void mini_tensors(pk_list *l, int rnnt) {
    char n[96];
    l->n = 0;
    add_t(l, "preprocessor.featurizer.window", 1, 400, 0, 0, 0);
    add_t(l, "preprocessor.featurizer.fb", 3, 1, MINI_MELS, 257, 0);
    for (int c = 0; c < 7; c++) {
        if (c == 1 || c == 4) continue;
        const int pw = c == 3 || c == 6;
        snprintf(n, sizeof n, "encoder.pre_encode.conv.%d.weight", c);
        add_t(l, n, 4, MINI_C, pw ? MINI_C : 1, pw ? 1 : 3, pw ? 1 : 3);
        snprintf(n, sizeof n, "encoder.pre_encode.conv.%d.bias", c);
        add_t(l, n, 1, MINI_C, 0, 0, 0);
    }
    add_t(l, "encoder.pre_encode.out.weight", 2, MINI_D, MINI_C * 10, 0, 0);
    add_t(l, "encoder.pre_encode.out.bias", 1, MINI_D, 0, 0, 0);
    static const char *norms[] = {"norm_feed_forward1", "norm_self_att", "norm_conv", "norm_feed_forward2", "norm_out"};
    for (int i = 0; i < MINI_LAYERS; i++) {
#define L_(s) (snprintf(n, sizeof n, "encoder.layers.%d.%s", i, s), n)
        for (int k = 0; k < 5; k++) {
            char nb[64];
            snprintf(nb, sizeof nb, "%s.weight", norms[k]);
            add_t(l, L_(nb), 1, MINI_D, 0, 0, 0);
            snprintf(nb, sizeof nb, "%s.bias", norms[k]);
            add_t(l, L_(nb), 1, MINI_D, 0, 0, 0);
        }
        for (int f = 1; f <= 2; f++) {
            char nb[64];
            snprintf(nb, sizeof nb, "feed_forward%d.linear1.weight", f);
            add_t(l, L_(nb), 2, MINI_FF, MINI_D, 0, 0);
            snprintf(nb, sizeof nb, "feed_forward%d.linear2.weight", f);
            add_t(l, L_(nb), 2, MINI_D, MINI_FF, 0, 0);
        }
        add_t(l, L_("self_attn.linear_q.weight"), 2, MINI_D, MINI_D, 0, 0);
        add_t(l, L_("self_attn.linear_k.weight"), 2, MINI_D, MINI_D, 0, 0);
        add_t(l, L_("self_attn.linear_v.weight"), 2, MINI_D, MINI_D, 0, 0);
        add_t(l, L_("self_attn.linear_out.weight"), 2, MINI_D, MINI_D, 0, 0);
        add_t(l, L_("self_attn.linear_pos.weight"), 2, MINI_D, MINI_D, 0, 0);
        add_t(l, L_("self_attn.pos_bias_u"), 2, MINI_H, MINI_D / MINI_H, 0, 0);
        add_t(l, L_("self_attn.pos_bias_v"), 2, MINI_H, MINI_D / MINI_H, 0, 0);
        add_t(l, L_("conv.pointwise_conv1.weight"), 3, 2 * MINI_D, MINI_D, 1, 0);
        add_t(l, L_("conv.depthwise_conv.weight"), 3, MINI_D, 1, MINI_K, 0);
        add_t(l, L_("conv.batch_norm.weight"), 1, MINI_D, 0, 0, 0);
        add_t(l, L_("conv.batch_norm.bias"), 1, MINI_D, 0, 0, 0);
        add_t(l, L_("conv.batch_norm.running_mean"), 1, MINI_D, 0, 0, 0);
        add_t(l, L_("conv.batch_norm.running_var"), 1, MINI_D, 0, 0, 0);
        add_t(l, L_("conv.pointwise_conv2.weight"), 3, MINI_D, MINI_D, 1, 0);
#undef L_
    }
    const int nd = rnnt ? 0 : MINI_NDUR;
    add_t(l, "decoder.prediction.embed.weight", 2, MINI_V + 1, MINI_P, 0, 0);
    add_t(l, "decoder.prediction.dec_rnn.lstm.weight_ih_l0", 2, 4 * MINI_P, MINI_P, 0, 0);
    add_t(l, "decoder.prediction.dec_rnn.lstm.weight_hh_l0", 2, 4 * MINI_P, MINI_P, 0, 0);
    add_t(l, "decoder.prediction.dec_rnn.lstm.bias_ih_l0", 1, 4 * MINI_P, 0, 0, 0);
    add_t(l, "decoder.prediction.dec_rnn.lstm.bias_hh_l0", 1, 4 * MINI_P, 0, 0, 0);
    add_t(l, "joint.enc.weight", 2, MINI_J, MINI_D, 0, 0);
    add_t(l, "joint.enc.bias", 1, MINI_J, 0, 0, 0);
    add_t(l, "joint.pred.weight", 2, MINI_J, MINI_P, 0, 0);
    add_t(l, "joint.pred.bias", 1, MINI_J, 0, 0, 0);
    add_t(l, "joint.joint_net.2.weight", 2, MINI_V + 1 + nd, MINI_J, 0, 0);
    add_t(l, "joint.joint_net.2.bias", 1, MINI_V + 1 + nd, 0, 0, 0);
}

static int64_t nelem(const pk_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= t->shape[i];
    return n;
}

/* Element i of a hashed tensor (models/parakeet-gguf.md, "Test configuration"; parakeet_ref.py weight_rule). */
static void hash_fill(const pk_tensor *t, uint32_t seed, float *out) {
    const char *leaf = strrchr(t->name, '.') + 1;
    const int norm = strstr(t->name, ".norm_") || strstr(t->name, ".batch_norm.");
    const int jbias = strcmp(t->name, "joint.joint_net.2.bias") == 0;
    int center = 0, e;
    if (strcmp(leaf, "running_var") == 0) center = 1, e = 2;
    else if (norm && strcmp(leaf, "weight") == 0) center = 1, e = 3;
    else if ((norm && strcmp(leaf, "bias") == 0) || strcmp(leaf, "running_mean") == 0 || strncmp(leaf, "pos_bias", 8) == 0 || jbias) e = 3;
    else if (strncmp(leaf, "bias", 4) == 0) e = 5;
    else if (strcmp(t->name, "decoder.prediction.embed.weight") == 0) e = 0;
    else {
        const int64_t fan = nelem(t) / t->shape[0]; /* largest e with 4^e <= fan_in */
        for (e = 0; ((int64_t)1 << (2 * (e + 1))) <= fan; e++) {}
    }
    const uint32_t key = est_crc32(0, t->name, strlen(t->name)) ^ lowbias32(seed);
    const int64_t n = nelem(t);
    for (int64_t i = 0; i < n; i++) {
        const uint32_t u = lowbias32(key ^ lowbias32((uint32_t)i)) >> 8;
        const double c = jbias && i == MINI_V ? 0.5 : (double)center;
        out[i] = (float)(c + ldexp((double)((int32_t)u - (1 << 23)), -23 - e));
    }
    if (strcmp(t->name, "decoder.prediction.embed.weight") == 0) memset(out + (size_t)MINI_V * MINI_P, 0, MINI_P * sizeof(float));
}

/* Slaney mel filters (librosa.filters.mel, sr 16000, n_fft 512, fmin 0, fmax 8000, norm slaney). */
static double hz_to_mel(double f) {
    const double fsp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / fsp, logstep = log(6.4) / 27.0;
    return f >= min_log_hz ? min_log_mel + log(f / min_log_hz) / logstep : f / fsp;
}
static double mel_to_hz(double m) {
    const double fsp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / fsp, logstep = log(6.4) / 27.0;
    return m >= min_log_mel ? min_log_hz * exp(logstep * (m - min_log_mel)) : fsp * m;
}
static void slaney_fb(float *fb, int n_mels, int n_fft, int sr) {
    const int nb = n_fft / 2 + 1;
    double mpts[1100];
    const double mlo = hz_to_mel(0.0), mhi = hz_to_mel(sr / 2.0);
    for (int i = 0; i < n_mels + 2; i++) mpts[i] = mel_to_hz(mlo + (mhi - mlo) * i / (n_mels + 1));
    for (int m = 0; m < n_mels; m++) {
        const double enorm = 2.0 / (mpts[m + 2] - mpts[m]);
        for (int k = 0; k < nb; k++) {
            const double f = (double)k * sr / n_fft;
            const double lo = (f - mpts[m]) / (mpts[m + 1] - mpts[m]), hi = (mpts[m + 2] - f) / (mpts[m + 2] - mpts[m + 1]);
            double v = lo < hi ? lo : hi;
            fb[(size_t)m * nb + k] = (float)((v > 0 ? v : 0) * enorm);
        }
    }
}

/* Read a whole file (test code may allocate); NULL if missing. */
static void *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(sz > 0 ? (size_t)sz : 1);
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (n) *n = (size_t)sz;
    return p;
}

/* A golden raw f32 file of exactly n floats under tests/data/parakeet (NULL if absent). */
static float *golden_f32(const char *name, size_t n) {
    char rel[128];
    size_t sz = 0;
    snprintf(rel, sizeof rel, "parakeet/%s", name);
    float *p = read_all(est_test_data(rel), &sz);
    if (p && sz != n * sizeof(float)) {
        free(p);
        return NULL;
    }
    return p;
}

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static int mem_sink(void *ctx, uint64_t off, const void *data, size_t n) {
    membuf *b = ctx;
    if (off + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 20;
        while (cap < off + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) return EDGESTT_E_NOMEM;
        memset(q + b->cap, 0, cap - b->cap);
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + off, data, n);
    if (off + n > b->n) b->n = (size_t)(off + n);
    return 0;
}

/* Build pk-mini as a GGUF image (malloc'd, 64-aligned copy); NULL on failure.  skip: a tensor name
 * to leave out (corruption tests) or NULL; arch: general.architecture. */
/* 1 for the tensors that may be F16 / Q8_0 / Q4_0 (est_gemm products and the embedding). */
static int is_linear(const char *name) {
    static const char *const suf[] = {"linear1.weight", "linear2.weight", "linear_q.weight", "linear_k.weight",
                                      "linear_v.weight", "linear_out.weight", "linear_pos.weight",
                                      "pointwise_conv1.weight", "pointwise_conv2.weight", "conv.3.weight",
                                      "conv.6.weight", "pre_encode.out.weight", "weight_ih_l0", "weight_hh_l0",
                                      "joint.enc.weight", "joint.pred.weight", "joint_net.2.weight", "embed.weight"};
    const size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suf / sizeof suf[0]; i++) {
        const size_t k = strlen(suf[i]);
        if (n >= k && strcmp(name + n - k, suf[i]) == 0) return 1;
    }
    return 0;
}

/* Row of k floats converted to type (F32, F16, Q8_0, Q4_0) into dst. */
static void put_row(int type, const float *src, int k, uint8_t *dst) {
    if (type == EDGESTT_TYPE_F32) memcpy(dst, src, (size_t)k * 4);
    else if (type == EDGESTT_TYPE_F16)
        for (int i = 0; i < k; i++) {
            uint16_t h = est_f32_to_f16(src[i]);
            memcpy(dst + 2 * i, &h, 2);
        }
    else if (type == EDGESTT_TYPE_Q8_0) est_quantize_row_q8_0_ref(src, dst, k);
    else est_quantize_row_q4_0_ref(src, dst, k);
}

static uint8_t *build_mini_t(uint32_t seed, int rnnt, const char *skip, const char *arch, int wtype, size_t *size);
static const char *g_extra_key; /* "heads" / "normalize": one more KV pair for refusal tests */
static uint8_t *build_mini(uint32_t seed, int rnnt, const char *skip, const char *arch, size_t *size) {
    return build_mini_t(seed, rnnt, skip, arch, EDGESTT_TYPE_F32, size);
}

/* wtype: the type of the linear weights (squeezed to 2-D [out][in] when not F32). */
static uint8_t *build_mini_t(uint32_t seed, int rnnt, const char *skip, const char *arch, int wtype, size_t *size) {
    static pk_list l;
    mini_tensors(&l, rnnt);
    membuf b = {0};
    est_gguw w;
    est_gguw_init(&w, mem_sink, &b);
    int nt = 0;
    for (int i = 0; i < l.n; i++) nt += !(skip && strcmp(l.t[i].name, skip) == 0);
    est_gguw_header(&w, (uint64_t)nt, (rnnt ? 4 : 5) + (g_extra_key ? 1 : 0));
    if (g_extra_key && !strcmp(g_extra_key, "heads")) est_gguw_kv_u32(&w, "parakeet.n_heads", 8);
    if (g_extra_key && !strcmp(g_extra_key, "normalize")) est_gguw_kv_str(&w, "parakeet.normalize", "all_features", 12);
    est_gguw_kv_str(&w, "general.architecture", arch, strlen(arch));
    est_gguw_kv_arr(&w, "tokenizer.ggml.tokens", EST_GGUF_STRING, MINI_V);
    for (int i = 0; i < MINI_V; i++) {
        char piece[16];
        if (i == 0) snprintf(piece, sizeof piece, "<unk>");
        else if (i == 1) snprintf(piece, sizeof piece, "<0x41>");
        else if (i < 16) snprintf(piece, sizeof piece, "\xe2\x96\x81%c", 'a' + i);
        else snprintf(piece, sizeof piece, "%c%c", 'a' + i - 16, 'z' - (i - 16));
        est_gguw_str(&w, piece, strlen(piece));
    }
    est_gguw_kv_u32(&w, "general.alignment", 64);
    est_gguw_kv_u32(&w, "parakeet.max_symbols", 10);
    if (!rnnt) {
        est_gguw_kv_arr(&w, "parakeet.durations", EST_GGUF_U32, MINI_NDUR);
        for (uint32_t i = 0; i < MINI_NDUR; i++) est_gguw_u32(&w, i);
    }
    uint64_t off = 0;
    for (int i = 0; i < l.n; i++) {
        const pk_tensor *t = &l.t[i];
        if (skip && strcmp(t->name, skip) == 0) continue;
        int64_t ne[4] = {1, 1, 1, 1};
        const int lq = wtype != EDGESTT_TYPE_F32 && is_linear(t->name);
        for (int k = 0; k < t->n_dims; k++) ne[k] = t->shape[t->n_dims - 1 - k];
        if (lq) ne[0] = nelem(t) / t->shape[0], ne[1] = t->shape[0], ne[2] = ne[3] = 1;
        est_gguw_tensor_info(&w, t->name, strlen(t->name), lq ? 2 : t->n_dims, ne, lq ? wtype : EDGESTT_TYPE_F32, off);
        const uint64_t bytes = lq ? est_type_row_bytes(wtype, (uint64_t)ne[0]) * (uint64_t)ne[1] : (uint64_t)nelem(t) * 4;
        off = est_gguw_align_up(off + bytes, 64);
    }
    est_gguw_pad(&w, 64);
    float *fb = golden_f32("pk-mini.fb.f32", (size_t)MINI_MELS * 257), *win = golden_f32("pk-mini.window.f32", 400);
    for (int i = 0; i < l.n; i++) {
        const pk_tensor *t = &l.t[i];
        if (skip && strcmp(t->name, skip) == 0) continue;
        const size_t n = (size_t)nelem(t);
        float *v = calloc(n, sizeof(float));
        if (!v) break;
        if (strcmp(t->name, "preprocessor.featurizer.fb") == 0) {
            if (fb) memcpy(v, fb, n * 4);
            else slaney_fb(v, MINI_MELS, 512, 16000);
        } else if (strcmp(t->name, "preprocessor.featurizer.window") == 0) {
            for (int k = 0; k < 400; k++) v[k] = win ? win[k] : (float)(0.5 - 0.5 * cos(2 * 3.14159265358979323846 * k / 399.0));
        } else {
            hash_fill(t, seed, v);
        }
        if (wtype != EDGESTT_TYPE_F32 && is_linear(t->name)) {
            const int k = (int)(n / (size_t)t->shape[0]);
            const size_t rb = est_type_row_bytes(wtype, (uint64_t)k);
            uint8_t *row = malloc(rb);
            for (int64_t r = 0; r < t->shape[0] && row; r++) {
                put_row(wtype, v + (size_t)r * (size_t)k, k, row);
                est_gguw_bytes(&w, row, rb);
            }
            free(row);
        } else {
            est_gguw_bytes(&w, v, n * 4);
        }
        est_gguw_pad(&w, 64);
        free(v);
    }
    free(fb);
    free(win);
    if (est_gguw_status(&w)) {
        free(b.p);
        return NULL;
    }
    void *img = NULL;
    if (posix_memalign(&img, 64, b.n ? b.n : 64)) img = NULL;
    if (img) memcpy(img, b.p, b.n);
    free(b.p);
    *size = b.n;
    return img;
}

static uint8_t *build_mini_extra(const char *extra, size_t *size) {
    g_extra_key = extra;
    uint8_t *img = build_mini_t(4, 0, NULL, "parakeet", EDGESTT_TYPE_F32, size);
    g_extra_key = NULL;
    return img;
}

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct mini {
    uint8_t *img;
    size_t size;
    void *mem;
    est_pk_model *m;
    void *smem;
    est_pk_state s;
} mini;

/* Values of KEY in tests/data/parakeet/pk-mini.txt (KEY COUNT VALUE... lines): the count, or -1. */
static int pk_gold(const char *key, double *out, int cap) {
    static char *text;
    static int loaded;
    if (!loaded) {
        size_t n = 0;
        char *t = read_all(est_test_data("parakeet/pk-mini.txt"), &n);
        if (t) {
            text = malloc(n + 1);
            memcpy(text, t, n);
            text[n] = 0;
            free(t);
        }
        loaded = 1;
    }
    if (!text) return -1;
    const size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) != 0 || p[kl] != ' ') continue;
        char *e;
        long cnt = strtol(p + kl + 1, &e, 10);
        for (long i = 0; i < cnt && i < cap; i++) out[i] = strtod(e, &e);
        return (int)cnt;
    }
    return -1;
}

/* The hash seed the goldens were made with (key "seed"), default 4. */
static uint32_t mini_seed(void) {
    double v[1];
    return pk_gold("seed", v, 1) == 1 ? (uint32_t)v[0] : 4u;
}

static void mini_free(mini *x) {
    free(x->img);
    free(x->mem);
    free(x->smem);
    memset(x, 0, sizeof *x);
}

static int mini_open_t(mini *x, int rnnt, int wtype, const est_kernels *kt, size_t max_samples, edgestt_diag *diag) {
    memset(x, 0, sizeof *x);
    x->img = build_mini_t(mini_seed(), rnnt, NULL, "parakeet", wtype, &x->size);
    if (!x->img) return -100;
    size_t need = 0;
    int st = est_pk_open_size(x->img, x->size, &need, diag);
    if (st) return st;
    x->mem = malloc(need);
    st = est_pk_open(x->img, x->size, kt, x->mem, need, &x->m, diag);
    if (st) return st;
    st = est_pk_state_size(x->m, max_samples, 1, &need);
    if (st) return st;
    x->smem = malloc(need);
    return est_pk_state_init(&x->s, x->m, max_samples, NULL, x->smem, need);
}

static int mini_open(mini *x, int rnnt, size_t max_samples, edgestt_diag *diag) {
    return mini_open_t(x, rnnt, EDGESTT_TYPE_F32, est_kernels_variant(0), max_samples, diag);
}

static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Mono 16 kHz samples of a committed WAV (malloc'd). */
/* ---- kernels ------------------------------------------------------------------------------- */

static float frand(uint64_t *s) { return (float)((int64_t)(est_test_rand(s) >> 40) - (1 << 23)) / (float)(1 << 23); }

TEST(pk_conv_kernels) {
    uint64_t rs = est_test_seed() ^ 0x706b63ull;
    enum { H = 13, W = 11, C = 5, T = 17, K = 7 };
    float x[H * W * C], wt[C * 9], b[C], y[H * W * C], xs[H * W];
    for (int i = 0; i < H * W * C; i++) x[i] = frand(&rs);
    for (int i = 0; i < H * W; i++) xs[i] = frand(&rs);
    for (int i = 0; i < C * 9; i++) wt[i] = frand(&rs);
    for (int i = 0; i < C; i++) b[i] = frand(&rs);
    const int ho = est_conv_s2_out(H), wo = est_conv_s2_out(W);
    CHECK(ho == 7 && wo == 6);
    /* single channel input read transposed (sh = 1, sw = H) */
    est_conv2d_1ch_3x3s2__ref(y, xs, 1, H, H, W, C, wt, b);
    for (int oh = 0; oh < ho; oh++)
        for (int ow = 0; ow < wo; ow++)
            for (int c = 0; c < C; c++) {
                double acc = b[c];
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        int ih = 2 * oh + i - 1, iw = 2 * ow + j - 1;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W) acc += (double)wt[c * 9 + i * 3 + j] * xs[ih + iw * H];
                    }
                float got = y[(oh * wo + ow) * C + c];
                CHECKF(fabs(got - acc) < 1e-5, "conv2d_1ch (%d,%d,%d): %g vs %g", oh, ow, c, got, acc);
            }
    est_dwconv2d_3x3s2__ref(y, x, H, W, C, wt, NULL);
    for (int oh = 0; oh < ho; oh++)
        for (int ow = 0; ow < wo; ow++)
            for (int c = 0; c < C; c++) {
                double acc = 0;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        int ih = 2 * oh + i - 1, iw = 2 * ow + j - 1;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W) acc += (double)wt[c * 9 + i * 3 + j] * x[(ih * W + iw) * C + c];
                    }
                float got = y[(oh * wo + ow) * C + c];
                CHECKF(fabs(got - acc) < 1e-5, "dwconv2d (%d,%d,%d): %g vs %g", oh, ow, c, got, acc);
            }
    float w1[C * K];
    for (int i = 0; i < C * K; i++) w1[i] = frand(&rs);
    est_dwconv1d__ref(y, C, x, C, T, C, w1, K, (K - 1) / 2, b);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            double acc = b[c];
            for (int j = 0; j < K; j++) {
                int s = t + j - (K - 1) / 2;
                if (s >= 0 && s < T) acc += (double)w1[c * K + j] * x[s * C + c];
            }
            CHECKF(fabs(y[t * C + c] - acc) < 1e-5, "dwconv1d (%d,%d): %g vs %g", t, c, y[t * C + c], acc);
        }
    float a[8] = {-3, -1, -0.5f, 0, 0.5f, 1, 3, 20}, g[8];
    est_silu__ref(g, a, 8);
    for (int i = 0; i < 8; i++) CHECKF(fabs(g[i] - a[i] / (1 + exp(-a[i]))) < 1e-6, "silu %d", i);
    est_glu__ref(g, a, a + 4, 4);
    for (int i = 0; i < 4; i++) CHECKF(fabs(g[i] - a[i] / (1 + exp(-a[4 + i]))) < 1e-6, "glu %d", i);
    est_relu__ref(g, a, 8);
    for (int i = 0; i < 8; i++) CHECK(g[i] == (a[i] > 0 ? a[i] : 0));
    float bx[2 * 3] = {1, 2, 3, 4, 5, 6}, mu[3] = {1, 1, 1}, var[3] = {4, 1, 0}, bw[3] = {2, 1, 1}, bb[3] = {0, 1, 0};
    est_batch_norm__ref(bx, 2, 3, mu, var, bw, bb, 0.0f);
    CHECK(bx[0] == 0.0f && bx[1] == 2.0f && bx[3] == 3.0f && bx[4] == 5.0f);
}

/* ---- model --------------------------------------------------------------------------------- */

TEST(pk_open_mini) {
    mini x;
    edgestt_diag diag = {0};
    int st = mini_open(&x, 0, 16000, &diag);
    CHECKF(st == 0, "open: %d %s", st, diag.msg);
    const est_pk_hparams *hp = &x.m->hp;
    CHECK(hp->n_mels == 80 && hp->d_model == 64 && hp->n_heads == 4 && hp->n_layers == 2 && hp->d_ff == 256);
    CHECK(hp->conv_kernel == 9 && hp->sub_channels == 32 && hp->pred_hidden == 64 && hp->pred_layers == 1);
    CHECK(hp->joint_hidden == 64 && hp->n_vocab == 32 && hp->n_dur == 5 && hp->durations[4] == 4);
    CHECK(hp->xscaling == 1 && hp->max_symbols == 10 && hp->n_fft == 512 && hp->win_length == 400);
    CHECK(x.m->layers[1].bn_w && x.m->layers[0].q.b == NULL && x.m->sub0_b);
    /* one second: 100 valid frames -> 13 encoder frames */
    CHECK(est_pk_n_feat_frames(x.m, 16000) == 101 && est_pk_n_enc_frames(x.m, 100) == 13);
    mini_free(&x);
    st = mini_open(&x, 1, 1600, &diag);
    CHECKF(st == 0, "open rnnt: %d %s", st, diag.msg);
    CHECK(x.m->hp.n_dur == 0);
    mini_free(&x);
}

TEST(pk_open_refuses) {
    size_t size = 0, need = 0;
    edgestt_diag diag = {0};
    uint8_t *img = build_mini(1, 0, NULL, "whisper", &size);
    CHECK(img);
    CHECK_ST(est_pk_open_size(img, size, &need, &diag), EDGESTT_E_UNSUPPORTED);
    CHECK(strstr(diag.msg, "parakeet"));
    free(img);
    img = build_mini(1, 0, "encoder.layers.1.self_attn.linear_pos.weight", "parakeet", &size);
    CHECK(img);
    CHECK_ST(est_pk_open_size(img, size, &need, &diag), EDGESTT_OK);
    void *mem = malloc(need);
    est_pk_model *m = NULL;
    CHECK_ST(est_pk_open(img, size, est_kernels_variant(0), mem, need, &m, &diag), EDGESTT_E_MODEL);
    CHECKF(strstr(diag.msg, "encoder.layers.1.self_attn.linear_pos.weight"), "%s", diag.msg);
    /* too small a block for the handle */
    CHECK_ST(est_pk_open(img, size, est_kernels_variant(0), mem, need / 2, &m, &diag), EDGESTT_E_NOMEM);
    free(mem);
    free(img);
}

/* End to end on the first 3 s of jfk.wav: no allocation after init; the goldens when present. */
TEST(pk_mini_jfk) {
    size_t n = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    mini x;
    edgestt_diag diag = {0};
    int st = mini_open(&x, 0, n, &diag);
    CHECKF(st == 0, "open: %d %s", st, diag.msg);
    const uint64_t a0 = est_test_alloc_calls();
    int tf = 0, len = 0, t = 0, nt = 0;
    CHECK_ST(est_pk_features(&x.s, pcm, n, &tf, &len), EDGESTT_OK);
    CHECK(tf == 301 && len == 300);
    static float sub[64 * 64];
    CHECK_ST(est_pk_encode(&x.s, len, &t, sub), EDGESTT_OK);
    CHECK(t == 38);
    CHECK_ST(est_pk_project_enc(&x.s, t), EDGESTT_OK);
    int32_t tok[256], fr[256], du[256];
    CHECK_ST(est_pk_greedy(&x.s, t, tok, fr, du, 256, &nt), EDGESTT_OK);
    CHECK(est_test_alloc_calls() == a0);
    for (size_t i = 0; i < (size_t)t * 64; i++) CHECK(isfinite(x.s.x[i]));
    printf("  pk-mini jfk 3 s: %d tokens:", nt);
    for (int i = 0; i < nt && i < 24; i++) printf(" %d@%d+%d", tok[i], fr[i], du[i]);
    printf("\n");
    /* goldens (tests/reference/parakeet_ref.py) */
    double g[512];
    float *gf = golden_f32("pk-mini.features.f32", (size_t)80 * tf);
    CHECKF(gf, "tests/data/parakeet/pk-mini.features.f32 missing or not 80 x %d", tf);
    {
        float *f = malloc((size_t)80 * tf * sizeof(float));
        for (int mel = 0; mel < 80; mel++) memcpy(f + (size_t)mel * tf, x.s.feat + (size_t)mel * x.s.max_tf, (size_t)tf * 4);
        double e = rel_err(f, gf, (size_t)80 * tf);
        printf("  features rel err %.3g\n", e);
        free(f);
        free(gf);
        CHECKF(e <= 1e-4, "features rel err %g", e);
    }
    CHECK(pk_gold("enc.n_valid", g, 1) == 1 && (int)g[0] == t);
    float *gp = golden_f32("pk-mini.pre_encode.f32", (size_t)t * 64), *ge = golden_f32("pk-mini.layer1.f32", (size_t)t * 64);
    CHECK(gp && ge);
    double ep = rel_err(sub, gp, (size_t)t * 64), ee = rel_err(x.s.x, ge, (size_t)t * 64);
    printf("  pre_encode rel err %.3g, encoder rel err %.3g\n", ep, ee);
    free(gp);
    CHECKF(ep <= 1e-4 && ee <= 1e-4, "pre_encode %g encoder %g", ep, ee);
    /* greedy TDT: identical tokens, frames, durations */
    int ng = pk_gold("tdt.tokens", g, 512);
    CHECKF(ng == nt, "tdt: %d tokens, golden %d", nt, ng);
    for (int i = 0; i < nt; i++) CHECKF(tok[i] == (int)g[i], "tdt token %d: %d vs %d", i, tok[i], (int)g[i]);
    CHECK(pk_gold("tdt.frames", g, 512) == nt);
    for (int i = 0; i < nt; i++) CHECKF(fr[i] == (int)g[i], "tdt frame %d: %d vs %d", i, fr[i], (int)g[i]);
    CHECK(pk_gold("tdt.durations", g, 512) == nt);
    for (int i = 0; i < nt; i++) CHECKF(du[i] == (int)g[i], "tdt duration %d: %d vs %d", i, du[i], (int)g[i]);
    /* predictor outputs along pred.prefix and joint logits on the golden encoder output */
    memcpy(x.s.x, ge, (size_t)t * 64 * sizeof(float));
    free(ge);
    CHECK_ST(est_pk_project_enc(&x.s, t), EDGESTT_OK);
    double pre[8], jt[8];
    const int np = pk_gold("pred.prefix", pre, 8), nj = pk_gold("joint.t", jt, 8);
    CHECK(np == 4 && nj == 4);
    est_pk_pred_reset(&x.s);
    double worst_g = 0, worst_j = 0;
    for (int u = 0; u <= np; u++) {
        char key[32];
        float ref[64];
        snprintf(key, sizeof key, "pred.g%d", u);
        CHECK(pk_gold(key, g, 64) == 64);
        for (int i = 0; i < 64; i++) ref[i] = (float)g[i];
        double e = rel_err(x.s.g, ref, 64);
        if (e > worst_g) worst_g = e;
        for (int k = 0; k < nj; k++) {
            float lr[38];
            snprintf(key, sizeof key, "joint.t%d.u%d", (int)jt[k], u);
            CHECK(pk_gold(key, g, 38) == 38);
            for (int i = 0; i < 38; i++) lr[i] = (float)g[i];
            est_pk_joint(&x.s, (int)jt[k]);
            e = rel_err(x.s.logits, lr, 38);
            if (e > worst_j) worst_j = e;
        }
        if (u < np) est_pk_pred_step(&x.s, (int)pre[u]);
    }
    printf("  predictor rel err %.3g, joint rel err %.3g\n", worst_g, worst_j);
    CHECKF(worst_g <= 1e-4 && worst_j <= 1e-4, "predictor %g joint %g", worst_g, worst_j);
    free(pcm);
    mini_free(&x);
}

/* pk-mini-rnnt (joint without durations): GreedyRNNTInfer's tokens and frames. */
TEST(pk_mini_rnnt_jfk) {
    size_t n = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    mini x;
    edgestt_diag diag = {0};
    int st = mini_open(&x, 1, n, &diag);
    CHECKF(st == 0, "open: %d %s", st, diag.msg);
    int tf = 0, len = 0, t = 0, nt = 0;
    CHECK_ST(est_pk_features(&x.s, pcm, n, &tf, &len), EDGESTT_OK);
    CHECK_ST(est_pk_encode(&x.s, len, &t, NULL), EDGESTT_OK);
    CHECK_ST(est_pk_project_enc(&x.s, t), EDGESTT_OK);
    static int32_t tok[512], fr[512];
    static double g[512];
    CHECK_ST(est_pk_greedy(&x.s, t, tok, fr, NULL, 512, &nt), EDGESTT_OK);
    int ng = pk_gold("rnnt.tokens", g, 512);
    CHECKF(ng == nt, "rnnt: %d tokens, golden %d", nt, ng);
    for (int i = 0; i < nt; i++) CHECKF(tok[i] == (int)g[i], "rnnt token %d: %d vs %d", i, tok[i], (int)g[i]);
    CHECK(pk_gold("rnnt.frames", g, 512) == nt);
    for (int i = 0; i < nt; i++) CHECKF(fr[i] == (int)g[i], "rnnt frame %d: %d vs %d", i, fr[i], (int)g[i]);
    free(pcm);
    mini_free(&x);
}

TEST(pk_state_nomem) {
    mini x;
    edgestt_diag diag = {0};
    int st = mini_open(&x, 0, 8000, &diag);
    CHECKF(st == 0, "open: %d %s", st, diag.msg);
    size_t need = 0;
    CHECK_ST(est_pk_state_size(x.m, 8000, 1, &need), EDGESTT_OK);
    est_pk_state s2;
    for (size_t sz = 0; sz < need; sz += need / 7 + 1) CHECK_ST(est_pk_state_init(&s2, x.m, 8000, NULL, x.smem, sz), EDGESTT_E_NOMEM);
    CHECK_ST(est_pk_state_init(&s2, x.m, 8000, NULL, x.smem, need), EDGESTT_OK);
    /* under one hop (and exactly one): no valid frame, no encoder row, no token; too long: refused */
    static float pcm[8001];
    for (int i = 0; i < 8001; i++) pcm[i] = 0.1f * sinf(0.05f * (float)i);
    int tf = -1, len = -1, t = -1, nt = -1;
    int32_t tok[8];
    CHECK_ST(est_pk_features(&s2, pcm, 100, &tf, &len), EDGESTT_OK);
    CHECK(tf == 1 && len == 0);
    CHECK_ST(est_pk_encode(&s2, len, &t, NULL), EDGESTT_OK);
    CHECK(t == 0);
    CHECK_ST(est_pk_project_enc(&s2, t), EDGESTT_OK);
    CHECK_ST(est_pk_greedy(&s2, t, tok, NULL, NULL, 8, &nt), EDGESTT_OK);
    CHECK(nt == 0);
    CHECK_ST(est_pk_features(&s2, pcm, 160, &tf, &len), EDGESTT_OK);
    CHECK(tf == 2 && len == 1);
    CHECK_ST(est_pk_encode(&s2, len, &t, NULL), EDGESTT_OK);
    CHECK(t == 1);
    for (int i = 0; i < 64; i++) CHECK(isfinite(s2.x[i]));
    CHECK_ST(est_pk_features(&s2, pcm, 8160, &tf, &len), EDGESTT_E_LIMIT);
    /* a state too large for int element counts is refused at planning */
    CHECK_ST(est_pk_state_size(x.m, SIZE_MAX / 2, 1, &need), EDGESTT_E_LIMIT);
    mini_free(&x);
}

/* F16 / Q8_0 / Q4_0 linear weights through the same kernels, on every kernel variant this CPU runs:
 * encoder output near the f32 golden, and the variants' encoder outputs bit-identical for the
 * quantized types (the kernels' contract). */
TEST(pk_mini_quant) {
    size_t n = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    float *ge = golden_f32("pk-mini.layer1.f32", (size_t)38 * 64);
    CHECK(ge);
    static const int types[] = {EDGESTT_TYPE_F16, EDGESTT_TYPE_Q8_0, EDGESTT_TYPE_Q4_0};
    static const double bound[] = {2e-3, 3e-2, 2.5e-1}; /* measured 3.2e-4, 1.2e-2, 0.13 (x86, uniform hash weights) */
    static float ref_out[38 * 64];
    uint32_t cpu = est_port_cpu_features();
    for (int ti = 0; ti < 3; ti++) {
        int first = 1;
        for (int v = 0; est_kernels_variant(v); v++) {
            const est_kernels *kt = est_kernels_variant(v);
            if (!est_kernels_runnable(kt, cpu)) continue;
            mini x;
            edgestt_diag diag = {0};
            int st = mini_open_t(&x, 0, types[ti], kt, n, &diag);
            CHECKF(st == 0, "open type %d: %d %s", types[ti], st, diag.msg);
            CHECK(x.m->layers[0].ff1_1.type == types[ti] && x.m->layers[0].pw1.type == types[ti]);
            int tf = 0, len = 0, t = 0, nt = 0;
            int32_t tok[256];
            CHECK_ST(est_pk_features(&x.s, pcm, n, &tf, &len), EDGESTT_OK);
            CHECK_ST(est_pk_encode(&x.s, len, &t, NULL), EDGESTT_OK);
            CHECK(t == 38);
            CHECK_ST(est_pk_project_enc(&x.s, t), EDGESTT_OK);
            CHECK_ST(est_pk_greedy(&x.s, t, tok, NULL, NULL, 256, &nt), EDGESTT_OK);
            const double e = rel_err(x.s.x, ge, (size_t)t * 64);
            if (first) {
                printf("  type %d (%s): encoder rel err %.3g vs the f32 golden, %d tokens\n", types[ti], kt->name, e, nt);
                CHECKF(e <= bound[ti], "type %d: encoder rel err %g > %g", types[ti], e, bound[ti]);
                memcpy(ref_out, x.s.x, sizeof ref_out);
                first = 0;
            } else if (types[ti] != EDGESTT_TYPE_F16) {
                CHECKF(memcmp(ref_out, x.s.x, sizeof ref_out) == 0, "type %d: %s differs from ref", types[ti], kt->name);
            } else {
                CHECKF(rel_err(x.s.x, ref_out, (size_t)t * 64) < 1e-5, "f16: %s far from ref", kt->name);
            }
            mini_free(&x);
        }
    }
    free(ge);
    free(pcm);
}

/* A 3-thread pool (products and attention split) gives bit-identical encoder output and tokens. */
TEST(pk_mini_threads) {
    size_t n = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    mini x;
    edgestt_diag diag = {0};
    int st = mini_open(&x, 0, n, &diag);
    CHECKF(st == 0, "open: %d %s", st, diag.msg);
    static float serial[38 * 64];
    int32_t tok1[256], tok2[256];
    int tf = 0, len = 0, t = 0, n1 = 0, n2 = 0;
    CHECK_ST(est_pk_features(&x.s, pcm, n, &tf, &len), EDGESTT_OK);
    CHECK_ST(est_pk_encode(&x.s, len, &t, NULL), EDGESTT_OK);
    CHECK(t == 38);
    memcpy(serial, x.s.x, sizeof serial);
    CHECK_ST(est_pk_project_enc(&x.s, t), EDGESTT_OK);
    CHECK_ST(est_pk_greedy(&x.s, t, tok1, NULL, NULL, 256, &n1), EDGESTT_OK);
    void *pmem = malloc(est_pool_size(3));
    est_pool *pool = NULL;
    CHECK_ST(est_pool_init(&pool, pmem, est_pool_size(3), 3), EDGESTT_OK);
    size_t need = 0;
    CHECK_ST(est_pk_state_size(x.m, n, 3, &need), EDGESTT_OK);
    void *smem = malloc(need);
    est_pk_state s3;
    CHECK_ST(est_pk_state_init(&s3, x.m, n, pool, smem, need), EDGESTT_OK);
    const uint64_t a0 = est_test_alloc_calls();
    CHECK_ST(est_pk_features(&s3, pcm, n, &tf, &len), EDGESTT_OK);
    CHECK_ST(est_pk_encode(&s3, len, &t, NULL), EDGESTT_OK);
    CHECK_ST(est_pk_project_enc(&s3, t), EDGESTT_OK);
    CHECK_ST(est_pk_greedy(&s3, t, tok2, NULL, NULL, 256, &n2), EDGESTT_OK);
    CHECK(est_test_alloc_calls() == a0);
    CHECK(memcmp(serial, s3.x, sizeof serial) == 0);
    CHECK(n1 == n2 && memcmp(tok1, tok2, (size_t)n1 * sizeof(int32_t)) == 0);
    /* the one-call pipeline gives the same tokens */
    CHECK_ST(est_pk_transcribe(&s3, pcm, n, tok2, NULL, NULL, 256, &n2), EDGESTT_OK);
    CHECK(n1 == n2 && memcmp(tok1, tok2, (size_t)n1 * sizeof(int32_t)) == 0);
    est_pool_destroy(pool);
    free(pmem);
    free(smem);
    free(pcm);
    mini_free(&x);
}

/* SentencePiece text: word boundaries, byte pieces, blank skipped, short buffers. */
TEST(pk_detokenize) {
    mini x;
    edgestt_diag diag = {0};
    int st = mini_open(&x, 0, 1600, &diag);
    CHECKF(st == 0, "open: %d %s", st, diag.msg);
    const char *p;
    size_t n;
    CHECK_ST(est_pk_piece(x.m, 2, &p, &n), EDGESTT_OK);
    CHECK(n == 4 && memcmp(p, "\xe2\x96\x81" "c", 4) == 0);
    CHECK_ST(est_pk_piece(x.m, 32, &p, &n), EDGESTT_E_INVALID_ARG);
    int32_t ids[] = {2, 16, 32, 3, 1, 17};
    char out[64];
    size_t len = 0;
    CHECK_ST(est_pk_detokenize(x.m, ids, 6, out, sizeof out, &len), EDGESTT_OK);
    CHECKF(strcmp(out, "caz dAby") == 0 && len == 8, "'%s' %zu", out, len);
    CHECK_ST(est_pk_detokenize(x.m, ids, 6, out, 4, &len), EDGESTT_E_NOMEM);
    CHECK(len == 8 && strcmp(out, "caz") == 0);
    mini_free(&x);
}

/* The generator's pk-mini weights are bit-exact: every tensor's CRC-32 equals the golden's wcrc.<name>. */
TEST(pk_mini_weights_crc) {
    static pk_list l;
    mini_tensors(&l, 0);
    float *fb = golden_f32("pk-mini.fb.f32", (size_t)MINI_MELS * 257), *win = golden_f32("pk-mini.window.f32", 400);
    CHECK(fb && win);
    int checked = 0;
    for (int i = 0; i < l.n; i++) {
        const pk_tensor *t = &l.t[i];
        char key[160];
        double want;
        snprintf(key, sizeof key, "wcrc.%s", t->name);
        CHECKF(pk_gold(key, &want, 1) == 1, "no %s in the golden", key);
        const size_t n = (size_t)nelem(t);
        float *v = malloc(n * sizeof(float));
        if (strcmp(t->name, "preprocessor.featurizer.fb") == 0) memcpy(v, fb, n * 4);
        else if (strcmp(t->name, "preprocessor.featurizer.window") == 0) memcpy(v, win, n * 4);
        else hash_fill(t, mini_seed(), v);
        const uint32_t got = est_crc32(0, v, n * 4);
        free(v);
        CHECKF(got == (uint32_t)want, "%s: crc %u, golden %u", t->name, got, (uint32_t)want);
        checked++;
    }
    CHECK(checked == l.n);
    free(fb);
    free(win);
}

/* Files the binder refuses with one line naming the problem: a misshaped tensor, an F16 norm, a key
 * that contradicts the tensors, an unsupported front-end option. */
TEST(pk_open_refuses_values) {
    size_t size = 0, need = 0;
    edgestt_diag diag = {0};
    static const struct { const char *what, *expect; } cases[] = {
        {"shape", "encoder.layers.0.feed_forward1.linear2.weight"},
        {"f16norm", "must be F32"},
        {"heads", "parakeet.n_heads = 8"},
        {"normalize", "parakeet.normalize"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t *img = build_mini(mini_seed(), 0, NULL, "parakeet", &size);
        CHECK(img);
        est_gguf_layout lay;
        CHECK_ST(est_gguf_scan(img, size, &lay, NULL, NULL, NULL), EDGESTT_OK);
        size_t nkv, nten;
        CHECK_ST(est_gguf_table_counts(&lay, &nkv, &nten), EDGESTT_OK);
        est_gguf_kv *kv = calloc(nkv + 1, sizeof *kv);
        est_file_tensor *tt = calloc(nten + 1, sizeof *tt);
        est_gguf g;
        CHECK_ST(est_gguf_fill(img, size, &lay, kv, tt, &g, NULL), EDGESTT_OK);
        /* patch the image in place: shapes and types live in the tensor infos (name, dims, type) */
        int patched = 0;
        for (size_t i = 0; i < nten; i++) {
            const est_file_tensor *t = &tt[i];
            /* ne[] follow the name (u64 len, name, u32 n_dims) in the image */
            uint8_t *ne = (uint8_t *)t->name + t->name_len + 4;
            if (c == 0 && est_file_tensor_is(t, "encoder.layers.0.feed_forward1.linear2.weight")) {
                const uint64_t a = 128, b = 128; /* 256 x 64 -> 128 x 128: same bytes, wrong shape */
                memcpy(ne, &a, 8), memcpy(ne + 8, &b, 8), patched = 1;
            }
            if (c == 1 && est_file_tensor_is(t, "encoder.layers.1.norm_out.weight")) {
                const uint32_t ty = EDGESTT_TYPE_F16; /* half the bytes: still inside the image */
                memcpy(ne + 8 * (size_t)t->n_dims, &ty, 4), patched = 1;
            }
        }
        free(kv);
        free(tt);
        if (c >= 2) { /* rebuild with an extra key: append is simplest through the builder's KV count */
            free(img);
            img = build_mini_extra(c == 2 ? "heads" : "normalize", &size);
            CHECK(img);
            patched = 1;
        }
        CHECK(patched);
        CHECK_ST(est_pk_open_size(img, size, &need, &diag), EDGESTT_OK);
        void *mem = malloc(need);
        est_pk_model *m = NULL;
        const int st = est_pk_open(img, size, est_kernels_variant(0), mem, need, &m, &diag);
        /* a misshaped tensor is EDGESTT_E_MODEL (as Whisper's), a wrong type or value _UNSUPPORTED / _FORMAT */
        CHECKF(c == 0 ? st == EDGESTT_E_MODEL : st == EDGESTT_E_FORMAT || st == EDGESTT_E_UNSUPPORTED, "%s: status %d",
               cases[c].what, st);
        CHECKF(strstr(diag.msg, cases[c].expect), "%s: '%s'", cases[c].what, diag.msg);
        free(mem);
        free(img);
    }
}

/* ---- pk-mini for other tests (tests/pk_mini.h) ---------------------------------------------- */

uint8_t *est_test_pk_mini(int rnnt, const char *arch, size_t *size) {
    return build_mini(mini_seed(), rnnt, NULL, arch, size);
}

int est_test_pk_gold(const char *key, double *out, int cap) { return pk_gold(key, out, cap); }


/* Modified beam search (beam 4) on the first 3 s of jfk.wav: tokens, frames, durations identical to the
 * golden (tests/reference/parakeet_ref.py beam_search), probabilities and score within 1e-4 rel; the golden
 * path differs from greedy; beam 1 is greedy (TDT) with the same probabilities; no allocation. */
static void beam_case(int rnnt) {
    const char *name = rnnt ? "rnnt" : "tdt";
    size_t n = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    mini x;
    edgestt_diag diag = {0};
    int st = mini_open(&x, rnnt, n, &diag);
    CHECKF(st == 0, "open: %d %s", st, diag.msg);
    int tf = 0, len = 0, t = 0, nt = 0, n1 = 0, ng = 0;
    CHECK_ST(est_pk_features(&x.s, pcm, n, &tf, &len), EDGESTT_OK);
    CHECK_ST(est_pk_encode(&x.s, len, &t, NULL), EDGESTT_OK);
    CHECK_ST(est_pk_project_enc(&x.s, t), EDGESTT_OK);
    static int32_t tok[512], fr[512], du[512], tok1[512], fr1[512], du1[512], tokg[512], frg[512];
    static float p[512], p1[512];
    static double g[512];
    double score = 0, score1 = 0;
    char key[64];
    const uint64_t a0 = est_test_alloc_calls();
    CHECK_ST(est_pk_decode(&x.s, t, 4, tok, fr, du, p, 512, &nt, &score), EDGESTT_OK);
    CHECK_ST(est_pk_decode(&x.s, t, 1, tok1, fr1, du1, p1, 512, &n1, &score1), EDGESTT_OK);
    CHECK_ST(est_pk_greedy(&x.s, t, tokg, frg, NULL, 512, &ng), EDGESTT_OK);
    CHECK(est_test_alloc_calls() == a0);
    printf("  pk-mini %s beam 4: %d tokens, score %.6f:", name, nt, score);
    for (int i = 0; i < nt && i < 16; i++) printf(" %d@%d+%d(p %.4f)", tok[i], fr[i], du[i], p[i]);
    printf("\n");
    /* the golden beam path */
    double bs[1];
    CHECK(pk_gold("beam.size", bs, 1) == 1 && (int)bs[0] == 4);
    snprintf(key, sizeof key, "beam.%s.tokens", name);
    int gn = pk_gold(key, g, 512);
    CHECKF(gn == nt, "%s beam: %d tokens, golden %d", name, nt, gn);
    for (int i = 0; i < nt; i++) CHECKF(tok[i] == (int)g[i], "%s beam token %d: %d vs %d", name, i, tok[i], (int)g[i]);
    snprintf(key, sizeof key, "beam.%s.frames", name);
    CHECK(pk_gold(key, g, 512) == nt);
    for (int i = 0; i < nt; i++) CHECKF(fr[i] == (int)g[i], "%s beam frame %d: %d vs %d", name, i, fr[i], (int)g[i]);
    if (!rnnt) {
        CHECK(pk_gold("beam.tdt.durations", g, 512) == nt);
        for (int i = 0; i < nt; i++) CHECKF(du[i] == (int)g[i], "tdt beam duration %d: %d vs %d", i, du[i], (int)g[i]);
    }
    snprintf(key, sizeof key, "beam.%s.p", name);
    CHECK(pk_gold(key, g, 512) == nt);
    for (int i = 0; i < nt; i++)
        CHECKF(fabs(p[i] - g[i]) <= 1e-4 * fabs(g[i]), "%s beam p %d: %.9g vs %.9g", name, i, p[i], g[i]);
    snprintf(key, sizeof key, "beam.%s.score", name);
    CHECK(pk_gold(key, g, 1) == 1);
    CHECKF(fabs(score - g[0]) <= 1e-4 * fabs(g[0]), "%s beam score %.9g vs %.9g", name, score, g[0]);
    snprintf(key, sizeof key, "beam.%s.differs_greedy", name);
    CHECK(pk_gold(key, g, 1) == 1 && g[0] == 1);
    int same = nt == ng;
    for (int i = 0; same && i < nt; i++) same = tok[i] == tokg[i];
    CHECKF(!same, "%s: beam 4 gave the greedy path", name);
    /* beam 1 is greedy (est_pk_greedy's path) with the greedy probabilities; for TDT that is also the golden
     * beam-1 search (for RNN-T the beam-1 search allows one label per frame: reference only) */
    CHECKF(n1 == ng, "%s beam 1: %d tokens, greedy %d", name, n1, ng);
    for (int i = 0; i < n1 && i < ng; i++) CHECK(tok1[i] == tokg[i] && fr1[i] == frg[i]);
    for (int i = 0; i < n1; i++) CHECK(p1[i] > 0.0f && p1[i] <= 1.0f);
    if (!rnnt) {
        gn = pk_gold("beam1.tdt.tokens", g, 512);
        CHECKF(gn == n1, "tdt beam 1: %d tokens, golden %d", n1, gn);
        for (int i = 0; i < n1; i++) CHECKF(tok1[i] == (int)g[i], "beam 1 token %d: %d vs %d", i, tok1[i], (int)g[i]);
        CHECK(pk_gold("beam1.tdt.frames", g, 512) == n1);
        for (int i = 0; i < n1; i++) CHECKF(fr1[i] == (int)g[i], "beam 1 frame %d: %d vs %d", i, fr1[i], (int)g[i]);
        CHECK(pk_gold("beam1.tdt.score", g, 1) == 1);
        CHECKF(fabs(score1 - g[0]) <= 1e-4 * fabs(g[0]), "beam 1 score %.9g vs %.9g", score1, g[0]);
        /* the beam's answer scores at least as well as the greedy path */
        CHECK(score >= score1 - 1e-9);
    }
    /* limits: beam 0 and over EST_PK_MAX_BEAM refused, a short output buffer gives EDGESTT_E_LIMIT */
    CHECK_ST(est_pk_decode(&x.s, t, 0, tok, fr, du, p, 512, &nt, &score), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_pk_decode(&x.s, t, EST_PK_MAX_BEAM + 1, tok, fr, du, p, 512, &nt, &score), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_pk_decode(&x.s, t, 4, tok, NULL, NULL, NULL, 3, &nt, NULL), EDGESTT_E_LIMIT);
    /* the largest beam runs too (answer no worse than beam 4's under the same rule is not guaranteed; only sane) */
    CHECK_ST(est_pk_decode(&x.s, t, EST_PK_MAX_BEAM, tok, fr, NULL, p, 512, &nt, &score), EDGESTT_OK);
    CHECK(nt > 0 && isfinite(score) && score < 0);
    for (int i = 1; i < nt; i++) CHECK(fr[i] >= fr[i - 1] && fr[i] < t);
    free(pcm);
    mini_free(&x);
}

TEST(pk_mini_beam_tdt) { beam_case(0); }
TEST(pk_mini_beam_rnnt) { beam_case(1); }
