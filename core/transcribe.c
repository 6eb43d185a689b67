/*
 * transcribe.c - the public transcription API: per-stream states and whisper's transcribe() seek
 * loop (see the transcription section of edgestt.h and tests/reference/whisper_ref.py transcribe).
 *
 * State arena (bottom only, all long-lived; nothing is placed per call): the state struct, the
 * forward-pass state (models/whisper_run.h: activations, K/V caches, pool), the decoder
 * (core/decode.h), one window of log-mel + its scratch, the prompt buffers, the results.
 * Invariant: the plan and the placing run the same code (plan_state), so sizes cannot drift.
 *
 * The log-mel of the whole audio is never held: whisper normalises with the maximum over the whole
 * (30 s zero-padded) signal, so a first pass computes raw frames window by window for that maximum
 * only, and each decoded window recomputes its frames (est_log_mel_raw frames are independent).
 */
#include <math.h>

#include "decode.h"
#include "mel.h"
#include "model.h"
#include "pool.h"
#include "../models/whisper_run.h"

#define MAX_PATIENCE 2.0f /* finished beam candidates are planned for patience <= 2 */

struct edgestt_state {
    const edgestt_model *model;
    void *owned;                  /* the block if init allocated it */
    est_arena arena;
    edgestt_full_params plan;     /* the planning fields this state was made for */
    est_whisper_state *ws;
    est_decoder dec;
    est_dec_backend be;
    int n_mels, n_frames;         /* window: n_frames = 2 * n_audio_ctx mel frames */
    float *mel;                   /* [n_mels][n_frames] one window */
    void *mel_scratch;
    size_t mel_scratch_size;
    uint8_t *prompt_text;         /* [max_prompt_bytes + 1] " " + stripped initial prompt */
    int *init_prompt;             /* [n_text_ctx / 2] last tokens of the initial prompt */
    int n_init_kept, n_init_total;
    int *prompt;                  /* [n_text_ctx / 2] the next window's previous-text tokens */
    est_dec_segment *wsegs;       /* [n_text_ctx / 2 + 2] one window's segments */
    edgestt_token_data *tokens;   /* [max_tokens] */
    int n_tokens;
    edgestt_segment *segs;        /* [max_segments] */
    int n_segs;
    int lang_token;
    float lang_prob;
    edgestt_timings tm;
    edgestt_diag err;
    est_pk_state *pk;             /* parakeet models: the transducer's activations (ws, dec unused) */
    est_pool *pk_pool;            /* its own pool (NULL with a shared one) */
    int32_t *pk_ids, *pk_frames, *pk_durs; /* [max_tokens] decoding output */
    float *pk_probs;              /* [max_tokens] softmax probability of each token */
};

/* ==== parameters ========================================================================= */

void edgestt_full_params_default(edgestt_full_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->n_threads = 1;
    p->beam_size = 5;
    p->best_of = 5;
    p->max_tokens = 16384;
    p->max_segments = 4096;
    p->max_prompt_bytes = 4096;
    p->task = EDGESTT_TASK_TRANSCRIBE;
    p->language = NULL;
    p->timestamps = 1;
    p->temperature = 0.0f;
    p->temperature_inc = 0.2f;
    p->patience = 1.0f;
    p->length_penalty = NAN;
    p->compression_ratio_threshold = 2.4f;
    p->logprob_threshold = -1.0f;
    p->no_speech_threshold = 0.6f;
    p->condition_on_previous_text = 1;
    p->initial_prompt = NULL;
    p->suppress_blank = 1;
    p->suppress_non_speech = 1;
    p->max_initial_timestamp = 1.0f;
    p->seed = 0;
}

/* Checks of the planning fields shared by mem_size and init. */
static int check_plan(const edgestt_full_params *p, edgestt_diag *diag) {
    if (p->n_threads < 1 || p->n_threads > EST_MAX_THREADS)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "n_threads %d is outside 1..%d", p->n_threads, EST_MAX_THREADS);
    if (p->beam_size < 0 || p->beam_size > EST_MAX_BEAMS)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "beam_size %d is outside 0..%d", p->beam_size, EST_MAX_BEAMS);
    if (p->best_of < 1 || p->best_of > EST_MAX_BEAMS)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "best_of %d is outside 1..%d", p->best_of, EST_MAX_BEAMS);
    if (p->max_tokens < 1 || p->max_segments < 1 || p->max_prompt_bytes < 0 || p->max_tokens > (1 << 26) ||
        p->max_segments > (1 << 24) || p->max_prompt_bytes > (1 << 24))
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "max_tokens %d / max_segments %d / max_prompt_bytes %d out of range",
                        p->max_tokens, p->max_segments, p->max_prompt_bytes);
    return EDGESTT_OK;
}

