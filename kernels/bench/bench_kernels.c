/*
 * bench_kernels.c - GOP/s of the matrix products (est_gemm: activation quantization included) on
 * the Whisper tiny/base encoder and decoder shapes, per weight type, variant and thread count, as a
 * table with the ratio to the reference.  A host program (stdio, malloc allowed), linked with the
 * internal archive:  bench-kernels [--time SECONDS] [--threads N] [--quick] [FILTER...]
 * FILTER matches shape names (e.g. "enc", "tiny", "dec.logits"), types ("q8_0") or variants.
 * The reference is timed on at most 48 rows (its rate does not depend on m), so it stays fast.
 * Built with OpenBLAS (the Makefile adds EST_HAVE_OPENBLAS when pkg-config finds it), the f32 rows
 * also time cblas_sgemm on the same shape in the same process, with OPENBLAS_CORETYPE=Haswell (the
 * program re-executes itself with it set, so OpenBLAS's start-up sees it: AVX2, like ours), and a
 * last line gives OpenBLAS's rate on a large square sgemm (the machine's f32 GEMM peak; the filter
 * "sgemm.square" prints that line alone).  `edge-stt bench` prints the encoder's effective GOP/s to
 * set beside it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kernels_impl.h"
#include "../../port/port.h"

#ifdef EST_HAVE_OPENBLAS
#include <cblas.h>
#include <unistd.h>
#endif

typedef struct {
    const char *name;
    int m, n, k;
    int float_only; /* attention products: activations times activations */
} bshape;

static const bshape shapes[] = {
    {"tiny.enc.qkv", 1500, 384, 384, 0},     {"tiny.enc.mlp1", 1500, 1536, 384, 0},
    {"tiny.enc.mlp2", 1500, 384, 1536, 0},   {"tiny.enc.attn.qk", 1500, 1500, 64, 1},
    {"tiny.enc.attn.av", 1500, 64, 1500, 1}, {"tiny.dec.qkv", 1, 384, 384, 0},
    {"tiny.dec.mlp1", 1, 1536, 384, 0},      {"tiny.dec.mlp2", 1, 384, 1536, 0},
    {"tiny.dec.logits", 1, 51864, 384, 0},   {"tiny.dec5.mlp1", 5, 1536, 384, 0},
    {"base.enc.qkv", 1500, 512, 512, 0},     {"base.enc.mlp1", 1500, 2048, 512, 0},
    {"base.enc.mlp2", 1500, 512, 2048, 0},   {"base.dec.mlp1", 1, 2048, 512, 0},
    {"base.dec.logits", 1, 51864, 512, 0},
};

static const int types[] = {EDGESTT_TYPE_F32, EDGESTT_TYPE_F16, EDGESTT_TYPE_Q8_0, EDGESTT_TYPE_Q4_0};

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float frand(void) { return (float)((int64_t)(next() >> 40) - (1 << 23)) / (float)(1 << 23); }

static double now_s(void) { return (double)est_port_now_ns() * 1e-9; }

/* CPU time of the calling thread: one-thread runs are timed with it, so that other processes on a
 * shared machine (which steal wall time, not this thread's cycles) do not distort the rate. */
static double thread_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Filters: a variant name or a type name selects those; anything else is a substring of shape
 * names.  Each kind with no filter given selects everything. */
static int nfilt;
static char **filt;
static int selected(const char *shape, const char *type, const char *variant) {
    int want_s = 0, want_t = 0, want_v = 0, ok_s = 0, ok_t = 0, ok_v = 0;
    for (int i = 0; i < nfilt; i++) {
        const char *f = filt[i];
        int is_v = 0;
        for (int v = 0; est_kernels_variant(v); v++) is_v |= !strcmp(f, est_kernels_variant(v)->name);
        is_v |= !strcmp(f, "openblas");
        if (is_v) {
            want_v = 1;
            ok_v |= !strcmp(f, variant);
        } else if (!strcmp(f, "f32") || !strcmp(f, "f16") || !strcmp(f, "q8_0") || !strcmp(f, "q4_0")) {
            want_t = 1;
            ok_t |= !strcmp(f, type);
        } else {
            want_s = 1;
            ok_s |= strstr(shape, f) != NULL;
        }
    }
    /* the reference and OpenBLAS are the yardsticks: shown beside any variant */
    return (!want_s || ok_s) && (!want_t || ok_t) && (!want_v || ok_v || !strcmp(variant, "ref") || !strcmp(variant, "openblas"));
}

/* Best-of time of one product (seconds): repeats until min_time has passed (at least twice). */
static double time_gemm(const est_kernels *kt, est_pool *pool, const est_gemm_op *op, void *scratch,
                        size_t ss, double min_time) {
    double best = 1e30, start = now_s();
    int reps = 0;
    double (*clk)(void) = pool ? now_s : thread_s;
    while (reps < 2 || (now_s() - start < min_time && reps < 1000)) {
        double t0 = clk();
        if (est_gemm(kt, pool, op, scratch, ss) != EDGESTT_OK) return -1;
        double t = clk() - t0;
        if (t < best) best = t;
        reps++;
    }
    return best;
}

