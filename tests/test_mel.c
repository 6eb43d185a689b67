/*
 * test_mel.c - Whisper log-mel (core/mel.c) against the PyTorch goldens written by
 * tests/reference/mel_ref.py (tests/data/golden/README.md), against a naive double DFT on
 * random signals, and its planning, chunking and argument contracts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/mel.h"
#include "../port/port.h"
#include "test.h"

static const double PI = 3.14159265358979323846;

/* ---- golden files: "EGLD", u32 version 1, u32 kind, u32 n_mels, u32 frame0, u32 count,
 * u32 window frames (or 201), f32 window max; then the body ---------------------------------- */
typedef struct golden {
    uint32_t kind, n_mels, frame0, count, window;
    float max;
    void *body;
    size_t body_bytes;
} golden;

static int load_golden(const char *name, uint32_t kind, golden *g) {
    char rel[128];
    snprintf(rel, sizeof rel, "golden/%s", name);
    FILE *f = fopen(est_test_data(rel), "rb");
    if (!f) return 0;
    uint8_t h[32];
    int ok = fread(h, 1, 32, f) == 32 && memcmp(h, "EGLD", 4) == 0;
    uint32_t v[7];
    memcpy(v, h + 4, 28);
    ok = ok && v[0] == 1 && v[1] == kind;
    g->kind = v[1];
    g->n_mels = v[2];
    g->frame0 = v[3];
    g->count = v[4];
    g->window = v[5];
    memcpy(&g->max, &v[6], 4);
    g->body_bytes = kind == 1 ? (size_t)g->n_mels * g->count * 4 : (size_t)g->count * 8;
    g->body = malloc(g->body_bytes);
    ok = ok && fread(g->body, 1, g->body_bytes, f) == g->body_bytes;
    fclose(f);
    if (!ok) free(g->body);
    return ok;
}

/* jfk.wav through the public WAV reader (16 kHz mono: no scratch). */
static float *load_jfk(size_t *n) {
    FILE *f = fopen(est_test_data("jfk.wav"), "rb");
    if (!f) return NULL;
    static uint8_t img[400000];
    size_t len = fread(img, 1, sizeof img, f);
    fclose(f);
    edgestt_wav_info info;
    if (edgestt_wav_parse(img, len, &info, NULL) || info.sample_rate != 16000) return NULL;
    float *x = malloc(info.n_samples_16k * sizeof(float));
    if (edgestt_wav_decode(img, len, &info, x, NULL, 0, NULL)) { free(x); return NULL; }
    *n = info.n_samples_16k;
    return x;
}

/* Filters as a model file holds them: possibly unaligned (one byte in). */
static uint8_t *filters_unaligned(int n_mels) {
    float *f = malloc((size_t)n_mels * EST_MEL_N_BINS * sizeof(float));
    uint8_t *u = malloc((size_t)n_mels * EST_MEL_N_BINS * sizeof(float) + 1);
    est_mel_filters_slaney(n_mels, f);
    memcpy(u + 1, f, (size_t)n_mels * EST_MEL_N_BINS * sizeof(float));
    free(f);
    return u;
}

TEST(mel_filters_match_librosa_reference) {
    static const int mels[] = {80, 128};
    for (int i = 0; i < 2; i++) {
        golden g;
        char name[32];
        snprintf(name, sizeof name, "melfilt%d.egld", mels[i]);
        CHECKF(load_golden(name, 2, &g), "cannot read golden %s", name);
        CHECK(g.n_mels == (uint32_t)mels[i] && g.window == EST_MEL_N_BINS);
        size_t total = (size_t)mels[i] * EST_MEL_N_BINS;
        float *c = malloc(total * sizeof(float)), *ref = calloc(total, sizeof(float));
        est_mel_filters_slaney(mels[i], c);
        for (uint32_t k = 0; k < g.count; k++) {
            uint32_t idx;
            float v;
            memcpy(&idx, (uint8_t *)g.body + 8 * k, 4);
            memcpy(&v, (uint8_t *)g.body + 8 * k + 4, 4);
            CHECK(idx < total);
            ref[idx] = v;
        }
        double maxrel = 0;
        int zero_mismatch = 0;
        for (size_t k = 0; k < total; k++) {
            if ((c[k] == 0) != (ref[k] == 0)) zero_mismatch++;
            else if (ref[k] != 0) maxrel = fmax(maxrel, fabs(c[k] - ref[k]) / ref[k]);
        }
        printf("  mel filters %d: %u non-zero, max rel diff vs numpy/librosa %.2e\n", mels[i], g.count, maxrel);
        free(c);
        free(ref);
        free(g.body);
        CHECKF(zero_mismatch == 0, "%d: %d entries zero in one and not the other", mels[i], zero_mismatch);
        CHECKF(maxrel < 1e-6, "%d: max rel diff %g", mels[i], maxrel);
    }
}

