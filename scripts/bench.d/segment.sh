#!/usr/bin/env bash
# scripts/bench.d/segment.sh: the segment allocator (seed 004) against a bitmap scan and, when the
# region heap is built in, its TLSF policy, on one trace that keeps the range 90% full. Then the
# instruction counts of one alloc and one free under callgrind: a figure the machine's noise
# cannot move.
set -euo pipefail
cd "$(dirname "$0")/../.."
bench=build/segment_bench
[ -x "$bench" ] || { echo "segment.sh: $bench missing (make build)" >&2; exit 1; }
echo "--- segment: 1M cells (256 blocks of 4096), median of 5 replays"
"$bench" --cells 1048576 --ops 1000000 --reps 5
echo "--- segment: 4M cells (1024 blocks), median of 3 replays"
"$bench" --cells 4194304 --ops 1000000 --reps 3 --only harness,segment,heap-tlsf
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" --ops 200000 --reps 1 --only segment >/dev/null 2>&1
  echo "--- segment: instructions per call (callgrind, 1M cells, fill + 200000 steady ops, inclusive)"
  callgrind_annotate --inclusive=yes --tree=caller "$out" 2>/dev/null |
    awk '/< .*main \([0-9,]+x\)/ {gsub(",", "", $1); ir = $1; match($0, /\([0-9,]+x\)/);
                                    calls = substr($0, RSTART + 1, RLENGTH - 3); gsub(",", "", calls); next}
         /\*  .*carve_segment_(alloc|free) / && calls > 0 {name = $0; sub(/.*segment\.c:/, "", name);
                                    sub(/ .*/, "", name);
                                    printf "%-22s %6.1f instructions per call (%d calls)\n", name, ir / calls, calls}
         {calls = 0}'
  rm -f "$out"
fi
