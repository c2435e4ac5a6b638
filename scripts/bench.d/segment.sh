#!/usr/bin/env bash
# scripts/bench.d/segment.sh: the segment allocator (seed 004) against a bitmap scan and, when the
# region heap is built in, its TLSF policy, on one trace that keeps the range 90% full (the method
# is in bench/segment_bench.c and docs/segment.md). Then the instruction counts of one alloc and
# one free under callgrind: a figure the machine's noise cannot move.
set -euo pipefail
cd "$(dirname "$0")/../.."
bench=build/segment_bench
[ -x "$bench" ] || { echo "segment.sh: $bench missing (make build)" >&2; exit 1; }
echo "--- segment: 64K cells (16 blocks of 4096), runs of 1..16 (16 blocks cannot serve 64 sizes), median of 7 reps"
"$bench" --cells 65536 --max 16 --ops 1000000 --reps 7
echo "--- segment: 1M cells (256 blocks), runs of 1..64, median of 7 reps"
"$bench" --cells 1048576 --ops 1000000 --reps 7
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" --ops 200000 --reps 1 --only segment >/dev/null 2>&1
  echo "--- segment: instructions per call (callgrind, 1M cells, 200000 steady ops, --reps 1: the warm-up rep and one rep, every pass of both traces; inclusive)"
  callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    awk '/=> .*segment\.c:carve_segment_(alloc|free) \([0-9,]+x\)/ {
           ir = $1; gsub(",", "", ir); name = $0; sub(/.*segment\.c:/, "", name); sub(/ .*/, "", name);
           match($0, /\([0-9,]+x\)/); calls = substr($0, RSTART + 1, RLENGTH - 3); gsub(",", "", calls);
           if (!(name in seen)) printf "%-22s %6.1f instructions per call (%d calls)\n", name, ir / calls, calls;
           seen[name] = 1}'
  rm -f "$out"
fi
