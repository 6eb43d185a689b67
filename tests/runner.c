/*
 * runner.c - main() of the test binary.  Usage:
 *   edgestt-test [--data DIR] [--models DIR] [--tmp DIR] [--seed N] [-v] [FILTER...]
 * Runs every registered test whose name contains one of the FILTERs (all without filters).
 * The last line printed is always "N passed, M failed"; the exit status is non-zero on failure.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/edgestt.h"
#include "test.h"

#define MAX_TESTS 1024

static struct {
    const char *name, *file;
    est_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int cur_failed;
static const char *cur_name;
static const char *data_dir = "tests/data", *models_dir = "build/testmodels";
static char tmp_dir[512];
static uint64_t seed;
static int verbose;

void est_test_register(const char *name, const char *file, est_test_fn fn) {
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].file = file;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void est_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stdout, "FAIL %s (%s:%d, seed %llu): ", cur_name, file, line, (unsigned long long)seed);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    cur_failed = 1;
}

int est_test_failed(void) { return cur_failed; }

static const char *join(const char *dir, const char *rel) {
    static char ring[8][1024];
    static int k;
    char *b = ring[k++ & 7];
    snprintf(b, sizeof ring[0], "%s/%s", dir, rel);
    return b;
}

const char *est_test_data(const char *rel) { return join(data_dir, rel); }
const char *est_test_model(const char *rel) { return join(models_dir, rel); }
const char *est_test_tmp(const char *rel) { return join(tmp_dir, rel); }

/* Read a WAV under --data, parse and decode it with the library (scratch as it asks). */
float *est_test_load_wav(const char *rel, size_t *n) {
    *n = 0;
    FILE *f = fopen(est_test_data(rel), "rb");
    if (!f) return NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    unsigned char *img = len > 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)len) : NULL;
    if (img && fread(img, 1, (size_t)len, f) != (size_t)len) free(img), img = NULL;
    fclose(f);
    float *pcm = NULL;
    void *scratch = NULL;
    size_t scratch_bytes = 0;
    edgestt_wav_info info;
    if (img && edgestt_wav_parse(img, (size_t)len, &info, NULL) == EDGESTT_OK &&
        edgestt_wav_scratch_size(&info, &scratch_bytes) == EDGESTT_OK && info.n_samples_16k < SIZE_MAX / 8) {
        pcm = malloc(((size_t)info.n_samples_16k + 1) * sizeof(float));
        scratch = scratch_bytes ? malloc(scratch_bytes) : NULL;
        if (pcm && (scratch || !scratch_bytes) &&
            edgestt_wav_decode(img, (size_t)len, &info, pcm, scratch, scratch_bytes, NULL) == EDGESTT_OK)
            *n = (size_t)info.n_samples_16k;
        else free(pcm), pcm = NULL;
    }
    free(scratch);
    free(img);
    return pcm;
}

uint64_t est_test_seed(void) { return seed; }

uint64_t est_test_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv) {
    const char *filters[64];
    int n_filters = 0;
    seed = (uint64_t)time(NULL);
    const char *env_seed = getenv("EDGESTT_TEST_SEED");
    if (env_seed) seed = strtoull(env_seed, NULL, 10);
    const char *tmp = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data_dir = argv[++i];
        else if (!strcmp(argv[i], "--models") && i + 1 < argc) models_dir = argv[++i];
        else if (!strcmp(argv[i], "--tmp") && i + 1 < argc) tmp = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (n_filters < 64) filters[n_filters++] = argv[i];
    }
    if (tmp) snprintf(tmp_dir, sizeof tmp_dir, "%s", tmp);
    else snprintf(tmp_dir, sizeof tmp_dir, "/tmp/edgestt-test.%d", (int)getpid());
    mkdir(tmp_dir, 0700);
    printf("edge-stt %s tests, seed %llu\n", EDGESTT_VERSION, (unsigned long long)seed);
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        int run = n_filters == 0;
        for (int f = 0; f < n_filters && !run; f++) run = strstr(tests[i].name, filters[f]) != NULL;
        if (!run) continue;
        cur_name = tests[i].name;
        cur_failed = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (cur_failed) failed++;
        else passed++;
        const double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (verbose) printf("%s %s (%.2f s)\n", cur_failed ? "failed" : "ok    ", tests[i].name, secs);
        else if (cur_failed) printf("failed %s\n", tests[i].name);
        fflush(stdout);
    }
    if (!tmp) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0) { /* leftover temp files are harmless */ }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
