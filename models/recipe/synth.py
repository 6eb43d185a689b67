#!/usr/bin/python3
"""synth.py - synthesize and augment the kiosk training set; write log-mel features (issue 6).

Inputs: work/train.txt and work/test.txt from texts.py (target<TAB>spoken).
Training audio: espeak-ng (7 English base voices x variants, rate 120..210 wpm, pitch 25..75), flite
(kal, kal16, awb, rms, slt) and festival (kal_diphone, cmu_us_slt_arctic_hts); sox: resample to 16 kHz
mono, speed 0.9..1.1, room reverb, telephone band-pass 300-3400 Hz, gain; then (numpy) 0..0.4 s
leading silence and white/pink/brown noise at 10..30 dB SNR.  Held out from training entirely:
espeak-ng variant "+f4" and festival voice ked_diphone (the "unseen" half of the test set).

Outputs (work/):
  feats.npy      float16 .npy memmap [N, 80, 800]: the contract's log-mel of each clip over an 8 s window
                 (train.py keeps the first 2 * n_audio_ctx frames; same values, since the maximum
                 is over the clip and the rest is zeros)
  meta.tsv       index<TAB>target<TAB>voice<TAB>n_samples<TAB>speech_end_s  (written in order)
  progress       number of leading rows of feats.f16 that are complete (train.py may start early)
Test set (--test): tests/data/kiosk/{seen,unseen}/NNN.wav (clean, 16-bit) and seen.tsv/unseen.tsv.
Each chunk of 50 utterances has its own seed, so a chunk's audio does not depend on the process
count or scheduling; sox and the synthesizers are deterministic for fixed arguments.

Transducer data (--pk, models/recipe/pk_train.py; the Whisper outputs above are not touched): the same
chunks, seeds, texts, voices, augmentation and drop rule, but each clip's NeMo 80-mel features
(tests/reference/parakeet_ref.py features(): pre-emphasis, 25 ms Hann, 10 ms hop, per-feature
normalisation over the clip) appended to PK_DIR/feats.f16 as float16 [L, 80] (time-major, the L valid
frames only) with PK_DIR/index.tsv  index<TAB>offset_frames<TAB>L<TAB>target<TAB>voice  and PK_DIR/progress.
Features rather than audio: half the disk of int16 PCM (80 x 2 B vs 160 x 2 B per 10 ms) and no FFT per
epoch; the per-clip normalisation makes them exactly what the engine's front end computes from the PCM.

Usage: synth.py [--jobs 2] [--limit N]   |   synth.py --test [--n-seen 50 --n-unseen 50]
       synth.py --pk [--pk-dir work/pk] [--jobs 2] [--limit N]
"""
import argparse
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from features import window_logmel, SR  # noqa: E402

N_AUDIO_CTX = 400  # feature window written here (8 s); clips longer than this are dropped

ESPEAK_BASES = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
ESPEAK_VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f5", "klatt", "klatt2",
                   "klatt3", "Andy", "Annie", "Michael", "adam", "boris", "david", "ed", "john", "linda",
                   "max", "paul", "robert", "steph", "travis", "victor", "zac", "belinda", "grandma"]
HELD_ESPEAK = "f4"
FLITE = ["kal", "kal16", "awb", "rms", "slt"]
FESTIVAL = ["kal_diphone", "cmu_us_slt_arctic_hts"]
HELD_FESTIVAL = "ked_diphone"
CHUNK = 50


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == SR, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def write_wav(path, x):
    pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())


def pick_voice(r, held=False):
    """Training voice (or a held-out one) as (engine, name, params)."""
    if held:
        if r.random() < 0.5:
            return ("espeak", "en-us+" + HELD_ESPEAK, {"s": r.randint(140, 180), "p": r.randint(40, 60)})
        return ("festival", HELD_FESTIVAL, {})
    e = r.choices(["espeak", "flite", "festival"], weights=[50, 32, 18])[0]
    if e == "espeak":
        v = r.choice(ESPEAK_BASES)
        var = r.choice(ESPEAK_VARIANTS)
        return ("espeak", v + ("+" + var if var else ""), {"s": r.randint(120, 210), "p": r.randint(25, 75)})
    if e == "flite":
        return ("flite", r.choice(FLITE), {})
    return ("festival", r.choice(FESTIVAL), {})


