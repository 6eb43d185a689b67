#!/usr/bin/env python3
"""Write a Parakeet model of tests/reference/parakeet_ref.py (pk-mini, seeded hash weights) in whisper.cpp's
Parakeet ggml .bin layout, as models/parakeet-bin.md describes it (written from that page), so the peer's
parakeet-cli / parakeet-quantize and our models/parakeet_bin.c can read the same file.

    /usr/bin/python3 tests/reference/parakeet_bin.py --out build/pk-mini.bin [--config pk-mini] [--seed 4] [--f16]
    /usr/bin/python3 tests/reference/parakeet_bin.py --ref WAV [--seconds S] [--seed 4]
        the reference's greedy TDT tokens and text under the .bin's semantics (no xscaling), to compare with
        what parakeet-cli prints for the same file
"""
import argparse
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parakeet_ref as ref  # noqa: E402

MAGIC = 0x67676D6C
N_AUDIO_CTX = 5000          # a peer buffer size; stored, not used by our reader


def squeeze_dims(name, shape):
    """The stored shape (PyTorch order): size-1 dims dropped except for 4-D convolution weights; the
    sub-sampling conv biases become (1, C, 1, 1)."""
    if "conv" in name and "weight" in name and len(shape) == 4:
        return list(shape)
    dims = [s for s in shape if s != 1] or [1]
    if "pre_encode.conv" in name and "bias" in name and len(dims) == 1:
        dims = [1, dims[0], 1, 1]
    return dims


def stored_type(name, dims, f16):
    """0 F32 or 1 F16: with f16, 2-D matrices except biases, norms and the depthwise kernel."""
    if not f16 or len(dims) != 2 or "bias" in name or "norm" in name or "depthwise_conv.weight" in name:
        return 0
    return 1


def ifgo_to_ifog(a):
    """PyTorch's LSTM gate blocks i, f, g, o (first axis) -> the layout's i, f, o, g."""
    h = a.shape[0] // 4
    return np.concatenate([a[:h], a[h:2 * h], a[3 * h:], a[2 * h:3 * h]], axis=0)


def record(name, arr, ttype):
    dims = list(arr.shape)
    out = struct.pack("<iii", len(dims), len(name.encode()), ttype)
    out += b"".join(struct.pack("<i", d) for d in reversed(dims))
    out += name.encode()
    out += np.ascontiguousarray(arr, dtype="<f2" if ttype == 1 else "<f4").tobytes()
    return out


def write_bin(path, config="pk-mini", seed=ref.GOLDEN_SEED, f16=False):
    c = ref.CONFIGS[config]
    model = ref.Parakeet(c).init_hash(seed)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    fb = sd["preprocessor.featurizer.fb"].reshape(c["n_mels"], ref.N_FFT // 2 + 1)
    win = sd["preprocessor.featurizer.window"].reshape(-1)
    pieces = ref.vocabulary(c["vocab"])
    hp = [c["vocab"], N_AUDIO_CTX, c["d_model"], c["n_heads"], c["n_layers"], c["n_mels"], 1 if f16 else 0,
          ref.N_FFT, c["sub_factor"], c["sub_channels"], c["conv_kernel"], c["pred_hidden"], c["pred_layers"],
          len(c["durations"]), c["max_symbols"]]
    out = bytearray(struct.pack("<I", MAGIC))
    out += struct.pack("<15i", *hp)
    out += struct.pack("<ii", *fb.shape) + fb.astype("<f4").tobytes()
    out += struct.pack("<i", win.size) + win.astype("<f4").tobytes()
    out += b"".join(struct.pack("<I", d) for d in c["durations"])
    out += struct.pack("<i", len(pieces))
    for p in pieces:
        b = p.encode()
        out += struct.pack("<I", len(b)) + b
    lstm = "decoder.prediction.dec_rnn.lstm."
    n_rec = 0
    for name, a in sd.items():
        if name.startswith("preprocessor.") or name.startswith(lstm + "bias_ih_l"):
            continue
        if name.endswith("num_batches_tracked"):
            out += record(name, np.zeros((), np.float32), 0)       # 0-dim, F32
            n_rec += 1
            continue
        if name.startswith(lstm + "bias_hh_l"):
            a = a + sd[name.replace("bias_hh", "bias_ih")]          # folded, f32 sum
            name = name.replace("bias_hh_l", "bias_h_l")
        if name.startswith(lstm):
            a = ifgo_to_ifog(a)
        dims = squeeze_dims(name, a.shape)
        a = a.reshape(dims)
        out += record(name, a, stored_type(name, dims, f16))
        n_rec += 1
    with open(path, "wb") as f:
        f.write(out)
    return len(out), n_rec


@torch.no_grad()
def ref_tokens(wav, seconds, seed, config="pk-mini"):
    """Greedy TDT of the reference with the .bin's semantics (no xscaling) on the first seconds of wav."""
    c = dict(ref.CONFIGS[config])
    c["xscaling"] = False
    model = ref.Parakeet(c).init_hash(seed).to(torch.float64)
    pcm = ref.read_wav(wav)
    if seconds:
        pcm = pcm[: int(seconds * ref.SR)]
    feats, L = ref.features(model, pcm.astype(np.float64) / 32768.0, torch.float64)
    e = ref.encode(model, feats.to(torch.float32).to(torch.float64), L)
    hyp, _ = ref.greedy_tdt(model, e["layers"][-1], e["n_valid"], "batch")
    pieces = ref.vocabulary(c["vocab"])
    text = "".join(pieces[t] for t, _, _ in hyp).replace("\u2581", " ").strip()
    return [t for t, _, _ in hyp], text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out")
    ap.add_argument("--config", default="pk-mini", choices=sorted(ref.CONFIGS))
    ap.add_argument("--seed", type=int, default=ref.GOLDEN_SEED)
    ap.add_argument("--f16", action="store_true")
    ap.add_argument("--ref", metavar="WAV")
    ap.add_argument("--seconds", type=float, default=0.0)
    a = ap.parse_args()
    if a.out:
        size, n = write_bin(a.out, a.config, a.seed, a.f16)
        print(f"{a.out}: {size} bytes, {n} tensor records ({a.config}, seed {a.seed}, {'f16' if a.f16 else 'f32'})")
    if a.ref:
        toks, text = ref_tokens(a.ref, a.seconds, a.seed, a.config)
        print(f"reference (no xscaling): {len(toks)} tokens: {toks}")
        print(f"text: {text!r}")
    if not a.out and not a.ref:
        ap.error("--out or --ref")


if __name__ == "__main__":
    main()
