/*
 * whisper_run.c - the Whisper forward pass (openai/whisper model.py) on a per-stream state.
 *
 * Encoder: conv1 (k3, pad 1) + GELU, conv2 (k3, stride 2, pad 1) + GELU as im2col row chunks times
 * the conv weights, + positional embedding; pre-LN blocks (self-attention over all n_audio_ctx
 * positions, MLP n -> 4n -> n), ln_post; then each decoder layer's cross K (no bias) and V.
 * Decoder: token embedding row + positional embedding, pre-LN blocks (causal self-attention over the
 * slot's KV cache, cross-attention, MLP), final LN, logits = x . token_embedding^T (last row only).
 *
 * Memory (all placed once by est_whisper_state_plan_ex, bottom of the caller's arena):
 *   state struct | copies of unaligned f32 vectors |
 *   cross K [L][head][n_audio_ctx][d_head] | cross V^T [L][n][n_audio_ctx] | work | dec scratch |
 *   logits [n_beams][n_vocab] | pool
 * work = max(self K/V, encoder per-call buffers): the self K [B][L][n_text_ctx][n] and V^T
 * [B][L][n][n_text_ctx] live there between encodes, and the encoder uses the same bytes for its
 * activations and its output (the residual stream, top of work), so an encode invalidates every
 * slot's self K/V (they are stale after a new window anyway: the cross-attention changed), and
 * the encoder output, needed only to fill the cross K/V at the end of the encode, is gone once a
 * decoder step writes self K/V.  K/V are f32 (default) or f16 (opts); V is kept
 * transposed so both attention products run as est_gemm with the cache as the weight matrix.
 * The cross K is stored head-major, so a decoder step streams each head's keys as one contiguous
 * block instead of d_head-wide slices of n-wide rows (V^T is head-major already).
 * Per-call buffers are placed by the same functions that size them (enc_bufs_plan, dec_bufs_plan)
 * on an est_arena over work / the dec scratch: scratch from the top, released before returning.
 *
 * Threads: GEMMs split by output tiles over the state's pool (est_gemm); attention splits
 * (group, head, row block) items over the pool, each task with its own scores buffer; row-wise
 * ops of the encoder split by row ranges.  No allocation after the plan.
 */
#include "whisper_run.h"

#include <math.h>

#include "../kernels/quant.h"

#define ENC_QBLK 64      /* encoder attention: query rows per block (scores: ENC_QBLK x n_audio_ctx) */
#define ENC_MLP_ROWS 256 /* encoder MLP: rows per chunk (hidden: rows x 4n) */
#define CONV_ROWS 128    /* conv: im2col rows per chunk */
#define DEC_ROWS 32      /* decoder: token rows per pass (at least n_beams) */
#define DEC_ATT_ROWS 16  /* decoder attention: query rows per scores block */
#define LOGIT_COLS 1024  /* batch logits for non-contiguous slots: vocabulary columns per pass */
#define TR_BLK 32        /* transpose tile */
#define LN_EPS 1e-5f

/* Resolved f32 vectors (in the model image when 4-byte aligned, else copied into the state). */
typedef struct enc_vecs {
    const float *attn_ln_w, *attn_ln_b, *q_b, *v_b, *o_b; /* (n) */
    const float *mlp_ln_w, *mlp_ln_b, *mlp0_b, *mlp2_b;  /* (n), (n), (4n), (n) */
} enc_vecs;

typedef struct dec_vecs {
    const float *attn_ln_w, *attn_ln_b, *q_b, *v_b, *o_b;          /* (n) */
    const float *cross_ln_w, *cross_ln_b, *cq_b, *cv_b, *co_b;     /* (n) */
    const float *mlp_ln_w, *mlp_ln_b, *mlp0_b, *mlp2_b;            /* (n), (n), (4n), (n) */
} dec_vecs;

#define EST_WHISPER_MAX_LAYERS 64

struct est_whisper_state {
    const edgestt_model *m;
    const est_kernels *kt;
    est_pool *pool;
    int shared_pool;              /* 1: pool is the caller's (est_whisper_state_use_pool) */
    int n_threads, n_beams;
    int self_type, self_es;       /* self K/V element type (F32/F16) and bytes */
    int cross_type, cross_es;     /* cross K/V element type and bytes */
    int n, n_vocab, n_mels, n_audio_ctx, n_text_ctx, n_enc_layer, n_dec_layer;
    int enc_head, dec_head;
    int dec_rows;                 /* rows per decoder pass */
    int encoded;                  /* 1 once cross K/V hold a window */
    float *enc_out;               /* (n_audio_ctx, n) in work: set by an encode, NULL once a decoder step ran */
    uint8_t *cross_k;             /* [L][dec_head][n_audio_ctx][n / dec_head] cross_type */
    uint8_t *cross_vt;            /* [L][n][n_audio_ctx] cross_type */
    uint8_t *work;                /* work_size bytes: self K/V or the encoder's buffers */
    size_t work_size, self_k_bytes;
    uint8_t *self_k;              /* [B][L][n_text_ctx][n] self_type (= work) */
    uint8_t *self_vt;             /* [B][L][n][n_text_ctx] self_type */
    uint8_t *dwork;               /* decoder per-call buffers */
    size_t dwork_size;
    float *logits;                /* [n_beams][n_vocab] */
    const float *conv1_b, *conv2_b, *ln_post_w, *ln_post_b, *ln_w, *ln_b; /* (n) */
    enc_vecs ev[EST_WHISPER_MAX_LAYERS];
    dec_vecs dv[EST_WHISPER_MAX_LAYERS];
};

/* ==== small helpers ====================================================================== */

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static size_t zmax(size_t a, size_t b) { return a > b ? a : b; }

/* Bytes of one weight row of a 2-D tensor (ne[0] elements). */
static size_t row_bytes(const est_tensor *t) { return est_type_row_bytes(t->type, (uint64_t)t->ne[0]); }

/* One product Y[m][n] = X[m][k] . W^T (+ bias) over the state's pool (or the calling thread). */
static int mm_raw(const est_whisper_state *s, est_pool *pool, int type, const void *w, size_t w_stride, int n, int k,
                  const float *bias, const float *x, size_t ldx, int m, float *y, size_t ldy, void *qx, size_t qx_size) {
    est_gemm_op op;
    memset(&op, 0, sizeof op);
    op.type = type;
    op.m = m;
    op.n = n;
    op.k = k;
    op.w = w;
    op.w_stride = w_stride;
    op.x = x;
    op.ldx = ldx;
    op.bias = bias;
    op.y = y;
    op.ldy = ldy;
    return est_gemm(s->kt, pool, &op, qx, qx_size);
}

/* Y = X . t^T (+ bias) for a bound Linear weight t (n_out, n_in); rows contiguous (ld = widths). */
static int mm(const est_whisper_state *s, const est_tensor *t, const float *bias, const float *x, int m, float *y,
              void *qx, size_t qx_size) {
    const int k = (int)t->ne[0], n = (int)t->ne[1];
    return mm_raw(s, s->pool, t->type, t->data, row_bytes(t), n, k, bias, x, (size_t)k, m, y, (size_t)n, qx, qx_size);
}

