#!/bin/sh
# test_listen_cli.sh - `edge-stt listen` and `edge-stt devices` end to end on the generated mini
# model and tests/data/vad_pauses.wav (4 commands; pauses 1.0, 0.4, 1.9 s -> 3 utterances at the
# default 600 ms endpoint): usage and device errors (exit codes, one stderr line; no permission
# through a file PCM whose infile the user cannot read), JSON events,
# a hybrid whose accurate model is missing, the real ALSA path (an ALSA config written here with a
# `file` PCM reading the recording as raw S16, captured through snd_pcm_readi) giving the same
# finals as --simulate-realtime and ending cleanly on SIGINT, finals with the shipped kiosk model
# checked against real text, and a soak's resident memory.
# usage: tests/test_listen_cli.sh [EDGE_STT] [MODELS_DIR] [DATA_DIR]
set -u
prog=${1:-build/native/edge-stt}
models=${2:-build/testmodels}
data=${3:-tests/data}
model=$models/mini-en-q8_0.gguf
wav=$data/vad_pauses.wav
vad=models/silero-vad-v5.gguf
tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgestt-listen.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL test_listen_cli: $*"; fails=$((fails + 1)); }
fast="--vad-model $vad --sample-len 2 --quiet"

# expect CODE DESCRIPTION -- COMMAND...: the exit status; exit 3 and 4 with exactly one stderr line
expect() {
  want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  if [ "$got" != "$want" ]; then bad "$what: exit $got, want $want ($(head -c 300 "$tmp/err"))"; return 1; fi
  if [ "$want" -gt 2 ] && [ "$(wc -l <"$tmp/err")" != 1 ]; then bad "$what: stderr '$(cat "$tmp/err")'"; return 1; fi
  ok
  return 0
}

# without -m the embedded model is used when the program has one (make embeds models/*-q8_0.gguf)
if ! "$prog" info >/dev/null 2>&1; then
  expect 2 "listen without a model" -- "$prog" listen --simulate-realtime "$wav"
fi
expect 2 "listen bad --mode" -- "$prog" listen -m "$model" --mode turbo --simulate-realtime "$wav"
expect 2 "listen bad -o" -- "$prog" listen -m "$model" -o xml --simulate-realtime "$wav"
expect 2 "soak without a file" -- "$prog" listen -m "$model" --soak-seconds 10
expect 4 "listen missing wav" -- "$prog" listen -m "$model" $fast --simulate-realtime "$tmp/none.wav"
expect 3 "listen missing model" -- "$prog" listen -m "$tmp/none.gguf" $fast --simulate-realtime "$wav"
expect 3 "listen missing VAD" -- "$prog" listen -m "$model" --vad-model "$tmp/none.gguf" --quiet --simulate-realtime "$wav"

