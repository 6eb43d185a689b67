/*
 * gemm.c - the matrix-product driver: argument checks, scratch planning for quantized activations,
 * and the split of one product into output tiles over an est_pool.  The numeric work is done by
 * the variant's tile kernels (kernels.h); any split gives the same bits, because every output
 * element is computed by exactly one tile in the order the specification fixes.
 */
#include "kernels_impl.h"

/* Below this many multiply-adds a product runs on the calling thread (waking workers costs more).
 * GEMV shapes (one decoder token) split lower: the pool's workers spin between back-to-back jobs,
 * so a hand-off costs about a microsecond, and a 384 x 384 Q8_0 product streams 157 KB. */
#define EST_GEMM_MIN_PARALLEL (1u << 18)
#define EST_GEMV_MIN_PARALLEL (1u << 16)

size_t est_qx_row_bytes(int k) {
    if (k <= 0 || k % EST_QK) return 0;
    size_t b = (size_t)k + (size_t)k / 4; /* qs[k] + d[k/32] + sum[k/32] */
    return (b + 63) & ~(size_t)63;
}

size_t est_gemm_scratch_size(int type, int m, int k) {
    if (m < 0 || k <= 0) return SIZE_MAX;
    if (!est_type_is_quant(type)) return 0;
    size_t row = est_qx_row_bytes(k), total;
    if (!row || !est_mul(row, (size_t)m, &total)) return SIZE_MAX;
    return total;
}

int est_gemm_check(const est_gemm_op *op) {
    if (!op) return EDGESTT_E_INVALID_ARG;
    if (est_wt_index(op->type) < 0) return EDGESTT_E_UNSUPPORTED;
    if (op->m <= 0 || op->n <= 0 || op->k <= 0) return EDGESTT_E_INVALID_ARG;
    if (!op->w || !op->x || !op->y) return EDGESTT_E_INVALID_ARG;
    size_t rb = est_type_row_bytes(op->type, (uint64_t)op->k);
    if (!rb || op->w_stride < rb) return EDGESTT_E_INVALID_ARG;
    if (op->ldx < (size_t)op->k || op->ldy < (size_t)op->n) return EDGESTT_E_INVALID_ARG;
    /* the kernels index with int32 column offsets into W for gathers: keep W under 2 GiB per 8 rows */
    if (op->w_stride > (size_t)INT32_MAX / 8) return EDGESTT_E_LIMIT;
    return EDGESTT_OK;
}

void est_gemm_tile(const est_kernels *kt, const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    const int t = est_wt_index(op->type);
    if (m1 <= m0 || n1 <= n0 || t < 0) return;
    if (op->m <= kt->gemv_max_m[t]) kt->gemv[t](op, m0, m1, n0, n1); /* by the whole m: see kernels.h */
    else kt->gemm[t](op, m0, m1, n0, n1);
}

/* ---- pool jobs ------------------------------------------------------------------------- */
typedef struct {
    const est_kernels *kt;
    const est_gemm_op *op;
    int mt, nt;          /* tile size (rows, columns) */
    int tiles_n;         /* tiles along n */
} gemm_job;

static void gemm_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    const gemm_job *j = (const gemm_job *)ctx;
    const int tm = task / j->tiles_n, tn = task % j->tiles_n;
    const int m0 = tm * j->mt, n0 = tn * j->nt;
    int m1 = m0 + j->mt, n1 = n0 + j->nt;
    if (m1 > j->op->m) m1 = j->op->m;
    if (n1 > j->op->n) n1 = j->op->n;
    est_gemm_tile(j->kt, j->op, m0, m1, n0, n1);
}

typedef struct {
    const est_kernels *kt;
    const est_gemm_op *op;
    uint8_t *xq;
    int rows;            /* rows per task */
} quant_job;

static void quant_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    const quant_job *j = (const quant_job *)ctx;
    const int m0 = task * j->rows;
    int m1 = m0 + j->rows;
    if (m1 > j->op->m) m1 = j->op->m;
    j->kt->quantize_x(j->op->x, j->op->ldx, m0, m1, j->op->k, j->xq, j->op->xq_stride);
}

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* Column tile of a GEMV shape over nth threads: 4 tiles per thread, a multiple of 16, >= 64. */
static int gemv_tile_n(int n, int nth) {
    int nt = ceil_div(n, 4 * nth);
    nt = (nt + 15) & ~15;
    return nt < 64 ? 64 : nt;
}

