/*
 * parakeet.h - NVIDIA NeMo's FastConformer transducer (Parakeet TDT / RNN-T) on mapped GGUF weights
 * (internal; models/parakeet.c).  File format: models/parakeet-gguf.md (general.architecture
 * "parakeet", NeMo state-dict tensor names).
 *
 * Pipeline: NeMo log-mel front end -> dw_striding 8x subsampling -> n_layers FastConformer blocks
 * -> joint.enc projection; LSTM predictor; joint (ReLU, out) -> token logits [n_vocab + 1] (blank
 * is the last) and, for TDT, duration logits [n_dur]; greedy TDT or RNN-T decoding, or modified beam search (est_pk_decode).
 *
 * Memory: est_pk_open places the handle (hyper-parameters, tensor pointers, layer table) in the
 * caller's block, planned by the same code (est_pk_open_size); est_pk_state_* plans every
 * activation for up to max_samples of audio into one block.  Nothing is allocated after that;
 * the image must outlive the handle (tensors point into it).
 */
#ifndef EST_PARAKEET_H
#define EST_PARAKEET_H

#include "../core/internal.h"
#include "../kernels/kernels.h"

#define EST_PK_MAX_LAYERS 128
#define EST_PK_MAX_DUR 16
#define EST_PK_MAX_LSTM 8
#define EST_PK_MAX_BEAM 8   /* modified beam search: hypotheses planned in every state */

/* One beam-search hypothesis (est_pk_decode): its tokens so far and its predictor. */
typedef struct est_pk_hyp {
    double score;                 /* total log-probability */
    int t, run, last, n;          /* next frame, labels at frame `last` (the last label's), token count */
    int32_t *tok, *fr, *du;       /* [max_len] each */
    float *p;                     /* [max_len] softmax probability of each token */
    float *h, *c, *predp;         /* [pred_layers][P] LSTM state, [J] joint.pred of its output */
} est_pk_hyp;

typedef struct est_pk_hparams {
    int sample_rate, n_mels, n_fft, win_length, hop_length; /* front end */
    float preemph;
    int d_model, n_heads, n_layers, d_ff, conv_kernel;  /* encoder */
    int sub_channels, sub_factor, xscaling;            /* subsampling (dw_striding, factor 8) */
    int pred_hidden, pred_layers, joint_hidden;        /* predictor, joint */
    int n_vocab;                                       /* pieces; blank id = n_vocab */
    int n_dur;                                         /* 0 = RNN-T */
    int durations[EST_PK_MAX_DUR];
    int max_symbols;                                   /* per frame in greedy decoding */
} est_pk_hparams;

/* A linear layer: y[n] = W[n][k] . x[k] (+ b[n]); W of any kernel type, rows stride bytes apart. */
typedef struct est_pk_linear {
    int type, n, k;
    const void *w;
    size_t stride;
    const float *b;   /* [n] or NULL */
} est_pk_linear;

typedef struct est_pk_norm { const float *g, *b; } est_pk_norm; /* [d] each */

typedef struct est_pk_layer {
    est_pk_norm ln_ff1, ln_att, ln_conv, ln_ff2, ln_out;
    est_pk_linear ff1_1, ff1_2, ff2_1, ff2_2;          /* [d_ff][d], [d][d_ff] */
    est_pk_linear q, k, v, o, pos;                     /* [d][d] */
    const float *pos_u, *pos_v;                        /* [n_heads][d_k] */
    est_pk_linear pw1, pw2;                            /* [2d][d], [d][d] */
    const float *dw_w, *dw_b;                          /* [d][K], [d] or NULL */
    const float *bn_w, *bn_b, *bn_mean, *bn_var;       /* [d] each, all NULL when folded */
} est_pk_layer;

