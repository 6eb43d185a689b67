#!/bin/sh
# make test: the test binary, the symbol hygiene check and the edge-stt program tests, each with its
# own output; the last line is the total "N passed, M failed"; exit status non-zero on any failure.
# usage: tests/run_all.sh TESTBIN PROG LIB MODELS_DIR DATA_DIR OBJ...
set -u
testbin=$1 prog=$2 lib=$3 models=$4 data=$5
shift 5
tmp=${TMPDIR:-/tmp}/edgestt-run-all.$$
pass=0 fail=0
# add the "N passed, M failed" of the last line of file $1; a missing summary counts as a failure
tally() {
    nm=$(tail -n 1 "$1" | awk '$NF == "failed" && $(NF-2) == "passed," { print $(NF-3), $(NF-1) }')
    if [ -z "$nm" ]; then fail=$((fail + 1)); return; fi
    set -- $nm
    pass=$((pass + $1)) fail=$((fail + $2))
}
"$testbin" --data "$data" --models "$models" > "$tmp" 2>&1; rc=$?
cat "$tmp"; tally "$tmp"; [ $rc = 0 ] || [ "$fail" -gt 0 ] || fail=$((fail + 1))
if tests/check_symbols.sh "$lib" "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
tests/test_cli.sh "$prog" "$models" "$data" > "$tmp" 2>&1; rc=$?
cat "$tmp"; f0=$fail; tally "$tmp"; [ $rc = 0 ] || [ "$fail" -gt "$f0" ] || fail=$((fail + 1))
tests/test_listen_cli.sh "$prog" "$models" "$data" > "$tmp" 2>&1; rc=$?
cat "$tmp"; f0=$fail; tally "$tmp"; [ $rc = 0 ] || [ "$fail" -gt "$f0" ] || fail=$((fail + 1))
rm -f "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
