#!/usr/bin/env bash
# bench_peer.sh - edge-stt against whisper.cpp (the peer, ../shared/peer/whisper-cpp.sh) on the same
# model files: generated tiny and base .bin (seeded random weights, whisper.cpp layout, F16), and
# their Q8_0 / Q4_0 made by the peer's own quantize tool, so both engines read identical bytes.
# Per model the two benches run alternately ROUNDS times and the best (smallest) time of each side
# is kept; the table gives encoder ms for one 30 s window and decoder ms per token (256
# single-token steps for both), and ours/peer ratios.  A benchmark, never a test: numbers depend
# on the machine and its load (the load average is printed with them).
#
#   tests/bench_peer.sh [EDGE_STT] [GEN] [DIR]     env: THREADS (2), ROUNDS (3), SIZES ("tiny base"),
#                                                  TYPES ("f16 q8_0 q4_0"), PEER_SH; Parakeet rows: PK_SIZES
#                                                  ("" = none; "0.6b", "110m"), PK_TYPES, PK_WAV (see below)
set -euo pipefail
prog=${1:-build/native/edge-stt}
gen=${2:-build/native/whisper-gen}
dir=${3:-build/benchmodels}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES-tiny base}
TYPES=${TYPES:-f16 q8_0 q4_0}
PEER_SH=${PEER_SH:-$(cd "$(dirname "$0")/../.." && pwd)/shared/peer/whisper-cpp.sh}
[ -f "$PEER_SH" ] || { echo "bench-peer: no peer script at $PEER_SH (set PEER_SH)"; exit 2; }
mkdir -p "$dir"

# model files: F16 from the generator, the quantized ones from the peer's whisper-quantize
for s in $SIZES; do
  # written to NAME.part and renamed, so an interrupted run never leaves a partial model behind
  if [ ! -s "$dir/$s-f16.bin" ]; then
    "$gen" --size "$s" --layout bin --type f16 -o "$dir/$s-f16.bin.part" >/dev/null && mv "$dir/$s-f16.bin.part" "$dir/$s-f16.bin"
  fi
  for t in $TYPES; do
    [ "$t" = f16 ] || [ -s "$dir/$s-$t.bin" ] && continue
    bash "$PEER_SH" quantize "$dir/$s-f16.bin" "$dir/$s-$t.bin.part" "$t" >/dev/null 2>&1 &&
      mv "$dir/$s-$t.bin.part" "$dir/$s-$t.bin" || { echo "bench-peer: peer quantize $s $t failed"; exit 1; }
  done
done

min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "bench-peer: $THREADS threads, best of $ROUNDS alternating runs; $(uname -m), $(nproc) cores;" \
     "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-5s | %10s %10s %6s | %12s %12s %6s\n' model type "enc ours" "enc peer" ratio \
       "dec/tok ours" "dec/tok peer" ratio
for s in $SIZES; do
  for t in $TYPES; do
    f=$dir/$s-$t.bin
    eo="" ep="" do_="" dp=""
    for ((r = 0; r < ROUNDS; r++)); do
      j=$("$prog" bench -m "$f" --threads "$THREADS" --json)
      e=$(printf '%s' "$j" | sed -n 's/.*"encode_ms": \([0-9.]*\).*/\1/p')
      d=$(printf '%s' "$j" | sed -n 's/.*"decode_ms_per_token": \([0-9.]*\).*/\1/p')
      eo=$(min "$eo" "$e")
      do_=$(min "$do_" "$d")
      p=$(THREADS=$THREADS bash "$PEER_SH" bench "$f")
      e=$(printf '%s\n' "$p" | sed -n 's/.*encode time = *\([0-9.]*\) ms.*/\1/p')
      d=$(printf '%s\n' "$p" | sed -n 's/.*decode time = .*( *\([0-9.]*\) ms per run).*/\1/p')
      [ -n "$e" ] && [ -n "$d" ] || { echo "bench-peer: cannot parse the peer's output:"; echo "$p"; exit 1; }
      ep=$(min "$ep" "$e")
      dp=$(min "$dp" "$d")
    done
    printf '%-10s %-5s | %10.1f %10.1f %6s | %12.3f %12.3f %6s\n' "$s" "$t" "$eo" "$ep" "$(ratio "$eo" "$ep")" \
           "$do_" "$dp" "$(ratio "$do_" "$dp")"
  done
done

# Parakeet (only with PK_SIZES, e.g. PK_SIZES="0.6b" or "110m"; SIZES="" skips the Whisper rows): the peer's
# .bin layout written by tests/reference/parakeet_bin.py (F16, seeded hash weights, models/parakeet-bin.md),
# Q8_0 / Q4_0 by the peer's parakeet-quantize; each side transcribes PK_WAV whole (greedy, THREADS threads)
# from the same file; wall seconds and peak RSS (GNU time, mapped weights count as resident), best of ROUNDS.
PK_SIZES=${PK_SIZES:-}
PK_TYPES=${PK_TYPES:-f16 q8_0 q4_0}
if [ -n "$PK_SIZES" ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  PK_WAV=${PK_WAV:-$root/../shared/data/jfk.wav}
  pbin=${PEER:-/tmp/edge-stt-peer}/bin
  [ -x "$pbin/parakeet-cli" ] || bash "$PEER_SH" build >/dev/null
  printf '%-10s %-5s | %9s %9s %6s | %10s %10s %6s\n' parakeet type "s ours" "s peer" ratio "MB ours" "MB peer" ratio
  for s in $PK_SIZES; do
    f16=$dir/pk-$s-f16.bin
    [ -s "$f16" ] || { /usr/bin/python3 "$root/tests/reference/parakeet_bin.py" --config "$s" --seed 0 --f16 \
                         --out "$f16.part" >/dev/null && mv "$f16.part" "$f16"; }
    for t in $PK_TYPES; do
      f=$dir/pk-$s-$t.bin
      [ -s "$f" ] || { LD_LIBRARY_PATH=$pbin "$pbin/parakeet-quantize" "$f16" "$f.part" "$t" >/dev/null 2>&1 &&
                       mv "$f.part" "$f"; } || { echo "bench-peer: parakeet-quantize $s $t failed"; exit 1; }
      so="" sp="" mo="" mp=""
      for ((r = 0; r < ROUNDS; r++)); do
        /usr/bin/time -f "%e %M" -o "$dir/pk.time" "$prog" -m "$f" --greedy --threads "$THREADS" "$PK_WAV" >/dev/null 2>&1 ||
          { echo "bench-peer: edge-stt failed on $f"; exit 1; }
        read -r w m < "$dir/pk.time"; so=$(min "$so" "$w"); mo=$(min "$mo" "$m")
        LD_LIBRARY_PATH=$pbin /usr/bin/time -f "%e %M" -o "$dir/pk.time" "$pbin/parakeet-cli" -np -t "$THREADS" -m "$f" \
          -f "$PK_WAV" >/dev/null 2>&1 || { echo "bench-peer: parakeet-cli failed on $f"; exit 1; }
        read -r w m < "$dir/pk.time"; sp=$(min "$sp" "$w"); mp=$(min "$mp" "$m")
      done
      printf '%-10s %-5s | %9.2f %9.2f %6s | %10.0f %10.0f %6s\n' "$s" "$t" "$so" "$sp" "$(ratio "$so" "$sp")" \
             "$(awk -v k="$mo" 'BEGIN { print k / 1024 }')" "$(awk -v k="$mp" 'BEGIN { print k / 1024 }')" "$(ratio "$mo" "$mp")"
    done
  done
fi
echo "bench-peer: load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
