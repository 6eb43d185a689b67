#!/usr/bin/python3
"""parakeet_convert_test.py - tests of models/parakeet/nemo_to_gguf.py on archives parakeet_ref.py writes.

    /usr/bin/python3 tests/reference/parakeet_convert_test.py        # ~20 s; needs torch + yaml (not run by CI)

Good archives (pk-mini TDT, pk-mini-rnnt, F32 and --f16, joint_net.1 naming, a CTC head to skip) must convert to
files that the independent reader (ggml_files.py via parakeet_ref.check_gguf) finds equal to the hash model,
byte-identical when converted twice; broken ones must fail with exit status 1 and exactly one stderr line
`nemo_to_gguf: error: ...` naming the problem.
"""
import io
import os
import subprocess
import sys
import tarfile
import tempfile

import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parakeet_ref as ref  # noqa: E402

CONV = os.path.join(HERE, "..", "..", "models", "parakeet", "nemo_to_gguf.py")
SEED = 4


def run(nemo, out, *extra):
    p = subprocess.run([sys.executable, CONV, nemo, "-o", out, *extra], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def members(path):
    with tarfile.open(path) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]


def write_tar(path, mem):
    with tarfile.open(path, "w") as tar:
        for name, data in mem:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime = len(data), 0
            tar.addfile(ti, io.BytesIO(data))


def variant(base, path, cfg_fn=None, sd_fn=None, drop=(), raw=None):
    """Copy of the archive `base` with the config/state dict edited, members dropped or replaced."""
    out = []
    for name, data in members(base):
        b = os.path.basename(name)
        if b in drop:
            continue
        if raw and b in raw:
            data = raw[b]
        elif b == "model_config.yaml" and cfg_fn:
            cfg = yaml.safe_load(data)
            cfg_fn(cfg)
            data = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True).encode()
        elif b == "model_weights.ckpt" and sd_fn:
            sd = torch.load(io.BytesIO(data))
            sd_fn(sd)
            buf = io.BytesIO()
            torch.save(sd, buf)
            data = buf.getvalue()
        out.append((name, data))
    write_tar(path, out)
    return path


