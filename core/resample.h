/*
 * resample.h - band-limited sample-rate conversion (internal; core/resample.c).
 *
 * A Kaiser-windowed sinc evaluated as a polyphase filter for the exact rational ratio
 * out/in = L/M (reduced by their gcd): 44100 -> 16000 is L = 160, M = 441; 48000 -> 16000 is
 * L = 1, M = 3; 8000 -> 16000 is L = 2, M = 1.  The cut-off is at min(in, out) / 2 with the
 * transition band [0.875, 1.0] x min(in, out) / 2 (7-8 kHz for a 16 kHz output) and a design
 * stop-band attenuation of 80 dB (pass-band ripple ~1e-4); each phase is normalised to unit DC
 * gain, so DC stays DC exactly (up to float rounding).
 *
 * Timing: output sample j sits at input time j * M / L (output 0 = input 0); the signal is zero
 * outside [0, n_in).  Output length rule: n_out = ceil(n_in * L / M), i.e. every output instant
 * that lies before the end of the input ([0, n_in / in_rate) seconds).  in == out is a copy.
 *
 * Coefficients: one table of L phases x taps (when that is at most EST_RESAMPLE_TABLE_MAX
 * floats, which covers every common rate), otherwise a finely sampled prototype that is linearly
 * interpolated per tap (odd rates such as 44101 Hz; error ~1e-5 of full scale).  Both live in
 * memory reserved from an est_arena by est_resample_init, so a measuring arena plans the size.
 *
 * Chunked use: outputs [j0, j0 + n) read only the inputs est_resample_span() names, so a caller
 * converts the input block by block (core/wav.c does); streaming needs nothing more.
 */
#ifndef EST_RESAMPLE_H
#define EST_RESAMPLE_H

#include "internal.h"

#define EST_RESAMPLE_MIN_RATE 1000
#define EST_RESAMPLE_MAX_RATE 384000
#define EST_RESAMPLE_TABLE_MAX (1u << 17) /* floats in a full polyphase table */

typedef struct est_resampler {
    int in_rate, out_rate;
    int64_t up, down;    /* L = out / gcd, M = in / gcd */
    int64_t step_q;      /* M / L: whole input samples per output step */
    int64_t step_p;      /* M % L: phase advance per output step */
    int half;            /* W: input samples each side of an output instant (taps = 2 W) */
    int taps;            /* taps per output (2 W rounded up to a multiple of 8; 1 for a copy) */
    int mode;            /* 0 copy, 1 polyphase table, 2 interpolated prototype */
    int res;             /* mode 2: prototype points per input sample */
    const float *coef;   /* mode 1: (up, taps) row per phase; mode 2: (half * res + 2) prototype */
} est_resampler;

/* Set up conversion in_rate -> out_rate (both in [EST_RESAMPLE_MIN_RATE, EST_RESAMPLE_MAX_RATE])
 * and reserve its coefficients from a (bottom of the arena); with a placing arena the
 * coefficients are computed too.  EDGESTT_E_INVALID_ARG for bad rates, EDGESTT_E_NOMEM if the
 * arena is short. */
EST_HIDDEN int est_resample_init(est_resampler *r, int in_rate, int out_rate, est_arena *a);

/* n_out = ceil(n_in * L / M); EDGESTT_E_LIMIT if n_in is so large that sample positions would
 * overflow 62 bits. */
EST_HIDDEN int est_resample_out_len(const est_resampler *r, uint64_t n_in, uint64_t *n_out);

/* Input indices [*lo, *hi) that outputs [j0, j0 + n) read (n >= 1); *lo may be negative. */
EST_HIDDEN void est_resample_span(const est_resampler *r, uint64_t j0, size_t n, int64_t *lo,
                                  int64_t *hi);

/* Largest *hi - *lo est_resample_span can give for n outputs. */
EST_HIDDEN size_t est_resample_span_max(const est_resampler *r, size_t n);

/* Outputs [j0, j0 + n) into out.  x[i - x0] is input sample i for every i in the span of these
 * outputs (zeros where i is outside the signal); nothing else is read. */
EST_HIDDEN void est_resample_run(const est_resampler *r, const float *x, int64_t x0, uint64_t j0,
                                 size_t n, float *out);

#endif
