/*
 * test_vad.c - Silero VAD v5 (core/vad.c, models/silero_vad.c) against the NumPy reference
 * (tests/reference/silero_ref.py, goldens tests/data/golden/vad_*.txt): per-window probabilities
 * within 1e-4, get_speech_timestamps segments exactly, segment boundaries of the synthesized
 * recording with known pauses (tests/data/vad_pauses.wav) within 100 ms of the truth; streaming
 * events, reset, result capacity, the plan (every smaller buffer fails with NOMEM, no allocation
 * after open) and damaged model files.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/edgestt.h"
#include "test.h"

#define VAD_MODEL "../../models/silero-vad-v5.gguf" /* relative to --data (tests/data) */
#define PROB_TOL 1e-4

/* The whole file at --data/rel, or NULL. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) p[n] = 0;
    *len = p ? (size_t)n : 0;
    return p;
}

typedef struct vgold {
    gold g;
    double *probs, *segs, *truth;
    int n_probs, n_segs, n_truth; /* segs / truth: pairs */
    double n_samples;
} vgold;

static void vgold_free(vgold *v) {
    free(v->g.text);
    free(v->probs);
    free(v->segs);
    free(v->truth);
}

/* Read one list of a golden into a fresh array; its count, or -1. */
static int gold_list(const gold *g, const char *key, double **out) {
    int n = gold_get(g, key, NULL, 0);
    *out = NULL;
    if (n < 0) return -1;
    *out = malloc(((size_t)n + 1) * sizeof(double));
    if (!*out) return -1;
    gold_get(g, key, *out, n);
    return n;
}

static int vgold_load(vgold *v, const char *name) {
    char rel[128];
    size_t len;
    memset(v, 0, sizeof *v);
    snprintf(rel, sizeof rel, "golden/vad_%s.txt", name);
    v->g.text = (char *)slurp(est_test_data(rel), &len);
    if (!v->g.text) return 0;
    v->n_probs = gold_list(&v->g, "probs", &v->probs);
    v->n_segs = gold_list(&v->g, "segments", &v->segs) / 2;
    int nt = gold_list(&v->g, "truth", &v->truth);
    v->n_truth = nt > 0 ? nt / 2 : 0;
    return gold_get(&v->g, "n_samples", &v->n_samples, 1) == 1 && v->n_probs > 0 && v->n_segs >= 0;
}

static edgestt_vad *open_vad(void) {
    edgestt_vad *v = NULL;
    edgestt_diag d = {{0}};
    if (edgestt_vad_open(est_test_data(VAD_MODEL), NULL, 0, &v, &d) != EDGESTT_OK) {
        fprintf(stderr, "  open %s: %s\n", est_test_data(VAD_MODEL), d.msg);
        return NULL;
    }
    return v;
}

/* Per-window probabilities of a recording through edgestt_vad_prob vs the golden. */
static void check_probs(const char *wav, const char *name) {
    vgold g;
    size_t n;
    float *pcm = est_test_load_wav(wav, &n);
    edgestt_vad *v = open_vad();
    int ok = vgold_load(&g, name);
    if (!pcm || !v || !ok) {
        int have_pcm = pcm != NULL, have_v = v != NULL;
        free(pcm);
        edgestt_vad_close(v);
        vgold_free(&g);
        CHECKF(0, "missing input: wav %d model %d golden %d", have_pcm, have_v, ok);
    }
    size_t nw = (n + EDGESTT_VAD_WINDOW - 1) / EDGESTT_VAD_WINDOW;
    double maxerr = 0;
    size_t worst = 0;
    int bad_count = (size_t)g.n_probs != nw || (double)n != g.n_samples;
    float win[EDGESTT_VAD_WINDOW];
    for (size_t i = 0; !bad_count && i < nw; i++) {
        size_t at = i * EDGESTT_VAD_WINDOW, k = n - at < EDGESTT_VAD_WINDOW ? n - at : EDGESTT_VAD_WINDOW;
        memset(win, 0, sizeof win);
        memcpy(win, pcm + at, k * sizeof(float));
        float p = -1;
        if (edgestt_vad_prob(v, win, &p) != EDGESTT_OK) p = NAN;
        double e = fabs((double)p - g.probs[i]);
        if (!(e <= maxerr)) {
            maxerr = e;
            worst = i;
        }
    }
    double want = bad_count ? 0 : g.probs[worst];
    free(pcm);
    edgestt_vad_close(v);
    vgold_free(&g);
    CHECKF(!bad_count, "%s: %zu windows of %zu samples, golden has %d", name, nw, n, g.n_probs);
    printf("  vad %s: %zu windows, max |prob - reference| = %.3g (window %zu, ref %.6f)\n", name, nw, maxerr, worst, want);
    CHECKF(maxerr <= PROB_TOL, "%s: window %zu differs by %.3g (> %g)", name, worst, maxerr, PROB_TOL);
}