/* Q, K (no bias) and V of a self-attention from the same rows x: one job, x quantized once. */
static int mm_qkv(const est_whisper_state *s, const est_whisper_attn *A, const float *q_b, const float *v_b,
                  const float *x, int m, float *q, float *k, float *v, void *qx, size_t qx_size) {
    const est_tensor *t[3] = {&A->q_w, &A->k_w, &A->v_w};
    const float *bias[3] = {q_b, NULL, v_b};
    float *y[3] = {q, k, v};
    est_gemm_op ops[3];
    memset(ops, 0, sizeof ops);
    for (int i = 0; i < 3; i++) {
        ops[i].type = t[i]->type;
        ops[i].m = m;
        ops[i].n = (int)t[i]->ne[1];
        ops[i].k = (int)t[i]->ne[0];
        ops[i].w = t[i]->data;
        ops[i].w_stride = row_bytes(t[i]);
        ops[i].x = x;
        ops[i].ldx = (size_t)ops[i].k;
        ops[i].bias = bias[i];
        ops[i].y = y[i];
        ops[i].ldy = (size_t)ops[i].n;
    }
    return est_gemm_multi(s->kt, s->pool, ops, 3, qx, qx_size);
}

/* f32 -> K/V element (f16 or f32) and a run of them. */
static void kv_store(int es, uint8_t *dst, const float *src, int n) {
    if (es == 4) {
        memcpy(dst, src, sizeof(float) * (size_t)n);
        return;
    }
    for (int i = 0; i < n; i++) {
        uint16_t h = est_f32_to_f16(src[i]);
        memcpy(dst + 2 * (size_t)i, &h, 2);
    }
}

/* ==== row-parallel element-wise jobs ======================================================= */

enum { ROW_LN, ROW_GELU, ROW_ADD };

typedef struct row_job {
    const est_kernels *kt;
    int kind, rows, n, rows_per_task;
    float *y;            /* [rows][n] */
    const float *x;      /* [rows][n] */
    const float *x2;     /* [rows][n] (ROW_ADD) */
    const float *g, *b;  /* (n) (ROW_LN) */
} row_job;

static void row_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    const row_job *j = (const row_job *)ctx;
    const int r0 = task * j->rows_per_task, r1 = imin(j->rows, r0 + j->rows_per_task);
    for (int r = r0; r < r1; r++) {
        const size_t o = (size_t)r * (size_t)j->n;
        switch (j->kind) {
        case ROW_LN: j->kt->layer_norm(j->y + o, j->x + o, j->g, j->b, j->n, LN_EPS); break;
        case ROW_GELU: j->kt->gelu(j->y + o, j->x + o, j->n); break;
        default: j->kt->add(j->y + o, j->x + o, j->x2 + o, j->n); break;
        }
    }
}

/* Run a row job on the pool when it is big enough to pay for the wake-up. */
static void rows_run(const est_whisper_state *s, int kind, float *y, const float *x, const float *x2, const float *g,
                     const float *b, int rows, int n) {
    row_job j = {s->kt, kind, rows, n, rows, y, x, x2, g, b};
    const int nth = est_pool_threads(s->pool);
    if (nth > 1 && (size_t)rows * (size_t)n >= 16384) {
        j.rows_per_task = (rows + 4 * nth - 1) / (4 * nth);
        est_pool_run(s->pool, row_task, &j, (rows + j.rows_per_task - 1) / j.rows_per_task);
    } else {
        row_task(&j, 0, 1);
    }
}

/* ==== transpose (+ conversion to the K/V type) ============================================ */

typedef struct tr_job {
    const est_whisper_state *s;
    const float *src;    /* [rows][cols] f32 */
    uint8_t *dst;        /* [cols][ld_dst] f32 (f32 != 0) or f16 */
    int rows, cols, f32;
    size_t ld_dst;       /* elements between dst rows */
} tr_job;

/* Column tiles [task*TR_BLK, +TR_BLK) of src become rows of dst. */
static void tr_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    const tr_job *j = (const tr_job *)ctx;
    const int c0 = task * TR_BLK, c1 = imin(j->cols, c0 + TR_BLK);
    const int es = j->f32 ? 4 : 2;
    for (int r0 = 0; r0 < j->rows; r0 += TR_BLK) {
        const int r1 = imin(j->rows, r0 + TR_BLK);
        for (int c = c0; c < c1; c++) {
            uint8_t *d = j->dst + ((size_t)c * j->ld_dst + (size_t)r0) * (size_t)es;
            if (j->f32) {
                float *df = (float *)(void *)d;
                for (int r = r0; r < r1; r++) df[r - r0] = j->src[(size_t)r * (size_t)j->cols + (size_t)c];
            } else {
                uint16_t *dh = (uint16_t *)(void *)d;
                for (int r = r0; r < r1; r++) dh[r - r0] = est_f32_to_f16(j->src[(size_t)r * (size_t)j->cols + (size_t)c]);
            }
        }
    }
}

static void transpose_run(const est_whisper_state *s, const float *src, int rows, int cols, uint8_t *dst,
                          size_t ld_dst, int f32) {
    tr_job j = {s, src, dst, rows, cols, f32, ld_dst};
    est_pool_run(s->pool, tr_task, &j, (cols + TR_BLK - 1) / TR_BLK);
}

/* Rows [rows][n] f32 to head-major [n_head][rows][n / n_head] in the K/V type, parallel over
 * row ranges (cross K). */
typedef struct cvt_job {
    const est_whisper_state *s;
    const float *src;    /* [rows][n] */
    uint8_t *dst;        /* [n_head][rows][n / n_head] */
    int rows, n, n_head, rows_per_task;
} cvt_job;

static void cvt_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    const cvt_job *j = (const cvt_job *)ctx;
    const int r0 = task * j->rows_per_task, r1 = imin(j->rows, r0 + j->rows_per_task);
    const int dh = j->n / j->n_head;
    const size_t es = (size_t)j->s->cross_es;
    for (int r = r0; r < r1; r++)
        for (int h = 0; h < j->n_head; h++)
            kv_store((int)es, j->dst + ((size_t)h * (size_t)j->rows + (size_t)r) * (size_t)dh * es,
                     j->src + (size_t)r * (size_t)j->n + (size_t)h * (size_t)dh, dh);
}

/* ==== attention ============================================================================= */
/* Groups of query rows, each over its own keys: the encoder and the cross-attention are one group;
 * the decoder's self-attention is one group (one slot, causal) or one group per beam row. */

#define ATT_MAX_GROUPS EST_MAX_BEAMS

typedef struct att_job {
    const est_whisper_state *s;
    int type;                     /* K/V element type (F32 or F16) */
    int es;                       /* its bytes */
    const float *q;               /* [m_total][ldq] */
    size_t ldq;
    float *out;                   /* [m_total][ldo] */
    size_t ldo;
    int n_groups, m;              /* groups of m rows each: group g is rows [g*m, (g+1)*m) */
    const uint8_t *k[ATT_MAX_GROUPS];  /* [n_kv][k_stride bytes] per group, head h at + h * k_head */
    const uint8_t *vt[ATT_MAX_GROUPS]; /* [n_state][vt_stride bytes] per group */
    size_t k_stride, vt_stride;
    size_t k_head;                /* bytes from one head's keys to the next's */
    int n_kv;                     /* keys of every group */
    int causal_base;              /* >= 0: row i of a group sees keys [0, causal_base + i + 1) */
    int n_head, d_head, rows_blk, n_blk;
    float scale;
    float *scores;                /* [n_tasks][rows_blk * n_kv] */
    size_t scores_per_task;       /* floats */
    int n_items, n_tasks;
    int status[EST_MAX_THREADS];  /* per task: its first failure (shapes are checked at plan time) */
} att_job;

