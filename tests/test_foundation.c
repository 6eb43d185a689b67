/*
 * test_foundation.c - arena, half precision, diagnostics formatter, port (mapping, read fallback,
 * clock, thread pool, CPU features) and the allocation counter itself.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "../port/port.h"
#include "test.h"

TEST(alloc_counter_sees_malloc) {
    uint64_t before = est_test_alloc_calls();
    void *volatile p = malloc(17);
    free(p);
    CHECKF(est_test_alloc_calls() - before == 2, "counted %llu calls for malloc+free",
           (unsigned long long)(est_test_alloc_calls() - before));
}

TEST(arena_measure_equals_place) {
    est_arena m, a;
    static uint8_t buf[4096];
    void *p;
    est_arena_init_measure(&m);
    CHECK_ST(est_arena_alloc(&m, 10, &p), EDGESTT_OK);
    CHECK(p == NULL);
    CHECK_ST(est_arena_array(&m, 3, 100, &p), EDGESTT_OK);
    CHECK_ST(est_arena_scratch(&m, 5, &p), EDGESTT_OK);
    size_t need = est_arena_required(&m);
    CHECK(need == 64 + 320 + 64 + 63);
    est_arena_init(&a, buf + 1, need); /* misaligned start on purpose */
    CHECK_ST(est_arena_alloc(&a, 10, &p), EDGESTT_OK);
    CHECK(((uintptr_t)p & 63) == 0);
    CHECK_ST(est_arena_array(&a, 3, 100, &p), EDGESTT_OK);
    CHECK_ST(est_arena_scratch(&a, 5, &p), EDGESTT_OK);
    CHECK(((uintptr_t)p & 63) == 0);
    CHECK_ST(est_arena_scratch(&a, 1, &p), EDGESTT_E_NOMEM);
    CHECK(p == NULL);
}

TEST(arena_every_size_below_plan_fails) {
    static uint8_t buf[2048];
    est_arena m;
    void *p;
    est_arena_init_measure(&m);
    est_arena_alloc(&m, 100, &p);
    est_arena_array(&m, 7, 33, &p);
    est_arena_scratch(&m, 300, &p);
    size_t need = est_arena_required(&m);
    for (size_t n = 0; n <= need; n++) {
        est_arena a;
        est_arena_init(&a, buf + 64 - (n % 64), n); /* every start alignment too */
        int st = est_arena_alloc(&a, 100, &p);
        if (!st) st = est_arena_array(&a, 7, 33, &p);
        if (!st) st = est_arena_scratch(&a, 300, &p);
        if (n == need) CHECKF(st == EDGESTT_OK, "planned size %zu failed", n);
        else if (st == EDGESTT_OK) CHECKF(a.lo + a.hi <= a.cap, "overrun at size %zu", n);
    }
    est_arena a;
    est_arena_init(&a, NULL, 0);
    CHECK_ST(est_arena_alloc(&a, 1, &p), EDGESTT_E_NOMEM);
    CHECK_ST(est_arena_array(&a, SIZE_MAX / 2, 4, &p), EDGESTT_E_NOMEM);
}

