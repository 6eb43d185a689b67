/*
 * test_kiosk.c - the compact character-vocabulary layout of the project's small models (issue 6,
 * models/whisper-gguf.md): a random-weight model of that layout (whisper-gen's mini-char-*.gguf:
 * n_vocab 298, a 5 s window, n_audio_ctx 250, n_text_ctx 96) opens, its tokens decode to text,
 * the decoder prompt is [sot, <|en|>, <|transcribe|>] without language detection, the space token
 * is never suppressed, transcription over several short windows allocates nothing, and convert
 * turns the F32 file into Q8_0 / Q4_0 keeping the token keys.  Against tests/reference/kiosk_ref.py
 * (float64 PyTorch, tests/data/golden/whisper_kiosk_mini-char-f32.txt): the 5 s window's log-mel of
 * 4 s of jfk.wav, encoder rows, the logits after the prompt and the greedy no-timestamps tokens
 * through the public transcription API.
 */
#include <stdlib.h>

#include <math.h>

#include "../core/decode.h"
#include "../core/model.h"
#include "../models/whisper_run.h"
#include "test.h"

#if defined(__aarch64__) || defined(__arm__)
#define LIGHT 1
#else
#define LIGHT 0
#endif

static edgestt_model *open_kiosk(const char *name) {
    edgestt_diag d;
    edgestt_model *m = NULL;
    if (edgestt_open(est_test_model(name), NULL, NULL, 0, &m, &d)) {
        printf("open %s: %s\n", name, d.msg);
        return NULL;
    }
    return m;
}

static int tok_is(const edgestt_model *m, int id, const char *want) {
    const char *b;
    size_t n;
    if (edgestt_token_bytes(m, id, &b, &n)) return 0;
    return n == strlen(want) && !memcmp(b, want, n);
}

/* The special ids and the character table of the layout. */
static void check_layout(const char *file) {
    edgestt_model *m = open_kiosk(file);
    CHECK(m);
    edgestt_model_info in;
    CHECK_ST(edgestt_model_get_info(m, &in), EDGESTT_OK);
    CHECKF(in.n_vocab == 298 && in.n_audio_ctx == 250 && in.n_text_ctx == 96 && in.multilingual == 1 &&
               in.n_languages == 1,
           "%s: n_vocab %d ctx %d/%d multilingual %d languages %d", file, in.n_vocab, in.n_audio_ctx, in.n_text_ctx,
           in.multilingual, in.n_languages);
    edgestt_special_tokens st;
    CHECK_ST(edgestt_special_tokens_get(m, &st), EDGESTT_OK);
    CHECK(st.eot == 38 && st.sot == 39 && st.lang_first == 40 && st.translate == 41 && st.transcribe == 42 &&
          st.solm == 43 && st.prev == 44 && st.nosp == 45 && st.no_timestamps == 46 && st.timestamp_begin == 47);
    CHECK(tok_is(m, 0, " ") && tok_is(m, 1, "'") && tok_is(m, 2, "a") && tok_is(m, 27, "z") && tok_is(m, 28, "0") &&
          tok_is(m, 37, "9"));
    CHECK(tok_is(m, 38, "<|endoftext|>") && tok_is(m, 40, "<|en|>") && tok_is(m, 42, "<|transcribe|>") &&
          tok_is(m, 47, "<|0.00|>") && tok_is(m, 297, "<|5.00|>"));
    /* " seven thirty p m" with timestamps around it */
    const char *text = " seven thirty p m";
    int ids[32], n = 0;
    ids[n++] = 47;
    for (const char *c = text; *c; c++) ids[n++] = *c == ' ' ? 0 : 2 + (*c - 'a');
    ids[n++] = 47 + 75;
    ids[n++] = 38;
    char out[64];
    size_t len;
    CHECK_ST(edgestt_detokenize(m, ids, n, out, sizeof out, &len), EDGESTT_OK);
    CHECKF(len == strlen(text) && !strcmp(out, text), "detokenize: '%s'", out);
    edgestt_close(m);
}

TEST(kiosk_layout_f32) { check_layout("mini-char-f32.gguf"); }
TEST(kiosk_layout_q8_0) { check_layout("mini-char-q8_0.gguf"); }

/* ---- the decoder on the compact vocabulary ------------------------------------------------ */

