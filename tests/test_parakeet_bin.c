/*
 * test_parakeet_bin.c - whisper.cpp's Parakeet .bin layout (models/parakeet-bin.md,
 * models/parakeet_bin.c).  pk-mini's .bin is written here at test time from its in-memory GGUF
 * (tests/pk_mini.h) by a small writer that follows the document (squeezed dims, LSTM gates as
 * i, f, o, g with bias_ih folded into bias_h, a 0-dim num_batches_tracked per layer, nothing
 * aligned), so no model file is committed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/edgestt.h"
#include "../core/ggml_bin.h"
#include "../core/gguf.h"
#include "../kernels/quant.h"
#include "../models/parakeet_bin.h"
#include "pk_mini.h"
#include "test.h"


/* ---- a growing byte buffer ---------------------------------------------------------------- */
typedef struct buf { uint8_t *p; size_t n, cap; } buf;

static void put(buf *b, const void *d, size_t n) {
    if (!n) return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 4096;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_i32(buf *b, int32_t v) { put(b, &v, 4); }

/* One row of k f32 values as type into dst. */
static void conv_row(int type, const float *x, int64_t k, uint8_t *dst) {
    if (type == EDGESTT_TYPE_F32) memcpy(dst, x, (size_t)k * 4);
    if (type == EDGESTT_TYPE_F16)
        for (int64_t i = 0; i < k; i++) {
            uint16_t h = est_f32_to_f16(x[i]);
            memcpy(dst + 2 * i, &h, 2);
        }
    if (type == EDGESTT_TYPE_Q8_0) est_quantize_row_q8_0_ref(x, dst, k);
    if (type == EDGESTT_TYPE_Q4_0) est_quantize_row_q4_0_ref(x, dst, k);
}

/* A tensor record: name, n_dims dims ne (ggml order), f32 values converted to type. */
static void put_tensor(buf *b, const char *name, int n_dims, const int64_t *ne, const float *v, int type) {
    int64_t k = n_dims ? ne[0] : 1, rows = 1;
    for (int i = 1; i < n_dims; i++) rows *= ne[i];
    put_i32(b, n_dims);
    put_i32(b, (int32_t)strlen(name));
    put_i32(b, type);
    for (int i = 0; i < n_dims; i++) put_i32(b, (int32_t)ne[i]);
    put(b, name, strlen(name));
    const size_t rb = est_type_row_bytes(type, (uint64_t)k);
    uint8_t *row = malloc(rb);
    for (int64_t r = 0; r < rows; r++) {
        conv_row(type, v + r * k, k, row);
        put(b, row, rb);
    }
    free(row);
}

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* The 4 gate blocks of rows x k values from PyTorch's i, f, g, o into the peer's i, f, o, g. */
static void ifgo_to_ifog(float *v, int64_t rows, int64_t k) {
    const size_t blk = (size_t)(rows / 4) * (size_t)k;
    float *tmp = malloc(blk * 4);
    memcpy(tmp, v + 2 * blk, blk * 4);
    memcpy(v + 2 * blk, v + 3 * blk, blk * 4);
    memcpy(v + 3 * blk, tmp, blk * 4);
    free(tmp);
}

/* pk-mini (F32 GGUF) -> .bin with 2-D weight matrices as wtype; malloc'd, *size bytes. */
static uint8_t *write_bin(int wtype, size_t *size) {
    size_t gsize = 0;
    uint8_t *img = est_test_pk_mini(0, "parakeet", &gsize);
    if (!img) return NULL;
    est_gguf_layout lay;
    est_gguf g;
    size_t n_kv, n_t;
    if (est_gguf_scan(img, gsize, &lay, NULL, NULL, NULL) || est_gguf_table_counts(&lay, &n_kv, &n_t)) return NULL;
    est_gguf_kv *kv = calloc(n_kv + 1, sizeof *kv);
    est_file_tensor *tab = calloc(n_t + 1, sizeof *tab);
    if (est_gguf_fill(img, gsize, &lay, kv, tab, &g, NULL)) return NULL;
    const est_file_tensor *fb = NULL, *win = NULL;
    int d = 0, heads = 0, layers = 0, C = 0, K = 0, P = 0, V = 0, pred_layers = 0;
    for (size_t i = 0; i < n_t; i++) {
        const est_file_tensor *t = &tab[i];
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name_len, t->name);
        if (!strcmp(name, "preprocessor.featurizer.fb")) fb = t;
        if (!strcmp(name, "preprocessor.featurizer.window")) win = t;
        if (!strcmp(name, "encoder.layers.0.norm_out.weight")) d = (int)t->ne[0];
        if (!strcmp(name, "encoder.layers.0.self_attn.pos_bias_u")) heads = (int)t->ne[1];
        if (has(name, ".norm_out.weight")) layers++;
        if (!strcmp(name, "encoder.pre_encode.conv.0.weight")) C = (int)(est_file_tensor_nelem(t) / 9);
        if (!strcmp(name, "encoder.layers.0.conv.depthwise_conv.weight")) K = (int)(est_file_tensor_nelem(t) / d);
        if (!strcmp(name, "decoder.prediction.embed.weight")) P = (int)t->ne[0], V = (int)t->ne[1] - 1;
        if (has(name, "lstm.weight_ih_l")) pred_layers++;
    }
    const int durs[5] = {0, 1, 2, 3, 4};
    buf b = {0};
    put_i32(&b, (int32_t)EST_GGML_MAGIC);
    const int ftype = wtype == EDGESTT_TYPE_F32 ? 0 : wtype == EDGESTT_TYPE_F16 ? 1
                      : wtype == EDGESTT_TYPE_Q8_0 ? 2007 : 2002;
    const int32_t hp[15] = {V, 5000, d, heads, layers, 80, ftype, 512, 8, C, K, P, pred_layers, 5, 10};
    for (int i = 0; i < 15; i++) put_i32(&b, hp[i]);
    put_i32(&b, 80);
    put_i32(&b, 257);
    put(&b, fb->data, fb->nbytes);
    put_i32(&b, 400);
    put(&b, win->data, win->nbytes);
    for (int i = 0; i < 5; i++) put_i32(&b, durs[i]);
    put_i32(&b, V);
    for (int i = 0; i < V; i++) { /* pieces: pk-mini's own when it has them, else "<i>" */
        char piece[32];
        const char *s = piece;
        uint64_t len = (uint64_t)snprintf(piece, sizeof piece, "p%d", i);
        const uint8_t *first;
        uint64_t cnt;
        if (!est_gguf_get_arr(g.kv, lay.n_kv, "tokenizer.ggml.tokens", EST_GGUF_STRING, &first, &cnt, NULL) && cnt == (uint64_t)V) {
            const uint8_t *q = first;
            for (int j = 0; j <= i; j++) est_gguf_next_str(&q, img + gsize, &s, &len);
        }
        put_i32(&b, (int32_t)len);
        put(&b, s, (size_t)len);
    }
    for (size_t i = 0; i < n_t; i++) {
        const est_file_tensor *t = &tab[i];
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name_len, t->name);
        if (t == fb || t == win || has(name, "lstm.bias_ih_l")) continue;
        const int64_t n = est_file_tensor_nelem(t);
        float *v = malloc((size_t)n * 4);
        memcpy(v, t->data, (size_t)n * 4);
        int64_t ne[4];
        int nd = 0;
        const int keep4 = has(name, "conv") && has(name, "weight") && t->n_dims == 4;
        for (int j = 0; j < t->n_dims; j++)
            if (keep4 || t->ne[j] != 1) ne[nd++] = t->ne[j];
        if (!nd) ne[nd++] = 1;
        if (has(name, "pre_encode.conv") && has(name, "bias") && nd == 1) {
            ne[2] = ne[0], ne[0] = ne[1] = ne[3] = 1, nd = 4;
        }
        if (has(name, "lstm.bias_hh_l")) { /* fold bias_ih into it, rename bias_h */
            char ih[256];
            snprintf(ih, sizeof ih, "%s", name);
            memcpy(strstr(ih, "bias_hh"), "bias_ih", 7);
            for (size_t j = 0; j < n_t; j++)
                if (est_file_tensor_is(&tab[j], ih))
                    for (int64_t e = 0; e < n; e++) {
                        float x;
                        memcpy(&x, tab[j].data + 4 * e, 4);
                        v[e] += x;
                    }
            char *p = strstr(name, "bias_hh");
            memmove(p + 6, p + 7, strlen(p + 7) + 1);
        }
        if (has(name, "lstm.")) ifgo_to_ifog(v, nd == 2 ? ne[1] : ne[0], nd == 2 ? ne[0] : 1);
        int type = EDGESTT_TYPE_F32;
        if (nd == 2 && !has(name, "bias") && !has(name, "norm") && !has(name, "depthwise_conv.weight")) type = wtype;
        put_tensor(&b, name, nd, ne, v, type);
        free(v);
        if (has(name, "running_var")) { /* the peer's loader wants num_batches_tracked (0-dim) */
            char nb[256];
            snprintf(nb, sizeof nb, "%.*s", (int)(strlen(name) - strlen("running_var")), name);
            strcat(nb, "num_batches_tracked");
            const float zero = 0.0f;
            put_tensor(&b, nb, 0, NULL, &zero, EDGESTT_TYPE_F32);
        }
    }
    free(kv);
    free(tab);
    free(img);
    *size = b.n;
    return b.p;
}

