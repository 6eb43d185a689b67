/*
 * decode.h - OpenAI Whisper's decoding search (decoding.py DecodingTask) over an abstract logits
 * backend (internal; core/decode.c).
 *
 * What it reproduces: the initial tokens ([sot] English-only, [sot, lang, task] multilingual,
 * + <|notimestamps|>, [<|startofprev|>] + the last n_text_ctx/2 - 1 prompt tokens in front); the
 * logit filters in whisper's order (SuppressBlank, SuppressTokens "-1", ApplyTimestampRules);
 * greedy argmax at temperature 0, sampling at T > 0 over best_of independent rows (seeded
 * splitmix64: the same seed gives the same text, but not torch's samples), beam search with
 * BeamSearchDecoder's finished-candidate bookkeeping and patience, MaximumLikelihoodRanker
 * (sum_logprob / length, or the Google length penalty), sum/avg log-prob, no_speech_prob (softmax at
 * the <|startoftranscript|> position of the first step), the compression ratio
 * len(text) / len(zlib.compress(text)) with zlib level 6 emulated exactly (no zlib here), and
 * detect_language.  Compact (character-level) vocabularies differ in two places: the space token is
 * the word separator, so SuppressBlank suppresses only eot, and " -" / " '" add to the non-speech
 * list only when they are one token (encode(" '")[0] would be the space).  The search never allocates: every buffer is planned by est_decoder_plan.
 *
 * Rows and KV slots: row r of the search uses backend slot d->slot[r]; beam reordering moves slot
 * ownership and copies a slot's KV only when a source row continues in several new rows.
 */
#ifndef EST_DECODE_H
#define EST_DECODE_H

#include "bpe.h"

/* The model side of the search (implemented over est_whisper_state in transcribe.c, scripted in
 * the tests).  Every function returns an edgestt_status. */
typedef struct est_dec_backend {
    void *ctx;
    /* Feed n_tokens tokens to KV slot `slot` at positions n_past..; *logits = the n_vocab logits
     * (writable) of the last one, valid until the next call that touches this slot. */
    int (*decode)(void *ctx, int slot, const int *tokens, int n_tokens, int n_past, float **logits);
    /* One token per slot, all at position n_past; then logits(slots[i]) holds row i's logits. */
    int (*decode_batch)(void *ctx, const int *slots, const int *tokens, int n, int n_past);
    float *(*logits)(void *ctx, int slot);
    /* Copy the first n_pos KV positions of slot src into slot dst. */
    void (*kv_copy)(void *ctx, int dst, int src, int n_pos);
} est_dec_backend;

enum { EST_TASK_TRANSCRIBE = 0, EST_TASK_TRANSLATE = 1 };

typedef struct est_dec_options {
    int task;                  /* EST_TASK_*; ignored by English-only vocabularies */
    int language_token;        /* multilingual: <|xx|> id (required); English-only: ignored */
    int without_timestamps;
    float temperature;         /* 0 = greedy / beam search; > 0 = sampling */
    int beam_size;             /* 0 = no beam search; used only at temperature 0 */
    int best_of;               /* rows sampled at temperature > 0 (0 = 1) */
    float patience;            /* beam: max candidates = round(beam_size * patience); <= 0 = 1 */
    float length_penalty;      /* ranking: NAN = length (whisper's None), else ((5 + n) / 6)^alpha */
    int sample_len;            /* 0 = max_sample_len (n_text_ctx / 2; compact vocabularies n_text_ctx) */
    int suppress_blank;
    int suppress_non_speech;   /* 1: whisper's "-1" set; 0: only the special tokens */
    int max_initial_ts;        /* index of the latest first timestamp (50 = 1.0 s); -1 = none */
    const int *prompt;         /* previous-text tokens (the last n_text_ctx/2 - 1 are used) */
    int n_prompt;
    uint64_t *rng;             /* sampling state (splitmix64), required at temperature > 0 */
} est_dec_options;

/* Defaults: transcribe, timestamps, T 0, greedy, patience 1, no length penalty, suppression on,
 * max initial timestamp 50. */
EST_HIDDEN void est_dec_options_default(est_dec_options *o);

typedef struct est_dec_result {
    const int *tokens;         /* [n_tokens] sampled tokens before eot (timestamps included) */
    const float *logprobs;     /* [n_tokens] log-prob of each under its filtered distribution */
    int n_tokens;
    double sum_logprob, avg_logprob, no_speech_prob, compression_ratio;
    float temperature;
} est_dec_result;

typedef struct est_dec_cand {
    double score;
    int row, token;
    float logprob;
} est_dec_cand;