static int rows_of(const edgestt_full_params *p) { return p->beam_size > p->best_of ? p->beam_size : p->best_of; }

/* ==== the plan =========================================================================== */

#define PLACE(ptr, count, type)                                                                                      \
    do {                                                                                                             \
        void *q_;                                                                                                    \
        if ((st = est_arena_array(a, (size_t)(count), sizeof(type), &q_)) != 0) return st;                          \
        (ptr) = (type *)q_;                                                                                          \
    } while (0)

/* plan_state for a parakeet model: results, greedy output, est_pk_state, pool (started last). */
static int plan_pk_state(const edgestt_model *m, const edgestt_full_params *p, est_arena *a, edgestt_state *s,
                         edgestt_state **out) {
    int st;
    size_t bytes, pool_size = 0;
    void *mem, *pool_mem = NULL;
    /* planned for n_threads, as Whisper states (measuring never looks at the pool: a stream's
     * measuring pass has none yet); a given pool must not have more threads than that */
    const int threads = p->n_threads;
    if (p->pool && !est_arena_measuring(a) && est_pool_threads(est_pool_of(p->pool)) > threads)
        return EDGESTT_E_INVALID_ARG;
    PLACE(s->tokens, p->max_tokens, edgestt_token_data);
    PLACE(s->segs, p->max_segments, edgestt_segment);
    PLACE(s->pk_ids, p->max_tokens, int32_t);
    PLACE(s->pk_frames, p->max_tokens, int32_t);
    PLACE(s->pk_durs, p->max_tokens, int32_t);
    PLACE(s->pk_probs, p->max_tokens, float);
    PLACE(s->pk, 1, est_pk_state);
    if ((st = est_pk_state_size(m->pk, m->pk_max_samples, threads, &bytes)) != 0) return st;
    if ((st = est_arena_alloc(a, bytes, &mem)) != 0) return st;
    if (!p->pool) {
        pool_size = est_pool_size(p->n_threads);
        if ((st = est_arena_alloc(a, pool_size, &pool_mem)) != 0) return st;
    }
    if (est_arena_measuring(a)) return EDGESTT_OK;
    est_pool *pool = p->pool ? est_pool_of(p->pool) : NULL;
    if (!p->pool && (st = est_pool_init(&s->pk_pool, pool_mem, pool_size, p->n_threads)) != 0) return st;
    if (s->pk_pool) pool = s->pk_pool;
    if ((st = est_pk_state_init(s->pk, m->pk, m->pk_max_samples, pool, mem, bytes)) != 0) {
        if (s->pk_pool) est_pool_destroy(s->pk_pool);
        s->pk_pool = NULL;
        return st;
    }
    *out = s;
    return EDGESTT_OK;
}

/* Reserve (measuring) or place (placing) everything of a state; *out receives it when placing. */
static int plan_state(const edgestt_model *m, const edgestt_full_params *p, est_arena *a, edgestt_state **out) {
    int st;
    edgestt_state *s, tmp;
    void *q;
    if ((st = est_arena_alloc(a, sizeof(edgestt_state), &q)) != 0) return st;
    s = q ? (edgestt_state *)q : &tmp;
    memset(s, 0, sizeof *s);
    s->model = m;
    s->plan = *p;
    if (m->pk) return plan_pk_state(m, p, a, s, out);
    s->n_mels = m->hp.n_mels;
    s->n_frames = 2 * m->hp.n_audio_ctx;
    const int rows = rows_of(p);
    const int beam_fin = (int)ceilf((float)p->beam_size * MAX_PATIENCE) + 1;
    const int max_fin = beam_fin > rows ? beam_fin : rows;
    const int half = m->hp.n_text_ctx / 2;
    /* the forward pass last: it starts the pool, so nothing can fail after it */
    if ((st = est_decoder_plan(&m->tok, m->hp.n_text_ctx, rows, max_fin, (size_t)p->max_prompt_bytes + 1, a, &s->dec)) != 0)
        return st;
    PLACE(s->mel, (size_t)s->n_mels * (size_t)s->n_frames, float);
    s->mel_scratch_size = est_log_mel_scratch_size(s->n_mels, s->n_frames);
    PLACE(s->mel_scratch, s->mel_scratch_size, uint8_t);
    PLACE(s->prompt_text, (size_t)p->max_prompt_bytes + 2, uint8_t);
    PLACE(s->init_prompt, half, int);
    PLACE(s->prompt, half, int);
    PLACE(s->wsegs, half + 2, est_dec_segment);
    PLACE(s->tokens, p->max_tokens, edgestt_token_data);
    PLACE(s->segs, p->max_segments, edgestt_segment);
    est_whisper_state_opts kv;
    est_whisper_state_opts_of(m, &kv); /* the model's K/V cache type */
    /* with a shared pool (p->pool) the state plans none of its own */
    if ((st = p->pool ? est_whisper_state_plan_nopool(m, rows, p->n_threads, &kv, a, &s->ws)
                      : est_whisper_state_plan_ex(m, rows, p->n_threads, &kv, a, &s->ws, NULL)) != 0)
        return st;
    if (!est_arena_measuring(a) && p->pool) est_whisper_state_use_pool(s->ws, est_pool_of(p->pool));
    if (!est_arena_measuring(a)) *out = s;
    return EDGESTT_OK;
}

