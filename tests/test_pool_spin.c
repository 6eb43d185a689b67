/*
 * test_pool_spin.c - the port pool's hand-offs (port/pool_pthread.c): workers spin for a bounded
 * time between jobs, then sleep; the caller spins, then sleeps, on the job's end.  Back-to-back
 * jobs, jobs after the workers have gone to sleep, and jobs whose tasks outlast the caller's spin
 * each run every task exactly once, with each task's writes visible to the caller afterwards, and
 * allocate nothing.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <time.h>

#include "../port/port.h"
#include "test.h"

#define NT_MAX 97

typedef struct {
    atomic_int hits[NT_MAX];
    int value[NT_MAX];     /* plain writes by the tasks, read by the caller after the run */
    int round;
    int slow_task;         /* -1, or a task that busy-waits slow_ns */
    uint64_t slow_ns;
} spin_job;

static void spin_task(void *ctx, int i, int n) {
    spin_job *j = (spin_job *)ctx;
    if (i < 0 || i >= n || n > NT_MAX) return;
    atomic_fetch_add(&j->hits[i], 1);
    j->value[i] = j->round * 1000 + i;
    if (i == j->slow_task) {
        const uint64_t t0 = est_port_now_ns();
        while (est_port_now_ns() - t0 < j->slow_ns) {
        }
    }
}

static void sleep_us(long us) {
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

TEST(port_pool_spin_then_sleep_handoffs) {
    static uint8_t mem[8192] __attribute__((aligned(64)));
    static spin_job j;
    for (int nt = 2; nt <= 3; nt++) {
        est_pool *p;
        CHECK(est_pool_size(nt) <= sizeof mem);
        CHECK_ST(est_pool_init(&p, mem, sizeof mem, nt), EDGESTT_OK);
        const uint64_t before = est_test_alloc_calls();
        int bad = 0;
        for (int r = 0; r < 400 && !bad; r++) {
            const int n = 2 + (r * 7) % (NT_MAX - 1);
            j.round = r;
            j.slow_task = r % 10 == 3 ? r % n : -1; /* outlasts the caller's spin: it sleeps */
            j.slow_ns = 400000;
            for (int i = 0; i < n; i++) {
                atomic_store(&j.hits[i], 0);
                j.value[i] = -1;
            }
            est_pool_run(p, spin_task, &j, n);
            for (int i = 0; i < n && !bad; i++) {
                bad = atomic_load(&j.hits[i]) != 1 || j.value[i] != r * 1000 + i;
                CHECKF(!bad, "threads %d round %d task %d: hits %d value %d", nt, r, i, atomic_load(&j.hits[i]),
                       j.value[i]);
            }
            if (r % 25 == 24) sleep_us(2000); /* past the workers' spin: they sleep, then are woken */
            else if (r % 25 == 12) sleep_us(50); /* inside it: they are still spinning */
        }
        CHECK(est_test_alloc_calls() == before);
        est_pool_destroy(p);
    }
}
