#!/usr/bin/python3
"""tokenizer_ref.py - Whisper's tokenizer as the decoding reference needs it (no tiktoken here).

What it reproduces (openai/whisper tokenizer.py on top of tiktoken, re-implemented):
  * the special-token layout derived from n_vocab (English-only 51864, multilingual 51865 / 51866),
    with tiktoken's textual forms ("<|endoftext|>", "<|en|>", ..., "<|0.00|>" .. "<|30.00|>");
  * encode(): GPT-2 pre-tokenisation (the regex below, hand-scanned with unicodedata categories
    because Python's re lacks \\p{L} / \\p{N}), then tiktoken's byte-pair merge where a byte
    string's rank is its token id: repeatedly merge the leftmost adjacent pair whose concatenation
    has the lowest rank (a piece that is itself a token is taken whole);
  * decode(): ids < timestamp_begin, bytes concatenated, UTF-8 with errors="replace" (specials below
    timestamp_begin decode to their textual form, as tiktoken does);
  * non_speech_tokens(): tokenizer.py's list and rule;
  * sot_sequence(): [sot] for English-only, [sot, language, task] for multilingual.

Token byte strings come from the model file: GGUF stores GPT-2 byte-level strings (encoder.json
style, "\\u0120the"), whisper.cpp .bin the raw bytes.  Only ids < eot are mergeable ranks.
"""
import unicodedata

LANGUAGES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur "
    "hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si "
    "km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln "
    "ha ba jw su yue").split()
assert len(LANGUAGES) == 100

N_TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|>


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character table (byte b -> chr)."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) +
            list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_B2U = bytes_to_unicode()
_U2B = {c: b for b, c in _B2U.items()}


def gpt2_string_to_bytes(s):
    """'\u0120the' -> b' the'.  Raises KeyError for characters outside the byte table."""
    return bytes(_U2B[c] for c in s)


def bytes_to_gpt2_string(b):
    return "".join(_B2U[x] for x in b)


# ---- GPT-2 pre-tokeniser -------------------------------------------------------------------------
# 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+

def _is_l(c):
    return unicodedata.category(c).startswith("L")


def _is_n(c):
    return unicodedata.category(c).startswith("N")


def _is_s(c):
    return c.isspace()


def _is_o(c):
    return not (_is_s(c) or _is_l(c) or _is_n(c))


_CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")


