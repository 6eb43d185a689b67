/*
 * mel.h - OpenAI Whisper's log-mel front end (internal interface; core/mel.c).
 *
 * Reflect-padded STFT (n_fft 400, hop 160, periodic Hann), power spectrum, the model's mel filter
 * bank (n_mels x 201, row-major, as both model layouts store it), log10 clamped to (max - 8), then
 * (x + 4) / 4.  Audio longer than n_frames * 160 samples is cut, shorter is zero-padded, exactly as
 * whisper's log_mel_spectrogram(pad_or_trim(audio)) does for one window.
 */
#ifndef EST_MEL_H
#define EST_MEL_H

#include "internal.h"

#define EST_MEL_N_FFT 400
#define EST_MEL_HOP 160
#define EST_MEL_N_BINS 201 /* n_fft / 2 + 1 */

/* Scratch bytes est_log_mel needs for n_mels x n_frames output. */
EST_HIDDEN size_t est_log_mel_scratch_size(int n_mels, int n_frames);

/* out: n_mels x n_frames floats (frames contiguous per mel bin).  filters: n_mels x 201 floats
 * (may be unaligned: read with memcpy semantics).  Returns EDGESTT_E_NOMEM if scratch is short. */
EST_HIDDEN int est_log_mel(const float *samples, size_t n_samples, const void *filters, int n_mels,
                           int n_frames, float *out, void *scratch, size_t scratch_size);



/* The Slaney-style mel filter bank OpenAI ships in mel_filters.npz (librosa.filters.mel with
 * sr 16000, n_fft 400, htk False, norm "slaney"), computed in double, stored as float:
 * out is n_mels x 201.  Used by the model generator and converters. */
EST_HIDDEN void est_mel_filters_slaney(int n_mels, float *out);
#endif