typedef struct est_decoder {
    const est_tokenizer *tok;
    edgestt_special_tokens st;
    int n_vocab, n_ctx;        /* n_text_ctx */
    int multilingual;          /* [sot, lang, task] (est_tok_multilingual); detection when > 1 language */
    int max_sample_len;        /* sampled tokens per run at most: n_ctx / 2 (whisper), compact
                                  vocabularies n_ctx (characters need the room; the context still ends it) */
    int max_rows;              /* rows planned (beam_size or best_of) */
    int max_finished;          /* beam candidates planned */
    est_bpe bpe;
    int *suppress;             /* [n_suppress] sorted: non_speech_tokens + specials */
    int n_suppress, n_specials;
    int specials[8];           /* transcribe, translate, sot, sot_prev, sot_lm, no_speech */
    int blank[8];              /* encode(" ") */
    int n_blank;
    /* search state, rows of stride n_ctx + 1 */
    int *seq, *seq_next;       /* [max_rows][n_ctx + 1] tokens incl. the initial ones */
    float *lp, *lp_next;       /* [max_rows][n_ctx + 1] log-prob of each sampled token */
    double *sum_lp;            /* [max_rows] */
    int *slot;                 /* [max_rows] backend KV slot of each row */
    int *n_sampled;            /* [max_rows] sampled tokens before eot (greedy/sampling) */
    uint8_t *done;             /* [max_rows] row ended with eot (greedy/sampling) */
    int *batch_slots, *batch_tokens, *batch_rows; /* [max_rows] */
    est_dec_cand *cand;        /* [max_rows * (max_rows + 1)] */
    int *fin_idx;              /* [max_rows * (max_rows + 1)] */
    int *topk_ids;             /* [max_rows + 1] */
    float *topk_vals;          /* [max_rows + 1] */
    int *fin_seq;              /* [max_finished][n_ctx + 1] finished sampled tokens */
    float *fin_lp;             /* [max_finished][n_ctx + 1] */
    double *fin_score;         /* [max_finished] */
    int *fin_len;              /* [max_finished] */
    int n_fin;
    int *res_tok;              /* [n_ctx + 1] the chosen sequence */
    float *res_lp;             /* [n_ctx + 1] */
    uint8_t *text;             /* [text_cap + 258] decoded text (+ zlib look-ahead padding) */
    size_t text_cap;
    void *zwork;               /* [est_zlib_work_size()] zlib emulation state and hash chains */
    void *bpe_scratch;         /* encoding prompts of up to max_prompt_bytes */
    size_t bpe_scratch_size;
} est_decoder;

/* Plan (measuring arena) or place and fill (placing arena) a decoder for tok with room for
 * max_rows rows (beam size / best_of), max_finished beam candidates and prompts of up to
 * max_prompt_bytes bytes.  n_ctx = the model's n_text_ctx. */
EST_HIDDEN int est_decoder_plan(const est_tokenizer *tok, int n_ctx, int max_rows, int max_finished,
                                size_t max_prompt_bytes, est_arena *a, est_decoder *d);

/* Run one DecodingTask on the backend (which holds the audio features). */
EST_HIDDEN int est_decode_run(est_decoder *d, const est_dec_backend *be, const est_dec_options *o,
                              est_dec_result *r, edgestt_diag *diag);

/* detect_language: logits of [sot] in slot 0, restricted to the language tokens.  *token = the
 * argmax language token, *prob its probability among the languages. */
EST_HIDDEN int est_decode_detect_language(est_decoder *d, const est_dec_backend *be, int *token, double *prob);

/* Apply the logit filters to one row's logits (history seq[0..len), the first sample_begin being
 * the initial tokens); exposed for tests. */
EST_HIDDEN void est_dec_apply_filters(const est_decoder *d, const est_dec_options *o, float *logits,
                                      const int *seq, int len, int sample_begin);

/* whisper's tokenizer.decode of ids below id_limit (timestamp_begin: special tokens keep their
 * textual form; eot: text tokens only) as Python gives it: bytes joined, invalid UTF-8 replaced by
 * U+FFFD per maximal subpart.  Writes at most cap bytes to out (out may be NULL when cap is 0) and
 * returns the full length. */
EST_HIDDEN size_t est_dec_text(const est_tokenizer *tok, const int *ids, int n, int id_limit, uint8_t *out,
                               size_t cap);
/* Same with the ids `stride` ints apart (ids inside records). */
EST_HIDDEN size_t est_dec_text_strided(const est_tokenizer *tok, const int *ids, size_t stride, int n, int id_limit,
                                       uint8_t *out, size_t cap);
/* Python's str.strip(): [*b, *e) of s[0..n) without leading/trailing Unicode whitespace. */
EST_HIDDEN void est_dec_strip(const uint8_t *s, size_t n, size_t *b, size_t *e);
/* Compression ratio of the sampled tokens: len(text) / len(zlib.compress(text)), text =
 * decode(ids below timestamp_begin).strip(). */
EST_HIDDEN double est_dec_compression_ratio(est_decoder *d, const int *ids, int n);
/* Bytes zlib.compress(data) (level 6) returns.  data holds n bytes followed by 258 zero bytes;
 * work holds est_zlib_work_size() bytes (aligned for int64).  Exact (zlib 1.2.x deflate_slow +
 * trees) below 65274 bytes; longer inputs skip zlib's window slide (checked equal on random data,
 * not guaranteed). */
EST_HIDDEN size_t est_zlib_work_size(void);
EST_HIDDEN size_t est_zlib_compressed_size(const uint8_t *data, size_t n, void *work);

/* The non_speech_tokens list of tokenizer.py from the vocabulary, sorted; returns the count (at
 * most cap written). */
EST_HIDDEN int est_dec_non_speech_tokens(const est_bpe *b, int *out, int cap, void *scratch, size_t scratch_size);

/* ---- transcribe.py's split of one window's tokens into segments ----------------------- */
typedef struct est_dec_segment {
    int first, n;              /* tokens[first .. first + n) */
    int64_t t0_ms, t1_ms;      /* relative to the window start */
} est_dec_segment;

/* Segments of one window's tokens (timestamp ids >= tb) as transcribe.py cuts them, and the seek
 * advance in mel frames; segment_frames = the window's audio frames.  Returns the segment count
 * (at most cap written). */
EST_HIDDEN int est_dec_split_segments(const int *tokens, int n, int tb, int segment_frames,
                                      est_dec_segment *segs, int cap, int *advance_frames);

#endif
