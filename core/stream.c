/*
 * stream.c - streaming dictation (edgestt_stream_*): VAD-gated utterances from pushed audio,
 * partial text at a fixed cadence while someone speaks, final text after the endpoint silence,
 * a fast and an accurate model (hybrid).
 *
 * The stream cuts the input into EDGESTT_VAD_WINDOW windows and feeds each to the caller's VAD
 * (segmenter min_silence_ms = endpoint_ms).  Audio is kept in one linear buffer `utt`:
 *   idle      the last `hist` samples (speech pad + two windows), so a start can be padded back;
 *   speaking  from (speech start - pad) up to now; a final transcribes [utt, end of speech + pad).
 * utt_start is the stream position of utt[0]; pos is the number of samples fed to the VAD.
 *
 * With vad.max_speech_ms the VAD ends a long utterance at its last silence > 98 ms (or hard): a
 * final up to there, and speech that resumed after it is the next utterance (its audio kept).
 *
 * A transducer (Parakeet) streams through the same calls: its state is planned for the model's
 * max_audio_windows x 30 s, so the utterance is capped to fit one call (audio buffer included);
 * a partial re-runs the utterance so far (greedy), a final runs the stream's decoding (beam > 1:
 * modified beam search).  Unlike Whisper there is no 30 s padding: the work grows with the
 * speech, which is what makes a transducer's partials cheap.  The encoder is not chunked or
 * cache-aware yet (each partial encodes the utterance again).
 *
 * Invariants: utt_len <= utt_cap always (a final is forced before the buffer would overflow, at
 * max_utterance samples); every buffer is placed at init from one planned block (measure mode of
 * the same plan function gives the size), so push/flush never allocate; the transcription states
 * are edgestt_state's placed inside that block, sharing one edgestt_pool placed there too.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "edgestt.h"
#include "model.h"
#include "../port/port.h"

#define WIN EDGESTT_VAD_WINDOW

struct edgestt_stream {
    const edgestt_model *model[2];   /* fast, accurate (either may be NULL) */
    edgestt_state *state[2];         /* one per distinct model in use */
    edgestt_pool *pool;              /* the states' shared pool, if the stream made it */
    int partial_model, final_model;  /* index into model[] */
    edgestt_vad *vad;
    edgestt_stream_params p;
    edgestt_full_params partial_dec; /* greedy, no fallback */
    int64_t partial_samples, pad_samples, hist_samples, max_utt_samples;
    float *utt;                      /* (utt_cap) utterance audio */
    size_t utt_cap, utt_len;
    int64_t utt_start;               /* stream position of utt[0] */
    float *win;                      /* (WIN) the window being filled */
    int win_len;
    int64_t pos;                     /* samples fed to the VAD */
    int64_t vad_base;                /* stream position of the VAD's sample 0 (its last reset) */
    int speaking;
    int64_t speech_start;            /* unpadded start of the current utterance */
    int64_t last_partial;            /* position of the last partial (or of the start) */
    int utterance;                   /* index of the next final */
    char *text;                      /* (text_cap) */
    size_t text_cap;
    int owned;
    void *block;
    char error[256];
};

void edgestt_stream_params_default(edgestt_stream_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->mode = EDGESTT_STREAM_AUTO;
    p->partial_ms = 500;
    p->endpoint_ms = 600;
    p->max_utterance_ms = 0;
    p->max_text_bytes = 4096;
    edgestt_vad_params_default(&p->vad);
    edgestt_full_params_default(&p->decode);
    p->decode.beam_size = 0;
    p->decode.best_of = 1;
    p->decode.temperature_inc = 0.0f;
    p->decode.timestamps = 0;
    p->decode.condition_on_previous_text = 0;
    p->decode.max_tokens = 1024;
    p->decode.max_segments = 64;
    p->decode.max_prompt_bytes = 1024;
}

/* Samples of one model's window (2 * n_audio_ctx mel frames of 160 samples); a transducer's:
 * the audio its states are planned for. */
static int64_t window_samples(const edgestt_model *m) {
    edgestt_model_info in;
    if (!m || edgestt_model_get_info(m, &in) != EDGESTT_OK) return 0;
    if (m->pk) return (int64_t)m->pk_max_samples;
    return (int64_t)in.n_audio_ctx * 2 * 160;
}

