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
typedef struct edgestt_params {
    int n_threads;          /* worker threads incl. the caller (>= 1); default 1 */
    int beam_size;          /* decoder beams planned for (>= 1); default 5 */
    int max_audio_windows;  /* audio windows (n_audio_ctx frames each) planned per call; default 1 */
    const char *kernels;    /* NULL/"auto" or "ref", "avx2", "neon", "neondot"; env
                               EDGESTT_KERNELS overrides "auto" */
} edgestt_params;

/* Fill *p with the defaults above. */
EDGESTT_API void edgestt_params_default(edgestt_params *p);

/* ---- model files ----------------------------------------------------------------------- */
typedef struct edgestt_model edgestt_model;

typedef enum edgestt_file_format {
    EDGESTT_FORMAT_GGUF = 1,       /* GGUF v3 (this project's Whisper schema, docs/whisper-gguf.md) */
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

typedef struct edgestt_model_info {
    edgestt_file_format format;
    const char *arch;         /* "whisper" */
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

#ifdef __cplusplus
}
#endif
#endif /* EDGESTT_H */
