#!/usr/bin/python3
"""pk_export.py - pk_train.py checkpoint -> NeMo .nemo archive -> GGUF (models/parakeet/nemo_to_gguf.py), and
proof that the export is the trained model: PyTorch greedy RNN-T (tests/reference/parakeet_ref.py) on held-out
files must give the same text as the C engine (`edge-stt -m GGUF --greedy`) on the exported file.

    python3 pk_export.py work/pk/ckpt.pt --out work/pk/edge-stt-kiosk-pk --types f32,q8_0,q4_0 --check 10

writes OUT.nemo and OUT-TYPE.gguf for each type (nemo_to_gguf.py --type); the text check compares PyTorch
with the F32 file (the quantized ones are only counted).  The .nemo is what NeMo's EncDecRNNTBPEModel.save_to writes for this configuration (parakeet_ref.nemo_config,
model_type rnnt, the character pieces as a SentencePiece model); nemo_to_gguf reads only that archive.
Exit status 1 when the texts differ on any checked file.
"""
import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile

import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import pk_train as P  # noqa: E402
R = P.R


def load(ckpt):
    ck = torch.load(ckpt, map_location="cpu")
    if ck.get("pieces") != P.PIECES:
        raise SystemExit(f"{ckpt}: vocabulary differs from pk_train.PIECES")
    model = P.build(ck["config"])
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def write_nemo(model, path, name):
    c = model.cfg
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    prefix = hashlib.sha1(name.encode()).hexdigest()[:32]
    cfg = R.nemo_config(c, name, prefix)
    if cfg["joint"]["vocabulary"] != P.PIECES:
        raise SystemExit("nemo_config's vocabulary differs from pk_train.PIECES")
    buf = io.BytesIO()
    torch.save(sd, buf)
    members = [("model_config.yaml", yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True).encode()),
               ("model_weights.ckpt", buf.getvalue()),
               (f"{prefix}_tokenizer.model", R.spm_model_bytes(P.PIECES)),
               (f"{prefix}_tokenizer.vocab",
                "".join(f"{p}\t{0.0 if i == 0 else -float(i)}\n" for i, p in enumerate(P.PIECES)).encode()),
               (f"{prefix}_vocab.txt", "".join(p + "\n" for p in P.PIECES).encode())]
    with tarfile.open(path, "w") as tar:
        for mname, data in members:
            ti = tarfile.TarInfo("./" + mname)
            ti.mtime, ti.mode, ti.size = 0, 0o644, len(data)
            tar.addfile(ti, io.BytesIO(data))


def engine_text(exe, model, wav):
    r = subprocess.run([exe, "-m", model, "--greedy", wav], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{exe} failed on {wav}: {r.stderr.strip()}")
    return " ".join(r.stdout.split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("--out", default=os.path.join(HERE, "work", "pk", "edge-stt-kiosk-pk"))
    ap.add_argument("--types", default="f32,q8_0,q4_0")
    ap.add_argument("--name", default="edge-stt-kiosk-pk")
    ap.add_argument("--check", type=int, default=10, help="files per test half to compare with the engine")
    ap.add_argument("--blank-offset", type=float, default=0.0,
                    help="export-check only: subtract this from the blank logit's bias (an early checkpoint that "
                         "still emits only blanks then emits characters, so the PyTorch/engine comparison bites)")
    ap.add_argument("--edge-stt", default=os.path.join(REPO, "build", "native", "edge-stt"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, ck = load(a.ckpt)
    if a.blank_offset:
        with torch.no_grad():
            model.joint.joint_net[2].bias[model.cfg["vocab"]] -= a.blank_offset
    n_par = sum(p.numel() for p in model.parameters())
    print(f"{a.ckpt}: step {ck['step']}, {ck['elapsed'] / 60:.1f} min, {n_par} parameters")
    nemo = a.out + ".nemo"
    write_nemo(model, nemo, a.name)
    R.check_nemo(nemo)
    types = a.types.split(",")
    files = {t: f"{a.out}-{t}.gguf" for t in types}
    for t, g in files.items():
        subprocess.run([sys.executable, os.path.join(REPO, "models", "parakeet", "nemo_to_gguf.py"), nemo,
                        "-o", g, "--type", t, "--name", a.name], check=True)
        print(f"{g}: {os.path.getsize(g)} bytes")
    if a.check <= 0 or "f32" not in files:
        return
    gguf = files["f32"]
    kiosk = os.path.join(REPO, "tests", "data", "kiosk")
    bad = 0
    qsame = {}
    for half in ("seen", "unseen"):
        for wav, ref in P.manifest(os.path.join(kiosk, half + ".tsv"), a.check):
            py = P.greedy_text(model, P.read_wav(wav))
            c = engine_text(a.edge_stt, gguf, wav)
            same = py == c
            bad += not same
            q = {t: engine_text(a.edge_stt, g, wav) == py for t, g in files.items() if t != "f32"}
            for t, ok in q.items():
                qsame[t] = qsame.get(t, 0) + ok
            print(f"{'same' if same else 'DIFF'}  {os.path.relpath(wav, kiosk)}  ref [{ref}]  torch [{py}]"
                  + ("" if same else f"  engine [{c}]") + "".join(f"  {t} {'=' if ok else '!='}" for t, ok in q.items()))
    print(f"export check: {2 * a.check - bad} / {2 * a.check} files give the same greedy text in PyTorch and the "
          f"engine (F32)" + "".join(f"; {t}: {n} / {2 * a.check} the same" for t, n in qsame.items()))
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