def pretokenize(text):
    """Split text exactly as the GPT-2 regex above does (leftmost-first alternation)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        # 's 't 're 've 'm 'll 'd
        if c == "'":
            hit = next((k for k in _CONTRACTIONS if text.startswith(k, i + 1)), None)
            if hit is not None:
                out.append(text[i:i + 1 + len(hit)])
                i += 1 + len(hit)
                continue
        j = i + 1 if c == " " else i
        matched = False
        for cls in (_is_l, _is_n, _is_o):  # ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
            if j < n and cls(text[j]):
                k = j
                while k < n and cls(text[k]):
                    k += 1
                out.append(text[i:k])
                i = k
                matched = True
                break
        if matched:
            continue
        # c is whitespace here (a lone ' ' before whitespace/end, or other whitespace)
        k = i
        while k < n and _is_s(text[k]):
            k += 1
        assert k > i, "pretokenize: no rule matched %r" % text[i:]
        if k == n:                       # \s+(?!\S) at the end of the text
            out.append(text[i:k])
            i = k
        elif k - i >= 2:                 # \s+(?!\S): leave the last space for the next word
            out.append(text[i:k - 1])
            i = k - 1
        else:                            # \s+
            out.append(text[i:k])
            i = k
    return out


class Tokenizer:
    """Whisper tokenizer over a model file's vocabulary.

    text_bytes: list of bytes, index = token id, for ids < eot (longer lists are cut; the rest of
    the id space up to n_vocab is the special layout)."""

    def __init__(self, n_vocab, text_bytes):
        self.n_vocab = n_vocab
        self.multilingual = n_vocab >= 51865
        self.n_languages = n_vocab - 51765 - int(self.multilingual)
        self.eot = 50256 + int(self.multilingual)
        self.sot = self.eot + 1
        self.lang_first = self.sot + 1
        self.translate = self.lang_first + self.n_languages
        self.transcribe = self.translate + 1
        self.sot_lm = self.translate + 2
        self.sot_prev = self.translate + 3
        self.no_speech = self.translate + 4
        self.no_timestamps = self.translate + 5
        self.timestamp_begin = self.translate + 6
        assert self.timestamp_begin + N_TIMESTAMPS == n_vocab, "unexpected Whisper vocabulary size"
        assert len(text_bytes) >= self.eot, "vocabulary shorter than eot"
        self.text_bytes = [bytes(b) for b in text_bytes[:self.eot]]
        self.ranks = {}
        for i, b in enumerate(self.text_bytes):
            self.ranks.setdefault(b, i)
        self.languages = LANGUAGES[:self.n_languages]
        names = ["<|endoftext|>", "<|startoftranscript|>"]
        names += ["<|%s|>" % c for c in self.languages]
        names += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
                  "<|nospeech|>", "<|notimestamps|>"]
        names += ["<|%.2f|>" % (i * 0.02) for i in range(N_TIMESTAMPS)]
        assert self.eot + len(names) == n_vocab
        self.special_names = names

    # ---- ids <-> bytes ----
    def token_bytes(self, t):
        if t < self.eot:
            return self.text_bytes[t]
        return self.special_names[t - self.eot].encode("utf-8")

    def language_token(self, code):
        return self.lang_first + self.languages.index(code)

    def all_language_tokens(self):
        return list(range(self.lang_first, self.lang_first + self.n_languages))

    def sot_sequence(self, language="en", task="transcribe"):
        if not self.multilingual:
            return [self.sot]
        seq = [self.sot]
        if language is not None:
            seq.append(self.language_token(language))
        if task is not None:
            seq.append(self.transcribe if task == "transcribe" else self.translate)
        return seq

    # ---- BPE ----
    def _bpe(self, piece):
        """tiktoken's byte_pair_merge with rank = token id."""
        if piece in self.ranks:
            return [self.ranks[piece]]
        parts = [piece[i:i + 1] for i in range(len(piece))]
        while len(parts) > 1:
            best, best_i = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best, best_i = r, i
            if best is None:
                break
            parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
        return [self.ranks[p] for p in parts]

    def encode(self, text):
        ids = []
        for piece in pretokenize(text):
            ids.extend(self._bpe(piece.encode("utf-8")))
        return ids

    def decode_bytes(self, ids):
        return b"".join(self.token_bytes(t) for t in ids)

    def decode(self, ids):
        """tokenizer.decode: drops timestamps, keeps other specials' text, UTF-8 errors='replace'."""
        return self.decode_bytes([t for t in ids if t < self.timestamp_begin]).decode(
            "utf-8", errors="replace")

    def decode_with_timestamps(self, ids):
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ---- suppression lists ----
    def non_speech_tokens(self):
        symbols = list('"#()*+/:;<=>@[\\]^_`{|}~\u300c\u300d\u300e\u300f')
        symbols += ("<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} "
                    "\u266a\u266a \u266a\u266a\u266a").split()
        miscellaneous = set("\u2669\u266a\u266b\u266c\u266d\u266e\u266f")
        result = {self.encode(" -")[0], self.encode(" '")[0]}
        for symbol in symbols + sorted(miscellaneous):
            for tokens in (self.encode(symbol), self.encode(" " + symbol)):
                if len(tokens) == 1 or symbol in miscellaneous:
                    result.add(tokens[0])
        return sorted(result)


def gpt2_bpe_classic(word_bytes, merges):
    """The original GPT-2 encoder.py algorithm over vocab.bpe merge ranks (a cross-check of the
    rank-by-id merge above): returns the list of merged byte strings."""
    word = [bytes([b]) for b in word_bytes]
    while len(word) > 1:
        pairs = [(merges.get((word[i], word[i + 1]), None), i) for i in range(len(word) - 1)]
        pairs = [p for p in pairs if p[0] is not None]
        if not pairs:
            break
        best = min(pairs)[0]
        first = next(i for r, i in pairs if r == best)
        a, b = word[first], word[first + 1]
        new, i = [], 0
        while i < len(word):   # merge every occurrence of (a, b), left to right
            if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                new.append(a + b)
                i += 2
            else:
                new.append(word[i])
                i += 1
        word = new
    return word