def synth_raw(items, tmp):
    """items: list of (i, spoken, (engine, name, params)) -> {i: path of the synthesizer's wav}."""
    out = {}
    fest = []
    for i, spoken, (eng, name, prm) in items:
        p = os.path.join(tmp, "raw%d.wav" % i)
        if eng == "espeak":
            run(["espeak-ng", "-v", name, "-s", str(prm["s"]), "-p", str(prm["p"]), "-w", p, spoken])
        elif eng == "flite":
            run(["flite", "-voice", name, "-t", spoken, "-o", p])
        else:
            fest.append((i, spoken, name, p))
        out[i] = p
    if fest:
        scm = os.path.join(tmp, "f.scm")
        with open(scm, "w") as f:
            cur = None
            for i, spoken, name, p in fest:
                if name != cur:
                    f.write("(voice_%s)\n" % name)
                    cur = name
                f.write('(utt.save.wave (SynthText "%s") "%s" \'riff)\n' % (spoken, p))
        run(["festival", "-b", scm])
    return out


def sox_chain(r, augment):
    if not augment:
        return []
    fx = []
    sp = r.uniform(0.9, 1.1)
    fx += ["speed", "%.3f" % sp]
    if r.random() < 0.35:
        fx += ["reverb", str(r.randint(20, 70)), str(r.randint(20, 80)), str(r.randint(20, 100))]
    if r.random() < 0.2:
        fx += ["sinc", "300-3400"]
    fx += ["gain", "%.1f" % r.uniform(-12, 0)]
    return fx


def noise(r, n):
    nr = np.random.default_rng(r.randrange(1 << 30))
    w = nr.standard_normal(n).astype(np.float32)
    kind = r.randrange(3)
    if kind == 1:  # pink-ish: leaky integration mix
        f = np.fft.rfft(w)
        f /= np.sqrt(np.maximum(np.arange(len(f)), 1))
        w = np.fft.irfft(f, n).astype(np.float32)
    elif kind == 2:  # brown-ish
        f = np.fft.rfft(w)
        f /= np.maximum(np.arange(len(f)), 1)
        w = np.fft.irfft(f, n).astype(np.float32)
    return w / (np.sqrt(np.mean(w * w)) + 1e-12)


def speech_end(x):
    """Seconds: end of the last 10 ms frame whose RMS is above 2 % of the loudest frame's."""
    n = len(x) // 160
    if n == 0:
        return len(x) / SR
    fr = x[:n * 160].reshape(n, 160)
    rms = np.sqrt((fr * fr).mean(1))
    idx = np.nonzero(rms > 0.02 * rms.max())[0]
    return float((idx[-1] + 1) * 160) / SR if len(idx) else len(x) / SR


def make_clip(r, rawpath, tmp, augment):
    """Raw synthesizer wav -> (clean-with-lead float32, augmented float32) at 16 kHz."""
    p = rawpath + ".16k.wav"
    run(["sox", rawpath, "-r", str(SR), "-b", "16", "-c", "1", p] + sox_chain(r, augment))
    x = read_wav(p)
    # trim the synthesizers' own leading silence to at most 0.1 s, then add our own
    nz = np.nonzero(np.abs(x) > 1e-3)[0]
    if len(nz):
        x = x[max(0, nz[0] - 1600):]
    if augment:
        lead = r.randint(0, int(0.4 * SR))
        x = np.concatenate([np.zeros(lead, np.float32), x])
    clean = x.copy()
    if augment and r.random() < 0.65:
        snr = r.uniform(10, 30)
        ps = np.mean(x[np.abs(x) > 1e-3] ** 2) if np.any(np.abs(x) > 1e-3) else 1e-6
        x = x + noise(r, len(x)) * np.sqrt(ps / 10 ** (snr / 10))
        peak = np.max(np.abs(x))
        if peak > 0.99:
            x *= 0.99 / peak
            clean *= 0.99 / peak
    return clean, x


