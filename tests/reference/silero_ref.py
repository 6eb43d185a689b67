#!/usr/bin/python3
"""silero_ref.py - Silero VAD v5 (16 kHz) re-implemented in NumPy from the ONNX weights; goldens.

    /usr/bin/python3 tests/reference/silero_ref.py --check           # re-implementation vs the ONNX graph
    /usr/bin/python3 tests/reference/silero_ref.py --make-synth      # writes tests/data/vad_pauses.wav
    /usr/bin/python3 tests/reference/silero_ref.py --out tests/data/golden   # vad_jfk.txt, vad_pauses.txt

Debian has no onnxruntime, so two independent evaluations are compared:
  * SileroRef: the network written out by hand (float64): the 64-sample context of the previous
    window + the 512 new samples, reflect pad 64 on the right, STFT as a conv (basis 258 x 256,
    hop 128) -> magnitude (129 x 4), four conv1d k3 pad 1 (strides 1, 2, 2, 1) + ReLU, the
    LSTM cell (hidden 128, PyTorch gate order i, f, g, o; state carried), ReLU, 1x1 conv, sigmoid.
  * OnnxInterp: a tiny NumPy interpreter that executes the ONNX graph itself (the then-branch of
    the top-level If on sr == 16000, nested Ifs included) node by node in float32.
--check runs both on jfk.wav and on noise and prints the largest difference (~1e-6).

Segments: speech_timestamps() is Silero's get_speech_timestamps() (utils_vad.py) with
max_speech_duration_s = inf (or a finite max_speech_ms, Silero v5's split rule): threshold 0.5, neg_threshold = max(threshold - 0.15, 0.01), min
speech 250 ms, min silence 100 ms, speech pad 30 ms; windows of 512 samples, the last zero-padded,
the model state reset at the start.

Golden format (read by tests/test_vad.c): lines "KEY COUNT VALUE...", '#' comments.
  n_samples 1 N | probs W p0..  (%.9g of the float64 value) | segments 2S start0 end0 ..  (samples)
  truth 2T start0 end0 .. (vad_pauses only: the utterances' non-silent extents, samples)
vad_maxspeech.txt: get_speech_timestamps with max_speech_duration_s finite, per case NAME (see
  MAXSPEECH_CASES): params_NAME 3 min_silence_ms max_speech_ms wav (0 jfk, 1 vad_pauses) |
  segments_NAME 2S .. | cuts_NAME 2 soft hard (how many cuts of each kind)
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ONNX_DEFAULT = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "silero_vad_v5.onnx"))
WINDOW, CONTEXT = 512, 64
SR = 16000


# ---- the ONNX file ---------------------------------------------------------------------------
def branch_16k(path):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in m.graph.node if n.op_type == "Constant"}
    for n in m.graph.node:
        if n.op_type == "If":
            cond = [c for c in m.graph.node if n.input[0] in c.output][0]
            other = [i for i in cond.input if i != "sr"][0]
            assert cond.op_type == "Equal" and int(consts[other]) == 16000
            return [a.g for a in n.attribute if a.name == "then_branch"][0]
    raise SystemExit("no 16 kHz branch")


def load_weights(path):
    """Every Constant tensor of the 16 kHz branch under its PyTorch name, float32."""
    from onnx import numpy_helper
    w = {}
    for n in branch_16k(path).node:
        if n.op_type == "Constant":
            name = n.output[0].split("__Inline_0__")[-1]
            if "." in name and not name.startswith("/"):
                w[name] = numpy_helper.to_array(n.attribute[0].t).astype(np.float32)
    return w


# ---- the re-implementation -------------------------------------------------------------------
def conv1d(x, w, b, stride):
    """x (cin, L), w (cout, cin, 3), pad 1 each side -> (cout, (L - 1) // stride + 1)."""
    xp = np.pad(x, ((0, 0), (1, 1)))
    n = (x.shape[1] + 2 - 3) // stride + 1
    cols = np.stack([xp[:, t * stride:t * stride + 3] for t in range(n)], axis=0)  # (n, cin, 3)
    return np.einsum("oik,nik->on", w, cols) + b[:, None]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class SileroRef:
    def __init__(self, weights, dtype=np.float64):
        self.w = {k: v.astype(dtype) for k, v in weights.items()}
        self.dtype = dtype
        self.reset()

    def reset(self):
        self.h = np.zeros(128, self.dtype)
        self.c = np.zeros(128, self.dtype)
        self.context = np.zeros(CONTEXT, self.dtype)

    def __call__(self, chunk):
        w = self.w
        x = np.concatenate([self.context, np.asarray(chunk, self.dtype)])  # (576,)
        self.context = x[-CONTEXT:]
        xp = np.pad(x, (0, 64), mode="reflect")  # (640,)
        frames = np.stack([xp[t * 128:t * 128 + 256] for t in range(4)], axis=1)  # (256, 4)
        spec = w["stft.forward_basis_buffer"][:, 0, :] @ frames  # (258, 4)
        y = np.sqrt(spec[:129] ** 2 + spec[129:] ** 2)  # (129, 4)
        for i, s in enumerate((1, 2, 2, 1)):
            y = np.maximum(conv1d(y, w[f"encoder.{i}.reparam_conv.weight"], w[f"encoder.{i}.reparam_conv.bias"], s), 0)
        xin = y[:, 0]  # (128,) after the length 4 -> 4 -> 2 -> 1 -> 1
        g = w["decoder.rnn.weight_ih"] @ xin + w["decoder.rnn.bias_ih"] + w["decoder.rnn.weight_hh"] @ self.h + w["decoder.rnn.bias_hh"]
        i, f, gg, o = g[:128], g[128:256], g[256:384], g[384:]
        self.c = sigmoid(f) * self.c + sigmoid(i) * np.tanh(gg)
        self.h = sigmoid(o) * np.tanh(self.c)
        z = w["decoder.decoder.2.weight"][0, :, 0] @ np.maximum(self.h, 0) + w["decoder.decoder.2.bias"][0]
        return float(sigmoid(z))


def probs_of(model, audio):
    model.reset()
    out = []
    for s in range(0, len(audio), WINDOW):
        ch = audio[s:s + WINDOW]
        if len(ch) < WINDOW:
            ch = np.pad(ch, (0, WINDOW - len(ch)))
        out.append(model(ch))
    return out


# ---- a tiny interpreter of the ONNX graph (for --check only) ---------------------------------
class OnnxInterp:
    def __init__(self, path):
        self.g = branch_16k(path)

    def run(self, x576, state):
        env = {"input": x576.astype(np.float32)[None, :], "state": state.astype(np.float32),
               "sr": np.array(16000, np.int64)}
        self._graph(self.g, env)
        outs = [o.name for o in self.g.output]
        return env[outs[0]], env[outs[1]]

    def _graph(self, g, env):
        import onnx
        from onnx import numpy_helper
        for n in g.node:
            a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
            ins = [env[i] if i else None for i in n.input]
            op = n.op_type
            if op == "Constant":
                r = [numpy_helper.to_array(a["value"])]
            elif op == "If":
                br = a["then_branch"] if bool(np.asarray(ins[0]).reshape(-1)[0]) else a["else_branch"]
                self._graph(br, env)
                r = [env[o.name] for o in br.output]
            elif op == "Identity":
                r = [ins[0]]
            elif op == "Equal":
                r = [np.equal(ins[0], ins[1])]
            elif op == "Not":
                r = [np.logical_not(ins[0])]
            elif op == "Shape":
                r = [np.array(ins[0].shape, np.int64)]
            elif op == "Size":
                r = [np.array(ins[0].size, np.int64)]
            elif op == "Gather":
                r = [np.take(ins[0], ins[1], axis=a.get("axis", 0))]
            elif op == "Cast":
                to = {1: np.float32, 7: np.int64, 9: np.bool_}[a["to"]]
                r = [np.asarray(ins[0]).astype(to)]
            elif op == "ConstantOfShape":
                v = numpy_helper.to_array(a["value"])
                r = [np.full(tuple(ins[0]), v.reshape(-1)[0], v.dtype)]
            elif op == "Concat":
                r = [np.concatenate(ins, axis=a["axis"])]
            elif op == "Reshape":
                r = [np.reshape(ins[0], tuple(int(v) for v in ins[1]))]
            elif op == "Transpose":
                r = [np.transpose(ins[0], a["perm"])]
            elif op == "Unsqueeze":
                y = ins[0]
                for ax in sorted(int(v) % (np.ndim(y) + len(ins[1])) for v in ins[1]):
                    y = np.expand_dims(y, ax)
                r = [y]
            elif op == "Squeeze":
                r = [np.squeeze(ins[0], axis=tuple(int(v) for v in ins[1]))]
            elif op == "Slice":
                y = ins[0]
                axes = ins[3] if len(ins) > 3 and ins[3] is not None else range(len(ins[1]))
                steps = ins[4] if len(ins) > 4 and ins[4] is not None else [1] * len(ins[1])
                sl = [slice(None)] * y.ndim
                for st, en, ax, sp in zip(ins[1], ins[2], axes, steps):
                    ax, st, en, sp = int(ax) % y.ndim, int(st), int(en), int(sp)
                    dim = y.shape[ax]
                    st = max(st + dim, 0) if st < 0 else min(st, dim - (sp < 0))
                    if en < 0:
                        en = en + dim
                        if en < 0:
                            en = None if sp < 0 else 0
                    else:
                        en = min(en, dim)
                    sl[ax] = slice(st, en, sp)
                r = [y[tuple(sl)]]
            elif op == "Pad":
                p = [int(v) for v in ins[1]]
                k = len(p) // 2
                mode = a.get("mode", b"constant").decode()
                r = [np.pad(ins[0], [(p[i], p[i + k]) for i in range(k)], mode=mode)]
            elif op == "Conv":
                r = [self._conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)]
            elif op == "Relu":
                r = [np.maximum(ins[0], 0).astype(np.float32)]
            elif op == "Sigmoid":
                r = [(1 / (1 + np.exp(-ins[0]))).astype(np.float32)]
            elif op == "Sqrt":
                r = [np.sqrt(ins[0])]
            elif op == "Pow":
                r = [np.power(ins[0], ins[1]).astype(np.float32)]
            elif op == "Add":
                r = [ins[0] + ins[1]]
            elif op == "ReduceMean":
                r = [np.mean(ins[0], axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1))).astype(np.float32)]
            elif op == "LSTM":
                r = self._lstm(ins, a)
            else:
                raise SystemExit(f"interpreter: op {op} not implemented")
            for name, val in zip(n.output, r):
                if name:
                    env[name] = val

    @staticmethod
    def _conv(x, w, b, a):
        """ONNX Conv, 1-D, group 1: x (N, C, L), w (O, C, K)."""
        s, (p0, p1) = a.get("strides", [1])[0], a.get("pads", [0, 0])
        xp = np.pad(x, ((0, 0), (0, 0), (p0, p1)))
        k = w.shape[2]
        n = (xp.shape[2] - k) // s + 1
        cols = np.stack([xp[:, :, t * s:t * s + k] for t in range(n)], axis=1)  # (N, n, C, K)
        y = np.einsum("ock,ntck->not", w, cols).astype(np.float32)
        return y + b[None, :, None] if b is not None else y

    @staticmethod
    def _lstm(ins, a):
        """ONNX LSTM, forward, gate order i, o, f, c; X (T, N, I), W (1, 4H, I), B (1, 8H)."""
        x, W, R, B = ins[0], ins[1][0], ins[2][0], ins[3][0]
        h, c = ins[5][0], ins[6][0]
        H = a["hidden_size"]
        ys = []
        for t in range(x.shape[0]):
            g = x[t] @ W.T + h @ R.T + B[:4 * H] + B[4 * H:]
            i, o, f, cc = (g[:, k * H:(k + 1) * H] for k in range(4))
            sg = lambda v: 1 / (1 + np.exp(-v))
            c = sg(f) * c + sg(i) * np.tanh(cc)
            h = sg(o) * np.tanh(c)
            ys.append(h)
        return [np.stack(ys)[:, None].astype(np.float32), h[None].astype(np.float32), c[None].astype(np.float32)]


