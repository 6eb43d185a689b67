#!/usr/bin/python3
"""whisper_ref.py - PyTorch reference for edge-stt's Whisper forward pass and OpenAI-exact decoding.

A from-scratch re-implementation (nothing of openai/whisper is imported) of:
  model.py      encoder / decoder forward pass (KV cache, cross-attention cache, q and k each scaled
                by d_head^-0.25, exact GELU, LayerNorm eps 1e-5, logits = x @ token_embedding.T);
  decoding.py   DecodingTask: SuppressBlank, SuppressTokens("-1"), ApplyTimestampRules,
                GreedyDecoder, BeamSearchDecoder (patience), MaximumLikelihoodRanker, no_speech_prob,
                avg_logprob, compression ratio, detect_language;
  transcribe.py the seek loop over 30 s windows (segments, single-timestamp ending, prompt from
                previous text with <|startofprev|>, initial prompt) and the temperature fallback.
Weights come from a model file (GGUF or whisper.cpp .bin, through ggml_files.py), dequantized to
float32 and computed in float64 by default (--dtype float32 gives whisper's own CPU arithmetic).

Goldens: `/usr/bin/python3 tests/reference/whisper_ref.py --models build/testmodels --out
tests/data/golden` (see tests/reference/README.md for what each file holds).
Self-test on in-memory random weights (no model file needed): `whisper_ref.py --self-test`.
"""
import argparse
import math
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tokenizer_ref import Tokenizer  # noqa: E402

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
LN_EPS = 1e-5

HPARAM_KEYS = ("n_mels", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_vocab",
               "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer")


# ================================================================================================
# Log-mel (whisper/audio.py log_mel_spectrogram; tests/reference/mel_ref.py does the same for one
# window and is cross-checked in the self-test)
# ================================================================================================

