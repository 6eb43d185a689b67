/*
 * edgestt.h - the one public header of edge-stt, a fixed-allocation speech-to-text engine.
 *
 * Memory model: every byte a model handle needs is planned from the model header and the run
 * parameters (edgestt_mem_size) and placed once by edgestt_open, either in a buffer the caller
 * gives or in one allocation made at open.  Nothing is allocated between open and close.
 * Weights are never copied: they are used in place from a read-only file mapping (or from the
 * caller's memory with edgestt_open_memory, e.g. a model linked into .rodata or read into RAM on
 * an MMU-less target).
 *
 * Errors: every fallible call returns an edgestt_status (0 ok, negative error) and writes results
 * through pointers.  edgestt_strerror() gives one static line per code.  Calls that can fail on
 * untrusted input also take an optional edgestt_diag* that receives one line naming the problem
 * (e.g. the tensor or the byte offset); pass NULL if you do not need it.  The library never prints,
 * exits or aborts.
 *
 * Thread safety: edgestt_strerror, edgestt_params_default and edgestt_mem_size are thread-safe.
 * A model handle may be read (edgestt_model_get_info) from several threads at once; opening and
 * closing a handle must not race with other calls on the same handle.  Distinct handles are
 * independent.
 */
#ifndef EDGESTT_H
#define EDGESTT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGESTT_VERSION "0.1.0"

#if defined(__GNUC__)
#define EDGESTT_API __attribute__((visibility("default")))
#else
#define EDGESTT_API
#endif

/* ---- status codes ---------------------------------------------------------------------- */
typedef enum edgestt_status {
    EDGESTT_OK = 0,               /* success */
    EDGESTT_E_INVALID_ARG = -1,   /* a NULL pointer, out-of-range parameter or bad option */
    EDGESTT_E_NOMEM = -2,         /* the arena (caller buffer or planned block) is too small */
    EDGESTT_E_IO = -3,            /* a file could not be opened, mapped or read */
    EDGESTT_E_FORMAT = -4,        /* malformed or corrupt input (bad magic, header, offsets) */
    EDGESTT_E_TRUNCATED = -5,     /* input ends before the data its header promises */
    EDGESTT_E_UNSUPPORTED = -6,   /* well-formed but not supported (version, type, codec, arch) */
    EDGESTT_E_MODEL = -7,         /* a tensor is missing, duplicated, misshaped or wrongly typed */
    EDGESTT_E_LIMIT = -8,         /* a dimension or size exceeds what the engine accepts */
    EDGESTT_E_NOT_FOUND = -9,     /* a requested key, tensor or token does not exist */
    EDGESTT_E_INTERNAL = -10      /* an invariant failed inside the library (a bug: report it) */
} edgestt_status;

/* One static line describing a status code; never NULL. Thread-safe. */
EDGESTT_API const char *edgestt_strerror(int status);

/* Optional detail for one failed call: a single line, NUL-terminated. */
typedef struct edgestt_diag {
    char msg[256];
} edgestt_diag;

/* ---- parameters ------------------------------------------------------------------------ */
/* Element type of the attention K/V caches (the decoder's self-attention cache of every beam and
 * the cross-attention K/V of the window).  F16 (the default, as whisper.cpp keeps its caches): IEEE
 * binary16, rounded to nearest even when stored, identically on every CPU and kernel table, so
 * transcripts stay identical across ISAs; half the memory (tiny, beam 5: about 28 MiB of state
 * instead of 50).  F32: the reference's precision (what PyTorch computes), for comparisons. */
typedef enum edgestt_kv_type {
    EDGESTT_KV_F16 = 0,
    EDGESTT_KV_F32 = 1
} edgestt_kv_type;

typedef struct edgestt_params {
    int n_threads;          /* worker threads incl. the caller (>= 1); default 1 */
    int beam_size;          /* decoder beams planned for (>= 1); default 5 */
    int max_audio_windows;  /* audio windows (n_audio_ctx frames each) planned per call; default 1 */
    const char *kernels;    /* NULL/"auto" or "ref", "avx2", "neon", "neondot"; env
                               EDGESTT_KERNELS overrides "auto" */
    size_t max_memory;      /* 0 (default): no limit.  Otherwise edgestt_open / edgestt_open_memory
                               refuse with EDGESTT_E_LIMIT (diag: the bytes needed) a model whose
                               handle plus one state -- edgestt_state_mem_size with the defaults,
                               n_threads, and beam_size = best_of = beam_size above -- needs more;
                               decided from the headers, before any tensor data is read (mapped
                               or caller-memory weights are not counted).  mem_size ignores it. */
    edgestt_kv_type kv_type; /* K/V caches of every state planned from this model
                                (edgestt_state_*, streams, edgestt_bench, max_memory):
                                EDGESTT_KV_F16 (0, default) or EDGESTT_KV_F32 */
} edgestt_params;

/* Fill *p with the defaults above. */
EDGESTT_API void edgestt_params_default(edgestt_params *p);

/* ---- model files ----------------------------------------------------------------------- */
typedef struct edgestt_model edgestt_model;

typedef enum edgestt_file_format {
    EDGESTT_FORMAT_GGUF = 1,       /* GGUF v3 (this project's Whisper schema, models/whisper-gguf.md) */
    EDGESTT_FORMAT_GGML_BIN = 2    /* whisper.cpp legacy ggml-*.bin */
} edgestt_file_format;

/* Weight types, numbered as ggml numbers them. */
typedef enum edgestt_type {
    EDGESTT_TYPE_F32 = 0,
    EDGESTT_TYPE_F16 = 1,
    EDGESTT_TYPE_Q4_0 = 2,
    EDGESTT_TYPE_Q8_0 = 8
} edgestt_type;

/* Name of a weight type ("f32", "f16", "q4_0", "q8_0", or "?"). */
EDGESTT_API const char *edgestt_type_name(int type);
/* Name of a K/V cache type ("f16", "f32", or "?"). */
EDGESTT_API const char *edgestt_kv_type_name(int kv_type);

