#!/usr/bin/python3
"""export_gguf.py - checkpoint (train.py) -> GGUF v3, all tensors F32 (models/whisper-gguf.md).

Keys: general.* (architecture whisper, alignment 64, file_type 0), whisper.* hyper-parameters, the
character vocabulary of notes/contract_small.md as GPT-2 byte-level strings ("\u0120" = space), the
ten whisper.token.* ids and whisper.n_languages = 1.  Tensors: mel_filters [201, 80] then the model's
state dict in OpenAI names (ne = PyTorch shape reversed); the training-only CTC head is not exported.
Q8_0 / Q4_0 files are made from this one by `edge-stt convert`.

Usage: export_gguf.py [--ckpt work/ckpt.pt] [--out ../edge-stt-kiosk-f32.gguf] [--name NAME]
"""
import argparse
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import CHARS, EOT, SOT, LANG_EN, TRANSLATE, TRANSCRIBE, SOT_LM, SOT_PREV, NO_SPEECH, \
    NO_TIMESTAMPS, TS_BEGIN  # noqa: E402
from features import _FILT  # noqa: E402

ALIGN = 64
T_U32, T_STRING, T_ARRAY = 4, 8, 9


def gpt2_form(c):
    return "\u0120" if c == " " else c  # every other character here is printable ASCII


def tokens(n_audio_ctx):
    t = [gpt2_form(c) for c in CHARS]
    assert len(t) == EOT
    t += ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>", "<|transcribe|>",
          "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
    assert len(t) == TS_BEGIN
    t += ["<|%.2f|>" % (i * 0.02) for i in range(n_audio_ctx + 1)]
    return t


def s(x):
    b = x.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv_u32(k, v):
    return s(k) + struct.pack("<II", T_U32, v)


def kv_str(k, v):
    return s(k) + struct.pack("<I", T_STRING) + s(v)


def kv_strs(k, vs):
    return s(k) + struct.pack("<IIQ", T_ARRAY, T_STRING, len(vs)) + b"".join(s(v) for v in vs)


def export(state, dims, out, name):
    d = dims
    toks = tokens(d["n_audio_ctx"])
    assert len(toks) == d["n_vocab"], (len(toks), d["n_vocab"])
    kvs = [kv_str("general.architecture", "whisper"), kv_str("general.name", name),
           kv_u32("general.alignment", ALIGN), kv_u32("general.file_type", 0),
           kv_u32("whisper.n_vocab", d["n_vocab"]), kv_u32("whisper.n_mels", d["n_mels"])]
    for side, pre in (("audio", "n_audio_"), ("text", "n_text_")):
        for f in ("ctx", "state", "head", "layer"):
            kvs.append(kv_u32("whisper.%s.n_%s" % (side, f), d[pre + f]))
    kvs += [kv_str("whisper.tokenizer.model", "gpt2"), kv_strs("whisper.tokenizer.tokens", toks),
            kv_u32("whisper.n_languages", 1)]
    for k, v in (("eot", EOT), ("sot", SOT), ("translate", TRANSLATE), ("transcribe", TRANSCRIBE),
                 ("sot_lm", SOT_LM), ("sot_prev", SOT_PREV), ("no_speech", NO_SPEECH),
                 ("no_timestamps", NO_TIMESTAMPS), ("timestamp_begin", TS_BEGIN), ("lang_first", LANG_EN)):
        kvs.append(kv_u32("whisper.token." + k, v))
    tensors = [("mel_filters", _FILT.numpy().astype(np.float32))]
    for k, v in state.items():
        tensors.append((k, v.detach().float().contiguous().numpy()))
    infos, blobs, off = [], [], 0
    for n, a in tensors:
        ne = list(reversed(a.shape))
        infos.append(s(n) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", x) for x in ne) +
                     struct.pack("<IQ", 0, off))
        raw = a.astype("<f4").tobytes()
        pad = (-len(raw)) % ALIGN
        blobs.append(raw + b"\0" * pad)
        off += len(raw) + pad
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    head += b"\0" * ((-len(head)) % ALIGN)
    tmp = out + ".part"
    with open(tmp, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, out)
    return len(head) + off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "edge-stt-kiosk-f32.gguf"))
    ap.add_argument("--name", default="edge-stt kiosk (character-level English demo model)")
    a = ap.parse_args()
    c = torch.load(a.ckpt, map_location="cpu")
    n = export(c["model"], c["dims"], a.out, a.name)
    print("wrote %s (%d bytes, step %d)" % (a.out, n, c.get("step", -1)))


if __name__ == "__main__":
    main()