TEST(vad_probs_jfk) { check_probs("jfk.wav", "jfk"); }
TEST(vad_probs_pauses) { check_probs("vad_pauses.wav", "pauses"); }

/* edgestt_vad_segments equals get_speech_timestamps exactly; returns 0 on a failed check. */
static void check_segments(const char *wav, const char *name) {
    vgold g;
    size_t n, ns = 0;
    float *pcm = est_test_load_wav(wav, &n);
    edgestt_vad *v = open_vad();
    int ok = vgold_load(&g, name);
    edgestt_vad_segment segs[64];
    int st = (pcm && v && ok) ? edgestt_vad_segments(v, pcm, n, segs, 64, &ns) : -100;
    int mismatch = -1;
    for (size_t i = 0; st == 0 && i < ns && (int)i < g.n_segs; i++)
        if (segs[i].start_sample != (int64_t)g.segs[2 * i] || segs[i].end_sample != (int64_t)g.segs[2 * i + 1]) {
            mismatch = (int)i;
            break;
        }
    int n_gold = g.n_segs;
    double gs = mismatch >= 0 ? g.segs[2 * mismatch] : 0, ge = mismatch >= 0 ? g.segs[2 * mismatch + 1] : 0;
    free(pcm);
    edgestt_vad_close(v);
    vgold_free(&g);
    CHECK_ST(st, EDGESTT_OK);
    CHECKF((int)ns == n_gold, "%s: %zu segments, reference %d", name, ns, n_gold);
    CHECKF(mismatch < 0, "%s: segment %d is [%lld, %lld), reference [%.0f, %.0f)", name, mismatch,
           (long long)segs[mismatch].start_sample, (long long)segs[mismatch].end_sample, gs, ge);
}

TEST(vad_segments_jfk) { check_segments("jfk.wav", "jfk"); }
TEST(vad_segments_pauses) { check_segments("vad_pauses.wav", "pauses"); }

/* The synthesized recording: one segment per utterance, each boundary within 100 ms of the truth. */
TEST(vad_segments_pauses_truth) {
    vgold g;
    size_t n, ns = 0;
    float *pcm = est_test_load_wav("vad_pauses.wav", &n);
    edgestt_vad *v = open_vad();
    int ok = vgold_load(&g, "pauses");
    edgestt_vad_segment segs[16];
    int st = (pcm && v && ok) ? edgestt_vad_segments(v, pcm, n, segs, 16, &ns) : -100;
    int bad = -1, n_truth = g.n_truth;
    double worst = 0, t0 = 0, t1 = 0;
    for (int i = 0; st == 0 && (size_t)i < ns && i < g.n_truth; i++) {
        double e0 = (double)segs[i].start_sample - g.truth[2 * i], e1 = (double)segs[i].end_sample - g.truth[2 * i + 1];
        if (fabs(e0) > worst) worst = fabs(e0);
        if (fabs(e1) > worst) worst = fabs(e1);
        printf("  utterance %d: [%.3f, %.3f) s, truth [%.3f, %.3f) s\n", i, segs[i].start_sample / 16000.0,
               segs[i].end_sample / 16000.0, g.truth[2 * i] / 16000.0, g.truth[2 * i + 1] / 16000.0);
        if (bad < 0 && (fabs(e0) > 1600 || fabs(e1) > 1600)) {
            bad = i;
            t0 = g.truth[2 * i];
            t1 = g.truth[2 * i + 1];
        }
    }
    free(pcm);
    edgestt_vad_close(v);
    vgold_free(&g);
    CHECK_ST(st, EDGESTT_OK);
    CHECKF(n_truth == 4 && (int)ns == n_truth, "%zu segments for %d utterances", ns, n_truth);
    printf("  largest boundary error %.1f ms\n", worst / 16.0);
    CHECKF(bad < 0, "utterance %d: [%lld, %lld) vs truth [%.0f, %.0f) (more than 100 ms)", bad,
           (long long)segs[bad].start_sample, (long long)segs[bad].end_sample, t0, t1);
}

