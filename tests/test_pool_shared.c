/*
 * test_pool_shared.c - one thread pool for two transcription states (edgestt_pool,
 * edgestt_full_params.pool), the hybrid's fast and accurate models: the same text as with a pool
 * per state, one pool's worth of threads in the process (/proc/self/task counted), no allocation
 * after init, a state planned without a pool of its own; and a hybrid stream, which shares one
 * pool between its two states, adds decode.n_threads - 1 threads, not twice that.  Models: the
 * generated mini char-vocabulary models (5 s window; random weights, deterministic text).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgestt.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define EST_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EST_POOL_ASAN 1
#endif
#endif
#ifndef EST_POOL_ASAN
#define EST_POOL_ASAN 0
#endif

#define FAST_MODEL "mini-char-q8_0.gguf"
#define ACC_MODEL "mini-char-f32.gguf"
#define VAD_MODEL "../../models/silero-vad-v5.gguf"
#define THREADS 3

/* Threads of this process (entries of /proc/self/task), or -1.  With want >= 0, the count once
 * exited threads are gone: a joined thread's task can outlive the join for a moment (the kernel
 * clears the tid before the task leaves /proc; qemu-user's guest threads linger longer), so it
 * waits up to 5 s for the count to reach want and returns the last count. */
static int count_threads(int want) {
    int n = -1;
    for (int i = 0; i <= 500; i++) {
        if (i) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        DIR *d = opendir("/proc/self/task");
        if (!d) return -1;
        n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
        closedir(d);
        if (want < 0 || n == want) break;
    }
    return n;
}

static void params(edgestt_full_params *p) {
    edgestt_full_params_default(p);
    p->n_threads = THREADS;
    p->beam_size = 0;
    p->best_of = 1;
    p->temperature_inc = 0.0f;
    p->sample_len = 8;
    p->language = "en";
}

/* Transcribe pcm with both states into text[0], text[1]; 0 ok. */
static int run_both(edgestt_state *s[2], const float *pcm, size_t n, const edgestt_full_params *p, char text[2][512]) {
    for (int k = 0; k < 2; k++) {
        size_t len;
        int st = edgestt_transcribe(s[k], pcm, n, p);
        if (st && st != EDGESTT_E_LIMIT) return st;
        if ((st = edgestt_full_text(s[k], text[k], 512, &len)) != 0 && st != EDGESTT_E_NOMEM) return st;
    }
    return 0;
}

TEST(pool_shared_by_two_states) {
    edgestt_model *m[2] = {NULL, NULL};
    size_t n = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    if (n > 16000 * 5) n = 16000 * 5;
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.beam_size = 1;
    int st = pcm ? 0 : -100;
    if (!st) st = edgestt_open(est_test_model(FAST_MODEL), &mp, NULL, 0, &m[0], NULL);
    if (!st) st = edgestt_open(est_test_model(ACC_MODEL), &mp, NULL, 0, &m[1], NULL);
    edgestt_full_params p;
    params(&p);
    const int t0 = count_threads(-1);
    /* a pool per state */
    edgestt_state *s[2] = {NULL, NULL};
    char own[2][512] = {"", ""}, shared[2][512] = {"", ""};
    size_t bytes_own = 0, bytes_shared = 0;
    if (!st) st = edgestt_state_mem_size(m[0], &p, &bytes_own, NULL);
    for (int k = 0; !st && k < 2; k++) st = edgestt_state_init(m[k], &p, NULL, 0, &s[k], NULL);
    const int t_own = count_threads(-1);
    if (!st) st = run_both(s, pcm, n, &p, own);
    for (int k = 0; k < 2; k++) edgestt_state_free(s[k]), s[k] = NULL;
    const int t_after_own = count_threads(t0);
    /* one pool for both */
    edgestt_pool *pool = NULL;
    if (!st) st = edgestt_pool_create(THREADS, NULL, 0, &pool, NULL);
    const int t_pool = count_threads(-1);
    edgestt_full_params ps = p;
    ps.pool = pool;
    if (!st) st = edgestt_state_mem_size(m[0], &ps, &bytes_shared, NULL);
    for (int k = 0; !st && k < 2; k++) st = edgestt_state_init(m[k], &ps, NULL, 0, &s[k], NULL);
    const int t_shared = count_threads(-1);
    uint64_t a0 = est_test_alloc_calls();
    if (!st) st = run_both(s, pcm, n, &p, shared);
    uint64_t a1 = est_test_alloc_calls();
    for (int k = 0; k < 2; k++) edgestt_state_free(s[k]);
    const int t_states_gone = count_threads(-1);
    const int nth = edgestt_pool_threads(pool);
    edgestt_pool_destroy(pool);
    const int t_end = count_threads(t0);
    edgestt_close(m[0]);
    edgestt_close(m[1]);
    free(pcm);
    printf("  threads: %d at start, %d with a pool per state, %d with one shared pool (%d after the states, %d at "
           "the end); state plan %zu bytes own pool, %zu shared\n",
           t0, t_own, t_shared, t_states_gone, t_end, bytes_own, bytes_shared);
    printf("  text: own '%s' / '%s', shared '%s' / '%s'\n", own[0], own[1], shared[0], shared[1]);
    CHECK_ST(st, EDGESTT_OK);
    CHECK(t0 > 0);
    CHECKF(t_own - t0 == 2 * (THREADS - 1), "a pool per state: %d threads added", t_own - t0);
    CHECK(t_after_own == t0);
    CHECKF(t_pool - t0 == THREADS - 1 && t_shared == t_pool, "shared: %d threads for the pool, %d with the states",
           t_pool - t0, t_shared - t0);
    CHECK(t_states_gone == t_pool && t_end == t0);
    CHECK(nth == THREADS);
    CHECKF(!strcmp(own[0], shared[0]) && !strcmp(own[1], shared[1]) && own[0][0], "texts differ");
    CHECKF(a1 == a0, "%llu allocations while transcribing", (unsigned long long)(a1 - a0));
    CHECK(bytes_shared < bytes_own);
}