/* One (group, head, row block): scores = q k^T, softmax (masked), out = p v. */
static int att_item(const att_job *j, int item, float *sc) {
    const int per_g = j->n_head * j->n_blk;
    const int g = item / per_g, h = (item % per_g) / j->n_blk, blk = item % j->n_blk;
    const int r0 = blk * j->rows_blk, rows = imin(j->m - r0, j->rows_blk);
    const int gr0 = g * j->m + r0; /* first row in q/out */
    int nk = j->n_kv;
    if (j->causal_base >= 0) nk = imin(nk, j->causal_base + r0 + rows);
    const int dh = j->d_head;
    int st = mm_raw(j->s, NULL, j->type, j->k[g] + (size_t)h * j->k_head, j->k_stride, nk, dh, NULL,
                    j->q + (size_t)gr0 * j->ldq + (size_t)h * (size_t)dh, j->ldq, rows, sc, (size_t)nk, NULL, 0);
    if (st) return st;
    for (int i = 0; i < rows; i++) {
        float *row = sc + (size_t)i * (size_t)nk; /* [nk] */
        int vis = nk;
        if (j->causal_base >= 0) vis = imin(nk, j->causal_base + r0 + i + 1);
        j->s->kt->softmax(row, vis, j->scale);
        if (vis < nk) memset(row + vis, 0, sizeof(float) * (size_t)(nk - vis));
    }
    return mm_raw(j->s, NULL, j->type, j->vt[g] + (size_t)h * (size_t)dh * j->vt_stride, j->vt_stride, dh, nk, NULL,
                  sc, (size_t)nk, rows, j->out + (size_t)gr0 * j->ldo + (size_t)h * (size_t)dh, j->ldo, NULL, 0);
}

static void att_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    att_job *j = (att_job *)ctx;
    float *sc = j->scores + (size_t)task * j->scores_per_task;
    j->status[task] = EDGESTT_OK;
    for (int it = task; it < j->n_items && !j->status[task]; it += j->n_tasks) j->status[task] = att_item(j, it, sc);
}

/* Run every item; tasks = min(threads, items), task t takes items t, t + tasks, ... */
static int att_run(const est_whisper_state *s, att_job *j, int max_tasks) {
    j->n_blk = (j->m + j->rows_blk - 1) / j->rows_blk;
    j->n_items = j->n_groups * j->n_head * j->n_blk;
    j->n_tasks = imin(imin(est_pool_threads(s->pool), max_tasks), j->n_items);
    est_pool_run(s->pool, att_task, j, j->n_tasks);
    for (int t = 0; t < j->n_tasks; t++)
        if (j->status[t]) return j->status[t];
    return EDGESTT_OK;
}

/* ==== per-call buffers (same code sizes and places them) ================================== */

typedef struct enc_bufs {
    /* conv stage */
    float *c1;           /* (2 n_audio_ctx, n) conv1 output */
    float *col;          /* [CONV_ROWS][3 max(n_mels, n)] im2col rows */
    float *pos;          /* [n] one positional row */
    float *x;            /* (ctx, n) residual stream, then the encoder output (top of work) */
    /* block stage */
    float *a;            /* (ctx, n) normed input, then attention output */
    float *q;            /* (ctx, n) queries, then projections' outputs */
    float *k;            /* (ctx, n) keys */
    float *vt;           /* (n, ctx) values, transposed */
    float *h;            /* [ENC_MLP_ROWS][4n] MLP hidden */
    float *scores;       /* [threads][ENC_QBLK * ctx] */
    void *qx;            /* quantized activations for est_gemm */
    size_t qx_size;
} enc_bufs;

/* Scratch est_gemm needs for m rows through weight t (0 for float weights). */
static size_t qx_need(const est_tensor *t, int m) {
    size_t z = est_gemm_scratch_size(t->type, m, (int)t->ne[0]);
    return z;
}

/* Largest quantized-activation scratch over every encoder-side product. */
static size_t enc_qx_size(const est_whisper_state *s) {
    const est_whisper_weights *w = &s->m->w;
    const int ctx = s->n_audio_ctx, mr = imin(ENC_MLP_ROWS, ctx);
    size_t z = 0;
    for (int l = 0; l < s->n_enc_layer; l++) {
        const est_whisper_enc_layer *L = &w->enc[l];
        z = zmax(z, qx_need(&L->attn.q_w, ctx));
        z = zmax(z, qx_need(&L->attn.k_w, ctx));
        z = zmax(z, qx_need(&L->attn.v_w, ctx));
        z = zmax(z, qx_need(&L->attn.o_w, ctx));
        z = zmax(z, qx_need(&L->mlp0_w, mr));
        z = zmax(z, qx_need(&L->mlp2_w, mr));
    }
    for (int l = 0; l < s->n_dec_layer; l++) {
        z = zmax(z, qx_need(&w->dec[l].cross.k_w, ctx));
        z = zmax(z, qx_need(&w->dec[l].cross.v_w, ctx));
    }
    return z;
}

/* Reserve the encoder's buffers from the top of a (conv stage, released, then block stage). */
static int enc_bufs_plan(const est_whisper_state *s, est_arena *a, enc_bufs *b) {
    const size_t n = (size_t)s->n, ctx = (size_t)s->n_audio_ctx, nth = (size_t)s->n_threads;
    const size_t cw = 3 * (size_t)imax(s->n_mels, s->n);
    void *p;
    int st;
    memset(b, 0, sizeof *b);
    if ((st = est_arena_scratch(a, ctx * n * sizeof(float), &p))) return st;
    b->x = p;
    const size_t mark = est_arena_mark(a);
    if ((st = est_arena_scratch(a, 2 * ctx * n * sizeof(float), &p))) return st;
    b->c1 = p;
    if ((st = est_arena_scratch(a, (size_t)CONV_ROWS * cw * sizeof(float), &p))) return st;
    b->col = p;
    if ((st = est_arena_scratch(a, n * sizeof(float), &p))) return st;
    b->pos = p;
    est_arena_release(a, mark);
    float **mats[4] = {&b->a, &b->q, &b->k, &b->vt};
    for (int i = 0; i < 4; i++) {
        if ((st = est_arena_scratch(a, ctx * n * sizeof(float), &p))) return st;
        *mats[i] = p;
    }
    if ((st = est_arena_scratch(a, (size_t)imin(ENC_MLP_ROWS, s->n_audio_ctx) * 4 * n * sizeof(float), &p))) return st;
    b->h = p;
    if ((st = est_arena_scratch(a, nth * (size_t)ENC_QBLK * ctx * sizeof(float), &p))) return st;
    b->scores = p;
    b->qx_size = enc_qx_size(s);
    if (b->qx_size == SIZE_MAX) return EDGESTT_E_LIMIT;
    if ((st = est_arena_scratch(a, b->qx_size, &p))) return st;
    b->qx = p;
    return EDGESTT_OK;
}

typedef struct dec_bufs {
    float *x, *a, *q, *k, *v, *o, *y; /* [rows][n] */
    float *h;                         /* [rows][4n] */
    float *emb;                       /* [n] one positional row */
    float *scores;                    /* [threads][DEC_ATT_ROWS * max(n_audio_ctx, n_text_ctx)] */
    size_t scores_per_task;
    float *lt;                        /* [n_beams][LOGIT_COLS] logits of non-contiguous slots */
    void *qx;
    size_t qx_size;
} dec_bufs;

