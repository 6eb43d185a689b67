/*
 * mel.c - OpenAI Whisper's log-mel spectrogram (whisper/audio.py log_mel_spectrogram as
 * transcribe() calls it), see mel.h for the interface.
 *
 * Per frame f: samples [160 f - 200, 160 f + 200) (reflected at the signal start as torch's
 * center=True reflect padding does, zeros past the end as whisper's 30 s of padding gives),
 * times the periodic Hann window, a 400-point real DFT computed as a 200-point complex FFT
 * (mixed radix 4*2*5*5, Stockham autosort) plus the real-input split, |X_k|^2 for k = 0..200,
 * then the mel filters (n_mels x 201, packed to their non-zero span per row) and log10 with the
 * 1e-10 floor.  STFT and power run in double: whisper's float32 STFT carries up to ~2e-3 of log10
 * error in quiet bins (tests/reference/mel_ref.py --check), the double one stays near 1e-6.
 * The mel sums (all terms >= 0) and everything after are float.
 *
 * Scratch layout (mel_plan, the same code measures and places): window, twiddles, two FFT
 * buffers, a block of power spectra and the packed filters.  No allocation, no state between calls.
 */
#include <math.h>

#include "mel.h"

#define N_FFT EST_MEL_N_FFT
#define N_CPX (N_FFT / 2) /* 200-point complex FFT */
#define N_BINS EST_MEL_N_BINS
#define BLOCK 16 /* frames per power block */

static const double PI = 3.14159265358979323846;
static const int radix[] = {4, 2, 5, 5}; /* product N_CPX */

typedef struct mel_work {
    double *win;    /* (400) periodic Hann */
    double *tw;     /* (200, 2) exp(-2 pi i t / 200) */
    double *rtw;    /* (201, 2) exp(-2 pi i k / 400) */
    double *fa;     /* (200, 2) FFT input / ping buffer */
    double *fb;     /* (200, 2) FFT pong buffer */
    float *power;   /* (BLOCK, 201) power spectra of a block of frames */
    float *filt;    /* packed non-zero filter spans, at most n_mels * 201 */
    int32_t *span;  /* (n_mels, 3): first bin, bin count, offset into filt */
} mel_work;

/* Reserve (measuring arena: only count) the scratch for n_mels. */
static int mel_plan(est_arena *a, int n_mels, mel_work *w) {
    int st = 0;
    memset(w, 0, sizeof *w);
    if (!st) st = est_arena_array(a, N_FFT, sizeof(double), (void **)&w->win);
    if (!st) st = est_arena_array(a, 2 * N_CPX, sizeof(double), (void **)&w->tw);
    if (!st) st = est_arena_array(a, 2 * (N_CPX + 1), sizeof(double), (void **)&w->rtw);
    if (!st) st = est_arena_array(a, 2 * N_CPX, sizeof(double), (void **)&w->fa);
    if (!st) st = est_arena_array(a, 2 * N_CPX, sizeof(double), (void **)&w->fb);
    if (!st) st = est_arena_array(a, (size_t)BLOCK * N_BINS, sizeof(float), (void **)&w->power);
    if (!st) st = est_arena_array(a, (size_t)n_mels * N_BINS, sizeof(float), (void **)&w->filt);
    if (!st) st = est_arena_array(a, (size_t)n_mels * 3, sizeof(int32_t), (void **)&w->span);
    return st;
}

size_t est_log_mel_scratch_size(int n_mels, int n_frames) {
    est_arena a;
    mel_work w;
    (void)n_frames; /* work is blocked: scratch does not grow with the frame count */
    if (n_mels < 1 || n_mels > EST_MEL_MAX_MELS) return 0;
    est_arena_init_measure(&a);
    if (mel_plan(&a, n_mels, &w)) return 0;
    return est_arena_required(&a);
}

/* Window, twiddles and packed filters (filters may be unaligned: read bytewise). */
static void mel_setup(mel_work *w, const void *filters, int n_mels) {
    for (int i = 0; i < N_FFT; i++) w->win[i] = 0.5 - 0.5 * cos(2.0 * PI * i / N_FFT);
    for (int t = 0; t < N_CPX; t++) {
        w->tw[2 * t] = cos(2.0 * PI * t / N_CPX);
        w->tw[2 * t + 1] = -sin(2.0 * PI * t / N_CPX);
    }
    for (int k = 0; k <= N_CPX; k++) {
        w->rtw[2 * k] = cos(2.0 * PI * k / N_FFT);
        w->rtw[2 * k + 1] = -sin(2.0 * PI * k / N_FFT);
    }
    const uint8_t *fb = filters;
    int32_t off = 0;
    for (int m = 0; m < n_mels; m++) {
        const uint8_t *row = fb + (size_t)m * N_BINS * sizeof(float);
        int k0 = N_BINS, k1 = 0;
        for (int k = 0; k < N_BINS; k++) {
            if (est_rd_f32(row + 4 * k) != 0.0f) {
                if (k < k0) k0 = k;
                k1 = k + 1;
            }
        }
        if (k1 <= k0) k0 = k1 = 0;
        for (int k = k0; k < k1; k++) w->filt[off + k - k0] = est_rd_f32(row + 4 * k);
        w->span[3 * m] = k0;
        w->span[3 * m + 1] = k1 - k0;
        w->span[3 * m + 2] = off;
        off += k1 - k0;
    }
}