/* A bound .bin model and its state for up to max_samples. */
typedef struct pkb { uint8_t *img; size_t size; void *mem, *smem; est_pk_model *m; est_pk_state s; } pkb;

static int pkb_open(pkb *x, const uint8_t *img, size_t size, int gguf, size_t max_samples, edgestt_diag *diag) {
    size_t need = 0, sneed = 0;
    memset(x, 0, sizeof *x);
    int st = gguf ? est_pk_open_size(img, size, &need, diag) : est_pkbin_open_size(img, size, &need, diag);
    if (st) return st;
    x->mem = aligned_alloc(64, (need + 63) / 64 * 64);
    st = gguf ? est_pk_open(img, size, est_kernels_variant(0), x->mem, need, &x->m, diag)
              : est_pkbin_open(img, size, est_kernels_variant(0), x->mem, need, &x->m, diag);
    if (!st) st = est_pk_state_size(x->m, max_samples, 1, &sneed);
    if (!st) x->smem = aligned_alloc(64, (sneed + 63) / 64 * 64);
    if (!st) st = est_pk_state_init(&x->s, x->m, max_samples, NULL, x->smem, sneed);
    return st;
}

static void pkb_free(pkb *x) {
    free(x->mem);
    free(x->smem);
    free(x->img);
    memset(x, 0, sizeof *x);
}