typedef struct est_pk_model {
    est_pk_hparams hp;
    const est_kernels *kt;
    const float *fb;              /* [n_mels][n_fft/2 + 1] mel filter bank */
    const float *window;          /* [win_length] or NULL (Hann, periodic=False) */
    const float *sub0_w, *sub0_b; /* [C][1][3][3], [C] or NULL */
    const float *sub2_w, *sub2_b; /* [C][1][3][3] depthwise */
    const float *sub5_w, *sub5_b;
    est_pk_linear sub3, sub6;     /* pointwise [C][C] */
    est_pk_linear sub_out;        /* [d][C * ceil(n_mels / 8)] */
    est_pk_layer *layers;         /* [n_layers] */
    const void *embed;            /* [n_vocab + 1][pred_hidden] of embed_type, rows embed_stride bytes */
    int embed_type;
    size_t embed_stride;
    est_pk_linear lstm_ih[EST_PK_MAX_LSTM], lstm_hh[EST_PK_MAX_LSTM]; /* [4P][P] with biases */
    est_pk_linear joint_enc, joint_pred, joint_out; /* [J][d], [J][P], [V + 1 + n_dur][J] */
    const uint8_t *tokens;        /* tokenizer.ggml.tokens array (first element), or NULL */
    uint64_t n_tokens;
    const uint8_t *image_end;
} est_pk_model;

/* Bytes est_pk_open needs for this GGUF image (scans it).  EDGESTT_E_FORMAT / _UNSUPPORTED with
 * a line in diag for a file that is not a valid parakeet GGUF. */
EST_HIDDEN int est_pk_open_size(const void *image, size_t size, size_t *bytes, edgestt_diag *diag);
/* Place the handle in mem[0, mem_size) and bind every tensor (kt: the kernel table to run with). */
EST_HIDDEN int est_pk_open(const void *image, size_t size, const est_kernels *kt, void *mem,
                           size_t mem_size, est_pk_model **out, edgestt_diag *diag);

/* Frames of the front end and of the encoder for n samples. */
EST_HIDDEN int est_pk_n_feat_frames(const est_pk_model *m, size_t n_samples);
EST_HIDDEN int est_pk_n_enc_frames(const est_pk_model *m, int n_feat_frames);

/* ---- state: activations for up to max_samples of audio ------------------------------------ */
typedef struct est_pk_state {
    const est_pk_model *m;
    est_arena arena;
    int max_tf, max_t;            /* feature frames, encoder frames */
    float *feat;                  /* [n_mels][max_tf] normalised log-mel (NeMo layout) */
    float *sub_a, *sub_b;         /* subsampling ping-pong */
    float *x;                     /* [max_t][d] encoder output after est_pk_encode */
    float *ln, *q, *k, *v, *att;  /* [max_t][d] */
    float *hid;                   /* [max_t][max(d_ff, 2d)] */
    float *pe, *p;                /* [2 max_t - 1][d] */
    float *scores;                /* [n_threads][scr_stride]: scores [max_t], (q+u) [d], (q+v) [d] */
    size_t scr_stride;
    int n_threads;                /* planned for; the pool's threads (1 without a pool) */
    est_pool *pool;               /* NULL: the calling thread only */
    float *encp;                  /* [max_t][J] joint.enc projection */
    float *h, *c;                 /* [pred_layers][P] predictor state */
    float *emb;                   /* [P] the fed token's embedding row as f32 */
    float *g, *gates, *predp;     /* [P], [2][4P] (ih, hh products), [J] */
    float *jh, *logits;           /* [J], [V + 1 + n_dur] */
    est_pk_hyp hyp[2][EST_PK_MAX_BEAM]; /* beam search: current and next hypotheses (ping-pong) */
    int max_len;                  /* tokens a hypothesis can hold: max_t x max_symbols (TDT), max_t (RNN-T) */
    double *lp;                   /* [EST_PK_MAX_BEAM][V + 1 + n_dur] log-probabilities of the expanded hypotheses */
    double *fft;                  /* front end: [n_fft][2] work, [n_fft/2][2] twiddles, window */
    float *power;                 /* [n_fft/2 + 1] */
    void *gemm_scratch;
    size_t gemm_scratch_size;
} est_pk_state;

/* Bytes of a state for up to max_samples run on n_threads (measured with the placing code). */
EST_HIDDEN int est_pk_state_size(const est_pk_model *m, size_t max_samples, int n_threads, size_t *bytes);
/* Place a state; pool (NULL = calling thread only) runs the products and attention, the block
 * must be planned for est_pool_threads(pool) threads. */
