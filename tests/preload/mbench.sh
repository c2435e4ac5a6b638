#!/usr/bin/env bash
# tests/preload/mbench.sh LIB PROBE MBENCH: the malloc benchmark's synthetic workloads
# (build/bench/carve-mbench) at 5% of their benchmark size, under LD_PRELOAD=LIB. Each writes a
# pattern into every block and checks it before the free, so this is a correctness test of the
# preloaded allocator on the benchmark's own patterns (remote frees through a queue, larson's
# hand-over of blocks after their thread exited, realloc's copies, 8 MiB blocks), not a timing.
# Every workload must exit 0, and the probe must see malloc bound to LIB.
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/preload/common.sh
. "$here/common.sh"

[ $# = 3 ] || preload_fail "usage: $0 LIB PROBE MBENCH"
lib=$(realpath "$1")
probe_lib=$(realpath "$2")
mbench=$(realpath "$3")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/carve-preload.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
workloads=$("$mbench" --list)
for workload in $workloads; do
  status=0
  LD_PRELOAD="$lib $probe_lib" CARVE_PROBE_OUT="$tmp/got.probe" MBENCH_SCALE=5 \
    "$mbench" "$workload" >"$tmp/$workload.out" 2>"$tmp/$workload.err" || status=$?
  if [ "$status" != 0 ]; then
    tail -n 20 "$tmp/$workload.err" >&2
    preload_fail "carve-mbench $workload exited with status $status under $lib"
  fi
done
# shellcheck disable=SC2034 # read by preload_check_probe in common.sh
PRELOAD_EXPECT="carve-mbench"
preload_check_probe
echo "ok: $(echo "$workloads" | wc -w) workloads checked their memory on $(basename "$lib")"