static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)b[i] * b[i];
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* The .bin of pk-mini binds and, with the goldens' xscaling, gives the golden TDT tokens. */
TEST(pkbin_mini_golden) {
    size_t size = 0, n = 0;
    uint8_t *img = write_bin(EDGESTT_TYPE_F32, &size);
    CHECKF(img, "pk-mini GGUF unavailable (tests/data/parakeet)");
    printf("  pk-mini .bin: %zu bytes\n", size);
    FILE *f = fopen(est_test_tmp("pk-mini-f32.bin"), "wb"); /* for tests/reference/parakeet_bin.py to compare */
    CHECK(f && fwrite(img, 1, size, f) == size);
    fclose(f);
    CHECK(est_pkbin_detect(img, size) == 1);
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    pkb x;
    edgestt_diag diag = {0};
    int st = pkb_open(&x, img, size, 0, n, &diag);
    CHECKF(st == 0, "open: %d %s", st, diag.msg);
    x.img = img;
    const est_pk_hparams *hp = &x.m->hp;
    CHECK(hp->d_model == 64 && hp->n_heads == 4 && hp->n_layers == 2 && hp->d_ff == 256 && hp->conv_kernel == 9);
    CHECK(hp->sub_channels == 32 && hp->pred_hidden == 64 && hp->joint_hidden == 64 && hp->n_vocab == 32);
    CHECK(hp->n_dur == 5 && hp->durations[4] == 4 && hp->max_symbols == 10 && hp->xscaling == 0);
    /* zero copy: matrices and the embedding point into the image */
    const uint8_t *q = (const uint8_t *)x.m->layers[1].q.w, *e = (const uint8_t *)x.m->embed;
    CHECK(q > img && q < img + size && e > img && e < img + size);
    x.m->hp.xscaling = 1; /* the goldens' configuration (the .bin cannot say; the peer never scales) */
    int32_t tok[256], fr[256], du[256];
    int nt = 0;
    CHECK_ST(est_pk_transcribe(&x.s, pcm, n, tok, fr, du, 256, &nt), EDGESTT_OK);
    double g[512];
    int ng = est_test_pk_gold("tdt.tokens", g, 512);
    CHECKF(ng == nt && nt > 0, "%d tokens, golden %d", nt, ng);
    for (int i = 0; i < nt; i++) CHECKF(tok[i] == (int)g[i], "token %d: %d vs %d", i, tok[i], (int)g[i]);
    CHECK(est_test_pk_gold("tdt.frames", g, 512) == nt);
    for (int i = 0; i < nt; i++) CHECKF(fr[i] == (int)g[i], "frame %d: %d vs %d", i, fr[i], (int)g[i]);
    CHECK(est_test_pk_gold("tdt.durations", g, 512) == nt);
    for (int i = 0; i < nt; i++) CHECKF(du[i] == (int)g[i], "duration %d: %d vs %d", i, du[i], (int)g[i]);
    printf("  .bin greedy TDT: %d tokens = golden\n", nt);
    free(pcm);
    pkb_free(&x);
}

