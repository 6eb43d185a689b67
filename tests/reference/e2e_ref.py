#!/usr/bin/python3
"""e2e_ref.py - golden for edge-stt's multi-window end-to-end test (tests/test_e2e.c).

The audio (about 72 s, built in memory the same way by the C test):
    jfk | synth | 10 s of zeros | synth | jfk | jfk
where jfk = tests/data/jfk.wav (the real recording) and synth = tests/data/synth_en.wav (espeak-ng
speech, see tests/reference/README.md), both 16 kHz PCM16 scaled by 1/32768, zeros exact 0.0.

It runs whisper_ref.py's transcribe() (openai/whisper transcribe.py seek loop) on the generated mini
model mini-en-f32.gguf at temperature 0 only (greedy; no fallback: the fallback samples, which no
other implementation can reproduce), language "en", sample_len LONG_SAMPLE_LEN (bounds the run under
qemu), once in float64 and once in float32 (the decisions must be the same, else the golden is too
fragile to be used) and writes tests/data/golden/whisper_long_mini-en-f32.txt in whisper_ref.py's golden
format (KEY COUNT VALUE...):

    long.n_samples, long.parts (start sample of each part), long.sample_len
    long.content_frames, long.n_windows
    long.win<i>.seek (seek frame, segment size), .prompt, .tokens, .stats (avg_logprob no_speech_prob
        compression_ratio)
    long.n_segments, long.seg<i>.time (seek, start s, end s), long.seg<i>.tokens

Run: /usr/bin/python3 tests/reference/e2e_ref.py [--models build/testmodels] [--out tests/data/golden]
(about a minute on one core).
"""
import argparse
import hashlib
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import whisper_ref as wr  # noqa: E402
from tokenizer_ref import Tokenizer  # noqa: E402

MODEL = "mini-en-f32.gguf"
LONG_SAMPLE_LEN = 96       # tokens per window (whisper's default is n_text_ctx // 2 = 224)
SILENCE_SAMPLES = 10 * wr.SAMPLE_RATE


def long_audio(data_dir):
    """The test's audio and the start sample of each of its parts."""
    jfk = wr.read_wav16(os.path.join(data_dir, "jfk.wav"))
    synth = wr.read_wav16(os.path.join(data_dir, "synth_en.wav"))
    parts = [jfk, synth, np.zeros(SILENCE_SAMPLES, dtype=np.float32), synth, jfk, jfk]
    starts = np.cumsum([0] + [len(p) for p in parts[:-1]]).tolist()
    return np.concatenate(parts), starts


def run(model, tok, audio, filters):
    return wr.transcribe(model, tok, audio, filters, temperature=0.0, language="en",
                         sample_len=LONG_SAMPLE_LEN)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="build/testmodels")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "data", "golden"))
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    path = os.path.join(a.models, MODEL)
    mf = wr.load_model(path)
    hp = mf["hp"]
    tok = Tokenizer(hp["n_vocab"], mf["text_bytes"])
    filters = np.asarray(mf["mel_filters"], dtype=np.float32)
    audio, starts = long_audio(a.data)
    res = run(wr.Whisper(hp, mf["weights"], torch.float64), tok, audio, filters)
    res32 = run(wr.Whisper(hp, mf["weights"], torch.float32), tok, audio, filters)
    same32 = [s["tokens"] for s in res["segments"]] == [s["tokens"] for s in res32["segments"]] and \
        [(s["start"], s["end"]) for s in res["segments"]] == [(s["start"], s["end"]) for s in res32["segments"]]
    if not same32:
        print("float32 and float64 transcriptions differ: the golden would be fragile", file=sys.stderr)
        return 1

    g = wr.GoldenWriter()
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    g.comment("e2e_ref.py golden for %s (sha256 %s) on jfk|synth|10 s zeros|synth|jfk|jfk" %
              (MODEL, digest))
    g.comment("regenerate: /usr/bin/python3 tests/reference/e2e_ref.py --models build/testmodels")
    g.comment("transcribe(temperature=0.0, language='en', sample_len=%d), float64; float32 gives the same "
              "segments" % LONG_SAMPLE_LEN)
    g.ints("model.bytes", [os.path.getsize(path)])
    g.ints("long.n_samples", [len(audio)])
    g.ints("long.parts", starts)
    g.ints("long.sample_len", [LONG_SAMPLE_LEN])
    g.ints("long.content_frames", [res["content_frames"]])
    g.ints("long.n_windows", [len(res["windows"])])
    for i, w in enumerate(res["windows"]):
        r = w["result"]
        g.ints("long.win%d.seek" % i, [w["seek"], w["segment_size"]])
        g.ints("long.win%d.prompt" % i, w["prompt"])
        g.ints("long.win%d.tokens" % i, r["tokens"])
        g.float64s("long.win%d.stats" % i, [r["avg_logprob"], r["no_speech_prob"], r["compression_ratio"]])
    g.ints("long.n_segments", [len(res["segments"])])
    for i, s in enumerate(res["segments"]):
        g.float64s("long.seg%d.time" % i, [s["seek"], s["start"], s["end"]])
        g.ints("long.seg%d.tokens" % i, s["tokens"])
    g.comment("text: %s" % wr._clip(repr(res["text"]), 600))
    out = os.path.join(a.out, "whisper_long_mini-en-f32.txt")
    with open(out + ".part", "w") as f:
        f.write(g.text())
    os.replace(out + ".part", out)
    print("%s: %.2f s of audio, %d windows, %d segments (%d with tokens) -> %s" %
          (MODEL, len(audio) / wr.SAMPLE_RATE, len(res["windows"]), len(res["segments"]),
           sum(1 for s in res["segments"] if s["tokens"]), out))
    for w in res["windows"]:
        r = w["result"]
        print("  seek %5d size %4d: %3d tokens, avg_logprob %.3f, no_speech %.3g" %
              (w["seek"], w["segment_size"], len(r["tokens"]), r["avg_logprob"], r["no_speech_prob"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