static size_t dec_qx_size(const est_whisper_state *s) {
    const est_whisper_weights *w = &s->m->w;
    const int r = s->dec_rows;
    size_t z = qx_need(&w->tok_emb, r);
    for (int l = 0; l < s->n_dec_layer; l++) {
        const est_whisper_dec_layer *L = &w->dec[l];
        const est_tensor *ts[] = {&L->attn.q_w, &L->attn.k_w, &L->attn.v_w, &L->attn.o_w, &L->cross.q_w,
                                  &L->cross.o_w, &L->mlp0_w, &L->mlp2_w};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) z = zmax(z, qx_need(ts[i], r));
    }
    return z;
}

static int dec_bufs_plan(const est_whisper_state *s, est_arena *a, dec_bufs *b) {
    const size_t n = (size_t)s->n, r = (size_t)s->dec_rows;
    void *p;
    int st;
    memset(b, 0, sizeof *b);
    float **rows[7] = {&b->x, &b->a, &b->q, &b->k, &b->v, &b->o, &b->y};
    for (int i = 0; i < 7; i++) {
        if ((st = est_arena_scratch(a, r * n * sizeof(float), &p))) return st;
        *rows[i] = p;
    }
    if ((st = est_arena_scratch(a, r * 4 * n * sizeof(float), &p))) return st;
    b->h = p;
    if ((st = est_arena_scratch(a, n * sizeof(float), &p))) return st;
    b->emb = p;
    b->scores_per_task = (size_t)DEC_ATT_ROWS * (size_t)imax(s->n_audio_ctx, s->n_text_ctx);
    if ((st = est_arena_scratch(a, (size_t)s->n_threads * b->scores_per_task * sizeof(float), &p))) return st;
    b->scores = p;
    if ((st = est_arena_scratch(a, (size_t)s->n_beams * LOGIT_COLS * sizeof(float), &p))) return st;
    b->lt = p;
    b->qx_size = dec_qx_size(s);
    if (b->qx_size == SIZE_MAX) return EDGESTT_E_LIMIT;
    if ((st = est_arena_scratch(a, b->qx_size, &p))) return st;
    b->qx = p;
    return EDGESTT_OK;
}

/* ==== plan ================================================================================== */

typedef struct plan_ctx {
    est_arena *a;
    est_whisper_plan_info *info;
    float *vec_block;    /* copies of unaligned vectors (NULL while measuring) */
    size_t vec_used;     /* floats handed out (or counted) */
} plan_ctx;

static int plan_step(plan_ctx *pc, size_t bytes, void **out) {
    int st = est_arena_alloc(pc->a, bytes, out);
    if (st) return st;
    if (pc->info && pc->info->n_marks < EST_WHISPER_PLAN_MAX_MARKS) pc->info->marks[pc->info->n_marks++] = pc->a->lo;
    return EDGESTT_OK;
}

/* A vector tensor as const float*: in place if 4-byte aligned, else a copy (counting pass: block
 * NULL and count only; placing: copy into the block). */
static const float *vec_of(plan_ctx *pc, const est_tensor *t, int count_only) {
    if (!t->data) return NULL;
    if (((uintptr_t)t->data & 3u) == 0) return (const float *)t->data;
    const size_t n = (size_t)est_tensor_nelem(t);
    float *dst = NULL;
    if (!count_only && pc->vec_block) {
        dst = pc->vec_block + pc->vec_used;
        memcpy(dst, t->data, n * sizeof(float));
    }
    pc->vec_used += (n + 15) & ~(size_t)15; /* keep 64-byte alignment of each copy */
    return dst;
}

/* Resolve every vector of the model into s (or only count the floats to copy). */
static void resolve_vecs(est_whisper_state *s, plan_ctx *pc, int count_only) {
    const est_whisper_weights *w = &s->m->w;
    pc->vec_used = 0;
    s->conv1_b = vec_of(pc, &w->conv1_b, count_only);
    s->conv2_b = vec_of(pc, &w->conv2_b, count_only);
    s->ln_post_w = vec_of(pc, &w->ln_post_w, count_only);
    s->ln_post_b = vec_of(pc, &w->ln_post_b, count_only);
    s->ln_w = vec_of(pc, &w->ln_w, count_only);
    s->ln_b = vec_of(pc, &w->ln_b, count_only);
    for (int l = 0; l < s->n_enc_layer; l++) {
        const est_whisper_enc_layer *L = &w->enc[l];
        enc_vecs *e = &s->ev[l];
        e->attn_ln_w = vec_of(pc, &L->attn_ln_w, count_only);
        e->attn_ln_b = vec_of(pc, &L->attn_ln_b, count_only);
        e->q_b = vec_of(pc, &L->attn.q_b, count_only);
        e->v_b = vec_of(pc, &L->attn.v_b, count_only);
        e->o_b = vec_of(pc, &L->attn.o_b, count_only);
        e->mlp_ln_w = vec_of(pc, &L->mlp_ln_w, count_only);
        e->mlp_ln_b = vec_of(pc, &L->mlp_ln_b, count_only);
        e->mlp0_b = vec_of(pc, &L->mlp0_b, count_only);
        e->mlp2_b = vec_of(pc, &L->mlp2_b, count_only);
    }
    for (int l = 0; l < s->n_dec_layer; l++) {
        const est_whisper_dec_layer *L = &w->dec[l];
        dec_vecs *d = &s->dv[l];
        d->attn_ln_w = vec_of(pc, &L->attn_ln_w, count_only);
        d->attn_ln_b = vec_of(pc, &L->attn_ln_b, count_only);
        d->q_b = vec_of(pc, &L->attn.q_b, count_only);
        d->v_b = vec_of(pc, &L->attn.v_b, count_only);
        d->o_b = vec_of(pc, &L->attn.o_b, count_only);
        d->cross_ln_w = vec_of(pc, &L->cross_attn_ln_w, count_only);
        d->cross_ln_b = vec_of(pc, &L->cross_attn_ln_b, count_only);
        d->cq_b = vec_of(pc, &L->cross.q_b, count_only);
        d->cv_b = vec_of(pc, &L->cross.v_b, count_only);
        d->co_b = vec_of(pc, &L->cross.o_b, count_only);
        d->mlp_ln_w = vec_of(pc, &L->mlp_ln_w, count_only);
        d->mlp_ln_b = vec_of(pc, &L->mlp_ln_b, count_only);
        d->mlp0_b = vec_of(pc, &L->mlp0_b, count_only);
        d->mlp2_b = vec_of(pc, &L->mlp2_b, count_only);
    }
}

/* Checked a * b * c * d bytes. */
static int bytes4(size_t a, size_t b, size_t c, size_t d, size_t *out) {
    size_t t;
    return est_mul(a, b, &t) && est_mul(t, c, &t) && est_mul(t, d, out);
}

