#!/usr/bin/python3
"""features.py - the contract's window log-mel (issue 6): the clip zero-padded to the window
(N_AUDIO_CTX * 2 * 160 samples), log-mel computed like whisper's log_mel_spectrogram(padding=window)
and the first 2 * N_AUDIO_CTX frames kept.  Frames past the window see only zeros (log10 1e-10), so
computing over window + N_FFT zeros gives the same frames and the same maximum."""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "reference"))
from mel_ref import mel_filters  # noqa: E402

SR = 16000
N_FFT = 400
HOP = 160
N_AUDIO_CTX = 400          # 8 s: the window synth.py stores; the model's window (300) is a prefix
N_FRAMES = 2 * N_AUDIO_CTX
_FILT = torch.from_numpy(mel_filters(80))
_WIN = torch.hann_window(N_FFT)


def window_logmel(x):
    """float32 samples (len <= N_FRAMES * HOP) -> float32 [80, N_FRAMES]."""
    torch.set_num_threads(1)
    n = N_FRAMES * HOP
    a = np.zeros(n + N_FFT, np.float32)
    m = min(n, len(x))
    a[:m] = x[:m]
    stft = torch.stft(torch.from_numpy(a), N_FFT, HOP, window=_WIN, return_complex=True)
    mag = stft[..., :-1].abs() ** 2
    log_spec = torch.clamp(_FILT @ mag, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0)[:, :N_FRAMES].numpy()