#ifdef EST_HAVE_OPENBLAS
/* Best-of wall time of cblas_sgemm on op's shape (Y = X . W^T), th threads. */
static double time_sgemm(const est_gemm_op *op, int th, double min_time) {
    openblas_set_num_threads(th);
    double best = 1e30, start = now_s();
    int reps = 0;
    while (reps < 2 || (now_s() - start < min_time && reps < 1000)) {
        double t0 = th > 1 ? now_s() : thread_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, op->m, op->n, op->k, 1.0f, op->x, (int)op->ldx,
                    (const float *)op->w, (int)(op->w_stride / 4), 0.0f, op->y, (int)op->ldy);
        double t = (th > 1 ? now_s() : thread_s()) - t0;
        if (t < best) best = t;
        reps++;
    }
    return best;
}

/* OpenBLAS's f32 rate on a large square product: the machine's f32 GEMM peak for the table. */
static void sgemm_peak(int max_threads, double min_time) {
    const int n = 1536;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    if (!a || !b || !c) return;
    for (int i = 0; i < n * n; i++) a[i] = b[i] = frand();
    est_gemm_op op = {.type = EDGESTT_TYPE_F32, .m = n, .n = n, .k = n, .w = b, .w_stride = 4u * n, .x = a,
                      .ldx = (size_t)n, .y = c, .ldy = (size_t)n};
    for (int th = 1; th <= max_threads; th++) {
        double t = time_sgemm(&op, th, min_time);
        printf("%-18s %5d %6d %5d %-5s %-8s %3d %10.3f %9.2f  (f32 GEMM peak, %s)\n", "sgemm.square", n, n, n, "f32",
               "openblas", th, t * 1e3, 2.0 * n * (double)n * n / t * 1e-9, openblas_get_corename());
    }
    free(a);
    free(b);
    free(c);
}
#endif

static void no_task(void *ctx, int task, int n_tasks) {
    (void)ctx;
    (void)task;
    (void)n_tasks;
}

/* Wall time of one est_pool_run with nothing to do (one empty task per thread): what splitting a
 * small product across threads costs before any work, e.g. ~17 times per decoder token (tiny). */
static void pool_sync(est_pool *pool, int th) {
    const int reps = 2000;
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now_s();
        for (int i = 0; i < reps; i++) est_pool_run(pool, no_task, NULL, th);
        double t = (now_s() - t0) / reps;
        if (t < best) best = t;
    }
    printf("%-18s %5s %6s %5s %-5s %-8s %3d %10.4f  (one empty est_pool_run, best of 5 x %d)\n", "pool.sync", "-", "-",
           "-", "-", "pool", th, best * 1e3, reps);
}

