#!/usr/bin/python3
"""parakeet_ref.py - PyTorch reference of NVIDIA NeMo's Parakeet (FastConformer + RNN-T / TDT), issue 9.

    /usr/bin/python3 tests/reference/parakeet_ref.py --goldens tests/data/parakeet          # pk-mini goldens
    /usr/bin/python3 tests/reference/parakeet_ref.py --write-nemo OUT.nemo --config pk-mini --seed 0
    /usr/bin/python3 tests/reference/parakeet_ref.py --check-nemo OUT.nemo    # load back: names, shapes, config
    /usr/bin/python3 tests/reference/parakeet_ref.py --self-test              # model vs loop-level numpy, ~5 s

NeMo is not installable here: the math is re-implemented from NeMo's source (main, Sept 2025; read for
understanding, nothing copied), each piece naming the NeMo function it follows:
  features()   nemo/collections/asr/parts/preprocessing/features.py  FilterbankFeatures.forward, normalize_batch
  subsample()  parts/submodules/subsampling.py  ConvSubsampling (dw_striding) + MaskedConvSequential
  encoder      modules/conformer_encoder.py forward_internal, parts/submodules/conformer_modules.py ConformerLayer,
               ConformerConvolution, ConformerFeedForward; multi_head_attention.py RelPositionMultiHeadAttention,
               RelPositionalEncoding
  predictor    modules/rnnt.py RNNTDecoder.predict (SOS = zero vector), joint  RNNTJoint.joint_after_projection
  greedy       parts/submodules/rnnt_greedy_decoding.py GreedyTDTInfer._greedy_decode, GreedyRNNTInfer._greedy_decode
  beam_search  modified beam search (icefall/sherpa-onnx modified_beam_search for RNN-T, a time-synchronous TDT
               extension: this project's rule, models/parakeet-gguf.md "Beam search"); goldens beam.* / beam1.*
The module tree uses NeMo's state-dict names verbatim, so `model.state_dict()` is what a NeMo
`model_weights.ckpt` holds.  Weights are not random draws: a counter hash (models/parakeet-gguf.md, "pk-mini")
that the C side can reproduce bit-exactly.  Arithmetic in float64 by default (float32 weights).
"""
import argparse
import hashlib
import io
import math
import os
import struct
import sys
import tarfile
import wave
import zlib

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_files  # noqa: E402  (librosa-compatible Slaney mel filters, GGUF reader)

# ---- configurations -------------------------------------------------------------------------------
CONFIGS = {
    # the test configuration of models/parakeet-gguf.md
    "pk-mini": dict(n_mels=80, d_model=64, n_heads=4, n_layers=2, ff_mult=4, conv_kernel=9, sub_factor=8,
                    sub_channels=32, pred_hidden=64, pred_layers=1, joint_hidden=64, vocab=32,
                    durations=[0, 1, 2, 3, 4], xscaling=True, use_bias=False, max_symbols=10),
    # same weights without duration outputs (joint_net.2 = the first V+1 rows of pk-mini's)
    "pk-mini-rnnt": dict(n_mels=80, d_model=64, n_heads=4, n_layers=2, ff_mult=4, conv_kernel=9, sub_factor=8,
                         sub_channels=32, pred_hidden=64, pred_layers=1, joint_hidden=64, vocab=32,
                         durations=[], xscaling=True, use_bias=False, max_symbols=10),
    # a fuzz seed's size (tests/fuzz/corpus: a whole model under the harnesses' max_len)
    "pk-nano": dict(n_mels=8, d_model=32, n_heads=2, n_layers=1, ff_mult=4, conv_kernel=3, sub_factor=8,
                    sub_channels=32, pred_hidden=32, pred_layers=1, joint_hidden=32, vocab=4,
                    durations=[0, 1, 2, 3, 4], xscaling=True, use_bias=False, max_symbols=10),
    # real dimensions (benchmarks only)
    "110m": dict(n_mels=80, d_model=512, n_heads=8, n_layers=17, ff_mult=4, conv_kernel=9, sub_factor=8,
                 sub_channels=256, pred_hidden=640, pred_layers=1, joint_hidden=640, vocab=1024,
                 durations=[0, 1, 2, 3, 4], xscaling=True, use_bias=False, max_symbols=10),
    "0.6b": dict(n_mels=128, d_model=1024, n_heads=8, n_layers=24, ff_mult=4, conv_kernel=9, sub_factor=8,
                 sub_channels=256, pred_hidden=640, pred_layers=2, joint_hidden=640, vocab=1024,
                 durations=[0, 1, 2, 3, 4], xscaling=True, use_bias=False, max_symbols=10),
}
SR, N_FFT, WIN, HOP = 16000, 512, 400, 160
PREEMPH, LOG_GUARD, NORM_EPS, LN_EPS, BN_EPS = 0.97, 2.0 ** -24, 1e-5, 1e-5, 1e-5

GOLDEN_SEED = 4          # the seed of the committed goldens (decodes with blanks, tokens and durations 0,1,2,4)
PK_MINI_PIECES = ["<unk>", "▁", "e", "t", "a", "o", "n", "i", "s", "r", "h", "l", "d", "▁the", "▁a", "u",
                  "c", "m", "f", "y", "w", "g", "p", "b", "v", "k", "'", "▁and", "▁to", "▁of", "x", "j"]


def vocabulary(n):
    """SentencePiece-style pieces: pk-mini's 32, else <unk>, letters, '▁'+letters, '▁'+two letters... (n unique)."""
    if n == len(PK_MINI_PIECES):
        return list(PK_MINI_PIECES)
    letters = "abcdefghijklmnopqrstuvwxyz'"
    out = ["<unk>", "▁"] + list(letters) + ["▁" + c for c in letters]
    for a in letters:
        for b in letters:
            out += [a + b, "▁" + a + b]
    if n > len(out):
        raise SystemExit(f"vocabulary of {n} pieces not supported")
    return out[:n]