/* In-place-free complex FFT of N_CPX points (interleaved re/im): Stockham autosort, decimation in
 * frequency, one pass per radix.  x is destroyed; returns the buffer holding the result. */
static double *fft_c200(const double *tw, double *x, double *y) {
    int n = N_CPX, s = 1;
    for (size_t st = 0; st < sizeof radix / sizeof radix[0]; st++) {
        const int p = radix[st], m = n / p;
        for (int q = 0; q < m; q++) {
            for (int r = 0; r < s; r++) {
                const double *a = x + 2 * (r + s * q);     /* a_j at a + 2*s*m*j */
                double *o = y + 2 * (r + s * p * q);       /* y_k at o + 2*s*k */
                const int ai = 2 * s * m, oi = 2 * s;
                double yr[5], yi[5];
                if (p == 2) {
                    yr[0] = a[0] + a[ai];
                    yi[0] = a[1] + a[ai + 1];
                    yr[1] = a[0] - a[ai];
                    yi[1] = a[1] - a[ai + 1];
                } else if (p == 4) {
                    double t0r = a[0] + a[2 * ai], t0i = a[1] + a[2 * ai + 1];
                    double t1r = a[0] - a[2 * ai], t1i = a[1] - a[2 * ai + 1];
                    double t2r = a[ai] + a[3 * ai], t2i = a[ai + 1] + a[3 * ai + 1];
                    double t3r = a[ai + 1] - a[3 * ai + 1], t3i = -(a[ai] - a[3 * ai]); /* (a1-a3)(-i) */
                    yr[0] = t0r + t2r, yi[0] = t0i + t2i;
                    yr[1] = t1r + t3r, yi[1] = t1i + t3i;
                    yr[2] = t0r - t2r, yi[2] = t0i - t2i;
                    yr[3] = t1r - t3r, yi[3] = t1i - t3i;
                } else { /* p == 5 */
                    static const double c1 = 0.30901699437494742410, c2 = -0.80901699437494742410;
                    static const double s1 = 0.95105651629515357212, s2 = 0.58778525229247312917;
                    double b1r = a[ai] + a[4 * ai], b1i = a[ai + 1] + a[4 * ai + 1];
                    double b2r = a[2 * ai] + a[3 * ai], b2i = a[2 * ai + 1] + a[3 * ai + 1];
                    double d1r = a[ai] - a[4 * ai], d1i = a[ai + 1] - a[4 * ai + 1];
                    double d2r = a[2 * ai] - a[3 * ai], d2i = a[2 * ai + 1] - a[3 * ai + 1];
                    double t1r = a[0] + c1 * b1r + c2 * b2r, t1i = a[1] + c1 * b1i + c2 * b2i;
                    double t2r = a[0] + c2 * b1r + c1 * b2r, t2i = a[1] + c2 * b1i + c1 * b2i;
                    /* u1 = -i (s1 d1 + s2 d2), u2 = -i (s2 d1 - s1 d2) */
                    double v1r = s1 * d1r + s2 * d2r, v1i = s1 * d1i + s2 * d2i;
                    double v2r = s2 * d1r - s1 * d2r, v2i = s2 * d1i - s1 * d2i;
                    yr[0] = a[0] + b1r + b2r, yi[0] = a[1] + b1i + b2i;
                    yr[1] = t1r + v1i, yi[1] = t1i - v1r;
                    yr[4] = t1r - v1i, yi[4] = t1i + v1r;
                    yr[2] = t2r + v2i, yi[2] = t2i - v2r;
                    yr[3] = t2r - v2i, yi[3] = t2i + v2r;
                }
                o[0] = yr[0];
                o[1] = yi[0];
                for (int k = 1; k < p; k++) { /* times W_n^(q k) = tw[s q k] */
                    const double *w = tw + 2 * (s * q * k);
                    o[k * oi] = yr[k] * w[0] - yi[k] * w[1];
                    o[k * oi + 1] = yr[k] * w[1] + yi[k] * w[0];
                }
            }
        }
        double *t = x;
        x = y;
        y = t;
        n = m;
        s *= p;
    }
    return x;
}

