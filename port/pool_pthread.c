/*
 * pool_pthread.c - a fixed thread pool over pthreads.  Workers are created once at init; a job is
 * a parallel-for over task indices handed out by an atomic counter, the caller taking tasks too.
 *
 * Hand-off: the caller publishes a job by bumping an atomic generation counter; workers spin on it
 * for a bounded time (EST_POOL_SPIN_NS, pause/yield between reads) after their last job, then
 * sleep on a condition variable.  The caller likewise spins on the count of workers still inside
 * the job before sleeping.  So back-to-back jobs (a decoder step is dozens of small products)
 * cost an atomic store and a cache-line transfer instead of a futex wake-up each, and an idle pool
 * sleeps after at most EST_POOL_SPIN_NS of spinning.  Sleeping is race-free by the usual
 * store-then-check pairing (seq_cst): a worker announces n_sleeping before re-reading the
 * generation under the mutex, the caller bumps the generation before reading n_sleeping; the same
 * for the caller's caller_waiting against the workers' pending count.
 *
 * The pool's memory is placed by the caller (the handle's arena): no allocation here after init.
 * est_pool_run must not be called from two threads at once on one pool.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "port.h"

#define EST_POOL_MAX 256
#define EST_POOL_SPIN_NS 100000u /* spin this long for the next job / the job's end, then sleep */
#define EST_POOL_SPIN_CHECK 32   /* reads between clock checks */

struct est_pool {
    /* read-mostly: job description (written by the caller before the generation bump) */
    int n_threads;            /* incl. the caller */
    int n_started;            /* workers actually created */
    est_pool_fn fn;
    void *ctx;
    int n_tasks;
    pthread_t *threads;       /* (n_threads - 1) */
    pthread_mutex_t mu;
    pthread_cond_t wake;      /* sleeping workers wait here for a new generation */
    pthread_cond_t done;      /* the caller sleeps here for pending == 0 (and init for n_ready) */
    int n_ready;              /* workers that reached their loop (under mu) */
    alignas(64) atomic_uint generation; /* bumped per job (and at destroy) */
    atomic_int stop;          /* set at destroy */
    atomic_int n_sleeping;    /* workers blocked (or about to block) on wake */
    atomic_int caller_waiting;/* 1 while the caller blocks on done */
    alignas(64) atomic_int next;     /* next task index to hand out */
    alignas(64) atomic_int pending;  /* workers still inside the current job */
};

/* One spin-loop hint: lets the sibling hyper-thread run and saves power. */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Spin until the generation differs from seen or the spin time is spent; the value last read. */
static unsigned spin_generation(est_pool *p, unsigned seen) {
    uint64_t t0 = 0;
    for (;;) {
        for (int i = 0; i < EST_POOL_SPIN_CHECK; i++) {
            const unsigned g = atomic_load_explicit(&p->generation, memory_order_acquire);
            if (g != seen) return g;
            cpu_relax();
        }
        const uint64_t now = est_port_now_ns();
        if (!t0) t0 = now;
        else if (now - t0 > EST_POOL_SPIN_NS) return seen;
    }
}

/* Spin until no worker is inside the job or the spin time is spent; 1 if they are all out. */
static int spin_pending(est_pool *p) {
    uint64_t t0 = 0;
    for (;;) {
        for (int i = 0; i < EST_POOL_SPIN_CHECK; i++) {
            if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return 1;
            cpu_relax();
        }
        const uint64_t now = est_port_now_ns();
        if (!t0) t0 = now;
        else if (now - t0 > EST_POOL_SPIN_NS) return 0;
    }
}

static void run_tasks(est_pool *p) {
    for (;;) {
        int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->n_tasks) break;
        p->fn(p->ctx, i, p->n_tasks);
    }
}

static void *worker(void *arg) {
    est_pool *p = (est_pool *)arg;
    unsigned seen = 0;
    pthread_mutex_lock(&p->mu);
    p->n_ready++; /* whatever the thread's start-up allocated is done by now */
    pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->mu);
    for (;;) {
        unsigned g = spin_generation(p, seen);
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->n_sleeping, 1);
            while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->n_sleeping, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = g;
        run_tasks(p);
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_waiting)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
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
    atomic_init(&p->generation, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->n_sleeping, 0);
    atomic_init(&p->caller_waiting, 0);
    atomic_init(&p->next, 0);
    atomic_init(&p->pending, 0);
    for (int i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            est_pool_destroy(p);
            return EDGESTT_E_INTERNAL;
        }
        p->n_started++;
    }
    /* Return only when every worker is in its loop: thread start-up (TLS, sanitizer bookkeeping)
     * may allocate, and that must happen inside init, never during a later est_pool_run. */
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
    /* every worker left the previous job (pending reached 0), so the fields are ours to write */
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->n_started, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1); /* seq_cst: publishes the fields above */
    if (atomic_load(&p->n_sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p);
    if (spin_pending(p)) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_waiting, 1);
    while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
    atomic_store(&p->caller_waiting, 0);
    pthread_mutex_unlock(&p->mu);
}

void est_pool_destroy(est_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->generation, 1); /* spinning workers see a change and then stop */
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
    p->n_started = 0;
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
}