/* ==== the backend over the forward pass ================================================== */

static int be_decode(void *ctx, int slot, const int *tokens, int n, int n_past, float **logits) {
    est_whisper_state *ws = (est_whisper_state *)ctx;
    int st = est_whisper_decode(ws, slot, tokens, n, n_past);
    *logits = est_whisper_logits(ws, slot);
    return st;
}

static int be_decode_batch(void *ctx, const int *slots, const int *tokens, int n, int n_past) {
    return est_whisper_decode_batch((est_whisper_state *)ctx, slots, tokens, n, n_past);
}

static float *be_logits(void *ctx, int slot) { return est_whisper_logits((est_whisper_state *)ctx, slot); }

static void be_kv_copy(void *ctx, int dst, int src, int n_pos) {
    est_whisper_kv_copy((est_whisper_state *)ctx, dst, src, n_pos);
}

/* ==== create / free ====================================================================== */

edgestt_status edgestt_state_mem_size(const edgestt_model *model, const edgestt_full_params *params, size_t *bytes,
                                      edgestt_diag *diag) {
    edgestt_full_params d;
    if (!model || !bytes) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL model or bytes");
    if (!params) edgestt_full_params_default(&d), params = &d;
    int st = check_plan(params, diag);
    if (st) return (edgestt_status)st;
    est_arena a;
    est_arena_init_measure(&a);
    if ((st = plan_state(model, params, &a, NULL)) != 0)
        return (edgestt_status)est_diag(diag, st, "state: cannot plan (%s)", edgestt_strerror(st));
    *bytes = est_arena_required(&a);
    return EDGESTT_OK;
}

edgestt_status edgestt_state_init(const edgestt_model *model, const edgestt_full_params *params, void *mem,
                                  size_t mem_size, edgestt_state **out, edgestt_diag *diag) {
    edgestt_full_params d;
    if (!out) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL out");
    *out = NULL;
    size_t need;
    if (!params) edgestt_full_params_default(&d), params = &d;
    int st = edgestt_state_mem_size(model, params, &need, diag);
    if (st) return (edgestt_status)st;
    void *owned = NULL;
    if (mem) {
        if (mem_size < need)
            return (edgestt_status)est_diag(diag, EDGESTT_E_NOMEM, "state: buffer of %zu bytes, the plan needs %zu",
                                            mem_size, need);
    } else {
        owned = est_port_alloc(need);
        if (!owned) return (edgestt_status)est_diag(diag, EDGESTT_E_NOMEM, "state: cannot allocate %zu bytes", need);
        mem = owned;
        mem_size = need;
    }
    est_arena a;
    edgestt_state *s = NULL;
    est_arena_init(&a, mem, mem_size);
    st = plan_state(model, params, &a, &s);
    if (st) {
        est_port_free(owned);
        return (edgestt_status)est_diag(diag, st == EDGESTT_E_NOMEM ? EDGESTT_E_INTERNAL : st,
                                        "state: placing the plan failed (%s)", edgestt_strerror(st));
    }
    s->owned = owned;
    s->arena = a;
    s->lang_token = -1;
    if (s->pk) {
        *out = s;
        return EDGESTT_OK;
    }
    s->be.ctx = s->ws;
    s->be.decode = be_decode;
    s->be.decode_batch = be_decode_batch;
    s->be.logits = be_logits;
    s->be.kv_copy = be_kv_copy;
    s->lang_token = -1;
    *out = s;
    return EDGESTT_OK;
}

void edgestt_state_free(edgestt_state *s) {
    if (!s) return;
    void *owned = s->owned;
    if (s->ws) est_whisper_state_release(s->ws);
    if (s->pk_pool) est_pool_destroy(s->pk_pool);
    memset(s, 0, sizeof *s);
    est_port_free(owned);
}

const char *edgestt_state_error(const edgestt_state *s) { return s ? s->err.msg : "NULL state"; }

/* ==== the seek loop ====================================================================== */

/* Mel of window frames [seek, seek + size) of the whole audio, normalised with gmax; frames past
 * size are 0.0 (whisper pads the mel segment with zeros, not with silence).  Compact-vocabulary
 * models (this project's recipe, models/whisper-gguf.md) were trained on the log-mel of the
 * zero-padded signal instead, so for them the whole window is computed from the padded audio. */
