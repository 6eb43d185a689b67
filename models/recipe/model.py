#!/usr/bin/python3
"""model.py - the Whisper architecture at kiosk size, with OpenAI's state-dict names (issue 6).

Written from the architecture description in notes/contract_small.md: conv front end (k3 pad1, then
k3 stride2 pad1, exact GELU), sinusoidal encoder positions, pre-LN residual blocks, LayerNorm eps
1e-5, q and k each scaled by d_head^-0.25, learned decoder positions, causal decoder self-attention,
cross-attention to the encoder output, logits = x @ token_embedding.weight.T.  Attention is our own
(no nn.Transformer, no key-padding masks: encoder inputs are fixed-length windows, and decoder padding
sits after eot where the causal mask keeps it out of every real position's view).

Vocabulary (character level): 0 = space, 1 = "'", 2..27 = a..z, 28..37 = 0..9, eot 38, sot 39, en 40,
translate 41, transcribe 42, sot_lm 43, sot_prev 44, no_speech 45, no_timestamps 46, timestamps 47..
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

CHARS = " '" + "abcdefghijklmnopqrstuvwxyz" + "0123456789"
EOT, SOT, LANG_EN, TRANSLATE, TRANSCRIBE, SOT_LM, SOT_PREV, NO_SPEECH, NO_TIMESTAMPS, TS_BEGIN = range(38, 48)


@dataclass
class Dims:
    n_mels: int = 80
    n_audio_ctx: int = 300
    n_audio_state: int = 192
    n_audio_head: int = 4
    n_audio_layer: int = 4
    n_text_ctx: int = 128
    n_text_state: int = 192
    n_text_head: int = 4
    n_text_layer: int = 3

    @property
    def n_vocab(self):
        return TS_BEGIN + self.n_audio_ctx + 1

    def asdict(self):
        d = asdict(self)
        d["n_vocab"] = self.n_vocab
        return d


def encode_text(t):
    return [CHARS.index(c) for c in t]


def decode_text(ids):
    return "".join(CHARS[i] for i in ids if i < len(CHARS))


def sinusoids(length, channels, max_timescale=10000):
    """whisper.model.sinusoids: [sin | cos] halves, log-spaced timescales."""
    assert channels % 2 == 0
    inc = math.log(max_timescale) / (channels // 2 - 1)
    inv = torch.exp(-inc * torch.arange(channels // 2, dtype=torch.float32))
    t = torch.arange(length, dtype=torch.float32)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


def _bmm(a, b):
    """Batched matmul as a loop of 2-D matmuls: Debian torch 1.13's CPU bmm is 5-10x slower here."""
    return torch.stack([x @ y for x, y in zip(a.unbind(0), b.unbind(0))])


class MultiHeadAttention(nn.Module):
    def __init__(self, n_state, n_head):
        super().__init__()
        self.n_head = n_head
        self.query = nn.Linear(n_state, n_state)
        self.key = nn.Linear(n_state, n_state, bias=False)
        self.value = nn.Linear(n_state, n_state)
        self.out = nn.Linear(n_state, n_state)

    def forward(self, x, xa=None, causal=False):
        # x: [B, T, S]; xa: [B, Ta, S] for cross-attention
        src = x if xa is None else xa
        q, k, v = self.query(x), self.key(src), self.value(src)
        B, T, S = q.shape
        Tk = k.shape[1]
        H = self.n_head
        D = S // H
        scale = D ** -0.25
        q = (q.view(B, T, H, D).transpose(1, 2) * scale).reshape(B * H, T, D)    # [BH, T, D]
        k = (k.view(B, Tk, H, D).transpose(1, 2) * scale).reshape(B * H, Tk, D)  # [BH, Tk, D]
        v = v.view(B, Tk, H, D).transpose(1, 2).reshape(B * H, Tk, D)          # [BH, Tk, D]
        w = _bmm(q, k.transpose(1, 2))                                           # [BH, T, Tk]
        if causal:
            mask = torch.ones(T, Tk, dtype=torch.bool, device=w.device).triu(1 + Tk - T)
            w = w.masked_fill(mask, float("-inf"))
        w = torch.softmax(w, dim=-1)
        o = _bmm(w, v).view(B, H, T, D).transpose(1, 2).reshape(B, T, S)
        return self.out(o)


