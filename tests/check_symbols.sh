#!/bin/sh
# Hygiene: libedgestt.a exports only the public prefix, and core/ + kernels/ objects reference no
# malloc/free/exit/abort/printf (they report through status codes; only port/ touches the OS).
# usage: check_symbols.sh LIB OBJ...
set -u
lib=$1; shift
nm=${NM:-nm}
bad=$($nm -g --defined-only "$lib" | awk 'NF==3 {print $3}' | grep -v '^edgestt_' || true)
if [ -n "$bad" ]; then echo "check_symbols: $lib exports non-public symbols:"; echo "$bad" | head; exit 1; fi
fail=0
for o in "$@"; do
  case "$o" in */obj/core/*|*/obj/kernels/*|*/obj/models/*) ;; *) continue ;; esac
  case "$o" in */obj/models/tools/*) continue ;; esac
  u=$($nm -u "$o" | awk '{print $2}' | grep -E '^(malloc|calloc|realloc|free|exit|_exit|abort|printf|fprintf|puts|putchar|fputs|fwrite|perror|posix_memalign|aligned_alloc)$' || true)
  if [ -n "$u" ]; then echo "check_symbols: $o references $u"; fail=1; fi
done
[ $fail = 0 ] && echo "check_symbols: ok ($(echo "$@" | wc -w) objects, public prefix only)"
exit $fail