# ---- the weight hash (models/parakeet-gguf.md) -----------------------------------------------------
def lowbias32(x):
    """Chris Wellons' lowbias32 on uint32 numpy values (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint32).copy()
    with np.errstate(over="ignore"):
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x7FEB352D)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x846CA68B)
        x ^= x >> np.uint32(16)
    return x


def hash_offsets(name, n, seed, e):
    """float64 offsets (u - 2^23) * 2^(-23-e), u = lowbias32(key ^ lowbias32(i)) >> 8, i = 0..n-1 (exact)."""
    key = np.uint32(zlib.crc32(name.encode("utf-8")) & 0xFFFFFFFF) ^ lowbias32(np.uint32(seed & 0xFFFFFFFF))
    u = lowbias32(np.uint32(key) ^ lowbias32(np.arange(n, dtype=np.uint32))) >> np.uint32(8)
    return (u.astype(np.float64) - 2.0 ** 23) * 2.0 ** (-23 - e)


def hash_values(name, shape, seed, center, e):
    """float32 array of `shape`: center + offset, computed exactly and rounded once to float32."""
    n = int(np.prod(shape)) if len(shape) else 1
    off = hash_offsets(name, n, seed, e).reshape(shape)
    return (np.asarray(center, dtype=np.float64) + off).astype(np.float32)


def weight_rule(name, shape):
    """(center, e) of a tensor (models/parakeet-gguf.md, "pk-mini") or None for the computed/int tensors."""
    if name.startswith("preprocessor.") or name.endswith("num_batches_tracked"):
        return None
    leaf = name.rsplit(".", 1)[1]
    norm = ".norm_" in name or ".batch_norm." in name
    if leaf == "running_var":
        return (1.0, 2)
    if norm and leaf == "weight":
        return (1.0, 3)
    if (norm and leaf == "bias") or leaf == "running_mean" or leaf.startswith("pos_bias"):
        return (0.0, 3)
    if name == "joint.joint_net.2.bias":
        return (0.0, 3)                 # and the blank's element has center 0.5 (Parakeet.init_hash)
    if leaf.startswith("bias"):
        return (0.0, 5)
    if name == "decoder.prediction.embed.weight":
        return (0.0, 0)
    fan_in = int(np.prod(shape[1:]))
    return (0.0, int(math.floor(math.log2(fan_in) / 2)))


def window_tensor():
    return torch.hann_window(WIN, periodic=False, dtype=torch.float32)


# ---- the model (NeMo's module tree and names) -------------------------------------------------
class FeedForward(torch.nn.Module):
    def __init__(self, d, ff, bias):
        super().__init__()
        self.linear1 = torch.nn.Linear(d, ff, bias=bias)
        self.linear2 = torch.nn.Linear(ff, d, bias=bias)


class RelPosMHA(torch.nn.Module):
    def __init__(self, d, h, bias):
        super().__init__()
        self.h, self.d_k = h, d // h
        self.linear_q = torch.nn.Linear(d, d, bias=bias)
        self.linear_k = torch.nn.Linear(d, d, bias=bias)
        self.linear_v = torch.nn.Linear(d, d, bias=bias)
        self.linear_out = torch.nn.Linear(d, d, bias=bias)
        self.linear_pos = torch.nn.Linear(d, d, bias=False)
        self.pos_bias_u = torch.nn.Parameter(torch.zeros(h, d // h))
        self.pos_bias_v = torch.nn.Parameter(torch.zeros(h, d // h))


class ConvModule(torch.nn.Module):
    def __init__(self, d, k, bias):
        super().__init__()
        self.pointwise_conv1 = torch.nn.Conv1d(d, 2 * d, 1, bias=bias)
        self.depthwise_conv = torch.nn.Conv1d(d, d, k, padding=(k - 1) // 2, groups=d, bias=bias)
        self.batch_norm = torch.nn.BatchNorm1d(d, eps=BN_EPS)
        self.pointwise_conv2 = torch.nn.Conv1d(d, d, 1, bias=bias)


class ConformerLayer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, ff, b = c["d_model"], c["d_model"] * c["ff_mult"], c["use_bias"]
        self.norm_feed_forward1 = torch.nn.LayerNorm(d, eps=LN_EPS)
        self.feed_forward1 = FeedForward(d, ff, b)
        self.norm_self_att = torch.nn.LayerNorm(d, eps=LN_EPS)
        self.self_attn = RelPosMHA(d, c["n_heads"], b)
        self.norm_conv = torch.nn.LayerNorm(d, eps=LN_EPS)
        self.conv = ConvModule(d, c["conv_kernel"], b)
        self.norm_feed_forward2 = torch.nn.LayerNorm(d, eps=LN_EPS)
        self.feed_forward2 = FeedForward(d, ff, b)
        self.norm_out = torch.nn.LayerNorm(d, eps=LN_EPS)


def sub_freq(n_mels, stages):
    f = n_mels
    for _ in range(stages):
        f = (f + 2 - 3) // 2 + 1
    return f


class PreEncode(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, stages = c["sub_channels"], int(math.log2(c["sub_factor"]))
        layers = [torch.nn.Conv2d(1, ch, 3, stride=2, padding=1), torch.nn.ReLU()]
        for _ in range(stages - 1):
            layers += [torch.nn.Conv2d(ch, ch, 3, stride=2, padding=1, groups=ch), torch.nn.Conv2d(ch, ch, 1),
                       torch.nn.ReLU()]
        self.conv = torch.nn.Sequential(*layers)
        self.out = torch.nn.Linear(ch * sub_freq(c["n_mels"], stages), c["d_model"])


class Encoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.pre_encode = PreEncode(c)
        self.layers = torch.nn.ModuleList([ConformerLayer(c) for _ in range(c["n_layers"])])


class DecRNN(torch.nn.Module):
    def __init__(self, p, n):
        super().__init__()
        self.lstm = torch.nn.LSTM(p, p, num_layers=n)


class Decoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.prediction = torch.nn.ModuleDict({
            "embed": torch.nn.Embedding(c["vocab"] + 1, c["pred_hidden"], padding_idx=c["vocab"]),
            "dec_rnn": DecRNN(c["pred_hidden"], c["pred_layers"])})


class Joint(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.enc = torch.nn.Linear(c["d_model"], c["joint_hidden"])
        self.pred = torch.nn.Linear(c["pred_hidden"], c["joint_hidden"])
        self.joint_net = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                             torch.nn.Linear(c["joint_hidden"], c["vocab"] + 1 + len(c["durations"])))


class Featurizer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        fb = ggml_files.mel_filters(c["n_mels"], sr=SR, n_fft=N_FFT)
        self.register_buffer("window", window_tensor())
        self.register_buffer("fb", torch.from_numpy(fb).unsqueeze(0))


class Preprocessor(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.featurizer = Featurizer(c)


class Parakeet(torch.nn.Module):
    """NeMo EncDecRNNTBPEModel's parameter tree: preprocessor, encoder, decoder, joint."""

    def __init__(self, c):
        super().__init__()
        self.cfg = dict(c)
        self.preprocessor = Preprocessor(c)
        self.encoder = Encoder(c)
        self.decoder = Decoder(c)
        self.joint = Joint(c)
        self.eval()                                    # inference: no dropout

    def init_hash(self, seed):
        """Fill every parameter/buffer from the counter hash (models/parakeet-gguf.md)."""
        with torch.no_grad():
            for name, t in self.state_dict(keep_vars=True).items():
                rule = weight_rule(name, tuple(t.shape))
                if rule is None:
                    continue
                center = np.full(tuple(t.shape), rule[0])
                if name == "joint.joint_net.2.bias":
                    center[self.cfg["vocab"]] = 0.5     # blank: makes blanks and non-blanks both occur
                t.copy_(torch.from_numpy(hash_values(name, tuple(t.shape), seed, center, rule[1])))
            self.decoder.prediction["embed"].weight[self.cfg["vocab"]].zero_()   # padding row = blank
        return self


# ---- front end ---------------------------------------------------------------------------------
def features(model, samples, dtype=torch.float64):
    """NeMo FilterbankFeatures (inference: no dither, pad_to 0): samples (float, [-1,1)) -> ([n_mels, L+1], L)."""
    fz = model.preprocessor.featurizer
    x = torch.as_tensor(np.asarray(samples, dtype=np.float64), dtype=dtype)
    n = x.shape[0]
    L = n // HOP                                       # get_seq_len: (n + 2*(n_fft//2) - n_fft) // hop
    x = torch.cat([x[:1], x[1:] - PREEMPH * x[:-1]])   # pre-emphasis (time mask is all valid for one item)
    spec = torch.stft(x, n_fft=N_FFT, hop_length=HOP, win_length=WIN, window=fz.window.to(dtype), center=True,
                      pad_mode="constant", return_complex=True)
    re = torch.view_as_real(spec)
    mag = torch.sqrt(re.pow(2).sum(-1))                # as NeMo: magnitude, then power 2
    power = mag.pow(2.0)
    mel = torch.matmul(fz.fb[0].to(dtype), power)      # [n_mels, L+1]
    mel = torch.log(mel + LOG_GUARD)
    valid = mel[:, :L]
    mean = valid.sum(1) / L
    std = torch.sqrt(((valid - mean[:, None]) ** 2).sum(1) / (L - 1.0)) + NORM_EPS
    out = (mel - mean[:, None]) / std[:, None]
    out[:, L:] = 0.0                                   # frames >= seq_len -> pad_value 0
    return out, L


# ---- encoder -----------------------------------------------------------------------------------
def conv_len(n):
    return (n + 2 - 3) // 2 + 1


def subsample(model, feats, L):
    """ConvSubsampling dw_striding with MaskedConvSequential: rows >= the valid length zeroed around every layer.
    feats [n_mels, T] -> ([T8, d_model] after pre_encode.out, valid length)."""
    pe = model.encoder.pre_encode
    x = feats.t()[None, None]                          # (1, 1, T, F)
    cur = L
    for layer in pe.conv:
        x = x.clone()
        x[:, :, cur:, :] = 0.0                         # apply_channel_mask before the layer
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d) and layer.stride != (1, 1):
            cur = conv_len(cur)
    x = x.clone()
    x[:, :, cur:, :] = 0.0                             # final mask
    b, c, t, f = x.shape
    x = pe.out(x.transpose(1, 2).reshape(b, t, c * f))[0]
    return x, cur