/* A backend that records the tokens it is fed; its logits favour token `first_tok` at the first
 * call and `then_tok` after it (the search feeds [sot] alone first, then the rest of the prompt). */
typedef struct rec_backend {
    int first[64], n_first, calls, n_vocab, first_tok, then_tok;
    float logits[512];
} rec_backend;

static int rec_decode(void *ctx, int slot, const int *t, int n, int n_past, float **lg) {
    (void)slot;
    (void)n_past;
    rec_backend *r = ctx;
    r->calls++;
    for (int i = 0; i < n && r->n_first < 64; i++) r->first[r->n_first++] = t[i]; /* every token fed, in order */
    for (int i = 0; i < r->n_vocab; i++) r->logits[i] = 0.0f;
    r->logits[r->calls == 1 ? r->first_tok : r->then_tok] = 5.0f;
    *lg = r->logits;
    return EDGESTT_OK;
}
static int rec_batch(void *ctx, const int *slots, const int *t, int n, int n_past) {
    (void)slots;
    float *lg;
    for (int i = 0; i < n; i++) rec_decode(ctx, 0, t + i, 1, n_past, &lg);
    return EDGESTT_OK;
}
static float *rec_logits(void *ctx, int slot) {
    (void)slot;
    return ((rec_backend *)ctx)->logits;
}
static void rec_copy(void *ctx, int dst, int src, int n_pos) {
    (void)ctx, (void)dst, (void)src, (void)n_pos;
}

TEST(kiosk_decoder_prompt_and_suppression) {
    edgestt_model *m = open_kiosk("mini-char-f32.gguf");
    CHECK(m);
    est_arena a;
    est_arena_init_measure(&a);
    est_decoder d;
    CHECK_ST(est_decoder_plan(&m->tok, m->hp.n_text_ctx, 1, 2, 64, &a, &d), EDGESTT_OK);
    size_t need = est_arena_required(&a);
    void *mem = malloc(need);
    CHECK(mem);
    est_arena_init(&a, mem, need);
    CHECK_ST(est_decoder_plan(&m->tok, m->hp.n_text_ctx, 1, 2, 64, &a, &d), EDGESTT_OK);
    CHECK(d.multilingual == 1);
    /* the space and the apostrophe are text: never in the suppression lists */
    CHECK(d.n_blank == 0);
    for (int i = 0; i < d.n_suppress; i++) CHECKF(d.suppress[i] >= d.st.eot, "suppressed text token %d", d.suppress[i]);
    rec_backend r;
    memset(&r, 0, sizeof r);
    r.n_vocab = m->hp.n_vocab;
    r.first_tok = d.st.timestamp_begin;
    r.then_tok = d.st.eot;
    est_dec_backend be = {&r, rec_decode, rec_batch, rec_logits, rec_copy};
    est_dec_options o;
    est_dec_options_default(&o);
    o.language_token = d.st.lang_first;
    est_dec_result res;
    edgestt_diag diag;
    CHECK_ST(est_decode_run(&d, &be, &o, &res, &diag), EDGESTT_OK);
    CHECKF(r.n_first >= 3 && r.first[0] == 39 && r.first[1] == 40 && r.first[2] == 42, "prompt %d: %d %d %d", r.n_first,
           r.first[0], r.first[1], r.first[2]);
    CHECKF(res.n_tokens == 1 && res.tokens[0] == d.st.timestamp_begin, "result %d tokens, first %d", res.n_tokens,
           res.n_tokens ? res.tokens[0] : -1);
    /* without timestamps: [sot, <|en|>, <|transcribe|>, <|notimestamps|>]; a space may come first */
    memset(&r, 0, sizeof r);
    r.n_vocab = m->hp.n_vocab;
    r.first_tok = 0; /* the space first: SuppressBlank must leave it alone */
    r.then_tok = d.st.eot;
    o.without_timestamps = 1;
    CHECK_ST(est_decode_run(&d, &be, &o, &res, &diag), EDGESTT_OK);
    CHECKF(r.n_first >= 4 && r.first[0] == 39 && r.first[1] == 40 && r.first[2] == 42 && r.first[3] == 46,
           "prompt %d tokens: %d %d %d %d", r.n_first, r.first[0], r.first[1], r.first[2], r.first[3]);
    CHECKF(res.n_tokens >= 1 && res.tokens[0] == 0, "first sampled token %d", res.n_tokens ? res.tokens[0] : -1);
    free(mem);
    edgestt_close(m);
}