/* Streaming: feed + finish events give the raw segments of get_speech_timestamps (unpadded), with
 * probabilities equal to edgestt_vad_prob's, and allocate nothing. */
TEST(vad_feed_events) {
    size_t n, ns = 0;
    float *pcm = est_test_load_wav("vad_pauses.wav", &n);
    edgestt_vad *v = open_vad();
    if (!pcm || !v) {
        free(pcm);
        edgestt_vad_close(v);
        CHECK(0);
    }
    edgestt_vad_segment segs[16], raw[16];
    int st = edgestt_vad_segments(v, pcm, n, segs, 16, &ns);
    size_t nr = 0, starts = 0, dropped = 0;
    int in_speech = 0, consistent = 1;
    uint64_t allocs = est_test_alloc_calls();
    edgestt_vad_event ev;
    size_t full = n / EDGESTT_VAD_WINDOW * EDGESTT_VAD_WINDOW;
    for (size_t at = 0; at < full; at += EDGESTT_VAD_WINDOW) {
        edgestt_vad_feed(v, pcm + at, &ev);
        if (ev.started) starts++;
        if (ev.started && in_speech) consistent = 0;
        if (ev.ended && ev.kept && nr < 16) raw[nr++] = (edgestt_vad_segment){ev.start_sample, ev.end_sample};
        if (ev.ended && !ev.kept) dropped++;
        in_speech = ev.in_speech;
    }
    edgestt_vad_finish(v, full, &ev);
    if (ev.ended && ev.kept && nr < 16) raw[nr++] = (edgestt_vad_segment){ev.start_sample, ev.end_sample};
    allocs = est_test_alloc_calls() - allocs;
    edgestt_vad_close(v);
    free(pcm);
    CHECK_ST(st, EDGESTT_OK);
    CHECKF(allocs == 0, "%llu allocations while streaming", (unsigned long long)allocs);
    CHECK(consistent);
    CHECKF(nr == ns && starts == nr + dropped, "%zu raw segments (%zu starts, %zu dropped), %zu padded", nr, starts,
           dropped, ns);
    for (size_t i = 0; i < nr; i++) {
        /* default padding 30 ms: padded = raw widened by 480 samples (the pauses exceed 2 x 480) */
        CHECKF(segs[i].start_sample == raw[i].start_sample - 480 && segs[i].end_sample == raw[i].end_sample + 480,
               "segment %zu: padded [%lld, %lld), raw [%lld, %lld)", i, (long long)segs[i].start_sample,
               (long long)segs[i].end_sample, (long long)raw[i].start_sample, (long long)raw[i].end_sample);
        CHECK(raw[i].start_sample % EDGESTT_VAD_WINDOW == 0 && raw[i].end_sample % EDGESTT_VAD_WINDOW == 0);
    }
}

/* Reset forgets the stream: the same audio gives the same probabilities again; without the reset
 * the carried state changes them. */
TEST(vad_reset_state) {
    size_t n;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    edgestt_vad *v = open_vad();
    if (!pcm || !v || n < 40 * EDGESTT_VAD_WINDOW) {
        free(pcm);
        edgestt_vad_close(v);
        CHECK(0);
    }
    float a[20], b[20], c[20];
    const float *chunk = pcm + 100 * EDGESTT_VAD_WINDOW; /* speech */
    for (int i = 0; i < 20; i++) edgestt_vad_prob(v, chunk + i * EDGESTT_VAD_WINDOW, &a[i]);
    for (int i = 0; i < 20; i++) edgestt_vad_prob(v, chunk + i * EDGESTT_VAD_WINDOW, &c[i]);
    edgestt_vad_reset(v);
    for (int i = 0; i < 20; i++) edgestt_vad_prob(v, chunk + i * EDGESTT_VAD_WINDOW, &b[i]);
    edgestt_vad_close(v);
    free(pcm);
    int diff = 0;
    for (int i = 0; i < 20; i++) {
        CHECKF(a[i] == b[i], "window %d: %.9g after reset, %.9g before", i, b[i], a[i]);
        CHECK(a[i] >= 0 && a[i] <= 1);
        diff |= a[i] != c[i];
    }
    CHECK(diff);
}

