#!/usr/bin/python3
"""mel_ref.py - PyTorch reference for edge-stt's Whisper log-mel front end (core/mel.c).

Writes the committed goldens in tests/data/golden/ (see README.md there):

  mel80_jfk.egld      raw log10 mel, 80 bins, frames [0, 1100) of jfk.wav's first 30 s window
  mel128_jfk.egld     raw log10 mel, 128 bins, frames [250, 400) of the same window
  melfilt80.egld      non-zero entries of the 80-bin Slaney filter bank (index, value)
  melfilt128.egld     same for 128 bins

"raw" is log10(clamp(filters @ |stft|^2, min=1e-10)), i.e. before whisper's max-8 clamp; the
header carries the window's max so the test can derive the normalised values
(max(raw, max - 8) + 4) / 4 exactly as whisper/audio.py does.

The computation is OpenAI whisper's log_mel_spectrogram() as transcribe() calls it: the audio
(int16 / 32768, read with the wave module) is padded with 30 s of zeros, torch.stft(n_fft=400,
hop=160, window=torch.hann_window(400), center=True, pad_mode='reflect'), the last frame is
dropped, magnitudes .abs() ** 2, mel = filters @ magnitudes, and the first 3000 frames are the
window.  The goldens are computed in float64 (whisper's arithmetic without float32 rounding); the
script also reports how far whisper's own float32 computation is from that (--check).

Mel filters: a numpy re-implementation of librosa.filters.mel(sr=16000, n_fft=400, n_mels,
fmin=0, fmax=8000, htk=False, norm='slaney', dtype=float32), the source of whisper's
mel_filters.npz:
  mel(f)  = f / (200/3)                                  for f < 1000 Hz
          = 15 + ln(f / 1000) / (ln(6.4) / 27)           for f >= 1000 Hz
  centres = mel^-1(linspace(mel(0), mel(8000), n_mels + 2)),  bin k at 40 k Hz (k = 0..200)
  w[i,k]  = max(0, min((f_k - c_i) / (c_{i+1} - c_i), (c_{i+2} - f_k) / (c_{i+2} - c_{i+1})))
            * 2 / (c_{i+2} - c_i)        (float64 ramps, stored to float32, then scaled in float32)

Usage: /usr/bin/python3 tests/reference/mel_ref.py [--wav tests/data/jfk.wav]
           [--out tests/data/golden] [--check]
"""
import argparse
import os
import struct
import wave

import numpy as np
import torch

SR = 16000
N_FFT = 400
HOP = 160
N_SAMPLES = 30 * SR
N_FRAMES = N_SAMPLES // HOP  # 3000

MAGIC = b"EGLD"
KIND_MEL_RAW = 1
KIND_FILTERS = 2


def read_wav(path):
    """16-bit PCM mono 16 kHz -> float32 in [-1, 1) exactly as whisper's load_audio scales."""
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == SR
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-30) / min_log_hz) / logstep,
                    mels)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filters(n_mels):
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels, htk=False, norm='slaney'), float32."""
    weights = np.zeros((n_mels, N_FFT // 2 + 1), dtype=np.float32)
    fftfreqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / SR)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SR / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def log_mel_raw(audio, filters, dtype):
    """whisper.audio.log_mel_spectrogram(audio, padding=N_SAMPLES) up to the log10, first window.
    Returns (raw n_mels x 3000, max over the window)."""
    x = torch.from_numpy(np.concatenate([audio, np.zeros(N_SAMPLES, np.float32)])).to(dtype)
    window = torch.hann_window(N_FFT, dtype=dtype)
    stft = torch.stft(x, N_FFT, HOP, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    mel_spec = torch.from_numpy(filters).to(dtype) @ magnitudes
    log_spec = torch.clamp(mel_spec, min=1e-10).log10()
    win = log_spec[:, :N_FRAMES]
    return win.numpy(), float(win.max())


def normalize(raw, mx):
    return (np.maximum(raw, mx - 8.0) + 4.0) / 4.0


def whisper_f32(audio, filters):
    """whisper's exact float32 pipeline (normalised with the window's max), for --check."""
    raw, mx = log_mel_raw(audio, filters, torch.float32)
    t = torch.from_numpy(raw)
    t = torch.maximum(t, t.max() - 8.0)
    return raw, ((t + 4.0) / 4.0).numpy()


def write_mel(path, raw, mx, n_mels, frame0, n_frames, source):
    body = np.ascontiguousarray(raw[:, frame0:frame0 + n_frames], dtype="<f4")
    hdr = MAGIC + struct.pack("<IIIIIIf", 1, KIND_MEL_RAW, n_mels, frame0, n_frames, N_FRAMES,
                              np.float32(mx))
    with open(path, "wb") as f:
        f.write(hdr)
        f.write(body.tobytes())
    print("%s: raw log10 mel %d x %d (frames %d..%d of %d), window max %.7f, from %s" %
          (path, n_mels, n_frames, frame0, frame0 + n_frames, N_FRAMES, mx, source))


def write_filters(path, filt):
    n_mels = filt.shape[0]
    idx = np.flatnonzero(filt.reshape(-1))
    hdr = MAGIC + struct.pack("<IIIIIIf", 1, KIND_FILTERS, n_mels, 0, len(idx), N_FFT // 2 + 1, 0.0)
    rec = np.zeros(len(idx), dtype=[("i", "<u4"), ("v", "<f4")])
    rec["i"] = idx
    rec["v"] = filt.reshape(-1)[idx]
    with open(path, "wb") as f:
        f.write(hdr)
        f.write(rec.tobytes())
    print("%s: %d x 201 Slaney filters, %d non-zero" % (path, n_mels, len(idx)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wav", default="tests/data/jfk.wav")
    ap.add_argument("--out", default="tests/data/golden")
    ap.add_argument("--check", action="store_true", help="only report float32 vs float64 error")
    a = ap.parse_args()
    audio = read_wav(a.wav)
    src = os.path.basename(a.wav)
    print("torch %s numpy %s, %s: %d samples" % (torch.__version__, np.__version__, src, len(audio)))
    cases = [(80, 0, 1100, "mel80_jfk.egld"), (128, 250, 150, "mel128_jfk.egld")]
    for n_mels, f0, nf, name in cases:
        filt = mel_filters(n_mels)
        raw64, mx64 = log_mel_raw(audio, filt, torch.float64)
        raw32, norm32 = whisper_f32(audio, filt)
        d_raw = np.abs(raw32 - raw64)
        d_norm = np.abs(norm32 - normalize(raw64, mx64))
        print("n_mels %d: whisper float32 vs float64: raw max err %.3g (mean %.3g), normalised max "
              "err %.3g" % (n_mels, d_raw.max(), d_raw.mean(), d_norm.max()))
        if not a.check:
            os.makedirs(a.out, exist_ok=True)
            write_mel(os.path.join(a.out, name), raw64, mx64, n_mels, f0, nf,
                      "%s, torch.stft float64" % src)
            write_filters(os.path.join(a.out, "melfilt%d.egld" % n_mels), filt)


if __name__ == "__main__":
    main()
