#!/usr/bin/python3
"""whisper_cpp_diff.py - why whisper.cpp's tokens differ from OpenAI's (and edge-stt's) on one window.

edge-stt decodes as openai/whisper's transcribe() + decoding.py do; whisper.cpp departs from them in
two places that change the tokens of a short (< 30 s) file, shown here with the reference model of
whisper_ref.py (nothing of whisper.cpp is imported or copied; its behaviour is described from reading
its source, whisper.cpp 1.9.1):

  mel    transcribe() cuts the log-mel to the audio's frames and pads the window with 0.0
         (pad_or_trim of the mel); whisper.cpp feeds the encoder the log-mel of the audio + 30 s of zero
         samples as is, so the frames past the audio hold the clamped "silence" value
         (max - 8 + 4) / 4 instead of 0.0.
  rules  OpenAI's ApplyTimestampRules makes the first sampled token a timestamp (text suppressed at
         the first step); whisper.cpp has no such rule, so its first token may be text.  whisper.cpp also
         suppresses the non-speech symbols only with -sns (OpenAI: always, suppress_tokens "-1"), lets a
         timestamp repeat the previous one (OpenAI: strictly later unless it closes a pair), and ends a
         window when a timestamp reaches the end of the audio (OpenAI decodes on).

A third difference is arithmetic: whisper.cpp's CPU flash attention (on by default; -nfa turns it
off) accumulates the attention's V products in F16, which on the generated tiny model moves the logits
by ~0.06-0.12 rms from exact arithmetic; with -nfa they are within ~0.001 rms, the size of ggml's F16
rounding of the activations, which --f16 models here.

The script decodes the first window greedily under the four combinations of mel and rules and prints
the token ids, and along each path the smallest gap between the chosen and the runner-up logit.  With
--edgestt-json (`edge-stt --greedy --no-fallback -o json`) and --wcpp-json (`whisper-cli -bs 1 -bo 1 -nf
-nfa -ojf`) it compares their text tokens with the reference's (meant for audio of one window).

    /usr/bin/python3 tests/reference/whisper_cpp_diff.py --model build/testmodels/tiny-en-f16.bin \\
        [--edgestt-json jfk.json] [--wcpp-json wcpp.json] [--f16] [--save-logits DIR]

(~1 CPU-minute for a tiny model, 2 with --f16.)  Findings for the generated tiny.en F16 .bin and
jfk.wav: tests/reference/README.md, "whisper_cpp_diff.py".
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import whisper_ref as W  # noqa: E402
from tokenizer_ref import Tokenizer  # noqa: E402


class WhisperCppRules(W.DecodingTask):
    """DecodingTask with whisper.cpp's logit filters (as described in the module docstring)."""

    def __init__(self, model, tok, options, content_frames, suppress_nst=False):
        super().__init__(model, tok, options)
        self.content_frames = content_frames
        specials = [tok.no_timestamps, tok.sot, tok.no_speech, tok.sot_lm, tok.translate, tok.transcribe,
                    tok.sot_prev]
        self.suppress = sorted(set(specials + (tok.non_speech_tokens() if suppress_nst else [])))

    def apply_filters(self, logits, tokens):
        tok, tb = self.tok, self.tok.timestamp_begin
        seq = tokens[0][self.sample_begin:]
        if self.o["suppress_blank"] and not seq:
            logits[:, tok.encode(" ") + [tok.eot]] = -math.inf
        logits[:, self.suppress] = -math.inf
        last_ts = len(seq) >= 1 and seq[-1] >= tb
        pen_ts = len(seq) < 2 or seq[-2] >= tb
        if last_ts:
            if pen_ts:
                logits[:, tb:] = -math.inf
            else:
                logits[:, :tok.eot] = -math.inf
        if not seq and self.max_initial_timestamp_index is not None:     # no "first token is a timestamp"
            logits[:, tb + self.max_initial_timestamp_index + 1:] = -math.inf
        stamps = [t for t in seq if t > tb]                               # whisper.cpp: id > timestamp_begin
        if stamps:
            logits[:, tb:stamps[-1]] = -math.inf                          # equal allowed
        logprobs = F.log_softmax(logits, dim=-1)
        if logprobs[0, tb:].logsumexp(dim=-1) > logprobs[0, :tb].max():
            logits[:, :tb] = -math.inf

    def run_window(self, audio_features):
        """Greedy, one window; ends at eot, at sample_len, or (whisper.cpp) at a timestamp within
        0.1 s of the audio's end.  Returns (tokens, smallest chosen-minus-runner-up logit gap)."""
        tok, model = self.tok, self.model
        tokens = list(self.initial_tokens)
        st = model.new_state(audio_features)
        gaps, step = [], tokens
        for _ in range(self.sample_len):
            logits = model.decode_step([step], st)[:, -1].clone()
            self.apply_filters(logits, [tokens])
            top2 = logits[0].topk(2).values
            if torch.isfinite(top2[1]):
                gaps.append(float(top2[0] - top2[1]))
            nxt = int(logits[0].argmax())
            tokens.append(nxt)
            step = [nxt]
            if nxt == tok.eot:
                break
            if nxt > tok.timestamp_begin and 2 * (nxt - tok.timestamp_begin) + 10 >= self.content_frames:
                break
        out = tokens[self.sample_begin:]
        return [t for t in out if t != tok.eot], min(gaps) if gaps else math.nan