EST_HIDDEN int est_pk_state_init(est_pk_state *s, const est_pk_model *m, size_t max_samples, est_pool *pool,
                                 void *mem, size_t mem_size);

/* Normalised log-mel features of samples into s->feat ([n_mels] rows of s->max_tf floats): *n_frames
 * = n // hop + 1 columns as NeMo's tensor, of which the first *n_valid = n // hop are valid (the
 * rest 0). */
EST_HIDDEN int est_pk_features(est_pk_state *s, const float *samples, size_t n_samples, int *n_frames,
                               int *n_valid);
/* Encoder over the tf valid frames of s->feat -> s->x [*n_out][d] (*n_out = NeMo's encoder length).  If sub_out is
 * not NULL it receives a copy of the subsampling output (pre_encode.out, before xscaling) ([*n_out][d]) before the blocks. */
EST_HIDDEN int est_pk_encode(est_pk_state *s, int tf, int *n_out, float *sub_out);
/* joint.enc projection of s->x rows [0, t) into s->encp. */
EST_HIDDEN int est_pk_project_enc(est_pk_state *s, int t);
/* Predictor: reset to the start-of-sequence output (zero state, zero embedding), or feed token. */
EST_HIDDEN void est_pk_pred_reset(est_pk_state *s);
EST_HIDDEN void est_pk_pred_step(est_pk_state *s, int token);
/* Joint of encoder frame t (s->encp) with the current predictor output -> s->logits. */
EST_HIDDEN void est_pk_joint(est_pk_state *s, int t);

/* Greedy decoding over s->encp frames [0, t): TDT when the model has durations, else RNN-T.
 * Writes up to cap tokens with their frame and duration (dur may be NULL); *n = count. */
EST_HIDDEN int est_pk_greedy(est_pk_state *s, int t, int32_t *tokens, int32_t *frames, int32_t *durs,
                             int cap, int *n);

/* Decoding over s->encp frames [0, t) with beam 1 (greedy: est_pk_greedy's path) or modified beam search
 * with beam 2..EST_PK_MAX_BEAM (models/parakeet-gguf.md "Beam search"; TDT or RNN-T as the model).  Writes up
 * to cap tokens with frame, duration, softmax probability of the token (frames, durs, probs may be NULL);
 * *score (may be NULL) = the total log-probability of the answer (greedy: of its token and duration
 * choices).  EDGESTT_E_LIMIT if the answer has more than cap tokens. */
EST_HIDDEN int est_pk_decode(est_pk_state *s, int t, int beam, int32_t *tokens, int32_t *frames, int32_t *durs,
                             float *probs, int cap, int *n, double *score);
/* est_pk_transcribe with a beam (as est_pk_decode) and token probabilities. */
EST_HIDDEN int est_pk_transcribe_beam(est_pk_state *s, const float *samples, size_t n_samples, int beam,
                                      int32_t *tokens, int32_t *frames, int32_t *durs, float *probs, int cap, int *n,
                                      double *score);

/* The whole offline pipeline on n_samples (<= the state's max_samples): features, encoder, joint
 * projection, greedy decoding into tokens/frames/durs (frames are encoder rows of 80 ms). */
EST_HIDDEN int est_pk_transcribe(est_pk_state *s, const float *samples, size_t n_samples, int32_t *tokens,
                                 int32_t *frames, int32_t *durs, int cap, int *n);

/* Piece id of the SentencePiece vocabulary (bytes in the image, not NUL-terminated). */
EST_HIDDEN int est_pk_piece(const est_pk_model *m, int id, const char **s, size_t *len);
/* Text of token ids: pieces joined, U+2581 -> space (none at the start), "<0xNN>" -> that byte,
 * blank skipped.  At most cap bytes incl. a NUL; *len = the full length; EDGESTT_E_NOMEM if out
 * is short (it then holds a prefix). */
EST_HIDDEN int est_pk_detokenize(const est_pk_model *m, const int32_t *ids, int n, char *out, size_t cap,
                                 size_t *len);

#endif