/* .bin and GGUF of the same weights bind the same bytes (the LSTM back in PyTorch's gate order,
 * its two biases summed) and, both without xscaling, give identical encoder output and tokens. */
TEST(pkbin_same_as_gguf) {
    size_t bsize = 0, gsize = 0, n = 0;
    uint8_t *bimg = write_bin(EDGESTT_TYPE_F32, &bsize), *gimg = est_test_pk_mini(0, "parakeet", &gsize);
    CHECK(bimg && gimg);
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    pkb a, b;
    edgestt_diag diag = {0};
    int st = pkb_open(&a, gimg, gsize, 1, n, &diag);
    CHECKF(st == 0, "gguf open: %d %s", st, diag.msg);
    a.img = gimg;
    st = pkb_open(&b, bimg, bsize, 0, n, &diag);
    CHECKF(st == 0, "bin open: %d %s", st, diag.msg);
    b.img = bimg;
    const est_pk_model *ma = a.m, *mb = b.m;
    const int d = 64, C = 32, P = 64;
#define SAMEF(x, cnt) CHECKF(mb->x && ma->x && !memcmp(mb->x, ma->x, (size_t)(cnt) * 4), "%s differs", #x)
#define SAMEL(L) CHECKF(mb->L.type == ma->L.type && mb->L.n == ma->L.n && mb->L.k == ma->L.k && \
                        !memcmp(mb->L.w, ma->L.w, mb->L.stride * (size_t)mb->L.n), "%s differs", #L)
    SAMEF(fb, 80 * 257);
    SAMEF(window, 400);
    SAMEF(sub0_w, C * 9);
    SAMEF(sub2_w, C * 9);
    SAMEF(sub5_w, C * 9);
    SAMEF(sub0_b, C);
    SAMEL(sub3);
    SAMEL(sub6);
    SAMEL(sub_out);
    for (int l = 0; l < 2; l++) {
        SAMEF(layers[l].ln_ff1.g, d);
        SAMEF(layers[l].ln_out.b, d);
        SAMEF(layers[l].pos_u, d);
        SAMEF(layers[l].pos_v, d);
        SAMEF(layers[l].dw_w, d * 9);
        SAMEF(layers[l].bn_var, d);
        SAMEF(layers[l].bn_mean, d);
        SAMEL(layers[l].ff1_1);
        SAMEL(layers[l].ff2_2);
        SAMEL(layers[l].q);
        SAMEL(layers[l].pos);
        SAMEL(layers[l].pw1);
        SAMEL(layers[l].pw2);
    }
    SAMEL(lstm_ih[0]);
    SAMEL(lstm_hh[0]);
    CHECK(mb->lstm_ih[0].b == NULL && mb->lstm_hh[0].b);
    for (int j = 0; j < 4 * P; j++)
        CHECKF(mb->lstm_hh[0].b[j] == ma->lstm_ih[0].b[j] + ma->lstm_hh[0].b[j], "lstm bias %d", j);
    CHECK(mb->embed_type == ma->embed_type && !memcmp(mb->embed, ma->embed, 33 * (size_t)P * 4));
    SAMEL(joint_enc);
    SAMEL(joint_pred);
    SAMEL(joint_out);
    SAMEF(joint_out.b, 38);
#undef SAMEF
#undef SAMEL
    const char *pa, *pb;
    size_t la, lb;
    CHECK_ST(est_pk_piece(mb, 5, &pb, &lb), EDGESTT_OK);
    if (!est_pk_piece(ma, 5, &pa, &la)) CHECK(la == lb && !memcmp(pa, pb, la));
    for (int xs = 0; xs < 2; xs++) { /* the peer's semantics (none), then the goldens' (sqrt(d)) */
        a.m->hp.xscaling = b.m->hp.xscaling = xs;
        int32_t ta[256], tb[256];
        int na = 0, nb = 0;
        CHECK_ST(est_pk_transcribe(&a.s, pcm, n, ta, NULL, NULL, 256, &na), EDGESTT_OK);
        CHECK_ST(est_pk_transcribe(&b.s, pcm, n, tb, NULL, NULL, 256, &nb), EDGESTT_OK);
        CHECK(!memcmp(a.s.x, b.s.x, (size_t)38 * d * 4));
        CHECKF(na == nb && (na > 0 || !xs) && !memcmp(ta, tb, (size_t)na * 4), "xscaling %d: gguf %d, bin %d tokens",
               xs, na, nb);
        printf("  xscaling %d: encoder output bit-identical, %d tokens, GGUF = .bin\n", xs, na);
    }
    free(pcm);
    pkb_free(&a);
    pkb_free(&b);
}

