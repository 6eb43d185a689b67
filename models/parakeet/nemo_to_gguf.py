#!/usr/bin/python3
"""nemo_to_gguf.py - NVIDIA NeMo Parakeet .nemo archive (FastConformer + RNN-T / TDT) -> GGUF for edge-stt.

    /usr/bin/python3 models/parakeet/nemo_to_gguf.py MODEL.nemo -o MODEL.gguf [--type f32|f16|q8_0|q4_0]

Reads `model_config.yaml`, `model_weights.ckpt` and the SentencePiece tokenizer from the archive (Debian's
python3-torch + python3-yaml; nothing of NeMo is imported) and writes the schema of models/parakeet-gguf.md:
`general.architecture = parakeet`, `parakeet.*` hyper-parameters, the vocabulary as `tokenizer.ggml.*`, NeMo's
tensors under their state-dict names, F32 (with --type f16 / q8_0 / q4_0 the matrices listed in the doc take that
type; quantized ones are written 2-D [n][k], with ggml's Q8_0 / Q4_0 rounding as kernels/quant_ref.c; a matrix
whose rows are not whole 32-blocks goes F16), batch norm kept
as NeMo's four tensors, per-tensor CRC-32 in `edgestt.crc32`.  Everything is checked against the config (names,
shapes, dtypes, finite values, supported options); a bad archive ends with one line `nemo_to_gguf: error: ...`
and exit status 1.  The output is deterministic: the same archive gives the same bytes.
"""
import argparse
import io
import math
import os
import struct
import sys
import tarfile
import zlib

import numpy as np

ALIGN = 64
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8
TYPES = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0, "q4_0": GGML_Q4_0}
FILE_TYPE = {GGML_F32: 0, GGML_F16: 1, GGML_Q4_0: 2, GGML_Q8_0: 7}   # general.file_type (ggml's LLAMA_FTYPE)
QK = 32
T_U32, T_I32, T_F32, T_STR, T_ARR = 4, 5, 6, 8, 9


class ConvertError(Exception):
    pass


def fail(msg):
    raise ConvertError(msg)


# ---- archive -----------------------------------------------------------------------------------
def read_archive(path):
    """{basename: bytes} of the regular files of a .nemo tar (any compression tarfile detects)."""
    try:
        files = {}
        with tarfile.open(path, "r:*") as tar:
            for m in tar.getmembers():
                if m.isfile():
                    name = os.path.basename(m.name)
                    if name in files:
                        fail(f"{path}: member {name} appears twice")
                    files[name] = tar.extractfile(m).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        why = " ".join(str(e).split()) or type(e).__name__
        if "could not be opened successfully" in why:
            why = "neither a tar nor a gzip/bzip2/xz-compressed tar"
        fail(f"{path}: not a readable .nemo (tar) archive: {why}")
    for need in ("model_config.yaml", "model_weights.ckpt"):
        if need not in files:
            fail(f"{path}: archive has no {need}")
    return files


def load_config(data):
    import yaml
    try:
        cfg = yaml.safe_load(data)
    except yaml.YAMLError as e:
        fail(f"model_config.yaml: not valid YAML: {str(e).splitlines()[0]}")
    if isinstance(cfg, dict) and "encoder" not in cfg and isinstance(cfg.get("model"), dict):
        cfg = cfg["model"]
    if not isinstance(cfg, dict):
        fail("model_config.yaml: not a mapping")
    return cfg