def rel_pos_emb(T, d, dtype):
    """RelPositionalEncoding: positions T-1 .. -(T-1), pe[:, 0::2] = sin, pe[:, 1::2] = cos."""
    pos = torch.arange(T - 1, -T, -1, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * -(math.log(10000.0) / d))
    pe = torch.zeros(2 * T - 1, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe.to(dtype)


def rel_shift(x):
    """NeMo RelPositionMultiHeadAttention.rel_shift on (h, t1, t2=2*t1-1)."""
    h, q, p = x.shape
    x = torch.nn.functional.pad(x, (1, 0)).view(h, -1, q)
    return x[:, 1:].reshape(h, q, p)


def mhsa(att, x, pe, n_valid):
    T, d = x.shape
    h, dk = att.h, att.d_k
    q = att.linear_q(x).view(T, h, dk)
    k = att.linear_k(x).view(T, h, dk).transpose(0, 1)
    v = att.linear_v(x).view(T, h, dk).transpose(0, 1)
    p = att.linear_pos(pe).view(-1, h, dk).transpose(0, 1)                  # (h, 2T-1, dk)
    qu = (q + att.pos_bias_u).transpose(0, 1)
    qv = (q + att.pos_bias_v).transpose(0, 1)
    ac = torch.matmul(qu, k.transpose(-2, -1))
    bd = rel_shift(torch.matmul(qv, p.transpose(-2, -1)))[:, :, :T]
    scores = (ac + bd) / math.sqrt(dk)
    mask = torch.zeros(T, T, dtype=torch.bool)
    mask[:, n_valid:] = True
    mask[n_valid:, :] = True
    scores = scores.masked_fill(mask, -10000.0)
    w = torch.softmax(scores, dim=-1).masked_fill(mask, 0.0)
    out = torch.matmul(w, v).transpose(0, 1).reshape(T, d)
    return att.linear_out(out)


def conv_module(cm, x, n_valid):
    y = cm.pointwise_conv1(x.t()[None])                 # (1, 2d, T)
    y = torch.nn.functional.glu(y, dim=1)
    y = y.clone()
    y[:, :, n_valid:] = 0.0
    y = cm.depthwise_conv(y)
    bn = cm.batch_norm
    y = (y - bn.running_mean[None, :, None]) / torch.sqrt(bn.running_var[None, :, None] + bn.eps) \
        * bn.weight[None, :, None] + bn.bias[None, :, None]
    y = y * torch.sigmoid(y)
    return cm.pointwise_conv2(y)[0].t()


def ff(f, x):
    y = f.linear1(x)
    return f.linear2(y * torch.sigmoid(y))


def conformer_layer(layer, x, pe, n_valid):
    res = x + 0.5 * ff(layer.feed_forward1, layer.norm_feed_forward1(x))
    res = res + mhsa(layer.self_attn, layer.norm_self_att(res), pe, n_valid)
    res = res + conv_module(layer.conv, layer.norm_conv(res), n_valid)
    res = res + 0.5 * ff(layer.feed_forward2, layer.norm_feed_forward2(res))
    return layer.norm_out(res)


def encode(model, feats, L):
    """feats [n_mels, T] -> dict(pre=[T8,d] before xscale, layers=[[T8,d]...], n_valid)."""
    x, n_valid = subsample(model, feats, L)
    pre = x
    if model.cfg["xscaling"]:
        x = x * math.sqrt(model.cfg["d_model"])
    pe = rel_pos_emb(x.shape[0], model.cfg["d_model"], x.dtype)
    outs = []
    for layer in model.encoder.layers:
        x = conformer_layer(layer, x, pe, n_valid)
        outs.append(x)
    return dict(pre=pre, layers=outs, n_valid=n_valid)


# ---- predictor, joint, greedy ------------------------------------------------------------------
def pred_step(model, token, state):
    """RNNTDecoder.predict: token None = SOS (zero input).  -> (g [P], new state)."""
    P = model.cfg["pred_hidden"]
    dt = model.joint.enc.weight.dtype
    if token is None:
        y = torch.zeros(1, 1, P, dtype=dt)
    else:
        y = model.decoder.prediction["embed"](torch.tensor([[token]]))
    g, st = model.decoder.prediction["dec_rnn"].lstm(y, state)
    return g[0, 0], st


def joint(model, f, g):
    """RNNTJoint: joint_net(ReLU(enc(f) + pred(g))) -> raw logits [V+1+D]."""
    j = model.joint
    return j.joint_net(j.enc(f) + j.pred(g))


def greedy_tdt(model, enc, n_valid, rule="batch"):
    """Greedy TDT. rule "batch": NeMo's default strategy greedy_batch (transducer_decoding/tdt_label_looping.py
    torch_impl): a blank with duration 0 advances 1 frame; after max_symbols labels at one frame with time not
    advanced, time advances by 1.  rule "single": GreedyTDTInfer._greedy_decode (strategy greedy): every step
    (blank or not) counts, and after max_symbols steps at a frame time advances by 1 more even when the last step
    already moved it.  The two differ only in that last case.
    -> list of (token, frame, duration), min top1-top2 gaps (token logits, duration log-probs)."""
    V, durs, maxs = model.cfg["vocab"], model.cfg["durations"], model.cfg["max_symbols"]
    hyp, state = [], None
    g, st = pred_step(model, None, None)
    gaps = [math.inf, math.inf]

    def step(t):
        logits = joint(model, enc[t], g)
        tok_l, dur_l = logits[:V + 1], torch.log_softmax(logits[V + 1:], -1)
        top, dtop = torch.topk(tok_l, 2).values, torch.topk(dur_l, 2).values
        gaps[0] = min(gaps[0], float(top[0] - top[1]))
        gaps[1] = min(gaps[1], float(dtop[0] - dtop[1]))
        return int(torch.argmax(tok_l)), durs[int(torch.argmax(dur_l))]

    t = 0
    if rule == "single":
        while t < n_valid:
            n, need = 0, True
            while need and n < maxs:
                k, skip = step(t)
                if k != V:
                    hyp.append((k, t, skip))
                    state = st
                    g, st = pred_step(model, k, state)
                n += 1
                t += skip
                need = skip == 0
            if n == maxs:
                t += 1
        return hyp, gaps
    run_t, run_n = -1, 0                 # frame of the last label and how many labels it has
    while t < n_valid:
        k, skip = step(t)
        if k == V:
            t += max(skip, 1)
            continue
        hyp.append((k, t, skip))
        run_n = run_n + 1 if run_t == t else 1
        run_t = t
        g, st = pred_step(model, k, st)
        t += skip
        if run_n >= maxs and run_t == t:
            t += 1
    return hyp, gaps


def greedy_rnnt(model, enc, n_valid):
    """GreedyRNNTInfer._greedy_decode over the first V+1 joint outputs. -> [(token, frame)], min top1-top2 gap."""
    V, maxs = model.cfg["vocab"], model.cfg["max_symbols"]
    hyp, gap = [], math.inf
    g, st = pred_step(model, None, None)
    for t in range(n_valid):
        n = 0
        while n < maxs:
            logits = joint(model, enc[t], g)[:V + 1]
            k = int(torch.argmax(logits))
            top = torch.topk(logits, 2).values
            gap = min(gap, float(top[0] - top[1]))
            n += 1
            if k == V:
                break
            hyp.append((k, t))
            g, st = pred_step(model, k, st)
    return hyp, gap


def beam_search(model, enc, n_valid, beam, tdt=True):
    """Modified beam search (this project's rule, models/parakeet-gguf.md "Beam search").  Hypotheses carry
    (score, tokens [(token, frame, duration, p)], frame t, run = labels at their last label's frame, predictor
    (g, state)).  Start: one empty hypothesis at t 0 with the SOS predictor output, score 0.  Each round:
    t* = the smallest t among hypotheses with t < n_valid (none: stop).  Candidates, enumerated in list order:
    a hypothesis with t != t* is carried as one candidate (unchanged); one at t* is expanded: lp = log_softmax of
    the V+1 token logits of joint(enc[t*], g), for TDT ld = log_softmax of the D duration logits, and for each
    token k = 0..V (blank = V), each duration index j = 0..D-1: score + lp[k] + ld[j] with d = durations[j];
    blank: t += max(d, 1); a label: run = run + 1 if the last label was at t* else 1, t += d, and t += 1 more
    when run >= max_symbols and d == 0 (greedy's rules).  RNN-T (icefall modified_beam_search): no duration
    term, every expansion (blank or label) moves to t* + 1, so at most one label per frame per hypothesis.
    Keep the `beam` best candidates by score (ties: the earlier enumerated), then merge in that rank order:
    a candidate with the same frame t and the same token sequence as an earlier kept one is folded into it
    (score = logaddexp; the earlier keeps its frames/durations/probabilities); the list is then stably sorted by
    score, best first.  The answer is the first hypothesis when every t >= n_valid.
    With beam 1 on TDT this is greedy TDT; on RNN-T it is greedy with one symbol per frame.
    -> (best tokens [(token, frame, duration, p)], score, min gap between the last kept and the first
       dropped candidate over the rounds, min |score difference| among kept candidates)."""
    V, durs, maxs = model.cfg["vocab"], model.cfg["durations"], model.cfg["max_symbols"]
    if not tdt:
        durs = []
    g0, st0 = pred_step(model, None, None)
    hyps = [dict(score=0.0, seq=[], t=0, run=0, last=-1, g=g0, st=st0)]
    min_gap, min_diff = math.inf, math.inf
    while True:
        live = [h["t"] for h in hyps if h["t"] < n_valid]
        if not live:
            break
        ts = min(live)
        cands = []                       # (score, index, parent, token or None, duration)
        for h in hyps:
            if h["t"] != ts:
                cands.append((h["score"], len(cands), h, None, None, 0.0))
                continue
            logits = joint(model, enc[ts], h["g"])
            lp = torch.log_softmax(logits[:V + 1].double(), -1)
            ld = torch.log_softmax(logits[V + 1:V + 1 + len(durs)].double(), -1) if durs else None
            for k in range(V + 1):
                for j in range(len(durs) if durs else 1):
                    s = h["score"] + float(lp[k]) + (float(ld[j]) if durs else 0.0)
                    cands.append((s, len(cands), h, k, durs[j] if durs else None, math.exp(float(lp[k]))))
        order = sorted(cands, key=lambda c: (-c[0], c[1]))
        kept = order[:beam]
        if len(order) > beam:
            min_gap = min(min_gap, kept[-1][0] - order[beam][0])
        for a, b in zip(kept, kept[1:]):
            min_diff = min(min_diff, a[0] - b[0])
        new = []
        for s, _, h, k, d, p in kept:
            if k is None:
                nh = dict(h)
            elif k == V:
                nh = dict(h, score=s, t=ts + (max(d, 1) if d is not None else 1))
            else:
                if d is None:            # RNN-T: one label per frame
                    t2, run, dd = ts + 1, 1, 0
                else:
                    run = h["run"] + 1 if h["last"] == ts else 1
                    t2, dd = ts + d, d
                    if run >= maxs and d == 0:
                        t2 += 1
                g, st = pred_step(model, k, h["st"])
                nh = dict(score=s, seq=h["seq"] + [(k, ts, dd, p)], t=t2, run=run, last=ts, g=g, st=st)
            nh["score"] = s
            same = next((o for o in new if o["t"] == nh["t"] and [x[0] for x in o["seq"]] == [x[0] for x in nh["seq"]]),
                        None)
            if same is not None:
                same["score"] = float(np.logaddexp(same["score"], nh["score"]))
            else:
                new.append(nh)
        hyps = sorted(new, key=lambda h: -h["score"])   # stable
    return hyps[0]["seq"], hyps[0]["score"], min_gap, min_diff


# ---- .nemo writer / reader -----------------------------------------------------------------------
def nemo_config(c, name, tok_prefix):
    """model_config.yaml as a NeMo EncDecRNNTBPEModel saves it (the `model:` section, interpolations resolved)."""
    durs = list(c["durations"])
    pieces = vocabulary(c["vocab"])
    tdt = len(durs) > 0
    cfg = {
        "sample_rate": SR,
        "compute_eval_loss": False,
        "log_prediction": True,
        "skip_nan_grad": False,
        "model_defaults": {"enc_hidden": c["d_model"], "pred_hidden": c["pred_hidden"],
                           "joint_hidden": c["joint_hidden"]},
        "tokenizer": {"dir": None, "type": "bpe", "model_path": f"nemo:{tok_prefix}_tokenizer.model",
                      "vocab_path": f"nemo:{tok_prefix}_vocab.txt",
                      "spe_tokenizer_vocab": f"nemo:{tok_prefix}_tokenizer.vocab"},
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                         "sample_rate": SR, "normalize": "per_feature", "window_size": 0.025,
                         "window_stride": 0.01, "window": "hann", "features": c["n_mels"], "n_fft": N_FFT,
                         "log": True, "frame_splicing": 1, "dither": 1.0e-05, "pad_to": 0, "pad_value": 0.0},
        "spec_augment": {"_target_": "nemo.collections.asr.modules.SpectrogramAugmentation", "freq_masks": 2,
                         "time_masks": 10, "freq_width": 27, "time_width": 0.05},
        "encoder": {"_target_": "nemo.collections.asr.modules.ConformerEncoder", "feat_in": c["n_mels"],
                    "feat_out": -1, "n_layers": c["n_layers"], "d_model": c["d_model"], "use_bias": c["use_bias"],
                    "subsampling": "dw_striding", "subsampling_factor": c["sub_factor"],
                    "subsampling_conv_channels": c["sub_channels"], "causal_downsampling": False,
                    "ff_expansion_factor": c["ff_mult"], "self_attention_model": "rel_pos",
                    "n_heads": c["n_heads"], "att_context_size": [-1, -1], "att_context_style": "regular",
                    "xscaling": c["xscaling"], "untie_biases": True, "pos_emb_max_len": 5000,
                    "conv_kernel_size": c["conv_kernel"], "conv_norm_type": "batch_norm",
                    "conv_context_size": None, "dropout": 0.1, "dropout_pre_encoder": 0.1, "dropout_emb": 0.0,
                    "dropout_att": 0.1, "stochastic_depth_drop_prob": 0.0, "stochastic_depth_mode": "linear",
                    "stochastic_depth_start_layer": 1},
        "decoder": {"_target_": "nemo.collections.asr.modules.RNNTDecoder", "normalization_mode": None,
                    "random_state_sampling": False, "blank_as_pad": True,
                    "prednet": {"pred_hidden": c["pred_hidden"], "pred_rnn_layers": c["pred_layers"],
                                "t_max": None, "dropout": 0.2},
                    "vocab_size": c["vocab"]},
        "joint": {"_target_": "nemo.collections.asr.modules.RNNTJoint", "log_softmax": None,
                  "preserve_memory": False, "fuse_loss_wer": True, "fused_batch_size": 4,
                  "jointnet": {"joint_hidden": c["joint_hidden"], "activation": "relu", "dropout": 0.2,
                               "encoder_hidden": c["d_model"], "pred_hidden": c["pred_hidden"]},
                  "num_extra_outputs": len(durs), "num_classes": c["vocab"], "vocabulary": pieces},
        "decoding": {"strategy": "greedy_batch", "model_type": "tdt" if tdt else "rnnt",
                     "greedy": {"max_symbols": c["max_symbols"]}},
        "target": "nemo.collections.asr.models.rnnt_bpe_models.EncDecRNNTBPEModel",
        "nemo_version": "2.4.0",
    }
    if tdt:
        cfg["model_defaults"].update({"tdt_durations": list(durs), "num_tdt_durations": len(durs)})
        cfg["decoding"]["durations"] = list(durs)
        cfg["loss"] = {"loss_name": "tdt", "tdt_kwargs": {"fastemit_lambda": 0.0, "clamp": -1.0,
                                                         "durations": list(durs), "sigma": 0.02, "omega": 0.1}}
    else:
        cfg["loss"] = {"loss_name": "default"}
    cfg["name"] = name
    return cfg