def _f16(x):
    return x.to(torch.float16).to(x.dtype)


class F16Whisper(W.Whisper):
    """A rough model of ggml's CPU arithmetic on an F16 file without flash attention: the activations
    entering every product with an F16 weight rounded to F16 (ggml converts them to the weight's
    type), q/k/v rounded to F16 (F16 K/V caches), the attention output rounded once, the conv inputs
    rounded to F16 (im2col).  Not whisper.cpp's exact arithmetic, only its size; flash attention's F16
    accumulation of V (whisper.cpp's default) is not modelled."""

    def _lin(self, x, name, bias=True):
        return F.linear(_f16(x), self.w[name + ".weight"], self.w[name + ".bias"] if bias else None)

    @staticmethod
    def _attention(q, k, v, n_head, mask=None, kv_heads=False):
        return _f16(W.Whisper._attention(_f16(q), _f16(k), _f16(v), n_head, mask, kv_heads))

    def encode(self, mel):
        conv1d = F.conv1d          # whisper_ref calls torch.nn.functional.conv1d: round its input
        try:
            F.conv1d = lambda x, *a, **k: conv1d(_f16(x), *a, **k)
            return super().encode(mel)
        finally:
            F.conv1d = conv1d


def openai_window(model, tok, af):
    tr = W.Trace()
    r = W.decode(model, tok, af, trace=tr, language="en")
    return r["tokens"], tr.min_argmax_gap()


def text_ids(tok, ids):
    return [t for t in ids if t < tok.eot]