typedef struct edgestt_model_info {
    edgestt_file_format format;
    const char *arch;         /* "whisper" or "parakeet" (see the transcription section) */
    int n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer;
    int n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels;
    int multilingual;         /* 1 if the vocabulary has the multilingual layout */
    int n_languages;          /* language tokens in the vocabulary */
    int n_tensors;
    int64_t n_params;         /* total weight elements */
    size_t weight_bytes;      /* bytes of tensor data, as stored (mapped, not copied) */
    int64_t n_by_type[16];    /* tensor count per edgestt_type (index = type id, <16) */
    size_t arena_bytes;       /* planned arena size of this handle */
    const char *kernels;      /* kernel path chosen ("ref", "avx2", "neon", "neondot") */
    int mapped;               /* 1 if weights are used from a file mapping, 0 if caller memory */
    edgestt_kv_type kv_type;  /* K/V cache type of the states planned from this handle */
} edgestt_model_info;

/* Bytes edgestt_open needs for this model file and these parameters (NULL params = defaults).
 * Maps the file read-only, reads its header, unmaps; touches no tensor data. */
EDGESTT_API edgestt_status edgestt_mem_size(const char *path, const edgestt_params *params, size_t *bytes,
                                edgestt_diag *diag);

/* Open a model file (mapped read-only).  mem/mem_size: caller buffer of at least
 * edgestt_mem_size() bytes (64-byte alignment not required), or mem == NULL for one allocation
 * made here and released by edgestt_close.  The file stays mapped until edgestt_close. */
EDGESTT_API edgestt_status edgestt_open(const char *path, const edgestt_params *params, void *mem,
                            size_t mem_size, edgestt_model **out, edgestt_diag *diag);

/* Same for a model already in memory (embedded in .rodata, or read into RAM on targets without
 * mmap).  data must stay valid and unchanged until edgestt_close. */
EDGESTT_API edgestt_status edgestt_mem_size_memory(const void *data, size_t size, const edgestt_params *params,
                                       size_t *bytes, edgestt_diag *diag);
EDGESTT_API edgestt_status edgestt_open_memory(const void *data, size_t size, const edgestt_params *params,
                                   void *mem, size_t mem_size, edgestt_model **out,
                                   edgestt_diag *diag);

/* Release the mapping and (if edgestt_open allocated it) the arena. NULL is ignored. */
EDGESTT_API void edgestt_close(edgestt_model *model);

/* Describe an open model. */
EDGESTT_API edgestt_status edgestt_model_get_info(const edgestt_model *model, edgestt_model_info *info);

/* ---- tokens ---------------------------------------------------------------------------- */
/* Special token ids of the model's vocabulary (-1 where the layout has none). */
typedef struct edgestt_special_tokens {
    int eot, sot, translate, transcribe, solm, prev, nosp, no_timestamps, timestamp_begin;
    int lang_first;           /* id of the first language token (<|en|>) */
    int n_languages;
} edgestt_special_tokens;

EDGESTT_API edgestt_status edgestt_special_tokens_get(const edgestt_model *model, edgestt_special_tokens *st);

/* UTF-8 bytes of token id (not NUL-terminated) through bytes and len, valid while the model is
 * open.  Special tokens give their textual form, e.g. "<|endoftext|>", "<|0.00|>". */
EDGESTT_API edgestt_status edgestt_token_bytes(const edgestt_model *model, int id, const char **bytes,
                                   size_t *len);

/* Decode a token sequence to UTF-8 into out (cap bytes incl. NUL).  Special and timestamp
 * tokens are skipped.  *written gets the length without NUL.  EDGESTT_E_NOMEM if out is short
 * (out then holds a NUL-terminated prefix). */
EDGESTT_API edgestt_status edgestt_detokenize(const edgestt_model *model, const int *ids, int n_ids, char *out,
                                  size_t cap, size_t *written);

/* ---- audio ----------------------------------------------------------------------------- */
#define EDGESTT_SAMPLE_RATE 16000

typedef struct edgestt_wav_info {
    int sample_rate;          /* as stored in the file */
    int channels;
    int bits_per_sample;
    int is_float;             /* IEEE float samples */
    uint64_t n_frames;        /* frames in the file */
    uint64_t n_samples_16k;   /* mono 16 kHz samples edgestt_wav_decode writes */
} edgestt_wav_info;

/* Parse a RIFF/WAVE file image (PCM 8/16/24/32-bit, IEEE float32, WAVE_FORMAT_EXTENSIBLE). */
EDGESTT_API edgestt_status edgestt_wav_parse(const void *data, size_t size, edgestt_wav_info *info,
                                 edgestt_diag *diag);

/* Bytes of scratch edgestt_wav_decode needs for this file. */
EDGESTT_API edgestt_status edgestt_wav_scratch_size(const edgestt_wav_info *info, size_t *bytes);

/* Decode to mono 16 kHz float in [-1, 1): out holds info->n_samples_16k floats; scratch holds
 * edgestt_wav_scratch_size() bytes (may be NULL when that is 0). */
EDGESTT_API edgestt_status edgestt_wav_decode(const void *data, size_t size, const edgestt_wav_info *info,
                                  float *out, void *scratch, size_t scratch_size,
                                  edgestt_diag *diag);

/* Log-mel spectrogram of mono 16 kHz samples as OpenAI Whisper computes it, with the model's mel
 * filters: out is n_mels x n_frames (row-major, frames contiguous per mel bin), n_frames = the
 * model's window (2 * n_audio_ctx) -- samples past the window are ignored, short input is
 * zero-padded.  Scratch comes from the model's arena. */
EDGESTT_API edgestt_status edgestt_log_mel(edgestt_model *model, const float *samples, size_t n_samples,
                               float *out, size_t out_floats);

