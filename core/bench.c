/*
 * bench.c - edgestt_bench: the forward pass timed the way whisper.cpp's whisper-bench times it
 * (one 30 s window encode, then single-token decoder steps at positions 0..n_tokens-1), so the
 * two engines' numbers compare like with like.  One block holds a synthetic log-mel window and a
 * one-slot forward-pass state; it is planned by the same function that places it (plan_bench).
 * A transducer (Parakeet) is timed on 30 s of synthetic audio instead: front end, encoder, greedy
 * decoding (joint projection included), each once after a warm-up run (bench_pk).
 */
#include <math.h>

#include "model.h"
#include "../models/parakeet.h"
#include "../models/whisper_run.h"

#define PK_BENCH_SECONDS 30 /* the transducer bench's audio (Whisper's window length) */
#define PK_BENCH_TOKENS 4096 /* room for the greedy tokens of PK_BENCH_SECONDS */

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

/* Plan (measuring arena) or place the transducer bench block: audio, token/frame arrays, state. */
static int plan_bench_pk(const edgestt_model *m, int n_threads, size_t n_samples, est_arena *a, float **pcm,
                         int32_t **tok, int32_t **fr, est_pk_state **s, void **smem, size_t *ssize, void **pool_mem) {
    void *p = NULL;
    int st;
    if ((st = est_arena_array(a, n_samples, sizeof(float), &p))) return st;
    *pcm = (float *)p;
    if ((st = est_arena_array(a, 2 * PK_BENCH_TOKENS, sizeof(int32_t), &p))) return st;
    *tok = (int32_t *)p;
    *fr = *tok ? *tok + PK_BENCH_TOKENS : NULL;
    if ((st = est_arena_alloc(a, sizeof(est_pk_state), &p))) return st;
    *s = (est_pk_state *)p;
    if ((st = est_pk_state_size(m->pk, n_samples, n_threads, ssize))) return st;
    if ((st = est_arena_alloc(a, *ssize, smem))) return st;
    return est_arena_alloc(a, est_pool_size(n_threads), pool_mem);
}

/* One front end + encoder + greedy pass over pcm; times in ms into t[3] (t may be NULL). */
static int run_pk(est_pk_state *s, const float *pcm, size_t n, int32_t *tok, int32_t *fr, int *n_tok, double *t) {
    int tf = 0, valid = 0, te = 0, st;
    const uint64_t t0 = est_port_now_ns();
    if ((st = est_pk_features(s, pcm, n, &tf, &valid))) return st;
    const uint64_t t1 = est_port_now_ns();
    if ((st = est_pk_encode(s, valid, &te, NULL))) return st;
    const uint64_t t2 = est_port_now_ns();
    if ((st = est_pk_project_enc(s, te)) || (st = est_pk_greedy(s, te, tok, fr, NULL, PK_BENCH_TOKENS, n_tok))) return st;
    const uint64_t t3 = est_port_now_ns();
    if (t) t[0] = ms_between(t0, t1), t[1] = ms_between(t1, t2), t[2] = ms_between(t2, t3);
    return EDGESTT_OK;
}

/* The transducer bench's signal: a rising chirp (100 Hz - 4 kHz over each second) under low noise. */
void est_bench_signal(float *pcm, size_t n) {
    const double two_pi = 2.0 * 3.14159265358979323846;
    uint32_t r = 0x9e3779b9u;
    double ph = 0;
    for (size_t i = 0; i < n; i++) {
        const double f = 100.0 + 3900.0 * (double)(i % 16000u) / 16000.0;
        ph += two_pi * f / 16000.0;
        if (ph > two_pi) ph -= two_pi;
        r = r * 1664525u + 1013904223u;
        pcm[i] = (float)(0.3 * sin(ph)) + (float)(r >> 8) * (0.02f / 16777216.0f) - 0.01f;
    }
}

/* The transducer bench: 30 s of est_bench_signal, a warm-up run, a timed run. */
static edgestt_status bench_pk(const edgestt_model *model, int n_threads, edgestt_bench_result *out, edgestt_diag *diag) {
    const size_t n = (size_t)PK_BENCH_SECONDS * 16000u;
    est_arena a;
    float *pcm = NULL;
    int32_t *tok = NULL, *fr = NULL;
    est_pk_state *s = NULL;
    void *smem = NULL, *pool_mem = NULL;
    size_t ssize = 0;
    est_arena_init_measure(&a);
    int st = plan_bench_pk(model, n_threads, n, &a, &pcm, &tok, &fr, &s, &smem, &ssize, &pool_mem);
    if (st) return (edgestt_status)est_diag(diag, st, "bench: cannot plan the state (%s)", edgestt_strerror(st));
    const size_t need = est_arena_required(&a);
    void *block = est_port_alloc(need);
    if (!block) return (edgestt_status)est_diag(diag, EDGESTT_E_NOMEM, "bench: cannot allocate %zu bytes", need);
    est_arena_init(&a, block, need);
    if ((st = plan_bench_pk(model, n_threads, n, &a, &pcm, &tok, &fr, &s, &smem, &ssize, &pool_mem)) != 0) {
        est_port_free(block);
        return (edgestt_status)est_diag(diag, EDGESTT_E_INTERNAL, "bench: placing the planned state failed");
    }
    est_pool *pool = NULL;
    if ((st = est_pool_init(&pool, pool_mem, est_pool_size(n_threads), n_threads)) != 0) {
        est_port_free(block);
        return (edgestt_status)est_diag(diag, st, "bench: cannot start %d threads", n_threads);
    }
    if ((st = est_pk_state_init(s, model->pk, n, pool, smem, ssize)) != 0) goto fail;
    est_bench_signal(pcm, n);
    int n_tok = 0;
    double t[3];
    if ((st = run_pk(s, pcm, n, tok, fr, &n_tok, NULL)) != 0 || (st = run_pk(s, pcm, n, tok, fr, &n_tok, t)) != 0)
        goto fail;
    out->audio_s = (double)PK_BENCH_SECONDS;
    out->features_ms = t[0];
    out->encode_ms = t[1];
    out->decode_ms = t[2];
    out->n_tokens = n_tok;
    out->decode_ms_per_token = n_tok > 0 ? t[2] / (double)n_tok : 0;
    out->state_bytes = need;
    out->kv_type = model->kv_type;
    out->peak_rss_bytes = est_port_peak_rss_bytes();
    est_pool_destroy(pool);
    est_port_free(block);
    return EDGESTT_OK;
fail:
    est_pool_destroy(pool);
    est_port_free(block);
    return (edgestt_status)est_diag(diag, st, "bench: transducer pass failed (%s)", edgestt_strerror(st));
}

edgestt_status edgestt_bench(const edgestt_model *model, int n_threads, int n_tokens, edgestt_bench_result *out,
                             edgestt_diag *diag) {
    if (!model || !out) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "bench: NULL model or result");
    memset(out, 0, sizeof *out);
    if (n_threads < 1 || n_threads > EST_MAX_THREADS)
        return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "bench: threads %d not in [1, %d]", n_threads,
                                        EST_MAX_THREADS);
    if (model->pk) return bench_pk(model, n_threads, out, diag);
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
