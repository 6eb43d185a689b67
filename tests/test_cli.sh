#!/bin/sh
# test_cli.sh - the edge-stt program end to end on the generated mini model: exit codes (0 ok,
# 1 runtime, 2 usage, 3 model, 4 audio) with one stderr line naming the file, the transcript on
# stdout (the greedy tr_jfk golden of tests/data/golden/whisper_mini-en-f32.txt), txt/srt/vtt/json
# files written atomically (no .part left), --files-from and --shard, and a failing file among good
# ones; edge-stt bench (--json keys, exit codes); --kv-type (f16 the default, f32; bench, info and -o json
# say which ran).  usage: tests/test_cli.sh [EDGE_STT] [MODELS_DIR] [DATA_DIR]
set -u
prog=${1:-build/native/edge-stt}
models=${2:-build/testmodels}
data=${3:-tests/data}
model=$models/mini-en-f32.gguf
wav=$data/jfk.wav
tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgestt-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0 passes=0

ok() { passes=$((passes + 1)); }
bad() { echo "FAIL test_cli: $*"; fails=$((fails + 1)); }

# expect CODE DESCRIPTION -- COMMAND...: the exit status, and exactly one stderr line on failure
expect() {
  want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  if [ "$got" != "$want" ]; then bad "$what: exit $got, want $want ($(head -c 300 "$tmp/err"))"; return 1; fi
  ok
  return 0
}

# the greedy, no-fallback transcript of jfk.wav is the golden's five one-word segments
fast="--greedy --no-fallback --language en --quiet"

expect 0 "version" -- "$prog" version
expect 2 "no arguments" -- "$prog"
expect 2 "unknown option" -- "$prog" -m "$model" --frobnicate "$wav"
expect 2 "no input files" -- "$prog" -m "$model"
# no -m: the embedded model when the program was built with one (make EMBED_MODEL=...), else a usage error
if "$prog" info >/dev/null 2>&1; then
  expect 0 "embedded model" -- "$prog" --greedy --no-fallback --quiet "$wav"
else
  expect 2 "no model" -- "$prog" "$wav"
fi
expect 2 "bad -o" -- "$prog" -m "$model" -o pdf "$wav"
expect 2 "bad --beam" -- "$prog" -m "$model" --beam 0 "$wav"
expect 2 "bad --shard" -- "$prog" -m "$model" --shard 2/2 "$wav"
expect 2 "bad --kernels" -- "$prog" -m "$model" --kernels nope "$wav"