/* ---- voice activity detection: Silero VAD v5 --------------------------------------------- */
/*
 * An edgestt_vad holds the Silero VAD v5 network (models/silero-vad-v5.gguf, converted from the
 * ONNX release by models/tools/silero_vad_convert.py; f32 weights used in place from the file
 * mapping or the caller's memory) and the state of ONE audio stream: the LSTM state, the last 64
 * samples (context of the next window) and the segmenter.  edgestt_vad_mem_size plans it and
 * edgestt_vad_open places it (caller buffer, or one allocation made there when mem == NULL,
 * released by edgestt_vad_close); nothing is allocated after that.  A handle belongs to one thread
 * at a time; open one per stream (the weights are shared through the page cache).
 *
 * Input: mono 16 kHz samples in [-1, 1) in windows of EDGESTT_VAD_WINDOW samples (32 ms).  Each
 * window gives one speech probability, exactly as Silero's ONNX model called through its Python
 * wrapper (context of the previous 64 samples prepended, zeros at the start of a stream).  The
 * dot products run on the kernel table picked for the CPU, as for Whisper models
 * (EDGESTT_KERNELS=ref|avx2|neon|neondot overrides); about 0.5 ms per window on one x86 core.
 *
 * Segments follow Silero's get_speech_timestamps(): speech starts at the first window with
 * prob >= threshold; it ends at the first window of a run below neg_threshold that lasts
 * min_silence_ms; segments not longer than min_speech_ms are dropped; kept segments are padded by
 * speech_pad_ms each side (split in the middle where two would overlap), clamped to the audio.
 * max_speech_ms (Silero's max_speech_duration_s; 0 = no limit, the default): once a segment is
 * longer than max_speech_ms - 32 ms - 2 * speech_pad_ms, it ends at the start of its last silence
 * longer than 98 ms (if speech resumed after that silence, it goes on as a new segment from there)
 * or, without such a silence, at the current window -- so a padded segment stays within
 * max_speech_ms.  Silences longer than 98 ms only stay inside a segment when min_silence_ms is
 * larger than that (as in a stream, where it is the endpoint time).
 */
#define EDGESTT_VAD_WINDOW 512         /* samples per window at 16 kHz */

typedef struct edgestt_vad edgestt_vad;

typedef struct edgestt_vad_params {
    float threshold;       /* speech when prob >= threshold; default 0.5 */
    float neg_threshold;   /* silence when prob < neg_threshold; < 0: max(threshold - 0.15, 0.01);
                              default -1 (= 0.35) */
    int min_speech_ms;     /* drop segments not longer than this; default 250 */
    int min_silence_ms;    /* silence that ends a segment; default 100 */
    int speech_pad_ms;     /* padding of kept segments, each side; default 30 */
    int max_speech_ms;     /* longest segment (see above); 0 = no limit (default); needs
                              min_silence_ms > 0 when set */
} edgestt_vad_params;

/* Fill *p with the defaults above.  Thread-safe. */
EDGESTT_API void edgestt_vad_params_default(edgestt_vad_params *p);

/* Bytes edgestt_vad_open needs for this VAD model file (maps it, reads the header, unmaps). */
EDGESTT_API edgestt_status edgestt_vad_mem_size(const char *path, size_t *bytes, edgestt_diag *diag);
/* Open a VAD model file (mapped read-only until edgestt_vad_close).  mem/mem_size: a caller buffer
 * of at least edgestt_vad_mem_size() bytes, or mem == NULL for one allocation made here.  The
 * handle starts reset, with default params. */
EDGESTT_API edgestt_status edgestt_vad_open(const char *path, void *mem, size_t mem_size, edgestt_vad **out,
                                            edgestt_diag *diag);
/* Same for a VAD model already in memory (data valid and unchanged until edgestt_vad_close). */
EDGESTT_API edgestt_status edgestt_vad_mem_size_memory(const void *data, size_t size, size_t *bytes,
                                                       edgestt_diag *diag);
EDGESTT_API edgestt_status edgestt_vad_open_memory(const void *data, size_t size, void *mem, size_t mem_size,
                                                   edgestt_vad **out, edgestt_diag *diag);
/* Release the mapping and (if open allocated it) the memory.  NULL is ignored. */
EDGESTT_API void edgestt_vad_close(edgestt_vad *vad);

/* Set the segmenter's parameters (NULL = defaults) and reset the stream.  EDGESTT_E_INVALID_ARG
 * for thresholds outside [0, 1] or negative durations (the handle keeps its old params). */
EDGESTT_API edgestt_status edgestt_vad_set_params(edgestt_vad *vad, const edgestt_vad_params *params);
/* Start a new stream: LSTM state, context, sample counter and segmenter back to zero (Silero's
 * reset_states()). */
EDGESTT_API void edgestt_vad_reset(edgestt_vad *vad);

/* Speech probability of the next window of the stream (EDGESTT_VAD_WINDOW samples), carrying the
 * model state.  Does not move the segmenter (use edgestt_vad_feed for that, not both). */
EDGESTT_API edgestt_status edgestt_vad_prob(edgestt_vad *vad, const float *window, float *prob);

/* What one window did to the segmenter.  Boundaries are raw (unpadded) sample positions since the
 * last reset, multiples of EDGESTT_VAD_WINDOW except an end at the stream's end. */
typedef struct edgestt_vad_event {
    float prob;            /* speech probability of the window just fed */
    int in_speech;         /* 1 while inside speech after this window */
    int started;           /* 1: speech started at this window (start_sample) */
    int ended;             /* 1: a segment ended (start_sample, end_sample): min_silence_ms of
                              silence after it, or the stream's end (edgestt_vad_finish) */
    int kept;              /* with ended: 1 if longer than min_speech_ms (get_speech_timestamps
                              keeps it), 0 if it is dropped as too short */
    int64_t start_sample;  /* with started or ended */
    int64_t end_sample;    /* with ended: first silent window (or the stream's end) */
    int cut;               /* with ended: 1 if max_speech_ms ended the segment (kept is 1) */
    int64_t next_start;    /* with cut: where speech goes on as a new segment (in_speech is 1),
                              or -1 (silence since end_sample, or a cut at this window) */
} edgestt_vad_event;

/* Run the next window through the model and the segmenter.  ev gets what happened. */
EDGESTT_API edgestt_status edgestt_vad_feed(edgestt_vad *vad, const float *window, edgestt_vad_event *ev);
/* End of stream after n_samples samples in all (the last window may have been zero-padded): an
 * open segment ends at n_samples (ev->ended, kept if n_samples - start > min_speech).  The
 * segmenter is idle afterwards (the model state is kept; edgestt_vad_reset for a new stream). */