/* A short segment buffer: EDGESTT_E_LIMIT, the full count, the first entries as in the full list. */
TEST(vad_segments_capacity) {
    size_t n, nall = 0, n2 = 0, n0 = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    edgestt_vad *v = open_vad();
    if (!pcm || !v) {
        free(pcm);
        edgestt_vad_close(v);
        CHECK(0);
    }
    edgestt_vad_segment all[16], two[2];
    int s1 = edgestt_vad_segments(v, pcm, n, all, 16, &nall);
    int s2 = edgestt_vad_segments(v, pcm, n, two, 2, &n2);
    int s3 = edgestt_vad_segments(v, pcm, n, NULL, 0, &n0);
    edgestt_vad_close(v);
    free(pcm);
    CHECK_ST(s1, EDGESTT_OK);
    CHECK_ST(s2, EDGESTT_E_LIMIT);
    CHECK_ST(s3, nall ? EDGESTT_E_LIMIT : EDGESTT_OK);
    CHECK(nall > 2 && n2 == nall && n0 == nall);
    CHECK(!memcmp(two, all, sizeof two));
}

TEST(vad_params) {
    edgestt_vad *v = open_vad();
    CHECK(v);
    edgestt_vad_params p;
    edgestt_vad_params_default(&p);
    CHECK(p.threshold == 0.5f && p.neg_threshold < 0 && p.min_speech_ms == 250 && p.min_silence_ms == 100 &&
          p.speech_pad_ms == 30);
    edgestt_vad_params q = p;
    q.threshold = 1.5f;
    int s1 = edgestt_vad_set_params(v, &q);
    q = p;
    q.threshold = NAN;
    int s2 = edgestt_vad_set_params(v, &q);
    q = p;
    q.min_silence_ms = -1;
    int s3 = edgestt_vad_set_params(v, &q);
    int s4 = edgestt_vad_set_params(v, NULL);
    /* a higher threshold finds no more speech than the default on jfk */
    size_t n, n_def = 0, n_hi = 0;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    edgestt_vad_segment a[16], b[16];
    int s5 = pcm ? edgestt_vad_segments(v, pcm, n, a, 16, &n_def) : -100;
    q = p;
    q.threshold = 0.999f;
    int s6 = edgestt_vad_set_params(v, &q);
    int s7 = pcm ? edgestt_vad_segments(v, pcm, n, b, 16, &n_hi) : -100;
    int64_t sum_def = 0, sum_hi = 0;
    for (size_t i = 0; i < n_def; i++) sum_def += a[i].end_sample - a[i].start_sample;
    for (size_t i = 0; i < n_hi; i++) sum_hi += b[i].end_sample - b[i].start_sample;
    free(pcm);
    edgestt_vad_close(v);
    CHECK_ST(s1, EDGESTT_E_INVALID_ARG);
    CHECK_ST(s2, EDGESTT_E_INVALID_ARG);
    CHECK_ST(s3, EDGESTT_E_INVALID_ARG);
    CHECK_ST(s4, EDGESTT_OK);
    CHECK_ST(s5, EDGESTT_OK);
    CHECK_ST(s6, EDGESTT_OK);
    CHECK_ST(s7, EDGESTT_OK);
    CHECKF(sum_hi < sum_def, "threshold 0.999: %lld speech samples, default %lld", (long long)sum_hi, (long long)sum_def);
}

/* The plan: mem_size == mem_size_memory; a caller buffer of exactly that size works (also
 * misaligned), every smaller size (64-byte steps) fails with NOMEM; no allocation in open_memory
 * with a caller buffer, nor while processing. */
TEST(vad_plan_and_buffers) {
    size_t len, need = 0, need2 = 0;
    unsigned char *img = slurp(est_test_data(VAD_MODEL), &len);
    CHECK(img);
    int s1 = edgestt_vad_mem_size(est_test_data(VAD_MODEL), &need, NULL);
    int s2 = edgestt_vad_mem_size_memory(img, len, &need2, NULL);
    unsigned char *buf = malloc(need + 1);
    int fails_ok = 1;
    size_t bad_size = 0;
    for (size_t sz = 0; buf && sz < need; sz += 64) {
        edgestt_vad *v = NULL;
        int st = edgestt_vad_open_memory(img, len, buf + 1, sz, &v, NULL);
        if (st != EDGESTT_E_NOMEM || v) {
            fails_ok = 0;
            bad_size = sz;
            edgestt_vad_close(v);
            break;
        }
    }
    edgestt_vad *v = NULL;
    uint64_t allocs = est_test_alloc_calls();
    int s3 = buf ? edgestt_vad_open_memory(img, len, buf + 1, need, &v, NULL) : -100;
    float win[EDGESTT_VAD_WINDOW], p = -1;
    for (int i = 0; i < EDGESTT_VAD_WINDOW; i++) win[i] = 0.1f * sinf(0.05f * (float)i);
    int s4 = v ? edgestt_vad_prob(v, win, &p) : -100;
    allocs = est_test_alloc_calls() - allocs;
    edgestt_vad_close(v);
    free(buf);
    free(img);
    CHECK_ST(s1, EDGESTT_OK);
    CHECK_ST(s2, EDGESTT_OK);
    CHECKF(need == need2 && need > 0 && need < 64 * 1024, "plan %zu / %zu bytes", need, need2);
    CHECKF(fails_ok, "a buffer of %zu bytes (plan %zu) did not fail with NOMEM", bad_size, need);
    CHECK_ST(s3, EDGESTT_OK);
    CHECK_ST(s4, EDGESTT_OK);
    CHECK(p >= 0 && p <= 1);
    CHECKF(allocs == 0, "%llu allocations", (unsigned long long)allocs);
}

