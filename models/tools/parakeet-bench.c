/*
 * parakeet-bench - times the Parakeet transducer (models/parakeet.c) at real dimensions on weights
 * generated in memory (no model file): NeMo front end, encoder, joint projection and greedy
 * decoding over S seconds of audio.  A host tool: stdio and malloc are fine here.
 *
 *   parakeet-bench [--dims 0.6b|110m|mini|nano] [--type f32|f16|q8_0|q4_0] [--threads N]
 *                  [--seconds S] [--wav FILE] [--reps R] [--model FILE.gguf] [--print-tokens]
 *                  [--write FILE.gguf]
 *
 * --write saves the generated model (those dims and type) as a GGUF file and exits: the model
 * generator's Parakeet mode (the test set's pk-mini-q8_0.gguf, 0.6B / 110M files for benchmarks).
 * Its vocabulary is made-up SentencePiece pieces (every fourth one starts a word with U+2581).
 *
 * --model runs a Parakeet GGUF file (e.g. from models/parakeet/nemo_to_gguf.py) instead of generated
 * weights; --print-tokens prints the greedy tokens (id@frame+duration) and their text.
 *
 * Weights: a splitmix64 stream per tensor, uniform in +-1/sqrt(fan_in) for linear/conv weights,
 * norms 1, biases 0, batch-norm variance 1 (the numbers only need realistic magnitudes); linear
 * weights take --type (squeezed to 2-D), everything else F32, as models/parakeet-gguf.md allows.
 * The audio is the WAV's first S seconds, looped if shorter (default tests/data/jfk.wav).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/gguf_write.h"
#include "../../core/internal.h"
#include "../../kernels/kernels.h"
#include "../../kernels/quant.h"
#include "../../port/port.h"
#include "../parakeet.h"

typedef struct dims {
    const char *name;
    int mels, d, heads, layers, ff, kernel, ch, pred, joint, vocab, ndur;
} dims;

static const dims DIMS[] = {
    {"0.6b", 128, 1024, 8, 24, 4096, 9, 256, 640, 640, 1024, 5},
    {"110m", 80, 512, 8, 17, 2048, 9, 256, 640, 640, 1024, 5},
    {"mini", 80, 64, 4, 2, 256, 9, 32, 64, 64, 32, 5},
    {"nano", 8, 32, 2, 1, 32, 3, 32, 32, 32, 4, 5}, /* ~48 KB at q8_0: a fuzz seed (tests/fuzz/corpus/gguf) */
};

typedef struct tens {
    char name[160];
    int nd;
    int64_t shape[4]; /* PyTorch order */
    int kind;         /* 0 weight, 1 norm weight (1), 2 bias / zero, 3 linear (takes --type), 4 fb, 5 window */
} tens;

static tens *T;
static int NT, CAP;

