/*
 * silero_vad.h - Silero VAD v5 (16 kHz branch) in plain C: the GGUF binder and one window's
 * forward pass (models/silero_vad.c).  The public handle and the segmenter are core/vad.c.
 *
 * Invariants: weights point into the model image (f32, 4-byte aligned, never copied); the state's
 * buffers come from the caller's arena (est_silero_plan_state), so a forward pass allocates
 * nothing.  One window = EDGESTT_VAD_WINDOW (512) new samples + the 64 before them.
 */
#ifndef EST_SILERO_VAD_H
#define EST_SILERO_VAD_H

#include "../core/internal.h"

#define EST_SILERO_CONTEXT 64
#define EST_SILERO_INPUT (EST_SILERO_CONTEXT + EDGESTT_VAD_WINDOW)  /* 576 */
#define EST_SILERO_PADDED (EST_SILERO_INPUT + 64)                   /* 640 after the reflect pad */
#define EST_SILERO_NFFT 256
#define EST_SILERO_HOP 128
#define EST_SILERO_NFRAMES 4                                        /* (640 - 256) / 128 + 1 */
#define EST_SILERO_NBINS 129                                        /* n_fft / 2 + 1 */
#define EST_SILERO_HIDDEN 128
#define EST_SILERO_COLS (EST_SILERO_NFRAMES * 129 * 3)                /* im2col of the first conv */

/* The weights, as the PyTorch module names them. */
typedef struct est_silero {
    const float *basis;    /* (258, 256): rows 0..128 real, 129..257 imaginary parts */
    const float *enc_w[4]; /* (cout, cin, 3): 128x129, 64x128, 64x64, 128x64 */
    const float *enc_b[4]; /* (cout) */
    const float *w_ih;     /* (512, 128), gates i, f, g, o */
    const float *w_hh;     /* (512, 128) */
    const float *b_ih;     /* (512) */
    const float *b_hh;     /* (512) */
    const float *dec_w;    /* (128) */
    const float *dec_b;    /* (1) */
} est_silero;

/* One stream's state and the forward pass's buffers. */
typedef struct est_silero_state {
    float *h, *c;          /* (128) LSTM state carried between windows */
    float *ctx;            /* (64) last samples of the previous window */
    float *x;              /* (640) context + window + reflect pad */
    float *spec;           /* (258, 4) STFT conv output */
    float *a, *b;          /* (128 * 4) activations, ping-pong */
    float *gates;          /* (512) */
    float *cols;           /* (4, 129 * 3) im2col columns of a conv */
} est_silero_state;

/* Validate the GGUF image (architecture silero-vad v5 with the hyper-parameters above, every
 * tensor F32 with its exact shape and 4-byte aligned data) and point w at the tensors.  The
 * parser's tables are scratch from a (released before returning); a measuring arena only plans
 * them (w is then left zeroed, the image is only scanned). */
EST_HIDDEN int est_silero_bind(const uint8_t *data, size_t size, est_arena *a, est_silero *w, edgestt_diag *diag);
/* Reserve the state's buffers from the bottom of a. */
EST_HIDDEN int est_silero_plan_state(est_arena *a, est_silero_state *s);
/* Zero the LSTM state and the context (start of a stream). */
EST_HIDDEN void est_silero_reset(est_silero_state *s);
/* Speech probability of the next window (512 samples), carrying the state; dots by kt. */
struct est_kernels;
EST_HIDDEN float est_silero_forward(const struct est_kernels *kt, const est_silero *w, est_silero_state *s,
                                    const float *window);

#endif