EDGESTT_API edgestt_status edgestt_vad_finish(edgestt_vad *vad, uint64_t n_samples, edgestt_vad_event *ev);

/* A speech segment: [start_sample, end_sample) of mono 16 kHz audio, padded. */
typedef struct edgestt_vad_segment {
    int64_t start_sample, end_sample;
} edgestt_vad_segment;

/* get_speech_timestamps() over a whole recording: resets the stream, feeds every window (the last
 * one zero-padded), pads the segments.  segs holds cap entries (may be NULL when cap == 0);
 * *n_segs = the number of segments found.  EDGESTT_E_LIMIT when that is more than cap (the first
 * cap are written, padded as in the full list).  The handle is left reset. */
EDGESTT_API edgestt_status edgestt_vad_segments(edgestt_vad *vad, const float *pcm16k, size_t n_samples,
                                                edgestt_vad_segment *segs, size_t cap, size_t *n_segs);

/* ---- transcription ---------------------------------------------------------------------- */
/*
 * A state holds everything one audio stream needs: encoder and decoder activations, the K/V
 * caches of every decoder row (beam or sampled candidate; element type: the model's
 * edgestt_params.kv_type), the decoding search, one window of
 * log-mel, the results of the last call and its own thread pool (or a shared one, see
 * edgestt_pool below).  edgestt_state_mem_size plans it
 * from the model and the planning fields of edgestt_full_params; edgestt_state_init places it in a
 * caller buffer (or in one allocation made there when mem == NULL, released by edgestt_state_free).
 * The audio length does not change the plan: windows are computed one at a time (the log-mel runs
 * twice, once for whisper's global maximum and once per window), so edgestt_transcribe never
 * allocates, whatever the length.
 *
 * Decoding is OpenAI whisper's transcribe(): 30 s windows, timestamp segments, seek by the last
 * timestamp, conditioning on the previous text, temperature fallback (compression ratio, average
 * log-prob, no-speech probability), beam search at temperature 0, best-of sampling above.
 *
 * Ownership and threads: the model must stay open while a state uses it.  A state belongs to one
 * thread at a time; one model may serve any number of states on any number of threads at once.
 * Results (segments, tokens, language, timings) stay valid until the next edgestt_transcribe or
 * edgestt_state_free on that state.
 *
 * Errors: edgestt_transcribe returns EDGESTT_E_INVALID_ARG for bad parameters (or a parameter
 * beyond what the state was planned for: EDGESTT_E_LIMIT), EDGESTT_E_LIMIT when the result
 * capacity (max_tokens / max_segments) is full -- the segments found so far stay readable -- and
 * the forward pass's codes otherwise; edgestt_state_error() gives the one-line detail.
 *
 * Parakeet models (GGUF general.architecture "parakeet", models/parakeet-gguf.md; the same open,
 * state and result calls): the state is planned for max_audio_windows x 30 s of audio (longer:
 * EDGESTT_E_LIMIT); a call runs greedy TDT (greedy RNN-T for models without durations) when
 * beam_size <= 1, else modified beam search (models/parakeet-gguf.md) with beam_size hypotheses,
 * capped at 8 (so the default beam_size 5 searches; 0 or 1 = greedy), over the whole audio and
 * gives ONE segment (0 .. the audio's end; none when no token is found) whose tokens carry
 * t0 = frame x 80 ms, t1 = t0 + max(duration, 1) x 80 ms (clipped to the end) and p = the
 * softmax probability of the token at its frame (a piece starting with U+2581 begins a word).
 * Whisper's other decoding options (best_of, temperatures, thresholds, language, prompts,
 * timestamps, suppress_*) are ignored, as in sherpa-onnx; task
 * TRANSLATE is refused (EDGESTT_E_UNSUPPORTED).  Text: SentencePiece pieces, U+2581 -> space.
 * edgestt_model_info: arch "parakeet", encoder dims in the n_audio_* fields, predictor in
 * n_text_state / n_text_layer, n_vocab with the blank, counts over the weight matrices.
 * edgestt_token_bytes gives the piece, special tokens are all -1; log-mel: UNSUPPORTED; bench
 * times a 30 s pass (edgestt_bench_result); streams: see the streaming section.
 */
typedef struct edgestt_state edgestt_state;

typedef enum edgestt_task {
    EDGESTT_TASK_TRANSCRIBE = 0,
    EDGESTT_TASK_TRANSLATE = 1   /* to English; multilingual models only */
} edgestt_task;

/* Called after each decoded window: audio done and total, in milliseconds. */
typedef void (*edgestt_progress_fn)(void *user, int64_t done_ms, int64_t total_ms);

typedef struct edgestt_full_params {
    /* planning (edgestt_state_mem_size / edgestt_state_init): a call may use less, never more */
    int n_threads;          /* threads of the state's pool incl. the caller (>= 1); default 1 */
    int beam_size;          /* beams at temperature 0 (beam search, patience below); 0 = greedy;
                               default 5 */
    int best_of;            /* candidates sampled at temperature > 0 (>= 1); default 5 */
    int max_tokens;         /* result tokens (timestamps included) kept per call; default 16384 */
    int max_segments;       /* result segments kept per call; default 4096 */
    int max_prompt_bytes;   /* longest initial_prompt in UTF-8 bytes; default 4096 */
    /* decoding, as whisper's transcribe() options */
    edgestt_task task;
    const char *language;   /* "en", "de", ... (whisper's codes); NULL or "auto" = detect on the
                               first window (multilingual models; English-only models: "en") */
    int timestamps;         /* 1 (default): timestamp tokens and segments; 0: <|notimestamps|> */
    int sample_len;         /* most tokens sampled per window; 0 (default) = n_text_ctx / 2 */
    float temperature;      /* first temperature; default 0 */
    float temperature_inc;  /* fallback step up to 1.0; default 0.2; <= 0: no fallback */
    float patience;         /* beam search: finish after round(beam_size * patience) candidates;
                               default 1, at most 2 (planned) */
    float length_penalty;   /* NAN (default): rank by sum_logprob / length; else alpha in [0, 1] */
    float compression_ratio_threshold; /* fall back above it; default 2.4; NAN = off */
    float logprob_threshold;           /* fall back below this average log-prob; default -1; NAN = off */
    float no_speech_threshold;         /* skip a silent window above it; default 0.6; NAN = off */
    int condition_on_previous_text;    /* prompt each window with the text so far; default 1 */
    const char *initial_prompt;        /* text before the first window (UTF-8), or NULL */
    int suppress_blank;                /* no blank / eot as the first token; default 1 */
    int suppress_non_speech;           /* whisper's "-1" symbol list; default 1 (0: specials only) */
    float max_initial_timestamp;       /* seconds; default 1.0; <= 0: no limit */
    uint64_t seed;                     /* sampling at temperature > 0 (same seed, same text) */
    edgestt_progress_fn progress;      /* optional */
    void *progress_user;
    /* planning: NULL (default) = the state starts its own n_threads - 1 workers; else the state
       plans no pool and runs on this one (its thread count; n_threads is then unused).  The pool
       must outlive the state; states sharing a pool must not run at the same time. */
    struct edgestt_pool *pool;
} edgestt_full_params;