/* Damaged or foreign model images fail with the right code and a line naming the problem. */
static int open_damaged(const unsigned char *img, size_t len, const char *find, const char *repl, size_t cut,
                        edgestt_diag *d) {
    unsigned char *copy = malloc(len + 8);
    if (!copy) return -100;
    memcpy(copy, img, len);
    if (find) {
        unsigned char *hit = NULL;
        size_t fl = strlen(find);
        for (size_t i = 0; i + fl <= len && !hit; i++)
            if (!memcmp(copy + i, find, fl)) hit = copy + i;
        if (!hit) {
            free(copy);
            return -101;
        }
        memcpy(hit, repl, strlen(repl));
    }
    edgestt_vad *v = NULL;
    memset(d, 0, sizeof *d);
    int st = edgestt_vad_open_memory(copy, cut ? cut : len, NULL, 0, &v, d);
    edgestt_vad_close(v);
    free(copy);
    return st;
}

TEST(vad_damaged_model) {
    size_t len;
    unsigned char *img = slurp(est_test_data(VAD_MODEL), &len);
    CHECK(img && len > 100000);
    edgestt_diag d[7];
    int st[7];
    st[0] = open_damaged(img, len, "silero-vad", "silero-vax", 0, d + 0); /* the first hit: the architecture */
    st[1] = open_damaged(img, len, "decoder.rnn.weight_hh", "decoder.rnn.weight_hX", 0, d + 1);
    st[2] = open_damaged(img, len, NULL, NULL, len - 100, d + 2);                  /* truncated */
    st[3] = open_damaged(img, len, "silero-vad.hop", "silero-vad.hoq", 0, d + 3);  /* key missing */
    st[4] = open_damaged(img, len, "GGUF", "GGUX", 0, d + 4);
    /* a NaN in the last tensor (decoder.decoder.2.bias: the file's last 64-byte block starts with it) */
    unsigned char *nan_img = malloc(len);
    if (nan_img) {
        memcpy(nan_img, img, len);
        const float qnan = NAN;
        memcpy(nan_img + len - 64, &qnan, 4);
        edgestt_vad *v = NULL;
        memset(d + 5, 0, sizeof d[5]);
        st[5] = edgestt_vad_open_memory(nan_img, len, NULL, 0, &v, d + 5);
        edgestt_vad_close(v);
    } else {
        st[5] = -100;
    }
    /* misaligned image: tensor data no longer 4-byte aligned */
    unsigned char *mis = malloc(len + 1);
    if (mis) {
        memcpy(mis + 1, img, len);
        edgestt_vad *v = NULL;
        memset(d + 6, 0, sizeof d[6]);
        st[6] = edgestt_vad_open_memory(mis + 1, len, NULL, 0, &v, d + 6);
        edgestt_vad_close(v);
    } else {
        st[6] = -100;
    }
    free(nan_img);
    free(mis);
    free(img);
    static const int want[7] = {EDGESTT_E_UNSUPPORTED, EDGESTT_E_MODEL, EDGESTT_E_TRUNCATED, EDGESTT_E_FORMAT,
                                EDGESTT_E_FORMAT,      EDGESTT_E_MODEL, EDGESTT_E_FORMAT};
    for (int i = 0; i < 7; i++) {
        printf("  damaged %d: %s (%s)\n", i, edgestt_strerror(st[i]), d[i].msg);
        CHECKF(st[i] == want[i], "case %d: %d (%s), want %d; %s", i, st[i], edgestt_strerror(st[i]), want[i], d[i].msg);
        CHECK(d[i].msg[0] != 0);
    }
}

