#!/usr/bin/python3
"""pk_train.py - train the small kiosk transducer (RNN-T FastConformer, issue 9) on synth.py --pk features.

The model is tests/reference/parakeet_ref.py's Parakeet module tree (NeMo state-dict names), plain RNN-T (no
durations), a character vocabulary written as SentencePiece pieces: "<unk>", "▁", a..z and "'", and the same 27
with the U+2581 word-start marker ("▁a"...), so a word is "▁" + its first character, then its other characters
(models/parakeet.c est_pk_detokenize turns U+2581 into a space).  Blank = the last id (vocab), as NeMo.
The forward pass here is a batched re-statement of parakeet_ref's subsample/encode (same masks: rows past an
item's valid length are zeroed before every subsampling layer and before the depthwise conv, attention masks
keys and queries past it), so one item of a padded batch computes what the reference (and the engine)
computes for it alone; batch norm uses masked batch statistics in training and running statistics in eval.
Loss: torchaudio.functional.rnnt_loss (fused log-softmax, blank = vocab).  AdamW, linear warm-up then cosine
over a wall-clock budget (--minutes), gradient clip, NaN guard (reload the last good checkpoint and skip),
checkpoints every --ckpt-min minutes, optional SpecAugment-lite, greedy WER on held-out files every --eval-min.

    export OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1
    python3 pk_train.py --data work/pk --out work/pk/ckpt.pt --minutes 110
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
import torch.nn.functional as F
from torchaudio.functional import rnnt_loss

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
import parakeet_ref as R  # noqa: E402

N_MELS = 80
PIECES = R.vocabulary(56)      # <unk>, ▁, a..z ', ▁a..▁z ▁'
PIECE_ID = {p: i for i, p in enumerate(PIECES)}


def config(a):
    return dict(n_mels=N_MELS, d_model=a.d_model, n_heads=a.heads, n_layers=a.layers, ff_mult=4,
                conv_kernel=a.kernel, sub_factor=8, sub_channels=a.sub_channels, pred_hidden=a.pred,
                pred_layers=1, joint_hidden=a.joint, vocab=len(PIECES), durations=[], xscaling=True,
                use_bias=False, max_symbols=10)


def tokenize(text):
    """'one four' -> ids of ▁o n e ▁f o u r; characters outside the vocabulary -> <unk>."""
    ids = []
    for w in text.split():
        ids.append(PIECE_ID.get("▁" + w[0], 0))
        ids += [PIECE_ID.get(c, 0) for c in w[1:]]
    return ids


def detokenize(ids):
    return "".join(PIECES[i] for i in ids).replace("▁", " ").strip()


# ---- batched forward (parakeet_ref semantics per item) -------------------------------------------
def lens_after(n):
    return (n + 2 - 3) // 2 + 1


def subsample_b(model, x, L):
    """x [B, T, F], L [B] -> ([B, T8, d], valid lengths [B])."""
    pe = model.encoder.pre_encode
    x = x[:, None]
    cur = L.clone()
    for layer in pe.conv:
        t = torch.arange(x.shape[2])[None, :]
        x = x * (t < cur[:, None]).to(x.dtype)[:, None, :, None]
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d) and layer.stride != (1, 1):
            cur = lens_after(cur)
    t = torch.arange(x.shape[2])[None, :]
    x = x * (t < cur[:, None]).to(x.dtype)[:, None, :, None]
    b, c, tt, f = x.shape
    return pe.out(x.transpose(1, 2).reshape(b, tt, c * f)), cur


def rel_shift_b(x):
    b, h, q, p = x.shape
    x = F.pad(x, (1, 0)).view(b, h, -1, q)
    return x[:, :, 1:].reshape(b, h, q, p)


def mhsa_b(att, x, pe, mask2, drop):
    B, T, d = x.shape
    h, dk = att.h, att.d_k
    q = att.linear_q(x).view(B, T, h, dk)
    k = att.linear_k(x).view(B, T, h, dk).transpose(1, 2)
    v = att.linear_v(x).view(B, T, h, dk).transpose(1, 2)
    p = att.linear_pos(pe).view(-1, h, dk).transpose(0, 1)              # (h, 2T-1, dk)
    qu = (q + att.pos_bias_u).transpose(1, 2)
    qv = (q + att.pos_bias_v).transpose(1, 2)
    ac = torch.matmul(qu, k.transpose(-2, -1))
    bd = rel_shift_b(torch.matmul(qv, p.transpose(-2, -1)[None]))[..., :T]
    scores = ((ac + bd) / math.sqrt(dk)).masked_fill(mask2, -10000.0)
    w = torch.softmax(scores, dim=-1).masked_fill(mask2, 0.0)
    w = F.dropout(w, drop, att.training)
    return att.linear_out(torch.matmul(w, v).transpose(1, 2).reshape(B, T, d))


def batch_norm_masked(bn, y, valid):
    """y [B, C, T]; statistics over the valid positions only (training), running statistics otherwise."""
    if not bn.training:
        return (y - bn.running_mean[None, :, None]) / torch.sqrt(bn.running_var[None, :, None] + bn.eps) \
            * bn.weight[None, :, None] + bn.bias[None, :, None]
    m = valid[:, None, :].to(y.dtype)
    n = m.sum() * 1.0
    mean = (y * m).sum((0, 2)) / n
    var = (((y - mean[None, :, None]) ** 2) * m).sum((0, 2)) / n
    with torch.no_grad():
        bn.running_mean.mul_(1 - bn.momentum).add_(bn.momentum * mean.detach())
        bn.running_var.mul_(1 - bn.momentum).add_(bn.momentum * var.detach() * n / max(float(n) - 1, 1.0))
        bn.num_batches_tracked += 1
    return (y - mean[None, :, None]) / torch.sqrt(var[None, :, None] + bn.eps) * bn.weight[None, :, None] \
        + bn.bias[None, :, None]


def conv_b(cm, x, valid):
    y = F.glu(cm.pointwise_conv1(x.transpose(1, 2)), dim=1)            # (B, d, T)
    y = y * valid[:, None, :].to(y.dtype)
    y = batch_norm_masked(cm.batch_norm, cm.depthwise_conv(y), valid)
    return cm.pointwise_conv2(y * torch.sigmoid(y)).transpose(1, 2)


def ff_b(f, x, drop):
    y = f.linear1(x)
    return f.linear2(F.dropout(y * torch.sigmoid(y), drop, f.training))


def encode_b(model, x, L, drop=0.0):
    """features [B, T, F] (time-major), L [B] -> (encoder output [B, T8, d], valid lengths [B])."""
    x, n = subsample_b(model, x, L)
    c = model.cfg
    if c["xscaling"]:
        x = x * math.sqrt(c["d_model"])
    T = x.shape[1]
    pe = R.rel_pos_emb(T, c["d_model"], x.dtype)
    valid = torch.arange(T)[None, :] < n[:, None]                      # [B, T]
    mask2 = ~(valid[:, None, :] & valid[:, :, None])[:, None]          # [B, 1, T, T]
    tr = model.training
    for ly in model.encoder.layers:
        res = x + 0.5 * F.dropout(ff_b(ly.feed_forward1, ly.norm_feed_forward1(x), drop), drop, tr)
        res = res + F.dropout(mhsa_b(ly.self_attn, ly.norm_self_att(res), pe, mask2, drop), drop, tr)
        res = res + F.dropout(conv_b(ly.conv, ly.norm_conv(res), valid), drop, tr)
        res = res + 0.5 * F.dropout(ff_b(ly.feed_forward2, ly.norm_feed_forward2(res), drop), drop, tr)
        x = ly.norm_out(res)
    return x, n


def joint_logits(model, enc, ys):
    """enc [B, T, d], ys [B, U] (padded with blank) -> logits [B, T, U+1, V+1] (SOS = zero input = blank row)."""
    V = model.cfg["vocab"]
    inp = torch.cat([torch.full((ys.shape[0], 1), V, dtype=torch.long), ys], 1)
    emb = model.decoder.prediction["embed"](inp).transpose(0, 1)       # (U+1, B, P): LSTM is seq-first
    g, _ = model.decoder.prediction["dec_rnn"].lstm(emb)
    g = g.transpose(0, 1)
    j = model.joint   # joint_net = ReLU, Dropout, Linear: no dropout here (the [B,T,U+1,H] mask costs ~15 %)
    return j.joint_net[2](torch.relu(j.enc(enc)[:, :, None] + j.pred(g)[:, None]))


# ---- data ---------------------------------------------------------------------------------------
class Data:
    """synth.py --pk output: feats.f16 [frames, 80] float16, index.tsv rows (index, offset, L, target, voice)."""

    def __init__(self, d):
        self.dir = d
        self.rows = []
        self.refresh()

    def refresh(self):
        rows = []
        with open(os.path.join(self.dir, "index.tsv")) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) == 5 and line.endswith("\n"):      # synth.py may be mid-line
                    rows.append((int(p[1]), int(p[2]), tokenize(p[3])))
        end = rows[-1][0] + rows[-1][1] if rows else 0
        size = os.path.getsize(os.path.join(self.dir, "feats.f16")) // (2 * N_MELS)
        rows = [r for r in rows if r[0] + r[1] <= size]
        self.feats = np.memmap(os.path.join(self.dir, "feats.f16"), dtype=np.float16, mode="r",
                               shape=(max(size, 1), N_MELS)) if size else None
        self.rows = rows
        return end

    def batches(self, rnd, batch, pool=32):
        """Random batches of similar lengths: a pool of `pool` batches' worth, sorted by length, cut, shuffled."""
        idx = list(range(len(self.rows)))
        rnd.shuffle(idx)
        out = []
        for s in range(0, len(idx), batch * pool):
            grp = sorted(idx[s:s + batch * pool], key=lambda i: self.rows[i][1])
            out += [grp[k:k + batch] for k in range(0, len(grp), batch)]
        rnd.shuffle(out)
        return out

    def collate(self, ids, rnd=None, specaug=False):
        L = torch.tensor([self.rows[i][1] for i in ids])
        T = int(L.max())
        x = torch.zeros(len(ids), T, N_MELS)
        for b, i in enumerate(ids):
            off, n, _ = self.rows[i]
            f = torch.from_numpy(np.asarray(self.feats[off:off + n], dtype=np.float32))
            if specaug:
                f = f.clone()
                for _ in range(2):                             # two frequency masks up to 12 bins
                    w = rnd.randint(0, 12)
                    s = rnd.randint(0, N_MELS - w)
                    f[:, s:s + w] = 0.0
                for _ in range(max(1, n // 150)):              # time masks up to 4 % of the clip, 1 per 1.5 s
                    w = rnd.randint(0, max(1, n // 25))
                    s = rnd.randint(0, max(0, n - w))
                    f[s:s + w] = 0.0
            x[b, :n] = f
        U = max(len(self.rows[i][2]) for i in ids)
        ys = torch.full((len(ids), max(U, 1)), len(PIECES), dtype=torch.long)
        for b, i in enumerate(ids):
            t = self.rows[i][2]
            ys[b, :len(t)] = torch.tensor(t, dtype=torch.long)
        yl = torch.tensor([len(self.rows[i][2]) for i in ids], dtype=torch.int32)
        return x, L, ys, yl


# ---- greedy decoding with the reference (what the engine does) -----------------------------------
def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == 16000, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def greedy_text(model, samples, dtype=torch.float32):
    """parakeet_ref's features / encode / greedy_rnnt on one clip -> text (model in eval mode)."""
    with torch.no_grad():
        feats, L = R.features(model, samples, dtype=dtype)
        e = R.encode(model, feats.to(dtype), L)
        hyp, _ = R.greedy_rnnt(model, e["layers"][-1], e["n_valid"])
    return detokenize([k for k, _ in hyp])


def manifest(path, n=0):
    base = os.path.dirname(path)
    out = []
    with open(path) as f:
        for line in f:
            w, t = line.rstrip("\n").split("\t", 1)
            out.append((os.path.join(base, w), t))
    return out[:n] if n else out


def edit(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def wer(model, items):
    was = model.training
    model.eval()
    e = n = 0
    for wav, ref in items:
        hyp = greedy_text(model, read_wav(wav))
        e += edit(ref.split(), hyp.split())
        n += len(ref.split())
    model.train(was)
    return 100.0 * e / max(n, 1)


# ---- training -----------------------------------------------------------------------------------
def self_check():
    """Batched eval-mode encoder + joint vs parakeet_ref per item (random weights, ragged lengths)."""
    c = config(argparse.Namespace(d_model=64, heads=4, layers=2, kernel=9, sub_channels=32, pred=64, joint=64))
    model = build(c)
    with torch.no_grad():
        for ly in model.encoder.layers:        # non-trivial running statistics
            ly.conv.batch_norm.running_mean.uniform_(-0.5, 0.5)
            ly.conv.batch_norm.running_var.uniform_(0.5, 2.0)
    model.eval()
    g = torch.Generator().manual_seed(5)
    Ls = [173, 88, 131]
    feats = [torch.randn(n, N_MELS, generator=g) for n in Ls]
    x = torch.zeros(3, max(Ls), N_MELS)
    for b, f in enumerate(feats):
        x[b, :Ls[b]] = f
    ys = torch.tensor([[3, 7, 56], [5, 56, 56], [2, 9, 11]])
    with torch.no_grad():
        enc, n = encode_b(model, x, torch.tensor(Ls))
        lg = joint_logits(model, enc, ys)
        worst = 0.0
        for b, f in enumerate(feats):
            ref = R.encode(model, torch.cat([f, torch.zeros(1, N_MELS)]).t(), Ls[b])
            assert ref["n_valid"] == int(n[b]), (ref["n_valid"], int(n[b]))
            e = ref["layers"][-1][:ref["n_valid"]]
            worst = max(worst, float((enc[b, :ref["n_valid"]] - e).abs().max() / e.abs().max()))
            gg, st = R.pred_step(model, None, None)
            for u in range(3):
                jr = R.joint(model, e[4], gg)
                worst = max(worst, float((lg[b, 4, u] - jr).abs().max() / jr.abs().max()))
                if u < 2 and int(ys[b, u]) != 56:
                    gg, st = R.pred_step(model, int(ys[b, u]), st)
                elif u < 2:
                    break
    print(f"self-check: batched encoder/joint vs parakeet_ref, max rel err {worst:.2e}")
    if worst > 1e-4:
        raise SystemExit("self-check failed")


def build(c):
    model = R.Parakeet(c)
    torch.manual_seed(1234)
    with torch.no_grad():   # NeMo initialises pos_bias_u/v with xavier; small values, blank's embedding row 0
        for ly in model.encoder.layers:
            torch.nn.init.xavier_uniform_(ly.self_attn.pos_bias_u)
            torch.nn.init.xavier_uniform_(ly.self_attn.pos_bias_v)
        model.decoder.prediction["embed"].weight[c["vocab"]].zero_()
    return model


def save(path, model, opt, step, elapsed, c, extra=None):
    tmp = path + ".tmp"
    torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), step=step, elapsed=elapsed, config=c,
                    pieces=PIECES, **(extra or {})), tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "work", "pk"))
    ap.add_argument("--out", default=os.path.join(HERE, "work", "pk", "ckpt.pt"))
    ap.add_argument("--resume", action="store_true", help="continue --out (its step, time and optimizer)")
    ap.add_argument("--minutes", type=float, default=110.0, help="wall-clock budget incl. evaluations")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--wd", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=300, help="steps")
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--specaug", type=int, default=1)
    ap.add_argument("--d-model", type=int, default=160, help="a multiple of 32: Q8_0/Q4_0 rows must be whole blocks")
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kernel", type=int, default=9)
    ap.add_argument("--sub-channels", type=int, default=64)
    ap.add_argument("--pred", type=int, default=320)
    ap.add_argument("--joint", type=int, default=320)
    ap.add_argument("--ckpt-min", type=float, default=5.0)
    ap.add_argument("--eval-min", type=float, default=15.0)
    ap.add_argument("--eval-n", type=int, default=25, help="held-out files per half for the periodic WER")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--self-check", action="store_true", help="batched forward vs parakeet_ref, then exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.self_check:
        return self_check()
    rnd = random.Random(a.seed)
    c = config(a)
    model = build(c)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd, betas=(0.9, 0.98))
    step, elapsed0 = 0, 0.0
    if a.resume:
        ck = torch.load(a.out, map_location="cpu")
        c = ck["config"]
        model = build(c)
        model.load_state_dict(ck["model"])
        opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd, betas=(0.9, 0.98))
        opt.load_state_dict(ck["opt"])
        step, elapsed0 = ck["step"], ck["elapsed"]
    model.train()
    n_par = sum(p.numel() for n, p in model.named_parameters())
    data = Data(a.data)
    kiosk = os.path.join(REPO, "tests", "data", "kiosk")
    held = [manifest(os.path.join(kiosk, "seen.tsv"), a.eval_n), manifest(os.path.join(kiosk, "unseen.tsv"), a.eval_n)]
    print(f"config {c}\nparameters {n_par} ({n_par * 4 / 1e6:.1f} MB F32), {len(data.rows)} utterances, "
          f"vocab {len(PIECES)} + blank, threads {a.threads}", flush=True)
    budget = a.minutes * 60.0
    t0 = time.time() - elapsed0
    last_ck = last_ev = time.time()
    good = os.path.exists(a.out) and a.resume
    if not good:
        save(a.out, model, opt, step, 0.0, c)
        good = True
    batches = []
    sum_loss = sum_tok = n_utt = n_sec = 0.0
    t_log = time.time()
    nan_count = 0
    while True:
        el = time.time() - t0
        if el >= budget:
            break
        if not batches:
            data.refresh()
            batches = data.batches(rnd, a.batch)
        ids = batches.pop()
        frac = min(el / budget, 1.0)
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, L, ys, yl = data.collate(ids, rnd, bool(a.specaug))
        enc, n = encode_b(model, x, L, a.dropout)
        logits = joint_logits(model, enc, ys)
        loss = rnnt_loss(logits, ys.to(torch.int32), n.to(torch.int32), yl, blank=c["vocab"], reduction="mean")
        opt.zero_grad(set_to_none=True)
        bad = not torch.isfinite(loss)
        if not bad:
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            bad = not torch.isfinite(gn)
        if bad:
            nan_count += 1
            print(f"step {step}: non-finite loss/gradient ({nan_count}); reloading {a.out}", flush=True)
            ck = torch.load(a.out, map_location="cpu")
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            if nan_count > 20:
                raise SystemExit("too many non-finite steps")
            continue
        opt.step()
        step += 1
        sum_loss += float(loss) * len(ids)
        sum_tok += float(yl.sum())
        n_utt += len(ids)
        n_sec += float(L.sum()) / 100.0
        if step % a.log_every == 0:
            dt = time.time() - t_log
            print(f"step {step} t {el / 60:.1f} min lr {lr:.2e} loss {sum_loss / n_utt:.3f} "
                  f"per-token {sum_loss / max(sum_tok, 1):.4f} {n_utt / dt:.1f} utt/s {n_sec / dt:.1f} audio-s/s "
                  f"gnorm {float(gn):.2f}", flush=True)
            sum_loss = sum_tok = n_utt = n_sec = 0.0
            t_log = time.time()
        now = time.time()
        if now - last_ck >= a.ckpt_min * 60:
            save(a.out, model, opt, step, now - t0, c)
            last_ck = now
        if a.eval_min > 0 and now - last_ev >= a.eval_min * 60:
            te = time.time()
            print(f"step {step} greedy WER seen {wer(model, held[0]):.1f} % unseen {wer(model, held[1]):.1f} % "
                  f"({a.eval_n} files each, {time.time() - te:.0f} s)", flush=True)
            last_ev = time.time()
            t_log += last_ev - te
    save(a.out, model, opt, step, time.time() - t0, c)
    print(f"done: {step} steps, {(time.time() - t0) / 60:.1f} min; greedy WER seen {wer(model, held[0]):.1f} % "
          f"unseen {wer(model, held[1]):.1f} % ({a.eval_n} files each)", flush=True)


if __name__ == "__main__":
    main()