def piece_type(p):
    return 2 if p == "<unk>" else (3 if p in ("<s>", "</s>") else 1)


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def spm_model_bytes(pieces):
    """A minimal SentencePiece ModelProto: pieces (1: piece, 2: score, 3: type) + trainer_spec (model_type BPE)."""
    out = bytearray()
    for i, p in enumerate(pieces):
        pb = p.encode("utf-8")
        sub = b"\x0a" + _varint(len(pb)) + pb + b"\x15" + struct.pack("<f", 0.0 if i == 0 else -float(i)) \
            + b"\x18" + _varint(piece_type(p))
        out += b"\x0a" + _varint(len(sub)) + sub
    trainer = b"\x18" + _varint(2) + b"\x20" + _varint(len(pieces))   # model_type = BPE, vocab_size
    out += b"\x12" + _varint(len(trainer)) + trainer
    return bytes(out)


def write_nemo(path, config_name, seed):
    c = CONFIGS[config_name]
    model = Parakeet(c).init_hash(seed)
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    prefix = hashlib.sha1(f"{config_name}:{seed}".encode()).hexdigest()[:32]
    cfg = nemo_config(c, f"parakeet-{config_name}-seed{seed}", prefix)
    pieces = vocabulary(c["vocab"])
    members = []
    members.append(("model_config.yaml", yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True).encode()))
    ckpt = path + ".ckpt.tmp"             # on disk, not in memory: the 0.6b state dict is 2.4 GB
    with open(ckpt, "wb") as f:           # a file object: the zip's record prefix is "archive", not the name
        torch.save(sd, f)
    del sd
    members.append(("model_weights.ckpt", ckpt))
    members.append((f"{prefix}_tokenizer.model", spm_model_bytes(pieces)))
    members.append((f"{prefix}_tokenizer.vocab",
                    "".join(f"{p}\t{0.0 if i == 0 else -float(i)}\n" for i, p in enumerate(pieces)).encode()))
    members.append((f"{prefix}_vocab.txt", "".join(p + "\n" for p in pieces).encode()))
    with tarfile.open(path, "w") as tar:        # NeMo writes an uncompressed tar with ./ names
        for name, data in members:
            ti = tarfile.TarInfo("./" + name)
            ti.mtime, ti.mode = 0, 0o644
            if isinstance(data, str):
                ti.size = os.path.getsize(data)
                with open(data, "rb") as f:
                    tar.addfile(ti, f)
            else:
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))
    os.remove(ckpt)
    return model