static void add(const char *name, int kind, int nd, int64_t a, int64_t b, int64_t c, int64_t e) {
    if (NT == CAP) {
        CAP = CAP ? 2 * CAP : 256;
        T = realloc(T, (size_t)CAP * sizeof *T);
        if (!T) exit(2);
    }
    tens *t = &T[NT++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind, t->nd = nd;
    t->shape[0] = a, t->shape[1] = b, t->shape[2] = c, t->shape[3] = e;
}

static int64_t nel(const tens *t) {
    int64_t n = 1;
    for (int i = 0; i < t->nd; i++) n *= t->shape[i];
    return n;
}

static void build_list(const dims *D) {
    char n[160];
    const int f8 = ((((D->mels - 1) / 2 + 1) - 1) / 2 + 1 - 1) / 2 + 1;
    add("preprocessor.featurizer.window", 5, 1, 400, 0, 0, 0);
    add("preprocessor.featurizer.fb", 4, 3, 1, D->mels, 257, 0);
    for (int c = 0; c < 7; c++) {
        if (c == 1 || c == 4) continue;
        const int pw = c == 3 || c == 6;
        snprintf(n, sizeof n, "encoder.pre_encode.conv.%d.weight", c);
        if (pw) add(n, 3, 4, D->ch, D->ch, 1, 1);
        else add(n, 0, 4, D->ch, 1, 3, 3);
        snprintf(n, sizeof n, "encoder.pre_encode.conv.%d.bias", c);
        add(n, 2, 1, D->ch, 0, 0, 0);
    }
    add("encoder.pre_encode.out.weight", 3, 2, D->d, (int64_t)D->ch * f8, 0, 0);
    add("encoder.pre_encode.out.bias", 2, 1, D->d, 0, 0, 0);
    static const char *norms[] = {"norm_feed_forward1", "norm_self_att", "norm_conv", "norm_feed_forward2", "norm_out"};
    for (int i = 0; i < D->layers; i++) {
#define L_(s) (snprintf(n, sizeof n, "encoder.layers.%d.%s", i, s), n)
        char nb[64];
        for (int k = 0; k < 5; k++) {
            snprintf(nb, sizeof nb, "%s.weight", norms[k]);
            add(L_(nb), 1, 1, D->d, 0, 0, 0);
            snprintf(nb, sizeof nb, "%s.bias", norms[k]);
            add(L_(nb), 2, 1, D->d, 0, 0, 0);
        }
        for (int f = 1; f <= 2; f++) {
            snprintf(nb, sizeof nb, "feed_forward%d.linear1.weight", f);
            add(L_(nb), 3, 2, D->ff, D->d, 0, 0);
            snprintf(nb, sizeof nb, "feed_forward%d.linear2.weight", f);
            add(L_(nb), 3, 2, D->d, D->ff, 0, 0);
        }
        static const char *lin[] = {"linear_q", "linear_k", "linear_v", "linear_out", "linear_pos"};
        for (int k = 0; k < 5; k++) {
            snprintf(nb, sizeof nb, "self_attn.%s.weight", lin[k]);
            add(L_(nb), 3, 2, D->d, D->d, 0, 0);
        }
        add(L_("self_attn.pos_bias_u"), 2, 2, D->heads, D->d / D->heads, 0, 0);
        add(L_("self_attn.pos_bias_v"), 2, 2, D->heads, D->d / D->heads, 0, 0);
        add(L_("conv.pointwise_conv1.weight"), 3, 3, 2 * D->d, D->d, 1, 0);
        add(L_("conv.depthwise_conv.weight"), 0, 3, D->d, 1, D->kernel, 0);
        add(L_("conv.batch_norm.weight"), 1, 1, D->d, 0, 0, 0);
        add(L_("conv.batch_norm.bias"), 2, 1, D->d, 0, 0, 0);
        add(L_("conv.batch_norm.running_mean"), 2, 1, D->d, 0, 0, 0);
        add(L_("conv.batch_norm.running_var"), 1, 1, D->d, 0, 0, 0);
        add(L_("conv.pointwise_conv2.weight"), 3, 3, D->d, D->d, 1, 0);
#undef L_
    }
    add("decoder.prediction.embed.weight", 0, 2, D->vocab + 1, D->pred, 0, 0);
    add("decoder.prediction.dec_rnn.lstm.weight_ih_l0", 3, 2, 4 * D->pred, D->pred, 0, 0);
    add("decoder.prediction.dec_rnn.lstm.weight_hh_l0", 3, 2, 4 * D->pred, D->pred, 0, 0);
    add("decoder.prediction.dec_rnn.lstm.bias_ih_l0", 2, 1, 4 * D->pred, 0, 0, 0);
    add("decoder.prediction.dec_rnn.lstm.bias_hh_l0", 2, 1, 4 * D->pred, 0, 0, 0);
    add("joint.enc.weight", 3, 2, D->joint, D->d, 0, 0);
    add("joint.enc.bias", 2, 1, D->joint, 0, 0, 0);
    add("joint.pred.weight", 3, 2, D->joint, D->pred, 0, 0);
    add("joint.pred.bias", 2, 1, D->joint, 0, 0, 0);
    add("joint.joint_net.2.weight", 3, 2, D->vocab + 1 + D->ndur, D->joint, 0, 0);
    add("joint.joint_net.2.bias", 2, 1, D->vocab + 1 + D->ndur, 0, 0, 0);
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double hz_to_mel(double f) {
    const double fsp = 200.0 / 3, lhz = 1000.0, lmel = lhz / fsp, step = log(6.4) / 27.0;
    return f >= lhz ? lmel + log(f / lhz) / step : f / fsp;
}
static double mel_to_hz(double m) {
    const double fsp = 200.0 / 3, lhz = 1000.0, lmel = lhz / fsp, step = log(6.4) / 27.0;
    return m >= lmel ? lhz * exp(step * (m - lmel)) : fsp * m;
}

/* Values of tensor t (F32). */
static void fill(const tens *t, float *v, int mels) {
    const int64_t n = nel(t);
    if (t->kind == 4) { /* Slaney mel filters, n_fft 512, sr 16000 */
        double pts[260];
        const double lo = hz_to_mel(0), hi = hz_to_mel(8000);
        for (int i = 0; i < mels + 2; i++) pts[i] = mel_to_hz(lo + (hi - lo) * i / (mels + 1));
        for (int m = 0; m < mels; m++)
            for (int k = 0; k < 257; k++) {
                const double f = k * 16000.0 / 512, a = (f - pts[m]) / (pts[m + 1] - pts[m]);
                const double b = (pts[m + 2] - f) / (pts[m + 2] - pts[m + 1]), w = a < b ? a : b;
                v[m * 257 + k] = (float)((w > 0 ? w : 0) * 2.0 / (pts[m + 2] - pts[m]));
            }
        return;
    }
    if (t->kind == 5) {
        for (int i = 0; i < 400; i++) v[i] = (float)(0.5 - 0.5 * cos(2 * 3.14159265358979323846 * i / 399.0));
        return;
    }
    if (t->kind == 1 || t->kind == 2) {
        for (int64_t i = 0; i < n; i++) v[i] = t->kind == 1 ? 1.0f : 0.0f;
        return;
    }
    uint64_t s = 0x70617261ull;
    for (const char *p = t->name; *p; p++) s = (s ^ (uint8_t)*p) * 0x100000001b3ull;
    const double scale = 1.0 / sqrt((double)(n / t->shape[0]));
    for (int64_t i = 0; i < n; i++) v[i] = (float)(((double)(splitmix(&s) >> 11) / 9007199254740992.0 * 2 - 1) * scale);
}

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static int sink(void *ctx, uint64_t off, const void *data, size_t n) {
    membuf *b = ctx;
    if (off + n > b->cap) {
        size_t cap = b->cap ? b->cap : (size_t)1 << 24;
        while (cap < off + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) return EDGESTT_E_NOMEM;
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + off, data, n);
    if (off + n > b->n) b->n = (size_t)(off + n);
    return 0;
}

static uint8_t *build(const dims *D, int wtype, size_t *size) {
    build_list(D);
    membuf b = {0};
    est_gguw w;
    est_gguw_init(&w, sink, &b);
    est_gguw_header(&w, (uint64_t)NT, 4);
    est_gguw_kv_str(&w, "general.architecture", "parakeet", 8);
    est_gguw_kv_u32(&w, "general.alignment", 64);
    est_gguw_kv_arr(&w, "parakeet.durations", EST_GGUF_U32, (uint64_t)D->ndur);
    for (int i = 0; i < D->ndur; i++) est_gguw_u32(&w, (uint32_t)i);
    /* made-up pieces: "\xe2\x96\x81" (U+2581) + letters for every fourth id, letters otherwise */
    est_gguw_kv_arr(&w, "tokenizer.ggml.tokens", EST_GGUF_STRING, (uint64_t)D->vocab);
    for (int i = 0; i < D->vocab; i++) {
        char piece[16];
        size_t n = 0;
        if (i % 4 == 0) memcpy(piece, "\xe2\x96\x81", 3), n = 3;
        int v = i;
        do piece[n++] = (char)('a' + v % 26), v /= 26;
        while (v && n < sizeof piece);
        est_gguw_str(&w, piece, n);
    }
    uint64_t off = 0;
    for (int i = 0; i < NT; i++) {
        const tens *t = &T[i];
        const int q = t->kind == 3 && wtype != EDGESTT_TYPE_F32;
        int64_t ne[4] = {1, 1, 1, 1};
        for (int k = 0; k < t->nd; k++) ne[k] = t->shape[t->nd - 1 - k];
        if (q) ne[0] = nel(t) / t->shape[0], ne[1] = t->shape[0], ne[2] = ne[3] = 1;
        est_gguw_tensor_info(&w, t->name, strlen(t->name), q ? 2 : t->nd, ne, q ? wtype : EDGESTT_TYPE_F32, off);
        const uint64_t bytes = q ? est_type_row_bytes(wtype, (uint64_t)ne[0]) * (uint64_t)ne[1] : (uint64_t)nel(t) * 4;
        off = est_gguw_align_up(off + bytes, 64);
    }
    est_gguw_pad(&w, 64);
    for (int i = 0; i < NT; i++) {
        const tens *t = &T[i];
        const size_t n = (size_t)nel(t);
        float *v = malloc(n * sizeof(float));
        if (!v) return NULL;
        fill(t, v, D->mels);
        if (t->kind == 3 && wtype != EDGESTT_TYPE_F32) {
            const int k = (int)(n / (size_t)t->shape[0]);
            const size_t rb = est_type_row_bytes(wtype, (uint64_t)k);
            uint8_t *row = malloc(rb);
            for (int64_t r = 0; r < t->shape[0]; r++) {
                const float *src = v + (size_t)r * (size_t)k;
                if (wtype == EDGESTT_TYPE_F16)
                    for (int j = 0; j < k; j++) {
                        uint16_t h = est_f32_to_f16(src[j]);
                        memcpy(row + 2 * j, &h, 2);
                    }
                else if (wtype == EDGESTT_TYPE_Q8_0) est_quantize_row_q8_0_ref(src, row, k);
                else est_quantize_row_q4_0_ref(src, row, k);
                est_gguw_bytes(&w, row, rb);
            }
            free(row);
        } else {
            est_gguw_bytes(&w, v, n * 4);
        }
        est_gguw_pad(&w, 64);
        free(v);
    }
    if (est_gguw_status(&w)) return NULL;
    *size = b.n;
    return b.p;
}

static float *load_wav(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc((size_t)sz);
    if (!d || fread(d, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        return NULL;
    }
    fclose(f);
    edgestt_wav_info info;
    size_t scr = 0;
    float *out = NULL;
    if (edgestt_wav_parse(d, (size_t)sz, &info, NULL) == 0 && edgestt_wav_scratch_size(&info, &scr) == 0) {
        void *s = scr ? malloc(scr) : NULL;
        out = malloc((size_t)info.n_samples_16k * sizeof(float) + 4);
        if (out && edgestt_wav_decode(d, (size_t)sz, &info, out, s, scr, NULL) == 0) *n = (size_t)info.n_samples_16k;
        free(s);
    }
    free(d);
    return out;
}

static double ms(uint64_t a, uint64_t b) { return (double)(b - a) / 1e6; }

int main(int argc, char **argv) {
    const char *dname = "110m", *tname = "f32", *wav = "tests/data/jfk.wav", *model = NULL;
    int threads = 1, reps = 1, print_tokens = 0;
    const char *write = NULL;
    double seconds = 10.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dims") && v) dname = v, i++;
        else if (!strcmp(a, "--type") && v) tname = v, i++;
        else if (!strcmp(a, "--threads") && v) threads = atoi(v), i++;
        else if (!strcmp(a, "--seconds") && v) seconds = atof(v), i++;
        else if (!strcmp(a, "--wav") && v) wav = v, i++;
        else if (!strcmp(a, "--reps") && v) reps = atoi(v), i++;
        else if (!strcmp(a, "--model") && v) model = v, i++;
        else if (!strcmp(a, "--print-tokens")) print_tokens = 1;
        else if (!strcmp(a, "--write") && v) write = v, i++;
        else {
            fprintf(stderr, "usage: parakeet-bench [--dims 0.6b|110m|mini|nano] [--type f32|f16|q8_0|q4_0] [--threads N] "
                            "[--seconds S] [--wav FILE] [--reps R] [--model FILE] [--print-tokens] [--write FILE]\n");
            return 2;
        }
    }
    const dims *D = NULL;
    for (size_t i = 0; i < sizeof DIMS / sizeof DIMS[0]; i++)
        if (!strcmp(DIMS[i].name, dname)) D = &DIMS[i];
    int wtype = !strcmp(tname, "f32") ? EDGESTT_TYPE_F32 : !strcmp(tname, "f16") ? EDGESTT_TYPE_F16
              : !strcmp(tname, "q8_0") ? EDGESTT_TYPE_Q8_0 : !strcmp(tname, "q4_0") ? EDGESTT_TYPE_Q4_0 : -1;
    if (!D || wtype < 0 || threads < 1 || threads > 64 || seconds <= 0 || seconds > 600 || reps < 1) {
        fprintf(stderr, "parakeet-bench: bad arguments\n");
        return 2;
    }
    if (write) { /* the generator: the image to FILE (via FILE.part, renamed when complete) */
        size_t size = 0;
        uint8_t *img = build(D, wtype, &size);
        char part[4096];
        snprintf(part, sizeof part, "%s.part", write);
        FILE *f = img ? fopen(part, "wb") : NULL;
        int ok = f && fwrite(img, 1, size, f) == size;
        if (f && fclose(f)) ok = 0;
        if (ok && rename(part, write)) ok = 0;
        if (!ok) {
            remove(part);
            fprintf(stderr, "parakeet-bench: cannot write %s\n", write);
            return 1;
        }
        printf("%s: parakeet %s %s, %zu bytes\n", write, D->name, tname, size);
        free(img);
        return 0;
    }
    size_t nw = 0;
    float *pcm0 = load_wav(wav, &nw);
    if (!pcm0 || !nw) {
        fprintf(stderr, "parakeet-bench: cannot read %s\n", wav);
        return 1;
    }
    const size_t n = (size_t)(seconds * 16000);
    float *pcm = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) pcm[i] = pcm0[i % nw];
    uint64_t t0 = est_port_now_ns();
    size_t size = 0;
    uint8_t *img = NULL;
    if (model) { /* the whole file, 64-byte aligned */
        FILE *f = fopen(model, "rb");
        long sz = -1;
        if (f && !fseek(f, 0, SEEK_END)) sz = ftell(f);
        void *p = NULL;
        if (f && sz > 0 && !fseek(f, 0, SEEK_SET) && !posix_memalign(&p, 64, (size_t)sz) &&
            fread(p, 1, (size_t)sz, f) == (size_t)sz)
            img = p, size = (size_t)sz, dname = model, tname = "file";
        if (f) fclose(f);
        if (!img) {
            fprintf(stderr, "parakeet-bench: cannot read %s\n", model);
            return 1;
        }
    } else {
        img = build(D, wtype, &size);
    }
    if (!img) {
        fprintf(stderr, "parakeet-bench: out of memory building the model\n");
        return 1;
    }
    uint64_t t1 = est_port_now_ns();
    const est_kernels *kt = NULL;
    edgestt_diag diag = {0};
    if (est_kernels_select(NULL, est_port_cpu_features(), &kt)) return 1;
    size_t hb = 0, sb = 0;
    est_pk_model *m = NULL;
    int st = est_pk_open_size(img, size, &hb, &diag);
    void *hm = st ? NULL : malloc(hb);
    if (!st) st = est_pk_open(img, size, kt, hm, hb, &m, &diag);
    void *pm = malloc(est_pool_size(threads));
    est_pool *pool = NULL;
    if (!st && threads > 1) st = est_pool_init(&pool, pm, est_pool_size(threads), threads);
    if (!st) st = est_pk_state_size(m, n, threads, &sb);
    void *smem = st ? NULL : malloc(sb);
    est_pk_state s;
    if (!st) st = est_pk_state_init(&s, m, n, pool, smem, sb);
    if (st) {
        fprintf(stderr, "parakeet-bench: %s (%d)\n", diag.msg, st);
        return 1;
    }
    printf("parakeet-bench: %s %s, kernels %s, %d thread(s), %.1f s audio; model %.1f MB (built in %.1f s), "
           "handle %zu B, state %.1f MB\n", dname, tname, kt->name, threads, seconds, size / 1e6, ms(t0, t1) / 1e3,
           hb, sb / 1e6);
    static int32_t tok[1 << 16];
    for (int r = 0; r < reps; r++) {
        int tf, len, t, nt;
        uint64_t a = est_port_now_ns();
        st = est_pk_features(&s, pcm, n, &tf, &len);
        uint64_t b = est_port_now_ns();
        if (!st) st = est_pk_encode(&s, len, &t, NULL);
        uint64_t c = est_port_now_ns();
        if (!st) st = est_pk_project_enc(&s, t);
        if (!st) st = est_pk_greedy(&s, t, tok, NULL, NULL, 1 << 16, &nt);
        uint64_t d = est_port_now_ns();
        if (st) {
            fprintf(stderr, "parakeet-bench: run failed (%d)\n", st);
            return 1;
        }
        printf("  run %d: features %.1f ms, encoder %.1f ms (%.1f ms per audio second), decode %.1f ms (%d tokens), "
               "RTF %.4f\n", r, ms(a, b), ms(b, c), ms(b, c) / seconds, ms(c, d), nt, ms(a, d) / 1e3 / seconds);
        if (print_tokens && r == 0) {
            static int32_t fr[1 << 16], du[1 << 16];
            static char text[1 << 16];
            size_t tl = 0;
            est_pk_greedy(&s, t, tok, fr, du, 1 << 16, &nt);
            printf("  tokens %d:", nt);
            for (int i = 0; i < nt; i++) printf(" %d@%d+%d", tok[i], fr[i], du[i]);
            est_pk_detokenize(m, tok, nt, text, sizeof text, &tl);
            printf("\n  text: %s\n", text);
        }
    }
    if (pool) est_pool_destroy(pool);
    free(smem);
    free(hm);
    free(pm);
    free(img);
    free(pcm);
    free(pcm0);
    free(T);
    return 0;
}
