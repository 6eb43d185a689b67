/*
 * pool.c - edgestt_pool: a fixed thread pool that transcription states can share
 * (edgestt_full_params.pool), e.g. the fast and the accurate model of a stream, which never run at
 * the same time.  The handle and the port pool (port/pool_*.c) are placed in one planned block
 * (the caller's, or one allocation made by create); the workers start at create and stop at
 * destroy; nothing is allocated in between.
 */
#include "pool.h"

struct edgestt_pool {
    est_pool *pool;
    void *owned;        /* the block, if create allocated it */
};

/* Plan (mem == NULL: measure) or place the handle and the port pool. */
static int plan(int n_threads, est_arena *a, edgestt_pool **out) {
    void *h, *q;
    int st;
    if ((st = est_arena_alloc(a, sizeof(edgestt_pool), &h)) != 0) return st;
    const size_t pool_bytes = est_pool_size(n_threads);
    if ((st = est_arena_alloc(a, pool_bytes, &q)) != 0) return st;
    if (est_arena_measuring(a)) return EDGESTT_OK;
    edgestt_pool *p = (edgestt_pool *)h;
    memset(p, 0, sizeof *p);
    if ((st = est_pool_init(&p->pool, q, pool_bytes, n_threads)) != 0) return st;
    *out = p;
    return EDGESTT_OK;
}

edgestt_status edgestt_pool_mem_size(int n_threads, size_t *bytes) {
    if (!bytes || n_threads < 1 || n_threads > EST_MAX_THREADS) return EDGESTT_E_INVALID_ARG;
    est_arena a;
    est_arena_init_measure(&a);
    int st = plan(n_threads, &a, NULL);
    if (st) return (edgestt_status)st;
    *bytes = est_arena_required(&a);
    return EDGESTT_OK;
}

edgestt_status edgestt_pool_create(int n_threads, void *mem, size_t mem_size, edgestt_pool **out,
                                   edgestt_diag *diag) {
    size_t need;
    if (!out) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "pool: out is NULL");
    *out = NULL;
    if (edgestt_pool_mem_size(n_threads, &need))
        return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "pool: n_threads %d is outside 1..%d", n_threads,
                                        EST_MAX_THREADS);
    void *owned = NULL;
    if (!mem) {
        owned = mem = est_port_alloc(need);
        if (!mem) return (edgestt_status)est_diag(diag, EDGESTT_E_NOMEM, "pool: cannot allocate %zu bytes", need);
        mem_size = need;
    } else if (mem_size < need) {
        return (edgestt_status)est_diag(diag, EDGESTT_E_NOMEM, "pool: buffer of %zu bytes, the plan needs %zu", mem_size,
                                        need);
    }
    est_arena a;
    est_arena_init(&a, mem, mem_size);
    edgestt_pool *p = NULL;
    int st = plan(n_threads, &a, &p);
    if (st) {
        est_port_free(owned);
        return (edgestt_status)est_diag(diag, st, "pool: cannot start %d threads (%s)", n_threads, edgestt_strerror(st));
    }
    p->owned = owned;
    *out = p;
    return EDGESTT_OK;
}

int edgestt_pool_threads(const edgestt_pool *p) { return p ? est_pool_threads(p->pool) : 0; }

void edgestt_pool_destroy(edgestt_pool *p) {
    if (!p) return;
    void *owned = p->owned;
    est_pool_destroy(p->pool);
    p->pool = NULL;
    est_port_free(owned);
}

est_pool *est_pool_of(edgestt_pool *p) { return p ? p->pool : NULL; }
