/*
 * test_transcribe.c - decoding on the real forward pass and the public transcription API against
 * tests/reference/whisper_ref.py's goldens (tests/data/golden/whisper_<model>.txt): greedy and
 * beam-search tokens with timestamps on and off, language identification, transcribe()'s seek
 * loop and segments on jfk and jfk x3, plus two initial-prompt transcriptions (beam search with
 * conditioning, greedy without) computed with the same reference's transcribe() (expected
 * segments hashed below); zero allocator calls in a multi-window beam-search transcription, two states of
 * one model on two threads giving identical results, the state plan's out-of-memory paths,
 * parameter errors and a full result store.
 *
 * Tokens must be identical (the goldens' decision margins are >= 5e-3 in logits); log-probs are
 * compared within 1e-3 per token (float32 forward pass against the float64 reference).  Models are
 * opened with f32 K/V caches (EDGESTT_KV_F32: the precision the goldens are compared at); one
 * transcribe golden also runs with the default f16 K/V caches, within the same tolerances (the
 * largest window avg_logprob difference it sees is printed).
 *
 * ARM builds run under qemu (make test-qemu, three CPUs, ~100x slower): there the decode goldens
 * are checked on greedy prefixes (greedy decisions do not depend on later steps), one transcribe
 * golden runs in full, and the thread / allocation / error cases use short windows (sample_len).
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "../core/decode.h"
#include "../core/model.h"
#include "../models/whisper_run.h"
#include "test.h"

#if defined(__aarch64__) || defined(__arm__)
#define LIGHT 1
#else
#define LIGHT 0
#endif

/* ---- helpers ---------------------------------------------------------------------------- */

/* Open a test model with K/V caches of type kv. */
static edgestt_model *open_model_kv(const char *name, edgestt_kv_type kv) {
    edgestt_diag d;
    edgestt_model *m = NULL;
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.kv_type = kv;
    if (edgestt_open(est_test_model(name), &mp, NULL, 0, &m, &d)) {
        printf("open %s: %s\n", name, d.msg);
        return NULL;
    }
    return m;
}

/* Open with f32 K/V caches: the goldens' precision. */
static edgestt_model *open_model(const char *name) { return open_model_kv(name, EDGESTT_KV_F32); }