# ALSA: a configuration of our own (nothing of the machine's), with the recording as a file PCM
cfg=$tmp/asound.conf
python3 - "$wav" "$tmp/in.s16" <<'EOF'
import sys, wave
w = wave.open(sys.argv[1])
open(sys.argv[2], 'wb').write(w.readframes(w.getnframes()))
EOF
cat >"$cfg" <<EOF
pcm.testin {
  type file
  slave.pcm { type null }
  file "/dev/null"
  infile "$tmp/in.s16"
  format raw
  hint { show on description "edge-stt test input" }
}
pcm.playonly { type asym playback.pcm { type null } }
EOF
export ALSA_CONFIG_PATH=$cfg
have_alsa=1
"$prog" devices >"$tmp/dev" 2>"$tmp/err" || have_alsa=0
if [ $have_alsa = 1 ]; then
  if grep -qx "testin" "$tmp/dev" && grep -q "^    edge-stt test input" "$tmp/dev"; then ok; else bad "devices: '$(cat "$tmp/dev")'"; fi
  if expect 4 "missing capture device" -- "$prog" listen -m "$model" $fast -D nosuchdevice; then
    grep -q "nosuchdevice" "$tmp/err" || bad "missing device: stderr '$(cat "$tmp/err")'"
  fi
  expect 4 "missing card" -- "$prog" listen -m "$model" $fast -D hw:9,0
  if expect 4 "playback-only PCM" -- "$prog" listen -m "$model" $fast -D playonly; then
    grep -q "'playonly' not found or not a capture PCM" "$tmp/err" || bad "playback-only: stderr '$(cat "$tmp/err")'"
  fi
  # no permission: a file PCM whose infile the user cannot read (libasound's open fails with
  # EACCES).  Root reads anything, so as root the program runs as 'nobody' (setpriv) on copies
  # of itself and the models in a directory that user can read.
  perm=$tmp/perm
  mkdir -p "$perm" && chmod 755 "$tmp" "$perm" && : >"$perm/in.s16" && chmod 000 "$perm/in.s16"
  printf 'pcm.permin {\n  type file\n  slave.pcm { type null }\n  file "/dev/null"\n  infile "%s"\n  format raw\n}\n' \
    "$perm/in.s16" >"$perm/asound.conf"
  cp "$prog" "$model" "$vad" "$perm/" && chmod 644 "$perm/asound.conf" "$perm"/*.gguf
  if [ "$(id -u)" != 0 ]; then asuser=""
  elif command -v setpriv >/dev/null 2>&1; then asuser="setpriv --reuid=65534 --regid=65534 --clear-groups"
  else asuser=none; fi
  if [ "$asuser" = none ]; then
    echo "test_listen_cli: permission test skipped (root without setpriv)"
  elif expect 4 "capture without permission" -- env ALSA_CONFIG_PATH="$perm/asound.conf" $asuser \
      "$perm/$(basename "$prog")" listen -m "$perm/$(basename "$model")" --vad-model "$perm/$(basename "$vad")" --quiet -D permin; then
    grep -q "capture device 'permin': permission denied" "$tmp/err" || bad "no permission: stderr '$(cat "$tmp/err")'"
  fi
else
  grep -q "without ALSA" "$tmp/err" && ok || bad "devices without ALSA: '$(cat "$tmp/err")'"
fi

# --simulate-realtime, JSON: one final per utterance, partials before them, every line JSON
if expect 0 "simulate json" -- "$prog" listen -m "$model" $fast --speed 0 -o json --simulate-realtime "$wav"; then
  cp "$tmp/out" "$tmp/sim.json"
  python3 - "$tmp/sim.json" <<'EOF' && ok || bad "simulate json: $(head -c 600 "$tmp/sim.json")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fin = [e for e in ev if e['type'] == 'final']
part = [e for e in ev if e['type'] == 'partial']
assert [e['utterance'] for e in fin] == [0, 1, 2], fin
# utterances (s): 0.64-2.18, 3.20-7.49 (the 0.4 s pause inside), 9.44-11.04
for e, (a, b) in zip(fin, [(0.64, 2.18), (3.20, 7.49), (9.44, 11.04)]):
    assert abs(e['start'] - a) < 0.05 and abs(e['end'] - b) < 0.05, e
    assert e['at'] >= e['end'] + 0.6 - 0.04 and e['latency_ms'] >= 0, e
assert len(part) >= 6 and all(p['end'] - p['start'] >= 0.45 for p in part), part
EOF
fi

# speed 8: real time paced (about 1.5 s), same finals
if expect 0 "simulate speed 8" -- "$prog" listen -m "$model" $fast --speed 8 --no-partials -o json --simulate-realtime "$wav"; then
  python3 - "$tmp/out" "$tmp/sim.json" <<'EOF' && ok || bad "speed 8 finals differ: $(cat "$tmp/out")"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2]) if '"final"' in l]
key = lambda e: (e['utterance'], e['start'], e['end'], e['text'], e['avg_logprob'])
assert [key(e) for e in a] == [key(e) for e in b], (a, b)
EOF
fi

# hybrid: the accurate model is missing -> one line, the fast model serves
if expect 0 "hybrid, accurate missing" -- "$prog" listen -m "$model" --accurate-model "$tmp/none.gguf" --vad-model $vad --sample-len 2 --speed 0 --no-partials -o json --simulate-realtime "$wav"; then
  grep -q "none.gguf" "$tmp/err" && [ "$(grep -c '"final"' "$tmp/out")" = 3 ] && ! grep -q '"accurate"' "$tmp/out" && ok ||
    bad "hybrid fallback: $(cat "$tmp/err") / $(head -c 300 "$tmp/out")"
fi
# hybrid auto with both: finals from the accurate model, partials from the fast one
if expect 0 "hybrid auto" -- "$prog" listen -m "$model" --accurate-model "$models/mini-en-f32.gguf" $fast --speed 0 -o json --simulate-realtime "$wav"; then
  [ "$(grep '"final"' "$tmp/out" | grep -c '"accurate"')" = 3 ] && [ "$(grep '"partial"' "$tmp/out" | grep -vc '"fast"')" = 0 ] && ok ||
    bad "hybrid auto: $(head -c 600 "$tmp/out")"
fi

# a transducer streams too: pk-mini (random weights) as the fast model, the Whisper mini as the
# accurate one: partials from the transducer, 3 finals (one per utterance) from Whisper; and the
# transducer alone, finals with modified beam search
if expect 0 "listen parakeet + whisper" -- "$prog" listen -m "$models/pk-mini-q8_0.gguf" --accurate-model "$model" $fast --speed 0 -o json --simulate-realtime "$wav"; then
  [ "$(grep '"final"' "$tmp/out" | grep -c '"accurate"')" = 3 ] && [ "$(grep -c '"partial"' "$tmp/out")" -ge 6 ] && ok ||
    bad "listen parakeet + whisper: $(head -c 600 "$tmp/out")"
fi
if expect 0 "listen parakeet beam 4" -- "$prog" listen -m "$models/pk-mini-q8_0.gguf" --beam 4 --quiet --speed 0 -o json --simulate-realtime "$wav"; then
  [ "$(grep -c '"final"' "$tmp/out")" = 3 ] && ok || bad "listen parakeet: $(head -c 600 "$tmp/out")"
fi

# SIGINT while a real-time simulation plays (sent once the program says it is warmed up, so
# the handlers are surely in place): a clean exit 0 with what was heard, never a hang
timeout -s KILL 120 "$prog" listen -m "$model" --vad-model "$vad" --sample-len 2 -o json --simulate-realtime "$wav" \
  >"$tmp/int.json" 2>"$tmp/int.err" &
pid=$!
i=0
while [ $i -lt 600 ] && ! grep -q "warmed up" "$tmp/int.err" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -INT $pid
wait $pid
rc=$?
if [ $rc = 0 ] && grep -q "s of audio in" "$tmp/int.err"; then ok; else bad "SIGINT in a simulation: exit $rc ($(tail -2 "$tmp/int.err"))"; fi

# the real ALSA path: capture from the file PCM (no drops: a file can wait), the same finals as
# the simulation; after the file's end the capture goes on (silence) until SIGINT ends it cleanly
if [ $have_alsa = 1 ]; then
  # under timeout (which passes SIGINT on): a capture that ignored SIGINT is killed, never hangs
  timeout -s KILL 480 "$prog" listen -m "$model" $fast --no-partials --no-drop -o json -D testin >"$tmp/cap.json" 2>"$tmp/cap.err" &
  pid=$!
  i=0
  # (the background job opens cap.json itself, maybe after the first look: a missing file counts 0
  # finals -- a grep error here once ended the wait at once, and a SIGINT sent before the job's
  # exec was ignored, as background jobs of a non-interactive shell ignore SIGINT: a 480 s kill)
  finals() { cat "$tmp/cap.json" 2>/dev/null | grep -c '"final"'; }
  while [ $i -lt 1800 ] && [ "$(finals)" -lt 3 ]; do sleep 0.1; i=$((i + 1)); done
  kill -INT $pid
  wait $pid
  rc=$?
  if [ $rc = 0 ]; then ok; else bad "capture: exit $rc after SIGINT ($(cat "$tmp/cap.err"))"; fi
  python3 - "$tmp/cap.json" "$tmp/sim.json" <<'EOF' && ok || bad "capture finals differ: $(cat "$tmp/cap.json")"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2]) if '"final"' in l]
key = lambda e: (e['utterance'], e['start'], e['end'], e['text'], e['avg_logprob'])
assert [key(e) for e in a] == [key(e) for e in b], (a, b)
EOF
fi

# --vad-max-speech-ms 2000: the 4.3 s utterance (a 0.4 s pause inside) is finalised at the VAD's
# cuts -> 5 finals (tests/test_vad_maxspeech.c checks the times against the offline segments)
expect 2 "bad --vad-max-speech-ms" -- "$prog" listen -m "$model" --vad-max-speech-ms -5 --simulate-realtime "$wav"
if expect 0 "vad max speech" -- "$prog" listen -m "$model" $fast --speed 0 --no-partials --vad-max-speech-ms 2000 -o json --simulate-realtime "$wav"; then
  python3 - "$tmp/out" <<'EOF' && ok || bad "vad max speech: $(cat "$tmp/out")"
import json, sys
fin = [json.loads(l) for l in open(sys.argv[1])]
assert len(fin) == 5 and all(e['type'] == 'final' and e['end'] - e['start'] <= 2.0 for e in fin), fin
assert abs(fin[2]['end'] - fin[3]['start']) < 0.1, fin  # the cut inside the second spoken command
EOF
fi

# real text: three kiosk clips the shipped Q8_0 model transcribes exactly, joined with 1.5 s of
# silence (built here); one final per clip, in order, with the clip's reference text, its speech
# start and end inside the clip (tests/test_listen_kiosk.c does the same through the API)
kiosk_model=models/edge-stt-kiosk-q8_0.gguf
if [ -f "$kiosk_model" ] && python3 - "$data/kiosk" "$tmp/kiosk3.wav" "$tmp/kiosk3.spans" <<'EOF'
import sys, wave
d, out, spans = sys.argv[1:4]
pause = b'\0\0' * 24000
frames, at, rows = pause, 24000, []
for clip in ('seen/013', 'seen/002', 'seen/044'):
    w = wave.open(f'{d}/{clip}.wav')
    assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
    x = w.readframes(w.getnframes())
    rows.append(f'{at / 16000:.4f} {(at + len(x) // 2) / 16000:.4f}')
    frames += x + pause
    at += len(x) // 2 + 24000
o = wave.open(out, 'wb')
o.setnchannels(1); o.setsampwidth(2); o.setframerate(16000); o.writeframes(frames); o.close()
open(spans, 'w').write('\n'.join(rows) + '\n')
EOF
then
  if expect 0 "kiosk clips" -- "$prog" listen -m "$kiosk_model" --vad-model $vad --quiet --speed 0 -o json --simulate-realtime "$tmp/kiosk3.wav"; then
    python3 - "$tmp/out" "$tmp/kiosk3.spans" <<'EOF' && ok || bad "kiosk clips: $(grep '"final"' "$tmp/out")"
import json, sys
fin = [e for e in map(json.loads, open(sys.argv[1])) if e['type'] == 'final']
spans = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
want = ['the market is on your right', 'take me to the platform', 'take me to the library']
assert [e['text'] for e in fin] == want, fin
for e, (a, b) in zip(fin, spans):
    assert a <= e['start'] < e['end'] <= b, (e, a, b)
EOF
  fi
else
  bad "kiosk clips: $kiosk_model or the clips of $data/kiosk missing"
fi

# soak: 10 simulated minutes; resident memory in the last minute within 256 KiB of the first
if expect 0 "soak" -- "$prog" listen -m "$model" --vad-model $vad --sample-len 2 --speed 0 --no-partials --soak-seconds 600 --simulate-realtime "$wav"; then
  line=$(grep "soak: rss" "$tmp/err")
  echo "test_listen_cli: $line"
  echo "$line" | awk '{ a = $(NF-7); b = $(NF-1); exit !(a > 0 && b > 0 && b - a <= 0.25) }' && ok || bad "soak: '$line'"
  [ "$(grep -c '^final' "$tmp/out")" -ge 140 ] && ok || bad "soak: $(grep -c '^final' "$tmp/out") finals"
fi

echo "test_listen_cli: $passes passed, $fails failed"
[ $fails = 0 ]
