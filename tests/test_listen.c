/*
 * test_listen.c - live capture: the SPSC sample ring (port/ring.c) under two threads, and the real
 * libasound path of edgestt_capture_* (no mocks): an ALSA configuration written by the test
 * defines a `file` PCM whose infile is a raw recording (slave: the null PCM), selected through
 * ALSA_CONFIG_PATH; the samples that come out of edgestt_capture_read must equal the file, with
 * nothing allocated between open and close.  Also: errors for missing devices and the device list.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgestt.h"
#include "port.h"
#include "test.h"

/* ==== ring ================================================================================ */

TEST(ring_basic) {
    static uint8_t mem[4096];
    CHECK(est_ring_mem_size(1000) <= sizeof mem);
    est_ring *r = est_ring_init(mem, sizeof mem, 1000);
    CHECK(r != NULL);
    CHECK(est_ring_capacity(r) == 1024);
    int16_t in[1500], out[1500];
    for (int i = 0; i < 1500; i++) in[i] = (int16_t)(i * 7 - 3000);
    CHECK(est_ring_write(r, in, 1500) == 1024);   /* only what fits */
    CHECK(est_ring_available(r) == 1024);
    CHECK(est_ring_write(r, in, 1) == 0);
    CHECK(est_ring_read(r, out, 1000) == 1000);
    CHECK(!memcmp(out, in, 1000 * sizeof(int16_t)));
    CHECK(est_ring_write(r, in + 1024, 476) == 476); /* wraps */
    CHECK(est_ring_read(r, out, 1500) == 500);
    CHECK(!memcmp(out, in + 1000, 500 * sizeof(int16_t)));
    CHECK(est_ring_read(r, out, 10) == 0);
    CHECK(est_ring_init(mem, 16, 1000) == NULL);
}

typedef struct ring_job {
    est_ring *r;
    uint64_t n, seed;
} ring_job;

/* Producer: the sequence x_i = (i * 40503) >> 3 in random-sized writes. */
static void *ring_producer(void *arg) {
    ring_job *j = (ring_job *)arg;
    int16_t chunk[300];
    uint64_t i = 0, rng = j->seed;
    while (i < j->n) {
        size_t want = 1 + (size_t)(est_test_rand(&rng) % 300);
        if (want > j->n - i) want = (size_t)(j->n - i);
        for (size_t k = 0; k < want; k++) chunk[k] = (int16_t)(((i + k) * 40503u) >> 3);
        size_t done = 0;
        while (done < want) {
            size_t w = est_ring_write(j->r, chunk + done, want - done);
            if (!w) sched_yield(); /* a full ring: let the reader run (shared or emulated CPUs) */
            done += w;
        }
        i += want;
    }
    return NULL;
}

TEST(ring_two_threads) {
    static uint8_t mem[8192];
    est_ring *r = est_ring_init(mem, sizeof mem, 1000);
    CHECK(r != NULL);
    uint64_t seed = est_test_seed();
    ring_job j = {r, 2000000, seed};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, ring_producer, &j) == 0);
    uint64_t got = 0, bad = UINT64_MAX, rng = seed ^ 0x5eed;
    int16_t buf[257];
    while (got < j.n) {
        size_t max = 1 + (size_t)(est_test_rand(&rng) % 257);
        size_t n = est_ring_read(r, buf, max);
        if (!n) sched_yield();
        for (size_t k = 0; k < n; k++)
            if (buf[k] != (int16_t)(((got + k) * 40503u) >> 3) && bad == UINT64_MAX) bad = got + k;
        got += n;
    }
    pthread_join(t, NULL);
    CHECKF(bad == UINT64_MAX, "seed %llu: sample %llu differs", (unsigned long long)seed, (unsigned long long)bad);
    CHECK(est_ring_available(r) == 0);
}

/* ==== capture through libasound =========================================================== */

/* 1 if the library was built with ALSA; without it (e.g. cross builds with no libasound for the
 * target) every capture call must fail with EDGESTT_E_UNSUPPORTED and say why. */
static int have_alsa(void) {
    size_t b;
    if (edgestt_capture_mem_size(NULL, &b) == EDGESTT_OK) return 1;
    edgestt_capture *c = (edgestt_capture *)&b;
    edgestt_diag d;
    d.msg[0] = 0;
    if (edgestt_capture_open(NULL, NULL, 0, &c, &d) != EDGESTT_E_UNSUPPORTED || c || !strstr(d.msg, "without ALSA"))
        est_test_fail(__FILE__, __LINE__, "no ALSA: open gives '%s'", d.msg);
    else printf("  (built without ALSA: capture calls fail with 'unsupported', as they must)\n");
    return 0;
}

/* Write the raw recording and an ALSA configuration naming it; point ALSA_CONFIG_PATH there.
 * Returns the samples (malloc'd) or NULL. */
static int16_t *setup_alsa(size_t n, uint64_t seed) {
    int16_t *pcm = malloc(n * sizeof *pcm);
    if (!pcm) return NULL;
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) pcm[i] = (int16_t)(est_test_rand(&rng) >> 48);
    char raw[512], conf[512];
    snprintf(raw, sizeof raw, "%s", est_test_tmp("listen_in.s16"));
    snprintf(conf, sizeof conf, "%s", est_test_tmp("listen_asound.conf"));
    FILE *f = fopen(raw, "wb");
    if (!f || fwrite(pcm, sizeof *pcm, n, f) != n) {
        if (f) fclose(f);
        free(pcm);
        return NULL;
    }
    fclose(f);
    f = fopen(conf, "w");
    if (!f) {
        free(pcm);
        return NULL;
    }
    fprintf(f,
            "pcm.testin {\n"
            "  type file\n"
            "  slave.pcm { type null }\n"
            "  file \"/dev/null\"\n"
            "  infile \"%s\"\n"
            "  format raw\n"
            "  hint { show on description \"edge-stt test input\" }\n"
            "}\n"
            "pcm.null { type null hint { show on description \"Discard all samples\" } }\n",
            raw);
    fclose(f);
    setenv("ALSA_CONFIG_PATH", conf, 1);
    return pcm;
}