/* ---- a shared thread pool ------------------------------------------------------------------- */
/* A fixed pool of n_threads threads incl. the caller (n_threads - 1 workers, started at create,
 * stopped at destroy) that several states can use through edgestt_full_params.pool, e.g. the
 * fast and the accurate model of a hybrid stream: one pool's threads and memory instead of one
 * per state.  States sharing a pool must not run at the same time (one runs on one thread, then
 * the other).  Memory: edgestt_pool_mem_size bytes, the caller's (mem) or one allocation made by
 * create when mem == NULL, released by destroy. */
typedef struct edgestt_pool edgestt_pool;
EDGESTT_API edgestt_status edgestt_pool_mem_size(int n_threads, size_t *bytes);
EDGESTT_API edgestt_status edgestt_pool_create(int n_threads, void *mem, size_t mem_size, edgestt_pool **out,
                                               edgestt_diag *diag);
/* Threads of the pool incl. the caller (0 for NULL). */
EDGESTT_API int edgestt_pool_threads(const edgestt_pool *pool);
/* Stop the workers; release the memory if create allocated it.  No state may use it afterwards. */
EDGESTT_API void edgestt_pool_destroy(edgestt_pool *pool);

/* Fill *p with the defaults above (whisper's command-line defaults).  Thread-safe. */
EDGESTT_API void edgestt_full_params_default(edgestt_full_params *p);

/* Bytes edgestt_state_init needs for this model and these planning fields (NULL = defaults). */
EDGESTT_API edgestt_status edgestt_state_mem_size(const edgestt_model *model, const edgestt_full_params *params,
                                      size_t *bytes, edgestt_diag *diag);
/* Create a state: mem/mem_size a caller buffer of at least edgestt_state_mem_size() bytes, or
 * mem == NULL for one allocation made here.  Starts the state's n_threads - 1 worker threads
 * (none when params->pool is set: the state uses that pool). */
EDGESTT_API edgestt_status edgestt_state_init(const edgestt_model *model, const edgestt_full_params *params,
                                  void *mem, size_t mem_size, edgestt_state **out, edgestt_diag *diag);
/* Stop the state's threads and release its allocation (if init made one).  NULL is ignored. */
EDGESTT_API void edgestt_state_free(edgestt_state *state);

/* Transcribe mono 16 kHz samples in [-1, 1) (e.g. from edgestt_wav_decode).  params NULL = the
 * defaults (within the plan).  Replaces the previous results. */
EDGESTT_API edgestt_status edgestt_transcribe(edgestt_state *state, const float *pcm16k, size_t n_samples,
                                  const edgestt_full_params *params);
/* One line about the last failure of this state ("" after success). */
EDGESTT_API const char *edgestt_state_error(const edgestt_state *state);

typedef struct edgestt_segment {
    int64_t t0_ms, t1_ms;      /* start and end in the audio */
    int first_token, n_tokens; /* its tokens: edgestt_get_token(first_token + i) */
    float avg_logprob;         /* of the window's decoding result */
    float no_speech_prob;
    float compression_ratio;
    float temperature;         /* the temperature the window was decoded at */
} edgestt_segment;

typedef struct edgestt_token_data {
    int id;                    /* text with edgestt_token_bytes */
    float p;                   /* probability under the filtered distribution it was chosen from */
    int64_t t0_ms, t1_ms;      /* timestamp tokens: their time; text tokens: the segment's span
                                  split in proportion to their byte lengths (an estimate) */
    int segment;
} edgestt_token_data;

EDGESTT_API int edgestt_n_segments(const edgestt_state *state);
EDGESTT_API edgestt_status edgestt_get_segment(const edgestt_state *state, int i, edgestt_segment *out);
/* Text of segment i (its text tokens; invalid UTF-8 replaced by U+FFFD; not trimmed): at most
 * cap bytes incl. a NUL into out, *len = the full length.  EDGESTT_E_NOMEM if out is short (it
 * then holds a NUL-terminated prefix). */
EDGESTT_API edgestt_status edgestt_segment_text(const edgestt_state *state, int i, char *out, size_t cap,
                                    size_t *len);
/* The whole transcript (all segments' text tokens), same conventions. */
EDGESTT_API edgestt_status edgestt_full_text(const edgestt_state *state, char *out, size_t cap, size_t *len);
EDGESTT_API int edgestt_n_tokens(const edgestt_state *state);
EDGESTT_API edgestt_status edgestt_get_token(const edgestt_state *state, int i, edgestt_token_data *out);

/* Language of the last call: code ("en"), token id and probability (1 when it was given, not
 * detected).  Any pointer may be NULL. */
EDGESTT_API edgestt_status edgestt_get_language(const edgestt_state *state, const char **code, int *token,
                                    float *prob);