def onnx_probs(interp, audio):
    state = np.zeros((2, 1, 128), np.float32)
    ctx = np.zeros(CONTEXT, np.float32)
    out = []
    for s in range(0, len(audio), WINDOW):
        ch = audio[s:s + WINDOW].astype(np.float32)
        if len(ch) < WINDOW:
            ch = np.pad(ch, (0, WINDOW - len(ch)))
        x = np.concatenate([ctx, ch])
        p, state = interp.run(x, state)
        ctx = x[-CONTEXT:]
        out.append(float(np.asarray(p).reshape(-1)[0]))
    return out


# ---- segments: get_speech_timestamps ---------------------------------------------------------
def speech_timestamps(probs, n_samples, threshold=0.5, neg_threshold=None, min_speech_ms=250,
                      min_silence_ms=100, speech_pad_ms=30, max_speech_ms=0, cuts=None):
    """max_speech_ms 0 = max_speech_duration_s inf.  Otherwise Silero v5's rule: once a segment is
    longer than max_speech - window - 2 pad it ends at its last silence longer than 98 ms (speech
    that resumed after that silence goes on as a new segment), or, without one, at this window.
    cuts (a list) gets "soft" / "hard" per cut."""
    min_speech = SR * min_speech_ms / 1000
    pad = SR * speech_pad_ms / 1000
    min_silence = SR * min_silence_ms / 1000
    max_speech = SR * max_speech_ms / 1000 - WINDOW - 2 * pad if max_speech_ms else float("inf")
    min_silence_at_max = SR * 98 / 1000
    if neg_threshold is None:
        neg_threshold = max(threshold - 0.15, 0.01)
    triggered, speeches, cur, temp_end = False, [], {}, 0
    prev_end = next_start = 0
    for i, p in enumerate(probs):
        if p >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = WINDOW * i
        if p >= threshold and not triggered:
            triggered = True
            cur["start"] = WINDOW * i
            continue
        if triggered and WINDOW * i - cur["start"] > max_speech:
            if prev_end:
                cur["end"] = prev_end
                speeches.append(cur)
                cur = {}
                if next_start < prev_end:  # still silent since prev_end
                    triggered = False
                else:
                    cur["start"] = next_start
                prev_end = next_start = temp_end = 0
                if cuts is not None:
                    cuts.append("soft")
            else:
                cur["end"] = WINDOW * i
                speeches.append(cur)
                cur = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                if cuts is not None:
                    cuts.append("hard")
                continue
        if p < neg_threshold and triggered:
            if not temp_end:
                temp_end = WINDOW * i
            if WINDOW * i - temp_end > min_silence_at_max:
                prev_end = temp_end
            if WINDOW * i - temp_end < min_silence:
                continue
            cur["end"] = temp_end
            if cur["end"] - cur["start"] > min_speech:
                speeches.append(cur)
            cur, temp_end, triggered = {}, 0, False
            prev_end = next_start = 0
    if cur and n_samples - cur["start"] > min_speech:
        cur["end"] = n_samples
        speeches.append(cur)
    for i, sp in enumerate(speeches):
        if i == 0:
            sp["start"] = int(max(0, sp["start"] - pad))
        if i != len(speeches) - 1:
            sil = speeches[i + 1]["start"] - sp["end"]
            if sil < 2 * pad:
                sp["end"] += int(sil // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - sil // 2))
            else:
                sp["end"] = int(min(n_samples, sp["end"] + pad))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - pad))
        else:
            sp["end"] = int(min(n_samples, sp["end"] + pad))
    return [(s["start"], s["end"]) for s in speeches]