TEST(capture_file_pcm) {
    if (!have_alsa()) return;
    const size_t n = 16000 + 12345; /* ~1.8 s: the 100 ms ring wraps many times */
    uint64_t seed = est_test_seed();
    int16_t *want = setup_alsa(n, seed);
    CHECK(want != NULL);
    int16_t *got = calloc(n, sizeof *got);
    edgestt_capture_params cp;
    edgestt_capture_params_default(&cp);
    cp.device = "testin";
    cp.ring_ms = 100;
    cp.wait_when_full = 1; /* a file source: wait for the reader instead of dropping */
    size_t bytes = 0;
    CHECK_ST(edgestt_capture_mem_size(&cp, &bytes), EDGESTT_OK);
    void *mem = malloc(bytes);
    edgestt_capture *c = NULL;
    edgestt_diag d;
    d.msg[0] = 0;
    int st = edgestt_capture_open(&cp, mem, bytes, &c, &d);
    if (st) {
        free(want), free(got), free(mem);
        CHECKF(0, "open: %s", d.msg);
    }
    uint64_t a0 = est_test_alloc_calls();
    size_t have = 0;
    int reads = 0, fails = 0;
    while (have < n && reads < 100000) {
        size_t k = 0;
        size_t max = n - have < 700 ? n - have : 700;
        if (edgestt_capture_read(c, got + have, max, &k, 1000) != EDGESTT_OK) fails++;
        have += k;
        reads++;
        if (!k) break;
    }
    uint64_t a1 = est_test_alloc_calls();
    edgestt_capture_stats cs;
    edgestt_capture_get_stats(c, &cs);
    edgestt_capture_close(c);
    size_t first_bad = n;
    for (size_t i = 0; i < have && first_bad == n; i++)
        if (got[i] != want[i]) first_bad = i;
    free(want), free(got), free(mem);
    CHECKF(have == n && !fails, "captured %zu of %zu samples (%d failed reads)", have, n, fails);
    CHECKF(first_bad == n, "seed %llu: sample %zu differs from the file", (unsigned long long)seed, first_bad);
    CHECK(cs.frames >= n);
    CHECK(cs.dropped == 0);
    CHECK(cs.period_frames > 0 && cs.buffer_frames >= cs.period_frames);
    CHECKF(a1 == a0, "%llu allocations while capturing", (unsigned long long)(a1 - a0));
}

TEST(capture_errors) {
    if (!have_alsa()) return;
    int16_t *pcm = setup_alsa(1000, 1);
    CHECK(pcm != NULL);
    free(pcm);
    edgestt_capture_params cp;
    edgestt_capture_params_default(&cp);
    edgestt_capture *c = NULL;
    edgestt_diag d;
    cp.device = "nosuchdevice";
    d.msg[0] = 0;
    CHECK_ST(edgestt_capture_open(&cp, NULL, 0, &c, &d), EDGESTT_E_NOT_FOUND);
    CHECK(c == NULL);
    CHECKF(strstr(d.msg, "nosuchdevice") && !strchr(d.msg, '\n'), "diag '%s'", d.msg);
    cp.device = "hw:7,0";
    d.msg[0] = 0;
    int st = edgestt_capture_open(&cp, NULL, 0, &c, &d);
    CHECKF(st == EDGESTT_E_NOT_FOUND && strstr(d.msg, "hw:7,0"), "hw:7,0: %d '%s'", st, d.msg);
    /* bad parameters and a short buffer */
    cp.device = "testin";
    cp.period_ms = 0;
    size_t bytes;
    CHECK_ST(edgestt_capture_mem_size(&cp, &bytes), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_capture_open(&cp, NULL, 0, &c, &d), EDGESTT_E_INVALID_ARG);
    edgestt_capture_params_default(&cp);
    cp.device = "testin";
    CHECK_ST(edgestt_capture_mem_size(&cp, &bytes), EDGESTT_OK);
    static uint8_t small[256];
    CHECK_ST(edgestt_capture_open(&cp, small, sizeof small, &c, &d), EDGESTT_E_NOMEM);
    CHECK(c == NULL);
}

typedef struct dev_seen {
    int testin, null, n;
} dev_seen;

static int on_device(void *user, const char *name, const char *desc) {
    dev_seen *s = (dev_seen *)user;
    s->n++;
    if (!strcmp(name, "testin") && !strcmp(desc, "edge-stt test input")) s->testin = 1;
    if (!strcmp(name, "null")) s->null = 1;
    return 0;
}

TEST(capture_devices) {
    if (!have_alsa()) return;
    int16_t *pcm = setup_alsa(100, 2);
    CHECK(pcm != NULL);
    free(pcm);
    dev_seen s = {0, 0, 0};
    edgestt_diag d;
    d.msg[0] = 0;
    CHECK_ST(edgestt_capture_devices(on_device, &s, &d), EDGESTT_OK);
    CHECKF(s.testin && s.null, "%d devices, testin %d, null %d", s.n, s.testin, s.null);
}