/* The dot products run on the kernel table (EDGESTT_KERNELS overrides "auto"): the reference table
 * and the one picked for this CPU give the same probabilities (within 1e-6; the tables are built to
 * agree bit for bit on finite input). */
TEST(vad_kernel_variants) {
    size_t n;
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 160 * EDGESTT_VAD_WINDOW);
    const char *old = getenv("EDGESTT_KERNELS");
    char *saved = old ? strdup(old) : NULL;
    float p[2][60];
    int st[2] = {-100, -100};
    for (int run = 0; run < 2; run++) {
        if (run == 0) setenv("EDGESTT_KERNELS", "ref", 1);
        else if (saved) setenv("EDGESTT_KERNELS", saved, 1);
        else unsetenv("EDGESTT_KERNELS");
        edgestt_vad *v = NULL;
        st[run] = edgestt_vad_open(est_test_data(VAD_MODEL), NULL, 0, &v, NULL);
        for (int i = 0; v && i < 60; i++) edgestt_vad_prob(v, pcm + (size_t)(100 + i) * EDGESTT_VAD_WINDOW, &p[run][i]);
        edgestt_vad_close(v);
    }
    if (saved) setenv("EDGESTT_KERNELS", saved, 1);
    else unsetenv("EDGESTT_KERNELS");
    free(saved);
    free(pcm);
    CHECK_ST(st[0], EDGESTT_OK);
    CHECK_ST(st[1], EDGESTT_OK);
    double worst = 0;
    for (int i = 0; i < 60; i++) { /* (not fmax: aarch64 gcc 12 -O2 crashes vectorizing that reduction) */
        double e = fabs((double)p[0][i] - p[1][i]);
        if (e > worst || e != e) worst = e != e ? INFINITY : e;
    }
    printf("  ref vs auto kernels: max |diff| %.3g over 60 windows\n", worst);
    CHECKF(worst <= 1e-6, "ref and auto kernels differ by %.3g", worst);
}

/* Edge cases: no audio, less than one window, seeded low noise (no speech), bad arguments. */
TEST(vad_edge_cases) {
    edgestt_vad *v = open_vad();
    CHECK(v);
    uint64_t rng = est_test_seed();
    static float noise[16000];
    for (size_t i = 0; i < 16000; i++) noise[i] = (float)((int)(est_test_rand(&rng) % 2001) - 1000) * 2e-6f;
    edgestt_vad_segment seg[4];
    size_t n0 = 9, n1 = 9, n2 = 9;
    edgestt_vad_event ev;
    float p;
    int s[9];
    s[0] = edgestt_vad_segments(v, NULL, 0, seg, 4, &n0);
    s[1] = edgestt_vad_segments(v, noise, 100, seg, 4, &n1);
    s[2] = edgestt_vad_segments(v, noise, 16000, seg, 4, &n2);
    s[3] = edgestt_vad_prob(v, NULL, &p);
    s[4] = edgestt_vad_feed(v, noise, NULL);
    s[5] = edgestt_vad_segments(v, noise, 16000, NULL, 4, &n2);
    s[6] = edgestt_vad_finish(v, 0, &ev);
    edgestt_vad_close(v);
    edgestt_vad *v3 = (edgestt_vad *)&rng; /* must come back NULL */
    s[7] = edgestt_vad_open(est_test_data("no-such-vad.gguf"), NULL, 0, &v3, NULL) == EDGESTT_E_IO && v3 == NULL;
    s[8] = edgestt_vad_set_params(NULL, NULL);
    edgestt_vad *v2 = open_vad();
    edgestt_vad_close(v2);
    edgestt_vad_close(NULL);
    CHECK_ST(s[0], EDGESTT_OK);
    CHECK_ST(s[1], EDGESTT_OK);
    CHECK_ST(s[2], EDGESTT_OK);
    CHECK(n0 == 0 && n1 == 0 && n2 == 0);
    CHECK_ST(s[3], EDGESTT_E_INVALID_ARG);
    CHECK_ST(s[4], EDGESTT_E_INVALID_ARG);
    CHECK_ST(s[5], EDGESTT_E_INVALID_ARG);
    CHECK_ST(s[6], EDGESTT_OK);
    CHECK(!ev.ended && !ev.started);
    CHECK(s[7]);
    CHECK_ST(s[8], EDGESTT_E_INVALID_ARG);
}
