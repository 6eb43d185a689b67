#!/usr/bin/python3
"""A seeded random Hugging Face Whisper checkpoint, and a check of its conversion (stdlib only).

  make_hf_checkpoint.py DIR [--seed N] [--dtype f32|f16|bf16] [--vocab models/vocab/encoder.json]
      writes DIR/model.safetensors, config.json, vocab.json, added_tokens.json the way
      transformers' WhisperForConditionalGeneration.save_pretrained lays them out: HF tensor names
      (model.encoder.layers.N.self_attn.q_proj.weight, fc1, ..., no k_proj bias, proj_out tied and
      not stored), a config.json with the usual extra keys (floats, nested lists, null, booleans),
      vocab.json sorted by key with \\u escapes (json.dumps' default), added_tokens.json with the
      English-only special tokens (old <|nocaptions|> spelling) and the 1501 timestamps.
      Shape: the test suite's "mini" (d_model 64, 2 heads, 2 layers, 80 mels, contexts 1500/448,
      English-only vocabulary of 51864).

  make_hf_checkpoint.py --verify DIR OUT.gguf
      checks `edge-stt convert DIR OUT.gguf --type f32`: every stored tensor, renamed to OpenAI's
      names by a map written here independently of core/convert_hf.c, is in OUT.gguf with the same
      shape and, for F32 sources, the same bytes (F16/BF16 sources: the same values widened); the
      only extra tensor is mel_filters; the token strings below eot are vocab.json's and the
      special-token keys are the ids of their forms.  Exit status 0 when all holds.

Written for tests/test_cli.sh, which runs it where python3 exists (CI installs python3 without
numpy or torch, hence the standard library only).
"""
import array
import json
import os
import random
import struct
import sys

D, HEADS, LAYERS, MELS, A_CTX, T_CTX = 64, 2, 2, 80, 1500, 448
N_VOCAB, EOT = 51864, 50256
LANGS = ("en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg "
         "lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so "
         "af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su").split()


def special_tokens():
    """English-only layout: form -> id for every id above eot."""
    toks = {"<|startoftranscript|>": EOT + 1}
    for i, code in enumerate(LANGS):
        toks[f"<|{code}|>"] = EOT + 2 + i
    nxt = EOT + 2 + len(LANGS)
    for form in ("<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
                 "<|notimestamps|>"):
        toks[form] = nxt
        nxt += 1
    for i in range(1501):
        toks[f"<|{i * 0.02:.2f}|>"] = nxt + i
    assert nxt + 1501 == N_VOCAB
    return toks


def hf_tensors():
    """(HF name, PyTorch shape, kind) in the order transformers lists the state dict."""
    out = [("model.encoder.conv1.weight", (D, MELS, 3), "conv"), ("model.encoder.conv1.bias", (D,), "bias"),
           ("model.encoder.conv2.weight", (D, D, 3), "conv"), ("model.encoder.conv2.bias", (D,), "bias"),
           ("model.encoder.embed_positions.weight", (A_CTX, D), "pos")]

    def attn(pre):
        for p in ("k_proj", "v_proj", "q_proj", "out_proj"):
            out.append((f"{pre}.{p}.weight", (D, D), "linear"))
            if p != "k_proj":
                out.append((f"{pre}.{p}.bias", (D,), "bias"))

    def ln(pre):
        out.append((f"{pre}.weight", (D,), "norm"))
        out.append((f"{pre}.bias", (D,), "bias"))

    def mlp(pre):
        out.extend([(f"{pre}.fc1.weight", (4 * D, D), "linear"), (f"{pre}.fc1.bias", (4 * D,), "bias"),
                    (f"{pre}.fc2.weight", (D, 4 * D), "linear"), (f"{pre}.fc2.bias", (D,), "bias")])

    for l in range(LAYERS):
        pre = f"model.encoder.layers.{l}"
        attn(pre + ".self_attn")
        ln(pre + ".self_attn_layer_norm")
        mlp(pre)
        ln(pre + ".final_layer_norm")
    ln("model.encoder.layer_norm")
    out.append(("model.decoder.embed_tokens.weight", (N_VOCAB, D), "emb"))
    out.append(("model.decoder.embed_positions.weight", (T_CTX, D), "pos"))
    for l in range(LAYERS):
        pre = f"model.decoder.layers.{l}"
        attn(pre + ".self_attn")
        ln(pre + ".self_attn_layer_norm")
        attn(pre + ".encoder_attn")
        ln(pre + ".encoder_attn_layer_norm")
        mlp(pre)
        ln(pre + ".final_layer_norm")
    ln("model.decoder.layer_norm")
    return out