# ---- audio -----------------------------------------------------------------------------------
def read_wav(path):
    with wave.open(path, "rb") as f:
        assert f.getframerate() == SR and f.getnchannels() == 1 and f.getsampwidth() == 2, path
        return np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float64) / 32768.0


def write_wav(path, pcm16):
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SR)
        f.writeframes(pcm16.astype("<i2").tobytes())


# Utterances and the silence before each (seconds); the last number is the trailing silence.
SYNTH = [
    (0.62, "Please open the main door."),
    (1.00, "Turn on the lights in the kitchen."),
    (0.45, "Where can I find the nearest library."),
    (2.00, "We are looking for a new room."),
]
SYNTH_TAIL = 0.80
SYNTH_TEXT = " | ".join(t for _, t in SYNTH)


def extent(x, thresh=0.02):
    """First and one-past-last sample whose |x| exceeds thresh (of full scale)."""
    idx = np.nonzero(np.abs(x) > thresh)[0]
    return int(idx[0]), int(idx[-1]) + 1


def make_synth(out_wav):
    """espeak-ng utterances (voice en-us, 150 wpm, 16 kHz) with known pauses and a faint
    noise floor (-60 dBFS, seed 7); returns the truth extents in samples."""
    rng = np.random.default_rng(7)
    parts, truth, pos = [], [], 0
    with tempfile.TemporaryDirectory() as td:
        for k, (gap, text) in enumerate(SYNTH):
            raw = os.path.join(td, f"{k}.wav")
            tmp = os.path.join(td, f"{k}r.wav")
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", tmp, text], check=True)
            subprocess.run(["sox", tmp, "-r", "16000", "-c", "1", "-b", "16", raw], check=True)
            x = read_wav(raw)
            x = np.round(x * (0.5 / max(1e-9, np.max(np.abs(x)))) * 32767) / 32767
            a, b = extent(x)
            x = x[a:b]
            parts.append(np.zeros(int(gap * SR)))
            pos += int(gap * SR)
            truth.append((pos, pos + len(x)))
            parts.append(x)
            pos += len(x)
    parts.append(np.zeros(int(SYNTH_TAIL * SR)))
    y = np.concatenate(parts)
    y = y + rng.normal(0, 0.001, len(y))
    write_wav(out_wav, np.clip(np.round(y * 32768), -32768, 32767))
    return truth


