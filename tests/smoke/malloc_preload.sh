#!/usr/bin/env bash
# tests/smoke/malloc_preload.sh LIB: simple programs under LD_PRELOAD=LIB behave exactly as
# without it (same output, same status). The heavy real programs live in tests/preload/.
set -euo pipefail
lib=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seq 1 200000 | awk '{print ($1 * 7919) % 100003, $1}' > "$tmp/in"
run() { # name command...: compare plain and preloaded output and status
  local name=$1; shift
  local s1=0 s2=0
  "$@" > "$tmp/plain" 2>&1 || s1=$?
  LD_PRELOAD=$lib "$@" > "$tmp/carve" 2>&1 || s2=$?
  if [ "$s1" != "$s2" ] || ! cmp -s "$tmp/plain" "$tmp/carve"; then
    echo "FAIL $name: status $s1 vs $s2"; diff "$tmp/plain" "$tmp/carve" | head -5; exit 1
  fi
  echo "ok $name"
}
run sort sort -n -k1,1 -k2,2n "$tmp/in"
run sort-parallel sort --parallel=4 -S 8M -k2,2n "$tmp/in"
run ls ls -la /usr/lib
run awk awk '{ a[$1] += $2 } END { n = 0; for (k in a) n++; print n }' "$tmp/in"
run gzip sh -c "gzip -c '$tmp/in' | gzip -dc | md5sum"
run grep grep -c 7 "$tmp/in"
# the library itself reports through malloc_stats and keeps stats at exit
# (python: coreutils close stderr and mawk leaves by _exit before library destructors run)
LD_PRELOAD=$lib CARVE_STATS_JSON=1 /usr/bin/python3 -c pass > /dev/null 2> "$tmp/json"
grep -q '"capacity":' "$tmp/json" || { echo "FAIL: CARVE_STATS_JSON printed nothing"; exit 1; }
echo "ok stats"