def do_chunk(args):
    ci, rows = args
    r = random.Random(1000003 * ci + 7)
    tmp = tempfile.mkdtemp(prefix="synth", dir=WORK)
    try:
        items = [(i, s, pick_voice(r)) for i, (t, s) in rows]
        raws = synth_raw(items, tmp)
        out = []
        for (i, (t, s)), (_, _, v) in zip(rows, items):
            clean, x = make_clip(r, raws[i], tmp, True)
            if len(x) > N_AUDIO_CTX * 320:
                out.append((i, t, v[1], len(x), 0.0, None))
                continue
            end = min(speech_end(clean), len(x) / SR)
            out.append((i, t, v[1], len(x), end, window_logmel(x).astype(np.float16)))
        return ci, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_PK_PRE = None


def pk_features(x):
    """NeMo 80-mel features of float32 samples -> float16 [L, 80] (parakeet_ref.features, float32 math)."""
    global _PK_PRE
    if _PK_PRE is None:
        sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
        import types
        import parakeet_ref
        import torch
        torch.set_num_threads(1)
        _PK_PRE = (parakeet_ref, types.SimpleNamespace(preprocessor=parakeet_ref.Preprocessor({"n_mels": 80})), torch)
    ref, holder, torch = _PK_PRE
    with torch.no_grad():
        f, n = ref.features(holder, x, dtype=torch.float32)
    return f[:, :n].t().numpy().astype(np.float16)