static int window_mel(edgestt_state *s, const float *pcm, size_t n, size_t seek, int size, float gmax) {
    const int nf = s->n_frames;
    const int frames = est_tok_is_compact(s->model->hp.n_vocab) ? nf : size;
    int st = frames > 0 ? est_log_mel_raw(pcm, n, seek, frames, s->model->w.mel_filters, s->n_mels, s->mel, (size_t)nf,
                                           NULL, s->mel_scratch, s->mel_scratch_size)
                        : EDGESTT_OK;
    if (st) return st;
    for (int m = 0; m < s->n_mels; m++) {
        float *row = s->mel + (size_t)m * nf;
        est_log_mel_normalize(row, (size_t)frames, gmax);
        for (int f = frames; f < nf; f++) row[f] = 0.0f;
    }
    return EDGESTT_OK;
}

/* Whisper's global maximum: raw log-mel over every frame that touches the audio plus one frame of
 * pure padding (the padded signal always has one), in window-sized chunks. */
static int global_max(edgestt_state *s, const float *pcm, size_t n, float *gmax) {
    const size_t frames = (n + 200) / EST_MEL_HOP + 2; /* frame f covers [160 f - 200, 160 f + 200) */
    float mx = -INFINITY;
    for (size_t f0 = 0; f0 < frames; f0 += (size_t)s->n_frames) {
        int cnt = frames - f0 < (size_t)s->n_frames ? (int)(frames - f0) : s->n_frames;
        int st = est_log_mel_raw(pcm, n, f0, cnt, s->model->w.mel_filters, s->n_mels, s->mel, (size_t)s->n_frames, &mx,
                                 s->mel_scratch, s->mel_scratch_size);
        if (st) return st;
    }
    *gmax = mx;
    return EDGESTT_OK;
}

static double ms_since(uint64_t t0) { return (double)(est_port_now_ns() - t0) / 1e6; }

/* Encode the window in s->mel. */
static int encode(edgestt_state *s) {
    uint64_t t0 = est_port_now_ns();
    int st = est_whisper_encode(s->ws, s->mel);
    s->tm.encode_ms += ms_since(t0);
    return st;
}

/* The previous-text tokens of the next window: the last n_text_ctx/2 - 1 of
 * (initial prompt + result tokens)[reset:]. */
static int gather_prompt(edgestt_state *s, int reset) {
    const int keep = s->model->hp.n_text_ctx / 2 - 1, total = s->n_init_total + s->n_tokens;
    int n = total - reset;
    if (n > keep) n = keep;
    for (int i = 0; i < n; i++) {
        int k = total - n + i; /* index into all_tokens */
        if (k >= s->n_init_total) s->prompt[i] = s->tokens[k - s->n_init_total].id;
        else s->prompt[i] = s->init_prompt[s->n_init_kept - (s->n_init_total - k)];
    }
    return n;
}

/* transcribe.py decode_with_fallback: the first temperature whose result passes the thresholds. */
static int decode_with_fallback(edgestt_state *s, const edgestt_full_params *p, est_dec_options *o, uint64_t *rng,
                                est_dec_result *r) {
    uint64_t t0 = est_port_now_ns();
    int st = EDGESTT_OK;
    for (int i = 0;; i++) {
        double t = (double)p->temperature + (double)i * (double)p->temperature_inc;
        if (i > 0 && (p->temperature_inc <= 0.0f || t > 1.0 + 1e-6)) break;
        if (i > 0) s->tm.n_fallbacks++;
        o->temperature = (float)t;
        o->rng = rng;
        if ((st = est_decode_run(&s->dec, &s->be, o, r, &s->err)) != 0) break;
        int fallback = 0;
        if (!isnan(p->compression_ratio_threshold) && r->compression_ratio > p->compression_ratio_threshold) fallback = 1;
        if (!isnan(p->logprob_threshold) && r->avg_logprob < p->logprob_threshold) fallback = 1;
        if (!isnan(p->no_speech_threshold) && r->no_speech_prob > p->no_speech_threshold && !isnan(p->logprob_threshold) &&
            r->avg_logprob < p->logprob_threshold)
            fallback = 0; /* silence: keep it, the caller skips the window */
        if (!fallback) break;
    }
    s->tm.decode_ms += ms_since(t0);
    return st;
}