/* tests/data/jfk.wav as 16 kHz floats, repeated `times` times (malloc'd). */
static float *load_jfk(int times, size_t *n_out) {
    FILE *f = fopen(est_test_data("jfk.wav"), "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *img = malloc((size_t)n);
    float *x = NULL;
    edgestt_wav_info info;
    if (img && fread(img, 1, (size_t)n, f) == (size_t)n && !edgestt_wav_parse(img, (size_t)n, &info, NULL)) {
        size_t ns = (size_t)info.n_samples_16k;
        x = malloc(ns * (size_t)times * sizeof(float));
        if (x && !edgestt_wav_decode(img, (size_t)n, &info, x, NULL, 0, NULL)) {
            for (int t = 1; t < times; t++) memcpy(x + (size_t)t * ns, x, ns * sizeof(float));
            *n_out = ns * (size_t)times;
        } else {
            free(x);
            x = NULL;
        }
    }
    free(img);
    fclose(f);
    return x;
}

/* gold, gold_load, gold_get: tests/golden.c */

static int gold_ints(const gold *g, const char *key, int *out, int cap) {
    double tmp[1024];
    int n = gold_get(g, key, tmp, cap < 1024 ? cap : 1024);
    for (int i = 0; i < n && i < cap; i++) out[i] = (int)tmp[i];
    return n;
}

/* A transcription state with these parameters (default plan otherwise). */
static edgestt_state *new_state(const edgestt_model *m, const edgestt_full_params *p) {
    edgestt_diag d;
    edgestt_state *s = NULL;
    if (edgestt_state_init(m, p, NULL, 0, &s, &d)) {
        printf("state: %s\n", d.msg);
        return NULL;
    }
    return s;
}

/* transcribe(temperature=0.0, language="en"): greedy, no fallback, whisper's thresholds. */
static void golden_params(edgestt_full_params *p) {
    edgestt_full_params_default(p);
    p->beam_size = 0;
    p->best_of = 1;
    p->temperature_inc = 0.0f;
    p->language = "en";
}

/* ---- decoding on the forward pass (the jfk.* goldens: window mel, language "en") ---------- */

typedef struct ws_backend {
    est_whisper_state *ws;
    est_dec_backend be;
} ws_backend;

static int wb_decode(void *ctx, int slot, const int *t, int n, int n_past, float **logits) {
    est_whisper_state *ws = ctx;
    int st = est_whisper_decode(ws, slot, t, n, n_past);
    *logits = est_whisper_logits(ws, slot);
    return st;
}
static int wb_batch(void *ctx, const int *slots, const int *t, int n, int n_past) {
    return est_whisper_decode_batch(ctx, slots, t, n, n_past);
}
static float *wb_logits(void *ctx, int slot) { return est_whisper_logits(ctx, slot); }
static void wb_copy(void *ctx, int dst, int src, int n_pos) { est_whisper_kv_copy(ctx, dst, src, n_pos); }

static void check_decode_goldens(const char *model_file, const char *golden_name) {
    gold g;
    CHECK(gold_load(&g, golden_name));
    edgestt_model *m = open_model(model_file);
    CHECK(m);
    size_t ns;
    float *pcm = load_jfk(1, &ns);
    CHECK(pcm);
    const int nf = 2 * m->hp.n_audio_ctx;
    float *mel = malloc((size_t)m->hp.n_mels * nf * sizeof(float));
    CHECK(mel);
    CHECK_ST(edgestt_log_mel(m, pcm, ns, mel, (size_t)m->hp.n_mels * nf), EDGESTT_OK);
    est_arena a;
    est_arena_init_measure(&a);
    est_whisper_state *ws = NULL;
    est_decoder d;
    CHECK_ST(est_whisper_state_plan(m, 5, 2, &a, &ws), EDGESTT_OK);
    CHECK_ST(est_decoder_plan(&m->tok, m->hp.n_text_ctx, 5, 6, 256, &a, &d), EDGESTT_OK);
    size_t need = est_arena_required(&a);
    void *mem = malloc(need);
    CHECK(mem);
    est_arena_init(&a, mem, need);
    CHECK_ST(est_whisper_state_plan(m, 5, 2, &a, &ws), EDGESTT_OK);
    CHECK_ST(est_decoder_plan(&m->tok, m->hp.n_text_ctx, 5, 6, 256, &a, &d), EDGESTT_OK);
    CHECK_ST(est_whisper_encode(ws, mel), EDGESTT_OK);
    est_dec_backend be = {ws, wb_decode, wb_batch, wb_logits, wb_copy};
    if (d.multilingual) { /* detect_language on the same features */
        double want[1], prob;
        int token;
        CHECK(gold_get(&g, "jfk.lang.token", want, 1) == 1);
        CHECK_ST(est_decode_detect_language(&d, &be, &token, &prob), EDGESTT_OK);
        double wp[1];
        CHECK(gold_get(&g, "jfk.lang.prob", wp, 1) == 1);
        CHECKF(token == (int)want[0] && fabs(prob - wp[0]) < 1e-3, "%s: language %d (p %g), golden %d (p %g)", model_file,
               token, prob, (int)want[0], wp[0]);
    }
    static const char *const runs[4] = {"greedy_ts", "greedy_nots", "beam5_ts", "beam5_nots"};
    for (int r = 0; r < (LIGHT ? 1 : 4); r++) {
        char key[96];
        int want[512];
        snprintf(key, sizeof key, "jfk.%s.tokens", runs[r]);
        int n = gold_ints(&g, key, want, 512);
        CHECK(n >= 0);
        est_dec_options o;
        est_dec_options_default(&o);
        o.language_token = m->tok.st.lang_first; /* "en" */
        o.without_timestamps = strstr(runs[r], "nots") != NULL;
        o.beam_size = r >= 2 ? 5 : 0;
        est_dec_result res;
        edgestt_diag dg;
        if (LIGHT) { /* a greedy prefix */
            o.sample_len = 24;
            CHECK_ST(est_decode_run(&d, &be, &o, &res, &dg), EDGESTT_OK);
            CHECK(res.n_tokens == 24 && n >= 24);
            for (int i = 0; i < 24; i++) CHECKF(res.tokens[i] == want[i], "%s token %d: %d, golden %d", model_file, i, res.tokens[i], want[i]);
            continue;
        }
        CHECK_ST(est_decode_run(&d, &be, &o, &res, &dg), EDGESTT_OK);
        int first_diff = -1;
        for (int i = 0; i < n && i < res.n_tokens && first_diff < 0; i++)
            if (res.tokens[i] != want[i]) first_diff = i;
        CHECKF(res.n_tokens == n && first_diff < 0, "%s %s: %d tokens, golden %d; first difference at %d", model_file, runs[r],
               res.n_tokens, n, first_diff);
        double v[1];
        snprintf(key, sizeof key, "jfk.%s.sum_logprob", runs[r]);
        CHECK(gold_get(&g, key, v, 1) == 1);
        CHECKF(fabs(res.sum_logprob - v[0]) <= 1e-3 * (n + 1), "%s %s: sum_logprob %.9g, golden %.9g", model_file, runs[r],
               res.sum_logprob, v[0]);
        snprintf(key, sizeof key, "jfk.%s.no_speech_prob", runs[r]);
        CHECK(gold_get(&g, key, v, 1) == 1);
        CHECKF(fabs(res.no_speech_prob - v[0]) <= 1e-3 * v[0] + 1e-12, "%s %s: no_speech_prob %.9g, golden %.9g", model_file,
               runs[r], res.no_speech_prob, v[0]);
        snprintf(key, sizeof key, "jfk.%s.compression_ratio", runs[r]);
        CHECK(gold_get(&g, key, v, 1) == 1);
        CHECK(fabs(res.compression_ratio - v[0]) <= 1e-12 * v[0]);
    }
    est_whisper_state_release(ws);
    free(mem);
    free(mel);
    free(pcm);
    free(g.text);
    edgestt_close(m);
}

TEST(transcribe_decode_goldens_en_f32) {
    if (!LIGHT) check_decode_goldens("mini-en-f32.gguf", "mini-en-f32");
}
TEST(transcribe_decode_goldens_multi_f16) { check_decode_goldens("mini-multi-f16.gguf", "mini-multi-f16"); }
TEST(transcribe_decode_goldens_v3_bin) {
    if (!LIGHT) check_decode_goldens("mini-v3-f16.bin", "mini-v3-f16");
}

/* ---- the seek loop through the public API (tr_jfk, tr_jfk3) -------------------------------- */

static void check_transcribe_golden(const char *model_file, const char *golden_name, const char *key, int times,
                                    edgestt_kv_type kv) {
    gold g;
    CHECK(gold_load(&g, golden_name));
    edgestt_model *m = open_model_kv(model_file, kv);
    CHECK(m);
    edgestt_model_info mi;
    CHECK_ST(edgestt_model_get_info(m, &mi), EDGESTT_OK);
    CHECK(mi.kv_type == kv);
    double max_dlp = 0.0;
    size_t ns;
    float *pcm = load_jfk(times, &ns);
    CHECK(pcm);
    edgestt_full_params p;
    golden_params(&p);
    p.n_threads = 2;
    edgestt_state *s = new_state(m, &p);
    CHECK(s);
    uint64_t allocs = est_test_alloc_calls();
    CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_OK);
    CHECKF(est_test_alloc_calls() == allocs, "%llu allocator calls in edgestt_transcribe",
           (unsigned long long)(est_test_alloc_calls() - allocs));
    char k[96];
    double v[8];
    snprintf(k, sizeof k, "%s.n_windows", key);
    CHECK(gold_get(&g, k, v, 1) == 1);
    edgestt_timings tm;
    CHECK_ST(edgestt_get_timings(s, &tm), EDGESTT_OK);
    CHECKF(tm.n_windows == (int)v[0] && tm.n_fallbacks == 0, "%s %s: %d windows, golden %d", model_file, key, tm.n_windows,
           (int)v[0]);
    snprintf(k, sizeof k, "%s.n_segments", key);
    CHECK(gold_get(&g, k, v, 1) == 1);
    int n_seg = edgestt_n_segments(s);
    CHECKF(n_seg == (int)v[0], "%s %s: %d segments, golden %d", model_file, key, n_seg, (int)v[0]);
    int tok_total = 0;
    for (int i = 0; i < n_seg; i++) {
        edgestt_segment sg;
        CHECK_ST(edgestt_get_segment(s, i, &sg), EDGESTT_OK);
        snprintf(k, sizeof k, "%s.seg%d.time", key, i);
        CHECK(gold_get(&g, k, v, 3) == 3);
        CHECKF(sg.t0_ms == llround(v[1] * 1000) && sg.t1_ms == llround(v[2] * 1000), "%s %s seg %d: %lld..%lld ms, golden %g..%g",
               model_file, key, i, (long long)sg.t0_ms, (long long)sg.t1_ms, v[1], v[2]);
        int want[512];
        snprintf(k, sizeof k, "%s.seg%d.tokens", key, i);
        int n = gold_ints(&g, k, want, 512);
        CHECKF(n == sg.n_tokens, "%s %s seg %d: %d tokens, golden %d", model_file, key, i, sg.n_tokens, n);
        for (int j = 0; j < n; j++) {
            edgestt_token_data td;
            CHECK_ST(edgestt_get_token(s, sg.first_token + j, &td), EDGESTT_OK);
            CHECKF(td.id == want[j], "%s %s seg %d token %d: %d, golden %d", model_file, key, i, j, td.id, want[j]);
            CHECK(td.segment == i && td.p > 0.0f && td.p <= 1.0f && td.t0_ms >= sg.t0_ms && td.t1_ms <= sg.t1_ms &&
                  td.t0_ms <= td.t1_ms);
        }
        /* the segment's window statistics are the golden window's */
        int win = 0;
        for (int w = 0; w < 8; w++) {
            double seek[2];
            snprintf(k, sizeof k, "%s.win%d.seek", key, w);
            if (gold_get(&g, k, seek, 2) != 2) break;
            if (sg.t0_ms >= (int64_t)seek[0] * 10) win = w;
        }
        snprintf(k, sizeof k, "%s.win%d.stats", key, win);
        CHECK(gold_get(&g, k, v, 3) == 3);
        CHECKF(fabs(sg.avg_logprob - v[0]) < 1e-3 && fabs(sg.no_speech_prob - v[1]) <= 1e-3 * v[1] + 1e-9 &&
                   fabs(sg.compression_ratio - v[2]) < 1e-5 * v[2],
               "%s %s (%s K/V) seg %d stats %g %g %g, golden %g %g %g", model_file, key, edgestt_kv_type_name(kv), i,
               sg.avg_logprob, sg.no_speech_prob, sg.compression_ratio, v[0], v[1], v[2]);
        if (fabs(sg.avg_logprob - v[0]) > max_dlp) max_dlp = fabs(sg.avg_logprob - v[0]);
        tok_total += sg.n_tokens;
    }
    CHECK(edgestt_n_tokens(s) == tok_total);
    printf("  %s %s, %s K/V: %d segments = golden, max |avg_logprob - golden| %.2e\n", model_file, key,
           edgestt_kv_type_name(kv), n_seg, max_dlp);
    /* the text getters: a short buffer gets a prefix and EDGESTT_E_NOMEM, the full one the text */
    size_t len = 0, len2 = 0;
    char small[4], *full;
    CHECK(edgestt_full_text(s, small, sizeof small, &len) == (len < sizeof small ? EDGESTT_OK : EDGESTT_E_NOMEM));
    CHECK((full = malloc(len + 1)) != NULL);
    CHECK_ST(edgestt_full_text(s, full, len + 1, &len2), EDGESTT_OK);
    CHECK(len2 == len && strlen(full) == len && !strncmp(full, small, strlen(small)));
    free(full);
    const char *code;
    CHECK_ST(edgestt_get_language(s, &code, NULL, NULL), EDGESTT_OK);
    CHECK(!strcmp(code, "en"));
    edgestt_state_free(s);
    free(pcm);
    free(g.text);
    edgestt_close(m);
}