/* F16 / Q8_0 / Q4_0 weight matrices in the .bin run through the same kernels. */
TEST(pkbin_quant) {
    size_t n = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    static float ref[38 * 64];
    static const int types[] = {EDGESTT_TYPE_F32, EDGESTT_TYPE_F16, EDGESTT_TYPE_Q8_0, EDGESTT_TYPE_Q4_0};
    static const double bound[] = {0, 2e-3, 3e-2, 2.5e-1};
    for (int ti = 0; ti < 4; ti++) {
        size_t size = 0;
        uint8_t *img = write_bin(types[ti], &size);
        CHECK(img);
        pkb x;
        edgestt_diag diag = {0};
        int st = pkb_open(&x, img, size, 0, n, &diag);
        CHECKF(st == 0, "type %d: %d %s", types[ti], st, diag.msg);
        x.img = img;
        x.m->hp.xscaling = 1;
        CHECK(x.m->layers[0].ff1_1.type == types[ti] && x.m->joint_out.type == types[ti] &&
              x.m->lstm_hh[0].type == types[ti] && x.m->embed_type == types[ti]);
        int32_t tok[256];
        int nt = 0;
        CHECK_ST(est_pk_transcribe(&x.s, pcm, n, tok, NULL, NULL, 256, &nt), EDGESTT_OK);
        if (ti == 0) memcpy(ref, x.s.x, sizeof ref);
        const double e = rel_err(x.s.x, ref, 38 * 64);
        printf("  type %d: %zu bytes, encoder rel err %.3g vs F32, %d tokens\n", types[ti], size, e, nt);
        CHECKF(e <= bound[ti], "type %d: rel err %g > %g", types[ti], e, bound[ti]);
        pkb_free(&x);
    }
    free(pcm);
}