def load_weights(data):
    import torch
    try:
        try:
            sd = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except TypeError:            # torch without weights_only
            sd = torch.load(io.BytesIO(data), map_location="cpu")
    except Exception as e:  # noqa: BLE001  (pickle/zip errors of many kinds)
        fail(f"model_weights.ckpt: cannot be loaded: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        fail("model_weights.ckpt: not a state dict of tensors")
    return sd


# ---- config -> hyper-parameters ----------------------------------------------------------------
def get(d, path, default=KeyError):
    cur = d
    for k in path.split("."):
        if not isinstance(cur, dict) or k not in cur:
            if default is KeyError:
                fail(f"model_config.yaml: {path} is missing")
            return default
        cur = cur[k]
    return cur


def as_int(v, path, lo=1, hi=1 << 20):
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        fail(f"model_config.yaml: {path} = {v!r} (expected an integer in {lo}..{hi})")
    return v


def hparams(cfg):
    pre, enc = get(cfg, "preprocessor"), get(cfg, "encoder")
    sr = as_int(get(pre, "sample_rate", get(cfg, "sample_rate", 16000)), "preprocessor.sample_rate", 1, 10 ** 6)
    if sr != 16000:
        fail(f"preprocessor.sample_rate = {sr}: only 16000 is supported")
    for key, want in (("normalize", "per_feature"), ("window", "hann"), ("log", True), ("frame_splicing", 1),
                      ("log_zero_guard_type", "add"), ("mag_power", 2.0), ("exact_pad", False)):
        v = pre.get(key, want)
        if v != want:
            fail(f"preprocessor.{key} = {v!r}: only {want!r} is supported")
    n_fft = as_int(pre.get("n_fft", 512), "preprocessor.n_fft", 1, 1 << 16)
    win = round(float(pre.get("window_size", 0.02)) * sr)
    hop = round(float(pre.get("window_stride", 0.01)) * sr)
    if n_fft != 512 or win != 400 or hop != 160:
        fail(f"preprocessor: n_fft {n_fft}, window {win}, hop {hop}: only 512/400/160 is supported")
    preemph = pre.get("preemph", 0.97)
    preemph = 0.0 if preemph is None else float(preemph)
    guard = pre.get("log_zero_guard_value", 2.0 ** -24)
    if not isinstance(guard, (int, float)):
        fail(f"preprocessor.log_zero_guard_value = {guard!r}: only a number is supported")
    n_mels = as_int(pre.get("features", pre.get("nfilt", 64)), "preprocessor.features", 1, 512)
    if as_int(enc.get("feat_in", n_mels), "encoder.feat_in", 1, 512) != n_mels:
        fail(f"encoder.feat_in {enc.get('feat_in')} != preprocessor.features {n_mels}")

    for key, want in (("subsampling", "dw_striding"), ("self_attention_model", "rel_pos"),
                      ("conv_norm_type", "batch_norm"), ("causal_downsampling", False), ("reduction", None),
                      ("feat_out", -1), ("att_context_style", "regular")):
        v = enc.get(key, want)
        if v != want:
            fail(f"encoder.{key} = {v!r}: only {want!r} is supported")
    acs = enc.get("att_context_size", [-1, -1])
    if list(acs) != [-1, -1]:
        fail(f"encoder.att_context_size = {acs!r}: only [-1, -1] (full context) is supported")
    d = as_int(get(cfg, "encoder.d_model"), "encoder.d_model", 1, 65536)
    n_heads = as_int(get(cfg, "encoder.n_heads"), "encoder.n_heads", 1, 1024)
    if d % n_heads:
        fail(f"encoder.n_heads {n_heads} does not divide d_model {d}")
    ffm = get(cfg, "encoder.ff_expansion_factor")
    if not isinstance(ffm, int) or ffm < 1:
        fail(f"encoder.ff_expansion_factor = {ffm!r}")
    k = as_int(get(cfg, "encoder.conv_kernel_size"), "encoder.conv_kernel_size", 1, 1023)
    if k % 2 == 0:
        fail(f"encoder.conv_kernel_size = {k}: must be odd")
    if enc.get("conv_context_size") not in (None, [(k - 1) // 2, (k - 1) // 2]):
        fail(f"encoder.conv_context_size = {enc.get('conv_context_size')!r}: only symmetric is supported")
    factor = as_int(get(cfg, "encoder.subsampling_factor"), "encoder.subsampling_factor", 2, 1 << 10)
    if factor & (factor - 1):
        fail(f"encoder.subsampling_factor = {factor}: must be a power of 2")
    ch = enc.get("subsampling_conv_channels", -1)
    ch = d if ch == -1 else as_int(ch, "encoder.subsampling_conv_channels", 1, 65536)

    dec, jn = get(cfg, "decoder"), get(cfg, "joint")
    if not dec.get("blank_as_pad", True):
        fail("decoder.blank_as_pad = false is not supported")
    if dec.get("normalization_mode") is not None:
        fail(f"decoder.normalization_mode = {dec.get('normalization_mode')!r}: only null is supported")
    V = as_int(get(cfg, "decoder.vocab_size"), "decoder.vocab_size", 1, 1 << 20)
    if "num_classes" in jn and jn["num_classes"] != V:
        fail(f"joint.num_classes {jn['num_classes']} != decoder.vocab_size {V}")
    durs = get(cfg, "model_defaults.tdt_durations", None)
    if durs is None:
        durs = get(cfg, "decoding.durations", None)
    if durs is None:
        durs = get(cfg, "loss.tdt_kwargs.durations", None)
    durs = list(durs or [])
    if any(isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= 1000 for x in durs):
        fail(f"durations {durs!r}: expected small non-negative integers")
    extra = jn.get("num_extra_outputs", len(durs)) or 0
    if extra != len(durs):
        fail(f"joint.num_extra_outputs {extra} != number of durations {len(durs)}")
    act = get(cfg, "joint.jointnet.activation", "relu")
    if act not in ("relu", "tanh", "sigmoid"):
        fail(f"joint.jointnet.activation = {act!r}")
    max_symbols = get(cfg, "decoding.greedy.max_symbols", None)
    max_symbols = 10 if max_symbols is None else as_int(max_symbols, "decoding.greedy.max_symbols", 1, 1000)
    return dict(
        n_mels=n_mels, preemph=preemph, log_zero_guard=float(guard), n_fft=n_fft, win=win, hop=hop,
        d=d, n_layers=as_int(get(cfg, "encoder.n_layers"), "encoder.n_layers", 1, 1024), n_heads=n_heads, ff=d * ffm,
        kernel=k, factor=factor, ch=ch, xscaling=bool(enc.get("xscaling", True)),
        use_bias=bool(enc.get("use_bias", True)), V=V,
        P=as_int(get(cfg, "decoder.prednet.pred_hidden"), "decoder.prednet.pred_hidden", 1, 65536),
        pred_layers=as_int(get(cfg, "decoder.prednet.pred_rnn_layers", 1), "decoder.prednet.pred_rnn_layers", 1, 64),
        J=as_int(get(cfg, "joint.jointnet.joint_hidden"), "joint.jointnet.joint_hidden", 1, 65536),
        activation=act, durations=durs, max_symbols=max_symbols)


def expected_tensors(h):
    """[(name, shape)] NeMo's state dict must hold (minus num_batches_tracked and the computed front end)."""
    d, F, K, C, M, V, P, J = h["d"], h["ff"], h["kernel"], h["ch"], h["n_mels"], h["V"], h["P"], h["J"]
    stages = int(math.log2(h["factor"]))
    f8 = M
    for _ in range(stages):
        f8 = (f8 - 1) // 2 + 1
    out = [("encoder.pre_encode.conv.0.weight", (C, 1, 3, 3)), ("encoder.pre_encode.conv.0.bias", (C,))]
    for s in range(stages - 1):
        i = 2 + 3 * s
        out += [(f"encoder.pre_encode.conv.{i}.weight", (C, 1, 3, 3)), (f"encoder.pre_encode.conv.{i}.bias", (C,)),
                (f"encoder.pre_encode.conv.{i + 1}.weight", (C, C, 1, 1)),
                (f"encoder.pre_encode.conv.{i + 1}.bias", (C,))]
    out += [("encoder.pre_encode.out.weight", (d, C * f8)), ("encoder.pre_encode.out.bias", (d,))]
    b = h["use_bias"]
    for n in range(h["n_layers"]):
        p = f"encoder.layers.{n}."

        def lin(name, o, i):
            return [(p + name + ".weight", (o, i))] + ([(p + name + ".bias", (o,))] if b else [])

        def norm(name):
            return [(p + name + ".weight", (d,)), (p + name + ".bias", (d,))]
        out += norm("norm_feed_forward1") + lin("feed_forward1.linear1", F, d) + lin("feed_forward1.linear2", d, F)
        out += norm("norm_self_att")
        for x in "qkv":
            out += lin(f"self_attn.linear_{x}", d, d)
        out += lin("self_attn.linear_out", d, d) + [(p + "self_attn.linear_pos.weight", (d, d)),
                                                     (p + "self_attn.pos_bias_u", (h["n_heads"], d // h["n_heads"])),
                                                     (p + "self_attn.pos_bias_v", (h["n_heads"], d // h["n_heads"]))]
        out += norm("norm_conv") + [(p + "conv.pointwise_conv1.weight", (2 * d, d, 1))] \
            + ([(p + "conv.pointwise_conv1.bias", (2 * d,))] if b else []) \
            + [(p + "conv.depthwise_conv.weight", (d, 1, K))] + ([(p + "conv.depthwise_conv.bias", (d,))] if b else []) \
            + [(p + f"conv.batch_norm.{x}", (d,)) for x in ("weight", "bias", "running_mean", "running_var")] \
            + [(p + "conv.pointwise_conv2.weight", (d, d, 1))] + ([(p + "conv.pointwise_conv2.bias", (d,))] if b else [])
        out += norm("norm_feed_forward2") + lin("feed_forward2.linear1", F, d) + lin("feed_forward2.linear2", d, F)
        out += norm("norm_out")
    out.append(("decoder.prediction.embed.weight", (V + 1, P)))
    for L in range(h["pred_layers"]):
        q = "decoder.prediction.dec_rnn.lstm."
        out += [(q + f"weight_ih_l{L}", (4 * P, P)), (q + f"weight_hh_l{L}", (4 * P, P)),
                (q + f"bias_ih_l{L}", (4 * P,)), (q + f"bias_hh_l{L}", (4 * P,))]
    D = len(h["durations"])
    out += [("joint.enc.weight", (J, d)), ("joint.enc.bias", (J,)), ("joint.pred.weight", (J, P)),
            ("joint.pred.bias", (J,)), ("joint.joint_net.2.weight", (V + 1 + D, J)),
            ("joint.joint_net.2.bias", (V + 1 + D,))]
    return out


# ---- computed front-end tensors (when an archive lacks them) ------------------------------------
def slaney_mel(n_mels, sr=16000, n_fft=512):
    """librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False, norm='slaney'), float32."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0

    def hz_to_mel(f):
        return f / f_sp if f < min_log_hz else min_log_mel + math.log(f / min_log_hz) / logstep

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)
    fft = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff, ramps = np.diff(mel_f), np.subtract.outer(mel_f, fft)
    w = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        w[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w


def hann_symmetric(n):
    import torch
    return torch.hann_window(n, periodic=False, dtype=torch.float32).numpy()


# ---- tokenizer -----------------------------------------------------------------------------------
def _varint(b, i):
    v, shift = 0, 0
    while True:
        if i >= len(b) or shift > 63:
            fail("tokenizer.model: truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def _fields(b):
    """Iterate (field, wire, value) of a protobuf message (value: int, or bytes for wire 2, float bits for 5)."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = _varint(b, i)
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        elif w == 2:
            n, i = _varint(b, i)
            if i + n > len(b):
                fail("tokenizer.model: field runs past the end")
            v, i = b[i:i + n], i + n
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        else:
            fail(f"tokenizer.model: unsupported wire type {w}")
        if i > len(b):
            fail("tokenizer.model: truncated")
        yield f, w, v


def spm_pieces(data):
    """SentencePiece ModelProto -> [(piece, score, type)] (type: SentencePiece's enum, NORMAL = 1)."""
    out = []
    for f, w, v in _fields(data):
        if f == 1 and w == 2:
            piece, score, typ = None, 0.0, 1
            for f2, w2, v2 in _fields(v):
                if f2 == 1 and w2 == 2:
                    piece = v2.decode("utf-8")
                elif f2 == 2 and w2 == 5:
                    score = struct.unpack("<f", v2)[0]
                elif f2 == 3 and w2 == 0:
                    typ = v2
            if piece is None:
                fail("tokenizer.model: a piece without text")
            out.append((piece, score, typ))
    return out


def tokenizer(files, cfg, V):
    models = sorted(n for n in files if n.endswith("tokenizer.model"))
    vocabs = sorted(n for n in files if n.endswith("tokenizer.vocab"))
    if models:
        pieces = spm_pieces(files[models[0]])
        src = models[0]
    elif vocabs:
        pieces = []
        for line in files[vocabs[0]].decode("utf-8").splitlines():
            p, _, s = line.partition("\t")
            pieces.append((p, float(s) if s else 0.0, 2 if p == "<unk>" else 1))
        src = vocabs[0]
    else:
        voc = get(cfg, "joint.vocabulary", None) or cfg.get("labels")
        if not voc:
            fail("archive has no tokenizer (*tokenizer.model, *tokenizer.vocab) and the config no joint.vocabulary")
        pieces = [(str(p), 0.0, 2 if p == "<unk>" else 1) for p in voc]
        src = "joint.vocabulary"
    if len(pieces) != V:
        fail(f"{src}: {len(pieces)} pieces, but decoder.vocab_size is {V}")
    return pieces, src


# ---- GGUF writer --------------------------------------------------------------------------------
def gstr(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, typ, val):
    if typ == T_STR:
        return gstr(key) + struct.pack("<I", T_STR) + gstr(val)
    if typ == T_U32:
        return gstr(key) + struct.pack("<II", T_U32, val)
    if typ == T_F32:
        return gstr(key) + struct.pack("<If", T_F32, val)
    raise AssertionError(typ)


def kv_arr(key, elem, vals):
    head = gstr(key) + struct.pack("<IIQ", T_ARR, elem, len(vals))
    if elem == T_STR:
        return head + b"".join(gstr(v) for v in vals)
    fmt = {T_U32: "I", T_I32: "i", T_F32: "f"}[elem]
    return head + struct.pack(f"<{len(vals)}{fmt}", *vals)


def f16_policy(name, shape):
    """models/parakeet-gguf.md: the matrices (linear, pointwise conv, LSTM, embedding) go F16 with --f16."""
    if name.startswith("preprocessor.") or not (name.endswith("weight") or ".lstm.weight_" in name) or len(shape) < 2:
        return False
    if ".norm_" in name or ".batch_norm." in name or "depthwise_conv" in name:
        return False
    if name.startswith("encoder.pre_encode.conv.") and shape[-1] != 1:
        return False              # 3x3 convs
    return True


def _roundf(v):
    """C roundf (half away from zero) of float32 values, exactly (|v| + 0.5 is exact in float64)."""
    v = v.astype(np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def quantize_q8_0(a):
    """Rows of a (float32 [n][k], k % 32 == 0) -> ggml Q8_0 bytes: per block f16 d = amax / 127, int8 roundf(x / d)."""
    x = a.reshape(-1, QK).astype(np.float32)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127.0)).astype(np.float32)
    inv = np.zeros_like(d)
    nz = d != 0
    inv[nz] = (np.float32(1.0) / d[nz]).astype(np.float32)
    q = _roundf((x * inv[:, None]).astype(np.float32)).astype(np.int8)
    out = np.zeros(len(x), dtype=[("d", "<f2"), ("qs", "i1", (QK,))])
    out["d"], out["qs"] = d.astype("<f2"), q
    return out.tobytes()


def quantize_q4_0(a):
    """Rows of a -> ggml Q4_0 bytes: d = (value of largest magnitude) / -8, q = min(15, (int8)(x / d + 8.5)),
    low nibbles the block's first 16 values, high nibbles the last 16."""
    x = a.reshape(-1, QK).astype(np.float32)
    mx = x[np.arange(len(x)), np.abs(x).argmax(axis=1)]       # first of the largest magnitudes, signed
    d = (mx / np.float32(-8.0)).astype(np.float32)
    inv = np.zeros_like(d)
    nz = d != 0
    inv[nz] = (np.float32(1.0) / d[nz]).astype(np.float32)
    v = ((x * inv[:, None]).astype(np.float32) + np.float32(8.5)).astype(np.float32)
    q = np.minimum(np.trunc(v).astype(np.int32), 15).astype(np.uint8)
    out = np.zeros(len(x), dtype=[("d", "<f2"), ("qs", "u1", (QK // 2,))])
    out["d"], out["qs"] = d.astype("<f2"), q[:, :QK // 2] | (q[:, QK // 2:] << 4)
    return out.tobytes()


def convert(src, out, use_f16=False, name=None, log=print, wtype=None):
    import torch
    if wtype is None:
        wtype = GGML_F16 if use_f16 else GGML_F32
    files = read_archive(src)
    cfg = load_config(files["model_config.yaml"])
    h = hparams(cfg)
    sd = load_weights(files["model_weights.ckpt"])
    pieces, tok_src = tokenizer(files, cfg, h["V"])

    # joint_net.1 (jointnet.dropout 0) is written as joint_net.2
    if "joint.joint_net.1.weight" in sd and "joint.joint_net.2.weight" not in sd:
        sd = {(k.replace("joint.joint_net.1.", "joint.joint_net.2.") if k.startswith("joint.joint_net.1.") else k): v
              for k, v in sd.items()}
    want = expected_tensors(h)
    want_names = {n for n, _ in want}
    fb_name, win_name = "preprocessor.featurizer.fb", "preprocessor.featurizer.window"
    tensors, skipped = {}, []
    for n, t in sd.items():
        if n in want_names or n in (fb_name, win_name):
            tensors[n] = t
        elif n.endswith("num_batches_tracked"):
            continue
        elif n.split(".")[0] in ("encoder", "decoder", "joint", "preprocessor"):
            fail(f"model_weights.ckpt: unexpected tensor {n} {tuple(t.shape)} for this config "
                 f"(use_bias {int(h['use_bias'])})")
        else:
            skipped.append(n)
    for n, shape in want:
        if n not in tensors:
            fail(f"model_weights.ckpt: tensor {n} is missing")
        t = tensors[n]
        if tuple(t.shape) != shape:
            fail(f"model_weights.ckpt: tensor {n} has shape {tuple(t.shape)}, expected {shape}")
    M = h["n_mels"]
    if fb_name in tensors:
        if tuple(tensors[fb_name].shape) not in ((1, M, h["n_fft"] // 2 + 1), (M, h["n_fft"] // 2 + 1)):
            fail(f"model_weights.ckpt: tensor {fb_name} has shape {tuple(tensors[fb_name].shape)}")
        fb = tensors[fb_name].reshape(1, M, h["n_fft"] // 2 + 1)
    else:
        log(f"note: {fb_name} not in the archive; computed (Slaney, librosa-compatible)")
        fb = torch.from_numpy(slaney_mel(M)).unsqueeze(0)
    if win_name in tensors:
        if tuple(tensors[win_name].shape) != (h["win"],):
            fail(f"model_weights.ckpt: tensor {win_name} has shape {tuple(tensors[win_name].shape)}")
        win = tensors[win_name]
    else:
        log(f"note: {win_name} not in the archive; computed (hann, periodic=False)")
        win = torch.from_numpy(hann_symmetric(h["win"]))

    order = [fb_name, win_name] + [n for n in sd if n in want_names]
    srcs = {fb_name: fb, win_name: win}
    srcs.update({n: tensors[n] for n in want_names})
    blobs = []
    for n in order:
        t = srcs[n]
        if not t.is_floating_point():
            fail(f"model_weights.ckpt: tensor {n} has dtype {t.dtype}, expected a float type")
        a = t.detach().to(torch.float32).contiguous().numpy()
        if not np.isfinite(a).all():
            fail(f"model_weights.ckpt: tensor {n} has NaN or Inf values")
        typ = wtype if wtype != GGML_F32 and f16_policy(n, a.shape) else GGML_F32
        ne = tuple(reversed(a.shape)) if a.ndim else (1,)
        if typ in (GGML_Q8_0, GGML_Q4_0):
            k = a.size // a.shape[0]
            if k % QK:
                typ = GGML_F16          # rows that are not whole blocks
            else:
                rows = a.reshape(a.shape[0], k)
                data = quantize_q8_0(rows) if typ == GGML_Q8_0 else quantize_q4_0(rows)
                blobs.append((n, (k, a.shape[0]), typ, data))
                continue
        if typ == GGML_F16:
            h16 = a.astype("<f2")
            if not np.isfinite(h16).all():
                fail(f"tensor {n} overflows F16")
            data = h16.tobytes()
        else:
            data = a.astype("<f4").tobytes()
        blobs.append((n, ne, typ, data))

    tdt = len(h["durations"]) > 0
    kvs = [kv("general.architecture", T_STR, "parakeet"),
           kv("general.name", T_STR, name or os.path.splitext(os.path.basename(src))[0]),
           kv("general.alignment", T_U32, ALIGN),
           kv("general.file_type", T_U32, FILE_TYPE[wtype]),
           kv("parakeet.model_type", T_STR, "tdt" if tdt else "rnnt"),
           kv("parakeet.sample_rate", T_U32, 16000),
           kv("parakeet.n_mels", T_U32, M),
           kv("parakeet.n_fft", T_U32, h["n_fft"]),
           kv("parakeet.win_length", T_U32, h["win"]),
           kv("parakeet.hop_length", T_U32, h["hop"]),
           kv("parakeet.preemph", T_F32, h["preemph"]),
           kv("parakeet.log_zero_guard", T_F32, h["log_zero_guard"]),
           kv("parakeet.mag_power", T_F32, 2.0),
           kv("parakeet.normalize", T_STR, "per_feature"),
           kv("parakeet.d_model", T_U32, h["d"]),
           kv("parakeet.n_layers", T_U32, h["n_layers"]),
           kv("parakeet.n_heads", T_U32, h["n_heads"]),
           kv("parakeet.ff_dim", T_U32, h["ff"]),
           kv("parakeet.conv_kernel", T_U32, h["kernel"]),
           kv("parakeet.subsampling_factor", T_U32, h["factor"]),
           kv("parakeet.subsampling_channels", T_U32, h["ch"]),
           kv("parakeet.xscaling", T_U32, int(h["xscaling"])),
           kv("parakeet.use_bias", T_U32, int(h["use_bias"])),
           kv("parakeet.layer_norm_eps", T_F32, 1e-5),
           kv("parakeet.batch_norm_eps", T_F32, 1e-5),
           kv("parakeet.n_vocab", T_U32, h["V"]),
           kv("parakeet.blank_id", T_U32, h["V"]),
           kv("parakeet.pred_hidden", T_U32, h["P"]),
           kv("parakeet.pred_layers", T_U32, h["pred_layers"]),
           kv("parakeet.joint_hidden", T_U32, h["J"]),
           kv("parakeet.joint_activation", T_STR, h["activation"])]
    if tdt:
        kvs.append(kv_arr("parakeet.durations", T_U32, h["durations"]))
    kvs += [kv("parakeet.max_symbols", T_U32, h["max_symbols"]),
            kv("tokenizer.ggml.model", T_STR, "sentencepiece"),
            kv_arr("tokenizer.ggml.tokens", T_STR, [p for p, _, _ in pieces]),
            kv_arr("tokenizer.ggml.scores", T_F32, [s for _, s, _ in pieces]),
            kv_arr("tokenizer.ggml.token_type", T_I32, [t for _, _, t in pieces])]
    unk = [i for i, (p, _, t) in enumerate(pieces) if t == 2]
    if unk:
        kvs.append(kv("tokenizer.ggml.unknown_token_id", T_U32, unk[0]))
    kvs.append(kv_arr("edgestt.crc32", T_U32, [zlib.crc32(d) & 0xFFFFFFFF for _, _, _, d in blobs]))

    infos, off = [], 0
    for n, ne, typ, data in blobs:
        infos.append(gstr(n) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
                     + struct.pack("<IQ", typ, off))
        off += (len(data) + ALIGN - 1) // ALIGN * ALIGN
    head = b"GGUF" + struct.pack("<IQQ", 3, len(blobs), len(kvs)) + b"".join(kvs) + b"".join(infos)
    head += b"\0" * (-len(head) % ALIGN)
    tmp = out + ".part"
    with open(tmp, "wb") as f:
        f.write(head)
        for _, _, _, data in blobs:
            f.write(data + b"\0" * (-len(data) % ALIGN))
    os.replace(tmp, out)
    size = os.path.getsize(out)
    log(f"{out}: parakeet {'tdt' if tdt else 'rnnt'} d {h['d']} x {h['n_layers']} layers, {M} mels, vocab {h['V']}"
        f", {len(blobs)} tensors ({[k for k, v in TYPES.items() if v == wtype][0].upper()} matrices), {size} bytes;"
        f" tokenizer from {tok_src}"
        + (f"; skipped {len(skipped)} tensors not used by the transducer ({skipped[0]}, ...)" if skipped else ""))
    return size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("nemo", help="input .nemo archive")
    ap.add_argument("-o", "--out", required=True, help="output .gguf")
    ap.add_argument("--type", choices=sorted(TYPES), default=None,
                    help="type of the matrices (linear, pointwise conv, LSTM, embedding); default f32")
    ap.add_argument("--f16", action="store_true", help="the same as --type f16")
    ap.add_argument("--name", help="general.name (default: the archive's base name)")
    a = ap.parse_args()
    try:
        wt = TYPES[a.type] if a.type else (GGML_F16 if a.f16 else GGML_F32)
        convert(a.nemo, a.out, name=a.name, wtype=wt)
    except ConvertError as e:
        print(f"nemo_to_gguf: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