/* ---- transcription on short windows ------------------------------------------------------- */

static void check_transcribe(const char *file, int beam) {
    edgestt_model *m = open_kiosk(file);
    CHECK(m);
    size_t ns = 0;
    float *pcm = est_test_load_wav("jfk.wav", &ns);
    CHECK(pcm);
    edgestt_full_params p;
    edgestt_full_params_default(&p);
    p.beam_size = beam;
    p.best_of = LIGHT ? 1 : 2;
    p.n_threads = 2;
    p.sample_len = LIGHT ? 8 : 0;
    edgestt_state *s = NULL;
    edgestt_diag d;
    CHECK_ST(edgestt_state_init(m, &p, NULL, 0, &s, &d), EDGESTT_OK);
    uint64_t allocs = est_test_alloc_calls();
    CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_OK);
    CHECKF(est_test_alloc_calls() == allocs, "%llu allocator calls in edgestt_transcribe",
           (unsigned long long)(est_test_alloc_calls() - allocs));
    edgestt_timings tm;
    CHECK_ST(edgestt_get_timings(s, &tm), EDGESTT_OK);
    /* 11 s in 5 s windows: at least three unless a window is skipped whole */
    CHECKF(tm.n_windows >= 3, "%s: %d windows", file, tm.n_windows);
    const char *code = NULL;
    float prob = 0.0f;
    int lang = -1;
    CHECK_ST(edgestt_get_language(s, &code, &lang, &prob), EDGESTT_OK);
    CHECK(code && !strcmp(code, "en") && lang == 40 && prob == 1.0f);
    /* every segment inside the audio, times increasing; text tokens are characters */
    int64_t prev = 0;
    for (int i = 0; i < edgestt_n_segments(s); i++) {
        edgestt_segment sg;
        CHECK_ST(edgestt_get_segment(s, i, &sg), EDGESTT_OK);
        CHECKF(sg.t0_ms >= prev - 20 && sg.t1_ms >= sg.t0_ms && sg.t0_ms <= (int64_t)(ns / 16) + 5000,
               "segment %d: %lld..%lld", i, (long long)sg.t0_ms, (long long)sg.t1_ms);
        prev = sg.t0_ms;
    }
    for (int i = 0; i < edgestt_n_tokens(s); i++) {
        edgestt_token_data td;
        CHECK_ST(edgestt_get_token(s, i, &td), EDGESTT_OK);
        /* never a suppressed special (sot, translate, transcribe, sot_lm, sot_prev, no_speech, notimestamps) */
        CHECKF(td.id >= 0 && td.id < 298 && td.id != 38 && td.id != 39 && (td.id < 41 || td.id > 46), "token %d", td.id);
    }
    /* the same call again gives the same text (the state is reset per call) */
    char t1[4096], t2[4096];
    size_t l1, l2;
    CHECK_ST(edgestt_full_text(s, t1, sizeof t1, &l1), EDGESTT_OK);
    CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_OK);
    CHECK_ST(edgestt_full_text(s, t2, sizeof t2, &l2), EDGESTT_OK);
    CHECK(l1 == l2 && !strcmp(t1, t2));
    /* windows are never conditioned on the previous text: the flag changes nothing */
    p.condition_on_previous_text = 0;
    CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_OK);
    CHECK_ST(edgestt_full_text(s, t2, sizeof t2, &l2), EDGESTT_OK);
    CHECKF(l1 == l2 && !strcmp(t1, t2), "condition_on_previous_text changed '%s' to '%s'", t1, t2);
    edgestt_state_free(s);
    free(pcm);
    edgestt_close(m);
}

TEST(kiosk_transcribe_greedy_f32) { check_transcribe("mini-char-f32.gguf", 0); }
TEST(kiosk_transcribe_beam_q8_0) { check_transcribe("mini-char-q8_0.gguf", LIGHT ? 2 : 5); }

/* ---- convert keeps the layout -------------------------------------------------------------- */

typedef struct membuf {
    uint8_t *b;
    size_t n, cap;
} membuf;