/* One golden case: raw values (<= 1e-4), the window max, normalised values (<= 1e-3) and, past the
 * audio, the floor value exactly. */
static void check_jfk(int n_mels, const char *name) {
    golden g;
    CHECKF(load_golden(name, 1, &g), "cannot read golden %s", name);
    CHECK(g.n_mels == (uint32_t)n_mels && g.window == 3000 && g.frame0 + g.count <= 3000);
    size_t n;
    float *x = load_jfk(&n);
    CHECK(x != NULL && n == 176000);
    uint8_t *filt = filters_unaligned(n_mels);
    const int nf = 3000;
    size_t sb = est_log_mel_scratch_size(n_mels, nf);
    void *scratch = malloc(sb);
    float *raw = malloc((size_t)n_mels * nf * sizeof(float)), *norm = malloc((size_t)n_mels * nf * sizeof(float));
    float mx = -INFINITY;
    uint64_t allocs = est_test_alloc_calls(), t0 = est_port_now_ns();
    CHECK_ST(est_log_mel_raw(x, n, 0, nf, filt + 1, n_mels, raw, nf, &mx, scratch, sb), EDGESTT_OK);
    uint64_t t1 = est_port_now_ns();
    CHECK_ST(est_log_mel(x, n, filt + 1, n_mels, nf, norm, scratch, sb), EDGESTT_OK);
    CHECK(est_test_alloc_calls() == allocs);
    const float *ref = g.body; /* (n_mels, count) */
    double eraw = 0, enorm = 0;
    for (int m = 0; m < n_mels; m++) {
        for (uint32_t f = 0; f < g.count; f++) {
            double r = ref[(size_t)m * g.count + f];
            double rn = (fmax(r, (double)g.max - 8.0) + 4.0) / 4.0;
            eraw = fmax(eraw, fabs(raw[(size_t)m * nf + g.frame0 + f] - r));
            enorm = fmax(enorm, fabs(norm[(size_t)m * nf + g.frame0 + f] - rn));
        }
    }
    /* past the audio (frame 1102 on: every sample of the frame is padding) raw is -10 exactly */
    const float floorv = (mx - 8.0f + 4.0f) / 4.0f;
    int bad_tail = 0;
    for (int m = 0; m < n_mels; m++)
        for (int f = 1102; f < nf; f++)
            bad_tail += raw[(size_t)m * nf + f] != -10.0f || norm[(size_t)m * nf + f] != floorv;
    printf("  log-mel %d x 3000 of jfk vs torch (float64): raw max err %.2e, window max err %.2e, "
           "normalised max err %.2e; %.1f ms\n", n_mels, eraw, fabs(mx - g.max), enorm, (t1 - t0) / 1e6);
    free(x);
    free(filt);
    free(scratch);
    free(raw);
    free(norm);
    free(g.body);
    CHECKF(eraw <= 1e-4, "raw max err %g", eraw);
    CHECKF(fabs(mx - g.max) <= 1e-4, "window max %.7f, torch %.7f", mx, g.max);
    CHECKF(enorm <= 1e-3, "normalised max err %g", enorm);
    CHECKF(bad_tail == 0, "%d values past the audio are not the floor", bad_tail);
}

TEST(mel_jfk_80_matches_torch) { check_jfk(80, "mel80_jfk.egld"); }
TEST(mel_jfk_128_matches_torch) { check_jfk(128, "mel128_jfk.egld"); }