/* Truncations and absurd values are refused with one line; the public API opens the file. */
TEST(pkbin_refuses) {
    size_t size = 0;
    uint8_t *img = write_bin(EDGESTT_TYPE_Q8_0, &size);
    CHECK(img);
    edgestt_diag diag = {0};
    size_t need = 0;
    const size_t fb_end = 72 + 80 * 257 * 4, cuts[] = {0, 3, 30, 66, 70, 1000, fb_end + 2, fb_end + 900,
                                                       fb_end + 1640, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        memset(&diag, 0, sizeof diag);
        const int st = est_pkbin_open_size(img, cuts[i], &need, &diag);
        CHECKF(st != EDGESTT_OK, "cut at %zu accepted", cuts[i]);
        CHECKF(diag.msg[0] && !strchr(diag.msg, '\n'), "cut at %zu: '%s'", cuts[i], diag.msg);
        if (i == 0) printf("  cut at %zu: %s\n", cuts[i], diag.msg);
        if (i == sizeof cuts / sizeof cuts[0] - 1) printf("  cut at %zu: %s\n", cuts[i], diag.msg);
    }
    /* absurd header values and tensor records */
    static const struct { size_t off; int32_t v; } bad[] = {
        {4 + 4 * 2, 1 << 30}, {4 + 4 * 3, 3}, {4 + 4 * 8, 4}, {4 + 4 * 10, 8}, {4 + 4 * 13, 99}, {4 + 4 * 0, -5},
        {64, 81}, {fb_end, 100000}, {fb_end + 4 + 1600, 77},
    };
    uint8_t *cp = malloc(size);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(cp, img, size);
        memcpy(cp + bad[i].off, &bad[i].v, 4);
        memset(&diag, 0, sizeof diag);
        const int st = est_pkbin_open_size(cp, size, &need, &diag);
        CHECKF(st != EDGESTT_OK && diag.msg[0] && !strchr(diag.msg, '\n'), "bad value %d at %zu: %d '%s'",
               (int)bad[i].v, bad[i].off, st, diag.msg);
    }
    /* the first tensor record: n_dims 9, a name of 2^30 bytes, a dim of 2^31 - 1 */
    size_t rec = fb_end + 4 + 1600 + 20 + 4;
    for (int i = 0; i < 32; i++) rec += 4 + est_rd_u32(img + rec);
    static const int32_t rvals[][2] = {{0, 9}, {4, 1 << 30}, {12, 0x7fffffff}, {8, 77}};
    for (int i = 0; i < 4; i++) {
        memcpy(cp, img, size);
        memcpy(cp + rec + (size_t)rvals[i][0], &rvals[i][1], 4);
        memset(&diag, 0, sizeof diag);
        const int st = est_pkbin_open_size(cp, size, &need, &diag);
        CHECKF(st != EDGESTT_OK && diag.msg[0] && !strchr(diag.msg, '\n'), "record field %d: %d '%s'", i, st,
               diag.msg);
        printf("  record field +%d = %d: %s\n", rvals[i][0], rvals[i][1], diag.msg);
    }
    /* a renamed tensor (missing), an extra record (unknown), a repeated record: E_MODEL naming it */
    memcpy(cp, img, size);
    cp[rec + 12 + 4 * 4 + 8] ^= 0x20; /* a letter of the first record's name (4 dims) */
    memset(&diag, 0, sizeof diag);
    CHECK(est_pkbin_open_size(cp, size, &need, &diag) == EDGESTT_E_MODEL && diag.msg[0]);
    printf("  renamed: %s\n", diag.msg);
    free(cp);
    for (int rep = 0; rep < 2; rep++) {
        buf b = {0};
        put(&b, img, size);
        const float one = 1.0f;
        const int64_t ne1 = 1;
        if (rep) { /* the whole first record again */
            size_t pos = rec, nd = est_rd_u32(img + rec), nl = est_rd_u32(img + rec + 4);
            put(&b, img + pos, 12 + 4 * nd + nl + 4 * 9 * 32);
        } else {
            put_tensor(&b, "extra.weight", 1, &ne1, &one, EDGESTT_TYPE_F32);
        }
        memset(&diag, 0, sizeof diag);
        CHECKF(est_pkbin_open_size(b.p, b.n, &need, &diag) == EDGESTT_E_MODEL && diag.msg[0], "%s: '%s'",
               rep ? "repeated" : "extra", diag.msg);
        printf("  %s record: %s\n", rep ? "repeated" : "extra", diag.msg);
        free(b.p);
    }
    /* a whisper.cpp Whisper-looking header is not taken for a Parakeet one */
    CHECK(est_pkbin_detect(img, 71) == 0);
    /* public API: a file on disk opens as a parakeet model */
    const char *path = est_test_tmp("pk-mini-q8.bin");
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(img, 1, size, f) == size);
    fclose(f);
    edgestt_model *model = NULL;
    memset(&diag, 0, sizeof diag);
    int st = edgestt_open(path, NULL, NULL, 0, &model, &diag);
    CHECKF(st == EDGESTT_OK, "edgestt_open: %d %s", st, diag.msg);
    edgestt_model_info info;
    CHECK_ST(edgestt_model_get_info(model, &info), EDGESTT_OK);
    CHECK(info.arch && !strcmp(info.arch, "parakeet") && info.format == EDGESTT_FORMAT_GGML_BIN);
    edgestt_close(model);
    memset(&diag, 0, sizeof diag);
    CHECKF(edgestt_check(path, 0, &diag) == EDGESTT_CHECK_COMPLETE, "check: %s", diag.msg);
    f = fopen(path, "wb");
    CHECK(f && fwrite(img, 1, size - 7, f) == size - 7);
    fclose(f);
    memset(&diag, 0, sizeof diag);
    CHECK(edgestt_check(path, 0, &diag) == EDGESTT_CHECK_INCOMPLETE && diag.msg[0]);
    printf("  edgestt_check on a cut file: %s\n", diag.msg);
    memset(&diag, 0, sizeof diag);
    CHECK(edgestt_open_memory(img, size - 7, NULL, NULL, 0, &model, &diag) != EDGESTT_OK && diag.msg[0]);
    printf("  edgestt_open_memory on a cut file: %s\n", diag.msg);
    free(img);
}