/* |X_k|^2, k = 0..200, of the windowed frame starting at sample `start` (may be negative). */
static void frame_power(const mel_work *w, const float *samples, size_t n_samples, int64_t start,
                        float *power) {
    double *x = w->fa; /* the 400 real samples are the 200 complex z_m = x_2m + i x_2m+1 */
    if (start >= 0 && (uint64_t)start + N_FFT <= n_samples) {
        const float *s = samples + start;
        for (int i = 0; i < N_FFT; i++) x[i] = (double)s[i] * w->win[i];
    } else {
        for (int i = 0; i < N_FFT; i++) {
            int64_t j = start + i;
            if (j < 0) j = -j; /* reflect about sample 0 (torch pad_mode="reflect") */
            x[i] = (uint64_t)j < n_samples ? (double)samples[j] * w->win[i] : 0.0;
        }
    }
    const double *z = fft_c200(w->tw, w->fa, w->fb); /* (200, 2) */
    /* real-input split: X_k = E_k + W400^k O_k, E = (Z_k + conj Z_{200-k}) / 2,
     * O = -i (Z_k - conj Z_{200-k}) / 2 */
    power[0] = (float)((z[0] + z[1]) * (z[0] + z[1]));
    power[N_CPX] = (float)((z[0] - z[1]) * (z[0] - z[1]));
    for (int k = 1; k < N_CPX; k++) {
        const double zr = z[2 * k], zi = z[2 * k + 1];
        const double cr = z[2 * (N_CPX - k)], ci = -z[2 * (N_CPX - k) + 1];
        const double er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
        const double or_ = 0.5 * (zi - ci), oi = -0.5 * (zr - cr);
        const double wr = w->rtw[2 * k], wi = w->rtw[2 * k + 1];
        const double xr = er + (wr * or_ - wi * oi), xi = ei + (wr * oi + wi * or_);
        power[k] = (float)(xr * xr + xi * xi);
    }
}

int est_log_mel_raw(const float *samples, size_t n_samples, size_t frame0, int n_frames,
                    const void *filters, int n_mels, float *out, size_t out_stride, float *max_io,
                    void *scratch, size_t scratch_size) {
    if ((!samples && n_samples) || !filters || !out || n_mels < 1 || n_mels > EST_MEL_MAX_MELS ||
        n_frames < 0 || out_stride < (size_t)n_frames ||
        frame0 > (size_t)(INT64_MAX / EST_MEL_HOP) - (size_t)n_frames - 1)
        return EDGESTT_E_INVALID_ARG;
    est_arena a;
    mel_work w;
    est_arena_init(&a, scratch, scratch ? scratch_size : 0);
    int st = mel_plan(&a, n_mels, &w);
    if (st) return st;
    mel_setup(&w, filters, n_mels);
    float mx = max_io ? *max_io : 0.0f;
    for (int f0 = 0; f0 < n_frames; f0 += BLOCK) {
        const int nb = n_frames - f0 < BLOCK ? n_frames - f0 : BLOCK;
        for (int b = 0; b < nb; b++) {
            int64_t start = (int64_t)(frame0 + (size_t)(f0 + b)) * EST_MEL_HOP - N_FFT / 2;
            frame_power(&w, samples, n_samples, start, w.power + (size_t)b * N_BINS);
        }
        for (int m = 0; m < n_mels; m++) {
            const int k0 = w.span[3 * m], nk = w.span[3 * m + 1];
            const float *fl = w.filt + w.span[3 * m + 2];
            float *o = out + (size_t)m * out_stride + f0;
            for (int b = 0; b < nb; b++) {
                const float *pw = w.power + (size_t)b * N_BINS + k0;
                float acc = 0.0f;
                for (int k = 0; k < nk; k++) acc += fl[k] * pw[k];
                float v = acc > 1e-10f ? log10f(acc) : -10.0f; /* log10(clamp(mel, 1e-10)) */
                o[b] = v;
                if (v > mx) mx = v;
            }
        }
    }
    if (max_io) *max_io = mx;
    return EDGESTT_OK;
}

void est_log_mel_normalize(float *buf, size_t count, float max) {
    const float lo = max - 8.0f;
    for (size_t i = 0; i < count; i++) {
        float v = buf[i] > lo ? buf[i] : lo;
        buf[i] = (v + 4.0f) / 4.0f;
    }
}

int est_log_mel(const float *samples, size_t n_samples, const void *filters, int n_mels, int n_frames,
                float *out, void *scratch, size_t scratch_size) {
    float mx = -INFINITY;
    int st = est_log_mel_raw(samples, n_samples, 0, n_frames, filters, n_mels, out, (size_t)n_frames, &mx,
                             scratch, scratch_size);
    if (st) return st;
    est_log_mel_normalize(out, (size_t)n_mels * (size_t)n_frames, mx);
    return EDGESTT_OK;
}