/* Store one window's segments (absolute times) and their tokens; EDGESTT_E_LIMIT when full. */
static int store_window(edgestt_state *s, const est_dec_result *r, int n_wsegs, int64_t offset_ms) {
    const est_tokenizer *tok = &s->model->tok;
    const int tb = tok->st.timestamp_begin;
    for (int k = 0; k < n_wsegs; k++) {
        const est_dec_segment *w = &s->wsegs[k];
        int64_t t0 = offset_ms + w->t0_ms, t1 = offset_ms + w->t1_ms;
        int n = w->n;
        /* an instantaneous segment or one without text keeps its times but loses its tokens */
        size_t len = est_dec_text(tok, r->tokens + w->first, n, tok->st.eot, s->dec.text, s->dec.text_cap);
        size_t b, e;
        est_dec_strip(s->dec.text, len < s->dec.text_cap ? len : s->dec.text_cap, &b, &e);
        if (t0 == t1 || b == e) n = 0;
        if (s->n_segs >= s->plan.max_segments || n > s->plan.max_tokens - s->n_tokens)
            return est_diag(&s->err, EDGESTT_E_LIMIT, "transcribe: result storage full (%d segments, %d tokens planned) at %lld ms",
                            s->plan.max_segments, s->plan.max_tokens, (long long)t0);
        edgestt_segment *sg = &s->segs[s->n_segs];
        sg->t0_ms = t0;
        sg->t1_ms = t1;
        sg->first_token = s->n_tokens;
        sg->n_tokens = n;
        sg->avg_logprob = (float)r->avg_logprob;
        sg->no_speech_prob = (float)r->no_speech_prob;
        sg->compression_ratio = (float)r->compression_ratio;
        sg->temperature = r->temperature;
        /* text tokens share the segment's span in proportion to their byte lengths */
        int64_t weight_total = 0, acc = 0;
        for (int i = 0; i < n; i++) {
            int id = r->tokens[w->first + i];
            const uint8_t *tb_;
            size_t tl = 1;
            if (id < tb && est_tok_bytes(tok, id, &tb_, &tl) == EDGESTT_OK && tl == 0) tl = 1;
            if (id < tb) weight_total += (int64_t)tl;
        }
        for (int i = 0; i < n; i++) {
            int id = r->tokens[w->first + i];
            edgestt_token_data *td = &s->tokens[s->n_tokens + i];
            td->id = id;
            td->p = (float)exp((double)r->logprobs[w->first + i]);
            td->segment = s->n_segs;
            if (id >= tb) {
                td->t0_ms = td->t1_ms = offset_ms + (int64_t)(id - tb) * 20;
                continue;
            }
            const uint8_t *tb_;
            size_t tl = 1;
            if (est_tok_bytes(tok, id, &tb_, &tl) != EDGESTT_OK || tl == 0) tl = 1;
            td->t0_ms = t0 + (weight_total ? (t1 - t0) * acc / weight_total : 0);
            acc += (int64_t)tl;
            td->t1_ms = t0 + (weight_total ? (t1 - t0) * acc / weight_total : 0);
        }
        s->n_tokens += n;
        s->n_segs++;
    }
    return EDGESTT_OK;
}

/* The language token for params->language, detecting it on the first window when asked. */
static int resolve_language(edgestt_state *s, const edgestt_full_params *p, const float *pcm, size_t n, float gmax,
                            int *encoded_first) {
    const edgestt_special_tokens *sp = &s->model->tok.st;
    const char *lang = p->language;
    int auto_lang = !lang || !*lang || !strcmp(lang, "auto");
    *encoded_first = 0;
    s->lang_prob = 1.0f;
    if (!s->dec.multilingual) {
        if (!auto_lang && strcmp(lang, "en"))
            return est_diag(&s->err, EDGESTT_E_INVALID_ARG, "language '%s': the model is English-only", lang);
        s->lang_token = sp->lang_first; /* <|en|> */
        return EDGESTT_OK;
    }
    if (auto_lang && sp->n_languages == 1) { /* one language (compact models): nothing to detect */
        s->lang_token = sp->lang_first;
        return EDGESTT_OK;
    }
    if (!auto_lang) {
        for (int i = 0; i < sp->n_languages; i++) {
            const char *code = est_tok_language(i);
            if (code && !strcmp(code, lang)) {
                s->lang_token = sp->lang_first + i;
                return EDGESTT_OK;
            }
        }
        return est_diag(&s->err, EDGESTT_E_INVALID_ARG, "language '%s' is not one of the model's %d languages", lang,
                        sp->n_languages);
    }
    /* detect_language on the first 30 s of the normalised mel (not zeroed past the audio) */
    uint64_t t0 = est_port_now_ns();
    int st = est_log_mel_raw(pcm, n, 0, s->n_frames, s->model->w.mel_filters, s->n_mels, s->mel, (size_t)s->n_frames, NULL,
                             s->mel_scratch, s->mel_scratch_size);
    if (st) return est_diag(&s->err, st, "transcribe: log-mel failed");
    est_log_mel_normalize(s->mel, (size_t)s->n_mels * (size_t)s->n_frames, gmax);
    s->tm.mel_ms += ms_since(t0);
    if ((st = encode(s)) != 0) return est_diag(&s->err, st, "transcribe: the encoder failed");
    double prob;
    t0 = est_port_now_ns();
    st = est_decode_detect_language(&s->dec, &s->be, &s->lang_token, &prob);
    s->tm.decode_ms += ms_since(t0);
    if (st) return est_diag(&s->err, st, "transcribe: language detection failed");
    s->lang_prob = (float)prob;
    /* with at least a full window of audio, the first window's mel is this one */
    *encoded_first = n / EST_MEL_HOP >= (size_t)s->n_frames;
    return EDGESTT_OK;
}