/* edgestt_convert output collected in memory. */
static int mem_sink_fn(void *user, int shard, int n_shards, uint64_t off, const void *data, size_t n) {
    buf *b = (buf *)user;
    if (shard != 0 || n_shards != 1) return 1;
    if (off + n > b->n) {
        const size_t old = b->n;
        if (off + n > b->cap) {
            b->cap = (size_t)(off + n) * 2;
            b->p = realloc(b->p, b->cap);
        }
        memset(b->p + old, 0, (size_t)(off + n) - old);
        b->n = (size_t)(off + n);
    }
    memcpy(b->p + off, data, n);
    return 0;
}

/* edgestt_convert of a .bin file to this project's GGUF (in memory) -> b; status. */
static int convert_bin(const char *path, int type, const char *keep, buf *b, edgestt_convert_report *rep,
                       edgestt_diag *diag) {
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    p.type = type;
    p.keep = &keep;
    p.n_keep = keep ? 1 : 0;
    memset(b, 0, sizeof *b);
    return edgestt_convert(path, &p, mem_sink_fn, b, rep, diag);
}

/* edge-stt convert pk.bin pk.gguf: the GGUF binds, gives bit-identical encoder output and the same
 * tokens as the .bin (both ways of xscaling); q8_0 from the F32 .bin = q8_0 from the Q8_0 .bin. */
