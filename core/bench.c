/*
 * bench.c - edgestt_bench: the forward pass timed the way whisper.cpp's whisper-bench times it
 * (one 30 s window encode, then single-token decoder steps at positions 0..n_tokens-1), so the
 * two engines' numbers compare like with like.  One block holds a synthetic log-mel window and a
 * one-slot forward-pass state; it is planned by the same function that places it (plan_bench).
 */
#include "model.h"
#include "../models/whisper_run.h"

/* Plan (measuring arena) or place the bench block: the mel window, then the forward-pass state. */
static int plan_bench(const edgestt_model *m, int n_threads, est_arena *a, float **mel, est_whisper_state **ws) {
    const size_t n_mel = (size_t)m->hp.n_mels * 2u * (size_t)m->hp.n_audio_ctx;
    void *p = NULL;
    int st = est_arena_array(a, n_mel, sizeof(float), &p);
    if (st) return st;
    *mel = (float *)p;
    est_whisper_state_opts kv;
    est_whisper_state_opts_of(m, &kv); /* the model's K/V cache type, as transcription states */
    return est_whisper_state_plan_ex(m, 1, n_threads, &kv, a, ws, NULL);
}

static double ms_between(uint64_t t0, uint64_t t1) { return (double)(t1 - t0) / 1e6; }

edgestt_status edgestt_bench(const edgestt_model *model, int n_threads, int n_tokens, edgestt_bench_result *out,
                             edgestt_diag *diag) {
    if (!model || !out) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "bench: NULL model or result");
    memset(out, 0, sizeof *out);
    if (model->pk) return (edgestt_status)est_diag(diag, EDGESTT_E_UNSUPPORTED, "bench: Whisper models only (parakeet: models/tools/parakeet-bench)");
    if (n_threads < 1 || n_threads > EST_MAX_THREADS)
        return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "bench: threads %d not in [1, %d]", n_threads,
                                        EST_MAX_THREADS);
    if (n_tokens < 1 || n_tokens > model->hp.n_text_ctx)
        return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "bench: tokens %d not in [1, %d]", n_tokens,
                                        model->hp.n_text_ctx);
    est_arena a;
    float *mel = NULL;
    est_whisper_state *ws = NULL;
    est_arena_init_measure(&a);
    int st = plan_bench(model, n_threads, &a, &mel, &ws);
    if (st) return (edgestt_status)est_diag(diag, st, "bench: cannot plan the state (%s)", edgestt_strerror(st));
    const size_t need = est_arena_required(&a);
    void *block = est_port_alloc(need);
    if (!block) return (edgestt_status)est_diag(diag, EDGESTT_E_NOMEM, "bench: cannot allocate %zu bytes", need);
    est_arena_init(&a, block, need);
    if ((st = plan_bench(model, n_threads, &a, &mel, &ws)) != 0) {
        est_port_free(block);
        return (edgestt_status)est_diag(diag, EDGESTT_E_INTERNAL, "bench: placing the planned state failed");
    }
    /* a log-mel-like pattern in [-0.5, 1.5] (whisper's normalised range) */
    const size_t n_mel = (size_t)model->hp.n_mels * 2u * (size_t)model->hp.n_audio_ctx;
    uint32_t r = 0x9e3779b9u;
    for (size_t i = 0; i < n_mel; i++) {
        r = r * 1664525u + 1013904223u;
        mel[i] = (float)(r >> 8) * (2.0f / 16777216.0f) - 0.5f;
    }
    const int tok = 0;
    /* warm-up: an encode (pages in the weights) and two steps */
    if ((st = est_whisper_encode(ws, mel)) != 0 || (st = est_whisper_decode(ws, 0, &tok, 1, 0)) != 0 ||
        (st = est_whisper_decode(ws, 0, &tok, 1, 1)) != 0)
        goto fail;
    uint64_t t0 = est_port_now_ns();
    if ((st = est_whisper_encode(ws, mel)) != 0) goto fail;
    uint64_t t1 = est_port_now_ns();
    for (int i = 0; i < n_tokens; i++)
        if ((st = est_whisper_decode(ws, 0, &tok, 1, i)) != 0) goto fail;
    uint64_t t2 = est_port_now_ns();
    out->encode_ms = ms_between(t0, t1);
    out->decode_ms_per_token = ms_between(t1, t2) / (double)n_tokens;
    out->n_tokens = n_tokens;
    out->state_bytes = need;
    out->kv_type = model->kv_type;
    out->peak_rss_bytes = est_port_peak_rss_bytes();
    est_whisper_state_release(ws);
    est_port_free(block);
    return EDGESTT_OK;
fail:
    est_whisper_state_release(ws);
    est_port_free(block);
    return (edgestt_status)est_diag(diag, st, "bench: forward pass failed (%s)", edgestt_strerror(st));
}