typedef struct edgestt_timings {
    double mel_ms, encode_ms, decode_ms; /* of the last call */
    int n_windows;                       /* windows decoded */
    int n_fallbacks;                     /* decodes repeated at a higher temperature */
} edgestt_timings;
EDGESTT_API edgestt_status edgestt_get_timings(const edgestt_state *state, edgestt_timings *out);

/* ---- model tooling: convert, check, the Whisper model table ------------------------------ */
/*
 * edgestt_convert turns a model into this project's GGUF (models/whisper-gguf.md): from a
 * whisper.cpp .bin (F32/F16/Q8_0/Q4_0 kept bit for bit where the type stays; Q4_1/Q5_0/Q5_1
 * dequantized and re-quantized, counted in n_requantized), from a GGUF, or from a Hugging Face
 * checkpoint directory (model.safetensors + config.json + vocab.json [+ added_tokens.json]).
 * Type policy: linear weights and the token embedding take params->type; conv weights F16 (F32
 * when type is F32); norms, biases, positional embeddings and mel filters F32; keep patterns
 * override per tensor.  Quantizers round exactly as ggml's reference quantizers.  Every tensor's
 * CRC-32 (zlib) is stored in the key edgestt.crc32 (u32 array in tensor order, per shard).
 * Output goes through a sink, never to a file directly (the library does no file writes);
 * memory: one allocation for the tensor table and row buffers, released before returning.
 */
#define EDGESTT_DEFAULT_SHARD_BYTES (512ull << 20)

/* Write n bytes at offset off of output file shard (0-based) of n_shards.  All writes of shard i
 * come before any of shard i + 1; within a shard writes are in order except a final patch of the
 * CRC array.  Return 0, or nonzero to stop (edgestt_convert then returns EDGESTT_E_IO). */
typedef int (*edgestt_sink_fn)(void *user, int shard, int n_shards, uint64_t off, const void *data, size_t n);

typedef enum edgestt_input_kind {
    EDGESTT_INPUT_GGUF = 1,
    EDGESTT_INPUT_GGML_BIN = 2,
    EDGESTT_INPUT_HF = 3           /* Hugging Face safetensors checkpoint directory */
} edgestt_input_kind;

typedef struct edgestt_convert_params {
    int type;                  /* edgestt_type of linear weights and token embedding; default Q8_0 */
    uint64_t shard_bytes;      /* largest shard in bytes (a tensor larger than that gets a shard of
                                  its own); 0 (default) = one file up to EDGESTT_DEFAULT_SHARD_BYTES,
                                  shards of that size beyond; UINT64_MAX = never shard */
    const char *const *keep;   /* n_keep overrides "PATTERN=TYPE" ('*' matches any run), first wins */
    int n_keep;
    const char *name;          /* general.name; NULL = derived from the input */
} edgestt_convert_params;

typedef struct edgestt_convert_report {
    edgestt_input_kind input;
    int n_tensors;
    int n_requantized;         /* tensors dequantized from Q4_1/Q5_0/Q5_1 and quantized again */
    int n_shards;
    uint64_t bytes;            /* all shards together */
    int64_t n_by_type[16];     /* output tensors per edgestt_type */
} edgestt_convert_report;

EDGESTT_API void edgestt_convert_params_default(edgestt_convert_params *p);
/* Convert in_path (a .bin or .gguf file, or a Hugging Face checkpoint directory).  report may be
 * NULL.  EDGESTT_E_INVALID_ARG for bad params or keep patterns, the reader codes for bad input. */
EDGESTT_API edgestt_status edgestt_convert(const char *in_path, const edgestt_convert_params *params,
                                           edgestt_sink_fn sink, void *user, edgestt_convert_report *report,
                                           edgestt_diag *diag);
/* Name of shard no (1-based) of count for an output path "NAME.gguf": "NAME-0000no-of-0000count.gguf"
 * (the path itself when count == 1).  EDGESTT_E_NOMEM if out (cap bytes) is short. */
EDGESTT_API edgestt_status edgestt_shard_name(const char *path, int no, int count, char *out, size_t cap);

/* What edgestt_check found; the values are the edge-stt check exit codes. */
typedef enum edgestt_check_state {
    EDGESTT_CHECK_COMPLETE = 0,
    EDGESTT_CHECK_INCOMPLETE = 3,  /* truncated, a shard missing, a download left as .part / .incomplete */
    EDGESTT_CHECK_CORRUPT = 4,     /* a CRC mismatch (naming the tensor), a bad header or tensor table */
    EDGESTT_CHECK_UNSUPPORTED = 5  /* well-formed but an unknown architecture, version or type */
} edgestt_check_state;

/* Verify a model file (the first or any shard of a set checks the whole set): headers, sizes,
 * structure, and (quick == 0) every recorded CRC.  diag gets one line of reason.  Maps the files
 * and makes one allocation for the tables, released before returning. */
EDGESTT_API edgestt_check_state edgestt_check(const char *path, int quick, edgestt_diag *diag);

/* The Whisper family: the single table info, check and convert use. */
typedef struct edgestt_model_desc {
    const char *name;          /* "tiny.en", "large-v3-turbo", ... */
    const char *ggml_file;     /* whisper.cpp's file name, "ggml-tiny.en.bin" */
    const char *hf_name;       /* "openai/whisper-tiny.en" */
    int n_vocab, n_mels, n_audio_ctx, n_text_ctx, n_state, n_head, n_audio_layer, n_text_layer;
    int64_t n_params;          /* weights incl. biases and positional embeddings */
} edgestt_model_desc;

/* The table: *out gets the first entry; returns the number of entries. */
EDGESTT_API int edgestt_model_table(const edgestt_model_desc **out);
/* Index of the entry with these dimensions, or -1. */
EDGESTT_API int edgestt_model_table_find(const edgestt_model_info *info);
/* Tensor-data bytes of a model under the convert policy for type (mel filters included; GGUF
 * alignment padding and the header excluded); 0 for an unknown type. */
EDGESTT_API uint64_t edgestt_model_desc_weight_bytes(const edgestt_model_desc *d, int type);