def json_tokens(path):
    """Token ids of every segment, from `edge-stt -o json` (segments[].tokens[].id) or whisper-cli
    -ojf (transcription[].tokens[].id); meant for audio of one window."""
    d = json.load(open(path))
    return [t["id"] for s in d.get("segments", d.get("transcription", [])) for t in s["tokens"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="build/testmodels/tiny-en-f16.bin")
    ap.add_argument("--wav", default=os.path.join(HERE, "..", "data", "jfk.wav"))
    ap.add_argument("--edgestt-json", help="edge-stt --greedy --no-fallback -o json output for the same file")
    ap.add_argument("--wcpp-json", help="whisper-cli -bs 1 -bo 1 -nf -ojf output for the same file")
    ap.add_argument("--save-logits", help="dir: raw logits (float32) after [sot] and after [sot, first "
                    "token] for both mels, and both mels (float32 [n_mels, frames])")
    ap.add_argument("--f16", action="store_true", help="also: how far a rough F16 model of ggml's "
                    "arithmetic moves the first-step logits (and its tokens with whisper.cpp's mel and rules)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    mf = W.load_model(a.model)
    hp = mf["hp"]
    tok = Tokenizer(hp["n_vocab"], mf["text_bytes"])
    if tok.multilingual:
        sys.exit("English-only models only (the language token rules are left out)")
    model = W.Whisper(hp, mf["weights"], torch.float64)
    filters = np.asarray(mf["mel_filters"], dtype=np.float32)
    audio = W.read_wav16(a.wav)
    n_frames = 2 * hp["n_audio_ctx"]
    mel, content = W.transcribe_mel(audio, filters, n_frames)
    mels = {"openai": W.pad_or_trim(mel[:, :content], n_frames),   # transcribe(): 0.0 past the audio
            "whisper.cpp": mel[:, :n_frames]}                      # the padded log-mel as is
    silence = float(mel[:, -1].max())
    diff = (mels["openai"] - mels["whisper.cpp"]).abs()
    print("model %s, %d samples, %d content frames of %d" % (os.path.basename(a.model), len(audio), content,
                                                             n_frames))
    print("mel: global max %.6f; frames past the audio: openai 0.0, whisper.cpp %.6f (= max - 2); "
          "%d frames differ, the rest identical (max |diff| there %.3g)" %
          (float(mel.max()), silence, int((diff > 0).any(0).sum()), float(diff[:, :content].max())))

    results = {}
    for mel_name, m in mels.items():
        af = model.encode(m)
        st = model.new_state(af)
        raw1 = model.decode_step([[tok.sot]], st)[0, -1]
        v, ix = raw1.topk(3)
        print("\n[%s mel] raw logits after <|startoftranscript|>: top %s" %
              (mel_name, ", ".join("%d %.4f" % (i, x) for i, x in zip(ix.tolist(), v.tolist()))))
        for rules in ("openai", "whisper.cpp"):
            if rules == "openai":
                ids, gap = openai_window(model, tok, af)
            else:
                task = WhisperCppRules(model, tok, W.decoding_options(language="en"), content)
                ids, gap = task.run_window(af)
            results[(mel_name, rules)] = ids
            print("  %-11s rules: %s%s  (smallest logit gap on the path %.4f)" %
                  (rules, " ".join(map(str, ids[:16])), " ..." if len(ids) > 16 else "", gap))
        if a.save_logits:
            os.makedirs(a.save_logits, exist_ok=True)
            tag = "oa" if mel_name == "openai" else "wc"
            raw1.to(torch.float32).numpy().tofile(os.path.join(a.save_logits, "ref_%s.step1.f32" % tag))
            for first in (results[(mel_name, "openai")][0], results[(mel_name, "whisper.cpp")][0]):
                st = model.new_state(af)
                lg = model.decode_step([[tok.sot, first]], st)[0, -1]
                lg.to(torch.float32).numpy().tofile(os.path.join(a.save_logits, "ref_%s.after%d.f32" % (tag, first)))
            m.to(torch.float32).numpy().tofile(os.path.join(a.save_logits, "mel_%s.f32" % tag))

    if a.f16:
        m16 = F16Whisper(hp, mf["weights"], torch.float64)
        for mel_name, m in mels.items():
            exact = model.decode_step([[tok.sot]], model.new_state(model.encode(m)))[0, -1]
            af16 = m16.encode(m)
            rough = m16.decode_step([[tok.sot]], m16.new_state(af16))[0, -1]
            d = rough - exact
            print("\n[%s mel] F16 model vs exact, logits after <|startoftranscript|>: max |d| %.4f, rms %.4f"
                  % (mel_name, float(d.abs().max()), float(d.pow(2).mean().sqrt())))
            if a.save_logits:
                tag = "oa" if mel_name == "openai" else "wc"
                rough.to(torch.float32).numpy().tofile(os.path.join(a.save_logits, "f16_%s.step1.f32" % tag))
            if mel_name == "whisper.cpp":
                ids, gap = WhisperCppRules(m16, tok, W.decoding_options(language="en"), content).run_window(af16)
                print("  whisper.cpp rules, F16 model: %s  (smallest gap %.4f)" % (" ".join(map(str, ids[:16])), gap))

    for path, label, key in ((a.edgestt_json, "edge-stt", ("openai", "openai")),
                             (a.wcpp_json, "whisper.cpp", ("whisper.cpp", "whisper.cpp"))):
        if not path:
            continue
        got = json_tokens(path)
        want = text_ids(tok, results[key])
        got = text_ids(tok, got)
        n = 0
        while n < min(len(got), len(want)) and got[n] == want[n]:
            n += 1
        print("\n%s text tokens %s; reference (%s mel, %s rules) %s: the first %d agree%s" %
              (label, got[:12], key[0], key[1], want[:12], n,
               " (all of %s's)" % label if n == len(got) else ""))


if __name__ == "__main__":
    main()