def truth_of(wav_path):
    """Re-derive the truth of the committed synth WAV: the runs of |x| > 0.01 separated by more
    than 0.4 s (the shortest pause is 0.45 s; --make-synth checks this gives the known truth)."""
    x = read_wav(wav_path)
    loud = np.abs(x) > 0.01  # utterances were trimmed at 0.02, the noise floor is 0.001 rms
    idx = np.nonzero(loud)[0]
    runs, start, last = [], int(idx[0]), int(idx[0])
    for i in idx[1:]:
        if i - last > 0.4 * SR:
            runs.append((start, last + 1))
            start = int(i)
        last = int(i)
    runs.append((start, last + 1))
    return runs


# ---- goldens ---------------------------------------------------------------------------------
def golden(path, name, probs, segs, n, truth=None, note=""):
    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
    with open(name, "w") as f:
        f.write(f"# silero_ref.py golden: Silero VAD v5 (16 kHz) on {os.path.relpath(path, ROOT)} (sha256 {sha})\n")
        f.write("# regenerate: /usr/bin/python3 tests/reference/silero_ref.py --out tests/data/golden\n")
        f.write("# probs: per 512-sample window, state reset at the start, last window zero-padded, float64 "
                "evaluation (%.9g); segments: get_speech_timestamps defaults (samples)\n")
        if note:
            f.write(f"# {note}\n")
        f.write(f"n_samples 1 {n}\n")
        f.write(f"probs {len(probs)} " + " ".join(f"{p:.9g}" for p in probs) + "\n")
        f.write(f"segments {2 * len(segs)} " + " ".join(f"{a} {b}" for a, b in segs) + "\n")
        if truth is not None:
            f.write(f"truth {2 * len(truth)} " + " ".join(f"{a} {b}" for a, b in truth) + "\n")