/* Samples one transducer call may take (the smaller state of the two models), 0 if neither is one. */
static int64_t pk_limit(const edgestt_model *fast, const edgestt_model *acc) {
    int64_t a = fast && fast->pk ? (int64_t)fast->pk_max_samples : 0, b = acc && acc->pk ? (int64_t)acc->pk_max_samples : 0;
    return a && b ? (a < b ? a : b) : (a ? a : b);
}

/* Which models serve partials and finals, from the mode and the models present. */
static int pick_models(const edgestt_model *fast, const edgestt_model *acc, edgestt_stream_mode mode, int *part,
                       int *fin) {
    if (!fast && !acc) return EDGESTT_E_INVALID_ARG;
    int f = fast ? 0 : 1, a = acc ? 1 : 0;
    if (mode == EDGESTT_STREAM_FAST) *part = *fin = f;
    else if (mode == EDGESTT_STREAM_ACCURATE) *part = *fin = a;
    else if (mode == EDGESTT_STREAM_AUTO) *part = f, *fin = a;
    else return EDGESTT_E_INVALID_ARG;
    return EDGESTT_OK;
}

/* Checks and derived sizes shared by mem_size and init. */
static int check_params(const edgestt_model *fast, const edgestt_model *acc, const edgestt_stream_params *p,
                        int64_t *max_utt, edgestt_diag *d) {
    int part, fin;
    if (pick_models(fast, acc, p->mode, &part, &fin))
        return est_diag(d, EDGESTT_E_INVALID_ARG, "stream: no model, or mode %d unknown", (int)p->mode);
    if (p->partial_ms < 0 || p->partial_ms > 600000 || p->endpoint_ms < 32 || p->endpoint_ms > 600000 ||
        p->max_utterance_ms < 0 || p->max_utterance_ms > 600000 || p->max_text_bytes < 16 ||
        p->max_text_bytes > (1 << 24))
        return est_diag(d, EDGESTT_E_INVALID_ARG,
                        "stream: partial_ms 0..600000, endpoint_ms 32..600000, max_utterance_ms 0..600000, "
                        "max_text_bytes 16..16M");
    if (p->vad.max_speech_ms < 0 || p->vad.max_speech_ms > 600000)
        return est_diag(d, EDGESTT_E_INVALID_ARG, "stream: vad.max_speech_ms 0..600000");
    int64_t w0 = window_samples(fast), w1 = window_samples(acc);
    int64_t w = w0 && w1 ? (w0 < w1 ? w0 : w1) : (w0 ? w0 : w1);
    int64_t max_speech = (int64_t)p->vad.max_speech_ms * 16;
    *max_utt = p->max_utterance_ms ? (int64_t)p->max_utterance_ms * 16 : max_speech ? max_speech : w;
    /* the VAD's max_speech_ms cut (at the last silence) comes before the stream's own hard cut */
    if (max_speech && *max_utt >= max_speech) *max_utt = max_speech + 2 * WIN;
    if (*max_utt < 2 * WIN) *max_utt = 2 * WIN;
    /* a transducer takes the whole utterance buffer in one call (see plan): it must fit its state */
    const int64_t lim = pk_limit(fast, acc);
    if (lim) {
        const int64_t pad = (int64_t)p->vad.speech_pad_ms * 16, extra = 2 * pad + 3 * WIN + (int64_t)p->endpoint_ms * 16;
        if (lim - extra < 2 * WIN)
            return est_diag(d, EDGESTT_E_LIMIT, "stream: the transducer's %lld samples leave no room for an utterance "
                            "(speech_pad_ms, endpoint_ms)", (long long)lim);
        if (*max_utt > lim - extra) *max_utt = lim - extra;
    }
    return EDGESTT_OK;
}