TEST(half_roundtrip_and_rounding) {
    /* every half value converts to float and back unchanged (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = est_f16_to_f32((uint16_t)h);
        uint16_t back = est_f32_to_f16(f);
        if (isnan(f)) CHECKF((back & 0x7c00) == 0x7c00 && (back & 0x3ff), "nan %x", h);
        else CHECKF(back == h, "half %x -> %g -> %x", h, (double)f, back);
    }
    CHECK(est_f32_to_f16(1.0f) == 0x3c00);
    CHECK(est_f32_to_f16(65520.0f) == 0x7c00);          /* rounds up to inf */
    CHECK(est_f32_to_f16(65519.0f) == 0x7bff);
    CHECK(est_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00); /* tie to even */
    CHECK(est_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
    CHECK(est_f32_to_f16(5.9604645e-8f) == 0x0001);     /* smallest subnormal */
    CHECK(est_f32_to_f16(2.9802322e-8f) == 0x0000);     /* half of it: tie to even -> 0 */
    CHECK(est_f32_to_f16(-0.0f) == 0x8000);
}

TEST(diag_formatter) {
    char b[64];
    est_fmt(b, sizeof b, "%s=%d %u %zu %llx %.*s %lld%%", "k", -42, 7u, (size_t)9,
            (unsigned long long)0xabc, 3, "tensor", (long long)INT64_MIN);
    CHECKF(!strcmp(b, "k=-42 7 9 abc ten -9223372036854775808%"), "got '%s'", b);
    char s[5];
    size_t n = est_fmt(s, sizeof s, "%s", "truncated");
    CHECK(n == 4 && !strcmp(s, "trun"));
    edgestt_diag d;
    CHECK_ST(est_diag(&d, EDGESTT_E_FORMAT, "bad %s", "magic"), EDGESTT_E_FORMAT);
    CHECK(!strcmp(d.msg, "bad magic"));
    CHECK_ST(est_diag(NULL, EDGESTT_E_IO, "x"), EDGESTT_E_IO);
}

TEST(port_map_and_read_fallback) {
    const char *path = est_test_tmp("map.bin");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    for (int i = 0; i < 1000; i++) fputc(i & 0xff, f);
    fclose(f);
    est_map m;
    edgestt_diag d;
    CHECK_ST(est_port_map_file(path, &m, &d), EDGESTT_OK);
    CHECK(m.size == 1000 && m.mapped && m.data[999] == (999 & 0xff));
    est_port_unmap(&m);
    static uint8_t buf[1000];
    size_t got = 0;
    CHECK_ST(est_port_read_file(path, buf, sizeof buf, &got, &d), EDGESTT_OK);
    CHECK(got == 1000 && buf[500] == (500 & 0xff));
    CHECK_ST(est_port_read_file(path, buf, 999, &got, &d), EDGESTT_E_NOMEM);
    CHECK_ST(est_port_map_file(est_test_tmp("does-not-exist"), &m, &d), EDGESTT_E_IO);
    CHECKF(strstr(d.msg, "no such file") != NULL, "diag '%s'", d.msg);
    CHECK_ST(est_port_map_file(est_test_tmp(""), &m, &d), EDGESTT_E_IO); /* a directory */
}

TEST(port_clock_monotonic) {
    uint64_t a = est_port_now_ns(), b = est_port_now_ns();
    CHECK(b >= a && a > 0);
}

static void pool_task(void *ctx, int i, int n) {
    atomic_int *hits = (atomic_int *)ctx;
    if (i >= 0 && i < n) atomic_fetch_add(&hits[i], 1);
}

TEST(port_pool_runs_every_task_once_without_allocating) {
    static uint8_t mem[8192];
    for (int nt = 1; nt <= 4; nt++) {
        est_pool *p;
        CHECK(est_pool_size(nt) <= sizeof mem);
        CHECK_ST(est_pool_init(&p, mem, sizeof mem, nt), EDGESTT_OK);
        CHECK(est_pool_threads(p) == nt);
        static atomic_int hits[257];
        uint64_t before = est_test_alloc_calls();
        for (int rep = 0; rep < 50; rep++) {
            int n = 1 + rep * 5 % 257;
            for (int i = 0; i < n; i++) atomic_store(&hits[i], 0);
            est_pool_run(p, pool_task, hits, n);
            for (int i = 0; i < n; i++) CHECKF(atomic_load(&hits[i]) == 1, "threads %d task %d", nt, i);
        }
        CHECK(est_test_alloc_calls() == before);
        est_pool_destroy(p);
    }
    est_pool *p;
    CHECK_ST(est_pool_init(&p, mem, 8, 2), EDGESTT_E_NOMEM);
    CHECK_ST(est_pool_init(&p, mem, sizeof mem, 0), EDGESTT_E_INVALID_ARG);
}

TEST(port_cpu_features_consistent) {
    uint32_t f = est_port_cpu_features();
#if defined(__aarch64__)
    CHECK(f & EST_CPU_NEON); /* ASIMD is mandatory on ARMv8-A Linux */
#elif defined(__x86_64__)
    if (f & EST_CPU_AVX2) CHECK(f & EST_CPU_FMA || 1);
    CHECK((f & (EST_CPU_NEON | EST_CPU_DOTPROD | EST_CPU_I8MM)) == 0);
#endif
    (void)f;
}

TEST(strerror_covers_every_code) {
    for (int s = EDGESTT_E_INTERNAL; s <= 0; s++) {
        const char *m = edgestt_strerror(s);
        CHECK(m && *m && strcmp(m, "unknown status") != 0);
    }
    CHECK(!strcmp(edgestt_strerror(12345), "unknown status"));
}