/* ---- benchmark ------------------------------------------------------------------------------ */
/* The forward pass timed as whisper.cpp's whisper-bench times it: one encode of a 30 s window
 * (n_audio_ctx frames: conv front end, encoder blocks, ln_post, every decoder layer's cross K/V),
 * then n_tokens single-token decoder steps of one sequence at positions 0, 1, ..., n_tokens - 1
 * (self attention over the growing cache, cross attention over the window, logits), with the
 * model's K/V cache type (edgestt_params.kv_type).  A warm-up
 * encode and step come first.  Makes one allocation for a one-slot forward-pass state with its
 * own pool of n_threads threads, released before returning.  The input is synthetic (a fixed
 * log-mel pattern, token 0): the kernels' run time does not depend on the values. */
typedef struct edgestt_bench_result {
    double encode_ms;            /* one window */
    double decode_ms_per_token;  /* mean over the n_tokens steps */
    int n_tokens;
    size_t state_bytes;          /* the planned forward-pass state (one K/V slot) */
    edgestt_kv_type kv_type;     /* the K/V cache type it ran with (the model's, edgestt_params) */
    uint64_t peak_rss_bytes;     /* the process's peak resident set size afterwards (0 = unknown) */
    /* transducers (model info arch "parakeet"): one pass over audio_s seconds of a synthetic signal;
     * encode_ms = the encoder over all of it, features_ms = the front end, decode_ms = joint
     * projection + greedy decoding, n_tokens = the tokens it emitted (decode_ms_per_token =
     * decode_ms / n_tokens; n_tokens argument ignored); all 0 for Whisper */
    double audio_s, features_ms, decode_ms;
} edgestt_bench_result;

/* n_threads >= 1; 1 <= n_tokens <= n_text_ctx.  EDGESTT_E_NOMEM if the state cannot be allocated. */
EDGESTT_API edgestt_status edgestt_bench(const edgestt_model *model, int n_threads, int n_tokens,
                                         edgestt_bench_result *out, edgestt_diag *diag);

/* ---- live capture (ALSA) -------------------------------------------------------------------- */
/*
 * Microphone input for streaming: a capture thread reads 16 kHz mono S16 periods from an ALSA PCM
 * (any name arecord -D takes: "default", "plughw:1,0", a name from ~/.asoundrc; ALSA's plug layer
 * converts rate, channels and format) and pushes them into a lock-free single-producer
 * single-consumer ring; edgestt_capture_read takes them out on the caller's thread.  Overruns of
 * the ALSA buffer are recovered (snd_pcm_recover) and counted; samples that find the ring full
 * are dropped and counted (or, with wait_when_full, the thread waits: for file sources).
 * Memory: the handle, the ring and the period buffer are placed once by edgestt_capture_open (the
 * caller's buffer of edgestt_capture_mem_size() bytes, or one allocation); nothing is allocated
 * by the library after open.  ALSA's own error printing is silenced for the process at the first
 * open (the library never prints): failures come back as codes and one diag line.
 * Errors at open: EDGESTT_E_NOT_FOUND no such device, EDGESTT_E_IO busy / permission denied /
 * other I/O, EDGESTT_E_UNSUPPORTED the device cannot give 16 kHz mono S16 (use a plug: name) or
 * the library was built without ALSA.
 * Threads: one handle belongs to one reader thread; distinct handles are independent.
 */
typedef struct edgestt_capture edgestt_capture;

typedef struct edgestt_capture_params {
    const char *device;   /* ALSA PCM name; NULL = "default" */
    int period_ms;        /* ALSA period (the thread's wake-up); default 20 */
    int buffer_ms;        /* ALSA buffer (xrun margin); default 200 */
    int ring_ms;          /* ring between the thread and the reader; default 10000 */
    int wait_when_full;   /* 1: the thread waits for room instead of dropping; default 0 */
} edgestt_capture_params;

typedef struct edgestt_capture_stats {
    uint64_t frames;      /* captured from ALSA */
    uint64_t dropped;     /* lost because the ring was full */
    uint32_t xruns;       /* ALSA overruns recovered */
    int period_frames;    /* as negotiated */
    int buffer_frames;
} edgestt_capture_stats;

EDGESTT_API void edgestt_capture_params_default(edgestt_capture_params *p);
/* Bytes edgestt_capture_open needs for these parameters (NULL = defaults). */
EDGESTT_API edgestt_status edgestt_capture_mem_size(const edgestt_capture_params *p, size_t *bytes);
/* Open the PCM, negotiate 16 kHz mono S16, start it and the capture thread. */
EDGESTT_API edgestt_status edgestt_capture_open(const edgestt_capture_params *p, void *mem, size_t mem_size,
                                                edgestt_capture **out, edgestt_diag *diag);
/* Up to max samples into out (*n gets the count), waiting up to timeout_ms (< 0: forever) for
 * the first.  *n == 0 and EDGESTT_OK on a timeout; EDGESTT_E_IO once the device failed for good
 * (unplugged: edgestt_capture_error says why) and the ring is empty. */
EDGESTT_API edgestt_status edgestt_capture_read(edgestt_capture *c, int16_t *out, size_t max, size_t *n,
                                                int timeout_ms);
EDGESTT_API void edgestt_capture_get_stats(const edgestt_capture *c, edgestt_capture_stats *out);
/* One line about the capture thread's failure ("" while it runs). */
EDGESTT_API const char *edgestt_capture_error(const edgestt_capture *c);
/* Stop the thread, close the PCM, release the memory (if open allocated it).  NULL is ignored. */
EDGESTT_API void edgestt_capture_close(edgestt_capture *c);

/* Capture devices as arecord -L lists them: fn(user, name, description) for every PCM hint that
 * can capture (description may be ""; lines separated by '\n').  A nonzero return stops the walk. */
typedef int (*edgestt_device_fn)(void *user, const char *name, const char *description);
EDGESTT_API edgestt_status edgestt_capture_devices(edgestt_device_fn fn, void *user, edgestt_diag *diag);

