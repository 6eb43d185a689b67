/*
 * model.h - the model handle (struct edgestt_model) and the open plan (internal; core/model.c).
 *
 * Open = probe the headers (models/whisper.c) -> plan -> one block (caller's or one allocation)
 * -> place with the same plan -> fill tables, bind tensors, build the tokenizer, start the pool.
 * The plan is reservations only (no parsing), so sizing and placing cannot drift and a failing
 * reservation costs nothing.  Arena layout, bottom (long-lived): handle, layer structs, token
 * index + decoded text bytes, special-token forms, pool; top (scratch, released when open
 * returns): the file's KV and tensor tables, then (planned only) the log-mel scratch.
 */
#ifndef EST_MODEL_H
#define EST_MODEL_H

#include "../kernels/kernels.h"
#include "../models/parakeet.h"
#include "../models/whisper.h"
#include "../port/port.h"

#define EST_MAX_THREADS 256
#define EST_MAX_BEAMS 32
#define EST_MAX_AUDIO_WINDOWS 1024
#define EST_PLAN_MAX_STEPS 16
#define EST_MAX_SHARDS 64         /* GGUF shard sets: NAME-00001-of-0000N.gguf, opened together */

/* The other shards of a set (the first is the handle's map): mapped files and their layouts. */
typedef struct est_shards {
    int n;                        /* shards beyond the first */
    est_map map[EST_MAX_SHARDS - 1];
    est_gguf_layout lay[EST_MAX_SHARDS - 1];
} est_shards;

struct edgestt_model {
    est_arena arena;              /* the handle's block; this struct sits at its bottom */
    void *owned;                  /* the block if open allocated it, else NULL */
    est_map map;                  /* the file mapping (map.mapped = 1) or the caller's image */
    est_shards shards;            /* further shards of a GGUF set (tensors bound into them too) */
    edgestt_file_format format;
    est_whisper_hparams hp;
    est_whisper_weights w;        /* tensors point into map.data */
    est_tokenizer tok;
    const est_kernels *kernels;
    est_pool *pool;               /* in the arena */
    int n_threads;
    edgestt_kv_type kv_type;      /* K/V cache type of the states planned from this handle */
    size_t arena_bytes;           /* planned block size (est_arena_required) */
    size_t mel_scratch_bytes;     /* scratch est_log_mel needs for one window */
    est_pk_model *pk;             /* general.architecture "parakeet": the transducer (hp, w, tok unused) */
    size_t pk_max_samples;        /* parakeet: samples a state is planned for (max_audio_windows x 30 s) */
};

/* Where each planned block went (NULL while measuring), and the arena usage after each
 * reservation (marks[0..n_steps-1]) so tests can aim at every reservation's failure path. */
typedef struct est_model_plan {
    edgestt_model *handle;
    est_whisper_enc_layer *enc;   /* [n_audio_layer] */
    est_whisper_dec_layer *dec;   /* [n_text_layer] */
    uint32_t *text_off;           /* [n_text + 1] */
    uint8_t *text_bytes;          /* [text_bytes] (GGUF only) */
    uint32_t *spec_off;           /* [n_vocab - n_text + 1] */
    uint8_t *spec_bytes;          /* [spec_bytes] */
    size_t spec_size;
    void *pool_mem;
    size_t pool_size;
    est_gguf_kv *kv;              /* scratch: [n_kv] (GGUF) */
    est_file_tensor *tensors;     /* scratch: [n_tensors] */
    size_t n_kv, n_tensors;
    size_t mel_scratch;
    int n_steps;
    size_t marks[EST_PLAN_MAX_STEPS];
    size_t required;              /* est_arena_required after the plan */
} est_model_plan;

/* Run the plan on arena a (measuring or placing).  EDGESTT_E_NOMEM when a placing arena is short
 * (pl->n_steps tells how many reservations succeeded), EDGESTT_E_LIMIT if a size overflows. */
EST_HIDDEN int est_model_plan_run(const est_whisper_probe *pr, const edgestt_params *p, est_arena *a,
                                  est_model_plan *pl);
/* Parameter checks shared by open and mem_size (NULL = defaults, copied into *out). */
EST_HIDDEN int est_model_check_params(const edgestt_params *p, edgestt_params *out, edgestt_diag *diag);
/* The transducer bench's synthetic audio (core/bench.c): n samples at 16 kHz, deterministic. */
EST_HIDDEN void est_bench_signal(float *pcm, size_t n);

#endif