TEST(transcribe_golden_jfk_en_f32) {
    check_transcribe_golden("mini-en-f32.gguf", "mini-en-f32", "tr_jfk", 1, EDGESTT_KV_F32);
}
/* the default f16 K/V caches: the same tokens, times and window statistics within the same bounds */
TEST(transcribe_golden_jfk_en_f32_with_f16_kv) {
    check_transcribe_golden("mini-en-f32.gguf", "mini-en-f32", "tr_jfk", 1, EDGESTT_KV_F16);
}
TEST(transcribe_golden_jfk3_en_f32) {
    if (!LIGHT) check_transcribe_golden("mini-en-f32.bin", "mini-en-f32", "tr_jfk3", 3, EDGESTT_KV_F32);
}
TEST(transcribe_golden_jfk_multi_f16) {
    if (!LIGHT) check_transcribe_golden("mini-multi-f16.gguf", "mini-multi-f16", "tr_jfk", 1, EDGESTT_KV_F32);
}
TEST(transcribe_golden_jfk3_v3_f16) {
    if (!LIGHT) check_transcribe_golden("mini-v3-f16.gguf", "mini-v3-f16", "tr_jfk3", 3, EDGESTT_KV_F32);
}

/* transcribe(temperature=0.0, language="en", ...) of jfk x3 on mini-en-f32 by whisper_ref.py:
 * segments (seek frame, start ms, end ms, token count, FNV-1a 64 of the ids). */
