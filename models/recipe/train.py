#!/usr/bin/python3
"""train.py - train the kiosk Whisper model on work/feats.npy (issue 6).

Data: the first `progress` rows of work/feats.npy (synth.py may still be writing; the count is re-read
every 50 steps), metadata from work/meta.tsv.  Window: n_audio_ctx encoder positions (2x mel frames).
Clips longer than the window are skipped.

Batches: 8 batches at a time are drawn at random and sorted by clip length; each batch is cropped to
its longest clip plus 0.1..1.5 s of the following (silent) frames, and one batch in four keeps the
full window, so the model sees the inference-time window often while most steps cost less.  The
contract's decoder prompt: half [sot, en, transcribe, notimestamps] + " text" + [eot], half
[sot, en, transcribe, <|0.00|>] + " text" + [<|t_end|>, eot].  Loss: cross-entropy on the text,
t_end and eot positions (prompt and padding ignored) + 0.3 x CTC on the encoder output through a
training-only linear head (not exported) to speed up learning the alignment.

Optimiser: AdamW (0.9, 0.98), weight decay 0.01, linear warm-up to --lr, cosine decay to 5 % over the
time budget (--minutes of wall clock), grad clip 1.0, float32.  NaN/Inf guard: a step whose loss or
gradient norm is not finite is skipped; three in a row reload the last checkpoint and halve the LR.
Checkpoint every --ckpt-min minutes to work/ckpt.pt (atomic).  Every --eval-min minutes: greedy
decode of a few held-out test clips (tests/data/kiosk) and their CER.

Usage: nohup /usr/bin/python3 train.py --minutes 80 > work/train.log 2>&1 &
"""
import argparse
import math
import os
import random
import sys
import time
import wave

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from model import (Dims, Whisper, encode_text, decode_text, EOT, SOT, LANG_EN, TRANSCRIBE,  # noqa: E402
                   NO_TIMESTAMPS, TS_BEGIN)
from features import window_logmel  # noqa: E402

BLANK = 38


