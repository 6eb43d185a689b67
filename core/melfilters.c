/*
 * melfilters.c - the mel filter bank Whisper uses (librosa's Slaney mel scale and Slaney area
 * normalisation, sr 16000, n_fft 400), for writing model files.  The engine itself always uses
 * the filters stored in the model file.
 */
#include <math.h>

#include "mel.h"

static double hz_to_mel(double f) {
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return f >= min_log_hz ? min_log_mel + log(f / min_log_hz) / logstep : f / f_sp;
}

static double mel_to_hz(double m) {
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return m >= min_log_mel ? min_log_hz * exp(logstep * (m - min_log_mel)) : f_sp * m;
}

void est_mel_filters_slaney(int n_mels, float *out) {
    const double sr = 16000.0;
    double mel_f[256 + 2];
    if (n_mels < 1 || n_mels > 256) return;
    const double mmin = hz_to_mel(0.0), mmax = hz_to_mel(sr / 2);
    for (int i = 0; i < n_mels + 2; i++)
        mel_f[i] = mel_to_hz(mmin + (mmax - mmin) * (double)i / (double)(n_mels + 1));
    for (int i = 0; i < n_mels; i++) {
        const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        const double fd0 = mel_f[i + 1] - mel_f[i], fd1 = mel_f[i + 2] - mel_f[i + 1];
        for (int k = 0; k < EST_MEL_N_BINS; k++) {
            const double fk = sr / 2 * (double)k / (double)(EST_MEL_N_BINS - 1);
            double lower = -(mel_f[i] - fk) / fd0, upper = (mel_f[i + 2] - fk) / fd1;
            double w = lower < upper ? lower : upper;
            if (w < 0) w = 0;
            out[i * EST_MEL_N_BINS + k] = (float)(w * enorm);
        }
    }
}
