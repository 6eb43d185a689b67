#!/usr/bin/python3
"""Loading golden for edge-stt's model readers.

Reads the mini models `whisper-gen --test-set DIR` writes, in both layouts, with the independent numpy
readers of ggml_files.py; asserts that the .gguf and .bin of one model hold the same hyper-parameters,
vocabulary and (after dequantization) bit-identical tensors, and that the stored mel filters equal a
numpy re-implementation of librosa's Slaney mel filters within 1e-6; then writes the golden the C test
(tests/test_model_golden.c) checks: per tensor its type, ne, FNV-1a 64 of the little-endian float32
bytes of the dequantized values, and the first 8 values.

usage: /usr/bin/python3 tests/reference/make_goldens_models.py [MODELS_DIR] [OUT]
       (defaults build/testmodels and tests/data/golden/models_mini.txt; run `make models` first)
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_files as gf  # noqa: E402

MODELS = ["mini-en-f32", "mini-en-f16", "mini-en-q8_0", "mini-en-q4_0", "mini-multi-f16", "mini-v3-f16"]
N_FIRST = 8


def norm_ne(t):
    # whisper.cpp stores conv biases as (n_state, 1): ne [1, n_state]; GGUF as 1-D [n_state]
    if t.name.endswith("conv1.bias") or t.name.endswith("conv2.bias"):
        return (max(t.ne[0], t.ne[1]), 1, 1, 1)
    return t.ne


def check_pair(d, name):
    v, kv, gt = gf.read_gguf(os.path.join(d, name + ".gguf"))
    hp, mel, words, bt = gf.read_bin(os.path.join(d, name + ".bin"))
    assert v == 3 and kv["general.architecture"] == b"whisper" and kv["general.alignment"] == 64
    for k, kk in [("n_vocab", "whisper.n_vocab"), ("n_mels", "whisper.n_mels"),
                  ("n_audio_ctx", "whisper.audio.n_ctx"), ("n_audio_state", "whisper.audio.n_state"),
                  ("n_audio_head", "whisper.audio.n_head"), ("n_audio_layer", "whisper.audio.n_layer"),
                  ("n_text_ctx", "whisper.text.n_ctx"), ("n_text_state", "whisper.text.n_state"),
                  ("n_text_head", "whisper.text.n_head"), ("n_text_layer", "whisper.text.n_layer")]:
        assert hp[k] == kv[kk], (name, k)
    n_mels = hp["n_mels"]
    # mel filters: both layouts vs librosa's formula
    ref = gf.mel_filters(n_mels)
    gmel = [t for t in gt if t.name == "mel_filters"]
    assert len(gmel) == 1 and gmel[0].type == gf.F32 and gmel[0].ne == (201, n_mels, 1, 1)
    gm = gf.dequantize(gf.F32, gmel[0].data, 201 * n_mels).reshape(n_mels, 201)
    err = max(np.abs(gm - ref).max(), np.abs(mel - ref).max())
    assert err <= 1e-6, (name, "mel filters differ from librosa slaney by", err)
    # vocabulary: GGUF keeps GPT-2 strings (then special forms), .bin raw bytes of the text tokens
    toks = kv["whisper.tokenizer.tokens"]
    eot = kv["whisper.token.eot"]
    assert len(toks) == hp["n_vocab"] and len(words) == eot
    assert all(gf.gpt2_decode(toks[i].decode()) == words[i] for i in range(eot - 1 if eot == 50257 else eot))
    assert words[262] == b" the" and toks[eot] == b"<|endoftext|>" and toks[kv["whisper.token.sot"]] == b"<|startoftranscript|>"
    assert toks[kv["whisper.token.lang_first"]] == b"<|en|>"
    assert toks[kv["whisper.token.timestamp_begin"]] == b"<|0.00|>" and toks[-1] == b"<|30.00|>"
    # tensors: same set, types, shapes and dequantized values
    g = {t.name: t for t in gt if t.name != "mel_filters"}
    b = {t.name: t for t in bt}
    assert set(g) == set(b) and len(g) == len(gt) - 1 == len(bt), name
    out = []
    for t in gt:
        if t.name == "mel_filters":
            continue
        u = b[t.name]
        assert t.type == u.type and norm_ne(t) == norm_ne(u), t.name
        x = gf.dequantize(t.type, t.data, t.nelem)
        y = gf.dequantize(u.type, u.data, u.nelem)
        assert np.array_equal(x.view(np.uint32), y.view(np.uint32)), t.name
        h = gf.fnv1a64(x.astype("<f4").tobytes())
        first = " ".join("%.9g" % float(f) for f in x[:N_FIRST])
        out.append("tensor %s %s %d %d %d %d %016x %s" % (t.name, gf.TYPE_NAMES[t.type], *norm_ne(t), h, first))
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "build/testmodels"
    dst = sys.argv[2] if len(sys.argv) > 2 else "tests/data/golden/models_mini.txt"
    lines = ["# edge-stt loading golden, written by tests/reference/make_goldens_models.py from the models",
             "# `whisper-gen --test-set` writes.  'model X' applies to X.gguf and X.bin (checked equal here);",
             "# tensor NAME TYPE ne0 ne1 ne2 ne3 FNV1A64(dequantized float32 LE bytes) first-8-values (%.9g)",
             "# (conv biases are listed with the 1-D shape; .bin stores them as ne [1, n_state])"]
    for m in MODELS:
        lines.append("model " + m)
        lines += check_pair(d, m)
        print("ok", m, file=sys.stderr)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", dst, len(lines), "lines", file=sys.stderr)


if __name__ == "__main__":
    main()