/* A parakeet model: greedy TDT (RNN-T without durations), or modified beam search for beam_size > 1 (at
 * most EST_PK_MAX_BEAM), over the whole audio, one segment. */
static edgestt_status transcribe_pk(edgestt_state *s, const float *pcm, size_t n, const edgestt_full_params *p) {
    const est_pk_hparams *hp = &s->model->pk->hp;
    if (p->task == EDGESTT_TASK_TRANSLATE)
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_UNSUPPORTED, "transcribe: a parakeet model cannot translate");
    if (n > s->model->pk_max_samples)
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_LIMIT,
                                        "transcribe: %zu samples, the parakeet state is planned for %zu (max_audio_windows x 30 s)",
                                        n, s->model->pk_max_samples);
    const int cap = p->max_tokens < s->plan.max_tokens ? p->max_tokens : s->plan.max_tokens;
    int nt = 0;
    const uint64_t t0 = est_port_now_ns();
    const int beam = p->beam_size < 1 ? 1 : p->beam_size > EST_PK_MAX_BEAM ? EST_PK_MAX_BEAM : p->beam_size;
    int st = est_pk_transcribe_beam(s->pk, pcm, n, beam, s->pk_ids, s->pk_frames, s->pk_durs, s->pk_probs, cap, &nt,
                                    NULL);
    s->tm.encode_ms = ms_since(t0);
    s->tm.n_windows = 1;
    if (st == EDGESTT_E_LIMIT)
        return (edgestt_status)est_diag(&s->err, st, "transcribe: more than max_tokens %d tokens", cap);
    if (st) return (edgestt_status)est_diag(&s->err, st, "transcribe: the parakeet pipeline failed (%s)", edgestt_strerror(st));
    const int64_t frame_ms = (int64_t)hp->hop_length * hp->sub_factor * 1000 / hp->sample_rate;
    const int64_t end_ms = (int64_t)(n / 16); /* 16 samples per ms */
    for (int i = 0; i < nt; i++) {
        edgestt_token_data *t = &s->tokens[i];
        const int d = s->pk_durs[i] > 1 ? s->pk_durs[i] : 1;
        t->id = s->pk_ids[i];
        t->p = s->pk_probs[i];
        t->t0_ms = (int64_t)s->pk_frames[i] * frame_ms;
        t->t1_ms = t->t0_ms + d * frame_ms;
        if (t->t0_ms > end_ms) t->t0_ms = end_ms;
        if (t->t1_ms > end_ms) t->t1_ms = end_ms;
        t->segment = 0;
    }
    s->n_tokens = nt;
    if (nt > 0) {
        memset(&s->segs[0], 0, sizeof s->segs[0]);
        s->segs[0].t1_ms = end_ms;
        s->segs[0].n_tokens = nt;
        s->n_segs = 1;
    }
    if (p->progress) p->progress(p->progress_user, end_ms, end_ms);
    return EDGESTT_OK;
}