# (name, wav index, min_silence_ms, max_speech_ms): hard cuts with the default min silence (a
# silence > 98 ms ends the segment first), splits at silences with the streaming endpoint 600 ms.
MAXSPEECH_CASES = [
    ("jfk_1500", 0, 100, 1500),
    ("jfk_sil600_3000", 0, 600, 3000),
    ("pauses_sil600_3000", 1, 600, 3000),
    ("pauses_sil600_2000", 1, 600, 2000),
]


def maxspeech_golden(ref, wavs, name):
    with open(name, "w") as f:
        f.write("# silero_ref.py golden: get_speech_timestamps with a finite max_speech_duration_s (Silero v5 rule)\n")
        f.write("# regenerate: /usr/bin/python3 tests/reference/silero_ref.py --out tests/data/golden\n")
        f.write("# wavs: " + " ".join(os.path.relpath(w, ROOT) for w in wavs) + "; other params: defaults\n")
        probs = []
        for w in wavs:
            x = read_wav(w)
            probs.append((probs_of(ref, x), len(x)))
        for case, k, sil, mx in MAXSPEECH_CASES:
            cuts = []
            p, n = probs[k]
            segs = speech_timestamps(p, n, min_silence_ms=sil, max_speech_ms=mx, cuts=cuts)
            f.write(f"params_{case} 3 {sil} {mx} {k}\n")
            f.write(f"segments_{case} {2 * len(segs)} " + " ".join(f"{a} {b}" for a, b in segs) + "\n")
            f.write(f"cuts_{case} 2 {cuts.count('soft')} {cuts.count('hard')}\n")
            print(f"vad_maxspeech {case}: segments {segs}, cuts {cuts}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", default=ONNX_DEFAULT)
    ap.add_argument("--check", action="store_true", help="compare with the ONNX graph interpreter")
    ap.add_argument("--make-synth", action="store_true", help="write tests/data/vad_pauses.wav (espeak-ng, sox)")
    ap.add_argument("--out", help="golden directory")
    a = ap.parse_args()
    w = load_weights(a.onnx)
    ref = SileroRef(w)
    jfk = os.path.join(ROOT, "tests", "data", "jfk.wav")
    synth = os.path.join(ROOT, "tests", "data", "vad_pauses.wav")
    if a.make_synth:
        t = make_synth(synth)
        print(f"{synth}: truth {t}")
        assert truth_of(synth) == t, (truth_of(synth), t)
    if a.check:
        interp = OnnxInterp(a.onnx)
        rng = np.random.default_rng(1)
        for label, audio in (("jfk", read_wav(jfk)[:SR * 4]), ("noise", rng.normal(0, 0.1, WINDOW * 20))):
            p1 = np.array(probs_of(ref, audio))
            p2 = np.array(onnx_probs(interp, audio))
            print(f"{label}: {len(p1)} windows, max |ref - onnx graph| = {np.max(np.abs(p1 - p2)):.3g}, "
                  f"probs {np.round(p1[:8], 4).tolist()}...")
            assert np.max(np.abs(p1 - p2)) < 1e-5
    if a.out:
        for path, name in ((jfk, "vad_jfk.txt"), (synth, "vad_pauses.txt")):
            x = read_wav(path)
            p = probs_of(ref, x)
            segs = speech_timestamps(p, len(x))
            truth = truth_of(path) if name == "vad_pauses.txt" else None
            note = f"text: {SYNTH_TEXT}" if truth else ""
            golden(path, os.path.join(a.out, name), p, segs, len(x), truth, note)
            print(f"{name}: {len(p)} windows, segments {segs}" + (f", truth {truth}" if truth else ""))
        maxspeech_golden(ref, [jfk, synth], os.path.join(a.out, "vad_maxspeech.txt"))


if __name__ == "__main__":
    sys.exit(main())