typedef struct ref_segment {
    int seek;
    int64_t t0, t1;
    int n;
    uint64_t fnv;
} ref_segment;

static uint64_t fnv_result_tokens(const edgestt_state *s, int first, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) {
        edgestt_token_data td;
        edgestt_get_token(s, first + i, &td);
        h = (h ^ (uint64_t)td.id) * 1099511628211ull;
    }
    return h;
}

static void check_prompt_case(const edgestt_full_params *p, const ref_segment *want, int n_want, int n_windows) {
    edgestt_model *m = open_model("mini-en-f32.gguf");
    CHECK(m);
    size_t ns;
    float *pcm = load_jfk(3, &ns);
    CHECK(pcm);
    edgestt_state *s = new_state(m, p);
    CHECK(s);
    CHECK_ST(edgestt_transcribe(s, pcm, ns, p), EDGESTT_OK);
    edgestt_timings tm;
    edgestt_get_timings(s, &tm);
    CHECKF(tm.n_windows == n_windows && edgestt_n_segments(s) == n_want, "%d windows, %d segments; reference %d, %d",
           tm.n_windows, edgestt_n_segments(s), n_windows, n_want);
    for (int i = 0; i < n_want; i++) {
        edgestt_segment sg;
        CHECK_ST(edgestt_get_segment(s, i, &sg), EDGESTT_OK);
        uint64_t h = fnv_result_tokens(s, sg.first_token, sg.n_tokens);
        CHECKF(sg.t0_ms == want[i].t0 && sg.t1_ms == want[i].t1 && sg.n_tokens == want[i].n && h == want[i].fnv,
               "segment %d: %lld..%lld ms, %d tokens (%016llx); reference %lld..%lld, %d (%016llx)", i, (long long)sg.t0_ms,
               (long long)sg.t1_ms, sg.n_tokens, (unsigned long long)h, (long long)want[i].t0, (long long)want[i].t1, want[i].n,
               (unsigned long long)want[i].fnv);
    }
    edgestt_state_free(s);
    free(pcm);
    edgestt_close(m);
}