static int mem_sink(void *user, int shard, int n_shards, uint64_t off, const void *data, size_t n) {
    membuf *m = user;
    if (shard != 0 || n_shards != 1) return 1;
    if (off + n > m->cap) {
        size_t c = (size_t)(off + n) * 2;
        uint8_t *nb = realloc(m->b, c);
        if (!nb) return 1;
        m->b = nb;
        m->cap = c;
    }
    memcpy(m->b + off, data, n);
    if (off + n > m->n) m->n = (size_t)(off + n);
    return 0;
}

static void check_convert(int type) {
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    p.type = type;
    membuf mb = {NULL, 0, 0};
    edgestt_convert_report r;
    edgestt_diag d;
    d.msg[0] = 0;
    CHECKF(edgestt_convert(est_test_model("mini-char-f32.gguf"), &p, mem_sink, &mb, &r, &d) == EDGESTT_OK, "convert: %s",
           d.msg);
    edgestt_model *m = NULL;
    CHECKF(edgestt_open_memory(mb.b, mb.n, NULL, NULL, 0, &m, &d) == EDGESTT_OK, "open converted: %s", d.msg);
    edgestt_model_info in;
    CHECK_ST(edgestt_model_get_info(m, &in), EDGESTT_OK);
    CHECK(in.n_vocab == 298 && in.n_audio_ctx == 250 && in.n_languages == 1 && in.multilingual == 1);
    CHECKF(in.n_by_type[type] > 0 && in.n_by_type[EDGESTT_TYPE_F32] > 0, "%lld tensors of type %d",
           (long long)in.n_by_type[type], type);
    edgestt_special_tokens st;
    CHECK_ST(edgestt_special_tokens_get(m, &st), EDGESTT_OK);
    CHECK(st.eot == 38 && st.lang_first == 40 && st.timestamp_begin == 47 && st.n_languages == 1);
    CHECK(tok_is(m, 0, " ") && tok_is(m, 13, "l") && tok_is(m, 297, "<|5.00|>"));
    CHECK(edgestt_check(est_test_model("mini-char-f32.gguf"), 0, &d) == EDGESTT_CHECK_COMPLETE);
    edgestt_close(m);
    free(mb.b);
}

TEST(kiosk_convert_q8_0) { check_convert(EDGESTT_TYPE_Q8_0); }
TEST(kiosk_convert_q4_0) { check_convert(EDGESTT_TYPE_Q4_0); }

/* ---- against the PyTorch reference (kiosk_ref.py) ------------------------------------------ */

static double max_rel(const double *want, const float *got, int n) {
    double err = 0.0, mx = 0.0;
    for (int i = 0; i < n; i++) {
        err = fmax(err, fabs((double)got[i] - want[i]));
        mx = fmax(mx, fabs(want[i]));
    }
    return mx > 0.0 ? err / mx : err;
}

static int ws_decode(void *ctx, int slot, const int *t, int n, int n_past, float **logits) {
    int st = est_whisper_decode(ctx, slot, t, n, n_past);
    *logits = est_whisper_logits(ctx, slot);
    return st;
}
static int ws_batch(void *ctx, const int *slots, const int *t, int n, int n_past) {
    return est_whisper_decode_batch(ctx, slots, t, n, n_past);
}
static float *ws_logits(void *ctx, int slot) { return est_whisper_logits(ctx, slot); }
static void ws_copy(void *ctx, int dst, int src, int n_pos) { est_whisper_kv_copy(ctx, dst, src, n_pos); }