def read_nemo(path):
    """(config dict, state dict, {member basename: bytes}) of a .nemo archive."""
    files = {}
    with tarfile.open(path, "r:*") as tar:
        for m in tar.getmembers():
            if m.isfile():
                files[os.path.basename(m.name)] = tar.extractfile(m).read()
    cfg = yaml.safe_load(files["model_config.yaml"])
    try:
        sd = torch.load(io.BytesIO(files["model_weights.ckpt"]), map_location="cpu", weights_only=True)
    except TypeError:
        sd = torch.load(io.BytesIO(files["model_weights.ckpt"]), map_location="cpu")
    if "state_dict" in sd:
        sd = sd["state_dict"]
    return cfg, sd, files


def config_from_nemo(cfg):
    enc, dec, jn = cfg["encoder"], cfg["decoder"], cfg["joint"]
    durs = list(cfg.get("model_defaults", {}).get("tdt_durations", []) or [])
    return dict(n_mels=cfg["preprocessor"]["features"], d_model=enc["d_model"], n_heads=enc["n_heads"],
                n_layers=enc["n_layers"], ff_mult=enc["ff_expansion_factor"], conv_kernel=enc["conv_kernel_size"],
                sub_factor=enc["subsampling_factor"], sub_channels=enc["subsampling_conv_channels"],
                pred_hidden=dec["prednet"]["pred_hidden"], pred_layers=dec["prednet"]["pred_rnn_layers"],
                joint_hidden=jn["jointnet"]["joint_hidden"], vocab=dec["vocab_size"], durations=durs,
                xscaling=bool(enc.get("xscaling", True)), use_bias=bool(enc.get("use_bias", True)),
                max_symbols=int(cfg.get("decoding", {}).get("greedy", {}).get("max_symbols", 10) or 10))


def check_nemo(path, seed=None, config_name=None):
    """Load a .nemo back: every name/shape equals a freshly built model of its config; values if seed given."""
    cfg, sd, files = read_nemo(path)
    c = config_from_nemo(cfg)
    ref = Parakeet(c)
    want = ref.state_dict()
    if set(want) != set(sd):
        raise SystemExit(f"names differ: missing {sorted(set(want) - set(sd))[:5]} extra {sorted(set(sd) - set(want))[:5]}")
    for k, v in want.items():
        if tuple(v.shape) != tuple(sd[k].shape) or v.dtype != sd[k].dtype:
            raise SystemExit(f"{k}: {tuple(sd[k].shape)} {sd[k].dtype}, expected {tuple(v.shape)} {v.dtype}")
    if config_name is not None and c != CONFIGS[config_name]:
        raise SystemExit(f"config differs: {c} vs {CONFIGS[config_name]}")
    if seed is not None:
        ref.init_hash(seed)
        for k, v in ref.state_dict().items():
            if not torch.equal(v, sd[k]):
                raise SystemExit(f"{k}: values differ from the hash of seed {seed}")
    tok = [n for n in files if n.endswith("_tokenizer.model")]
    if len(tok) != 1:
        raise SystemExit("no tokenizer.model in the archive")
    print(f"{path}: {len(sd)} tensors, {sum(v.numel() for v in sd.values())} values, config {c}, tokenizer {tok[0]}"
          + (" values = hash(seed %d)" % seed if seed is not None else ""))
    return c, sd