def log_mel_spectrogram(audio, filters, padding=0, dtype=torch.float64):
    """audio: float32 samples; filters: [n_mels, 201].  Returns [n_mels, n_frames] normalised with
    the maximum over everything computed (as whisper does for the padded signal)."""
    x = torch.from_numpy(np.asarray(audio, dtype=np.float32)).to(dtype)
    if padding > 0:
        x = F.pad(x, (0, padding))
    window = torch.hann_window(N_FFT, dtype=dtype)
    stft = torch.stft(x, N_FFT, HOP_LENGTH, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    mel = torch.from_numpy(np.asarray(filters, dtype=np.float32)).to(dtype) @ magnitudes
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def pad_or_trim(x, length):
    """Last axis cut to / zero-padded to length (whisper's pad_or_trim; zeros, also for mels)."""
    if x.shape[-1] > length:
        x = x[..., :length]
    if x.shape[-1] < length:
        x = F.pad(x, (0, length - x.shape[-1]))
    return x


def window_mel(audio, filters, n_frames, dtype=torch.float64):
    """One window as est_log_mel computes it: samples zero-padded / cut to n_frames * 160, i.e.
    whisper's log_mel_spectrogram(pad_or_trim(audio)) (= transcribe's mel for the first window
    before its frames past the audio are zeroed, see transcribe_mel)."""
    n = n_frames * HOP_LENGTH
    a = np.zeros(n, dtype=np.float32)
    m = min(n, len(audio))
    a[:m] = audio[:m]
    return log_mel_spectrogram(a, filters, 0, dtype)[:, :n_frames]


def synth_mel(n_mels, n_frames):
    """A deterministic, exactly representable test input: mel[m][t] = (k - 128) / 128 with
    k = (m * 7919 + t * 104729) mod 257 (dyadic, so C builds the same float32 bit for bit)."""
    m = np.arange(n_mels, dtype=np.int64)[:, None]
    t = np.arange(n_frames, dtype=np.int64)[None, :]
    k = (m * 7919 + t * 104729) % 257
    return ((k - 128) / 128.0).astype(np.float32)


# ================================================================================================
# Model (whisper/model.py arithmetic)
# ================================================================================================

class Whisper:
    """Forward pass over a dict of dequantized weights in PyTorch shapes (OpenAI state-dict names)."""

    def __init__(self, hp, weights, dtype=torch.float64):
        self.hp = dict(hp)
        self.dtype = dtype
        w = {}
        for name, arr in weights.items():
            t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).to(dtype)
            if name.endswith("conv1.bias") or name.endswith("conv2.bias"):
                t = t.reshape(-1)  # whisper.cpp stores conv biases as [n_state, 1]
            w[name] = t
        self.w = w
        self._check_shapes()

    def _check_shapes(self):
        hp, w = self.hp, self.w
        na, nt = hp["n_audio_state"], hp["n_text_state"]
        want = {
            "encoder.conv1.weight": (na, hp["n_mels"], 3), "encoder.conv1.bias": (na,),
            "encoder.conv2.weight": (na, na, 3), "encoder.conv2.bias": (na,),
            "encoder.positional_embedding": (hp["n_audio_ctx"], na),
            "encoder.ln_post.weight": (na,), "encoder.ln_post.bias": (na,),
            "decoder.token_embedding.weight": (hp["n_vocab"], nt),
            "decoder.positional_embedding": (hp["n_text_ctx"], nt),
            "decoder.ln.weight": (nt,), "decoder.ln.bias": (nt,),
        }

        def block(prefix, n, cross):
            attns = ["attn", "cross_attn"] if cross else ["attn"]
            for ln in ["attn_ln", "mlp_ln"] + (["cross_attn_ln"] if cross else []):
                want[prefix + ln + ".weight"] = (n,)
                want[prefix + ln + ".bias"] = (n,)
            for a in attns:
                for p in ("query", "key", "value", "out"):
                    want["%s%s.%s.weight" % (prefix, a, p)] = (n, n)
                    if p != "key":
                        want["%s%s.%s.bias" % (prefix, a, p)] = (n,)
            want[prefix + "mlp.0.weight"] = (4 * n, n)
            want[prefix + "mlp.0.bias"] = (4 * n,)
            want[prefix + "mlp.2.weight"] = (n, 4 * n)
            want[prefix + "mlp.2.bias"] = (n,)

        for i in range(hp["n_audio_layer"]):
            block("encoder.blocks.%d." % i, na, False)
        for i in range(hp["n_text_layer"]):
            block("decoder.blocks.%d." % i, nt, True)
        missing = sorted(set(want) - set(w))
        extra = sorted(set(w) - set(want))
        if missing or extra:
            raise ValueError("tensor set mismatch: missing %s, extra %s" % (missing[:5], extra[:5]))
        for k, s in want.items():
            if tuple(w[k].shape) != s:
                raise ValueError("%s: shape %s, want %s" % (k, tuple(w[k].shape), s))

    # ---- pieces ----
    def _ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.w[name + ".weight"], self.w[name + ".bias"], LN_EPS)

    def _lin(self, x, name, bias=True):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"] if bias else None)

    @staticmethod
    def _heads(x, n_head):
        """[B, T, n] -> [B, H, T, d]"""
        b, t, n = x.shape
        return x.view(b, t, n_head, n // n_head).permute(0, 2, 1, 3)

    @staticmethod
    def _attention(q, k, v, n_head, mask=None, kv_heads=False):
        """q [B, Tq, n], k/v [B, Tk, n] (or, with kv_heads, k already scaled as [B|1, H, d, Tk]
        and v as [B|1, H, Tk, d]); q and k each scaled by d_head^-0.25 as whisper does."""
        b, tq, n = q.shape
        scale = (n // n_head) ** -0.25
        q = Whisper._heads(q, n_head)
        if not kv_heads:
            k = (Whisper._heads(k, n_head) * scale).transpose(-1, -2)
            v = Whisper._heads(v, n_head)
        qk = (q * scale) @ k  # [B, H, Tq, Tk]
        if mask is not None:
            qk = qk + mask
        w = F.softmax(qk, dim=-1)
        return (w @ v).permute(0, 2, 1, 3).reshape(b, tq, n)

    def _mlp(self, x, prefix):
        h = self._lin(self._ln(x, prefix + "mlp_ln"), prefix + "mlp.0")
        return self._lin(F.gelu(h), prefix + "mlp.2")

    # ---- encoder ----
    def encode(self, mel):
        """mel [n_mels, 2 * n_audio_ctx] -> audio features [n_audio_ctx, n_audio_state]."""
        hp, w = self.hp, self.w
        x = torch.as_tensor(mel).to(self.dtype)[None]
        assert x.shape[1:] == (hp["n_mels"], 2 * hp["n_audio_ctx"]), "mel shape %s" % (tuple(x.shape),)
        x = F.gelu(F.conv1d(x, w["encoder.conv1.weight"], w["encoder.conv1.bias"], padding=1))
        x = F.gelu(F.conv1d(x, w["encoder.conv2.weight"], w["encoder.conv2.bias"], stride=2, padding=1))
        x = x.permute(0, 2, 1) + w["encoder.positional_embedding"]
        nh = hp["n_audio_head"]
        for i in range(hp["n_audio_layer"]):
            p = "encoder.blocks.%d." % i
            h = self._ln(x, p + "attn_ln")
            a = self._attention(self._lin(h, p + "attn.query"), self._lin(h, p + "attn.key", False),
                                self._lin(h, p + "attn.value"), nh)
            x = x + self._lin(a, p + "attn.out")
            x = x + self._mlp(x, p)
        return self._ln(x, "encoder.ln_post")[0]

    # ---- decoder ----
    def new_state(self, audio_features):
        """KV caches for one audio: cross-attention K/V computed once, self-attention K/V empty."""
        xa = torch.as_tensor(audio_features).to(self.dtype)[None]
        st = {"length": 0, "self_k": [], "self_v": [], "cross_k": [], "cross_v": []}
        for i in range(self.hp["n_text_layer"]):
            p = "decoder.blocks.%d.cross_attn." % i
            nh = self.hp["n_text_head"]
            scale = (self.hp["n_text_state"] // nh) ** -0.25
            k = self._heads(self._lin(xa, p + "key", False), nh) * scale
            st["cross_k"].append(k.transpose(-1, -2).contiguous())       # [1, H, d, n_audio_ctx]
            st["cross_v"].append(self._heads(self._lin(xa, p + "value"), nh).contiguous())  # [1, H, T, d]
            st["self_k"].append(None)
            st["self_v"].append(None)
        return st

    def decode_step(self, tokens, st):
        """tokens [B, T] (new tokens only) -> logits [B, T, n_vocab]; appends to the self-attn cache."""
        hp, w = self.hp, self.w
        tokens = torch.as_tensor(tokens, dtype=torch.long)
        bsz, t = tokens.shape
        off = st["length"]
        assert off + t <= hp["n_text_ctx"], "decoder context overflow"
        x = w["decoder.token_embedding.weight"][tokens] + w["decoder.positional_embedding"][off:off + t]
        qpos = torch.arange(off, off + t)[:, None]
        kpos = torch.arange(off + t)[None, :]
        mask = torch.zeros(t, off + t, dtype=self.dtype)
        mask[kpos.expand(t, -1) > qpos] = -math.inf
        nh = hp["n_text_head"]
        for i in range(hp["n_text_layer"]):
            p = "decoder.blocks.%d." % i
            h = self._ln(x, p + "attn_ln")
            q = self._lin(h, p + "attn.query")
            k = self._lin(h, p + "attn.key", False)
            v = self._lin(h, p + "attn.value")
            if st["self_k"][i] is not None:
                k = torch.cat([st["self_k"][i], k], dim=1)
                v = torch.cat([st["self_v"][i], v], dim=1)
            st["self_k"][i], st["self_v"][i] = k, v
            x = x + self._lin(self._attention(q, k, v, nh, mask), p + "attn.out")
            h = self._ln(x, p + "cross_attn_ln")
            q = self._lin(h, p + "cross_attn.query")
            ck, cv = st["cross_k"][i], st["cross_v"][i]
            if bsz > 1:   # a broadcast batched matmul is slow in torch: materialise per batch size
                key = ("cross_b", bsz, i)
                if key not in st:
                    st[key] = (ck.expand(bsz, -1, -1, -1).contiguous(),
                               cv.expand(bsz, -1, -1, -1).contiguous())
                ck, cv = st[key]
            x = x + self._lin(self._attention(q, ck, cv, nh, kv_heads=True), p + "cross_attn.out")
            x = x + self._mlp(x, p)
        st["length"] = off + t
        x = self._ln(x, "decoder.ln")
        return x @ w["decoder.token_embedding.weight"].t()

    @staticmethod
    def reorder_state(st, source_indices):
        """Beam search: row j of the new cache is row source_indices[j] of the old one."""
        idx = torch.tensor(source_indices, dtype=torch.long)
        for i in range(len(st["self_k"])):
            st["self_k"][i] = st["self_k"][i].index_select(0, idx)
            st["self_v"][i] = st["self_v"][i].index_select(0, idx)


# ================================================================================================
# Decoding (whisper/decoding.py)
# ================================================================================================

def compression_ratio(text):
    b = text.encode("utf-8")
    return len(b) / len(zlib.compress(b))


DEFAULT_OPTIONS = dict(
    task="transcribe", language=None, temperature=0.0, sample_len=None, best_of=None,
    beam_size=None, patience=None, length_penalty=None, prompt=None, prefix=None,
    suppress_tokens="-1", suppress_blank=True, without_timestamps=False,
    max_initial_timestamp=1.0, seed=0)


def decoding_options(**kw):
    o = dict(DEFAULT_OPTIONS)
    for k, v in kw.items():
        if k not in o:
            raise KeyError("unknown decoding option %s" % k)
        o[k] = v
    return o


def detect_language(model, tok, audio_features):
    """decoding.py detect_language for one audio: (argmax language token, {code: prob})."""
    if not tok.multilingual:
        raise ValueError("English-only model has no language tokens")
    st = model.new_state(audio_features)
    logits = model.decode_step([[tok.sot]], st)[0, 0].clone()
    mask = torch.ones(logits.shape[-1], dtype=torch.bool)
    mask[tok.all_language_tokens()] = False
    logits[mask] = -math.inf
    lang_token = int(logits.argmax())
    probs = logits.softmax(dim=-1)
    return lang_token, {c: float(probs[t]) for t, c in zip(tok.all_language_tokens(), tok.languages)}


class Trace:
    """Optional per-step record of decision margins (how close each choice was to flipping)."""

    def __init__(self, n_raw=8, k_raw=5):
        self.argmax_gap = []   # greedy: top1 - top2 of the filtered logits
        self.ts_gap = []       # timestamp rule: |logsumexp(ts logprobs) - max text logprob|
        self.raw_top = []      # first n_raw steps: (ids, values) of the k_raw largest raw logits, row 0
        self.n_raw, self.k_raw = n_raw, k_raw

    def min_argmax_gap(self):
        return min(self.argmax_gap) if self.argmax_gap else math.inf

    def min_ts_gap(self):
        return min(self.ts_gap) if self.ts_gap else math.inf


class DecodingTask:
    def __init__(self, model, tok, options, trace=None):
        o = options
        self.model, self.tok, self.o, self.trace = model, tok, o, trace
        if o["beam_size"] is not None and o["best_of"] is not None:
            raise ValueError("beam_size and best_of can't be given together")
        if o["temperature"] == 0 and o["best_of"] is not None:
            raise ValueError("best_of with greedy sampling (T=0) is not compatible")
        if o["patience"] is not None and o["beam_size"] is None:
            raise ValueError("patience requires beam_size to be given")
        if o["length_penalty"] is not None and not 0 <= o["length_penalty"] <= 1:
            raise ValueError("length_penalty (alpha) should be a value between 0 and 1")
        hp = model.hp
        self.language = o["language"] or "en"
        self.n_group = o["beam_size"] or o["best_of"] or 1
        self.n_ctx = hp["n_text_ctx"]
        self.sample_len = o["sample_len"] or hp["n_text_ctx"] // 2
        # the tokenizer's sot_sequence: [sot] for English-only, [sot, lang, task] multilingual
        self.sot_sequence = tok.sot_sequence(self.language, o["task"])
        if o["without_timestamps"]:
            self.sot_sequence = self.sot_sequence + [tok.no_timestamps]
        self.initial_tokens = self._initial_tokens()
        self.sample_begin = len(self.initial_tokens)
        self.sot_index = self.initial_tokens.index(tok.sot)
        self.suppress = self._suppress_tokens()
        self.max_initial_timestamp_index = None
        if not o["without_timestamps"] and o["max_initial_timestamp"]:
            precision = (2 * hp["n_audio_ctx"] * HOP_LENGTH / SAMPLE_RATE) / hp["n_audio_ctx"]
            self.max_initial_timestamp_index = round(o["max_initial_timestamp"] / precision)
        if o["beam_size"] is not None:
            self.patience = o["patience"] or 1.0
            self.max_candidates = round(o["beam_size"] * self.patience)
            assert self.max_candidates > 0
        self.gen = torch.Generator().manual_seed(o["seed"])

    def _initial_tokens(self):
        tok, o = self.tok, self.o
        tokens = list(self.sot_sequence)
        if o["prefix"]:
            p = o["prefix"]
            pt = tok.encode(" " + p.strip()) if isinstance(p, str) else list(p)
            if self.sample_len is not None:
                max_prefix_len = self.n_ctx // 2 - self.sample_len
                pt = pt[-max_prefix_len:]
            tokens = tokens + pt
        if o["prompt"]:
            p = o["prompt"]
            pt = tok.encode(" " + p.strip()) if isinstance(p, str) else list(p)
            tokens = [tok.sot_prev] + pt[-(self.n_ctx // 2 - 1):] + tokens
        return tokens

    def _suppress_tokens(self):
        tok = self.tok
        s = self.o["suppress_tokens"]
        if isinstance(s, str):
            s = [int(t) for t in s.split(",")] if s else []
        s = list(s) if s is not None else []
        if -1 in s:
            s = [t for t in s if t >= 0] + tok.non_speech_tokens()
        s += [tok.transcribe, tok.translate, tok.sot, tok.sot_prev, tok.sot_lm, tok.no_speech]
        return sorted(set(s))

    # ---- logit filters, in whisper's order; logits [B, V] modified in place ----
    def apply_filters(self, logits, tokens):
        tok = self.tok
        if self.o["suppress_blank"] and len(tokens[0]) == self.sample_begin:
            logits[:, tok.encode(" ") + [tok.eot]] = -math.inf
        if self.o["suppress_tokens"]:
            logits[:, self.suppress] = -math.inf
        if not self.o["without_timestamps"]:
            self._timestamp_rules(logits, tokens)

    def _timestamp_rules(self, logits, tokens):
        tok = self.tok
        tb = tok.timestamp_begin
        logits[:, tok.no_timestamps] = -math.inf
        for k in range(len(tokens)):
            seq = tokens[k][self.sample_begin:]
            last_was_ts = len(seq) >= 1 and seq[-1] >= tb
            penultimate_was_ts = len(seq) < 2 or seq[-2] >= tb
            if last_was_ts:
                if penultimate_was_ts:
                    logits[k, tb:] = -math.inf
                else:
                    logits[k, :tok.eot] = -math.inf
            stamps = [t for t in seq if t >= tb]
            if stamps:
                if last_was_ts and not penultimate_was_ts:
                    last = stamps[-1]
                else:
                    last = stamps[-1] + 1
                logits[k, tb:last] = -math.inf
        if len(tokens[0]) == self.sample_begin:
            logits[:, :tb] = -math.inf
            if self.max_initial_timestamp_index is not None:
                logits[:, tb + self.max_initial_timestamp_index + 1:] = -math.inf
        logprobs = F.log_softmax(logits, dim=-1)
        for k in range(len(tokens)):
            ts_lp = logprobs[k, tb:].logsumexp(dim=-1)
            text_max = logprobs[k, :tb].max()
            if self.trace is not None and torch.isfinite(ts_lp) and torch.isfinite(text_max):
                self.trace.ts_gap.append(float(abs(ts_lp - text_max)))
            if ts_lp > text_max:
                logits[k, :tb] = -math.inf

    # ---- token decoders ----
    def _greedy_update(self, tokens, logits, sum_logprobs):
        eot = self.tok.eot
        t = self.o["temperature"]
        if t == 0:
            nxt = logits.argmax(dim=-1)
            if self.trace is not None:
                top2 = logits.topk(2, dim=-1).values
                for k in range(logits.shape[0]):
                    if tokens[k][-1] != eot and torch.isfinite(top2[k, 1]):
                        self.trace.argmax_gap.append(float(top2[k, 0] - top2[k, 1]))
        else:
            probs = F.softmax(logits / t, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=self.gen)[:, 0]
        logprobs = F.log_softmax(logits, dim=-1)
        cur = logprobs[torch.arange(logprobs.shape[0]), nxt]
        last = torch.tensor([s[-1] for s in tokens])
        sum_logprobs += cur * (last != eot)
        nxt[last == eot] = eot
        tokens = [s + [int(n)] for s, n in zip(tokens, nxt)]
        return tokens, all(s[-1] == eot for s in tokens)

    def _beam_update(self, tokens, logits, sum_logprobs, state):
        eot, beam = self.tok.eot, self.o["beam_size"]
        logprobs = F.log_softmax(logits, dim=-1)
        scores, sources, finished = {}, {}, {}
        for j in range(beam):                      # one audio: rows 0..beam-1
            prefix = tokens[j]
            vals, ids = logprobs[j].topk(beam + 1)
            for lp, t in zip(vals, ids):
                seq = tuple(prefix + [int(t)])
                scores[seq] = float(sum_logprobs[j] + lp)
                sources[seq] = j
        next_tokens, source_indices = [], []
        saved = 0
        for seq in sorted(scores, key=scores.get, reverse=True):
            if seq[-1] == eot:
                finished[seq] = scores[seq]
            else:
                sum_logprobs[len(next_tokens)] = scores[seq]
                next_tokens.append(list(seq))
                source_indices.append(sources[seq])
                saved += 1
                if saved == beam:
                    break
        self.model.reorder_state(state, source_indices)
        for seq in sorted(finished, key=finished.get, reverse=True):
            if len(self.finished) >= self.max_candidates:
                break
            self.finished[seq] = finished[seq]
        return next_tokens, len(self.finished) >= self.max_candidates

    def run(self, audio_features):
        """Decode one audio.  Returns a dict like DecodingResult (plus sum_logprob)."""
        tok, model = self.tok, self.model
        tokens = [list(self.initial_tokens)]
        language, language_probs = self.language, None
        if self.o["language"] is None and tok.multilingual:
            lang_token, language_probs = detect_language(model, tok, audio_features)
            language = max(language_probs, key=language_probs.get)
            tokens[0][self.sot_index + 1] = lang_token
        tokens = [list(tokens[0]) for _ in range(self.n_group)]
        state = model.new_state(audio_features)
        sum_logprobs = torch.zeros(self.n_group, dtype=model.dtype)
        no_speech_prob = math.nan
        self.finished = {}
        first = True
        for i in range(self.sample_len):
            step = tokens if first else [s[-1:] for s in tokens]
            logits = model.decode_step(step, state)
            if i == 0:
                no_speech_prob = float(logits[0, self.sot_index].softmax(dim=-1)[tok.no_speech])
            first = False
            logits = logits[:, -1].clone()
            if self.trace is not None and len(self.trace.raw_top) < self.trace.n_raw:
                v, ix = logits[0].topk(self.trace.k_raw)
                self.trace.raw_top.append((ix.tolist(), v.tolist()))
            self.apply_filters(logits, tokens)
            if self.o["beam_size"] is not None:
                tokens, completed = self._beam_update(tokens, logits, sum_logprobs, state)
            else:
                tokens, completed = self._greedy_update(tokens, logits, sum_logprobs)
            if completed or len(tokens[0]) > self.n_ctx:
                break
        # finalize
        eot = tok.eot
        if self.o["beam_size"] is not None:
            cands = self.finished
            if len(cands) < self.o["beam_size"]:
                for j in list(np.argsort(sum_logprobs.numpy(), kind="quicksort"))[::-1]:
                    cands[tuple(tokens[j] + [eot])] = float(sum_logprobs[j])
                    if len(cands) >= self.o["beam_size"]:
                        break
            seqs = [list(s) for s in cands.keys()]
            lps = list(cands.values())
        else:
            seqs = [s + [eot] for s in tokens]
            lps = [float(x) for x in sum_logprobs]
        seqs = [s[self.sample_begin:s.index(eot, self.sample_begin)] for s in seqs]
        # MaximumLikelihoodRanker
        lp_alpha = self.o["length_penalty"]
        scores = []
        for lp, s in zip(lps, seqs):
            penalty = len(s) if lp_alpha is None else ((5 + len(s)) / 6) ** lp_alpha
            scores.append(lp / penalty)
        best = int(np.argmax(scores))
        out_tokens = seqs[best]
        text = tok.decode(out_tokens).strip()
        return dict(tokens=out_tokens, text=text, language=language, language_probs=language_probs,
                    sum_logprob=lps[best], avg_logprob=lps[best] / (len(out_tokens) + 1),
                    no_speech_prob=no_speech_prob, temperature=self.o["temperature"],
                    compression_ratio=compression_ratio(text))


def decode(model, tok, audio_features, trace=None, **options):
    return DecodingTask(model, tok, decoding_options(**options), trace).run(audio_features)


# ================================================================================================
# Long-form transcription (whisper/transcribe.py, without word timestamps / clip_timestamps)
# ================================================================================================

def transcribe_mel(audio, filters, n_frames, dtype=torch.float64):
    """transcribe()'s mel: the audio padded with one window of zeros, normalised with the global
    maximum; returns (mel [n_mels, content_frames + n_frames], content_frames)."""
    mel = log_mel_spectrogram(audio, filters, padding=n_frames * HOP_LENGTH, dtype=dtype)
    return mel, mel.shape[-1] - n_frames


def transcribe(model, tok, audio, filters, temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
               compression_ratio_threshold=2.4, logprob_threshold=-1.0, no_speech_threshold=0.6,
               condition_on_previous_text=True, initial_prompt=None, carry_initial_prompt=False,
               trace=None, **decode_options):
    hp = model.hp
    n_frames = 2 * hp["n_audio_ctx"]
    mel, content_frames = transcribe_mel(audio, filters, n_frames, model.dtype)
    decode_options = dict(decode_options)
    if decode_options.get("language") is None:
        if not tok.multilingual:
            decode_options["language"] = "en"
        else:
            af = model.encode(pad_or_trim(mel, n_frames))
            _, probs = detect_language(model, tok, af)
            decode_options["language"] = max(probs, key=probs.get)
    language = decode_options["language"]
    input_stride = n_frames // hp["n_audio_ctx"]                 # 2 mel frames per audio token
    time_precision = input_stride * HOP_LENGTH / SAMPLE_RATE     # 0.02 s
    temps = [temperature] if isinstance(temperature, (int, float)) else list(temperature)

    def decode_with_fallback(af):
        result, trail = None, []
        for t in temps:
            kw = dict(decode_options)
            if t > 0:
                kw.pop("beam_size", None)
                kw.pop("patience", None)
            else:
                kw.pop("best_of", None)
            result = decode(model, tok, af, trace=trace, temperature=t, **kw)
            needs_fallback = False
            if compression_ratio_threshold is not None and \
                    result["compression_ratio"] > compression_ratio_threshold:
                needs_fallback = True
            if logprob_threshold is not None and result["avg_logprob"] < logprob_threshold:
                needs_fallback = True
            if no_speech_threshold is not None and result["no_speech_prob"] > no_speech_threshold \
                    and logprob_threshold is not None and result["avg_logprob"] < logprob_threshold:
                needs_fallback = False
            trail.append(dict(temperature=t, avg_logprob=result["avg_logprob"],
                              compression_ratio=result["compression_ratio"],
                              no_speech_prob=result["no_speech_prob"], needs_fallback=needs_fallback))
            if not needs_fallback:
                break
        result["fallback"] = trail
        return result

    seek = 0
    all_tokens, all_segments = [], []
    prompt_reset_since = 0
    remaining_prompt_length = hp["n_text_ctx"] // 2 - 1
    if initial_prompt is not None:
        initial_prompt_tokens = tok.encode(" " + initial_prompt.strip())
        all_tokens.extend(initial_prompt_tokens)
        remaining_prompt_length -= len(initial_prompt_tokens)
    else:
        initial_prompt_tokens = []
    windows = []
    while seek < content_frames:
        time_offset = float(seek * HOP_LENGTH / SAMPLE_RATE)
        segment_size = min(n_frames, content_frames - seek)
        segment_duration = segment_size * HOP_LENGTH / SAMPLE_RATE
        mel_segment = pad_or_trim(mel[:, seek:seek + segment_size], n_frames)
        if carry_initial_prompt:
            nignored = max(len(initial_prompt_tokens), prompt_reset_since)
            remaining = all_tokens[nignored:][-remaining_prompt_length:]
            decode_options["prompt"] = initial_prompt_tokens + remaining
        else:
            decode_options["prompt"] = all_tokens[prompt_reset_since:]
        af = model.encode(mel_segment)
        result = decode_with_fallback(af)
        tokens = result["tokens"]
        windows.append(dict(seek=seek, segment_size=segment_size, prompt=list(decode_options["prompt"]),
                            result=result))
        if no_speech_threshold is not None:
            should_skip = result["no_speech_prob"] > no_speech_threshold
            if logprob_threshold is not None and result["avg_logprob"] > logprob_threshold:
                should_skip = False
            if should_skip:
                seek += segment_size
                continue
        current_segments = []

        def new_segment(start, end, toks):
            return dict(seek=seek, start=start, end=end, tokens=list(toks),
                        text=tok.decode([t for t in toks if t < tok.eot]),
                        temperature=result["temperature"], avg_logprob=result["avg_logprob"],
                        compression_ratio=result["compression_ratio"],
                        no_speech_prob=result["no_speech_prob"])

        is_ts = [t >= tok.timestamp_begin for t in tokens]
        single_timestamp_ending = is_ts[-2:] == [False, True]
        consecutive = [i + 1 for i in range(len(is_ts) - 1) if is_ts[i] and is_ts[i + 1]]
        if consecutive:
            slices = list(consecutive)
            if single_timestamp_ending:
                slices.append(len(tokens))
            last_slice = 0
            for cur in slices:
                st = tokens[last_slice:cur]
                start_pos = st[0] - tok.timestamp_begin
                end_pos = st[-1] - tok.timestamp_begin
                current_segments.append(new_segment(time_offset + start_pos * time_precision,
                                                    time_offset + end_pos * time_precision, st))
                last_slice = cur
            if single_timestamp_ending:
                seek += segment_size
            else:
                last_pos = tokens[last_slice - 1] - tok.timestamp_begin
                seek += last_pos * input_stride
        else:
            duration = segment_duration
            stamps = [t for t in tokens if t >= tok.timestamp_begin]
            if stamps and stamps[-1] != tok.timestamp_begin:
                duration = (stamps[-1] - tok.timestamp_begin) * time_precision
            current_segments.append(new_segment(time_offset, time_offset + duration, tokens))
            seek += segment_size
        for s in current_segments:
            if s["start"] == s["end"] or s["text"].strip() == "":
                s["text"] = ""
                s["tokens"] = []
        for s in current_segments:
            s["id"] = len(all_segments)
            all_segments.append(s)
        all_tokens.extend(t for s in current_segments for t in s["tokens"])
        if not condition_on_previous_text or result["temperature"] > 0.5:
            prompt_reset_since = len(all_tokens)
    return dict(text=tok.decode(all_tokens[len(initial_prompt_tokens):]), segments=all_segments,
                language=language, windows=windows, content_frames=content_frames)


# ================================================================================================
# Model files and goldens
# ================================================================================================

def _torch_shape(ne):
    """ggml ne (padded to 4 with 1) -> PyTorch shape: reversed, leading 1s dropped."""
    shape = list(reversed([int(x) for x in ne]))
    while len(shape) > 1 and shape[0] == 1:
        shape.pop(0)
    return tuple(shape)


def load_model(path):
    """Read a GGUF or whisper.cpp .bin Whisper file with tests/reference/ggml_files.py (the model
    helper's independent numpy readers) and dequantize every tensor to float32 (ggml block layouts).
    Returns dict(hp, weights {name: float32 array in PyTorch order}, mel_filters [n_mels, 201],
    text_bytes [bytes per id < eot], tokens_explicit {attribute: id} from GGUF keys, or {})."""
    import ggml_files as gf
    explicit = {}
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"GGUF":
        _, kv, tensors = gf.read_gguf(path)
        hp = {"n_vocab": kv["whisper.n_vocab"], "n_mels": kv["whisper.n_mels"]}
        for side in ("audio", "text"):
            for k in ("n_ctx", "n_state", "n_head", "n_layer"):
                hp["n_%s_%s" % (side, k[2:])] = int(kv["whisper.%s.%s" % (side, k)])
        n_text = 50256 + int(hp["n_vocab"] >= 51865)
        strings = kv["whisper.tokenizer.tokens"]
        text_bytes = [gf.gpt2_decode(b.decode("utf-8")) for b in strings[:n_text]]
        for k in ("eot", "sot", "translate", "transcribe", "sot_lm", "sot_prev", "no_speech",
                  "no_timestamps", "timestamp_begin", "lang_first"):
            if "whisper.token." + k in kv:
                explicit[k] = int(kv["whisper.token." + k])
        mel = None
    else:
        hp, mel, text_bytes, tensors = gf.read_bin(path)
        hp = {k: int(v) for k, v in hp.items() if k != "ftype"}
    weights = {}
    for t in tensors:
        arr = gf.dequantize(t.type, t.data, t.nelem).reshape(_torch_shape(t.ne))
        if t.name == "mel_filters":
            mel = arr
        else:
            weights[t.name] = arr
    hp = {k: int(hp[k]) for k in HPARAM_KEYS}
    return dict(hp=hp, weights=weights, mel_filters=np.asarray(mel, dtype=np.float32).reshape(hp["n_mels"], -1),
                text_bytes=text_bytes, tokens_explicit=explicit)


def read_wav16(path):
    """16 kHz mono PCM16 -> float32 / 32768 (whisper's load_audio scaling)."""
    import wave
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == SAMPLE_RATE
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def _f32s(x):
    """float32-exact text: %.9g of the float32 value."""
    return " ".join("%.9g" % v for v in np.asarray(x, dtype=np.float32).reshape(-1).tolist())


class GoldenWriter:
    """KEY COUNT VALUE... lines (floats as %.9g of float32, so they parse back bit-exact)."""

    def __init__(self):
        self.lines = []

    def comment(self, text):
        for ln in text.split("\n"):
            self.lines.append("# " + ln)

    def ints(self, key, vals):
        vals = [int(v) for v in vals]
        self.lines.append("%s %d %s" % (key, len(vals), " ".join(map(str, vals))) if vals else
                          "%s 0" % key)

    def floats(self, key, vals):
        vals = np.asarray(vals, dtype=np.float64).reshape(-1)
        self.lines.append("%s %d %s" % (key, len(vals), _f32s(vals)) if len(vals) else "%s 0" % key)

    def float64s(self, key, vals):
        """Scalars that are sums / probabilities: %.17g (the C side compares with a tolerance)."""
        vals = np.asarray(vals, dtype=np.float64).reshape(-1)
        self.lines.append("%s %d %s" % (key, len(vals), " ".join("%.17g" % v for v in vals)))

    def text(self):
        return "\n".join(self.lines) + "\n"


ENC_ROWS = (0, 1, 100, 749, 1499)
LOGIT_TOPK = 100
LOGIT_STRIDE = 64


def _enc_block(g, key, af):
    n_ctx = af.shape[0]
    rows = [r for r in ENC_ROWS if r < n_ctx]
    a = af.double()
    g.ints(key + ".rows", rows)
    g.floats(key, a[rows])
    g.float64s(key + ".sum", [float(a.sum())])
    g.float64s(key + ".sumsq", [float((a * a).sum())])
    g.float64s(key + ".absmax", [float(a.abs().max())])


def _logits_block(g, key, logits, tokens):
    lg = logits.double()
    g.ints(key + ".input", tokens)
    vals, ids = lg.topk(LOGIT_TOPK)
    g.ints(key + ".top_ids", ids.tolist())
    g.floats(key + ".top_vals", vals)
    g.ints(key + ".stride", [LOGIT_STRIDE])
    g.floats(key + ".strided", lg[::LOGIT_STRIDE])
    g.float64s(key + ".sum", [float(lg.sum())])
    g.float64s(key + ".sumsq", [float((lg * lg).sum())])


def _clip(text, n=300):
    return text if len(text) <= n else text[:n] + "... (%d chars)" % len(text)


def _result_block(g, key, r, trace, tok):
    g.ints(key + ".tokens", r["tokens"])
    g.float64s(key + ".sum_logprob", [r["sum_logprob"]])
    g.float64s(key + ".avg_logprob", [r["avg_logprob"]])
    g.float64s(key + ".no_speech_prob", [r["no_speech_prob"]])
    g.float64s(key + ".compression_ratio", [r["compression_ratio"]])
    if trace is not None:
        g.float64s(key + ".min_argmax_gap", [trace.min_argmax_gap()])
        g.float64s(key + ".min_ts_gap", [trace.min_ts_gap()])
        g.ints(key + ".step_top_ids", [i for ids, _ in trace.raw_top for i in ids])
        g.floats(key + ".step_top_vals", [v for _, vals in trace.raw_top for v in vals])
    g.comment("%s text: %s" % (key, _clip(repr(tok.decode_with_timestamps(r["tokens"])))))


def golden_for_model(path, wav, dtype=torch.float64, check32=True, log=print):
    """All goldens for one model file, as the text of one golden file."""
    import hashlib
    mf = load_model(path)
    hp = mf["hp"]
    tok = Tokenizer(hp["n_vocab"], mf["text_bytes"])
    for name, want in mf.get("tokens_explicit", {}).items():
        got = getattr(tok, name)
        if got != want:
            raise ValueError("%s: file says %s = %d, layout gives %d" % (path, name, want, got))
    model = Whisper(hp, mf["weights"], dtype)
    filters = np.asarray(mf["mel_filters"], dtype=np.float32)
    n_frames = 2 * hp["n_audio_ctx"]
    audio = read_wav16(wav)
    g = GoldenWriter()
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    g.comment("whisper_ref.py golden for %s (sha256 %s)" % (os.path.basename(path), digest))
    g.comment("regenerate: /usr/bin/python3 tests/reference/whisper_ref.py --models build/testmodels "
              "--out tests/data/golden")
    g.comment("format: KEY COUNT VALUE... ; floats are %.9g of float32 values (exact), or %.17g "
              "for sums/probabilities; computed in " + str(dtype).replace("torch.", ""))
    g.ints("model.bytes", [os.path.getsize(path)])
    g.ints("hparams", [hp[k] for k in HPARAM_KEYS])
    g.comment("hparams order: " + " ".join(HPARAM_KEYS))
    g.ints("specials", [tok.eot, tok.sot, tok.lang_first, tok.translate, tok.transcribe, tok.sot_lm,
                        tok.sot_prev, tok.no_speech, tok.no_timestamps, tok.timestamp_begin])
    g.comment("specials order: eot sot lang_first translate transcribe sot_lm sot_prev no_speech "
              "no_timestamps timestamp_begin")
    task0 = DecodingTask(model, tok, decoding_options())
    g.ints("suppress", task0.suppress)
    g.ints("blank", tok.encode(" "))
    sot_seq = tok.sot_sequence("en", "transcribe")

    # 1. synthetic mel: encoder + first-step logits, independent of any front end
    mel = synth_mel(hp["n_mels"], n_frames)
    af = model.encode(mel)
    _enc_block(g, "synth.enc", af)
    st = model.new_state(af)
    _logits_block(g, "synth.logits", model.decode_step([sot_seq], st)[0, -1], sot_seq)
    log("  synth: encoder absmax %.4g" % float(af.abs().max()))

    # 2. jfk.wav, one window as est_log_mel computes it (samples zero-padded to the window)
    wm = window_mel(audio, filters, n_frames, dtype)
    g.ints("jfk.n_samples", [len(audio)])
    g.float64s("jfk.mel.sum", [float(wm.sum())])
    g.float64s("jfk.mel.sumsq", [float((wm * wm).sum())])
    g.float64s("jfk.mel.max", [float(wm.max())])
    af = model.encode(wm)
    _enc_block(g, "jfk.enc", af)
    st = model.new_state(af)
    _logits_block(g, "jfk.logits", model.decode_step([sot_seq], st)[0, -1], sot_seq)
    if tok.multilingual:
        lt, probs = detect_language(model, tok, af)
        g.ints("jfk.lang.token", [lt])
        g.float64s("jfk.lang.prob", [probs[tok.languages[lt - tok.lang_first]]])
        g.comment("detected language: %s" % tok.languages[lt - tok.lang_first])
    runs = [("greedy_ts", {}), ("greedy_nots", dict(without_timestamps=True)),
            ("beam5_ts", dict(beam_size=5)), ("beam5_nots", dict(beam_size=5, without_timestamps=True))]
    results = {}
    for key, opts in runs:
        tr = Trace()
        r = decode(model, tok, af, trace=tr, language="en", **opts)
        results[key] = r
        _result_block(g, "jfk." + key, r, tr if key.startswith("greedy") else None, tok)
        log("  jfk.%s: %d tokens, avg_logprob %.3f, min gaps %.3g / %.3g" %
            (key, len(r["tokens"]), r["avg_logprob"], tr.min_argmax_gap(), tr.min_ts_gap()))

    # 3. transcribe() seek loop, temperature 0 only (sampling is not reproducible across
    #    implementations), on jfk (1 window) and jfk x3 (33 s, several windows)
    for key, a in (("tr_jfk", audio), ("tr_jfk3", np.concatenate([audio, audio, audio]))):
        res = transcribe(model, tok, a, filters, temperature=0.0, language="en")
        g.ints(key + ".content_frames", [res["content_frames"]])
        g.ints(key + ".n_windows", [len(res["windows"])])
        for i, wdw in enumerate(res["windows"]):
            r = wdw["result"]
            g.ints("%s.win%d.seek" % (key, i), [wdw["seek"], wdw["segment_size"]])
            g.ints("%s.win%d.prompt" % (key, i), wdw["prompt"])
            g.ints("%s.win%d.tokens" % (key, i), r["tokens"])
            g.float64s("%s.win%d.stats" % (key, i), [r["avg_logprob"], r["no_speech_prob"],
                                                     r["compression_ratio"]])
        g.ints(key + ".n_segments", [len(res["segments"])])
        for i, s in enumerate(res["segments"]):
            g.float64s("%s.seg%d.time" % (key, i), [s["seek"], s["start"], s["end"]])
            g.ints("%s.seg%d.tokens" % (key, i), s["tokens"])
        g.comment("%s text: %s" % (key, _clip(repr(res["text"]))))
        log("  %s: %d windows, %d segments" % (key, len(res["windows"]), len(res["segments"])))

    # float32 arithmetic (whisper's own CPU path) must give the same decisions
    if check32 and dtype != torch.float32:
        m32 = Whisper(hp, mf["weights"], torch.float32)
        af32 = m32.encode(window_mel(audio, filters, n_frames, torch.float32))
        same = []
        for key, opts in runs:
            r32 = decode(m32, tok, af32, language="en", **opts)
            same.append(r32["tokens"] == results[key]["tokens"])
        g.comment("float32 recomputation gives identical tokens: %s" %
                  ", ".join("%s=%s" % (k, s) for (k, _), s in zip(runs, same)))
        log("  float32 recomputation identical tokens: %s" % same)
    return g.text()


# ================================================================================================
# Self-test on in-memory random weights (no model file needed)
# ================================================================================================

def random_weights(hp, seed):
    """Seeded random Whisper weights in PyTorch shapes (norm weights ~1, biases small)."""
    rng = np.random.default_rng(seed)
    w = {}

    def lin(name, n_out, n_in, bias=True):
        w[name + ".weight"] = rng.normal(0, 1 / math.sqrt(n_in), (n_out, n_in))
        if bias:
            w[name + ".bias"] = rng.normal(0, 0.1, n_out)

    def ln(name, n):
        w[name + ".weight"] = 1 + rng.normal(0, 0.1, n)
        w[name + ".bias"] = rng.normal(0, 0.1, n)

    na, nt, nm = hp["n_audio_state"], hp["n_text_state"], hp["n_mels"]
    w["encoder.conv1.weight"] = rng.normal(0, 1 / math.sqrt(3 * nm), (na, nm, 3))
    w["encoder.conv1.bias"] = rng.normal(0, 0.1, (na, 1))      # whisper.cpp's [n, 1] form
    w["encoder.conv2.weight"] = rng.normal(0, 1 / math.sqrt(3 * na), (na, na, 3))
    w["encoder.conv2.bias"] = rng.normal(0, 0.1, na)
    w["encoder.positional_embedding"] = rng.normal(0, 0.5, (hp["n_audio_ctx"], na))
    for i in range(hp["n_audio_layer"]):
        p = "encoder.blocks.%d." % i
        ln(p + "attn_ln", na)
        ln(p + "mlp_ln", na)
        for q in ("query", "key", "value", "out"):
            lin(p + "attn." + q, na, na, q != "key")
        lin(p + "mlp.0", 4 * na, na)
        lin(p + "mlp.2", na, 4 * na)
    ln("encoder.ln_post", na)
    w["decoder.token_embedding.weight"] = rng.normal(0, 1.0, (hp["n_vocab"], nt))
    w["decoder.positional_embedding"] = rng.normal(0, 0.5, (hp["n_text_ctx"], nt))
    for i in range(hp["n_text_layer"]):
        p = "decoder.blocks.%d." % i
        for n in ("attn_ln", "cross_attn_ln", "mlp_ln"):
            ln(p + n, nt)
        for a in ("attn", "cross_attn"):
            for q in ("query", "key", "value", "out"):
                lin(p + a + "." + q, nt, nt, q != "key")
        lin(p + "mlp.0", 4 * nt, nt)
        lin(p + "mlp.2", nt, 4 * nt)
    ln("decoder.ln", nt)
    return {k: v.astype(np.float32) for k, v in w.items()}


def _naive_forward(hp, weights, mel, tokens):
    """A second, loop-level numpy float64 implementation (no torch, no KV cache, per-head loops)
    of the encoder and the full-sequence decoder, to cross-check Whisper.encode/decode_step."""
    W = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    erf = np.vectorize(math.erf)

    def gelu(x):
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    def layer_norm(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + LN_EPS) * W[name + ".weight"] + W[name + ".bias"]

    def linear(x, name, bias=True):
        y = x @ W[name + ".weight"].T
        return y + W[name + ".bias"] if bias else y

    def conv(x, name, stride):   # x [c_in, T], kernel 3, padding 1
        wt, b = W[name + ".weight"], W[name + ".bias"].reshape(-1)
        c_in, t_in = x.shape
        xp = np.zeros((c_in, t_in + 2))
        xp[:, 1:-1] = x
        t_out = (t_in + 2 - 3) // stride + 1
        y = np.zeros((wt.shape[0], t_out))
        for t in range(t_out):
            for k in range(3):
                y[:, t] += wt[:, :, k] @ xp[:, t * stride + k]
        return y + b[:, None]

    def attention(q, k, v, n_head, causal):
        tq, n = q.shape
        d = n // n_head
        out = np.zeros_like(q)
        for h in range(n_head):
            sl = slice(h * d, (h + 1) * d)
            s = (q[:, sl] @ k[:, sl].T) / math.sqrt(d)
            if causal:
                s = s + np.triu(np.full(s.shape, -np.inf), 1)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            out[:, sl] = s @ v[:, sl]
        return out

    def block(x, p, n_head, xa):
        h = layer_norm(x, p + "attn_ln")
        x = x + linear(attention(linear(h, p + "attn.query"), linear(h, p + "attn.key", False),
                                 linear(h, p + "attn.value"), n_head, xa is not None),
                       p + "attn.out")
        if xa is not None:
            h = layer_norm(x, p + "cross_attn_ln")
            x = x + linear(attention(linear(h, p + "cross_attn.query"),
                                     linear(xa, p + "cross_attn.key", False),
                                     linear(xa, p + "cross_attn.value"), n_head, False),
                           p + "cross_attn.out")
        h = layer_norm(x, p + "mlp_ln")
        return x + linear(gelu(linear(h, p + "mlp.0")), p + "mlp.2")

    x = gelu(conv(np.asarray(mel, dtype=np.float64), "encoder.conv1", 1))
    x = gelu(conv(x, "encoder.conv2", 2)).T + W["encoder.positional_embedding"]
    for i in range(hp["n_audio_layer"]):
        x = block(x, "encoder.blocks.%d." % i, hp["n_audio_head"], None)
    xa = layer_norm(x, "encoder.ln_post")
    y = W["decoder.token_embedding.weight"][tokens] + W["decoder.positional_embedding"][:len(tokens)]
    for i in range(hp["n_text_layer"]):
        y = block(y, "decoder.blocks.%d." % i, hp["n_text_head"], xa)
    y = layer_norm(y, "decoder.ln")
    return xa, y @ W["decoder.token_embedding.weight"].T


class _Scripted:
    """A stand-in model whose next-token logits come from a function of the tokens so far, to test
    the decoding rules in isolation."""

    def __init__(self, n_vocab, fn, n_text_ctx=448, n_audio_ctx=1500):
        self.hp = dict(n_vocab=n_vocab, n_text_ctx=n_text_ctx, n_audio_ctx=n_audio_ctx)
        self.dtype = torch.float64
        self.fn = fn

    def new_state(self, af):
        return {"seqs": None}

    def decode_step(self, tokens, st):
        if st["seqs"] is None:
            st["seqs"] = [list(t) for t in tokens]
        else:
            st["seqs"] = [s + list(t) for s, t in zip(st["seqs"], tokens)]
        out = torch.zeros(len(tokens), len(tokens[0]), self.hp["n_vocab"], dtype=torch.float64)
        for b, s in enumerate(st["seqs"]):
            for j in range(len(tokens[0])):
                out[b, j] = torch.as_tensor(self.fn(s[:len(s) - len(tokens[0]) + j + 1]))
        return out

    @staticmethod
    def reorder_state(st, idx):
        st["seqs"] = [list(st["seqs"][i]) for i in idx]


def _self_test(vocab_path, tiktoken_multi=None):
    import json
    import re
    from tokenizer_ref import gpt2_string_to_bytes, gpt2_bpe_classic, pretokenize
    fails = []

    def check(cond, what):
        print("  %-4s %s" % ("ok" if cond else "FAIL", what))
        if not cond:
            fails.append(what)

    # ---- tokenizer ----
    print("tokenizer (GPT-2 vocabulary from %s):" % vocab_path)
    enc = json.load(open(os.path.join(vocab_path, "encoder.json"), encoding="utf-8"))
    inv = {v: k for k, v in enc.items()}
    text_bytes = [gpt2_string_to_bytes(inv[i]) for i in range(50256)]
    tok = Tokenizer(51864, text_bytes)
    check(tok.encode(" the") == [262] and tok.encode("Hello world") == [15496, 995], "known GPT-2 ids")
    published_tiny_en = [
        1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 357,
        366, 438, 532, 685, 705, 796, 930, 1058, 1220, 1267, 1279, 1303, 1343, 1377, 1391, 1635,
        1782, 1875, 2162, 2361, 2488, 3467, 4008, 4211, 4600, 4808, 5299, 5855, 6329, 7203, 9609,
        9959, 10563, 10786, 11420, 11709, 11907, 13163, 13697, 13700, 14808, 15306, 16410, 16791,
        17992, 19203, 19510, 20724, 22305, 22935, 27007, 30109, 30420, 33409, 34949, 40283, 40493,
        40549, 47282, 49146]
    check(tok.non_speech_tokens() == published_tiny_en,
          "non_speech_tokens == the suppress list published for whisper tiny.en (%d ids)"
          % len(published_tiny_en))
    t2 = DecodingTask(_Scripted(51864, None), tok, decoding_options())
    check(t2.suppress == sorted(published_tiny_en + [50257, 50357, 50358, 50359, 50360, 50361]),
          "DecodingTask suppress list (+ sot, translate, transcribe, sot_lm, sot_prev, nospeech)")
    merges = {}
    with open(os.path.join(vocab_path, "vocab.bpe"), encoding="utf-8") as f:
        for i, line in enumerate(f.read().split("\n")[1:]):
            if line:
                a, b = line.split(" ")
                merges[(gpt2_string_to_bytes(a), gpt2_string_to_bytes(b))] = i
    corpus = open(os.path.join(HERE, "tokenizer_ref.py"), encoding="utf-8").read()
    corpus += " And so my fellow Americans, ask not what your country can do for you 12345 ♪♪ «ça» "
    corpus += "naïve café 日本語のテキスト Ünïcödé don't we'll I'm they're  \n\n  tabs\tand  spaces  "
    pieces = pretokenize(corpus)
    check("".join(pieces) == corpus, "pretokenize covers the text")
    ascii_re = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")
    asc = "".join(c for c in corpus if ord(c) < 128)
    check(pretokenize(asc) == ascii_re.findall(asc), "pretokenize == the GPT-2 regex on ASCII text")
    bad = [p for p in pieces
           if [tok.text_bytes[i] for i in tok._bpe(p.encode())] != gpt2_bpe_classic(p.encode(), merges)]
    check(not bad, "rank-by-id BPE == classic vocab.bpe merges on %d pieces %s" % (len(pieces), bad[:3]))
    check(tok.decode(tok.encode(corpus)) == corpus, "encode/decode round trip")
    tm = Tokenizer(51865, text_bytes + [b"<filler>"])
    tv = Tokenizer(51866, text_bytes + [b"<filler>"])
    check((tm.eot, tm.sot, tm.lang_first, tm.translate, tm.transcribe, tm.no_speech, tm.no_timestamps,
           tm.timestamp_begin) == (50257, 50258, 50259, 50358, 50359, 50362, 50363, 50364),
          "multilingual (51865) special ids")
    check((tv.translate, tv.timestamp_begin, tv.n_languages, tv.language_token("yue")) ==
          (50359, 50365, 100, 50358), "large-v3 (51866) special ids")
    check(tok.decode_with_timestamps([50363, 262, 50413, 50256]) == "<|0.00|> the<|1.00|><|endoftext|>",
          "special textual forms")
    if tiktoken_multi:
        import base64
        ranks = {}
        with open(tiktoken_multi) as f:
            for line in f:
                if line.strip():
                    b64, r = line.split()
                    ranks[int(r)] = base64.b64decode(b64)
        mt = Tokenizer(51865, [ranks[i] for i in range(len(ranks))])
        published_multi = [
            1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93,
            359, 503, 522, 542, 873, 893, 902, 918, 922, 931, 1350, 1853, 1982, 2460, 2627, 3246,
            3253, 3268, 3536, 3846, 3961, 4183, 4667, 6585, 6647, 7273, 9061, 9383, 10428, 10929,
            11938, 12033, 12331, 12562, 13793, 14157, 14635, 15265, 15618, 16553, 16604, 18362,
            18956, 20075, 21675, 22520, 26130, 26161, 26435, 28279, 29464, 31650, 32302, 32470,
            36865, 42863, 47425, 49870, 50254]
        check(mt.non_speech_tokens() == published_multi,
              "multilingual vocabulary: non_speech_tokens == the published multilingual list")

    # ---- forward pass vs the naive implementation ----
    print("forward pass (random weights):")
    hp = dict(n_mels=8, n_audio_ctx=12, n_audio_state=16, n_audio_head=2, n_audio_layer=2,
              n_vocab=51864, n_text_ctx=16, n_text_state=16, n_text_head=4, n_text_layer=2)
    wts = random_weights(hp, 1234)
    mel = np.random.default_rng(5).normal(0, 1, (hp["n_mels"], 2 * hp["n_audio_ctx"])).astype(np.float32)
    toks = [50257, 50363, 464, 2068, 7586, 21831, 50313]
    xa_ref, logits_ref = _naive_forward(hp, wts, mel, toks)
    m = Whisper(hp, wts, torch.float64)
    xa = m.encode(mel)
    check(float((xa - torch.from_numpy(xa_ref)).abs().max()) < 1e-10, "encoder == naive (float64)")
    st = m.new_state(xa)
    inc = [m.decode_step([toks[:3]], st)[0]]
    for t in toks[3:]:
        inc.append(m.decode_step([[t]], st)[0])
    inc = torch.cat(inc).numpy()
    check(np.abs(inc - logits_ref).max() < 1e-9, "incremental (KV cache) decoder == naive full sequence")
    st = m.new_state(xa)
    full = m.decode_step([toks, toks[:1] + toks[2:] + [11]], st)
    check(np.abs(full[0].numpy() - logits_ref).max() < 1e-9, "batched rows are independent")
    m.reorder_state(st, [1, 0])
    after = m.decode_step([[13], [13]], st)
    st0 = m.new_state(xa)
    ref1 = m.decode_step([toks + [13]], st0)[0, -1]
    check(float((after[1, 0] - ref1).abs().max()) < 1e-9, "reorder_state moves the cache rows")
    m32 = Whisper(hp, wts, torch.float32)
    d32 = float((m32.encode(mel).double() - xa).abs().max())
    check(d32 < 1e-4, "float32 encoder within %.2g of float64" % d32)

    # ---- decoding rules on scripted logits ----
    print("decoding rules (scripted logits):")
    V, tb, eot = 51864, tok.timestamp_begin, tok.eot
    task = DecodingTask(_Scripted(V, None), tok, decoding_options())

    def allowed(hist, base=None):
        lg = torch.zeros(1, V, dtype=torch.float64) if base is None else base.clone()[None]
        task.apply_filters(lg, [hist])
        return torch.isfinite(lg[0])

    a = allowed([tok.sot])
    check(not a[:tb].any() and a[tb:tb + 51].all() and not a[tb + 51:].any(),
          "first step: only <|0.00|>..<|1.00|>")
    base = torch.zeros(V, dtype=torch.float64)
    base[100] = base[eot] = 10.0     # keep text above the timestamp mass (ln 1501 = 7.3)
    a = allowed([tok.sot, tb + 5, 100], base)
    check(not a[tb:tb + 6].any() and a[tb + 6] and a[100] and a[eot] and not a[tok.no_timestamps]
          and a[220], "after text: timestamps must not decrease (+1 rule)")
    a = allowed([tok.sot, tb + 5, 100, tb + 9], base)
    check(not a[:eot].any() and a[eot] and not a[tb:tb + 9].any() and a[tb + 9] and a[tb + 10],
          "after a single timestamp: timestamp or eot only, >= the last one")
    a = allowed([tok.sot, tb + 5, 100, tb + 9, tb + 9])
    check(not a[tb:].any() and a[100] and a[eot], "after a timestamp pair: no timestamp")
    base = torch.zeros(V, dtype=torch.float64)
    base[100] = 5.0                  # lse of 1501 zero-logit timestamps = ln 1501 = 7.3 > 5
    a = allowed([tok.sot, tb + 5, 100, 200], base)
    check(not a[:tb].any() and a[tb + 6:].all(), "timestamp mass > best text: text suppressed")
    base[100] = 8.0
    a = allowed([tok.sot, tb + 5, 100, 200], base)
    check(a[100] and a[tb + 6], "best text > timestamp mass: both allowed")
    tnt = DecodingTask(_Scripted(V, None), tok, decoding_options(without_timestamps=True))
    lg = torch.zeros(1, V, dtype=torch.float64)
    tnt.apply_filters(lg, [[tok.sot, tok.no_timestamps]])
    a = torch.isfinite(lg[0])
    check(not a[220] and not a[eot] and a[tb:].all() and a[100] and not a[tok.sot],
          "without timestamps: blank + eot suppressed at the start, no timestamp rules")

    # greedy on a script: text 100, 101, 102 then eot; timestamps off
    def script(seq):
        lg = torch.full((V,), -5.0, dtype=torch.float64)
        n = len(seq) - 2
        lg[[100, 101, 102, eot][min(n, 3)]] = 3.0
        return lg
    r = decode(_Scripted(V, script), tok, None, without_timestamps=True)
    lp = 0.0
    for hist in ([tok.sot, tok.no_timestamps], [tok.sot, tok.no_timestamps, 100],
                 [tok.sot, tok.no_timestamps, 100, 101], [tok.sot, tok.no_timestamps, 100, 101, 102]):
        lg = script(hist)[None].clone()
        tnt.apply_filters(lg, [hist])
        n_ok = int(torch.isfinite(lg[0]).sum())
        lp += 3.0 - math.log(math.exp(3.0) + (n_ok - 1) * math.exp(-5.0))
    check(r["tokens"] == [100, 101, 102] and abs(r["sum_logprob"] - lp) < 1e-9 and
          abs(r["avg_logprob"] - lp / 4) < 1e-9, "greedy: tokens, sum_logprob (eot step included), avg = sum/(n+1)")
    r = decode(_Scripted(V, lambda s: script([0, 0])), tok, None, without_timestamps=True, sample_len=5)
    check(r["tokens"] == [100] * 5, "greedy: sample_len reached -> sequence cut, eot implied")
    r = decode(_Scripted(V, lambda s: script([0, 0])), tok, None, without_timestamps=True,
               beam_size=3, sample_len=4)
    check(r["tokens"] == [100] * 4, "beam: unfinished beams fill the candidates at the limit")

    def script2(seq):   # best single step is 200 then eot, but 300 leads to a much better path
        lg = torch.full((V,), -10.0, dtype=torch.float64)
        n = len(seq) - 2
        if n == 0:
            lg[200], lg[300] = 2.0, 1.5
        elif seq[-1] == 200:
            lg[201:211] = 0.0            # flat: every continuation is unlikely
        elif seq[-1] == 300:
            lg[301] = 9.0
        else:
            lg[eot] = 9.0
        return lg
    rg = decode(_Scripted(V, script2), tok, None, without_timestamps=True)
    rb = decode(_Scripted(V, script2), tok, None, without_timestamps=True, beam_size=5)
    check(rg["tokens"][:1] == [200] and rb["tokens"] == [300, 301],
          "beam search finds the better path greedy misses (%s vs %s)" % (rg["tokens"][:3], rb["tokens"]))

    # ---- mel against mel_ref.py ----
    try:
        import mel_ref
    except ImportError:
        mel_ref = None
    wav = os.path.join(HERE, "..", "data", "jfk.wav")
    if mel_ref is not None and os.path.exists(wav):
        print("log-mel vs tests/reference/mel_ref.py:")
        audio = mel_ref.read_wav(wav)
        filt = mel_ref.mel_filters(80)
        raw, mx = mel_ref.log_mel_raw(audio, filt, torch.float64)
        ref = mel_ref.normalize(raw, mx)
        mine, cf = transcribe_mel(audio, filt, 3000)
        check(np.abs(mine[:, :3000].numpy() - ref).max() < 1e-12 and cf == len(audio) // HOP_LENGTH,
              "transcribe mel (first window) == mel_ref")
        w = window_mel(audio, filt, 3000).numpy()
        check(np.abs(w - ref).max() < 1e-12,
              "window mel (samples padded to 30 s) == transcribe mel's first window (audio <= 30 s)")
    print("self-test: %d failed" % len(fails))
    return 1 if fails else 0


GOLDEN_MODELS = ("mini-en-f32.gguf", "mini-multi-f16.gguf", "mini-v3-f16.gguf")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="build/testmodels", help="dir with the generated test models")
    ap.add_argument("--out", default="tests/data/golden", help="where the whisper_*.txt goldens go")
    ap.add_argument("--model", action="append", default=None,
                    help="only these model files (path; repeatable); default: %s" % ", ".join(GOLDEN_MODELS))
    ap.add_argument("--wav", default=os.path.join(HERE, "..", "data", "jfk.wav"))
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--no-check32", action="store_true", help="skip the float32 token recomputation")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 behaves best on a shared box)")
    ap.add_argument("--self-test", action="store_true", help="run the checks on random weights and exit")
    ap.add_argument("--vocab", default=None, help="dir with encoder.json + vocab.bpe (self-test)")
    ap.add_argument("--tiktoken", default=None,
                    help="self-test: also check a multilingual.tiktoken rank file (not committed)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.self_test:
        vocab = a.vocab
        if vocab is None:
            for d in (os.path.join(HERE, "..", "..", "models", "vocab"), "/work/shared/data"):
                if os.path.exists(os.path.join(d, "encoder.json")) and os.path.exists(os.path.join(d, "vocab.bpe")):
                    vocab = d
                    break
        return _self_test(vocab, a.tiktoken)
    paths = a.model or [os.path.join(a.models, m) for m in GOLDEN_MODELS]
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    os.makedirs(a.out, exist_ok=True)
    for p in paths:
        if not os.path.exists(p):
            print("%s: missing (run make models / whisper-gen --test-set)" % p, file=sys.stderr)
            return 1
        stem = os.path.basename(p).rsplit(".", 1)[0]
        print("%s:" % p)
        text = golden_for_model(p, a.wav, dtype, not a.no_check32)
        out = os.path.join(a.out, "whisper_%s.txt" % stem)
        with open(out + ".part", "w") as f:
            f.write(text)
        os.replace(out + ".part", out)
        print("  -> %s (%d bytes)" % (out, len(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
