/*
 * resample.c - band-limited sample-rate conversion: a Kaiser-windowed sinc applied as a polyphase
 * filter for the exact rational ratio L/M (see resample.h for the timing and length rules).
 *
 * Filter: g(t) = fc * sinc(fc * t) * kaiser(t / W) in input-sample time t, |t| < W, with fc the
 * cut-off relative to the input Nyquist.  Output j (input time j*M/L = q + p/L) is
 *   y[j] = sum_k g(p/L + W - 1 - k) * x[q - W + 1 + k],  k = 0 .. 2W - 1,
 * divided by the sum of those taps (unit DC gain per phase).  Taps are padded with zeros to a
 * multiple of 8 so the dot product runs on 8 independent accumulators (SLP-vectorisable, no
 * reassociation needed).
 *
 * Invariant: run() reads x only at the indices span() reports, so chunked callers stay in bounds.
 */
#include <math.h>

#include "resample.h"

/* Design: stop band from min(in,out)/2, pass band to 0.875 of it, 80 dB (Kaiser's formulas). */
#define ATTEN_DB 80.0
#define CUT 0.9375            /* -6 dB point relative to the lower Nyquist */
#define TRANSITION 0.0625     /* transition width relative to the lower sample rate */
#define PROTO_RES 1024.0      /* mode 2: prototype points per zero crossing */

static const double PI = 3.14159265358979323846;

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Modified Bessel function I0 by its power series (converges fast for the betas used here). */
static double bessel_i0(double x) {
    double sum = 1.0, term = 1.0, y = x * x / 4.0;
    for (int k = 1; k < 200; k++) {
        term *= y / ((double)k * (double)k);
        sum += term;
        if (term < 1e-17 * sum) break;
    }
    return sum;
}

typedef struct proto {
    double fc, half, beta, i0_beta;
} proto;

/* The windowed-sinc prototype at input time t (0 outside |t| < half). */
static double proto_at(const proto *g, double t) {
    double u = t / g->half;
    if (u <= -1.0 || u >= 1.0) return 0.0;
    double x = g->fc * t, s = x == 0.0 ? 1.0 : sin(PI * x) / (PI * x);
    return g->fc * s * bessel_i0(g->beta * sqrt(1.0 - u * u)) / g->i0_beta;
}

int est_resample_init(est_resampler *r, int in_rate, int out_rate, est_arena *a) {
    memset(r, 0, sizeof *r);
    if (in_rate < EST_RESAMPLE_MIN_RATE || in_rate > EST_RESAMPLE_MAX_RATE ||
        out_rate < EST_RESAMPLE_MIN_RATE || out_rate > EST_RESAMPLE_MAX_RATE)
        return EDGESTT_E_INVALID_ARG;
    int64_t g = gcd64(in_rate, out_rate);
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    r->up = out_rate / g;
    r->down = in_rate / g;
    r->step_q = r->down / r->up;
    r->step_p = r->down % r->up;
    if (in_rate == out_rate) { /* copy: one tap at offset 0 */
        r->half = 1;
        r->taps = 1;
        return EDGESTT_OK;
    }
    const double ratio = r->down > r->up ? (double)r->down / (double)r->up : 1.0;
    const double n_lower = (ATTEN_DB - 7.95) / (2.285 * 2.0 * PI * TRANSITION); /* taps, lower rate */
    proto pr;
    r->half = (int)ceil(n_lower / 2.0 * ratio);
    r->taps = (2 * r->half + 7) & ~7;
    pr.fc = CUT / ratio;
    pr.half = r->half;
    pr.beta = 0.1102 * (ATTEN_DB - 8.7);
    pr.i0_beta = bessel_i0(pr.beta);
    void *mem;
    int st;
    if ((uint64_t)r->up * (uint64_t)r->taps <= EST_RESAMPLE_TABLE_MAX) {
        r->mode = 1;
        st = est_arena_array(a, (size_t)r->up * (size_t)r->taps, sizeof(float), &mem);
        if (st || !mem) return st;
        float *c = mem; /* (up, taps) */
        const int n2 = 2 * r->half;
        for (int64_t p = 0; p <= r->up / 2; p++) {
            /* phase up - p is phase p mirrored: row[up - p][n2 - 1 - k] = row[p][k] (g is even) */
            float *row = c + p * r->taps, *mir = p && 2 * p != r->up ? c + (r->up - p) * r->taps : NULL;
            double sum = 0.0, frac = (double)p / (double)r->up;
            for (int k = 0; k < n2; k++) sum += (row[k] = (float)proto_at(&pr, frac + (r->half - 1 - k)));
            for (int k = 0; k < n2; k++) {
                row[k] = (float)(row[k] / sum);
                if (mir) mir[n2 - 1 - k] = row[k];
            }
        }
    } else {
        r->mode = 2;
        r->res = (int)ceil(PROTO_RES * pr.fc);
        size_t n = (size_t)r->half * (size_t)r->res + 2;
        st = est_arena_array(a, n, sizeof(float), &mem);
        if (st || !mem) return st;
        float *c = mem; /* (half * res + 2): g at t = s / res */
        for (size_t s = 0; s < n; s++) c[s] = (float)proto_at(&pr, (double)s / r->res);
    }
    r->coef = mem;
    return EDGESTT_OK;
}