/* Beam search with an initial prompt, conditioning on the previous text across two windows. */
TEST(transcribe_beam_with_initial_prompt_matches_reference) {
    static const ref_segment want[] = {
        {0, 280, 21320, 3, 0x8b773b0e1ad4e536ull},     {0, 29180, 29880, 3, 0xe4c4b61d2c5b5204ull},
        {2988, 30060, 34240, 3, 0x95031c10b65436b8ull}, {2988, 36860, 37340, 3, 0x7749e3071f0c3b9cull},
        {2988, 42560, 59380, 3, 0xbdf0fe02c05bb419ull}, {2988, 59380, 59780, 3, 0x92d47f1e726f56feull},
    };
    if (LIGHT) return; /* two windows of beam search: native only */
    edgestt_full_params p;
    golden_params(&p);
    p.beam_size = 5;
    p.initial_prompt = "  And so, my fellow Americans ";
    check_prompt_case(&p, want, 6, 2);
}

/* Greedy with an initial prompt and condition_on_previous_text off (the prompt only once). */
TEST(transcribe_prompt_without_conditioning_matches_reference) {
    static const ref_segment want[] = {
        {0, 220, 21320, 3, 0x2f5f4a0f8b009de0ull},      {0, 21320, 24040, 3, 0xf94d3f24ac0a8342ull},
        {0, 24040, 29180, 3, 0xf0910620b2d6f8c1ull},    {0, 29180, 29640, 3, 0x4282c61d7c5b3f4eull},
        {2964, 30040, 31220, 3, 0xb78e700fed7d6101ull}, {2964, 41440, 42320, 3, 0xa928bb0168f8af8eull},
        {2964, 42320, 44620, 3, 0x31e42c0322eb6719ull}, {2964, 58980, 59060, 3, 0x7ba6171d9800e0dcull},
        {2964, 59060, 59140, 3, 0x4352b71d5f9c7d0aull}, {2964, 59160, 59200, 3, 0xf81b991df0fffd76ull},
    };
    if (LIGHT) return;
    edgestt_full_params p;
    golden_params(&p);
    p.initial_prompt = "ask not";
    p.condition_on_previous_text = 0;
    check_prompt_case(&p, want, 10, 2);
}

