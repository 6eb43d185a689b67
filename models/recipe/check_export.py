#!/usr/bin/python3
"""check_export.py - an exported GGUF against the PyTorch model: reads the file with
tests/reference/ggml_files.py, runs tests/reference/whisper_ref.py's forward pass (float64) on one
test clip and compares encoder output and prompt logits with model.py (float32).
Usage: check_export.py GGUF [CKPT]  (without CKPT: exports a random model to /tmp and checks it)."""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "reference")
sys.path.insert(0, HERE)
sys.path.insert(0, REF)
import ggml_files as gf  # noqa: E402
import whisper_ref as W  # noqa: E402
from model import Dims, Whisper, SOT, LANG_EN, TRANSCRIBE, NO_TIMESTAMPS, CHARS  # noqa: E402
from export_gguf import export  # noqa: E402


def main():
    torch.manual_seed(0)
    if len(sys.argv) > 2:
        c = torch.load(sys.argv[2], map_location="cpu")
        dims = Dims(**{k: v for k, v in c["dims"].items() if k != "n_vocab"})
        m = Whisper(dims)
        m.load_state_dict(c["model"])
        path = sys.argv[1]
    else:
        dims = Dims()
        m = Whisper(dims)
        path = "/tmp/kiosk-random.gguf"
        export(m.state_dict(), dims.asdict(), path, "random")
    m.eval()
    _, kv, tensors = gf.read_gguf(path)
    toks = kv["whisper.tokenizer.tokens"]
    assert len(toks) == dims.n_vocab and kv["whisper.n_vocab"] == dims.n_vocab
    assert gf.gpt2_decode(toks[0].decode()) == b" " and toks[2] == b"a"
    hp = {"n_vocab": kv["whisper.n_vocab"], "n_mels": kv["whisper.n_mels"]}
    for side in ("audio", "text"):
        for k in ("n_ctx", "n_state", "n_head", "n_layer"):
            hp["n_%s_%s" % (side, k[2:])] = int(kv["whisper.%s.%s" % (side, k)])
    w = {}
    for t in tensors:
        w[t.name] = torch.from_numpy(gf.dequantize(t.type, t.data, t.nelem).reshape(W._torch_shape(t.ne)))
    mel_f = w.pop("mel_filters")
    ref = W.Whisper(hp, {k: v.numpy() for k, v in w.items()})
    from features import window_logmel
    import wave
    d = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "data", "kiosk")
    with wave.open(os.path.join(d, "seen", "000.wav")) as f:
        x = np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float32) / 32768
    mel = window_logmel(x)[:, :2 * dims.n_audio_ctx]
    mel_ref = W.window_mel(x, mel_f.numpy(), 2 * dims.n_audio_ctx, torch.float32).numpy()
    print("mel max |diff| vs whisper_ref.window_mel (8 s padding vs window-only padding):",
          float(np.abs(mel - mel_ref).max()))
    with torch.no_grad():
        xa = m.encoder(torch.from_numpy(mel)[None])
        prompt = [SOT, LANG_EN, TRANSCRIBE, NO_TIMESTAMPS, 0, 2 + CHARS.index("t") - 2]
        lg = m.decoder(torch.tensor([prompt]), xa)[0]
    af = ref.encode(torch.from_numpy(mel))
    st = ref.new_state(af)
    lr = ref.decode_step([prompt], st)[0]
    e1 = float((xa[0].double() - af).abs().max())
    e2 = float((lg.double() - lr).abs().max())
    print("encoder max |diff| %.2e, logits max |diff| %.2e (|logits| max %.1f)" % (e1, e2, float(lr.abs().max())))
    assert e1 < 1e-3 and e2 < 1e-2 * max(1.0, float(lr.abs().max()))
    print("OK")


if __name__ == "__main__":
    main()