TEST(kiosk_reference_golden) {
    gold g;
    CHECK(gold_load(&g, "kiosk_mini-char-f32"));
    edgestt_model *m = open_kiosk("mini-char-f32.gguf");
    CHECK(m);
    size_t ns = 0;
    float *pcm = est_test_load_wav("jfk.wav", &ns);
    CHECK(pcm && ns > 64000);
    ns = 64000; /* the golden's --seconds 4 */
    const int nm = m->hp.n_mels, nf = 2 * m->hp.n_audio_ctx, n = m->hp.n_audio_state, V = m->hp.n_vocab;
    static double want[4096];
    /* the window's log-mel: the first 4 frames of every bin */
    float *mel = malloc((size_t)nm * (size_t)nf * sizeof(float));
    CHECK(mel);
    CHECK_ST(edgestt_log_mel(m, pcm, ns, mel, (size_t)nm * (size_t)nf), EDGESTT_OK);
    CHECK(gold_get(&g, "mel.first_frames", want, 4096) == 4 * nm);
    float got[4096];
    for (int f = 0; f < 4; f++)
        for (int b = 0; b < nm; b++) got[f * nm + b] = mel[(size_t)b * (size_t)nf + (size_t)f];
    double e_mel = max_rel(want, got, 4 * nm);
    CHECKF(e_mel < 1e-5, "log-mel rel err %.3g", e_mel);
    /* encoder rows and the logits after [sot, <|en|>, <|transcribe|>, <|notimestamps|>] */
    est_arena a;
    est_arena_init_measure(&a);
    est_whisper_state *ws = NULL;
    CHECK_ST(est_whisper_state_plan(m, 1, 2, &a, &ws), EDGESTT_OK);
    size_t need = est_arena_required(&a);
    void *mem = malloc(need);
    CHECK(mem);
    est_arena_init(&a, mem, need);
    CHECK_ST(est_whisper_state_plan(m, 1, 2, &a, &ws), EDGESTT_OK);
    CHECK_ST(est_whisper_encode(ws, mel), EDGESTT_OK);
    const float *enc = est_whisper_encoder_out(ws);
    CHECK(gold_get(&g, "enc.row0", want, 4096) == n);
    double e0 = max_rel(want, enc, n);
    CHECK(gold_get(&g, "enc.row_last", want, 4096) == n);
    double e1 = max_rel(want, enc + (size_t)(m->hp.n_audio_ctx - 1) * (size_t)n, n);
    double sum = 0.0;
    for (size_t i = 0; i < (size_t)m->hp.n_audio_ctx * (size_t)n; i++) sum += fabs((double)enc[i]);
    CHECK(gold_get(&g, "enc.abs_sum", want, 1) == 1);
    CHECKF(e0 < 1e-4 && e1 < 1e-4 && fabs(sum - want[0]) < 1e-4 * want[0], "encoder rel err %.3g %.3g, |sum| %.6f vs %.6f",
           e0, e1, sum, want[0]);
    const int prompt[4] = {39, 40, 42, 46};
    CHECK_ST(est_whisper_decode(ws, 0, prompt, 4, 0), EDGESTT_OK);
    CHECK(gold_get(&g, "greedy.logits0", want, 4096) == V);
    double el = max_rel(want, est_whisper_logits(ws, 0), V);
    CHECKF(el < 1e-4, "logits rel err %.3g", el);
    printf("  kiosk mini-char-f32 vs kiosk_ref.py: mel %.2g, encoder %.2g / %.2g, logits %.2g\n", e_mel, e0, e1, el);
    /* greedy without timestamps on the forward pass: the reference's tokens (margins >= 0.25) */
    est_arena da;
    est_arena_init_measure(&da);
    est_decoder dec;
    CHECK_ST(est_decoder_plan(&m->tok, m->hp.n_text_ctx, 1, 2, 64, &da, &dec), EDGESTT_OK);
    size_t dneed = est_arena_required(&da);
    void *dmem = malloc(dneed);
    CHECK(dmem);
    est_arena_init(&da, dmem, dneed);
    CHECK_ST(est_decoder_plan(&m->tok, m->hp.n_text_ctx, 1, 2, 64, &da, &dec), EDGESTT_OK);
    est_dec_backend be = {ws, ws_decode, ws_batch, ws_logits, ws_copy};
    est_dec_options o;
    est_dec_options_default(&o);
    o.language_token = 40;
    o.without_timestamps = 1;
    est_dec_result res;
    edgestt_diag d;
    CHECK_ST(est_decode_run(&dec, &be, &o, &res, &d), EDGESTT_OK);
    int nt = gold_get(&g, "greedy.tokens", want, 4096);
    CHECKF(nt == res.n_tokens, "%d tokens, reference %d", res.n_tokens, nt);
    for (int i = 0; i < nt && i < res.n_tokens; i++)
        CHECKF(res.tokens[i] == (int)want[i], "token %d: %d, reference %d", i, res.tokens[i], (int)want[i]);
    free(dmem);
    est_whisper_state_release(ws);
    free(mem);
    free(mel);
    free(pcm);
    free(g.text);
    edgestt_close(m);
}