if expect 3 "missing model" -- "$prog" -m "$tmp/none.gguf" "$wav"; then
  [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "none.gguf" "$tmp/err" || bad "missing model: stderr '$(cat "$tmp/err")'"
fi
printf 'this is not a model' >"$tmp/junk.gguf"
if expect 3 "corrupt model" -- "$prog" -m "$tmp/junk.gguf" "$wav"; then
  [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "junk.gguf" "$tmp/err" || bad "corrupt model: stderr '$(cat "$tmp/err")'"
fi
if expect 4 "missing audio" -- "$prog" -m "$model" $fast "$tmp/none.wav"; then
  [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "none.wav" "$tmp/err" || bad "missing audio: stderr '$(cat "$tmp/err")'"
fi
printf 'RIFF\001\000\000\000WAVEjunk' >"$tmp/junk.wav"
if expect 4 "corrupt audio" -- "$prog" -m "$model" $fast "$tmp/junk.wav"; then
  [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "junk.wav" "$tmp/err" || bad "corrupt audio: stderr '$(cat "$tmp/err")'"
fi
expect 2 "language on an English-only model" -- "$prog" -m "$model" $fast --language de "$wav"

# the transcript on stdout
printf 'permission\nSpa\nProt\nSidney\nCommissioners\n' >"$tmp/want.txt"
if expect 0 "transcript" -- "$prog" -m "$model" $fast "$wav"; then
  cmp -s "$tmp/out" "$tmp/want.txt" || bad "transcript: got '$(cat "$tmp/out")'"
  [ -s "$tmp/err" ] && bad "transcript: --quiet printed '$(cat "$tmp/err")'"
fi

# output files (all four formats), atomically
mkdir "$tmp/o"
if expect 0 "output files" -- "$prog" -m "$model" $fast -o txt -o srt -o vtt -o json --output-dir "$tmp/o" "$wav"; then
  for f in jfk.txt jfk.srt jfk.vtt jfk.json; do [ -s "$tmp/o/$f" ] || bad "output files: $f missing"; done
  ls "$tmp/o" | grep -q '\.part$' && bad "output files: a .part file is left"
  cmp -s "$tmp/o/jfk.txt" "$tmp/want.txt" || bad "txt: '$(cat "$tmp/o/jfk.txt")'"
  [ "$(sed -n 1,3p "$tmp/o/jfk.srt" | tr '\n' '|')" = "1|00:00:00,400 --> 00:00:06,980|permission|" ] ||
    bad "srt: '$(head -3 "$tmp/o/jfk.srt")'"
  [ "$(sed -n 1,4p "$tmp/o/jfk.vtt" | tr '\n' '|')" = "WEBVTT||00:00:00.400 --> 00:00:06.980|permission|" ] ||
    bad "vtt: '$(head -4 "$tmp/o/jfk.vtt")'"
  [ -s "$tmp/out" ] && bad "output files: stdout not empty"
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$tmp/o/jfk.json" <<'EOF' || bad "json: $(cat "$tmp/o/jfk.json" | head -c 400)"
import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
m, t, segs = j["model"], j["timings"], j["segments"]
assert m["architecture"] == "whisper" and m["weight_types"] == {"f32": m["weight_types"]["f32"]} and m["kernels"]
assert m["kv_type"] == "f16", m
assert all(k in t for k in ("load_ms", "mel_ms", "encode_ms", "decode_ms")), t
assert j["language"] == "en" and len(segs) == 5 and j["text"] == " permission Spa Prot Sidney Commissioners", j["text"]
s0 = segs[0]
assert (s0["start"], s0["end"], s0["text"]) == (0.4, 6.98, " permission"), s0
assert [tk["id"] for tk in s0["tokens"]] == [50383, 7170, 50712], s0["tokens"]
assert s0["tokens"][1]["text"] == " permission" and 0 < s0["tokens"][1]["p"] <= 1
assert s0["tokens"][0]["t0"] == 0.4 and s0["tokens"][2]["t1"] == 6.98
EOF
  fi
fi

# a failing file among good ones: the good ones are still written, the status is the failure's
mkdir "$tmp/m"
if expect 4 "mixed inputs" -- "$prog" -m "$model" $fast -o txt --output-dir "$tmp/m" "$tmp/none.wav" "$wav"; then
  [ -s "$tmp/m/jfk.txt" ] || bad "mixed inputs: jfk.txt missing"
  [ "$(wc -l <"$tmp/err")" = 1 ] || bad "mixed inputs: stderr '$(cat "$tmp/err")'"
fi

# --files-from and --shard: two inputs split over two shards
cp "$wav" "$tmp/a.wav" && cp "$wav" "$tmp/b.wav"
printf '%s\n\n%s\n' "$tmp/a.wav" "$tmp/b.wav" >"$tmp/list"
mkdir "$tmp/s0" "$tmp/s1"
expect 0 "shard 0/2" -- "$prog" -m "$model" $fast -o txt --output-dir "$tmp/s0" --files-from "$tmp/list" --shard 0/2 &&
  { [ -s "$tmp/s0/a.txt" ] && [ ! -e "$tmp/s0/b.txt" ] || bad "shard 0/2: $(ls "$tmp/s0")"; }
expect 0 "shard 1/2" -- "$prog" -m "$model" $fast -o txt --output-dir "$tmp/s1" --files-from "$tmp/list" --shard 1/2 &&
  { [ -s "$tmp/s1/b.txt" ] && [ ! -e "$tmp/s1/a.txt" ] || bad "shard 1/2: $(ls "$tmp/s1")"; }
expect 2 "missing list" -- "$prog" -m "$model" --files-from "$tmp/nolist"
# without timestamps (random weights still emit timestamp ids, which transcribe.py splits on)
mkdir "$tmp/n"
if expect 0 "no timestamps" -- "$prog" -m "$model" $fast --no-timestamps -o srt --output-dir "$tmp/n" "$wav"; then
  [ "$(sed -n 1p "$tmp/n/jfk.srt")" = "1" ] || bad "no timestamps: '$(head -2 "$tmp/n/jfk.srt")'"
fi
# an unwritable output directory is a runtime error naming the output
if expect 1 "unwritable output" -- "$prog" -m "$model" $fast -o txt --output-dir "$tmp/nodir" "$wav"; then
  grep -q "nodir/jfk.txt" "$tmp/err" || bad "unwritable output: '$(cat "$tmp/err")'"
fi

# bench: one JSON object with the documented keys, every timing and size positive
if expect 0 "bench --json" -- "$prog" bench -m "$model" --threads 2 --tokens 8 --json "$wav"; then
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$tmp/out" <<'EOF' || bad "bench --json: $(head -c 400 "$tmp/out")"
import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
for k in ("load_ms", "encode_ms", "decode_ms_per_token", "arena_bytes", "peak_rss_bytes", "e2e_ms"):
    assert isinstance(j[k], (int, float)) and j[k] > 0, (k, j.get(k))
assert j["kernels"] in ("ref", "avx2", "neon", "neondot"), j["kernels"]
assert j["decode_tokens"] == 8 and j["threads"] == 2, j
assert j["arena_bytes"] == j["model_arena_bytes"] + j["state_arena_bytes"], j
# the effective encoder rate is the window's product work over the encode time
assert j["encode_gflop"] > 0 and abs(j["encode_gops"] - j["encode_gflop"] / (j["encode_ms"] * 1e-3)) <= 0.01 + 1e-3 * j["encode_gops"], j
EOF
  else
    for k in load_ms encode_ms decode_ms_per_token arena_bytes peak_rss_bytes kernels; do
      grep -q "\"$k\": " "$tmp/out" || bad "bench --json: no $k in $(head -c 400 "$tmp/out")"
    done
  fi
fi
expect 0 "bench text" -- "$prog" bench -m "$model" --tokens 4 --kernels ref &&
  { grep -q "^encode .* ms" "$tmp/out" && grep -q "(ref, 1 threads, f16 K/V)" "$tmp/out" || bad "bench text: $(cat "$tmp/out")"; }
# --kv-type: the K/V caches bench ran with, and f32 plans the larger state (info: the same plan)
if expect 0 "bench --kv-type f32" -- "$prog" bench -m "$model" --tokens 2 --kv-type f32 --json &&
   cp "$tmp/out" "$tmp/b32" && expect 0 "bench --kv-type f16" -- "$prog" bench -m "$model" --tokens 2 --kv-type f16 --json; then
  grep -q '"kv_type": "f32"' "$tmp/b32" && grep -q '"kv_type": "f16"' "$tmp/out" || bad "bench kv_type: $(cat "$tmp/b32" "$tmp/out")"
  s32=$(sed 's/.*"state_arena_bytes": \([0-9]*\).*/\1/' "$tmp/b32") s16=$(sed 's/.*"state_arena_bytes": \([0-9]*\).*/\1/' "$tmp/out")
  [ "$s32" -gt "$s16" ] 2>/dev/null || bad "bench state bytes: f32 $s32, f16 $s16"
  expect 0 "info --kv-type f32" -- "$prog" info "$model" --kv-type f32 &&
    { grep -q "^kv caches     f32" "$tmp/out" && grep -q "^state bytes   $s32 " "$tmp/out" || bad "info f32: $(cat "$tmp/out")"; }
  expect 0 "info (f16 default)" -- "$prog" info "$model" &&
    { grep -q "^kv caches     f16" "$tmp/out" && grep -q "^state bytes   $s16 " "$tmp/out" || bad "info f16: $(cat "$tmp/out")"; }
fi
expect 2 "--kv-type q8" -- "$prog" -m "$model" --kv-type q8 "$wav"
expect 2 "bench --kv-type q8" -- "$prog" bench -m "$model" --kv-type q8
expect 2 "bench without a model" -- "$prog" bench --json
expect 2 "bench bad threads" -- "$prog" bench -m "$model" --threads 0
expect 3 "bench missing model" -- "$prog" bench -m "$tmp/none.gguf"
expect 4 "bench missing audio" -- "$prog" bench -m "$model" --tokens 4 "$tmp/none.wav"

# a Hugging Face checkpoint written by an independent (stdlib Python) writer: convert, the tensors
# and vocabulary checked by that script, check, and a transcription run on the result
hfw="$(dirname "$0")/reference/make_hf_checkpoint.py"
if command -v python3 >/dev/null 2>&1 && python3 "$hfw" "$tmp/hf" --dtype bf16 --seed 7 >"$tmp/out" 2>"$tmp/err"; then
  if expect 0 "convert HF checkpoint" -- "$prog" convert "$tmp/hf" "$tmp/hf.gguf" --type f32; then
    python3 "$hfw" --verify "$tmp/hf" "$tmp/hf.gguf" >"$tmp/out" 2>&1 || bad "HF conversion: $(tail -2 "$tmp/out")"
    expect 0 "check HF conversion" -- "$prog" check "$tmp/hf.gguf"
    expect 0 "transcribe HF conversion" -- "$prog" -m "$tmp/hf.gguf" $fast "$wav"
  fi
  expect 0 "convert HF model.safetensors q8_0" -- "$prog" convert "$tmp/hf/model.safetensors" "$tmp/hf8.gguf" --type q8_0
  rm "$tmp/hf/vocab.json"
  if expect 3 "convert HF without vocab.json" -- "$prog" convert "$tmp/hf" "$tmp/hfx.gguf" --type f32; then
    grep -q "vocab.json" "$tmp/err" && [ ! -e "$tmp/hfx.gguf" ] && [ ! -e "$tmp/hfx.gguf.part" ] ||
      bad "HF without vocab.json: '$(cat "$tmp/err")'"
  fi
else
  echo "test_cli: no python3 (or it failed: $(head -c 200 "$tmp/err")); HF checkpoint cases skipped"
fi
# --max-memory: refused (exit 5, one line with the bytes needed) when the plan does not fit; runs
# when it does; a bad value is a usage error
if expect 5 "max-memory too small" -- "$prog" -m "$model" $fast --max-memory 1M "$wav"; then
  [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "needs [0-9]* bytes" "$tmp/err" && [ ! -s "$tmp/out" ] ||
    bad "max-memory: stderr '$(cat "$tmp/err")'"
  need=$(sed -n 's/.*needs \([0-9]*\) bytes.*/\1/p' "$tmp/err")
  expect 0 "max-memory exactly enough" -- "$prog" -m "$model" $fast --max-memory "$need" "$wav"
  expect 5 "max-memory one byte short" -- "$prog" -m "$model" $fast --max-memory "$((need - 1))" "$wav"
  expect 0 "max-memory 1G" -- "$prog" -m "$model" $fast --max-memory 1G "$wav"
fi
expect 2 "bad --max-memory" -- "$prog" -m "$model" --max-memory 12X "$wav"
mkdir "$tmp/empty"
if expect 3 "convert a directory without a checkpoint" -- "$prog" convert "$tmp/empty" "$tmp/e.gguf"; then
  grep -q "model.safetensors" "$tmp/err" || bad "empty dir: '$(cat "$tmp/err")'"
fi

# edge-stt eval: the greedy jfk transcript above ("permission spa prot sidney commissioners") against
# two references counted by hand: 1 word edit (sidney/sydney) + 3 (see test_eval_score.c) = 4 of 10
mkdir "$tmp/ev" && cp "$wav" "$tmp/ev/a.wav"
printf '# comment\na.wav\tPermission, spa; Prot Sydney commissioners!\n\n%s\tpermission to spa the commissioners\n' \
  "$tmp/ev/a.wav" >"$tmp/ev/m.tsv"
if expect 0 "eval" -- "$prog" eval -m "$model" --manifest "$tmp/ev/m.tsv" --greedy --no-fallback; then
  grep -q "^WER 40.00 % (4 / 10 words)" "$tmp/out" || bad "eval: '$(cat "$tmp/out")'"
fi
if expect 0 "eval --json --per-file" -- "$prog" eval -m "$model" --manifest "$tmp/ev/m.tsv" --greedy --no-fallback --json --per-file; then
  grep -q '"files": 2,' "$tmp/out" && grep -q '"wer": 40.0000' "$tmp/out" && grep -q '"word_errors": 1, "ref_words": 5, "char_errors": 1' "$tmp/out" ||
    bad "eval --json: '$(cat "$tmp/out")'"
fi
# a compact-vocabulary model (the kiosk layout): convert F32 -> Q4_0 keeps the token keys, info shows them
kiosk=$models/mini-char-f32.gguf
if expect 0 "convert compact vocabulary" -- "$prog" convert "$kiosk" "$tmp/k4.gguf" --type q4_0; then
  expect 0 "check converted compact model" -- "$prog" check "$tmp/k4.gguf"
  if expect 0 "info compact model" -- "$prog" info "$tmp/k4.gguf"; then
    grep -q "n_vocab 298" "$tmp/out" && grep -q "1 languages (eot 38, sot 39, first language 40, timestamps from 47)" "$tmp/out" ||
      bad "info compact: '$(cat "$tmp/out")'"
  fi
  expect 0 "transcribe with a compact model" -- "$prog" -m "$tmp/k4.gguf" $fast "$wav"
fi
# the shipped kiosk model (issue 6): eval of three held-out files counted by hand - seen/000 "big soup" ->
# "big sup" (1 substitution), seen/002 exact (0), seen/005 "the signs" -> "desisting" (1 substitution +
# 1 deletion): 3 of 17 words; and the embedded default (make embeds models/*-q8_0.gguf) transcribing seen/002
kq8="$(dirname "$0")/../models/edge-stt-kiosk-q8_0.gguf"
if [ -f "$kq8" ]; then
  grep -P '^seen/00[025]\.wav\t' "$data/kiosk/seen.tsv" | sed "s|^|$(cd "$data/kiosk" && pwd)/|" >"$tmp/ev/kiosk.tsv"
  if expect 0 "eval kiosk" -- "$prog" eval -m "$kq8" --manifest "$tmp/ev/kiosk.tsv"; then
    grep -q "^WER 17.65 % (3 / 17 words)" "$tmp/out" || bad "eval kiosk: '$(cat "$tmp/out")'"
  fi
  if "$prog" info 2>/dev/null | grep -q "embedded:edge-stt-kiosk-q8_0.gguf"; then
    if expect 0 "embedded kiosk model" -- "$prog" --quiet "$data/kiosk/seen/002.wav"; then
      [ "$(cat "$tmp/out")" = "take me to the platform" ] || bad "embedded kiosk: '$(cat "$tmp/out")'"
    fi
  fi
fi
printf 'a.wav no tab here\n' >"$tmp/ev/bad.tsv"
expect 2 "eval manifest without a TAB" -- "$prog" eval -m "$model" --manifest "$tmp/ev/bad.tsv"
expect 2 "eval without a manifest" -- "$prog" eval -m "$model"
printf 'none.wav\tx\n' >"$tmp/ev/missing.tsv"
expect 1 "eval with a missing WAV" -- "$prog" eval -m "$model" --manifest "$tmp/ev/missing.tsv"

# --vad: only the speech of the synthesized recording (tests/data/vad_pauses.wav; Silero VAD finds
# [0.610, 2.206) [3.170, 4.894) [5.250, 7.518) [9.410, 11.070) s, test_vad.c): every time the
# transcript reports lies inside one of them; a missing VAD model is a model error naming it
vadwav=$data/vad_pauses.wav
if expect 0 "--vad -o json" -- "$prog" -m "$model" $fast --vad -o json --output-dir "$tmp" "$vadwav"; then
  grep -o '"start": [0-9.]*, "end": [0-9.]*' "$tmp/vad_pauses.json" | awk '
    function inside(t) { return (t >= 0.610 && t <= 2.206) || (t >= 3.170 && t <= 4.894) ||
                                (t >= 5.250 && t <= 7.518) || (t >= 9.410 && t <= 11.070) }
    { n++; if (!inside($2 + 0) || !inside($4 + 0)) { print "outside: " $0; bad = 1 } }
    END { if (n == 0) { print "no segments"; bad = 1 }; exit bad }' >"$tmp/vadchk" ||
    bad "--vad times: $(cat "$tmp/vadchk")"
fi
expect 0 "--vad to stdout" -- "$prog" -m "$model" $fast --vad "$vadwav"
if expect 3 "--vad-model missing" -- "$prog" -m "$model" $fast --vad-model "$tmp/none.gguf" "$vadwav"; then
  grep -q "none.gguf" "$tmp/err" || bad "--vad-model missing: '$(cat "$tmp/err")'"
fi

# a Parakeet transducer file (pk-mini, random weights, written by parakeet-bench --write with the test
# models): info says what it is; greedy and beam-4 transcriptions run (-o json: one segment spanning the
# audio, tokens with probabilities in (0, 1] and 80 ms frame times); bench times a transducer pass;
# --translate is refused with one line
pk=$models/pk-mini-q8_0.gguf
if expect 0 "parakeet info" -- "$prog" info "$pk"; then
  grep -q "^architecture  parakeet" "$tmp/out" && grep -q "q8_0" "$tmp/out" || bad "parakeet info: $(head -c 300 "$tmp/out")"
fi
expect 0 "parakeet greedy" -- "$prog" -m "$pk" --greedy --quiet "$wav" && { [ -s "$tmp/out" ] || bad "parakeet greedy: no text"; }
cp "$tmp/out" "$tmp/pk-greedy.txt"
# without --beam a transducer decodes greedily (the program's default beam 5 is Whisper's)
expect 0 "parakeet default" -- "$prog" -m "$pk" --quiet "$wav" && { cmp -s "$tmp/out" "$tmp/pk-greedy.txt" || bad "parakeet default is not greedy"; }
if expect 0 "parakeet beam 4 -o json" -- "$prog" -m "$pk" --beam 4 --quiet -o json --output-dir "$tmp" "$wav" &&
   command -v python3 >/dev/null 2>&1; then
  python3 - "$tmp/jfk.json" <<'EOF' || bad "parakeet json: $(head -c 300 "$tmp/jfk.json")"
import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
s = j["segments"]
assert len(s) == 1 and s[0]["start"] == 0 and abs(s[0]["end"] - 11.0) < 0.01, s[0]["start"]
t = s[0]["tokens"]
assert t and all(0 < x["p"] <= 1 and x["t1"] > x["t0"] >= 0 and abs(x["t0"] / 0.08 - round(x["t0"] / 0.08)) < 1e-6 for x in t)
assert "".join(x["text"] for x in t).replace("\u2581", " ").strip() == j["text"].strip()
EOF
fi
if expect 0 "parakeet bench --json" -- "$prog" bench -m "$pk" --json && command -v python3 >/dev/null 2>&1; then
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["arch"] == "parakeet" and j["audio_s"] == 30 and j["rtf"] > 0 and j["encode_ms"] > 0, j' \
    "$tmp/out" || bad "parakeet bench: $(head -c 300 "$tmp/out")"
fi
# words (-o json, Parakeet): a word starts at a piece with the U+2581 marker; pk-nano's pieces have them
if expect 0 "parakeet words -o json" -- "$prog" -m "$models/pk-nano-q8_0.gguf" --quiet -o json --output-dir "$tmp" "$wav" &&
   command -v python3 >/dev/null 2>&1; then
  python3 - "$tmp/jfk.json" <<'EOF' || bad "parakeet words: $(head -c 400 "$tmp/jfk.json")"
import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
s = j["segments"][0]
t, w = s["tokens"], s["words"]
starts = sum(1 for i, x in enumerate(t) if x["text"].startswith("\u2581") or i == 0)
assert len(w) == starts and len(w) > 1, (len(w), starts)
assert " ".join(x["word"] for x in w) == j["text"].strip()
assert all(x["start"] <= x["end"] for x in w) and all(a["end"] <= b["start"] + 1e-9 for a, b in zip(w, w[1:]))
assert all(0 < x["p"] <= 1 for x in w)
EOF
fi
expect 1 "parakeet --translate" -- "$prog" -m "$pk" --translate --quiet "$wav" && { grep -q "cannot translate" "$tmp/err" || bad "parakeet --translate: $(cat "$tmp/err")"; }

echo "test_cli: $passes passed, $fails failed"
[ "$fails" = 0 ]