def do_chunk_pk(args):
    """do_chunk's synthesis (same seed, same random draws in the same order) with transducer features."""
    ci, rows = args
    r = random.Random(1000003 * ci + 7)
    tmp = tempfile.mkdtemp(prefix="synthpk", dir=WORK)
    try:
        items = [(i, s, pick_voice(r)) for i, (t, s) in rows]
        raws = synth_raw(items, tmp)
        out = []
        for (i, (t, s)), (_, _, v) in zip(rows, items):
            clean, x = make_clip(r, raws[i], tmp, True)
            if len(x) > N_AUDIO_CTX * 320:
                out.append((i, t, v[1], None))
                continue
            out.append((i, t, v[1], pk_features(x)))
        return ci, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pk_set(a):
    pairs = load_pairs("train.txt")[: a.limit or None]
    n = len(pairs)
    os.makedirs(a.pk_dir, exist_ok=True)
    chunks = [(ci, list(enumerate(pairs))[ci * CHUNK:(ci + 1) * CHUNK]) for ci in range((n + CHUNK - 1) // CHUNK)]
    off = 0
    dropped = 0
    with open(os.path.join(a.pk_dir, "feats.f16"), "wb") as fe, \
            open(os.path.join(a.pk_dir, "index.tsv"), "w") as idx, mp.Pool(a.jobs) as pool:
        for ci, out in pool.imap(do_chunk_pk, chunks):
            for i, t, v, f in out:
                if f is None:
                    dropped += 1
                    continue
                fe.write(f.tobytes())
                idx.write("%d\t%d\t%d\t%s\t%s\n" % (i, off, f.shape[0], t, v))
                off += f.shape[0]
            fe.flush()
            idx.flush()
            done = chunks[ci][1][-1][0] + 1
            with open(os.path.join(a.pk_dir, "progress.tmp"), "w") as f:
                f.write("%d\n" % done)
            os.replace(os.path.join(a.pk_dir, "progress.tmp"), os.path.join(a.pk_dir, "progress"))
            if ci % 10 == 0:
                print("chunk", ci, "done", done, "dropped", dropped, "frames", off, flush=True)
    print("finished", n, "dropped", dropped, "frames", off)


def load_pairs(name):
    with open(os.path.join(WORK, name)) as f:
        return [tuple(line.rstrip("\n").split("\t")) for line in f]


def train_set(a):
    pairs = load_pairs("train.txt")[: a.limit or None]
    n = len(pairs)
    feats = np.lib.format.open_memmap(os.path.join(WORK, "feats.npy"), mode="w+", dtype=np.float16,
                                      shape=(n, 80, 2 * N_AUDIO_CTX))
    chunks = [(ci, list(enumerate(pairs))[ci * CHUNK:(ci + 1) * CHUNK]) for ci in range((n + CHUNK - 1) // CHUNK)]
    done = 0
    dropped = 0
    with open(os.path.join(WORK, "meta.tsv"), "w") as meta, mp.Pool(a.jobs) as pool:
        for ci, out in pool.imap(do_chunk, chunks):
            for i, t, v, ns, end, f in out:
                if f is None:
                    dropped += 1
                    meta.write("%d\t%s\t%s\t%d\t-1\n" % (i, t, v, ns))
                    continue
                feats[i] = f
                meta.write("%d\t%s\t%s\t%d\t%.3f\n" % (i, t, v, ns, end))
            meta.flush()
            done = chunks[ci][1][-1][0] + 1
            if ci % 10 == 0:
                feats.flush()
                with open(os.path.join(WORK, "progress.tmp"), "w") as f:
                    f.write("%d\n" % done)
                os.replace(os.path.join(WORK, "progress.tmp"), os.path.join(WORK, "progress"))
                print("chunk", ci, "done", done, "dropped", dropped, flush=True)
    feats.flush()
    with open(os.path.join(WORK, "progress"), "w") as f:
        f.write("%d\n" % n)
    print("finished", n, "dropped", dropped)


def test_set(a):
    pairs = load_pairs("test.txt")
    r = random.Random(424242)
    outdir = os.path.join(REPO, "tests", "data", "kiosk")
    tmp = tempfile.mkdtemp(prefix="synthtest", dir=WORK)
    try:
        for half, n, held, off in (("seen", a.n_seen, False, 0), ("unseen", a.n_unseen, True, a.n_seen)):
            os.makedirs(os.path.join(outdir, half), exist_ok=True)
            rows = pairs[off:off + n]
            voices = []
            for k in range(n):
                if held:  # alternate the two held-out voices
                    v = ("espeak", "en-us+" + HELD_ESPEAK, {"s": 160, "p": 50}) if k % 2 == 0 \
                        else ("festival", HELD_FESTIVAL, {})
                else:
                    v = pick_voice(r)
                voices.append(v)
            items = [(off + k, rows[k][1], voices[k]) for k in range(n)]
            raws = synth_raw(items, tmp)
            with open(os.path.join(outdir, half + ".tsv"), "w") as man, \
                    open(os.path.join(outdir, half + "-voices.tsv"), "w") as vf:
                for k in range(n):
                    clean, _ = make_clip(r, raws[off + k], tmp, False)
                    rel = "%s/%03d.wav" % (half, k)
                    write_wav(os.path.join(outdir, rel), clean)
                    man.write("%s\t%s\n" % (rel, rows[k][0]))
                    vf.write("%s\t%s\n" % (rel, voices[k][1]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--test", action="store_true")
    ap.add_argument("--n-seen", type=int, default=50)
    ap.add_argument("--n-unseen", type=int, default=50)
    ap.add_argument("--pk", action="store_true", help="transducer features instead (see the header)")
    ap.add_argument("--pk-dir", default=os.path.join(WORK, "pk"))
    a = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    if a.pk:
        pk_set(a)
    elif a.test:
        test_set(a)
    else:
        train_set(a)


if __name__ == "__main__":
    main()