TEST(transcribe_detects_the_language) {
    if (LIGHT) return; /* two encodes; the detection itself runs under qemu in transcribe_decode_goldens_multi_f16 */
    gold g;
    CHECK(gold_load(&g, "mini-multi-f16"));
    edgestt_model *m = open_model("mini-multi-f16.gguf");
    CHECK(m);
    size_t ns;
    float *pcm = load_jfk(1, &ns);
    CHECK(pcm);
    edgestt_full_params p;
    golden_params(&p);
    p.language = NULL;
    p.sample_len = 8; /* only the detection is compared */
    edgestt_state *s = new_state(m, &p);
    CHECK(s);
    CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_OK);
    const char *code;
    int token;
    float prob;
    double want[1], wp[1];
    CHECK(gold_get(&g, "jfk.lang.token", want, 1) == 1 && gold_get(&g, "jfk.lang.prob", wp, 1) == 1);
    CHECK_ST(edgestt_get_language(s, &code, &token, &prob), EDGESTT_OK);
    /* transcribe()'s mel of an 11 s file equals the window mel the golden used */
    CHECKF(token == (int)want[0] && fabs(prob - wp[0]) < 1e-3, "language %s %d (p %g), golden %d (p %g)", code, token, prob,
           (int)want[0], wp[0]);
    CHECK(code && token - m->tok.st.lang_first >= 0 && !strcmp(code, est_tok_language(token - m->tok.st.lang_first)));
    /* an unknown code and a non-English code on an English-only model are refused */
    p.language = "xx";
    CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_E_INVALID_ARG);
    CHECK(strstr(edgestt_state_error(s), "xx") != NULL);
    edgestt_state_free(s);
    edgestt_close(m);
    m = open_model("mini-en-f32.gguf");
    CHECK(m);
    s = new_state(m, &p);
    CHECK(s);
    p.language = "de";
    CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_E_INVALID_ARG);
    edgestt_state_free(s);
    edgestt_close(m);
    free(pcm);
    free(g.text);
}

/* ---- allocation-free, threads, plan --------------------------------------------------------- */

