#!/usr/bin/env bash
# scripts/bench.d/lab.sh: `make bench`, the lab's part: every allocator on the shipped recordings
# of real programs (a second per pair at most: the list policies are quadratic on them), and how
# long the replay of the million-operation Python recording takes per O(1) allocator, content
# checks included (the lab's own target: under a second each).
set -euo pipefail
cd "$(dirname "$0")/../.."
carve=build/carve
[ -x "$carve" ] || { echo "lab bench: build first (make)" >&2; exit 1; }
echo "== lab: every allocator on the recordings (utilisation, fragmentation, ns/op)"
"$carve" replay --timeout 1 data/traces/*.rep.gz
echo "== lab: replay time of python-json (1.1 M operations), both passes"
"$carve" replay --verbose --alloc segregated,tlsf,buddy,slab,malloc,libc data/traces/python-json.rep.gz 2>&1 >/dev/null |
  sed 's/^carve replay: //'