def load_meta():
    rows = []
    with open(os.path.join(WORK, "meta.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) == 5:
                rows.append((int(p[0]), p[1], int(p[3]), float(p[4])))
    return rows


def progress():
    try:
        with open(os.path.join(WORK, "progress")) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def read_wav(path):
    with wave.open(path, "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def load_test(n_each, n_ctx):
    out = []
    d = os.path.join(REPO, "tests", "data", "kiosk")
    for half in ("seen", "unseen"):
        with open(os.path.join(d, half + ".tsv")) as f:
            rows = [l.rstrip("\n").split("\t") for l in f][:n_each]
        for rel, text in rows:
            mel = window_logmel(read_wav(os.path.join(d, rel)))[:, :2 * n_ctx]
            out.append((half, text, torch.from_numpy(mel)))
    return out


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def make_batch(rows, feats, dims, r):
    """rows: list of (idx, text, n_samples, end) -> mel [B, 80, 2L], tokens, targets, ctc targets."""
    n_ctx = dims.n_audio_ctx
    need = max(int(math.ceil(ns / 160)) for _, _, ns, _ in rows)
    if r.random() < 0.25:
        frames = 2 * n_ctx
    else:
        frames = min(2 * n_ctx, need + r.randint(10, 150))
        frames += frames % 2
    idx = [i for i, _, _, _ in rows]
    order = np.argsort(idx)
    mel = np.empty((len(rows), 80, frames), np.float32)
    sel = np.asarray(idx)[order]
    mel[order] = feats[sel, :, :frames]  # memmap fancy index needs sorted rows for locality
    seqs, tgts, ctc = [], [], []
    for _, text, _, end in rows:
        ids = encode_text(" " + text)
        if r.random() < 0.5:
            s = [SOT, LANG_EN, TRANSCRIBE, NO_TIMESTAMPS] + ids + [EOT]
        else:
            te = min(int(round(end / 0.02)), n_ctx)
            s = [SOT, LANG_EN, TRANSCRIBE, TS_BEGIN] + ids + [TS_BEGIN + te, EOT]
        seqs.append(s)
        ctc.append(encode_text(text))
    T = max(len(s) for s in seqs) - 1
    tok = torch.full((len(rows), T), EOT, dtype=torch.long)
    tgt = torch.full((len(rows), T), -100, dtype=torch.long)
    for b, s in enumerate(seqs):
        tok[b, :len(s) - 1] = torch.tensor(s[:-1])
        t = torch.tensor(s[1:])
        t[:3] = -100  # prompt positions
        tgt[b, :len(s) - 1] = t
    ctc_t = torch.tensor([c for seq in ctc for c in seq], dtype=torch.long)
    ctc_l = torch.tensor([len(seq) for seq in ctc], dtype=torch.long)
    return torch.from_numpy(mel), tok, tgt, ctc_t, ctc_l


def save_ckpt(path, model, ctc_head, opt, step, lr_scale, elapsed, dims):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "ctc_head": ctc_head.state_dict(), "opt": opt.state_dict(),
                "step": step, "lr_scale": lr_scale, "elapsed": elapsed, "dims": dims.asdict()}, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=80)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-min", type=float, default=5)
    ap.add_argument("--eval-min", type=float, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    r = random.Random(a.seed)
    dims = Dims()
    model = Whisper(dims)
    ctc_head = nn.Linear(dims.n_audio_state, BLANK + 1)
    params = list(model.parameters()) + list(ctc_head.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    n_par = sum(p.numel() for p in model.parameters())
    print("dims", dims.asdict(), "params %.3f M (exported), ctc head %d" % (n_par / 1e6,
          sum(p.numel() for p in ctc_head.parameters())), flush=True)
    ckpt = os.path.join(WORK, "ckpt.pt")
    step, lr_scale, elapsed0 = 0, 1.0, 0.0
    if a.resume and os.path.exists(ckpt):
        c = torch.load(ckpt)
        model.load_state_dict(c["model"])
        ctc_head.load_state_dict(c["ctc_head"])
        opt.load_state_dict(c["opt"])
        step, lr_scale, elapsed0 = c["step"], c["lr_scale"], c["elapsed"]
        print("resumed at step", step, flush=True)
    feats = np.load(os.path.join(WORK, "feats.npy"), mmap_mode="r")
    test = load_test(4, dims.n_audio_ctx)
    window = dims.n_audio_ctx * 320
    avail = []
    t0 = time.time() - elapsed0
    last_ckpt = last_eval = time.time()
    bad = 0
    queue = []
    seen_utts = 0
    log_loss = log_ctc = 0.0
    log_n = 0
    t_log = time.time()
    while True:
        elapsed = time.time() - t0
        frac = elapsed / (a.minutes * 60)
        if frac >= 1.0:
            break
        if step % 50 == 0 or not avail:
            n = progress()
            avail = [m for m in load_meta() if m[0] < n and 0 <= m[3] and m[2] <= window]
            if len(avail) < a.batch * 8:
                print("waiting for data (%d)" % len(avail), flush=True)
                time.sleep(20)
                continue
        if not queue:
            pool = r.sample(avail, a.batch * 8)
            pool.sort(key=lambda m: m[2])
            queue = [pool[i:i + a.batch] for i in range(0, len(pool), a.batch)]
            r.shuffle(queue)
        rows = queue.pop()
        mel, tok, tgt, ctc_t, ctc_l = make_batch(rows, feats, dims, r)
        warm = min(1.0, (step + 1) / a.warmup)
        lr = a.lr * lr_scale * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        xa = model.encoder(mel)
        logits = model.decoder(tok, xa)
        loss_ce = F.cross_entropy(logits.reshape(-1, dims.n_vocab), tgt.reshape(-1), ignore_index=-100)
        lp = F.log_softmax(ctc_head(xa), -1).transpose(0, 1)  # [L, B, C]
        in_l = torch.full((mel.shape[0],), xa.shape[1], dtype=torch.long)
        loss_ctc = F.ctc_loss(lp, ctc_t, in_l, ctc_l, blank=BLANK, zero_infinity=True)
        loss = loss_ce + 0.3 * loss_ctc
        opt.zero_grad(set_to_none=True)
        ok = bool(torch.isfinite(loss))
        if ok:
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(params, 1.0)
            ok = bool(torch.isfinite(gn))
        if not ok:
            bad += 1
            print("step %d: non-finite loss/grad (%d in a row), skipped" % (step, bad), flush=True)
            opt.zero_grad(set_to_none=True)
            if bad >= 3 and os.path.exists(ckpt):
                c = torch.load(ckpt)
                model.load_state_dict(c["model"])
                ctc_head.load_state_dict(c["ctc_head"])
                opt.load_state_dict(c["opt"])
                lr_scale *= 0.5
                bad = 0
                print("reloaded checkpoint of step %d, lr scale %.3f" % (c["step"], lr_scale), flush=True)
            continue
        bad = 0
        opt.step()
        step += 1
        seen_utts += mel.shape[0]
        log_loss += float(loss_ce)
        log_ctc += float(loss_ctc)
        log_n += 1
        if step % 10 == 0:
            dt = time.time() - t_log
            print("step %d  %.1f min  lr %.2e  ce %.3f  ctc %.3f  |g| %.2f  %.2f utt/s  frames %d  data %d" % (
                step, (time.time() - t0) / 60, lr, log_loss / log_n, log_ctc / log_n, float(gn),
                seen_utts / dt, mel.shape[2], len(avail)), flush=True)
            log_loss = log_ctc = 0.0
            log_n = 0
            seen_utts = 0
            t_log = time.time()
        if time.time() - last_ckpt > a.ckpt_min * 60:
            save_ckpt(ckpt, model, ctc_head, opt, step, lr_scale, time.time() - t0, dims)
            last_ckpt = time.time()
            print("checkpoint step %d" % step, flush=True)
        if time.time() - last_eval > a.eval_min * 60:
            model.eval()
            mels = torch.stack([m for _, _, m in test])
            hyps = model.greedy(mels, max_len=100)
            errs = {"seen": [0, 0], "unseen": [0, 0]}
            for (half, text, _), h in zip(test, hyps):
                ht = decode_text(h).strip()
                errs[half][0] += edit_distance(ht, text)
                errs[half][1] += len(text)
                print("  [%s] ref: %s\n         hyp: %s" % (half, text, ht), flush=True)
            print("eval step %d  CER seen %.3f  unseen %.3f" % (step, errs["seen"][0] / errs["seen"][1],
                  errs["unseen"][0] / errs["unseen"][1]), flush=True)
            last_eval = time.time()
            t_log = time.time()
            seen_utts = 0
    save_ckpt(ckpt, model, ctc_head, opt, step, lr_scale, time.time() - t0, dims)
    torch.save({"model": model.state_dict(), "dims": dims.asdict(), "step": step},
               os.path.join(WORK, "final.pt"))
    print("done: step %d, %.1f min" % (step, (time.time() - t0) / 60), flush=True)


if __name__ == "__main__":
    main()