TEST(pkbin_convert_gguf) {
    size_t size = 0, qsize = 0, n = 0;
    uint8_t *img = write_bin(EDGESTT_TYPE_F32, &size), *qimg = write_bin(EDGESTT_TYPE_Q8_0, &qsize);
    CHECK(img && qimg);
    char path[512], qpath[512]; /* est_test_tmp's buffers are reused by later calls */
    snprintf(path, sizeof path, "%s", est_test_tmp("pk-conv-f32.bin"));
    snprintf(qpath, sizeof qpath, "%s", est_test_tmp("pk-conv-q8.bin"));
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(img, 1, size, f) == size);
    fclose(f);
    f = fopen(qpath, "wb");
    CHECK(f && fwrite(qimg, 1, qsize, f) == qsize);
    fclose(f);
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    buf g = {0}, q1 = {0}, q2 = {0};
    edgestt_convert_report rep;
    edgestt_diag diag = {0};
    int st = convert_bin(path, EDGESTT_TYPE_F32, NULL, &g, &rep, &diag);
    CHECKF(st == 0, "convert: %d %s", st, diag.msg);
    CHECK(rep.input == EDGESTT_INPUT_GGML_BIN && rep.n_shards == 1 && rep.bytes == g.n && rep.n_tensors == 81);
    printf("  convert f32: %d tensors, %zu bytes\n", rep.n_tensors, g.n);
    pkb a, b;
    st = pkb_open(&a, img, size, 0, n, &diag);
    CHECKF(st == 0, "bin open: %d %s", st, diag.msg); /* img stays the test's (written cut below) */
    st = pkb_open(&b, g.p, g.n, 1, n, &diag);
    CHECKF(st == 0, "gguf open: %d %s", st, diag.msg);
    b.img = g.p;
    CHECK(b.m->hp.xscaling == 0 && b.m->hp.n_dur == 5 && b.m->hp.durations[3] == 3 && b.m->hp.max_symbols == 10);
    CHECK(b.m->hp.win_length == 400 && b.m->hp.hop_length == 160 && b.m->hp.joint_hidden == 64);
    for (int xs = 0; xs < 2; xs++) {
        a.m->hp.xscaling = b.m->hp.xscaling = xs;
        int32_t ta[256], tb[256];
        int na = 0, nb = 0;
        CHECK_ST(est_pk_transcribe(&a.s, pcm, n, ta, NULL, NULL, 256, &na), EDGESTT_OK);
        CHECK_ST(est_pk_transcribe(&b.s, pcm, n, tb, NULL, NULL, 256, &nb), EDGESTT_OK);
        CHECK(!memcmp(a.s.x, b.s.x, (size_t)38 * 64 * 4));
        CHECKF(na == nb && (na > 0 || !xs) && !memcmp(ta, tb, (size_t)na * 4), "xscaling %d: bin %d, gguf %d tokens",
               xs, na, nb);
    }
    pkb_free(&a);
    pkb_free(&b);
    /* q8_0: from the F32 .bin (quantized here) and from the Q8_0 .bin (kept bit for bit) */
    st = convert_bin(path, EDGESTT_TYPE_Q8_0, NULL, &q1, &rep, &diag);
    CHECKF(st == 0, "convert q8_0: %d %s", st, diag.msg);
    CHECK(rep.n_by_type[EDGESTT_TYPE_Q8_0] == 29 && rep.n_by_type[EDGESTT_TYPE_F32] == 52);
    st = convert_bin(qpath, EDGESTT_TYPE_Q8_0, NULL, &q2, &rep, &diag);
    CHECKF(st == 0, "convert q8_0 .bin: %d %s", st, diag.msg);
    CHECK(q1.n == q2.n && !memcmp(q1.p, q2.p, q1.n));
    printf("  convert q8_0: %zu bytes, the same from the F32 and the Q8_0 .bin\n", q1.n);
    free(q1.p);
    free(q2.p);
    /* refusals: keep patterns; a cut file */
    memset(&diag, 0, sizeof diag);
    CHECK(convert_bin(path, EDGESTT_TYPE_Q8_0, "joint.*=f32", &q1, &rep, &diag) == EDGESTT_E_UNSUPPORTED && diag.msg[0]);
    free(q1.p);
    f = fopen(path, "wb");
    CHECK(f && fwrite(img, 1, size - 100, f) == size - 100);
    fclose(f);
    memset(&diag, 0, sizeof diag);
    st = convert_bin(path, EDGESTT_TYPE_Q8_0, NULL, &q1, &rep, &diag);
    CHECKF(st != EDGESTT_OK && diag.msg[0] && !strchr(diag.msg, '\n'), "cut: %d '%s'", st, diag.msg);
    printf("  convert of a cut file: %s\n", diag.msg);
    free(q1.p);
    free(qimg);
    free(img);
    free(pcm);
}