/* Reserve (measuring) or place every buffer and the states.  On placing, s is filled. */
static int plan(const edgestt_model *fast, const edgestt_model *acc, const edgestt_stream_params *p, int64_t max_utt,
                est_arena *a, edgestt_stream *s, edgestt_diag *d) {
    int st, part = 0, fin = 0;
    void *q;
    pick_models(fast, acc, p->mode, &part, &fin);
    int64_t pad = (int64_t)p->vad.speech_pad_ms * 16, endpoint = (int64_t)p->endpoint_ms * 16;
    /* the utterance, its padding before, the endpoint silence and pad after, one window slack */
    int64_t cap = max_utt + pad + 2 * WIN + endpoint + pad + WIN;
    if ((st = est_arena_array(a, (size_t)cap, sizeof(float), &q)) != 0) return st;
    if (s) s->utt = (float *)q, s->utt_cap = (size_t)cap;
    if ((st = est_arena_array(a, WIN, sizeof(float), &q)) != 0) return st;
    if (s) s->win = (float *)q;
    if ((st = est_arena_alloc(a, (size_t)p->max_text_bytes + 1, &q)) != 0) return st;
    if (s) s->text = (char *)q, s->text_cap = (size_t)p->max_text_bytes + 1;
    /* one pool for the states (they never run at once), unless the caller gives one */
    edgestt_full_params dp = p->decode;
    if (!dp.pool) {
        size_t pb;
        if (edgestt_pool_mem_size(dp.n_threads, &pb) != 0)
            return est_diag(d, EDGESTT_E_INVALID_ARG, "stream: decode.n_threads %d out of range", dp.n_threads);
        if ((st = est_arena_alloc(a, pb, &q)) != 0) return st;
        if (s && (st = edgestt_pool_create(dp.n_threads, q, pb, &s->pool, d)) != 0) return st;
        /* measuring: any non-NULL pointer (the plan only asks whether a pool is given) */
        dp.pool = s ? s->pool : (edgestt_pool *)(void *)&dp;
    }
    const edgestt_model *m[2] = {fast, acc};
    for (int i = 0; i < 2; i++) {
        if (!m[i] || (i != part && i != fin)) continue;
        size_t need;
        if ((st = edgestt_state_mem_size(m[i], &dp, &need, d)) != 0) return st;
        if ((st = est_arena_alloc(a, need, &q)) != 0) return st;
        if (s && (st = edgestt_state_init(m[i], &dp, q, need, &s->state[i], d)) != 0) return st;
    }
    return EDGESTT_OK;
}

edgestt_status edgestt_stream_mem_size(const edgestt_model *fast, const edgestt_model *acc,
                                       const edgestt_stream_params *in, size_t *bytes, edgestt_diag *d) {
    edgestt_stream_params p;
    int64_t max_utt;
    if (!bytes) return (edgestt_status)est_diag(d, EDGESTT_E_INVALID_ARG, "stream: bytes is NULL");
    if (in) p = *in;
    else edgestt_stream_params_default(&p);
    int st = check_params(fast, acc, &p, &max_utt, d);
    if (st) return (edgestt_status)st;
    est_arena a;
    est_arena_init_measure(&a);
    void *q;
    if ((st = est_arena_alloc(&a, sizeof(edgestt_stream), &q)) != 0) return (edgestt_status)st;
    if ((st = plan(fast, acc, &p, max_utt, &a, NULL, d)) != 0) return (edgestt_status)st;
    *bytes = est_arena_required(&a);
    return EDGESTT_OK;
}