def main():
    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp(prefix="pk-conv-")
    fails = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            fails.append(what)

    good = os.path.join(tmp, "pk-mini.nemo")
    ref.write_nemo(good, "pk-mini", SEED)
    for extra, tag in (((), "f32"), (("--f16",), "f16")):
        o1, o2 = os.path.join(tmp, f"a-{tag}.gguf"), os.path.join(tmp, f"b-{tag}.gguf")
        rc, _, err = run(good, o1, *extra)
        check(rc == 0 and err == "", f"pk-mini {tag} converts ({err.strip()})")
        run(good, o2, *extra)
        check(open(o1, "rb").read() == open(o2, "rb").read(), f"pk-mini {tag}: two conversions byte-identical")
        try:
            ref.check_gguf(o1, SEED)
            check(True, f"pk-mini {tag}: equals the hash model (independent reader)")
        except (SystemExit, AssertionError) as e:
            check(False, f"pk-mini {tag}: equals the hash model: {e}")
        check(not os.path.exists(o1 + ".part"), f"pk-mini {tag}: no .part left")

    # quantized matrices: deterministic, read back (2-D [n][k]) within the block rounding of the hash model
    # (bit-identity with kernels/quant_ref.c: test_convert_pk.c, whose C convert gives these tensors)
    for tag, tol in (("q8_0", 0.01), ("q4_0", 0.15)):
        o1, o2 = os.path.join(tmp, f"a-{tag}.gguf"), os.path.join(tmp, f"b-{tag}.gguf")
        rc, _, err = run(good, o1, "--type", tag)
        check(rc == 0 and err == "", f"pk-mini {tag} converts ({err.strip()})")
        run(good, o2, "--type", tag)
        check(open(o1, "rb").read() == open(o2, "rb").read(), f"pk-mini {tag}: two conversions byte-identical")
        try:
            m, kv, info = ref.load_gguf(o1)
            f32m, _, _ = ref.load_gguf(os.path.join(tmp, "a-f32.gguf"))
            fsd, qsd = f32m.state_dict(), m.state_dict()
            nq = sum(1 for ty, _ in info.values() if ty == {"q8_0": 8, "q4_0": 2}[tag])
            worst = max(float((qsd[n] - fsd[n]).abs().max() / (fsd[n].abs().max() + 1e-12)) for n in info)
            check(nq == 31 and worst <= tol and kv["general.file_type"] == {"q8_0": 7, "q4_0": 2}[tag],
                  f"pk-mini {tag}: {nq} matrices quantized, worst relative error {worst:.4f} <= {tol}")
        except (SystemExit, AssertionError, KeyError) as e:
            check(False, f"pk-mini {tag} read back: {e}")

    rnnt = os.path.join(tmp, "pk-mini-rnnt.nemo")
    ref.write_nemo(rnnt, "pk-mini-rnnt", SEED)
    o = os.path.join(tmp, "rnnt.gguf")
    rc, _, err = run(rnnt, o)
    check(rc == 0, "pk-mini-rnnt converts")
    try:
        m, kv, _ = ref.load_gguf(o)
        check(kv["parakeet.model_type"] == "rnnt" and "parakeet.durations" not in kv
              and tuple(m.joint.joint_net[2].weight.shape) == (33, 64), "pk-mini-rnnt: model_type rnnt, no durations, 33 outputs")
        ref.check_gguf(o, SEED)
    except (SystemExit, AssertionError, KeyError) as e:
        check(False, f"pk-mini-rnnt read back: {e}")

    # NeMo names the joint's output Linear joint_net.1 when jointnet.dropout is 0
    def to_net1(sd):
        for k in [k for k in sd if k.startswith("joint.joint_net.2.")]:
            sd[k.replace(".2.", ".1.")] = sd.pop(k)
    v = variant(good, os.path.join(tmp, "net1.nemo"), sd_fn=to_net1)
    rc, _, err = run(v, o)
    try:
        ref.check_gguf(o, SEED)
        check(rc == 0, "joint_net.1 (dropout 0) is written as joint_net.2")
    except (SystemExit, AssertionError) as e:
        check(False, f"joint_net.1: {e}")

    # a TDT-CTC hybrid's CTC head is skipped (and said so)
    def add_ctc(sd):
        sd["ctc_decoder.decoder_layers.0.weight"] = torch.zeros(33, 64, 1)
    v = variant(good, os.path.join(tmp, "ctc.nemo"), sd_fn=add_ctc)
    rc, out, err = run(v, o)
    check(rc == 0 and "skipped 1 tensors" in out, "a ctc_decoder tensor is skipped and reported")

    # archives without the front-end buffers: computed equal to the stored ones
    def no_front(sd):
        del sd["preprocessor.featurizer.fb"], sd["preprocessor.featurizer.window"]
    v = variant(good, os.path.join(tmp, "nofront.nemo"), sd_fn=no_front)
    rc, out, err = run(v, o)
    try:
        ref.check_gguf(o, SEED)
        mm, _, _ = ref.load_gguf(o)
        want = ref.Parakeet(ref.CONFIGS["pk-mini"])
        same = torch.equal(mm.preprocessor.featurizer.fb, want.preprocessor.featurizer.fb) and \
            torch.equal(mm.preprocessor.featurizer.window, want.preprocessor.featurizer.window)
        check(rc == 0 and "computed" in out and same, "missing fb/window are computed bit-identical to NeMo's")
    except (SystemExit, AssertionError) as e:
        check(False, f"missing fb/window: {e}")

    # broken archives: exit 1, one line naming the problem
    def nan(sd):
        sd["encoder.layers.1.conv.depthwise_conv.weight"][3, 0, 2] = float("nan")

    def shape(sd):
        sd["joint.pred.weight"] = torch.zeros(64, 65)

    def missing(sd):
        del sd["encoder.layers.0.self_attn.pos_bias_v"]

    def extra_bias(sd):
        sd["encoder.layers.0.feed_forward1.linear1.bias"] = torch.zeros(256)

    def int_tensor(sd):
        sd["joint.enc.bias"] = torch.zeros(64, dtype=torch.int32)

    trunc = open(good, "rb").read()[:3000]
    cases = [
        ("not a tar", dict(raw_file=b"this is not a tar archive at all" * 40), "not a readable .nemo"),
        ("truncated", dict(raw_file=trunc), "not a readable .nemo (tar) archive"),
        ("no weights", dict(drop=("model_weights.ckpt",)), "has no model_weights.ckpt"),
        ("no config", dict(drop=("model_config.yaml",)), "has no model_config.yaml"),
        ("bad yaml", dict(raw={"model_config.yaml": b"encoder: [1, 2\n  bad: {"}), "not valid YAML"),
        ("bad ckpt", dict(raw={"model_weights.ckpt": b"PK\x03\x04garbage"}), "model_weights.ckpt: cannot be loaded"),
        ("NaN", dict(sd_fn=nan), "encoder.layers.1.conv.depthwise_conv.weight has NaN"),
        ("wrong shape", dict(sd_fn=shape), "joint.pred.weight has shape (64, 65), expected (64, 64)"),
        ("missing tensor", dict(sd_fn=missing), "encoder.layers.0.self_attn.pos_bias_v is missing"),
        ("unexpected tensor", dict(sd_fn=extra_bias), "unexpected tensor encoder.layers.0.feed_forward1.linear1.bias"),
        ("int tensor", dict(sd_fn=int_tensor), "joint.enc.bias has dtype torch.int32"),
        ("striding", dict(cfg_fn=lambda c: c["encoder"].update(subsampling="striding")), "encoder.subsampling"),
        ("limited context", dict(cfg_fn=lambda c: c["encoder"].update(att_context_size=[70, 13])),
         "att_context_size"),
        ("8 kHz", dict(cfg_fn=lambda c: c["preprocessor"].update(sample_rate=8000)), "only 16000"),
        ("no d_model", dict(cfg_fn=lambda c: c["encoder"].pop("d_model")), "encoder.d_model is missing"),
        ("heads", dict(cfg_fn=lambda c: c["encoder"].update(n_heads=3)), "does not divide"),
        ("durations", dict(cfg_fn=lambda c: c["joint"].update(num_extra_outputs=4)), "num_extra_outputs 4"),
        ("vocab", dict(cfg_fn=lambda c: (c["decoder"].update(vocab_size=31), c["joint"].update(num_classes=31))),
         "32 pieces, but decoder.vocab_size is 31"),
        ("no tokenizer", dict(drop=tuple(os.path.basename(n) for n, _ in members(good) if "tokenizer" in n
                                        or n.endswith("vocab.txt")),
                              cfg_fn=lambda c: c["joint"].pop("vocabulary")), "has no tokenizer"),
    ]
    for what, kw, want in cases:
        path = os.path.join(tmp, what.replace(" ", "_") + ".nemo")
        if "raw_file" in kw:
            open(path, "wb").write(kw["raw_file"])
        else:
            variant(good, path, **kw)
        out_path = os.path.join(tmp, "bad.gguf")
        if os.path.exists(out_path):
            os.remove(out_path)
        rc, _, err = run(path, out_path)
        lines = err.strip().splitlines()
        ok = rc == 1 and len(lines) == 1 and lines[0].startswith("nemo_to_gguf: error:") and want in lines[0] \
            and not os.path.exists(out_path) and not os.path.exists(out_path + ".part")
        check(ok, f"{what}: exit {rc}, {lines[-1] if lines else '(no message)'}")
    print(f"{len(fails)} failed" if fails else "all passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