int est_gemm(const est_kernels *kt, est_pool *pool, const est_gemm_op *op_in, void *scratch,
             size_t scratch_size) {
    int st = est_gemm_check(op_in);
    if (st) return st;
    if (!kt) return EDGESTT_E_INVALID_ARG;
    est_gemm_op op = *op_in;
    int nth = est_pool_threads(pool);
    const int gmax = kt->gemv_max_m[est_wt_index(op.type)];
    uint64_t work = (uint64_t)op.m * (uint64_t)op.n * (uint64_t)op.k;
    if (work < (op.m <= gmax ? EST_GEMV_MIN_PARALLEL : EST_GEMM_MIN_PARALLEL)) nth = 1;

    if (est_type_is_quant(op.type)) {
        size_t need = est_gemm_scratch_size(op.type, op.m, op.k);
        if (need == SIZE_MAX) return EDGESTT_E_INVALID_ARG;
        if (!scratch || ((uintptr_t)scratch & 63)) return EDGESTT_E_INVALID_ARG;
        if (scratch_size < need) return EDGESTT_E_NOMEM;
        op.xq = (const uint8_t *)scratch;
        op.xq_stride = est_qx_row_bytes(op.k);
        quant_job qj = {kt, &op, (uint8_t *)scratch, op.m};
        if (nth > 1 && op.m >= 2 * nth) {
            qj.rows = ceil_div(op.m, 2 * nth);
            est_pool_run(pool, quant_task, &qj, ceil_div(op.m, qj.rows));
        } else {
            quant_task(&qj, 0, 1);
        }
    }

    gemm_job j = {kt, &op, op.m, op.n, 1};
    if (nth > 1) {
        if (op.m <= gmax) {
            j.nt = gemv_tile_n(op.n, nth);
        } else {
            /* encoder shapes: row tiles of 96 (L2-sized slices of X) x column tiles of 128 */
            j.mt = op.m < 96 ? op.m : 96;
            j.nt = op.n < 128 ? op.n : 128;
            /* too few tiles for the threads: narrow the column tiles */
            while (ceil_div(op.m, j.mt) * ceil_div(op.n, j.nt) < 3 * nth && j.nt > 16)
                j.nt = ((j.nt / 2) + 15) & ~15;
        }
    }
    j.tiles_n = ceil_div(op.n, j.nt);
    int tasks = ceil_div(op.m, j.mt) * j.tiles_n;
    if (tasks == 1 || nth == 1) {
        est_gemm_tile(kt, &op, 0, op.m, 0, op.n);
        return EDGESTT_OK;
    }
    est_pool_run(pool, gemm_task, &j, tasks);
    return EDGESTT_OK;
}

/* ---- several products of one X ----------------------------------------------------------- */
typedef struct {
    const est_kernels *kt;
    const est_gemm_op *ops;
    int n_ops;
    int first[EST_GEMM_MULTI_MAX + 1]; /* task index of each product's first column tile */
    int nt[EST_GEMM_MULTI_MAX];        /* its column tile */
} multi_job;

static void multi_task(void *ctx, int task, int n_tasks) {
    (void)n_tasks;
    const multi_job *j = (const multi_job *)ctx;
    int o = 0;
    while (task >= j->first[o + 1]) o++;
    const est_gemm_op *op = &j->ops[o];
    const int n0 = (task - j->first[o]) * j->nt[o];
    const int n1 = n0 + j->nt[o] < op->n ? n0 + j->nt[o] : op->n;
    est_gemm_tile(j->kt, op, 0, op->m, n0, n1);
}

int est_gemm_multi(const est_kernels *kt, est_pool *pool, const est_gemm_op *ops_in, int n_ops, void *scratch,
                   size_t scratch_size) {
    if (!kt || !ops_in || n_ops < 1 || n_ops > EST_GEMM_MULTI_MAX) return EDGESTT_E_INVALID_ARG;
    est_gemm_op ops[EST_GEMM_MULTI_MAX];
    int any_quant = 0, all_gemv = 1, st;
    uint64_t work = 0;
    for (int o = 0; o < n_ops; o++) {
        if ((st = est_gemm_check(&ops_in[o])) != 0) return st;
        const est_gemm_op *a = &ops_in[o], *b = &ops_in[0];
        if (a->m != b->m || a->k != b->k || a->x != b->x || a->ldx != b->ldx) return EDGESTT_E_INVALID_ARG;
        any_quant |= est_type_is_quant(a->type);
        all_gemv &= a->m <= kt->gemv_max_m[est_wt_index(a->type)];
        work += (uint64_t)a->m * (uint64_t)a->n * (uint64_t)a->k;
        ops[o] = *a;
    }
    if (!all_gemv) { /* GEMM shapes: one product at a time (each splits in 2-D by itself) */
        for (int o = 0; o < n_ops; o++)
            if ((st = est_gemm(kt, pool, &ops[o], scratch, scratch_size)) != 0) return st;
        return EDGESTT_OK;
    }
    if (any_quant) { /* X quantized once for every product */
        const size_t need = est_gemm_scratch_size(EDGESTT_TYPE_Q8_0, ops[0].m, ops[0].k);
        if (need == SIZE_MAX) return EDGESTT_E_INVALID_ARG;
        if (!scratch || ((uintptr_t)scratch & 63)) return EDGESTT_E_INVALID_ARG;
        if (scratch_size < need) return EDGESTT_E_NOMEM;
        const size_t stride = est_qx_row_bytes(ops[0].k);
        kt->quantize_x(ops[0].x, ops[0].ldx, 0, ops[0].m, ops[0].k, (uint8_t *)scratch, stride);
        for (int o = 0; o < n_ops; o++) {
            ops[o].xq = (const uint8_t *)scratch;
            ops[o].xq_stride = stride;
        }
    }
    const int nth = work < EST_GEMV_MIN_PARALLEL ? 1 : est_pool_threads(pool);
    multi_job j;
    memset(&j, 0, sizeof j);
    j.kt = kt;
    j.ops = ops;
    j.n_ops = n_ops;
    for (int o = 0; o < n_ops; o++) {
        j.nt[o] = nth > 1 ? gemv_tile_n(ops[o].n, nth) : ops[o].n;
        j.first[o + 1] = j.first[o] + ceil_div(ops[o].n, j.nt[o]);
    }
    if (nth == 1) {
        for (int t = 0; t < j.first[n_ops]; t++) multi_task(&j, t, j.first[n_ops]);
        return EDGESTT_OK;
    }
    est_pool_run(pool, multi_task, &j, j.first[n_ops]);
    return EDGESTT_OK;
}
