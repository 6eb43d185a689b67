/*
 * whisper.h - the Whisper architecture: hyper-parameters from either file layout, the special-token
 * layout, and the binding of file tensors (OpenAI state-dict names) to typed slots.
 *
 * Shapes are written as PyTorch gives them, [rows, cols]; the ne[] of each tensor is the reverse
 * (ggml order, ne[0] contiguous), e.g. a Linear(n_in -> n_out) weight is (n_out, n_in), ne =
 * [n_in, n_out].  Every bound tensor points into the model image (never copied); an unbound slot
 * has data == NULL.  n_audio_state == n_text_state (= n_state below) is required, as in every
 * released Whisper model (the cross-attention projections are n_state x n_state).
 */
#ifndef EST_WHISPER_H
#define EST_WHISPER_H

#include "../core/gguf.h"
#include "../core/ggml_bin.h"
#include "../core/tokenizer.h"

/* One bound weight. */
typedef struct est_tensor {
    int type;                 /* edgestt_type */
    int64_t ne[EST_MAX_DIMS]; /* ggml order */
    const void *data;         /* in the image, maybe unaligned; NULL = not bound */
    size_t nbytes;
} est_tensor;

typedef struct est_whisper_hparams {
    int n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer;
    int n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels;
    int ftype;                /* declared file type (ggml numbering), -1 when not given */
} est_whisper_hparams;

/* Attention projections: weights (n_state, n_state), biases (n_state); key has no bias. */
typedef struct est_whisper_attn {
    est_tensor q_w, q_b;      /* (n_state, n_state), (n_state) */
    est_tensor k_w;           /* (n_state, n_state) */
    est_tensor v_w, v_b;      /* (n_state, n_state), (n_state) */
    est_tensor o_w, o_b;      /* (n_state, n_state), (n_state) */
} est_whisper_attn;

typedef struct est_whisper_enc_layer {
    est_tensor attn_ln_w, attn_ln_b; /* (n_state) */
    est_whisper_attn attn;
    est_tensor mlp_ln_w, mlp_ln_b;   /* (n_state) */
    est_tensor mlp0_w, mlp0_b;       /* (4 n_state, n_state), (4 n_state) */
    est_tensor mlp2_w, mlp2_b;       /* (n_state, 4 n_state), (n_state) */
} est_whisper_enc_layer;

typedef struct est_whisper_dec_layer {
    est_tensor attn_ln_w, attn_ln_b;             /* (n_state) */
    est_whisper_attn attn;                       /* self-attention */
    est_tensor cross_attn_ln_w, cross_attn_ln_b; /* (n_state) */
    est_whisper_attn cross;                      /* k, v applied to the encoder output */
    est_tensor mlp_ln_w, mlp_ln_b;
    est_tensor mlp0_w, mlp0_b;                   /* (4 n_state, n_state), (4 n_state) */
    est_tensor mlp2_w, mlp2_b;                   /* (n_state, 4 n_state), (n_state) */
} est_whisper_dec_layer;

typedef struct est_whisper_weights {
    est_tensor conv1_w, conv1_b;     /* (n_state, n_mels, 3) F32/F16; (n_state) or (n_state, 1) F32 */
    est_tensor conv2_w, conv2_b;     /* (n_state, n_state, 3); (n_state) or (n_state, 1) */
    est_tensor enc_pos;              /* (n_audio_ctx, n_state) F32 */
    est_whisper_enc_layer *enc;      /* [n_audio_layer] */
    est_tensor ln_post_w, ln_post_b; /* (n_state) */
    est_tensor tok_emb;              /* (n_vocab, n_state) */
    est_tensor dec_pos;              /* (n_text_ctx, n_state) F32 */
    est_whisper_dec_layer *dec;      /* [n_text_layer] */
    est_tensor ln_w, ln_b;           /* decoder.ln (n_state) */
    const uint8_t *mel_filters;      /* (n_mels, 201) f32 little-endian, maybe unaligned */
    /* totals over the bound weights (mel filters excluded) */
    int n_tensors;
    int64_t n_params;
    size_t weight_bytes;
    int64_t n_by_type[16];
} est_whisper_weights;

/* Everything the headers say, learned before any memory exists (enough to plan). */
typedef struct est_whisper_probe {
    edgestt_file_format format;
    est_whisper_hparams hp;
    edgestt_special_tokens st;
    int n_text;                /* ids with stored bytes: min(stored words, eot) */
    size_t text_bytes;         /* GGUF: bytes the decoded text tokens need at most; .bin: 0 */
    size_t spec_bytes;         /* textual forms of ids [n_text, n_vocab) */
    uint64_t n_file_tensors;   /* tensor descriptions in the file */
    uint64_t n_file_kv;        /* GGUF KV pairs */
    est_gguf_layout gguf;      /* GGUF: layout from the scan */
    const uint8_t *tokens;     /* GGUF: first element of whisper.tokenizer.tokens */
    est_ggml_bin bin;          /* .bin: header, mel, vocabulary (tensor table filled later) */
    const uint8_t *data;       /* the image */
    size_t size;
} est_whisper_probe;

/* Read and check the headers of a GGUF or .bin Whisper model (detects the format by magic). */
EST_HIDDEN int est_whisper_probe_image(const void *data, size_t size, est_whisper_probe *pr,
                                       edgestt_diag *diag);
/* Limits every Whisper model must meet (EDGESTT_E_LIMIT / _UNSUPPORTED with a line). */
EST_HIDDEN int est_whisper_check_hparams(const est_whisper_hparams *hp, edgestt_diag *diag);
/* Special-token ids as whisper.cpp derives them from n_vocab (51864..51866). */
EST_HIDDEN int est_whisper_derive_special(int n_vocab, edgestt_special_tokens *st, edgestt_diag *diag);
/* Bind the file's tensors; w->enc / w->dec must point at n_audio_layer / n_text_layer zeroed
 * structs.  Missing, duplicate, misshaped, wrongly typed and unknown tensors are EDGESTT_E_MODEL
 * with a line naming the tensor. */
EST_HIDDEN int est_whisper_bind(const est_whisper_probe *pr, const est_file_tensor *t, size_t n,
                                est_whisper_weights *w, edgestt_diag *diag);
/* The i-th weight slot in a fixed order (globals, then encoder and decoder layers): its full name
 * into name (cap bytes) and its tensor.  Returns 0 once i is past the last slot. */
EST_HIDDEN int est_whisper_slot(const est_whisper_weights *w, const est_whisper_hparams *hp, int i, char *name,
                                size_t cap, const est_tensor **t);
/* Elements of a bound tensor. */
static inline int64_t est_tensor_nelem(const est_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

#endif