/* ---- streaming dictation ------------------------------------------------------------------ */
/*
 * VAD-gated utterances from a live stream: the caller pushes 16 kHz samples as they arrive; the
 * stream runs the VAD window by window (its segmenter with min_silence_ms = endpoint_ms), keeps
 * the audio of the current utterance (from speech start - pad) and transcribes it:
 *   partial  while speaking, when partial_ms of audio have passed since the last partial, at the
 *            end of a push (so a caller that is behind pushes its backlog at once and gets one
 *            partial, not a queue of stale ones); with the fast model;
 *   final    when the speaker has been silent for endpoint_ms (or at edgestt_stream_flush, or when
 *            the utterance reaches vad.max_speech_ms -- ended at its last pause longer than 98 ms,
 *            as Silero splits -- or max_utterance_ms, which cuts it and goes on); with the accurate
 *            model; utterances not longer than min_speech_ms give no event.
 * Hybrid: two models (fast, accurate); mode FAST uses the fast one for both, ACCURATE the accurate
 * one for both, AUTO fast for partials and accurate for finals.  Either may be NULL (the other
 * serves everything).  Each model gets its own transcription state inside the stream's memory, with
 * one thread pool of decode.n_threads threads, placed in the stream's memory and shared by the
 * two states (they never run at once); or decode.pool, the caller's, if set.
 * Memory: everything is placed by edgestt_stream_init (caller buffer of edgestt_stream_mem_size()
 * bytes, or one allocation); edgestt_stream_push never allocates.  The VAD handle is the
 * caller's (its params are set by init; it must not be used elsewhere while the stream lives).
 * Times are in the stream's timeline (samples pushed since init / reset), in milliseconds.
 * Transducers (Parakeet) stream too, alone or beside a Whisper model: an utterance is capped so
 * that its whole buffer (pads, endpoint silence) fits the model's max_audio_windows x 30 s state
 * (EDGESTT_E_LIMIT at init when nothing fits); a partial runs the utterance so far greedily, a
 * final with decode.beam_size (> 1: modified beam search).  No 30 s padding: their work grows with
 * the speech.  The encoder is not chunked yet (each partial encodes the utterance again).
 */
typedef struct edgestt_stream edgestt_stream;

typedef enum edgestt_stream_mode {
    EDGESTT_STREAM_AUTO = 0,       /* fast partials, accurate finals */
    EDGESTT_STREAM_FAST = 1,
    EDGESTT_STREAM_ACCURATE = 2
} edgestt_stream_mode;

typedef struct edgestt_stream_params {
    edgestt_stream_mode mode;      /* default AUTO */
    int partial_ms;                /* cadence of partials while speaking; default 500; 0 = none */
    int endpoint_ms;               /* silence that ends an utterance; default 600 */
    int max_utterance_ms;          /* longest utterance kept (a hard cut); default 0 = vad.max_speech_ms
                                      if set, else the smaller model window */
    int max_text_bytes;            /* text kept per event; default 4096 */
    edgestt_vad_params vad;        /* threshold, min speech, pad, max speech (min_silence_ms =
                                      endpoint_ms).  vad.max_speech_ms > 0: an utterance that long
                                      is finalised at its last pause > 98 ms (or cut there) by the
                                      VAD's rule; max_utterance_ms, if smaller, cuts first */
    edgestt_full_params decode;    /* planning and decoding of finals; partials decode greedily
                                      without fallback (default: greedy, no timestamps, no
                                      conditioning, language "en" if English-only) */
} edgestt_stream_params;

typedef enum edgestt_stream_event_type {
    EDGESTT_EVENT_NONE = 0,
    EDGESTT_EVENT_PARTIAL = 1,
    EDGESTT_EVENT_FINAL = 2
} edgestt_stream_event_type;

typedef struct edgestt_stream_event {
    edgestt_stream_event_type type;
    int utterance;                 /* 0, 1, 2, ... */
    int64_t t0_ms;                 /* speech start (unpadded) */
    int64_t t1_ms;                 /* partial: audio so far; final: end of speech (unpadded) */
    int64_t at_ms;                 /* stream time when the event was decided */
    const char *text;              /* UTF-8, NUL-terminated, trimmed; valid until the next call */
    int model;                     /* 0 fast, 1 accurate */
    double compute_ms;             /* wall time of the transcription */
    int truncated;                 /* text longer than max_text_bytes, cut */
    float avg_logprob;             /* of the first segment's decoding (NAN without one) */
    float no_speech_prob;          /* of the first window (NAN without one) */
} edgestt_stream_event;

EDGESTT_API void edgestt_stream_params_default(edgestt_stream_params *p);
EDGESTT_API edgestt_status edgestt_stream_mem_size(const edgestt_model *fast, const edgestt_model *accurate,
                                                   const edgestt_stream_params *p, size_t *bytes,
                                                   edgestt_diag *diag);
EDGESTT_API edgestt_status edgestt_stream_init(const edgestt_model *fast, const edgestt_model *accurate,
                                               edgestt_vad *vad, const edgestt_stream_params *p, void *mem,
                                               size_t mem_size, edgestt_stream **out, edgestt_diag *diag);
/* Transcribe one second of silence with each model, so the first utterance does not pay for
 * first-touch page faults of the weights and the plan. */
EDGESTT_API edgestt_status edgestt_stream_warmup(edgestt_stream *s);
/* Push n samples (float in [-1, 1) or int16; the other pointer NULL).  Consumes until an event
 * happens or all are consumed: *consumed gets the count, *ev the event (type NONE if none).
 * Call again with the rest. */
EDGESTT_API edgestt_status edgestt_stream_push(edgestt_stream *s, const float *pcm, const int16_t *pcm16,
                                               size_t n, size_t *consumed, edgestt_stream_event *ev);
/* End of input: the utterance in progress (if any, and long enough) becomes a final. */
EDGESTT_API edgestt_status edgestt_stream_flush(edgestt_stream *s, edgestt_stream_event *ev);
/* Forget the utterance and the VAD state; the timeline restarts at 0. */
EDGESTT_API void edgestt_stream_reset(edgestt_stream *s);
/* One line about the last failure ("" after success). */
EDGESTT_API const char *edgestt_stream_error(const edgestt_stream *s);
EDGESTT_API void edgestt_stream_free(edgestt_stream *s);

#ifdef __cplusplus
}
#endif
#endif /* EDGESTT_H */
