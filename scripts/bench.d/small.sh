#!/usr/bin/env bash
# scripts/bench.d/small.sh: the pool, slab cache and buddy benchmarks (bench/*_bench.c), run
# from `make bench` after the release build. Figures are medians of several runs; the pool's
# instruction counts come from callgrind (stable on a noisy machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/bench
TRACES=${CARVE_TRACES:-/work/shared/traces/cs-app}

echo "--- pool: alloc+free pair vs a bare intrusive LIFO and glibc malloc(64)+free"
"$B/small_bench_pool" --runs 9
if command -v valgrind >/dev/null; then
  echo "--- pool: instructions per pair (callgrind, 1e6 pairs, the loop function only)"
  echo "    call: every op through a call; inline: bare_pop/push vs carve_pool_*_inline"
  tmp=$(mktemp -d)
  declare -A ir
  for v in bare pool hardened malloc floor ibare ipool ihardened ifloor; do
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$v" --toggle-collect="loop_$v" \
      "$B/small_bench_pool" --only "$v" --pairs 1000000 >/dev/null 2>&1
    ir[$v]=$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.$v")
  done
  for v in bare pool hardened malloc floor ibare ipool ihardened ifloor; do
    case $v in i*) b=${ir[ibare]} ;; *) b=${ir[bare]} ;; esac
    awk -v v="$v" -v n="${ir[$v]}" -v b="$b" -v m="${ir[malloc]}" \
      'BEGIN { printf "%-10s %6.1f Ir/pair  x bare %.2f  x malloc %.3f\n", v, n / 1e6, n / b, n / m }'
  done
  rm -rf "$tmp"
fi

echo "--- slab: mixed sizes 8..2048 vs the process's malloc (glibc, then peers by LD_PRELOAD)"
"$B/small_bench_slab" --runs 7
for lib in libjemalloc.so.2 libtcmalloc_minimal.so.4 libmimalloc.so.2; do
  path=/usr/lib/x86_64-linux-gnu/$lib
  [ -e "$path" ] || continue
  echo "  (malloc = $lib)"
  LD_PRELOAD=$path "$B/small_bench_slab" --runs 5
done

echo "--- buddy: the 11 standard CS:APP traces (all but short1/short2)"
mapfile -t files < <(ls "$TRACES"/*.rep | grep -v short)
for mb in 16 32 64; do
  "$B/small_bench_buddy" --runs 7 --min-block "$mb" "${files[@]}"
done