/* est_whisper_state_plan_ex, with (ext_pool 0) or without (1) a pool of the state's own. */
static int plan_state(const edgestt_model *m, int n_beams, int n_threads, const est_whisper_state_opts *opts,
                      int ext_pool, est_arena *a, est_whisper_state **out, est_whisper_plan_info *info) {
    if (out) *out = NULL;
    if (info) memset(info, 0, sizeof *info);
    if (!m || !a || n_beams < 1 || n_beams > EST_MAX_BEAMS || n_threads < 1 || n_threads > EST_MAX_THREADS)
        return EDGESTT_E_INVALID_ARG;
    const est_whisper_hparams *hp = &m->hp;
    if (hp->n_audio_state != hp->n_text_state || hp->n_audio_layer > EST_WHISPER_MAX_LAYERS ||
        hp->n_text_layer > EST_WHISPER_MAX_LAYERS || hp->n_audio_head < 1 || hp->n_text_head < 1 ||
        hp->n_audio_state % hp->n_audio_head || hp->n_text_state % hp->n_text_head)
        return EDGESTT_E_UNSUPPORTED;

    /* the state is filled locally first (a measuring arena has no memory to write into) */
    est_whisper_state t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.kt = m->kernels;
    t.n_threads = n_threads;
    t.n_beams = n_beams;
    const int self16 = opts && opts->self_kv_f16, cross16 = opts && opts->cross_kv_f16;
    t.self_type = self16 ? EDGESTT_TYPE_F16 : EDGESTT_TYPE_F32;
    t.self_es = self16 ? 2 : 4;
    t.cross_type = cross16 ? EDGESTT_TYPE_F16 : EDGESTT_TYPE_F32;
    t.cross_es = cross16 ? 2 : 4;
    t.n = hp->n_audio_state;
    t.n_vocab = hp->n_vocab;
    t.n_mels = hp->n_mels;
    t.n_audio_ctx = hp->n_audio_ctx;
    t.n_text_ctx = hp->n_text_ctx;
    t.n_enc_layer = hp->n_audio_layer;
    t.n_dec_layer = hp->n_text_layer;
    t.enc_head = hp->n_audio_head;
    t.dec_head = hp->n_text_head;
    t.dec_rows = imax(DEC_ROWS, n_beams);
    if (!t.kt) return EDGESTT_E_INVALID_ARG;

    plan_ctx pc = {a, info, NULL, 0};
    const size_t n = (size_t)t.n, L = (size_t)t.n_dec_layer;
    size_t self_kv, cross_kv;
    if (!bytes4((size_t)n_beams, L, (size_t)t.n_text_ctx, n, &self_kv) || !est_mul(self_kv, 2 * (size_t)t.self_es, &self_kv))
        return EDGESTT_E_LIMIT;
    if (!bytes4(L, (size_t)t.n_audio_ctx, n, 2 * (size_t)t.cross_es, &cross_kv)) return EDGESTT_E_LIMIT;
    t.self_k_bytes = self_kv / 2;

    /* per-call buffer sizes from the placing code itself, on measuring arenas */
    est_arena ma;
    enc_bufs eb;
    dec_bufs db;
    int st;
    est_arena_init_measure(&ma);
    if ((st = enc_bufs_plan(&t, &ma, &eb))) return st;
    const size_t enc_work = est_arena_required(&ma);
    est_arena_init_measure(&ma);
    if ((st = dec_bufs_plan(&t, &ma, &db))) return st;
    t.dwork_size = est_arena_required(&ma);
    t.work_size = zmax(self_kv, enc_work);
    if (info) {
        info->self_kv_bytes = self_kv;
        info->cross_kv_bytes = cross_kv;
        info->enc_work_bytes = enc_work;
        info->dec_work_bytes = t.dwork_size;
    }

    const size_t lo0 = a->lo;
    void *p;
    est_whisper_state *s = NULL;
    if ((st = plan_step(&pc, sizeof(est_whisper_state), &p))) return st;
    s = p;
    resolve_vecs(&t, &pc, 1);
    const size_t n_vec = pc.vec_used;
    if (n_vec) {
        if ((st = plan_step(&pc, n_vec * sizeof(float), &p))) return st;
        pc.vec_block = p;
    }
    size_t logits_bytes;
    if (!bytes4((size_t)n_beams, (size_t)t.n_vocab, sizeof(float), 1, &logits_bytes)) return EDGESTT_E_LIMIT;
    if ((st = plan_step(&pc, cross_kv / 2, &p))) return st;
    t.cross_k = p;
    if ((st = plan_step(&pc, cross_kv / 2, &p))) return st;
    t.cross_vt = p;
    if ((st = plan_step(&pc, t.work_size, &p))) return st;
    t.work = p;
    t.self_k = t.work;
    t.self_vt = t.work ? t.work + t.self_k_bytes : NULL;
    if ((st = plan_step(&pc, t.dwork_size, &p))) return st;
    t.dwork = p;
    if ((st = plan_step(&pc, logits_bytes, &p))) return st;
    t.logits = p;
    const size_t pool_bytes = est_pool_size(n_threads);
    void *pool_mem = NULL;
    if (!ext_pool) {
        if ((st = plan_step(&pc, pool_bytes, &p))) return st;
        pool_mem = p;
    }
    if (info) info->total_bytes = a->lo - lo0 + (EST_ALIGN - 1);

    if (est_arena_measuring(a)) return EDGESTT_OK;
    /* placing: copy the vectors, start the pool, publish the state */
    resolve_vecs(&t, &pc, 0);
    if (!ext_pool && (st = est_pool_init(&t.pool, pool_mem, pool_bytes, n_threads))) return st;
    t.shared_pool = ext_pool;
    memcpy(s, &t, sizeof t);
    if (out) *out = s;
    return EDGESTT_OK;
}

void est_whisper_state_opts_of(const edgestt_model *m, est_whisper_state_opts *o) {
    const int f16 = m && m->kv_type == EDGESTT_KV_F16;
    o->self_kv_f16 = f16;
    o->cross_kv_f16 = f16;
}

int est_whisper_state_plan_ex(const edgestt_model *m, int n_beams, int n_threads, const est_whisper_state_opts *opts,
                              est_arena *a, est_whisper_state **out, est_whisper_plan_info *info) {
    return plan_state(m, n_beams, n_threads, opts, 0, a, out, info);
}

int est_whisper_state_plan_nopool(const edgestt_model *m, int n_beams, int n_threads,
                                  const est_whisper_state_opts *opts, est_arena *a, est_whisper_state **out) {
    return plan_state(m, n_beams, n_threads, opts, 1, a, out, NULL);
}

int est_whisper_state_plan(const edgestt_model *m, int n_beams, int n_threads, est_arena *a, est_whisper_state **out) {
    return est_whisper_state_plan_ex(m, n_beams, n_threads, NULL, a, out, NULL);
}

void est_whisper_state_release(est_whisper_state *s) {
    if (!s || !s->pool) return;
    if (!s->shared_pool) est_pool_destroy(s->pool);
    s->pool = NULL;
}

void est_whisper_state_use_pool(est_whisper_state *s, est_pool *pool) {
    if (!s || !pool) return;
    if (!s->shared_pool && s->pool) est_pool_destroy(s->pool);
    s->pool = pool;
    s->shared_pool = 1;
}

/* ==== encoder =============================================================================== */

