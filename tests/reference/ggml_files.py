#!/usr/bin/python3
"""Independent readers for the two Whisper model layouts edge-stt loads (numpy only).

  GGUF v2/v3 (models/whisper-gguf.md)      read_gguf(path) -> (version, kv dict, [Tensor])
  whisper.cpp legacy ggml .bin           read_bin(path)  -> (hparams dict, mel, words, [Tensor])

plus ggml's block dequantizers (F32, F16, Q8_0, Q4_0), FNV-1a 64 and a numpy re-implementation of
librosa.filters.mel(sr=16000, n_fft=400, n_mels, htk=False, norm="slaney").  Written from the format
descriptions, not from the C code, so the C loader can be checked against it.
"""
import struct
import sys
from dataclasses import dataclass

import numpy as np

F32, F16, Q4_0, Q8_0 = 0, 1, 2, 8
TYPE_NAMES = {F32: "f32", F16: "f16", Q4_0: "q4_0", Q8_0: "q8_0"}
QK = 32


@dataclass
class Tensor:
    name: str
    type: int
    ne: tuple          # ggml order (ne0 contiguous), padded to 4 with 1
    data: memoryview   # raw bytes as stored

    @property
    def nelem(self):
        return int(np.prod(self.ne))


def row_bytes(t, n):
    if t == F32:
        return 4 * n
    if t == F16:
        return 2 * n
    if t == Q8_0:
        assert n % QK == 0
        return n // QK * 34
    if t == Q4_0:
        assert n % QK == 0
        return n // QK * 18
    raise ValueError(f"unsupported type {t}")


def tensor_bytes(t, ne):
    return row_bytes(t, ne[0]) * ne[1] * ne[2] * ne[3]


def dequantize(t, raw, n):
    """Values of n elements of type t as float32, exactly as ggml's dequantizers compute them."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if t == F32:
        return b.view("<f4")[:n].astype(np.float32)
    if t == F16:
        return b.view("<f2")[:n].astype(np.float32)
    if t == Q8_0:
        blk = b.reshape(-1, 34)
        d = blk[:, :2].copy().view("<f2").astype(np.float32)          # (nb, 1)
        q = blk[:, 2:].view(np.int8).astype(np.float32)                # (nb, 32)
        return (q * d).reshape(-1)[:n].astype(np.float32)
    if t == Q4_0:
        blk = b.reshape(-1, 18)
        d = blk[:, :2].copy().view("<f2").astype(np.float32)
        qs = blk[:, 2:]
        lo = (qs & 0x0F).astype(np.int32) - 8                          # weights 0..15
        hi = (qs >> 4).astype(np.int32) - 8                            # weights 16..31
        q = np.concatenate([lo, hi], axis=1).astype(np.float32)
        return (q * d).reshape(-1)[:n].astype(np.float32)
    raise ValueError(f"unsupported type {t}")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in bytes(data):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


# ---- GGUF -------------------------------------------------------------------------------
GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                10: "<Q", 11: "<q", 12: "<d"}
GGUF_STRING, GGUF_ARRAY = 8, 9


class Reader:
    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = bytes(self.buf[self.pos:self.pos + n])
        if len(s) != n:
            raise ValueError("string past the end")
        self.pos += n
        return s

    def value(self, t):
        if t in GGUF_SCALARS:
            return self.take(GGUF_SCALARS[t])
        if t == GGUF_STRING:
            return self.string()
        if t == GGUF_ARRAY:
            et, n = self.take("<I"), self.take("<Q")
            return [self.value(et) for _ in range(n)]
        raise ValueError(f"unknown value type {t}")


def read_gguf(path):
    buf = memoryview(open(path, "rb").read())
    r = Reader(buf)
    assert bytes(buf[:4]) == b"GGUF", "bad magic"
    r.pos = 4
    version = r.take("<I")
    assert version in (2, 3)
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    kv = {}
    for _ in range(n_kv):
        key = r.string().decode()
        kv[key] = r.value(r.take("<I"))
    align = kv.get("general.alignment", 32)
    infos = []
    for _ in range(n_tensors):
        name = r.string().decode()
        n_dims = r.take("<I")
        ne = [r.take("<Q") for _ in range(n_dims)] + [1] * (4 - n_dims)
        t, off = r.take("<I"), r.take("<Q")
        infos.append((name, t, tuple(ne), off))
    data_start = (r.pos + align - 1) // align * align
    tensors = []
    for name, t, ne, off in infos:
        assert off % align == 0
        a = data_start + off
        nb = tensor_bytes(t, ne)
        assert a + nb <= len(buf), f"{name} past the end"
        tensors.append(Tensor(name, t, ne, buf[a:a + nb]))
    return version, kv, tensors


# ---- whisper.cpp .bin ---------------------------------------------------------------------
BIN_HPARAMS = ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
               "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype"]


def read_bin(path):
    buf = memoryview(open(path, "rb").read())
    r = Reader(buf)
    assert r.take("<I") == 0x67676D6C, "bad magic"
    hp = {k: r.take("<i") for k in BIN_HPARAMS}
    n_mel, n_fft = r.take("<i"), r.take("<i")
    mel = np.frombuffer(buf[r.pos:r.pos + 4 * n_mel * n_fft], dtype="<f4").reshape(n_mel, n_fft)
    r.pos += 4 * n_mel * n_fft
    n_words = r.take("<i")
    words = []
    for _ in range(n_words):
        n = r.take("<I")
        words.append(bytes(buf[r.pos:r.pos + n]))
        r.pos += n
    tensors = []
    while r.pos < len(buf):
        n_dims, name_len, t = r.take("<i"), r.take("<i"), r.take("<i")
        ne = [r.take("<i") for _ in range(n_dims)] + [1] * (4 - n_dims)
        name = bytes(buf[r.pos:r.pos + name_len]).decode()
        r.pos += name_len
        nb = tensor_bytes(t, ne)
        assert r.pos + nb <= len(buf), f"{name} past the end"
        tensors.append(Tensor(name, t, tuple(ne), buf[r.pos:r.pos + nb]))
        r.pos += nb
    return hp, mel, words, tensors


# ---- GPT-2 byte-level alphabet ------------------------------------------------------------
def gpt2_bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def gpt2_decode(s):
    inv = {c: b for b, c in gpt2_bytes_to_unicode().items()}
    return bytes(inv[c] for c in s)


# ---- librosa's Slaney mel filters (numpy) -----------------------------------------------------
def _hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, mels)


def _mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filters(n_mels, sr=16000, n_fft=400):
    """librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False, norm='slaney'), float32."""
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


if __name__ == "__main__":
    for p in sys.argv[1:]:
        if p.endswith(".gguf"):
            v, kv, ts = read_gguf(p)
            print(p, f"gguf v{v}", len(kv), "keys", len(ts), "tensors")
        else:
            hp, mel, words, ts = read_bin(p)
            print(p, "bin", hp, len(words), "words", len(ts), "tensors")