TEST(transcribe_makes_no_allocations) {
    if (LIGHT) return; /* qemu: transcribe_golden_jfk_en_f32 checks a greedy transcription */
    edgestt_model *m = open_model("mini-en-f32.gguf");
    CHECK(m);
    size_t ns;
    float *pcm = load_jfk(3, &ns);
    CHECK(pcm);
    edgestt_full_params p;
    edgestt_full_params_default(&p); /* beam 5, best_of 5, prompt conditioning */
    p.n_threads = 2;
    p.initial_prompt = " And so, my fellow Americans ";
    p.temperature_inc = 0.0f; /* beam search only: every window of these random weights would fall back */
    p.seed = est_test_seed();
    p.sample_len = LIGHT ? 12 : 0;
    edgestt_state *s = new_state(m, &p);
    CHECK(s);
    uint64_t before, after;
    edgestt_timings tm;
    if (!LIGHT) {
        before = est_test_alloc_calls();
        CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_OK); /* multi-window beam search */
        after = est_test_alloc_calls();
        CHECK_ST(edgestt_get_timings(s, &tm), EDGESTT_OK);
        CHECKF(after == before, "%llu allocator calls during a beam-search edgestt_transcribe",
               (unsigned long long)(after - before));
        CHECKF(tm.n_windows >= 2 && edgestt_n_segments(s) >= 1, "%d windows, %d segments", tm.n_windows,
               edgestt_n_segments(s));
    }
    /* the fallback path: beam search, then best-of-2 sampling at 0.5 and 1.0 (jfk once) */
    p.best_of = 2;
    p.temperature_inc = 0.5f;
    before = est_test_alloc_calls();
    CHECK_ST(edgestt_transcribe(s, pcm, ns / 3, &p), EDGESTT_OK);
    after = est_test_alloc_calls();
    CHECK_ST(edgestt_get_timings(s, &tm), EDGESTT_OK);
    CHECKF(after == before, "%llu allocator calls with temperature fallback", (unsigned long long)(after - before));
    CHECKF(tm.n_fallbacks >= 1, "%d fallbacks (random weights: avg log-prob far below -1)", tm.n_fallbacks);
    CHECK(edgestt_n_segments(s) >= 1);
    edgestt_segment sg;
    CHECK_ST(edgestt_get_segment(s, 0, &sg), EDGESTT_OK);
    CHECK(sg.temperature > 0.0f); /* the result came from sampling */
    edgestt_state_free(s);
    free(pcm);
    edgestt_close(m);
}

typedef struct thread_job {
    const edgestt_model *m;
    const float *pcm;
    size_t n;
    int ok;
    int n_tokens;
    int ids[4096];
    int64_t t0[4096];
} thread_job;

static void *thread_run(void *arg) {
    thread_job *j = arg;
    edgestt_full_params p;
    golden_params(&p);
    p.beam_size = LIGHT ? 0 : 3;
    p.best_of = 3;
    p.sample_len = LIGHT ? 8 : 0;
    edgestt_state *s = NULL;
    j->ok = edgestt_state_init(j->m, &p, NULL, 0, &s, NULL) == EDGESTT_OK && edgestt_transcribe(s, j->pcm, j->n, &p) == EDGESTT_OK;
    j->n_tokens = j->ok ? edgestt_n_tokens(s) : 0;
    for (int i = 0; i < j->n_tokens && i < 4096; i++) {
        edgestt_token_data td;
        edgestt_get_token(s, i, &td);
        j->ids[i] = td.id;
        j->t0[i] = td.t0_ms;
    }
    edgestt_state_free(s);
    return NULL;
}

TEST(transcribe_two_states_on_two_threads_agree) {
    edgestt_model *m = open_model("mini-multi-f16.gguf");
    CHECK(m);
    size_t ns;
    float *pcm = load_jfk(LIGHT ? 1 : 3, &ns);
    CHECK(pcm);
    thread_job *j = calloc(3, sizeof *j);
    CHECK(j);
    for (int i = 0; i < 3; i++) j[i].m = m, j[i].pcm = pcm, j[i].n = ns;
    if (!LIGHT) thread_run(&j[0]); /* alone first (under qemu the two threads are compared) */
    pthread_t t[2];
    CHECK(pthread_create(&t[0], NULL, thread_run, &j[1]) == 0);
    CHECK(pthread_create(&t[1], NULL, thread_run, &j[2]) == 0);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    const int ref = LIGHT ? 1 : 0;
    for (int i = ref; i < 3; i++) CHECKF(j[i].ok && j[i].n_tokens > 0, "run %d failed", i);
    for (int i = ref + 1; i < 3; i++) {
        CHECK(j[i].n_tokens == j[ref].n_tokens);
        CHECK(!memcmp(j[i].ids, j[ref].ids, sizeof j[ref].ids) && !memcmp(j[i].t0, j[ref].t0, sizeof j[ref].t0));
    }
    free(j);
    free(pcm);
    edgestt_close(m);
}

