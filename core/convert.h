/*
 * convert.h - internals of edgestt_convert: the input readers (core/convert_input.c) fill an
 * est_conv with the tensor list under OpenAI names and a vocabulary writer; core/convert.c decides
 * types, plans shards and writes.
 */
#ifndef EST_CONVERT_H
#define EST_CONVERT_H

#include "../models/whisper.h"
#include "gguf_write.h"

/* Source-only element types (ggml numbering; BF16 from safetensors). */
enum { EST_SRC_Q4_1 = 3, EST_SRC_Q5_0 = 6, EST_SRC_Q5_1 = 7, EST_SRC_BF16 = 30 };

#define EST_CONV_NAME 96

typedef struct est_conv_tensor {
    char name[EST_CONV_NAME];  /* OpenAI state-dict name, NUL-terminated */
    int src_type, out_type;
    int n_dims;
    int shard;
    int64_t ne[EST_MAX_DIMS];  /* ggml order, ne[i] = 1 past n_dims */
    const uint8_t *data;       /* source data in the mapped input */
    uint64_t out_bytes;
    uint32_t crc;              /* of the output bytes */
} est_conv_tensor;

typedef struct est_conv est_conv;
struct est_conv {
    est_whisper_hparams hp;
    edgestt_special_tokens st;
    int type;                  /* params->type */
    char name[128];            /* general.name */
    est_conv_tensor *t;        /* [n_tensors] */
    int n_tensors;
    float *f32;                /* [CHUNK] */
    uint8_t *outbuf;           /* [CHUNK * 4] */
    /* writes the n_vocab strings of whisper.tokenizer.tokens */
    void (*vocab)(const est_conv *cv, est_gguw *w);
    /* reader state for vocab() */
    const uint8_t *tok_first, *img_end;     /* GGUF: first token string, end of the image */
    const uint8_t *words;                   /* .bin: word records */
    size_t words_bytes;
    int n_words;
    const uint8_t *const *hf_tok;           /* HF: [eot] raw JSON string bodies (escaped) */
    const uint32_t *hf_len;                 /* HF: [eot] their escaped lengths */
};

static inline int64_t est_file_tensor_nelem_ne(const int64_t *ne) { return ne[0] * ne[1] * ne[2] * ne[3]; }

/* Any source type -> f32 (n whole blocks). */
EST_HIDDEN int est_convert_to_f32(int type, const uint8_t *x, float *y, int64_t n);
/* Types, shards, header and data through sink (see convert.c). */
EST_HIDDEN int est_convert_write(est_conv *cv, const edgestt_convert_params *p, edgestt_sink_fn sink, void *user,
                                 edgestt_convert_report *rep, edgestt_diag *diag);

/* A Parakeet GGUF input (general.architecture "parakeet"): core/convert_pk.c; detect says whether
 * the image is one (a GGUF naming that architecture, even if broken further on). */
EST_HIDDEN int est_convert_pk_detect(const uint8_t *img, size_t size);
EST_HIDDEN int est_convert_pk_gguf(const uint8_t *img, size_t size, const edgestt_convert_params *p,
                                   edgestt_sink_fn sink, void *user, edgestt_convert_report *rep, edgestt_diag *diag);

/* Hugging Face checkpoint input (a directory or its model.safetensors): core/convert_hf.c. */
EST_HIDDEN int est_convert_hf(const char *path, const edgestt_convert_params *p, edgestt_sink_fn sink, void *user,
                              edgestt_convert_report *rep, edgestt_diag *diag);

#endif