edgestt_status edgestt_transcribe(edgestt_state *s, const float *pcm, size_t n, const edgestt_full_params *params) {
    edgestt_full_params dflt;
    if (!s || !s->model) return EDGESTT_E_INVALID_ARG;
    s->err.msg[0] = 0;
    s->n_tokens = s->n_segs = 0;
    memset(&s->tm, 0, sizeof s->tm);
    if (!pcm && n) return (edgestt_status)est_diag(&s->err, EDGESTT_E_INVALID_ARG, "NULL samples");
    if (!params) {
        edgestt_full_params_default(&dflt);
        dflt.n_threads = s->plan.n_threads;
        dflt.beam_size = s->plan.beam_size;
        dflt.best_of = s->plan.best_of;
        dflt.max_tokens = s->plan.max_tokens;
        dflt.max_segments = s->plan.max_segments;
        dflt.max_prompt_bytes = s->plan.max_prompt_bytes;
        params = &dflt;
    }
    const edgestt_full_params *p = params;
    int st = check_plan(p, &s->err);
    if (st) return (edgestt_status)st;
    if (s->pk) return transcribe_pk(s, pcm, n, p);
    if (p->beam_size > rows_of(&s->plan))
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_LIMIT, "beam_size %d, the state was planned for %d", p->beam_size,
                                        rows_of(&s->plan));
    if (p->best_of > rows_of(&s->plan))
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_LIMIT, "best_of %d, the state was planned for %d", p->best_of,
                                        rows_of(&s->plan));
    if (p->patience > MAX_PATIENCE || p->patience < 0.0f || isnan(p->patience))
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_INVALID_ARG, "patience outside 0..2");
    if (!isnan(p->length_penalty) && !(p->length_penalty >= 0.0f && p->length_penalty <= 1.0f))
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_INVALID_ARG, "length_penalty outside 0..1");
    if (!(p->temperature >= 0.0f && p->temperature <= 1.0f) || isnan(p->temperature_inc))
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_INVALID_ARG, "temperature outside 0..1");
    if (p->sample_len < 0 || p->sample_len > s->dec.max_sample_len)
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_INVALID_ARG, "sample_len %d outside 0..%d", p->sample_len,
                                        s->dec.max_sample_len);
    if (p->task != EDGESTT_TASK_TRANSCRIBE && p->task != EDGESTT_TASK_TRANSLATE)
        return (edgestt_status)est_diag(&s->err, EDGESTT_E_INVALID_ARG, "unknown task %d", (int)p->task);

    const est_whisper_hparams *hp = &s->model->hp;
    const int tb = s->model->tok.st.timestamp_begin;
    /* the initial prompt: encode(" " + prompt.strip()), the last n_text_ctx/2 - 1 tokens kept */
    s->n_init_kept = s->n_init_total = 0;
    if (p->initial_prompt) {
        size_t len = strlen(p->initial_prompt), b, e;
        est_dec_strip((const uint8_t *)p->initial_prompt, len, &b, &e);
        if (e - b > (size_t)s->plan.max_prompt_bytes)
            return (edgestt_status)est_diag(&s->err, EDGESTT_E_LIMIT, "initial prompt of %zu bytes, the state was planned for %d",
                                            e - b, s->plan.max_prompt_bytes);
        s->prompt_text[0] = ' ';
        memcpy(s->prompt_text + 1, p->initial_prompt + b, e - b);
        st = est_bpe_encode(&s->dec.bpe, s->prompt_text, e - b + 1, s->init_prompt, hp->n_text_ctx / 2 - 1, &s->n_init_total,
                            s->dec.bpe_scratch, s->dec.bpe_scratch_size);
        if (st) return (edgestt_status)est_diag(&s->err, st, "initial prompt: cannot encode (%s)", edgestt_strerror(st));
        s->n_init_kept = s->n_init_total < hp->n_text_ctx / 2 - 1 ? s->n_init_total : hp->n_text_ctx / 2 - 1;
    }

    /* the global maximum of the padded audio's log-mel */
    uint64_t t0 = est_port_now_ns();
    float gmax;
    if ((st = global_max(s, pcm, n, &gmax)) != 0) return (edgestt_status)est_diag(&s->err, st, "transcribe: log-mel failed");
    s->tm.mel_ms += ms_since(t0);
    int encoded_first;
    if ((st = resolve_language(s, p, pcm, n, gmax, &encoded_first)) != 0) return (edgestt_status)st;

    est_dec_options o;
    est_dec_options_default(&o);
    o.task = p->task == EDGESTT_TASK_TRANSLATE ? EST_TASK_TRANSLATE : EST_TASK_TRANSCRIBE;
    o.language_token = s->lang_token;
    o.without_timestamps = !p->timestamps;
    o.beam_size = p->beam_size;
    o.best_of = p->best_of;
    o.sample_len = p->sample_len;
    o.patience = p->patience;
    o.length_penalty = p->length_penalty;
    o.suppress_blank = p->suppress_blank;
    o.suppress_non_speech = p->suppress_non_speech;
    o.max_initial_ts = p->max_initial_timestamp > 0.0f ? (int)nearbyint((double)p->max_initial_timestamp / 0.02) : -1;
    uint64_t rng = p->seed;

    const size_t content_frames = n / EST_MEL_HOP;
    size_t seek = 0;
    int reset = 0; /* prompt_reset_since, an index into initial prompt + result tokens */
    while (seek < content_frames) {
        const int size = content_frames - seek < (size_t)s->n_frames ? (int)(content_frames - seek) : s->n_frames;
        const int64_t offset_ms = (int64_t)seek * 10;
        if (!(seek == 0 && encoded_first)) {
            t0 = est_port_now_ns();
            st = window_mel(s, pcm, n, seek, size, gmax);
            s->tm.mel_ms += ms_since(t0);
            if (st) return (edgestt_status)est_diag(&s->err, st, "transcribe: log-mel failed at %lld ms", (long long)offset_ms);
            if ((st = encode(s)) != 0)
                return (edgestt_status)est_diag(&s->err, st, "transcribe: the encoder failed at %lld ms", (long long)offset_ms);
        }
        o.n_prompt = gather_prompt(s, reset);
        o.prompt = s->prompt;
        est_dec_result r;
        if ((st = decode_with_fallback(s, p, &o, &rng, &r)) != 0) return (edgestt_status)st;
        s->tm.n_windows++;
        int skip = !isnan(p->no_speech_threshold) && r.no_speech_prob > p->no_speech_threshold;
        if (skip && !isnan(p->logprob_threshold) && r.avg_logprob > p->logprob_threshold) skip = 0;
        if (skip) {
            seek += (size_t)size;
        } else {
            int adv;
            int k = est_dec_split_segments(r.tokens, r.n_tokens, tb, size, s->wsegs, hp->n_text_ctx / 2 + 2, &adv);
            if ((st = store_window(s, &r, k, offset_ms)) != 0) return (edgestt_status)st;
            seek += (size_t)adv;
            /* compact-vocabulary models are trained without <|startofprev|> prompts: never condition */
            if (!p->condition_on_previous_text || r.temperature > 0.5f || est_tok_is_compact(hp->n_vocab))
                reset = s->n_init_total + s->n_tokens;
        }
        if (p->progress)
            p->progress(p->progress_user, (int64_t)(seek < content_frames ? seek : content_frames) * 10,
                        (int64_t)content_frames * 10);
    }
    return EDGESTT_OK;
}