TEST(transcribe_state_plan_and_errors) {
    edgestt_model *m = open_model("mini-en-f32.gguf");
    CHECK(m);
    edgestt_full_params p;
    edgestt_full_params_default(&p);
    size_t need = 0, need1 = 0;
    edgestt_diag d;
    CHECK_ST(edgestt_state_mem_size(m, &p, &need, &d), EDGESTT_OK);
    p.beam_size = 1;
    p.best_of = 1;
    CHECK_ST(edgestt_state_mem_size(m, &p, &need1, &d), EDGESTT_OK);
    CHECK(need1 < need); /* fewer rows, smaller K/V */
    edgestt_full_params_default(&p);
    /* every buffer below the plan fails cleanly; the planned size works in a caller buffer */
    uint8_t *buf = malloc(need);
    CHECK(buf);
    size_t sizes[] = {0, 1, 63, 64, 4096, need / 3, need / 2, need - 64, need - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        edgestt_state *s = (edgestt_state *)1;
        CHECK_ST(edgestt_state_init(m, &p, buf, sizes[i], &s, &d), EDGESTT_E_NOMEM);
        CHECK(s == NULL && strstr(d.msg, "needs") != NULL);
    }
    edgestt_state *s = NULL;
    CHECK_ST(edgestt_state_init(m, &p, buf, need, &s, &d), EDGESTT_OK);
    CHECK((uint8_t *)s >= buf && (uint8_t *)s < buf + need);
    /* bad parameters */
    edgestt_full_params q = p;
    q.beam_size = 6;
    CHECK_ST(edgestt_transcribe(s, NULL, 0, &q), EDGESTT_E_LIMIT);
    CHECK(strstr(edgestt_state_error(s), "planned") != NULL);
    q = p;
    q.patience = 3.0f;
    CHECK_ST(edgestt_transcribe(s, NULL, 0, &q), EDGESTT_E_INVALID_ARG);
    q = p;
    q.temperature = -1.0f;
    CHECK_ST(edgestt_transcribe(s, NULL, 0, &q), EDGESTT_E_INVALID_ARG);
    q = p;
    q.length_penalty = 2.0f;
    CHECK_ST(edgestt_transcribe(s, NULL, 0, &q), EDGESTT_E_INVALID_ARG);
    q = p;
    q.sample_len = 1000;
    CHECK_ST(edgestt_transcribe(s, NULL, 0, &q), EDGESTT_E_INVALID_ARG);
    float one = 0.0f;
    CHECK_ST(edgestt_transcribe(s, NULL, 5, &p), EDGESTT_E_INVALID_ARG);
    /* empty and very short audio: no windows, no segments, fine */
    CHECK_ST(edgestt_transcribe(s, &one, 0, &p), EDGESTT_OK);
    CHECK(edgestt_n_segments(s) == 0 && edgestt_n_tokens(s) == 0 && edgestt_state_error(s)[0] == 0);
    CHECK_ST(edgestt_transcribe(s, &one, 1, &p), EDGESTT_OK);
    CHECK(edgestt_n_segments(s) == 0);
    edgestt_segment sg;
    CHECK_ST(edgestt_get_segment(s, 0, &sg), EDGESTT_E_INVALID_ARG);
    edgestt_state_free(s);
    free(buf);
    /* a full result store: EDGESTT_E_LIMIT, the segments found so far readable */
    size_t ns;
    float *pcm = load_jfk(1, &ns);
    CHECK(pcm);
    golden_params(&p);
    p.max_segments = 2;
    p.sample_len = 16; /* greedy: the golden's first 16 tokens, 4 segments */
    s = new_state(m, &p);
    CHECK(s);
    CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_E_LIMIT);
    CHECK(edgestt_n_segments(s) == 2 && strstr(edgestt_state_error(s), "full") != NULL);
    edgestt_state_free(s);
    free(pcm);
    edgestt_close(m);
}