/* conv1 over the mel: c1[t][c] = gelu(b[c] + sum_{ci,j} w[c][ci][j] mel[ci][t - 1 + j]). */
static int enc_conv1(const est_whisper_state *s, const float *mel, const enc_bufs *b) {
    const est_tensor *w = &s->m->w.conv1_w;
    const int nm = s->n_mels, nf = 2 * s->n_audio_ctx, kk = 3 * nm;
    for (int t0 = 0; t0 < nf; t0 += CONV_ROWS) {
        const int rows = imin(CONV_ROWS, nf - t0);
        for (int r = 0; r < rows; r++) {
            float *col = b->col + (size_t)r * (size_t)kk; /* [nm][3] */
            const int t = t0 + r;
            for (int ci = 0; ci < nm; ci++) {
                const float *src = mel + (size_t)ci * (size_t)nf;
                col[3 * ci + 0] = t >= 1 ? src[t - 1] : 0.0f;
                col[3 * ci + 1] = src[t];
                col[3 * ci + 2] = t + 1 < nf ? src[t + 1] : 0.0f;
            }
        }
        int st = mm_raw(s, s->pool, w->type, w->data, est_type_row_bytes(w->type, (uint64_t)kk), s->n, kk, s->conv1_b,
                        b->col, (size_t)kk, rows, b->c1 + (size_t)t0 * (size_t)s->n, (size_t)s->n, NULL, 0);
        if (st) return st;
    }
    rows_run(s, ROW_GELU, b->c1, b->c1, NULL, NULL, NULL, nf, s->n);
    return EDGESTT_OK;
}

/* conv2 (stride 2) over c1 into x, GELU, + positional embedding. */
static int enc_conv2(const est_whisper_state *s, const enc_bufs *b, float *x) {
    const est_tensor *w = &s->m->w.conv2_w;
    const int n = s->n, nf = 2 * s->n_audio_ctx, ctx = s->n_audio_ctx, kk = 3 * n;
    for (int t0 = 0; t0 < ctx; t0 += CONV_ROWS) {
        const int rows = imin(CONV_ROWS, ctx - t0);
        for (int r = 0; r < rows; r++) {
            float *col = b->col + (size_t)r * (size_t)kk; /* [n][3] */
            for (int j = 0; j < 3; j++) {
                const int src_t = 2 * (t0 + r) - 1 + j;
                if (src_t < 0 || src_t >= nf) {
                    for (int ci = 0; ci < n; ci++) col[3 * ci + j] = 0.0f;
                } else {
                    const float *src = b->c1 + (size_t)src_t * (size_t)n;
                    for (int ci = 0; ci < n; ci++) col[3 * ci + j] = src[ci];
                }
            }
        }
        int st = mm_raw(s, s->pool, w->type, w->data, est_type_row_bytes(w->type, (uint64_t)kk), n, kk, s->conv2_b,
                        b->col, (size_t)kk, rows, x + (size_t)t0 * (size_t)n, (size_t)n, NULL, 0);
        if (st) return st;
    }
    rows_run(s, ROW_GELU, x, x, NULL, NULL, NULL, ctx, n);
    const est_tensor *pos = &s->m->w.enc_pos;
    const size_t prb = (size_t)n * sizeof(float);
    for (int t = 0; t < ctx; t++) {
        est_dequantize_row(EDGESTT_TYPE_F32, (const uint8_t *)pos->data + (size_t)t * prb, b->pos, n);
        s->kt->add(x + (size_t)t * (size_t)n, x + (size_t)t * (size_t)n, b->pos, n);
    }
    return EDGESTT_OK;
}

/* One residual attention block of the encoder, in place on x (ctx, n). */
static int enc_block(const est_whisper_state *s, int l, const enc_bufs *b, float *x) {
    const est_whisper_enc_layer *L = &s->m->w.enc[l];
    const enc_vecs *v = &s->ev[l];
    const int n = s->n, ctx = s->n_audio_ctx;
    int st;
    rows_run(s, ROW_LN, b->a, x, NULL, v->attn_ln_w, v->attn_ln_b, ctx, n);
    if ((st = mm(s, &L->attn.v_w, v->v_b, b->a, ctx, b->q, b->qx, b->qx_size))) return st;
    transpose_run(s, b->q, ctx, n, (uint8_t *)b->vt, (size_t)ctx, 1);
    if ((st = mm(s, &L->attn.q_w, v->q_b, b->a, ctx, b->q, b->qx, b->qx_size))) return st;
    if ((st = mm(s, &L->attn.k_w, NULL, b->a, ctx, b->k, b->qx, b->qx_size))) return st;

    att_job j;
    memset(&j, 0, sizeof j);
    j.s = s;
    j.type = EDGESTT_TYPE_F32;
    j.es = 4;
    j.q = b->q;
    j.ldq = (size_t)n;
    j.out = b->a;
    j.ldo = (size_t)n;
    j.n_groups = 1;
    j.m = ctx;
    j.k[0] = (const uint8_t *)b->k;
    j.vt[0] = (const uint8_t *)b->vt;
    j.k_stride = (size_t)n * sizeof(float);
    j.k_head = (size_t)(n / s->enc_head) * sizeof(float);
    j.vt_stride = (size_t)ctx * sizeof(float);
    j.n_kv = ctx;
    j.causal_base = -1;
    j.n_head = s->enc_head;
    j.d_head = n / s->enc_head;
    j.rows_blk = ENC_QBLK;
    j.scale = 1.0f / sqrtf((float)j.d_head);
    j.scores = b->scores;
    j.scores_per_task = (size_t)ENC_QBLK * (size_t)ctx;
    if ((st = att_run(s, &j, s->n_threads))) return st;

    if ((st = mm(s, &L->attn.o_w, v->o_b, b->a, ctx, b->q, b->qx, b->qx_size))) return st;
    rows_run(s, ROW_ADD, x, x, b->q, NULL, NULL, ctx, n);

    rows_run(s, ROW_LN, b->a, x, NULL, v->mlp_ln_w, v->mlp_ln_b, ctx, n);
    for (int r0 = 0; r0 < ctx; r0 += ENC_MLP_ROWS) {
        const int rows = imin(ENC_MLP_ROWS, ctx - r0);
        if ((st = mm(s, &L->mlp0_w, v->mlp0_b, b->a + (size_t)r0 * (size_t)n, rows, b->h, b->qx, b->qx_size))) return st;
        rows_run(s, ROW_GELU, b->h, b->h, NULL, NULL, NULL, rows, 4 * n);
        if ((st = mm(s, &L->mlp2_w, v->mlp2_b, b->h, rows, b->q + (size_t)r0 * (size_t)n, b->qx, b->qx_size))) return st;
    }
    rows_run(s, ROW_ADD, x, x, b->q, NULL, NULL, ctx, n);
    return EDGESTT_OK;
}

/* Cross K (no bias) and V^T of decoder layer l from the encoder output. */
static int enc_cross_kv(const est_whisper_state *s, int l, const enc_bufs *b) {
    const est_whisper_dec_layer *L = &s->m->w.dec[l];
    const int n = s->n, ctx = s->n_audio_ctx;
    const size_t layer_bytes = (size_t)ctx * (size_t)n * (size_t)s->cross_es;
    uint8_t *kd = s->cross_k + (size_t)l * layer_bytes, *vd = s->cross_vt + (size_t)l * layer_bytes;
    int st;
    if ((st = mm(s, &L->cross.k_w, NULL, b->x, ctx, b->q, b->qx, b->qx_size))) return st;
    cvt_job cj = {s, b->q, kd, ctx, n, s->dec_head, 0};
    const int nth = est_pool_threads(s->pool);
    cj.rows_per_task = (ctx + 4 * nth - 1) / (4 * nth);
    est_pool_run(s->pool, cvt_task, &cj, (ctx + cj.rows_per_task - 1) / cj.rows_per_task);
    if ((st = mm(s, &L->cross.v_w, s->dv[l].cv_b, b->x, ctx, b->q, b->qx, b->qx_size))) return st;
    transpose_run(s, b->q, ctx, n, vd, (size_t)ctx, s->cross_es == 4);
    return EDGESTT_OK;
}