/* ==== results ============================================================================ */

int edgestt_n_segments(const edgestt_state *s) { return s ? s->n_segs : 0; }
int edgestt_n_tokens(const edgestt_state *s) { return s ? s->n_tokens : 0; }

edgestt_status edgestt_get_segment(const edgestt_state *s, int i, edgestt_segment *out) {
    if (!s || !out || i < 0 || i >= s->n_segs) return EDGESTT_E_INVALID_ARG;
    *out = s->segs[i];
    return EDGESTT_OK;
}

edgestt_status edgestt_get_token(const edgestt_state *s, int i, edgestt_token_data *out) {
    if (!s || !out || i < 0 || i >= s->n_tokens) return EDGESTT_E_INVALID_ARG;
    *out = s->tokens[i];
    return EDGESTT_OK;
}

/* Text of result tokens [first, first + n) into out (see edgestt_segment_text). */
static edgestt_status tokens_text(const edgestt_state *s, int first, int n, char *out, size_t cap, size_t *len) {
    if ((!out && cap) || !len) return EDGESTT_E_INVALID_ARG;
    if (s->pk) {
        int st = est_pk_detokenize(s->model->pk, s->pk_ids + first, n, out, cap, len);
        return (edgestt_status)(st == EDGESTT_OK && !cap ? EDGESTT_E_NOMEM : st);
    }
    const est_tokenizer *tok = &s->model->tok;
    const int *ids = n > 0 ? &s->tokens[first].id : NULL;
    size_t total = est_dec_text_strided(tok, ids, sizeof(edgestt_token_data) / sizeof(int), n, tok->st.eot,
                                        (uint8_t *)out, cap ? cap - 1 : 0);
    *len = total;
    if (cap) out[total < cap ? total : cap - 1] = 0;
    return total < cap ? EDGESTT_OK : EDGESTT_E_NOMEM;
}

edgestt_status edgestt_segment_text(const edgestt_state *s, int i, char *out, size_t cap, size_t *len) {
    if (!s || i < 0 || i >= s->n_segs) return EDGESTT_E_INVALID_ARG;
    return tokens_text(s, s->segs[i].first_token, s->segs[i].n_tokens, out, cap, len);
}

edgestt_status edgestt_full_text(const edgestt_state *s, char *out, size_t cap, size_t *len) {
    if (!s) return EDGESTT_E_INVALID_ARG;
    return tokens_text(s, 0, s->n_tokens, out, cap, len);
}

edgestt_status edgestt_get_language(const edgestt_state *s, const char **code, int *token, float *prob) {
    if (!s || s->lang_token < 0) return EDGESTT_E_INVALID_ARG;
    const edgestt_special_tokens *sp = &s->model->tok.st;
    if (code) *code = est_tok_language(s->lang_token - sp->lang_first);
    if (token) *token = s->lang_token;
    if (prob) *prob = s->lang_prob;
    return EDGESTT_OK;
}

edgestt_status edgestt_get_timings(const edgestt_state *s, edgestt_timings *out) {
    if (!s || !out) return EDGESTT_E_INVALID_ARG;
    *out = s->tm;
    return EDGESTT_OK;
}
