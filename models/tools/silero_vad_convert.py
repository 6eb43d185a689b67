#!/usr/bin/python3
"""silero_vad_convert.py - Silero VAD v5 (ONNX) -> GGUF for models/silero_vad.c.

    /usr/bin/python3 models/tools/silero_vad_convert.py SILERO_VAD_V5.onnx -o models/silero-vad-v5.gguf

Reads the weights of the 16 kHz branch (the then-branch of the top-level If on sr == 16000) of
Silero VAD v5 with Debian's python3-onnx (no onnxruntime) and writes them, unchanged, as F32
tensors of a GGUF v3 file (alignment 64) under the PyTorch module's names; the shapes stay as
ONNX has them (GGUF lists dims in reverse, ne0 = the last numpy axis).  The graph's structure is
checked against what the C model implements (STFT conv 256/128 with reflect pad 64 on the right,
four conv1d k3 with strides 1, 2, 2, 1, LSTM cell 128, ReLU + 1x1 conv + sigmoid) so a different
export fails here instead of giving wrong probabilities.  The file is deterministic: the same
ONNX gives the same bytes.  Per-tensor CRC-32 (zlib) go to edgestt.crc32 as edgestt_convert
writes them.
"""
import argparse
import hashlib
import struct
import sys
import zlib

import numpy as np
import onnx
from onnx import numpy_helper

ALIGN = 64
# tensor name -> shape the C model expects (numpy order)
TENSORS = [
    ("stft.forward_basis_buffer", (258, 1, 256)),
    ("encoder.0.reparam_conv.weight", (128, 129, 3)),
    ("encoder.0.reparam_conv.bias", (128,)),
    ("encoder.1.reparam_conv.weight", (64, 128, 3)),
    ("encoder.1.reparam_conv.bias", (64,)),
    ("encoder.2.reparam_conv.weight", (64, 64, 3)),
    ("encoder.2.reparam_conv.bias", (64,)),
    ("encoder.3.reparam_conv.weight", (128, 64, 3)),
    ("encoder.3.reparam_conv.bias", (128,)),
    ("decoder.rnn.weight_ih", (512, 128)),
    ("decoder.rnn.weight_hh", (512, 128)),
    ("decoder.rnn.bias_ih", (512,)),
    ("decoder.rnn.bias_hh", (512,)),
    ("decoder.decoder.2.weight", (1, 128, 1)),
    ("decoder.decoder.2.bias", (1,)),
]
CONV_STRIDES = {"encoder.0": 1, "encoder.1": 2, "encoder.2": 2, "encoder.3": 1}


def branch_16k(model):
    """The then-branch graph of the top-level If whose condition is sr == 16000."""
    g = model.graph
    consts = {}
    for n in g.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    for n in g.node:
        if n.op_type != "If":
            continue
        cond = [m for m in g.node if n.input[0] in m.output][0]
        if cond.op_type != "Equal" or "sr" not in cond.input:
            continue
        other = [i for i in cond.input if i != "sr"][0]
        if int(consts[other]) != 16000:
            raise SystemExit("the top-level If does not test sr == 16000")
        return [a.g for a in n.attribute if a.name == "then_branch"][0]
    raise SystemExit("no If on sr == 16000: not a Silero VAD v5 export")


def short(name):
    """Strip the inliner's prefix: 'If_0_then_branch__Inline_0__encoder.0...' -> 'encoder.0...'."""
    return name.split("__Inline_0__")[-1]


def attr(node, name):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return None