/* Naive reference in double: frame f of signal s (reflect at the start, zeros past the end). */
static void naive_log_mel(const float *s, size_t n, size_t frame, const float *filt, int n_mels, double *out) {
    double x[400], p[201];
    for (int i = 0; i < 400; i++) {
        long long j = (long long)frame * 160 - 200 + i;
        if (j < 0) j = -j;
        x[i] = (size_t)j < n ? s[j] * (0.5 - 0.5 * cos(2 * PI * i / 400)) : 0.0;
    }
    static double cs[400], sn[400];
    if (cs[0] == 0)
        for (int i = 0; i < 400; i++) cs[i] = cos(2 * PI * i / 400), sn[i] = sin(2 * PI * i / 400);
    for (int k = 0; k <= 200; k++) {
        double re = 0, im = 0;
        for (int i = 0; i < 400; i++) {
            re += x[i] * cs[k * i % 400];
            im -= x[i] * sn[k * i % 400];
        }
        p[k] = re * re + im * im;
    }
    for (int m = 0; m < n_mels; m++) {
        double acc = 0;
        for (int k = 0; k <= 200; k++) acc += (double)filt[m * 201 + k] * p[k];
        out[m] = log10(fmax(acc, 1e-10));
    }
}

TEST(mel_random_signal_vs_naive_dft) {
    uint64_t rs = est_test_seed() ^ 0x3e1;
    const int n_mels = 7;
    float filt[7 * 201];
    /* dense random filters, one all-zero row (-> floor), one single-bin row */
    for (int i = 0; i < 7 * 201; i++) filt[i] = (float)((est_test_rand(&rs) >> 40) * (1.0 / (1 << 24)) * 0.01);
    memset(filt + 3 * 201, 0, 201 * sizeof(float));
    memset(filt + 5 * 201, 0, 201 * sizeof(float));
    filt[5 * 201 + 200] = 1.0f;
    static const size_t lens[] = {0, 1, 150, 399, 1000, 4321};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        float *s = malloc((n + 1) * sizeof(float));
        for (size_t i = 0; i < n; i++) s[i] = (float)((int64_t)(est_test_rand(&rs) >> 33) - (1ll << 30)) / (1ll << 30);
        const size_t frame0 = li & 1 ? 2 : 0;
        const int nf = (int)(n / 160) + 4;
        float out[7 * 40], mx = -100.0f;
        double ref[7];
        size_t sb = est_log_mel_scratch_size(n_mels, nf);
        void *scratch = malloc(sb);
        CHECK_ST(est_log_mel_raw(s, n, frame0, nf, filt, n_mels, out, 40, &mx, scratch, sb), EDGESTT_OK);
        double err = 0;
        float want_max = -100.0f;
        for (int f = 0; f < nf; f++) {
            naive_log_mel(s, n, frame0 + (size_t)f, filt, n_mels, ref);
            for (int m = 0; m < n_mels; m++) {
                err = fmax(err, fabs(out[m * 40 + f] - ref[m]));
                if (out[m * 40 + f] > want_max) want_max = out[m * 40 + f];
            }
        }
        CHECK(mx == want_max);
        free(s);
        free(scratch);
        CHECKF(err < 2e-5, "length %zu frame0 %zu: max err %g vs naive DFT", n, frame0, err);
    }
}

/* Frame ranges computed separately (the multi-window path) equal one call bit for bit, the
 * running max is the max, and normalising with it equals est_log_mel. */
TEST(mel_ranges_and_normalize_compose) {
    size_t n;
    float *x = load_jfk(&n);
    CHECK(x != NULL);
    const int n_mels = 80, nf = 700;
    uint8_t *filt = filters_unaligned(n_mels);
    size_t sb = est_log_mel_scratch_size(n_mels, nf);
    CHECK(sb == est_log_mel_scratch_size(n_mels, 1)); /* blocked: does not grow with frames */
    void *scratch = malloc(sb);
    float *whole = malloc((size_t)n_mels * nf * 4), *parts = malloc((size_t)n_mels * nf * 4);
    float *norm = malloc((size_t)n_mels * nf * 4);
    float m1 = -INFINITY, m2 = -INFINITY;
    CHECK_ST(est_log_mel_raw(x, n, 300, nf, filt + 1, n_mels, whole, nf, &m1, scratch, sb), EDGESTT_OK);
    static const int cuts[] = {0, 1, 17, 300, 301, 700};
    for (int c = 0; c + 1 < 6; c++)
        CHECK_ST(est_log_mel_raw(x, n, 300 + (size_t)cuts[c], cuts[c + 1] - cuts[c], filt + 1, n_mels,
                                 parts + cuts[c], nf, &m2, scratch, sb), EDGESTT_OK);
    CHECK(memcmp(whole, parts, (size_t)n_mels * nf * 4) == 0);
    CHECK(m1 == m2);
    /* est_log_mel of the signal from sample 300*160 = raw frames 300.. only when no reflection
     * is involved; instead check est_log_mel == raw(0..nf) + normalize */
    float mx = -INFINITY;
    CHECK_ST(est_log_mel_raw(x, n, 0, nf, filt + 1, n_mels, whole, nf, &mx, scratch, sb), EDGESTT_OK);
    est_log_mel_normalize(whole, (size_t)n_mels * nf, mx);
    CHECK_ST(est_log_mel(x, n, filt + 1, n_mels, nf, norm, scratch, sb), EDGESTT_OK);
    CHECK(memcmp(whole, norm, (size_t)n_mels * nf * 4) == 0);
    float v[3] = {-10.0f, 0.5f, 1.0f};
    est_log_mel_normalize(v, 3, 2.0f);
    CHECK(v[0] == (2.0f - 8.0f + 4.0f) / 4.0f && v[1] == 4.5f / 4.0f && v[2] == 5.0f / 4.0f);
    free(x);
    free(filt);
    free(scratch);
    free(whole);
    free(parts);
    free(norm);
}