int est_whisper_encode(est_whisper_state *s, const float *mel) {
    if (!s || !mel) return EDGESTT_E_INVALID_ARG;
    s->encoded = 0; /* the work area below overwrites every slot's self K/V */
    est_arena wa;
    enc_bufs b;
    est_arena_init(&wa, s->work, s->work_size);
    int st = enc_bufs_plan(s, &wa, &b);
    if (st) return EDGESTT_E_INTERNAL; /* sized by the same code at plan time */
    float *x = b.x; /* (ctx, n): the residual stream, then the output */
    s->enc_out = x;
    if ((st = enc_conv1(s, mel, &b))) return st;
    if ((st = enc_conv2(s, &b, x))) return st;
    for (int l = 0; l < s->n_enc_layer; l++)
        if ((st = enc_block(s, l, &b, x))) return st;
    rows_run(s, ROW_LN, x, x, NULL, s->ln_post_w, s->ln_post_b, s->n_audio_ctx, s->n);
    for (int l = 0; l < s->n_dec_layer; l++)
        if ((st = enc_cross_kv(s, l, &b))) return st;
    s->encoded = 1;
    return EDGESTT_OK;
}

const float *est_whisper_encoder_out(const est_whisper_state *s) { return s ? s->enc_out : NULL; }

/* ==== decoder =============================================================================== */

/* Self K row / V^T base of slot b, layer l. */
static uint8_t *self_k_of(const est_whisper_state *s, int b, int l) {
    const size_t per = (size_t)s->n_text_ctx * (size_t)s->n * (size_t)s->self_es;
    return s->self_k + ((size_t)b * (size_t)s->n_dec_layer + (size_t)l) * per;
}
static uint8_t *self_vt_of(const est_whisper_state *s, int b, int l) {
    const size_t per = (size_t)s->n_text_ctx * (size_t)s->n * (size_t)s->self_es;
    return s->self_vt + ((size_t)b * (size_t)s->n_dec_layer + (size_t)l) * per;
}

/* Attention of `rows` decoder rows: self (per-slot caches) or cross (shared). */
static int dec_attention(const est_whisper_state *s, const dec_bufs *b, int l, int rows, const int *slot, int n_past,
                         int single, int cross) {
    att_job j;
    memset(&j, 0, sizeof j);
    j.s = s;
    j.q = b->q;
    j.ldq = (size_t)s->n;
    j.out = b->o;
    j.ldo = (size_t)s->n;
    j.n_head = s->dec_head;
    j.d_head = s->n / s->dec_head;
    j.rows_blk = DEC_ATT_ROWS;
    j.scale = 1.0f / sqrtf((float)j.d_head);
    j.scores = b->scores;
    j.scores_per_task = b->scores_per_task;
    if (cross) {
        const size_t layer_bytes = (size_t)s->n_audio_ctx * (size_t)s->n * (size_t)s->cross_es;
        j.type = s->cross_type;
        j.es = s->cross_es;
        j.n_groups = 1;
        j.m = rows;
        j.k[0] = s->cross_k + (size_t)l * layer_bytes;
        j.vt[0] = s->cross_vt + (size_t)l * layer_bytes;
        j.k_stride = (size_t)j.d_head * (size_t)s->cross_es; /* head-major */
        j.k_head = (size_t)s->n_audio_ctx * j.k_stride;
        j.vt_stride = (size_t)s->n_audio_ctx * (size_t)s->cross_es;
        j.n_kv = s->n_audio_ctx;
        j.causal_base = -1;
    } else {
        j.type = s->self_type;
        j.es = s->self_es;
        j.k_stride = (size_t)s->n * (size_t)s->self_es;
        j.k_head = (size_t)j.d_head * (size_t)s->self_es;
        j.vt_stride = (size_t)s->n_text_ctx * (size_t)s->self_es;
        j.causal_base = n_past;
        if (single) {
            j.n_groups = 1;
            j.m = rows;
            j.n_kv = n_past + rows;
        } else {
            j.n_groups = rows;
            j.m = 1;
            j.n_kv = n_past + 1;
        }
        for (int g = 0; g < j.n_groups; g++) {
            j.k[g] = self_k_of(s, slot[g], l);
            j.vt[g] = self_vt_of(s, slot[g], l);
        }
    }
    return att_run(s, &j, s->n_threads);
}

/* Logits of rows [r0, r0 + nr) of b->a into the slots' logits rows. */
static int dec_logits(const est_whisper_state *s, const dec_bufs *b, int r0, int nr, const int *slot) {
    const est_tensor *te = &s->m->w.tok_emb;
    const size_t rb = row_bytes(te);
    const int n = s->n, V = s->n_vocab;
    int contiguous = 1;
    for (int i = 1; i < nr; i++) contiguous &= slot[i] == slot[0] + i;
    const float *x = b->a + (size_t)r0 * (size_t)n;
    if (contiguous)
        return mm_raw(s, s->pool, te->type, te->data, rb, V, n, NULL, x, (size_t)n, nr,
                      s->logits + (size_t)slot[0] * (size_t)V, (size_t)V, b->qx, b->qx_size);
    /* scattered slots: vocabulary column blocks through a small buffer */
    for (int c0 = 0; c0 < V; c0 += LOGIT_COLS) {
        const int nc = imin(LOGIT_COLS, V - c0);
        int st = mm_raw(s, s->pool, te->type, (const uint8_t *)te->data + (size_t)c0 * rb, rb, nc, n, NULL, x, (size_t)n,
                        nr, b->lt, LOGIT_COLS, b->qx, b->qx_size);
        if (st) return st;
        for (int i = 0; i < nr; i++)
            memcpy(s->logits + (size_t)slot[i] * (size_t)V + (size_t)c0, b->lt + (size_t)i * LOGIT_COLS,
                   sizeof(float) * (size_t)nc);
    }
    return EDGESTT_OK;
}

/* One pass of `rows` rows: single = consecutive tokens of one slot at n_past + i; otherwise row i
 * is slot[i]'s token at n_past.  want: write logits (single: the last row; batch: every row). */