int main(int argc, char **argv) {
#ifdef EST_HAVE_OPENBLAS
    /* OpenBLAS picks its kernels when the library starts: set the core type and start again */
    if (!getenv("OPENBLAS_CORETYPE")) {
        setenv("OPENBLAS_CORETYPE", "Haswell", 1);
        execv("/proc/self/exe", argv);
    }
#endif
    double min_time = 0.25;
    int max_threads = 2;
    filt = calloc((size_t)argc, sizeof *filt);
    if (!filt) return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--time") && i + 1 < argc) min_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) max_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) min_time = 0.05;
        else filt[nfilt++] = argv[i];
    }
    const uint32_t cpu = est_port_cpu_features();
    est_pool *pools[9] = {0};
    void *pool_mem[9] = {0};
    for (int t = 2; t <= max_threads && t <= 8; t++) {
        pool_mem[t] = malloc(est_pool_size(t) + 64);
        if (!pool_mem[t] || est_pool_init(&pools[t], pool_mem[t], est_pool_size(t) + 64, t) != EDGESTT_OK) {
            fprintf(stderr, "bench-kernels: pool of %d threads failed\n", t);
            return 1;
        }
    }
    printf("bench-kernels: GOP/s = 2*m*n*k / best time (activation quantization included);\n"
           "  1 thread: the thread's CPU time, 2+ threads: wall time (noisy on a shared machine)\n");
    printf("%-18s %5s %6s %5s %-5s %-8s %3s %10s %9s %8s\n", "shape", "m", "n", "k", "type", "variant", "thr",
           "ms", "GOP/s", "x ref");
    for (int t = 2; t <= max_threads && t <= 8 && (!nfilt || (nfilt == 1 && !strcmp(filt[0], "pool"))); t++)
        pool_sync(pools[t], t);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const bshape *sh = &shapes[si];
        for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
            const int type = types[ti];
            if (sh->float_only && type != EDGESTT_TYPE_F32) continue;
            const char *tname = edgestt_type_name(type);
            if (!selected(sh->name, tname, "ref")) continue;
            const size_t ws = est_type_row_bytes(type, (uint64_t)sh->k);
            uint8_t *w = malloc(ws * (size_t)sh->n + 1);
            float *x = malloc(sizeof(float) * (size_t)sh->m * sh->k);
            float *y = malloc(sizeof(float) * (size_t)sh->m * sh->n);
            float *bias = malloc(sizeof(float) * (size_t)sh->n);
            float *row = malloc(sizeof(float) * (size_t)sh->k);
            size_t ss = est_gemm_scratch_size(type, sh->m, sh->k);
            void *scratch = NULL;
            if (ss && posix_memalign(&scratch, 64, ss) != 0) scratch = NULL;
            if (!w || !x || !y || !bias || !row || (ss && !scratch)) {
                fprintf(stderr, "bench-kernels: out of memory\n");
                return 1;
            }
            for (size_t i = 0; i < (size_t)sh->m * sh->k; i++) x[i] = frand();
            for (int j = 0; j < sh->n; j++) {
                bias[j] = frand();
                for (int t = 0; t < sh->k; t++) row[t] = frand() * 0.05f;
                uint8_t *wr = w + 1 + (size_t)j * ws;
                if (type == EDGESTT_TYPE_F32) memcpy(wr, row, ws);
                else if (type == EDGESTT_TYPE_F16)
                    for (int t = 0; t < sh->k; t++) {
                        uint16_t h = est_f32_to_f16(row[t]);
                        memcpy(wr + 2 * t, &h, 2);
                    }
                else if (type == EDGESTT_TYPE_Q8_0) est_quantize_row_q8_0_ref(row, wr, sh->k);
                else est_quantize_row_q4_0_ref(row, wr, sh->k);
            }
            est_gemm_op op = {.type = type, .m = sh->m, .n = sh->n, .k = sh->k, .w = w + 1, .w_stride = ws,
                              .x = x, .ldx = (size_t)sh->k, .bias = bias, .y = y, .ldy = (size_t)sh->n};
            double ref_rate = 0;
            for (int v = 0; est_kernels_variant(v); v++) {
                const est_kernels *kt = est_kernels_variant(v);
                if (!est_kernels_runnable(kt, cpu)) continue;
                if (!selected(sh->name, tname, kt->name)) continue;
                for (int th = 1; th <= max_threads; th++) {
                    if (v == 0 && th > 1) continue; /* the reference: one thread is enough */
                    est_gemm_op o = op;
                    if (v == 0 && o.m > 48) o.m = 48;
                    double t = time_gemm(kt, th > 1 ? pools[th] : NULL, &o, scratch, ss, v == 0 ? min_time / 2 : min_time);
                    if (t < 0) {
                        fprintf(stderr, "bench-kernels: est_gemm failed\n");
                        return 1;
                    }
                    double gops = 2.0 * o.m * (double)o.n * o.k / t * 1e-9;
                    if (v == 0) ref_rate = gops;
                    printf("%-18s %5d %6d %5d %-5s %-8s %3d %10.3f %9.2f %8.2f%s\n", sh->name, sh->m, sh->n, sh->k,
                           tname, kt->name, th, t * 1e3 * ((double)sh->m / o.m), gops, ref_rate > 0 ? gops / ref_rate : 0,
                           o.m != sh->m ? "  (rows timed: 48)" : "");
                    fflush(stdout);
                }
            }
#ifdef EST_HAVE_OPENBLAS
            /* OpenBLAS sgemm on the f32 shape, same process, same buffers */
            if (type == EDGESTT_TYPE_F32 && selected(sh->name, tname, "openblas"))
                for (int th = 1; th <= max_threads; th++) {
                    double t = time_sgemm(&op, th, min_time);
                    double gops = 2.0 * op.m * (double)op.n * op.k / t * 1e-9;
                    printf("%-18s %5d %6d %5d %-5s %-8s %3d %10.3f %9.2f %8.2f  (%s)\n", sh->name, sh->m, sh->n, sh->k,
                           tname, "openblas", th, t * 1e3, gops, ref_rate > 0 ? gops / ref_rate : 0,
                           openblas_get_corename());
                    fflush(stdout);
                }
#endif
            free(w);
            free(x);
            free(y);
            free(bias);
            free(row);
            free(scratch);
        }
    }
#ifdef EST_HAVE_OPENBLAS
    if (!nfilt || selected("sgemm.square", "f32", "openblas")) sgemm_peak(max_threads, min_time);
#endif
    for (int t = 2; t <= 8; t++) {
        if (pools[t]) est_pool_destroy(pools[t]);
        free(pool_mem[t]);
    }
    return 0;
}
