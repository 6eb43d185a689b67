#!/bin/sh
# The neondot kernels must really use the ARMv8.2 dot-product instructions (a compiler that
# lowered vdotq_* to multiplies, or a build that dropped the per-file -march, would still pass the
# bit-exact tests), and the baseline neon object must not (it runs on Cortex-A72 / Pi 4).
# usage: check_sdot.sh NEONDOT_OBJ [NEON_OBJ]      (OBJDUMP defaults to aarch64-linux-gnu-objdump)
set -u
objdump=${OBJDUMP:-aarch64-linux-gnu-objdump}
count() { $objdump -d "$1" | grep -c -w 'sdot'; }
[ -f "$1" ] || { echo "check_sdot: $1 missing"; exit 1; }
n=$(count "$1")
if [ "$n" -lt 8 ]; then echo "check_sdot: $1 has only $n sdot instructions"; exit 1; fi
if [ $# -ge 2 ]; then
  [ -f "$2" ] || { echo "check_sdot: $2 missing"; exit 1; }
  z=$(count "$2")
  if [ "$z" -ne 0 ]; then echo "check_sdot: $2 (baseline ARMv8.0) has $z sdot instructions"; exit 1; fi
fi
echo "check_sdot: ok ($n sdot in $(basename "$1")${2:+, none in $(basename "${2:-}")})"