class Block(nn.Module):
    def __init__(self, n_state, n_head, cross):
        super().__init__()
        self.attn = MultiHeadAttention(n_state, n_head)
        self.attn_ln = nn.LayerNorm(n_state, eps=1e-5)
        self.cross_attn = MultiHeadAttention(n_state, n_head) if cross else None
        self.cross_attn_ln = nn.LayerNorm(n_state, eps=1e-5) if cross else None
        self.mlp = nn.Sequential(nn.Linear(n_state, 4 * n_state), nn.GELU(), nn.Linear(4 * n_state, n_state))
        self.mlp_ln = nn.LayerNorm(n_state, eps=1e-5)

    def forward(self, x, xa=None, causal=False):
        x = x + self.attn(self.attn_ln(x), causal=causal)
        if self.cross_attn is not None:
            x = x + self.cross_attn(self.cross_attn_ln(x), xa)
        return x + self.mlp(self.mlp_ln(x))


def conv1d_k3(x, w, b, stride):
    """Conv1d, kernel 3, padding 1, on time-major input as im2col + matmul.
    x [B, T, C], w [S, C, 3] (nn.Conv1d layout), b [S] -> [B, T_out, S].  Used instead of nn.Conv1d:
    Debian torch 1.13's oneDNN conv1d backward returns garbage (zeros or 1e3..1e14 values) when its
    incoming gradient is non-contiguous, as the permute after conv2 makes it - the cause of the
    NaN / exploding-gradient steps seen in training."""
    B, T, C = x.shape
    S = w.shape[0]
    xp = F.pad(x, (0, 0, 1, 1))
    t_out = (T - 1) // stride + 1
    cols = torch.cat([xp[:, k:k + stride * (t_out - 1) + 1:stride, :] for k in range(3)], dim=2)
    return cols @ w.permute(2, 1, 0).reshape(3 * C, S) + b