def values(rng, shape, kind):
    n = 1
    for s in shape:
        n *= s
    fan_in = shape[1] * (shape[2] if len(shape) > 2 else 1) if len(shape) > 1 else 1
    scale = {"linear": 1.0 / fan_in ** 0.5, "conv": 1.0 / fan_in ** 0.5, "emb": 0.5, "pos": 0.1, "bias": 0.02,
             "norm": 0.1}[kind]
    base = 1.0 if kind == "norm" else 0.0
    r = rng.random
    return array.array("f", (base + (2.0 * r() - 1.0) * scale for _ in range(n)))


def encode(vals, dtype):
    if dtype == "f32":
        if sys.byteorder != "little":
            vals.byteswap()
        return vals.tobytes()
    if dtype == "f16":
        return struct.pack(f"<{len(vals)}e", *vals)
    u = array.array("I", vals.tobytes())  # bf16: the high half of each f32 (truncated)
    return struct.pack(f"<{len(u)}H", *(x >> 16 for x in u))


def write(out_dir, seed, dtype, vocab_path):
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(seed)
    st_dtype = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[dtype]
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, shape, kind in hf_tensors():
        b = encode(values(rng, shape, kind), dtype)
        header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(out_dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    config = {
        "_name_or_path": "edge-stt/whisper-mini-random", "activation_dropout": 0.0, "activation_function": "gelu",
        "apply_spec_augment": False, "architectures": ["WhisperForConditionalGeneration"],
        "attention_dropout": 0.0, "begin_suppress_tokens": [220, EOT], "bos_token_id": EOT,
        "classifier_proj_size": 256, "d_model": D, "decoder_attention_heads": HEADS, "decoder_ffn_dim": 4 * D,
        "decoder_layerdrop": 0.0, "decoder_layers": LAYERS, "decoder_start_token_id": EOT + 1, "dropout": 0.0,
        "encoder_attention_heads": HEADS, "encoder_ffn_dim": 4 * D, "encoder_layerdrop": 0.0,
        "encoder_layers": LAYERS, "eos_token_id": EOT, "forced_decoder_ids": [[1, EOT + 107], [2, EOT + 106]],
        "init_std": 0.02, "is_encoder_decoder": True, "mask_time_prob": 0.05, "max_length": 448,
        "max_source_positions": A_CTX, "max_target_positions": T_CTX, "median_filter_width": 7,
        "model_type": "whisper", "num_hidden_layers": LAYERS, "num_mel_bins": MELS, "pad_token_id": EOT,
        "scale_embedding": False, "suppress_tokens": [1, 2, 7, 8, 9, 10, 14, 25], "torch_dtype": "float32",
        "transformers_version": "4.36.0.dev0", "use_cache": True, "use_weighted_layer_sum": False,
        "vocab_size": N_VOCAB, "alignment_heads": None, "seed_note": f"random weights, seed {seed}, {dtype}",
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    assert vocab.get("<|endoftext|>") == EOT and len(vocab) == EOT + 1
    with open(os.path.join(out_dir, "vocab.json"), "w") as f:
        json.dump(vocab, f, indent=2, sort_keys=True)
    with open(os.path.join(out_dir, "added_tokens.json"), "w") as f:
        json.dump(special_tokens(), f, indent=2)


# ---- --verify: a minimal GGUF reader (strings, scalars, arrays) -------------------------
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_gguf(path):
    buf = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)[0]
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        n = take("<Q")
        s = buf[pos:pos + n]
        pos += n
        return s

    def value(t):
        if t in SCALARS:
            return take(SCALARS[t])
        if t == 8:
            return string()
        et, n = take("<I"), take("<Q")
        return [value(et) for _ in range(n)]

    assert buf[:4] == b"GGUF"
    pos = 4
    take("<I")
    n_t, n_kv = take("<Q"), take("<Q")
    kv = {}
    for _ in range(n_kv):
        k = string().decode()
        kv[k] = value(take("<I"))
    align = kv.get("general.alignment", 32)
    infos = []
    for _ in range(n_t):
        name = string().decode()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        infos.append((name, ne, take("<I"), take("<Q")))
    start = (pos + align - 1) // align * align
    tensors = {}
    for name, ne, t, off in infos:
        n = 1
        for x in ne:
            n *= x
        assert t == 0, f"{name}: type {t}, want f32 (convert --type f32)"
        tensors[name] = (ne, buf[start + off:start + off + 4 * n])
    return kv, tensors


def openai_name(hf):
    """HF name -> OpenAI state-dict name (an independent spelling of the map)."""
    s = hf[len("model."):] if hf.startswith("model.") else hf
    whole = {"encoder.embed_positions.weight": "encoder.positional_embedding",
             "decoder.embed_positions.weight": "decoder.positional_embedding",
             "decoder.embed_tokens.weight": "decoder.token_embedding.weight"}
    if s in whole:
        return whole[s]
    side, rest = s.split(".", 1)
    if rest.startswith("layer_norm."):
        return f"{side}.{'ln_post' if side == 'encoder' else 'ln'}.{rest.split('.')[-1]}"
    if rest.startswith("conv"):
        return s
    _, layer, part = rest.split(".", 2)
    module, leaf = part.rsplit(".", 1)
    parts = {"self_attn.q_proj": "attn.query", "self_attn.k_proj": "attn.key", "self_attn.v_proj": "attn.value",
             "self_attn.out_proj": "attn.out", "encoder_attn.q_proj": "cross_attn.query",
             "encoder_attn.k_proj": "cross_attn.key", "encoder_attn.v_proj": "cross_attn.value",
             "encoder_attn.out_proj": "cross_attn.out", "self_attn_layer_norm": "attn_ln",
             "encoder_attn_layer_norm": "cross_attn_ln", "final_layer_norm": "mlp_ln", "fc1": "mlp.0", "fc2": "mlp.2"}
    return f"{side}.blocks.{layer}.{parts[module]}.{leaf}"


def widen(raw, dtype):
    if dtype == "F32":
        return raw
    if dtype == "F16":
        return struct.pack(f"<{len(raw) // 2}f", *struct.unpack(f"<{len(raw) // 2}e", raw))
    return struct.pack(f"<{len(raw) // 2}I", *(h << 16 for h in struct.unpack(f"<{len(raw) // 2}H", raw)))


def verify(ckpt, gguf):
    kv, tensors = read_gguf(gguf)
    with open(os.path.join(ckpt, "model.safetensors"), "rb") as f:
        blob = f.read()
    hl = struct.unpack_from("<Q", blob)[0]
    header = json.loads(blob[8:8 + hl])
    data = blob[8 + hl:]
    seen = {"mel_filters"}
    for hf, e in header.items():
        if hf == "__metadata__":
            continue
        name = openai_name(hf)
        assert name in tensors, f"{hf} -> {name} is not in {gguf}"
        ne, raw = tensors[name]
        assert ne == list(reversed(e["shape"])), f"{name}: ne {ne}, shape {e['shape']}"
        b0, b1 = e["data_offsets"]
        assert raw == widen(data[b0:b1], e["dtype"]), f"{name}: values differ"
        seen.add(name)
    assert seen == set(tensors), f"unexpected tensors: {sorted(set(tensors) - seen)}"
    with open(os.path.join(ckpt, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    toks = kv["whisper.tokenizer.tokens"]
    assert len(toks) == kv["whisper.n_vocab"] == N_VOCAB
    for s, i in vocab.items():
        if i < EOT:
            assert toks[i] == s.encode("utf-8"), f"token {i}: {toks[i]!r} != {s!r}"
    sp = special_tokens()
    want = {"eot": EOT, "sot": sp["<|startoftranscript|>"], "lang_first": sp["<|en|>"],
            "translate": sp["<|translate|>"], "transcribe": sp["<|transcribe|>"], "sot_lm": sp["<|startoflm|>"],
            "sot_prev": sp["<|startofprev|>"], "no_speech": sp["<|nocaptions|>"],
            "no_timestamps": sp["<|notimestamps|>"], "timestamp_begin": sp["<|0.00|>"]}
    for k, v in want.items():
        assert kv[f"whisper.token.{k}"] == v, f"whisper.token.{k} = {kv[f'whisper.token.{k}']}, want {v}"
    assert kv["whisper.n_languages"] == len(LANGS)
    print(f"make_hf_checkpoint: {gguf} holds the {len(seen) - 1} checkpoint tensors (+ mel_filters), "
          f"{EOT} text tokens and the special ids")


def main(argv):
    if len(argv) == 4 and argv[1] == "--verify":
        verify(argv[2], argv[3])
        return 0
    args, out = {"--seed": "20240601", "--dtype": "f32", "--vocab": None}, None
    it = iter(argv[1:])
    for a in it:
        if a in args:
            args[a] = next(it)
        elif out is None:
            out = a
        else:
            raise SystemExit(__doc__)
    if out is None:
        raise SystemExit(__doc__)
    vocab = args["--vocab"] or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models",
                                            "vocab", "encoder.json")
    write(out, int(args["--seed"]), args["--dtype"], vocab)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