TEST(pool_params) {
    size_t b1 = 0, b4 = 0;
    edgestt_pool *p = NULL;
    CHECK_ST(edgestt_pool_mem_size(1, &b1), EDGESTT_OK);
    CHECK_ST(edgestt_pool_mem_size(4, &b4), EDGESTT_OK);
    CHECK(b4 >= b1 && b1 > 0);
    CHECK_ST(edgestt_pool_mem_size(0, &b1), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_pool_create(0, NULL, 0, &p, NULL), EDGESTT_E_INVALID_ARG);
    unsigned char *mem = malloc(b4);
    CHECK_ST(edgestt_pool_create(4, mem, b4 - 1, &p, NULL), EDGESTT_E_NOMEM);
    uint64_t a0 = est_test_alloc_calls();
    int st = edgestt_pool_create(4, mem, b4, &p, NULL); /* the caller's memory: no allocation here */
    uint64_t a1 = est_test_alloc_calls();
    int nth = edgestt_pool_threads(p);
    edgestt_pool_destroy(p);
    free(mem);
    CHECK_ST(st, EDGESTT_OK);
    CHECK(nth == 4);
    /* the library allocates nothing; under ASan the C library's own TLS set-up of each new thread
     * goes through the sanitizer's malloc and is counted, so there only the natively built suite asserts it */
#if EST_POOL_ASAN
    printf("  pool create under ASan: %llu allocator calls (thread start-up inside libc; not asserted)\n",
           (unsigned long long)(a1 - a0));
#else
    CHECKF(a1 == a0, "%llu allocations creating a pool in the caller's memory", (unsigned long long)(a1 - a0));
#endif
    CHECK(edgestt_pool_threads(NULL) == 0);
    edgestt_pool_destroy(NULL);
}

/* A hybrid stream (fast and accurate state) with decode.n_threads 3: 2 threads more, not 4. */
TEST(stream_hybrid_one_pool) {
    edgestt_model *m[2] = {NULL, NULL};
    edgestt_vad *vad = NULL;
    size_t n = 0;
    float *pcm = est_test_load_wav("vad_pauses.wav", &n);
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.beam_size = 1;
    int st = pcm ? 0 : -100;
    if (!st) st = edgestt_open(est_test_model(FAST_MODEL), &mp, NULL, 0, &m[0], NULL);
    if (!st) st = edgestt_open(est_test_model(ACC_MODEL), &mp, NULL, 0, &m[1], NULL);
    if (!st) st = edgestt_vad_open(est_test_data(VAD_MODEL), NULL, 0, &vad, NULL);
    edgestt_stream_params sp;
    edgestt_stream_params_default(&sp);
    sp.decode.n_threads = THREADS;
    sp.decode.sample_len = 4;
    sp.decode.language = "en";
    const int t0 = count_threads(-1);
    edgestt_stream *s = NULL;
    if (!st) st = edgestt_stream_init(m[0], m[1], vad, &sp, NULL, 0, &s, NULL);
    const int t1 = count_threads(-1);
    if (!st) st = edgestt_stream_warmup(s);
    int finals = 0, partials = 0, models = 0;
    uint64_t a0 = est_test_alloc_calls();
    for (size_t at = 0; !st && at < n && at < 16000 * 3;) {
        size_t used = 0, piece = n - at < 2000 ? n - at : 2000;
        edgestt_stream_event ev;
        st = edgestt_stream_push(s, pcm + at, NULL, piece, &used, &ev);
        at += used;
        finals += ev.type == EDGESTT_EVENT_FINAL, partials += ev.type == EDGESTT_EVENT_PARTIAL;
        if (ev.type != EDGESTT_EVENT_NONE) models |= 1 << ev.model;
    }
    uint64_t a1 = est_test_alloc_calls();
    edgestt_stream_free(s);
    const int t2 = count_threads(t0);
    edgestt_vad_close(vad);
    edgestt_close(m[0]);
    edgestt_close(m[1]);
    free(pcm);
    printf("  hybrid stream: %d threads added (n_threads %d), %d finals, %d partials\n", t1 - t0, THREADS, finals,
           partials);
    CHECK_ST(st, EDGESTT_OK);
    CHECKF(t1 - t0 == THREADS - 1, "%d threads added by the stream", t1 - t0);
    CHECK(t2 == t0);
    CHECKF(finals == 1 && partials > 0 && models == 3, "%d finals, %d partials, models %d", finals, partials, models);
    CHECK(a1 == a0);
}