int est_resample_out_len(const est_resampler *r, uint64_t n_in, uint64_t *n_out) {
    if (n_in > ((uint64_t)1 << 62) / (uint64_t)r->up) return EDGESTT_E_LIMIT;
    *n_out = (n_in * (uint64_t)r->up + (uint64_t)r->down - 1) / (uint64_t)r->down;
    return EDGESTT_OK;
}

void est_resample_span(const est_resampler *r, uint64_t j0, size_t n, int64_t *lo, int64_t *hi) {
    int64_t q0 = (int64_t)(j0 * (uint64_t)r->down / (uint64_t)r->up);
    int64_t q1 = (int64_t)((j0 + n - 1) * (uint64_t)r->down / (uint64_t)r->up);
    *lo = q0 - r->half + 1;
    *hi = q1 - r->half + 1 + r->taps;
}

size_t est_resample_span_max(const est_resampler *r, size_t n) {
    uint64_t steps = ((uint64_t)(n ? n - 1 : 0) * (uint64_t)r->down + (uint64_t)r->up - 1) / (uint64_t)r->up;
    return (size_t)steps + (size_t)r->taps;
}

/* 8-lane dot product of n (multiple of 8) floats. */
static float dot8(const float *restrict c, const float *restrict x, int n) {
    float acc[8] = {0};
    for (int k = 0; k < n; k += 8)
        for (int u = 0; u < 8; u++) acc[u] += c[k + u] * x[k + u];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* Mode 2: one output of phase p from the prototype, linearly interpolated.  Tap k sits at
 * |t| = (W - 1 - k) + frac on the right (k < W) and (k - W + 1) - frac on the left, so the table
 * position steps by exactly res per tap and the interpolation fraction is fixed per side. */
static float interp_dot(const est_resampler *r, int64_t p, const float *xb) {
    const float *tab = r->coef;
    const int W = r->half, res = r->res;
    const double pos = (double)p / (double)r->up * res; /* frac * res, in [0, res) */
    const int s0 = (int)pos;
    const float f0 = (float)(pos - s0);
    float acc = 0.0f, sum = 0.0f;
    size_t i = (size_t)(W - 1) * res + s0; /* k = 0 */
    for (int k = 0; k < W; k++, i -= res) { /* (unsigned wrap after the last tap is unused) */
        float c = tab[i] + f0 * (tab[i + 1] - tab[i]);
        acc += c * xb[k];
        sum += c;
    }
    /* left side: |t| * res = (k - W + 1) * res - pos = m * res - s0 - f0 */
    const float fl = f0 > 0.0f ? 1.0f - f0 : 0.0f;
    i = (size_t)res - (size_t)s0 - (f0 > 0.0f); /* k = W: m = 1 */
    for (int k = W; k < 2 * W; k++, i += res) {
        float c = tab[i] + fl * (tab[i + 1] - tab[i]);
        acc += c * xb[k];
        sum += c;
    }
    return acc / sum;
}

void est_resample_run(const est_resampler *r, const float *x, int64_t x0, uint64_t j0, size_t n,
                      float *out) {
    if (n == 0) return;
    if (r->mode == 0) {
        memcpy(out, x + ((int64_t)j0 - x0), n * sizeof *out);
        return;
    }
    const uint64_t pos = j0 * (uint64_t)r->down;
    int64_t q = (int64_t)(pos / (uint64_t)r->up), p = (int64_t)(pos % (uint64_t)r->up);
    const int W = r->half;
    for (size_t j = 0; j < n; j++) {
        const float *xb = x + (q - W + 1 - x0); /* taps samples */
        if (r->mode == 1) {
            out[j] = dot8(r->coef + p * r->taps, xb, r->taps);
        } else {
            out[j] = interp_dot(r, p, xb);
        }
        p += r->step_p;
        q += r->step_q;
        if (p >= r->up) {
            p -= r->up;
            q++;
        }
    }
}