static int dec_pass(est_whisper_state *s, const dec_bufs *b, const int *tokens, int rows, const int *slot, int n_past,
                    int single, int want) {
    const est_whisper_weights *w = &s->m->w;
    const est_kernels *kt = s->kt;
    const int n = s->n;
    const size_t erb = row_bytes(&w->tok_emb), prb = (size_t)n * sizeof(float);
    int st;
    for (int r = 0; r < rows; r++) {
        const int pos = single ? n_past + r : n_past;
        float *xr = b->x + (size_t)r * (size_t)n;
        est_dequantize_row(w->tok_emb.type, (const uint8_t *)w->tok_emb.data + (size_t)tokens[r] * erb, xr, n);
        est_dequantize_row(EDGESTT_TYPE_F32, (const uint8_t *)w->dec_pos.data + (size_t)pos * prb, b->emb, n);
        kt->add(xr, xr, b->emb, n);
    }
    for (int l = 0; l < s->n_dec_layer; l++) {
        const est_whisper_dec_layer *L = &w->dec[l];
        const dec_vecs *v = &s->dv[l];
        for (int r = 0; r < rows; r++)
            kt->layer_norm(b->a + (size_t)r * n, b->x + (size_t)r * n, v->attn_ln_w, v->attn_ln_b, n, LN_EPS);
        if ((st = mm_qkv(s, &L->attn, v->q_b, v->v_b, b->a, rows, b->q, b->k, b->v, b->qx, b->qx_size))) return st;
        /* append K rows and V^T columns to the slots' caches */
        for (int r = 0; r < rows; r++) {
            const int sl = single ? slot[0] : slot[r], pos = single ? n_past + r : n_past;
            kv_store(s->self_es, self_k_of(s, sl, l) + (size_t)pos * (size_t)n * (size_t)s->self_es, b->k + (size_t)r * n, n);
            uint8_t *vt = self_vt_of(s, sl, l) + (size_t)pos * (size_t)s->self_es;
            const float *vr = b->v + (size_t)r * n;
            const size_t stride = (size_t)s->n_text_ctx * (size_t)s->self_es;
            if (s->self_es == 4) {
                for (int c = 0; c < n; c++) memcpy(vt + (size_t)c * stride, &vr[c], 4);
            } else {
                for (int c = 0; c < n; c++) {
                    uint16_t h = est_f32_to_f16(vr[c]);
                    memcpy(vt + (size_t)c * stride, &h, 2);
                }
            }
        }
        if ((st = dec_attention(s, b, l, rows, slot, n_past, single, 0))) return st;
        if ((st = mm(s, &L->attn.o_w, v->o_b, b->o, rows, b->y, b->qx, b->qx_size))) return st;
        for (int r = 0; r < rows; r++) kt->add(b->x + (size_t)r * n, b->x + (size_t)r * n, b->y + (size_t)r * n, n);

        for (int r = 0; r < rows; r++)
            kt->layer_norm(b->a + (size_t)r * n, b->x + (size_t)r * n, v->cross_ln_w, v->cross_ln_b, n, LN_EPS);
        if ((st = mm(s, &L->cross.q_w, v->cq_b, b->a, rows, b->q, b->qx, b->qx_size))) return st;
        if ((st = dec_attention(s, b, l, rows, slot, n_past, single, 1))) return st;
        if ((st = mm(s, &L->cross.o_w, v->co_b, b->o, rows, b->y, b->qx, b->qx_size))) return st;
        for (int r = 0; r < rows; r++) kt->add(b->x + (size_t)r * n, b->x + (size_t)r * n, b->y + (size_t)r * n, n);

        for (int r = 0; r < rows; r++)
            kt->layer_norm(b->a + (size_t)r * n, b->x + (size_t)r * n, v->mlp_ln_w, v->mlp_ln_b, n, LN_EPS);
        if ((st = mm(s, &L->mlp0_w, v->mlp0_b, b->a, rows, b->h, b->qx, b->qx_size))) return st;
        for (int r = 0; r < rows; r++) kt->gelu(b->h + (size_t)r * 4 * n, b->h + (size_t)r * 4 * n, 4 * n);
        if ((st = mm(s, &L->mlp2_w, v->mlp2_b, b->h, rows, b->y, b->qx, b->qx_size))) return st;
        for (int r = 0; r < rows; r++) kt->add(b->x + (size_t)r * n, b->x + (size_t)r * n, b->y + (size_t)r * n, n);
    }
    if (!want) return EDGESTT_OK;
    const int r0 = single ? rows - 1 : 0, nr = single ? 1 : rows;
    for (int r = r0; r < r0 + nr; r++)
        kt->layer_norm(b->a + (size_t)r * n, b->x + (size_t)r * n, s->ln_w, s->ln_b, n, LN_EPS);
    return dec_logits(s, b, r0, nr, slot);
}

/* Place the decoder's per-call buffers (sized by the same function at plan time). */
static int dec_begin(est_whisper_state *s, est_arena *da, dec_bufs *b) {
    s->enc_out = NULL; /* this step's self K/V overwrite the encoder output's bytes */
    est_arena_init(da, s->dwork, s->dwork_size);
    return dec_bufs_plan(s, da, b) ? EDGESTT_E_INTERNAL : EDGESTT_OK;
}

static int tokens_ok(const est_whisper_state *s, const int *tokens, int n) {
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= s->n_vocab) return 0;
    return 1;
}

int est_whisper_decode(est_whisper_state *s, int beam, const int *tokens, int n_tokens, int n_past) {
    if (!s || !tokens || beam < 0 || beam >= s->n_beams || n_tokens < 1 || n_past < 0 ||
        n_past > s->n_text_ctx - n_tokens || !tokens_ok(s, tokens, n_tokens))
        return EDGESTT_E_INVALID_ARG;
    if (!s->encoded) return EDGESTT_E_INVALID_ARG;
    est_arena da;
    dec_bufs b;
    int st = dec_begin(s, &da, &b);
    if (st) return st;
    const int slot[1] = {beam};
    for (int c0 = 0; c0 < n_tokens; c0 += s->dec_rows) {
        const int rows = imin(s->dec_rows, n_tokens - c0);
        if ((st = dec_pass(s, &b, tokens + c0, rows, slot, n_past + c0, 1, c0 + rows == n_tokens))) return st;
    }
    return EDGESTT_OK;
}

int est_whisper_decode_batch(est_whisper_state *s, const int *beams, const int *tokens, int n_beams, int n_past) {
    if (!s || !beams || !tokens || n_beams < 1 || n_beams > s->n_beams || n_past < 0 || n_past >= s->n_text_ctx ||
        !tokens_ok(s, tokens, n_beams))
        return EDGESTT_E_INVALID_ARG;
    for (int i = 0; i < n_beams; i++) {
        if (beams[i] < 0 || beams[i] >= s->n_beams) return EDGESTT_E_INVALID_ARG;
        for (int k = 0; k < i; k++)
            if (beams[k] == beams[i]) return EDGESTT_E_INVALID_ARG; /* two rows into one slot */
    }
    if (!s->encoded) return EDGESTT_E_INVALID_ARG;
    est_arena da;
    dec_bufs b;
    int st = dec_begin(s, &da, &b);
    if (st) return st;
    return dec_pass(s, &b, tokens, n_beams, beams, n_past, 0, 1);
}

void est_whisper_kv_copy(est_whisper_state *s, int dst, int src, int n_pos) {
    if (!s || dst == src || dst < 0 || src < 0 || dst >= s->n_beams || src >= s->n_beams || n_pos <= 0) return;
    if (n_pos > s->n_text_ctx) n_pos = s->n_text_ctx;
    s->enc_out = NULL;
    const size_t es = (size_t)s->self_es, n = (size_t)s->n, stride = (size_t)s->n_text_ctx * es;
    for (int l = 0; l < s->n_dec_layer; l++) {
        memcpy(self_k_of(s, dst, l), self_k_of(s, src, l), (size_t)n_pos * n * es);
        uint8_t *dv = self_vt_of(s, dst, l);
        const uint8_t *sv = self_vt_of(s, src, l);
        for (size_t c = 0; c < n; c++) memcpy(dv + c * stride, sv + c * stride, (size_t)n_pos * es);
    }
}

float *est_whisper_logits(est_whisper_state *s, int beam) {
    if (!s || beam < 0 || beam >= s->n_beams) return NULL;
    return s->logits + (size_t)beam * (size_t)s->n_vocab;
}