TEST(mel_scratch_plan_and_arguments) {
    const int n_mels = 128;
    float filt[128 * 201] = {0}, s[1000] = {0}, out[128 * 4];
    size_t sb = est_log_mel_scratch_size(n_mels, 4);
    CHECK(sb > 0);
    CHECK(est_log_mel_scratch_size(0, 4) == 0 && est_log_mel_scratch_size(EST_MEL_MAX_MELS + 1, 4) == 0);
    uint8_t *buf = malloc(sb + 64);
    /* below the plan (less its alignment slack) every size fails with NOMEM, from any start */
    for (size_t k = 0; k + 63 < sb; k += 37)
        CHECK_ST(est_log_mel(s, 1000, filt, n_mels, 4, out, buf + k % 64, k), EDGESTT_E_NOMEM);
    CHECK_ST(est_log_mel(s, 1000, filt, n_mels, 4, out, NULL, 0), EDGESTT_E_NOMEM);
    for (int a = 0; a < 64; a += 7) CHECK_ST(est_log_mel(s, 1000, filt, n_mels, 4, out, buf + a, sb), EDGESTT_OK);
    CHECK(out[0] == -1.5f); /* all zero: -10 everywhere, max -10, (max(-10, -18) + 4) / 4 */
    CHECK_ST(est_log_mel(s, 1000, filt, 0, 4, out, buf, sb), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_log_mel(s, 1000, filt, n_mels, -1, out, buf, sb), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_log_mel(NULL, 1000, filt, n_mels, 4, out, buf, sb), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_log_mel(NULL, 0, filt, n_mels, 4, out, buf, sb), EDGESTT_OK);
    CHECK_ST(est_log_mel_raw(s, 1000, 0, 4, filt, n_mels, out, 3, NULL, buf, sb), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_log_mel_raw(s, 1000, SIZE_MAX - 2, 4, filt, n_mels, out, 4, NULL, buf, sb), EDGESTT_E_INVALID_ARG);
    free(buf);
}

/* 30 s of audio (no assertion on time: printed for the report). */
TEST(mel_speed_30s) {
    const size_t n = 480000;
    float *x = malloc(n * sizeof(float));
    uint64_t rs = est_test_seed();
    for (size_t i = 0; i < n; i++) x[i] = (float)((int64_t)(est_test_rand(&rs) >> 48) - 32768) / 32768.0f;
    uint8_t *filt = filters_unaligned(80);
    size_t sb = est_log_mel_scratch_size(80, 3000);
    void *scratch = malloc(sb);
    float *out = malloc((size_t)80 * 3000 * 4);
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < 3; r++) {
        uint64_t t0 = est_port_now_ns();
        CHECK_ST(est_log_mel(x, n, filt + 1, 80, 3000, out, scratch, sb), EDGESTT_OK);
        uint64_t dt = est_port_now_ns() - t0;
        if (dt < best) best = dt;
    }
    printf("  log-mel 80 x 3000 (30 s): %.1f ms, scratch %zu bytes\n", best / 1e6, sb);
    for (size_t i = 0; i < (size_t)80 * 3000; i++) CHECK(isfinite(out[i]));
    free(x);
    free(filt);
    free(scratch);
    free(out);
}