edgestt_status edgestt_stream_init(const edgestt_model *fast, const edgestt_model *acc, edgestt_vad *vad,
                                   const edgestt_stream_params *in, void *mem, size_t mem_size, edgestt_stream **out,
                                   edgestt_diag *d) {
    edgestt_stream_params p;
    int64_t max_utt;
    size_t need;
    if (!out || !vad) return (edgestt_status)est_diag(d, EDGESTT_E_INVALID_ARG, "stream: NULL out or vad");
    *out = NULL;
    if (in) p = *in;
    else edgestt_stream_params_default(&p);
    int st = edgestt_stream_mem_size(fast, acc, &p, &need, d);
    if (st) return (edgestt_status)st;
    check_params(fast, acc, &p, &max_utt, d);
    edgestt_vad_params vp = p.vad;
    vp.min_silence_ms = p.endpoint_ms;
    if ((st = edgestt_vad_set_params(vad, &vp)) != 0)
        return (edgestt_status)est_diag(d, st, "stream: VAD parameters rejected (thresholds 0..1, durations >= 0)");
    void *owned = NULL;
    if (!mem) {
        owned = mem = est_port_alloc(need);
        if (!mem) return (edgestt_status)est_diag(d, EDGESTT_E_NOMEM, "stream: cannot allocate %zu bytes", need);
        mem_size = need;
    } else if (mem_size < need) {
        return (edgestt_status)est_diag(d, EDGESTT_E_NOMEM, "stream: buffer of %zu bytes, the plan needs %zu", mem_size,
                                        need);
    }
    est_arena a;
    est_arena_init(&a, mem, mem_size);
    void *q;
    if ((st = est_arena_alloc(&a, sizeof(edgestt_stream), &q)) != 0) {
        est_port_free(owned);
        return (edgestt_status)est_diag(d, EDGESTT_E_INTERNAL, "stream: placement differs from the plan");
    }
    edgestt_stream *s = (edgestt_stream *)q;
    memset(s, 0, sizeof *s);
    s->model[0] = fast, s->model[1] = acc;
    s->vad = vad;
    s->p = p;
    pick_models(fast, acc, p.mode, &s->partial_model, &s->final_model);
    if ((st = plan(fast, acc, &p, max_utt, &a, s, d)) != 0) {
        for (int i = 0; i < 2; i++) edgestt_state_free(s->state[i]);
        edgestt_pool_destroy(s->pool);
        est_port_free(owned);
        return (edgestt_status)st;
    }
    s->partial_dec = p.decode;
    s->partial_dec.beam_size = 0;
    s->partial_dec.temperature_inc = 0.0f;
    s->partial_dec.progress = NULL;
    s->partial_samples = (int64_t)p.partial_ms * 16;
    s->pad_samples = (int64_t)p.vad.speech_pad_ms * 16;
    s->hist_samples = s->pad_samples + 2 * WIN;
    s->max_utt_samples = max_utt;
    s->owned = owned != NULL;
    s->block = mem;
    edgestt_stream_reset(s);
    *out = s;
    return EDGESTT_OK;
}

void edgestt_stream_reset(edgestt_stream *s) {
    if (!s) return;
    edgestt_vad_reset(s->vad);
    s->utt_len = 0;
    s->utt_start = 0;
    s->win_len = 0;
    s->pos = 0;
    s->vad_base = 0;
    s->speaking = 0;
    s->speech_start = s->last_partial = 0;
    s->utterance = 0;
    s->error[0] = 0;
}

const char *edgestt_stream_error(const edgestt_stream *s) { return s ? s->error : ""; }

void edgestt_stream_free(edgestt_stream *s) {
    if (!s) return;
    for (int i = 0; i < 2; i++) edgestt_state_free(s->state[i]);
    edgestt_pool_destroy(s->pool);
    if (s->owned) est_port_free(s->block);
}

/* Drop the first n samples of utt. */
static void utt_drop(edgestt_stream *s, size_t n) {
    if (n > s->utt_len) n = s->utt_len;
    memmove(s->utt, s->utt + n, (s->utt_len - n) * sizeof(float));
    s->utt_len -= n;
    s->utt_start += (int64_t)n;
}