def read_weights(path):
    model = onnx.load(path)
    br = branch_16k(model)
    weights, nodes = {}, list(br.node)
    for n in nodes:
        if n.op_type == "Constant" and short(n.output[0]) in dict(TENSORS):
            weights[short(n.output[0])] = numpy_helper.to_array(n.attribute[0].t)
    for init in br.initializer:
        if short(init.name) in dict(TENSORS):
            weights[short(init.name)] = numpy_helper.to_array(init)
    for name, shape in TENSORS:
        if name not in weights:
            raise SystemExit(f"tensor {name} missing from the 16 kHz branch")
        w = weights[name]
        if w.dtype != np.float32 or tuple(w.shape) != shape:
            raise SystemExit(f"tensor {name}: {w.dtype} {w.shape}, expected float32 {shape}")
    # the structure the C model implements
    convs = {short(n.name).split("/")[1] + "." + short(n.name).split("/")[2]: n
             for n in nodes if n.op_type == "Conv" and short(n.name).startswith("/encoder/")}
    for key, stride in CONV_STRIDES.items():
        n = convs.get(key)
        if n is None or attr(n, "strides") != [stride] or attr(n, "pads") != [1, 1] or attr(n, "kernel_shape") != [3]:
            raise SystemExit(f"{key}: not a k3 pad-1 stride-{stride} conv")
    stft = [n for n in nodes if n.op_type == "Conv" and short(n.name) == "/stft/Conv"]
    if len(stft) != 1 or attr(stft[0], "strides") != [128] or attr(stft[0], "kernel_shape") != [256]:
        raise SystemExit("stft: not a conv of kernel 256, stride 128")
    pad = [n for n in nodes if n.op_type == "Pad"]
    if len(pad) != 1 or attr(pad[0], "mode") != b"reflect":
        raise SystemExit("stft: not one reflect pad")
    pads = [n for n in nodes if short(n.output[0]) == "/stft/padding/Constant_1_output_0"]
    if len(pads) != 1 or numpy_helper.to_array(pads[0].attribute[0].t).tolist() != [0, 64]:
        raise SystemExit("stft: reflect pad is not (0, 64)")
    ops = {n.op_type for n in nodes}
    for op in ("Sqrt", "Relu", "Sigmoid", "ReduceMean"):
        if op not in ops:
            raise SystemExit(f"16 kHz branch has no {op}")
    return weights


# ---- GGUF v3 writer ---------------------------------------------------------------------------
def gstr(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv_str(k, v):
    return gstr(k) + struct.pack("<I", 8) + gstr(v)


def kv_u32(k, v):
    return gstr(k) + struct.pack("<II", 4, v)


def kv_u32_array(k, vals):
    return gstr(k) + struct.pack("<IIQ", 9, 4, len(vals)) + struct.pack(f"<{len(vals)}I", *vals)


def write_gguf(out, weights, source_sha):
    datas = [np.ascontiguousarray(weights[n], dtype="<f4").tobytes() for n, _ in TENSORS]
    kvs = [
        kv_str("general.architecture", "silero-vad"),
        kv_str("general.name", "Silero VAD v5 (16 kHz)"),
        kv_u32("general.alignment", ALIGN),
        kv_u32("general.file_type", 0),
        kv_str("general.license", "MIT"),
        kv_str("general.source.url", "https://github.com/snakers4/silero-vad"),
        kv_str("silero-vad.source.sha256", source_sha),
        kv_u32("silero-vad.version", 5),
        kv_u32("silero-vad.sample_rate", 16000),
        kv_u32("silero-vad.window", 512),
        kv_u32("silero-vad.context", 64),
        kv_u32("silero-vad.n_fft", 256),
        kv_u32("silero-vad.hop", 128),
        kv_u32("silero-vad.n_hidden", 128),
        kv_u32_array("edgestt.crc32", [zlib.crc32(d) & 0xFFFFFFFF for d in datas]),
    ]
    infos, off = [], 0
    for (name, shape), d in zip(TENSORS, datas):
        ne = list(reversed(shape))
        infos.append(gstr(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
                     + struct.pack("<IQ", 0, off))
        off += (len(d) + ALIGN - 1) // ALIGN * ALIGN
    head = b"GGUF" + struct.pack("<IQQ", 3, len(TENSORS), len(kvs)) + b"".join(kvs) + b"".join(infos)
    head += b"\0" * (-len(head) % ALIGN)
    body = b"".join(d + b"\0" * (-len(d) % ALIGN) for d in datas)
    with open(out, "wb") as f:
        f.write(head + body)
    return len(head) + len(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("onnx", help="silero_vad_v5.onnx (MIT, snakers4/silero-vad)")
    ap.add_argument("-o", "--out", required=True, help="output .gguf")
    a = ap.parse_args()
    sha = hashlib.sha256(open(a.onnx, "rb").read()).hexdigest()
    w = read_weights(a.onnx)
    n = write_gguf(a.out, w, sha)
    print(f"{a.out}: {len(TENSORS)} tensors, {n} bytes (source sha256 {sha[:12]}...)")


if __name__ == "__main__":
    sys.exit(main())
