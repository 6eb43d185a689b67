/*
 * test.h - a tiny dependency-free test runner.  Tests register themselves (constructor), run in
 * file order, and the runner's last line is "N passed, M failed".  A failed CHECK prints file,
 * line and what failed, and ends that test.
 */
#ifndef EST_TEST_H
#define EST_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef void (*est_test_fn)(void);
void est_test_register(const char *name, const char *file, est_test_fn fn);
void est_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int est_test_failed(void);

/* Paths under the runner's --data (committed) and --models (generated) directories, written into
 * a per-call static ring of buffers (valid for a few calls). */
const char *est_test_data(const char *rel);
const char *est_test_model(const char *rel);
/* A scratch directory for files a test writes (created by the runner). */
const char *est_test_tmp(const char *rel);
/* A WAV under --data decoded by the library (edgestt_wav_parse / _decode) to mono 16 kHz floats:
 * malloc'd (n + 1 floats), the caller frees it; *n samples.  NULL and *n = 0 if the file is
 * missing or the library refuses it. */
float *est_test_load_wav(const char *rel, size_t *n);

/* Allocation calls (malloc, calloc, realloc, free, posix_memalign, aligned_alloc, memalign) made by
 * this process so far, counted by the interposed allocator in tests/alloc_count.c. */
uint64_t est_test_alloc_calls(void);

/* Seeded RNG for tests (splitmix64); the seed is printed on failure by the runner. */
uint64_t est_test_seed(void);
uint64_t est_test_rand(uint64_t *state);

/* A Whisper reference golden (tests/golden.c): the whole file, NUL-terminated; free(g.text). */
typedef struct gold {
    char *text;
} gold;
/* Load tests/data/golden/whisper_<model>.txt; 0 if missing. */
int gold_load(gold *g, const char *model);
/* Values of KEY (up to cap); the golden's count, or -1 if the key is absent. */
int gold_get(const gold *g, const char *key, double *out, int cap);

#define TEST(name)                                                                               \
    static void name(void);                                                                      \
    __attribute__((constructor)) static void est_reg_##name(void) {                              \
        est_test_register(#name, __FILE__, name);                                                \
    }                                                                                            \
    static void name(void)

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            est_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                               \
            return;                                                                              \
        }                                                                                        \
    } while (0)

#define CHECKF(cond, ...)                                                                        \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            est_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                      \
            return;                                                                              \
        }                                                                                        \
    } while (0)

/* Status equality with both names printed. */
#define CHECK_ST(got, want)                                                                      \
    do {                                                                                         \
        int est_g_ = (got), est_w_ = (want);                                                     \
        if (est_g_ != est_w_) {                                                                  \
            est_test_fail(__FILE__, __LINE__, "%s = %d (%s), want %d (%s)", #got, est_g_,       \
                          edgestt_strerror(est_g_), est_w_, edgestt_strerror(est_w_));          \
            return;                                                                              \
        }                                                                                        \
    } while (0)

#endif
