#!/usr/bin/python3
"""eval_py.py - greedy WER/CER of a training checkpoint on tests/data/kiosk (PyTorch, for the
recipe's own monitoring; the official table comes from `edge-stt eval`).
Usage: eval_py.py [--ckpt work/ckpt.pt] [--show N]"""
import argparse
import os
import sys
import wave

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from model import Dims, Whisper, greedy_cached, decode_text  # noqa: E402
from features import window_logmel  # noqa: E402
from train import edit_distance  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work", "ckpt.pt"))
    ap.add_argument("--show", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    c = torch.load(a.ckpt, map_location="cpu")
    dims = Dims(**{k: v for k, v in c["dims"].items() if k != "n_vocab"})
    m = Whisper(dims)
    m.load_state_dict(c["model"])
    m.eval()
    d = os.path.join(REPO, "tests", "data", "kiosk")
    print("checkpoint step", c.get("step"))
    for half in ("seen", "unseen"):
        rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(d, half + ".tsv"))]
        mels = []
        for rel, _ in rows:
            with wave.open(os.path.join(d, rel)) as f:
                x = np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float32) / 32768
            mels.append(torch.from_numpy(window_logmel(x)[:, :2 * dims.n_audio_ctx]))
        hyps = []
        for i in range(0, len(mels), 25):
            hyps += greedy_cached(m, torch.stack(mels[i:i + 25]))
        we = wn = ce = cn = 0
        shown = 0
        for (rel, ref), h in zip(rows, hyps):
            hyp = " ".join(decode_text(h).split())
            e = edit_distance(hyp.split(), ref.split())
            we += e
            wn += len(ref.split())
            ce += edit_distance(hyp, ref)
            cn += len(ref)
            if e and shown < a.show:
                print("  %s\n    ref: %s\n    hyp: %s" % (rel, ref, hyp))
                shown += 1
        print("%-6s  %d clips  WER %.2f %%  CER %.2f %%" % (half, len(rows), 100 * we / wn, 100 * ce / cn))


if __name__ == "__main__":
    main()
