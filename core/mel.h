/*
 * mel.h - OpenAI Whisper's log-mel front end (internal interface; core/mel.c).
 *
 * Reflect-padded STFT (n_fft 400, hop 160, periodic Hann), power spectrum, the model's mel filter
 * bank (n_mels x 201, row-major, as both model layouts store it), log10 clamped to (max - 8), then
 * (x + 4) / 4.  Frames are those of whisper's transcribe(): log_mel_spectrogram(audio,
 * padding=30 s) then frames [frame0, frame0 + n_frames) -- frame f covers samples
 * [160 f - 200, 160 f + 200), reflected at the signal start, zeros past its end (short input is
 * zero-padded; of input past n_frames * 160 samples only the last frame's right half is used).
 *
 * Long audio: est_log_mel_raw gives the log10 mel of any frame range of the whole signal and a
 * running max; est_log_mel_normalize then applies one max (whisper uses the max over the whole
 * padded audio).  est_log_mel does both for one window, with that window's max.
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

#define EST_MEL_MAX_MELS 512

/* Raw log10(max(mel, 1e-10)) of frames [frame0, frame0 + n_frames) of the whole signal
 * samples[0, n_samples): out row m (mel bin) at out + m * out_stride, n_frames floats each
 * (out_stride >= n_frames).  If max_io is not NULL, *max_io becomes the max of itself and every
 * value written.  Scratch: est_log_mel_scratch_size(n_mels, any) bytes; EDGESTT_E_NOMEM if
 * short, EDGESTT_E_INVALID_ARG for bad arguments.  Frame ranges are independent (threads may
 * each take one with their own scratch). */
EST_HIDDEN int est_log_mel_raw(const float *samples, size_t n_samples, size_t frame0, int n_frames,
                               const void *filters, int n_mels, float *out, size_t out_stride,
                               float *max_io, void *scratch, size_t scratch_size);

/* Whisper's normalisation in place: x = (max(x, max - 8) + 4) / 4. */
EST_HIDDEN void est_log_mel_normalize(float *buf, size_t count, float max);



/* The Slaney-style mel filter bank OpenAI ships in mel_filters.npz (librosa.filters.mel with
 * sr 16000, n_fft 400, htk False, norm "slaney"), computed in double, stored as float:
 * out is n_mels x 201.  Used by the model generator and converters. */
EST_HIDDEN void est_mel_filters_slaney(int n_mels, float *out);
#endif
