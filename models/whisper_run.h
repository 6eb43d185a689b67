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
/* Stop the state's pool (the memory belongs to the caller's arena). */
EST_HIDDEN void est_whisper_state_release(est_whisper_state *s);

/* Encoder: mel is n_mels x (2 * n_audio_ctx) floats (frames contiguous per bin), as est_log_mel
 * writes it.  Runs conv front end, blocks and ln_post, then fills every decoder layer's cross K/V.
 * The encoder output stays readable through est_whisper_encoder_out until the next encode. */
EST_HIDDEN int est_whisper_encode(est_whisper_state *s, const float *mel);
/* (n_audio_ctx, n_state) encoder output of the last encode. */
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

#endif