/* Whitespace trimmed in place (the text is Whisper's, starting with a space). */
static void trim(char *t) {
    size_t n = strlen(t), i = 0;
    while (i < n && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t')) i++;
    while (n > i && (t[n - 1] == ' ' || t[n - 1] == '\n' || t[n - 1] == '\t')) n--;
    memmove(t, t + i, n - i);
    t[n - i] = 0;
}

/* Transcribe utt[0, n) with model k into an event of the given type. */
static int recognise(edgestt_stream *s, int k, size_t n, edgestt_stream_event_type type, int64_t t1,
                     edgestt_stream_event *ev) {
    const edgestt_full_params *dp = type == EDGESTT_EVENT_PARTIAL ? &s->partial_dec : &s->p.decode;
    uint64_t t0 = est_port_now_ns();
    int st = edgestt_transcribe(s->state[k], s->utt, n, dp);
    size_t len = 0;
    ev->truncated = 0;
    if (st == EDGESTT_OK || st == EDGESTT_E_LIMIT) {
        int ts = edgestt_full_text(s->state[k], s->text, s->text_cap, &len);
        if (ts == EDGESTT_E_NOMEM) ev->truncated = 1;
        else if (ts) s->text[0] = 0;
        st = EDGESTT_OK;
    }
    if (st) {
        est_fmt(s->error, sizeof s->error, "stream: transcription failed: %s", edgestt_state_error(s->state[k]));
        return st;
    }
    trim(s->text);
    edgestt_segment seg;
    if (edgestt_n_segments(s->state[k]) > 0 && edgestt_get_segment(s->state[k], 0, &seg) == EDGESTT_OK)
        ev->avg_logprob = seg.avg_logprob, ev->no_speech_prob = seg.no_speech_prob;
    else ev->avg_logprob = ev->no_speech_prob = NAN;
    ev->type = type;
    ev->utterance = s->utterance;
    ev->t0_ms = s->speech_start / 16;
    ev->t1_ms = t1 / 16;
    ev->at_ms = s->pos / 16;
    ev->text = s->text;
    ev->model = k;
    ev->compute_ms = (double)(est_port_now_ns() - t0) / 1e6;
    return EDGESTT_OK;
}

/* The final of the current utterance over utt up to stream position end_pos (clamped). */
static int final_event(edgestt_stream *s, int64_t speech_end, int64_t end_pos, edgestt_stream_event *ev) {
    int64_t n = end_pos - s->utt_start;
    if (n > (int64_t)s->utt_len) n = (int64_t)s->utt_len;
    if (n < 0) n = 0;
    int st = recognise(s, s->final_model, (size_t)n, EDGESTT_EVENT_FINAL, speech_end, ev);
    s->utterance++;
    return st;
}

/* One full window: keep its audio, run the VAD, move the utterance state.  An event is written
 * to ev (type stays NONE otherwise). */
static int process_window(edgestt_stream *s, edgestt_stream_event *ev) {
    int st;
    /* an utterance at its longest is cut here: final now, the speech goes on as a new one */
    if (s->speaking && s->pos - s->utt_start + WIN > s->max_utt_samples) {
        int64_t cut = s->pos;
        st = final_event(s, cut, cut, ev);
        utt_drop(s, s->utt_len);
        s->speech_start = s->last_partial = cut;
        if (st) return st;
    }
    memcpy(s->utt + s->utt_len, s->win, WIN * sizeof(float));
    s->utt_len += WIN;
    edgestt_vad_event ve;
    if ((st = edgestt_vad_feed(s->vad, s->win, &ve)) != 0) {
        est_fmt(s->error, sizeof s->error, "stream: VAD failed (%s)", edgestt_strerror(st));
        return st;
    }
    s->pos += WIN;
    if (ve.started && !s->speaking) {
        s->speaking = 1;
        s->speech_start = s->vad_base + ve.start_sample;
        s->last_partial = s->pos;
        int64_t from = s->speech_start - s->pad_samples;
        if (from > s->utt_start) utt_drop(s, (size_t)(from - s->utt_start));
    }
    if (ve.ended && s->speaking) {
        s->speaking = 0;
        /* a cut utterance's remainder is judged by its own length; a max_speech_ms cut is kept */
        int64_t end = s->vad_base + ve.end_sample;
        int keep = ve.kept && (ve.cut ? end > s->speech_start
                                      : (end - s->speech_start) * 1000 > (int64_t)s->p.vad.min_speech_ms * 16000);
        if (keep && ev->type == EDGESTT_EVENT_NONE) st = final_event(s, end, end + s->pad_samples, ev);
        else st = EDGESTT_OK;
        if (st) return st;
        if (ve.cut && ve.next_start >= 0) {
            /* speech resumed after the silence the VAD cut at: it goes on as the next utterance */
            s->speaking = 1;
            s->speech_start = s->vad_base + ve.next_start;
            s->last_partial = s->pos;
            int64_t from = s->speech_start - s->pad_samples;
            if (from > s->utt_start) utt_drop(s, (size_t)(from - s->utt_start));
        }
    }
    if (!s->speaking && (int64_t)s->utt_len > s->hist_samples) utt_drop(s, s->utt_len - (size_t)s->hist_samples);
    return EDGESTT_OK;
}

edgestt_status edgestt_stream_push(edgestt_stream *s, const float *pcm, const int16_t *pcm16, size_t n,
                                   size_t *consumed, edgestt_stream_event *ev) {
    if (!s || !consumed || !ev || (n && !pcm == !pcm16)) return EDGESTT_E_INVALID_ARG;
    memset(ev, 0, sizeof *ev);
    *consumed = 0;
    s->error[0] = 0;
    size_t i = 0;
    while (i < n) {
        size_t take = (size_t)(WIN - s->win_len);
        if (take > n - i) take = n - i;
        if (pcm) memcpy(s->win + s->win_len, pcm + i, take * sizeof(float));
        else
            for (size_t j = 0; j < take; j++) s->win[s->win_len + (int)j] = (float)pcm16[i + j] * (1.0f / 32768.0f);
        s->win_len += (int)take;
        i += take;
        if (s->win_len < WIN) break;
        s->win_len = 0;
        int st = process_window(s, ev);
        if (st || ev->type != EDGESTT_EVENT_NONE) {
            *consumed = i;
            return (edgestt_status)st;
        }
    }
    *consumed = i;
    /* a partial at the end of the push, when one is due */
    if (s->speaking && s->partial_samples > 0 && s->pos - s->last_partial >= s->partial_samples) {
        s->last_partial = s->pos;
        return (edgestt_status)recognise(s, s->partial_model, s->utt_len, EDGESTT_EVENT_PARTIAL, s->pos, ev);
    }
    return EDGESTT_OK;
}

edgestt_status edgestt_stream_flush(edgestt_stream *s, edgestt_stream_event *ev) {
    if (!s || !ev) return EDGESTT_E_INVALID_ARG;
    memset(ev, 0, sizeof *ev);
    s->error[0] = 0;
    /* the last partial window's samples join the utterance (not the VAD) */
    if (s->win_len && s->utt_len + (size_t)s->win_len <= s->utt_cap) {
        memcpy(s->utt + s->utt_len, s->win, (size_t)s->win_len * sizeof(float));
        s->utt_len += (size_t)s->win_len;
    }
    int64_t end = s->pos + s->win_len;
    s->win_len = 0;
    edgestt_vad_event ve;
    int st = edgestt_vad_finish(s->vad, (uint64_t)(end - s->vad_base), &ve);
    if (st) return (edgestt_status)st;
    int was = s->speaking;
    s->speaking = 0;
    int64_t speech_end = s->vad_base + ve.end_sample;
    if (was && ve.ended && (speech_end - s->speech_start) * 1000 > (int64_t)s->p.vad.min_speech_ms * 16000)
        st = final_event(s, speech_end, end, ev);
    edgestt_vad_reset(s->vad);
    s->utt_len = 0;
    s->utt_start = s->pos = s->vad_base = end;
    return (edgestt_status)st;
}

edgestt_status edgestt_stream_warmup(edgestt_stream *s) {
    if (!s) return EDGESTT_E_INVALID_ARG;
    size_t n = s->utt_cap < 16000 ? s->utt_cap : 16000;
    for (int k = 0; k < 2; k++) {
        if (!s->state[k]) continue;
        float *tmp = s->utt;
        size_t keep = s->utt_len;
        /* the warm-up runs on zeros placed after the kept audio when there is room, else it waits */
        if (keep + n > s->utt_cap) return EDGESTT_E_LIMIT;
        memset(tmp + keep, 0, n * sizeof(float));
        int st = edgestt_transcribe(s->state[k], tmp + keep, n, &s->partial_dec);
        if (st && st != EDGESTT_E_LIMIT) {
            est_fmt(s->error, sizeof s->error, "stream: warm-up failed: %s", edgestt_state_error(s->state[k]));
            return (edgestt_status)st;
        }
    }
    return EDGESTT_OK;
}