# ---- GGUF (models/parakeet-gguf.md) read back with the independent reader of ggml_files.py ---------------
def load_gguf(path):
    """(Parakeet model with the file's weights (F16 widened), kv dict, {name: (ggml type, ne)})."""
    _, kv, ts = ggml_files.read_gguf(path)
    dec = lambda v: v.decode("utf-8") if isinstance(v, bytes) else ([dec(x) for x in v] if isinstance(v, list) else v)  # noqa: E731
    kv = {k: dec(v) for k, v in kv.items()}
    if kv.get("general.architecture") != "parakeet":
        raise SystemExit(f"{path}: architecture {kv.get('general.architecture')!r}")
    g = lambda k: kv["parakeet." + k]  # noqa: E731
    c = dict(n_mels=g("n_mels"), d_model=g("d_model"), n_heads=g("n_heads"), n_layers=g("n_layers"),
             ff_mult=g("ff_dim") // g("d_model"), conv_kernel=g("conv_kernel"), sub_factor=g("subsampling_factor"),
             sub_channels=g("subsampling_channels"), pred_hidden=g("pred_hidden"), pred_layers=g("pred_layers"),
             joint_hidden=g("joint_hidden"), vocab=g("n_vocab"), durations=list(kv.get("parakeet.durations", [])),
             xscaling=bool(g("xscaling")), use_bias=bool(g("use_bias")), max_symbols=g("max_symbols"))
    model = Parakeet(c)
    sd = model.state_dict()
    info = {}
    with torch.no_grad():
        for t in ts:
            if t.name not in sd:
                raise SystemExit(f"{path}: tensor {t.name} is not in the model")
            shape = tuple(sd[t.name].shape)
            ne = tuple(reversed(shape)) + (1,) * (4 - len(shape))
            k = int(np.prod(shape[1:])) if len(shape) > 1 else 0
            if t.type in (ggml_files.Q8_0, ggml_files.Q4_0) and t.ne == (k, shape[0], 1, 1):
                ne = t.ne  # quantized matrices are stored 2-D [n][k] (models/parakeet-gguf.md)
            if t.ne != ne:
                raise SystemExit(f"{path}: {t.name} ne {t.ne}, expected {ne}")
            a = ggml_files.dequantize(t.type, bytes(t.data), t.nelem).reshape(shape)
            sd[t.name].copy_(torch.from_numpy(a))
            info[t.name] = (t.type, t.ne)
    missing = [n for n in sd if n not in info and not n.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit(f"{path}: missing tensors {missing[:5]}")
    return model, kv, info


def check_gguf(path, seed):
    """A converted pk-mini-style file equals the hash model of `seed`: keys, tokens, tensors (F16 = rounded)."""
    model, kv, info = load_gguf(path)
    c = model.cfg
    name = [k for k, v in CONFIGS.items() if v == c]
    ref = Parakeet(c).init_hash(seed).state_dict()
    n_f16 = 0
    for n, (typ, _) in info.items():
        want = ref[n].numpy()
        if typ == ggml_files.F16:
            want = want.astype(np.float16).astype(np.float32)
            n_f16 += 1
        if not np.array_equal(model.state_dict()[n].numpy(), want):
            raise SystemExit(f"{path}: {n} differs from the hash of seed {seed}")
    assert kv["tokenizer.ggml.tokens"] == vocabulary(c["vocab"]), "tokens differ"
    assert kv["parakeet.blank_id"] == c["vocab"] and kv["parakeet.hop_length"] == HOP
    assert kv["parakeet.model_type"] == ("tdt" if c["durations"] else "rnnt")
    crc = kv["edgestt.crc32"]
    _, _, ts = ggml_files.read_gguf(path)
    assert list(crc) == [zlib.crc32(bytes(t.data)) & 0xFFFFFFFF for t in ts], "crc32 differ"
    print(f"{path}: config {name or c}, {len(info)} tensors ({n_f16} F16) = hash(seed {seed}); keys, tokens, crc ok")
    return model


# ---- goldens ----------------------------------------------------------------------------------
def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == SR
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm


def f9(v):
    return "%.9g" % float(np.float32(v))


def run_model(model, samples, dtype):
    m = model.to(dtype)
    with torch.no_grad():
        feats, L = features(m, samples, dtype)
        feats32 = feats.to(torch.float32).to(dtype)          # the encoder runs on the golden (f32) features
        e = encode(m, feats32, L)
        enc = e["layers"][-1]
        tdt, tdt_gaps = greedy_tdt(m, enc, e["n_valid"], "batch")
        tdt_single, _ = greedy_tdt(m, enc, e["n_valid"], "single")
        rn, rn_gap = greedy_rnnt(m, enc, e["n_valid"])
    return feats, L, e, tdt, tdt_gaps, rn, rn_gap, tdt_single


BEAM = 4                 # the goldens' beam size


def run_beams(model, e):
    """Modified beam search (beam BEAM, and 1) on the encoder output: TDT and RNN-T (the same joint's first V+1
    outputs, as pk-mini-rnnt)."""
    with torch.no_grad():
        enc = e["layers"][-1]
        return {(tdt, b): beam_search(model, enc, e["n_valid"], b, tdt) for tdt in (True, False) for b in (1, BEAM)}


@torch.no_grad()
def write_goldens(outdir, wav, seconds=3.0, seed=GOLDEN_SEED, model_path=None):
    os.makedirs(outdir, exist_ok=True)
    pcm = read_wav(wav)[: int(seconds * SR)]
    samples = pcm.astype(np.float64) / 32768.0
    build = (lambda: Parakeet(CONFIGS["pk-mini"]).init_hash(seed)) if model_path is None \
        else (lambda: load_gguf(model_path)[0])
    model = build()
    c = model.cfg
    feats, L, e, tdt, tdt_gaps, rn, rn_gap, tdt_single = run_model(model, samples, torch.float64)
    # float32 re-run: same decisions?
    m32 = build()
    _, _, e32, tdt32, _, rn32, _, _ = run_model(m32, samples, torch.float32)
    enc = e["layers"][-1]
    enc_err = float((e32["layers"][-1].double() - enc).abs().max() / enc.abs().max())
    beams, beams32 = run_beams(model, e), run_beams(m32, e32)

    raw = {}

    def put(name, t):
        a = np.ascontiguousarray(np.asarray(t, dtype=np.float32))
        raw[name] = a
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(a.astype("<f4").tobytes())

    put("pk-mini.fb.f32", model.preprocessor.featurizer.fb.float().numpy())
    put("pk-mini.window.f32", model.preprocessor.featurizer.window.float().numpy())
    put("pk-mini.features.f32", feats.numpy())
    put("pk-mini.pre_encode.f32", e["pre"].numpy())
    for i, x in enumerate(e["layers"]):
        put(f"pk-mini.layer{i}.f32", x.numpy())

    # predictor on a fixed prefix and joint logits at a few (t, u)
    prefix = [13, 2, 27, 9]
    with torch.no_grad():
        gs, st = [], None
        g, st = pred_step(model, None, None)
        gs.append(g)
        for tok in prefix:
            g, st = pred_step(model, tok, st)
            gs.append(g)
        ts = [0, 1, e["n_valid"] // 2, e["n_valid"] - 1]
        joints = [[joint(model, enc[t], gs[u]) for u in range(len(gs))] for t in ts]

    lines = []
    sha = hashlib.sha256(open(wav, "rb").read()).hexdigest()
    src = f"pk-mini (hash weights, seed {seed})" if model_path is None else os.path.basename(model_path)
    lines.append(f"# parakeet_ref.py golden for {src} on the first {seconds:g} s of "
                 f"{os.path.basename(wav)} (sha256 {sha})")
    lines.append("# regenerate: /usr/bin/python3 tests/reference/parakeet_ref.py --goldens tests/data/parakeet")
    lines.append("# format: KEY COUNT VALUE... ; floats %.9g of float32 values; computed in float64 "
                 "(the encoder on the float32-rounded features)")

    def kv(key, vals, fmt=str):
        vals = list(vals)
        lines.append(f"{key} {len(vals)} " + " ".join(fmt(v) for v in vals) if vals else f"{key} 0")

    kv("seed", [seed])
    kv("hparams", [c["n_mels"], c["d_model"], c["n_heads"], c["n_layers"], c["d_model"] * c["ff_mult"],
                   c["conv_kernel"], c["sub_factor"], c["sub_channels"], c["pred_hidden"], c["pred_layers"],
                   c["joint_hidden"], c["vocab"], c["max_symbols"]])
    lines.append("# hparams order: n_mels d_model n_heads n_layers ff_dim conv_kernel subsampling_factor "
                 "subsampling_channels pred_hidden pred_layers joint_hidden n_vocab max_symbols")
    kv("durations", c["durations"])
    kv("n_samples", [len(pcm)])
    kv("feat.valid_frames", [L])
    lines.append("# raw little-endian f32 files beside this one: name, then shape (row-major)")
    for name, a in raw.items():
        kv("file." + name, list(a.shape))
    kv("enc.n_valid", [e["n_valid"]])
    for name, a in raw.items():
        a64 = a.astype(np.float64)
        kv("sum." + name, [float(a64.sum()), float((a64 * a64).sum()), float(np.abs(a64).max())],
           lambda v: "%.17g" % v)
    lines.append("# sum.FILE = sum, sum of squares, max |x| (float64 over the float32 values)")
    kv("pred.prefix", prefix)
    lines.append("# pred.g<u>: predictor output after u tokens of pred.prefix (u = 0: SOS, zero input)")
    for u, g in enumerate(gs):
        kv(f"pred.g{u}", g.numpy(), f9)
    kv("joint.t", ts)
    lines.append("# joint.t<t>.u<u>: raw joint output [V+1+D] for encoder row t and predictor output pred.g<u>")
    for i, t in enumerate(ts):
        for u in range(len(gs)):
            kv(f"joint.t{t}.u{u}", joints[i][u].numpy(), f9)
    lines.append("# tdt.*: greedy TDT as NeMo's default strategy greedy_batch (label looping); tokens, frames, durations;"
                 " tdt.single_same: 1 if strategy greedy (GreedyTDTInfer._greedy_decode) gives the same path")
    kv("tdt.tokens", [h[0] for h in tdt])
    kv("tdt.frames", [h[1] for h in tdt])
    kv("tdt.durations", [h[2] for h in tdt])
    kv("tdt.min_gaps", tdt_gaps, lambda v: "%.9g" % v)
    kv("tdt.single_same", [int(tdt_single == tdt)])
    lines.append("# tdt.min_gaps: smallest top1-top2 gap of the token logits and of the duration log-probs "
                 "along the path")
    lines.append("# rnnt.*: GreedyRNNTInfer on pk-mini-rnnt (same weights, joint_net.2 = the first V+1 rows)")
    kv("rnnt.tokens", [h[0] for h in rn])
    kv("rnnt.frames", [h[1] for h in rn])
    kv("rnnt.min_gap", [rn_gap], lambda v: "%.9g" % v)
    lines.append(f"# beam.*: modified beam search (models/parakeet-gguf.md, beam_search()) with beam {BEAM}: tdt on pk-mini,"
                 " rnnt on pk-mini-rnnt; tokens, frames, durations (tdt), p = softmax probability of each token,"
                 " score = total log-probability (merged by log-add), min_gap = smallest score gap between the last kept"
                 " and the first dropped candidate over the rounds, differs_greedy = 1 if the tokens differ from greedy;"
                 " beam1.*: the same search with beam 1 (tdt: equal to greedy)")
    kv("beam.size", [BEAM])
    for name, is_tdt, greedy in (("tdt", True, [h[0] for h in tdt]), ("rnnt", False, [h[0] for h in rn])):
        seq, score, gap, _ = beams[(is_tdt, BEAM)]
        kv(f"beam.{name}.tokens", [h[0] for h in seq])
        kv(f"beam.{name}.frames", [h[1] for h in seq])
        if is_tdt:
            kv(f"beam.{name}.durations", [h[2] for h in seq])
        kv(f"beam.{name}.p", [h[3] for h in seq], f9)
        kv(f"beam.{name}.score", [score], lambda v: "%.17g" % v)
        kv(f"beam.{name}.min_gap", [gap], lambda v: "%.9g" % v)
        kv(f"beam.{name}.differs_greedy", [int([h[0] for h in seq] != greedy)])
        seq1, score1, _, _ = beams[(is_tdt, 1)]
        kv(f"beam1.{name}.tokens", [h[0] for h in seq1])
        kv(f"beam1.{name}.frames", [h[1] for h in seq1])
        kv(f"beam1.{name}.score", [score1], lambda v: "%.17g" % v)
    beam_same = all([h[:3] for h in beams[k][0]] == [h[:3] for h in beams32[k][0]] for k in beams)
    kv("check.float32_same_beams", [int(beam_same)])
    if model_path is None:
        lines.append("# wcrc.<tensor>: zlib crc32 of the tensor's float32 little-endian bytes (PyTorch row-major) in the"
                     " hash model: a C generator of pk-mini checks its weights bit-exactly against these")
        for n, t in Parakeet(CONFIGS["pk-mini"]).init_hash(seed).state_dict().items():
            if t.is_floating_point():
                kv("wcrc." + n, [zlib.crc32(t.numpy().astype("<f4").tobytes()) & 0xFFFFFFFF])
    same = (tdt32 == tdt) and (rn32 == rn)
    kv("check.float32_same_tokens", [int(same)])
    kv("check.float32_enc_rel_err", [enc_err], lambda v: "%.3g" % v)
    pieces = vocabulary(c["vocab"])
    lines.append("# text: " + "".join(pieces[h[0]] for h in tdt).replace("▁", " ").strip())
    with open(os.path.join(outdir, "pk-mini.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(outdir, n)) for n in os.listdir(outdir))
    print(f"goldens in {outdir}: {total} bytes; T={feats.shape[1]} frames, L={L}, enc {tuple(enc.shape)} "
          f"valid {e['n_valid']}; tdt {len(tdt)} tokens, rnnt {len(rn)} tokens; gaps {tdt_gaps} {rn_gap}; "
          f"float32 same tokens: {same}, enc rel err {enc_err:.2e}")
    if not same:
        raise SystemExit("float32 and float64 disagree on the greedy tokens: goldens would be fragile")
    if not beam_same:
        raise SystemExit("float32 and float64 disagree on the beam-search tokens: goldens would be fragile")
    if [h[:3] for h in beams[(True, 1)][0]] != tdt:
        raise SystemExit("TDT beam search with beam 1 is not greedy TDT")


# ---- self test: the torch model against loop-level numpy ---------------------------------------------
def np_layer(sd, pfx, x, T, n_valid, c):
    """Loop-level numpy float64 conformer layer (independent of the torch code paths above)."""
    W = lambda n: sd[pfx + n].double().numpy()  # noqa: E731
    d, H = c["d_model"], c["n_heads"]
    dk = d // H

    def ln(v, n):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + LN_EPS) * W(n + ".weight") + W(n + ".bias")

    def ffn(v, n):
        y = v @ W(n + ".linear1.weight").T
        y = y / (1 + np.exp(-y)) * 1.0
        return y @ W(n + ".linear2.weight").T

    res = x + 0.5 * ffn(ln(x, "norm_feed_forward1"), "feed_forward1")
    h = ln(res, "norm_self_att")
    q = h @ W("self_attn.linear_q.weight").T
    k = h @ W("self_attn.linear_k.weight").T
    v = h @ W("self_attn.linear_v.weight").T
    u, vb = W("self_attn.pos_bias_u"), W("self_attn.pos_bias_v")
    out = np.zeros((T, d))
    for hh in range(H):
        sl = slice(hh * dk, (hh + 1) * dk)
        for i in range(n_valid):
            s = np.full(T, -np.inf)
            for j in range(n_valid):
                rel = i - j
                pe = np.zeros(d)
                w = np.exp(np.arange(0, d, 2) * -(math.log(10000.0) / d))
                pe[0::2], pe[1::2] = np.sin(rel * w), np.cos(rel * w)
                p = (pe @ W("self_attn.linear_pos.weight").T)[sl]
                s[j] = ((q[i, sl] + u[hh]) @ k[j, sl] + (q[i, sl] + vb[hh]) @ p) / math.sqrt(dk)
            a = np.exp(s - s.max())
            a /= a.sum()
            out[i, sl] = a @ v[:, sl]
    res = res + out @ W("self_attn.linear_out.weight").T
    h = ln(res, "norm_conv")
    y = h @ W("conv.pointwise_conv1.weight")[:, :, 0].T
    y = y[:, :d] * (1 / (1 + np.exp(-y[:, d:])))
    y[n_valid:] = 0
    K = c["conv_kernel"]
    dw = W("conv.depthwise_conv.weight")[:, 0, :]
    z = np.zeros((T, d))
    for t in range(T):
        for kk in range(K):
            s = t + kk - (K - 1) // 2
            if 0 <= s < T:
                z[t] += dw[:, kk] * y[s]
    z = (z - W("conv.batch_norm.running_mean")) / np.sqrt(W("conv.batch_norm.running_var") + BN_EPS) \
        * W("conv.batch_norm.weight") + W("conv.batch_norm.bias")
    z = z / (1 + np.exp(-z))
    res = res + z @ W("conv.pointwise_conv2.weight")[:, :, 0].T
    res = res + 0.5 * ffn(ln(res, "norm_feed_forward2"), "feed_forward2")
    return ln(res, "norm_out")


@torch.no_grad()
def self_test(wav):
    c = CONFIGS["pk-mini"]
    m = Parakeet(c).init_hash(0).double()
    sd = m.state_dict()
    # hash: first values are stable (documented algorithm) and exact in float32
    a = hash_values("encoder.layers.0.self_attn.linear_q.weight", (4,), 0, 0.0, 3)
    print("hash linear_q[0:4] =", a.tolist())
    assert all(abs(v) <= 0.125 for v in a)
    assert sd["decoder.prediction.embed.weight"][c["vocab"]].abs().sum() == 0
    # mel filter bank: rows sum like librosa's slaney filters, window symmetric
    fb = m.preprocessor.featurizer.fb[0].numpy()
    wt = m.preprocessor.featurizer.window.numpy()
    assert fb.shape == (80, 257) and (fb >= 0).all() and (fb.sum(1) > 0).all()
    assert np.abs(wt - np.hanning(WIN)).max() < 1e-6      # numpy's hanning is the symmetric window
    pcm = read_wav(wav)[: 96 * HOP + 37]               # L = 96, a multiple of 8: one padding row after subsampling
    x = pcm.astype(np.float64) / 32768.0
    feats, L = features(m, x)
    # features vs numpy: explicit framing and rfft
    y = np.concatenate([x[:1], x[1:] - PREEMPH * x[:-1]])
    yp = np.concatenate([np.zeros(N_FFT // 2), y, np.zeros(N_FFT // 2)])
    win = np.zeros(N_FFT)
    win[(N_FFT - WIN) // 2:(N_FFT - WIN) // 2 + WIN] = wt        # the stored float32 window, centred
    nfr = 1 + len(x) // HOP
    P = np.stack([np.abs(np.fft.rfft(yp[t * HOP:t * HOP + N_FFT] * win)) ** 2 for t in range(nfr)], 1)
    mel = np.log(fb.astype(np.float64) @ P + LOG_GUARD)
    mu = mel[:, :L].mean(1)
    sdv = mel[:, :L].std(1, ddof=1) + NORM_EPS
    ref = (mel - mu[:, None]) / sdv[:, None]
    ref[:, L:] = 0
    err = np.abs(ref - feats.numpy()).max()
    print(f"features vs numpy: max abs err {err:.2e} ({ref.shape})")
    assert err < 1e-9
    e = encode(m, feats, L)
    # subsampling vs explicit numpy convolutions (masked), then each layer vs np_layer
    T = feats.shape[1]
    xx = feats.numpy().T[None]          # (1, T, F)
    cur = L
    convs = [k for k in sd if k.startswith("encoder.pre_encode.conv.") and k.endswith(".weight")]
    for k in convs:
        idx = int(k.split(".")[3])
        w, b = sd[k].numpy(), sd[k[:-6] + "bias"].numpy()
        xx = xx.copy()
        xx[:, cur:] = 0
        if w.shape[2] == 1:             # pointwise
            xx = np.einsum("oc,ctf->otf", w[:, :, 0, 0], xx) + b[:, None, None]
        else:
            cin, t_in, f_in = xx.shape
            t_out, f_out = conv_len(t_in), conv_len(f_in)
            pad = np.zeros((cin, t_in + 2, f_in + 2))
            pad[:, 1:-1, 1:-1] = xx
            out = np.zeros((w.shape[0], t_out, f_out))
            for o in range(w.shape[0]):
                ins = [o] if w.shape[1] == 1 and cin > 1 else range(cin)
                for ci in ins:
                    for a_ in range(3):
                        for b_ in range(3):
                            out[o] += w[o, 0 if w.shape[1] == 1 else ci, a_, b_] * \
                                pad[ci, a_:a_ + 2 * t_out:2, b_:b_ + 2 * f_out:2]
            xx = out + b[:, None, None]
            cur = conv_len(cur)
        if idx + 1 in (1, 4, 7):
            xx[:, cur:] = 0
            xx = np.maximum(xx, 0)
    xx[:, cur:] = 0
    pre = np.einsum("ctf->tcf", xx).reshape(xx.shape[1], -1) @ sd["encoder.pre_encode.out.weight"].numpy().T \
        + sd["encoder.pre_encode.out.bias"].numpy()
    err = np.abs(pre - e["pre"].numpy()).max()
    print(f"subsampling vs numpy: max abs err {err:.2e}, T8 {pre.shape[0]} valid {cur} (T={T}, L={L})")
    assert err < 1e-9 and cur == e["n_valid"] and pre.shape[0] == cur + 1
    h = pre * math.sqrt(c["d_model"])
    for i in range(c["n_layers"]):
        h = np_layer(sd, f"encoder.layers.{i}.", h, h.shape[0], cur, c)
        err = np.abs(h[:cur] - e["layers"][i].numpy()[:cur]).max()
        print(f"layer {i} vs numpy: max abs err {err:.2e}")
        assert err < 1e-9
    # predictor vs explicit LSTM equations
    lw = {k.split(".")[-1]: v.numpy() for k, v in sd.items() if ".lstm." in k}
    hs, cs = np.zeros(c["pred_hidden"]), np.zeros(c["pred_hidden"])
    emb = sd["decoder.prediction.embed.weight"].numpy()
    with torch.no_grad():
        g, st = pred_step(m, None, None)
        for tok in [None, 5, 17]:
            inp = np.zeros(c["pred_hidden"]) if tok is None else emb[tok]
            z = lw["weight_ih_l0"] @ inp + lw["bias_ih_l0"] + lw["weight_hh_l0"] @ hs + lw["bias_hh_l0"]
            i_, f_, g_, o_ = np.split(z, 4)
            sg = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
            cs = sg(f_) * cs + sg(i_) * np.tanh(g_)
            hs = sg(o_) * np.tanh(cs)
            if tok is not None:
                g, st = pred_step(m, tok, st)
            err = np.abs(hs - g.numpy()).max()
            assert err < 1e-12, err
        jl = joint(m, e["layers"][-1][0], g).numpy()
        f = e["layers"][-1][0].numpy()
        jr = np.maximum(sd["joint.enc.weight"].numpy() @ f + sd["joint.enc.bias"].numpy()
                        + sd["joint.pred.weight"].numpy() @ hs + sd["joint.pred.bias"].numpy(), 0)
        jr = sd["joint.joint_net.2.weight"].numpy() @ jr + sd["joint.joint_net.2.bias"].numpy()
        assert np.abs(jl - jr).max() < 1e-12
    print("predictor and joint vs numpy: ok")
    # TDT greedy rules on scripted joint outputs (pred_step/joint replaced; V = 32, durations 0..4, max_symbols 10)

    real = (globals()["joint"], globals()["pred_step"])

    def scripted(seq, n_frames, rule):
        it = iter(seq)

        def fake_joint(_m, _f, _g):
            k, d = next(it)
            v = torch.zeros(33 + 5, dtype=torch.float64)
            v[k], v[33 + d] = 1.0, 1.0
            return v
        globals()["joint"], globals()["pred_step"] = fake_joint, (lambda _m, _k, _s: (None, None))
        try:
            return [(h[0], h[1]) for h in greedy_tdt(m, [None] * n_frames, n_frames, rule)[0]]
        finally:
            globals()["joint"], globals()["pred_step"] = real
    # 9 labels with d 0, the 10th with d 2 at frame 0, then a label at the next frame visited
    seq = [(1, 0)] * 9 + [(2, 2)] + [(3, 1)] * 5
    assert scripted(seq, 4, "batch") == [(1, 0)] * 9 + [(2, 0), (3, 2), (3, 3)]
    assert scripted(seq, 4, "single") == [(1, 0)] * 9 + [(2, 0), (3, 3)]
    # blank with duration 0 advances one frame; 10 labels with d 0 force the next frame
    seq = [(32, 0), (5, 0)] + [(6, 0)] * 9 + [(7, 1), (32, 4)]
    want = [(5, 1)] + [(6, 1)] * 9 + [(7, 2)]
    assert scripted(seq, 5, "batch") == want
    # (strategy greedy re-evaluates the blank/d 0 frame until max_symbols steps: the same result 10 times)
    assert scripted([(32, 0)] * 9 + seq, 5, "single") == want
    print("greedy TDT rules (scripted): ok")
    print("self-test passed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-nemo", metavar="OUT")
    ap.add_argument("--config", default="pk-mini", choices=sorted(CONFIGS))
    ap.add_argument("--seed", type=int, default=None, help=f"default 0 (--goldens: {GOLDEN_SEED})")
    ap.add_argument("--check-nemo", metavar="FILE")
    ap.add_argument("--check-gguf", metavar="FILE", help="a converted file equals the hash model of --seed")
    ap.add_argument("--goldens", metavar="DIR")
    ap.add_argument("--model", metavar="FILE.gguf", help="--goldens from a Parakeet GGUF instead of the hash model")
    ap.add_argument("--wav", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "jfk.wav"))
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    did = False
    if a.write_nemo:
        write_nemo(a.write_nemo, a.config, a.seed or 0)
        print(f"{a.write_nemo}: {a.config} seed {a.seed or 0}, {os.path.getsize(a.write_nemo)} bytes")
        did = True
    if a.check_nemo:
        check_nemo(a.check_nemo, a.seed)
        did = True
    if a.check_gguf:
        check_gguf(a.check_gguf, a.seed or 0)
        did = True
    if a.goldens:
        write_goldens(a.goldens, a.wav, seed=GOLDEN_SEED if a.seed is None else a.seed, model_path=a.model)
        did = True
    if a.self_test:
        self_test(a.wav)
        did = True
    if not did:
        ap.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
