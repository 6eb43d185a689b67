/*
 * whisper_run.h - the Whisper forward pass on a per-stream state (interface between the engine,
 * models/whisper_run.c, and the decoding search, core/decode.c).
 *
 * A state belongs to one stream and one thread at a time; one model may serve many states at once
 * (the model is read-only after open).  Every buffer a state needs - encoder activations, the cross
 * K/V of every decoder layer (computed once per window), the self-attention KV cache for every beam,
 * logits, kernel scratch, its own thread pool - is planned by est_whisper_state_plan from the model's
 * hyper-parameters and the run parameters, and placed once.
 */
#ifndef EST_WHISPER_RUN_H
#define EST_WHISPER_RUN_H

#include "../core/model.h"

typedef struct est_whisper_state est_whisper_state;

/* Plan (measuring arena) or place (placing arena) a state for model m with n_beams KV slots
 * (>= 1) and n_threads threads.  On a placing arena *out receives the state. */
EST_HIDDEN int est_whisper_state_plan(const edgestt_model *m, int n_beams, int n_threads, est_arena *a,
                                      est_whisper_state **out);
/* Stop the state's pool (the memory belongs to the caller's arena); a shared pool is left running. */
EST_HIDDEN void est_whisper_state_release(est_whisper_state *s);
/* Run on pool from now on (the caller's, shared with other states that never run at the same
 * time; at most the planned n_threads of its threads work for this state). */
EST_HIDDEN void est_whisper_state_use_pool(est_whisper_state *s, est_pool *pool);

/* Encoder: mel is n_mels x (2 * n_audio_ctx) floats (frames contiguous per bin), as est_log_mel
 * writes it.  Runs conv front end, blocks and ln_post, then fills every decoder layer's cross K/V.
 * The encoder output (in the work area that later holds the self K/V) stays readable through
 * est_whisper_encoder_out until the next decoder step, K/V copy or encode. */
EST_HIDDEN int est_whisper_encode(est_whisper_state *s, const float *mel);
/* (n_audio_ctx, n_state) encoder output of the last encode; NULL once a decoder step has run. */
EST_HIDDEN const float *est_whisper_encoder_out(const est_whisper_state *s);

/* Decoder step.  Beam slot `beam` holds n_past positions of self K/V; feed n_tokens tokens at
 * positions n_past.. (n_past + n_tokens <= n_text_ctx), append their K/V to the slot, and write the
 * logits of the LAST token (n_vocab floats) to est_whisper_logits(s, beam). */
EST_HIDDEN int est_whisper_decode(est_whisper_state *s, int beam, const int *tokens, int n_tokens, int n_past);
/* Same for n_beams beams at once, one token each, all at position n_past (the beam-search step);
 * beams[i] is the slot of row i; logits rows go to est_whisper_logits(s, beams[i]). */
EST_HIDDEN int est_whisper_decode_batch(est_whisper_state *s, const int *beams, const int *tokens, int n_beams,
                                        int n_past);
/* Copy the first n_pos positions of slot src's self K/V into slot dst (beam reordering). */
EST_HIDDEN void est_whisper_kv_copy(est_whisper_state *s, int dst, int src, int n_pos);
/* n_vocab logits of slot beam. */
EST_HIDDEN float *est_whisper_logits(est_whisper_state *s, int beam);

/* ---- additions (engine side): K/V precision, plan report ----------------------------------- */
/* Note on est_whisper_encode: the encoder's activations use the memory of the self K/V caches, so an
 * encode clears every slot (decode the sot/prompt sequence again after it; stale self K/V would be
 * wrong anyway since the cross-attention changed).  Decoding before the first encode is
 * EDGESTT_E_INVALID_ARG.  Logits come only for the last token of a call: a caller that needs the
 * sot position's logits (no_speech_prob) of a longer initial sequence decodes [sot] first, then the
 * rest with n_past = 1.  est_whisper_kv_copy copies one slot: a beam reorder that is a permutation
 * must go through a free slot (or be ordered so no source is overwritten before it is read). */
/* Knobs of a state; est_whisper_state_plan uses the zero ones (f32 K/V, what the PyTorch goldens are
 * compared against).  The public API's default is f16 for both (est_whisper_state_opts_of). */
typedef struct est_whisper_state_opts {
    int self_kv_f16;    /* 1: the decoder's self K/V cache in f16 (round to nearest even on store),
                           half the memory; 0 (default): f32, the reference's precision */
    int cross_kv_f16;   /* 1: the cross K/V (computed per encode) in f16; 0 (default): f32 */
} est_whisper_state_opts;

#define EST_WHISPER_PLAN_MAX_MARKS 64

/* What a plan reserved (filled on measuring and placing arenas alike). */
typedef struct est_whisper_plan_info {
    size_t marks[EST_WHISPER_PLAN_MAX_MARKS]; /* arena bytes used (a->lo) after each reservation */
    int n_marks;
    size_t self_kv_bytes;   /* [n_beams][n_text_layer][n_text_ctx][n_state] x 2 (K and V) */
    size_t cross_kv_bytes;  /* [n_text_layer][n_audio_ctx][n_state] x 2 */
    size_t enc_work_bytes;  /* encoder per-call buffers (they share memory with the self K/V) */
    size_t dec_work_bytes;  /* decoder per-call buffers */
    size_t total_bytes;     /* est_arena_required-style total of this plan alone */
} est_whisper_plan_info;

/* The options a model's open parameters ask for (edgestt_params.kv_type: both self and cross K/V
 * in f16, or both in f32).  The public API plans every state with these. */
EST_HIDDEN void est_whisper_state_opts_of(const edgestt_model *m, est_whisper_state_opts *o);

/* est_whisper_state_plan with options (NULL = defaults) and an optional report (info may be NULL). */
EST_HIDDEN int est_whisper_state_plan_ex(const edgestt_model *m, int n_beams, int n_threads,
                                         const est_whisper_state_opts *opts, est_arena *a,
                                         est_whisper_state **out, est_whisper_plan_info *info);

/* est_whisper_state_plan_ex (no report) for a state without a pool of its own: per-thread scratch
 * is planned for n_threads, no threads are started; est_whisper_state_use_pool gives it the
 * pool before its first run. */
EST_HIDDEN int est_whisper_state_plan_nopool(const edgestt_model *m, int n_beams, int n_threads,
                                             const est_whisper_state_opts *opts, est_arena *a,
                                             est_whisper_state **out);

#endif