class AudioEncoder(nn.Module):
    def __init__(self, d):
        super().__init__()
        S = d.n_audio_state
        self.conv1 = nn.Conv1d(d.n_mels, S, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(S, S, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positional_embedding", sinusoids(d.n_audio_ctx, S))
        self.blocks = nn.ModuleList([Block(S, d.n_audio_head, False) for _ in range(d.n_audio_layer)])
        self.ln_post = nn.LayerNorm(S, eps=1e-5)

    def forward(self, mel):
        # mel: [B, n_mels, 2 * n_audio_ctx] -> [B, n_audio_ctx, S]
        x = mel.transpose(1, 2)                                              # [B, 2L, n_mels]
        x = F.gelu(conv1d_k3(x, self.conv1.weight, self.conv1.bias, 1))      # [B, 2L, S]
        x = F.gelu(conv1d_k3(x, self.conv2.weight, self.conv2.bias, 2))      # [B, L, S]
        x = x + self.positional_embedding[:x.shape[1]]  # training may crop the window's silent tail
        for b in self.blocks:
            x = b(x)
        return self.ln_post(x)


class TextDecoder(nn.Module):
    def __init__(self, d):
        super().__init__()
        S = d.n_text_state
        self.token_embedding = nn.Embedding(d.n_vocab, S)
        self.positional_embedding = nn.Parameter(torch.empty(d.n_text_ctx, S))
        self.blocks = nn.ModuleList([Block(S, d.n_text_head, True) for _ in range(d.n_text_layer)])
        self.ln = nn.LayerNorm(S, eps=1e-5)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)

    def forward(self, tokens, xa):
        # tokens: [B, T] -> logits [B, T, V]
        T = tokens.shape[1]
        x = self.token_embedding(tokens) + self.positional_embedding[:T]
        for b in self.blocks:
            x = b(x, xa, causal=True)
        x = self.ln(x)
        return x @ self.token_embedding.weight.T


class Whisper(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.dims = d
        self.encoder = AudioEncoder(d)
        self.decoder = TextDecoder(d)

    def forward(self, mel, tokens):
        return self.decoder(tokens, self.encoder(mel))

    @torch.no_grad()
    def greedy(self, mel, max_len=120, timestamps=False):
        """Batch greedy decode with the training prompt; returns lists of text ids."""
        xa = self.encoder(mel)
        B = mel.shape[0]
        p = [SOT, LANG_EN, TRANSCRIBE, TS_BEGIN if timestamps else NO_TIMESTAMPS]
        toks = torch.tensor([p] * B, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        for _ in range(max_len):
            logits = self.decoder(toks, xa)[:, -1]
            logits[:, TS_BEGIN:] = float("-inf") if not timestamps else logits[:, TS_BEGIN:]
            nxt = logits.argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, EOT), nxt)
            toks = torch.cat([toks, nxt[:, None]], 1)
            done |= nxt == EOT
            if bool(done.all()) or toks.shape[1] >= self.dims.n_text_ctx:
                break
        out = []
        for row in toks[:, len(p):].tolist():
            ids = []
            for t in row:
                if t == EOT:
                    break
                if t < EOT:
                    ids.append(t)
            out.append(ids)
        return out


@torch.no_grad()
def greedy_cached(model, mel, max_len=110):
    """Batch greedy decode (prompt [sot, en, transcribe, notimestamps]; only text tokens and eot
    allowed) with cross-attention K/V computed once and a self-attention K/V cache.
    mel [B, n_mels, 2 * n_audio_ctx] -> list of text-id lists."""
    dec = model.decoder
    xa = model.encoder(mel)
    B = mel.shape[0]
    S = xa.shape[2]
    cross = [(b.cross_attn.key(xa), b.cross_attn.value(xa)) for b in dec.blocks]
    cache = [[None, None] for _ in dec.blocks]

    def attend(att, q, k, v, causal_len=None):
        H = att.n_head
        D = S // H
        sc = D ** -0.25
        T, Tk = q.shape[1], k.shape[1]
        qh = (q.view(B, T, H, D).transpose(1, 2) * sc)
        kh = (k.view(B, Tk, H, D).transpose(1, 2) * sc)
        vh = v.view(B, Tk, H, D).transpose(1, 2)
        w = qh @ kh.transpose(-1, -2)
        if T > 1:
            mask = torch.ones(T, Tk, dtype=torch.bool).triu(1 + Tk - T)
            w = w.masked_fill(mask, float("-inf"))
        o = torch.softmax(w, -1) @ vh
        return att.out(o.transpose(1, 2).reshape(B, T, S))

    def step(tok, pos):
        # tok [B, T] new tokens at positions pos..pos+T-1 -> logits of the last one [B, V]
        x = dec.token_embedding(tok) + dec.positional_embedding[pos:pos + tok.shape[1]]
        for i, b in enumerate(dec.blocks):
            h = b.attn_ln(x)
            k, v = b.attn.key(h), b.attn.value(h)
            if cache[i][0] is not None:
                k = torch.cat([cache[i][0], k], 1)
                v = torch.cat([cache[i][1], v], 1)
            cache[i] = [k, v]
            x = x + attend(b.attn, b.attn.query(h), k, v)
            h = b.cross_attn_ln(x)
            x = x + attend(b.cross_attn, b.cross_attn.query(h), cross[i][0], cross[i][1])
            x = x + b.mlp(b.mlp_ln(x))
        return (dec.ln(x[:, -1]) @ dec.token_embedding.weight.T)

    prompt = torch.tensor([[SOT, LANG_EN, TRANSCRIBE, NO_TIMESTAMPS]] * B)
    logits = step(prompt, 0)
    pos = prompt.shape[1]
    out = [[] for _ in range(B)]
    done = [False] * B
    for _ in range(min(max_len, model.dims.n_text_ctx - pos)):
        logits[:, EOT + 1:] = float("-inf")
        nxt = logits.argmax(-1)
        for j in range(B):
            if not done[j]:
                if int(nxt[j]) == EOT:
                    done[j] = True
                else:
                    out[j].append(int(nxt[j]))
        if all(done):
            break
        logits = step(nxt[:, None], pos)
        pos += 1
    return out
