/*
 * pool_pthread.c - a fixed thread pool over pthreads.  Workers are created once at init and sleep
 * on a condition variable between jobs; a job is a parallel-for over task indices handed out by an
 * atomic counter.  The pool's memory is placed by the caller (the handle's arena): no allocation
 * here after init.  est_pool_run must not be called from two threads at once on one pool.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#include "port.h"

#define EST_POOL_MAX 256

struct est_pool {
    int n_threads;            /* incl. the caller */
    int n_started;            /* workers actually created */
    pthread_mutex_t mu;
    pthread_cond_t wake;      /* workers wait here for a new generation */
    pthread_cond_t done;      /* the caller waits here for active == 0 */
    uint64_t generation;      /* bumped per job (under mu) */
    int active;               /* workers still inside the current job (under mu) */
    int stop;                 /* set at destroy (under mu) */
    int n_ready;              /* workers that reached their wait loop (under mu) */
    est_pool_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next;          /* next task index to hand out */
    pthread_t *threads;       /* (n_threads - 1) */
};

static void run_tasks(est_pool *p) {
    for (;;) {
        int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->n_tasks) break;
        p->fn(p->ctx, i, p->n_tasks);
    }
}

static void *worker(void *arg) {
    est_pool *p = (est_pool *)arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    p->n_ready++; /* whatever the thread's start-up allocated is done by now */
    pthread_cond_signal(&p->done);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_tasks(p);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

size_t est_pool_size(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    if (n_threads > EST_POOL_MAX) n_threads = EST_POOL_MAX;
    return sizeof(est_pool) + EST_ALIGN + sizeof(pthread_t) * (size_t)n_threads;
}

int est_pool_init(est_pool **out, void *mem, size_t mem_size, int n_threads) {
    *out = NULL;
    if (n_threads < 1 || n_threads > EST_POOL_MAX) return EDGESTT_E_INVALID_ARG;
    if (!mem || mem_size < est_pool_size(n_threads)) return EDGESTT_E_NOMEM;
    uintptr_t a = ((uintptr_t)mem + (EST_ALIGN - 1)) & ~(uintptr_t)(EST_ALIGN - 1);
    est_pool *p = (est_pool *)a;
    memset(p, 0, sizeof *p);
    p->n_threads = n_threads;
    p->threads = (pthread_t *)(p + 1);
    if (pthread_mutex_init(&p->mu, NULL) != 0) return EDGESTT_E_INTERNAL;
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    for (int i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            est_pool_destroy(p);
            return EDGESTT_E_INTERNAL;
        }
        p->n_started++;
    }
    /* Return only when every worker is parked: thread start-up (TLS, sanitizer bookkeeping) may
     * allocate, and that must happen inside init, never during a later est_pool_run. */
    pthread_mutex_lock(&p->mu);
    while (p->n_ready < p->n_started) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    *out = p;
    return EDGESTT_OK;
}

int est_pool_threads(const est_pool *p) { return p ? p->n_threads : 1; }

void est_pool_run(est_pool *p, est_pool_fn fn, void *ctx, int n_tasks) {
    if (n_tasks <= 0) return;
    if (!p || p->n_started == 0 || n_tasks == 1) {
        for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->active = p->n_started;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void est_pool_destroy(est_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
    p->n_started = 0;
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
}
