#!/usr/bin/python3
"""kiosk_ref.py - PyTorch reference for compact-vocabulary (character-level, short-window) Whisper
models such as the project's kiosk model (models/whisper-gguf.md): the window log-mel of the contract
(clip zero-padded to the window; whisper_ref.window_mel), the encoder output, and greedy decoding
with the engine's prompt and filters for these models: [sot, <|en|>, <|transcribe|>, <|notimestamps|>],
the specials suppressed at every step (no non-speech symbols exist in the vocabulary), eot
suppressed at the first step (the space token is not), until eot or the end of the context.

  /usr/bin/python3 tests/reference/kiosk_ref.py MODEL.gguf WAV [--seconds S] [--golden OUT]

Prints the transcript and the smallest decision margin; --golden writes KEY COUNT VALUES lines for
tests/test_kiosk.c: the first mel frames, encoder rows, the raw logits after the prompt and the
greedy tokens (float64 forward pass; the engine's float32 must agree within tolerance and on every
token whose top-2 logit margin is above 1e-3)."""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import whisper_ref as wr  # noqa: E402


def greedy(model, hp, tokens_explicit, af):
    t = tokens_explicit
    prompt = [t["sot"], t["lang_first"], t["transcribe"], t["no_timestamps"]]
    suppress = [t["transcribe"], t["translate"], t["sot"], t["sot_prev"], t["sot_lm"], t["no_speech"]]
    st = model.new_state(af)
    logits = model.decode_step([prompt], st)[0, -1]
    first_logits = logits.clone()
    out, margins = [], []
    for step in range(hp["n_text_ctx"] - len(prompt) + 1):  # the engine's sample_len for compact vocabularies
        x = logits.clone()
        x[suppress] = -float("inf")
        if step == 0:
            x[t["eot"]] = -float("inf")
        top = torch.topk(x, 2)
        margins.append(float(top.values[0] - top.values[1]))
        tok = int(top.indices[0])
        if tok == t["eot"]:
            break
        out.append(tok)
        if len(prompt) + len(out) > hp["n_text_ctx"]:  # as decoding.py: the last token is not fed
            break
        logits = model.decode_step([[tok]], st)[0, -1]
    return out, margins, first_logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("wav")
    ap.add_argument("--seconds", type=float, default=0.0, help="use only the first S seconds")
    ap.add_argument("--golden")
    a = ap.parse_args()
    m = wr.load_model(a.model)
    hp = m["hp"]
    model = wr.Whisper(hp, m["weights"], dtype=torch.float64)
    audio = wr.read_wav16(a.wav)
    if a.seconds > 0:
        audio = audio[: int(a.seconds * wr.SAMPLE_RATE)]
    mel = wr.window_mel(audio, m["mel_filters"], 2 * hp["n_audio_ctx"])
    af = model.encode(mel)
    toks, margins, logits0 = greedy(model, hp, m["tokens_explicit"], af)
    text_ids = [i for i in toks if i < m["tokens_explicit"]["eot"]]
    text = b"".join(m["text_bytes"][i] for i in text_ids).decode("utf-8", "replace")
    print("tokens %s" % toks)
    print("text '%s'" % text)
    print("min margin %.3g" % (min(margins) if margins else 0.0))
    if a.golden:
        g = wr.GoldenWriter()
        g.comment("kiosk_ref.py %s %s --seconds %g (float64)" % (os.path.basename(a.model), os.path.basename(a.wav),
                                                                 a.seconds))
        enc = np.asarray(af, dtype=np.float64).reshape(hp["n_audio_ctx"], -1)
        g.floats("mel.first_frames", np.asarray(mel)[:, :4].T.reshape(-1))
        g.floats("enc.row0", enc[0])
        g.floats("enc.row_last", enc[-1])
        g.float64s("enc.abs_sum", [float(np.abs(enc).sum())])
        g.floats("greedy.logits0", logits0.numpy())
        g.ints("greedy.tokens", toks)
        g.float64s("greedy.margins", margins)
        with open(a.golden, "w") as f:
            f.write(g.text())


if __name__ == "__main__":
    main()
