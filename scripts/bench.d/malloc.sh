#!/usr/bin/env bash
# scripts/bench.d/malloc.sh: carve's malloc side by side with glibc, jemalloc, tcmalloc and
# mimalloc (`make bench`; alone: `bash scripts/bench.d/malloc.sh`).
#
# Every workload (bench/malloc's synthetic ones, then the real programs of tests/preload: python,
# sqlite, git, gcc) runs under every allocator RUNS times, interleaved (run 1 of everything, then
# run 2, ...; the allocator order rotates each run), so that a burst of noise on this shared
# machine spreads over all allocators. mbench-run times each run and reads its peak RSS; the peers
# come in through LD_PRELOAD, glibc is no preload. bench/malloc/report.py turns the medians into
# ratio tables (to mimalloc and to glibc, with geometric means) and checks carve's targets.
#
# Environment: BUILD (default build), MBENCH_RUNS (5), MBENCH_WORKLOADS (all; a space-separated
# subset), MBENCH_SCALE (percent of the synthetic workloads' operation counts, 100).
# Output: the report on stdout and in $BUILD/bench/malloc-report.md; raw runs in
# $BUILD/bench/malloc-raw.tsv. A missing peer, or carve's library not built yet, is skipped with
# a note; a run that crashes or times out is reported as such, and the rest goes on.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RUNS=${MBENCH_RUNS:-5}
LIBDIR=/usr/lib/x86_64-linux-gnu
runner=$BUILD/bench/mbench-run
mbench=$BUILD/bench/carve-mbench
for tool in "$runner" "$mbench"; do
  [ -x "$tool" ] || { echo "malloc bench: $tool is missing; build first (make)" >&2; exit 1; }
done

names=()
libs=()
add_allocator() { # NAME LIB ("" = glibc, no preload)
  if [ -n "$2" ] && [ ! -f "$2" ]; then
    echo "malloc bench: NOTE: $1 skipped, $2 does not exist" >&2
    return
  fi
  names+=("$1")
  libs+=("$2")
}
add_allocator glibc ""
add_allocator jemalloc "$LIBDIR/libjemalloc.so.2"
add_allocator tcmalloc "$LIBDIR/libtcmalloc_minimal.so.4"
add_allocator mimalloc "$LIBDIR/libmimalloc.so.2"
carve_version="carve not measured"
if [ -f "$BUILD/libcarve-malloc.so" ]; then
  add_allocator carve "$(realpath "$BUILD/libcarve-malloc.so")"
  carve_version="carve $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
else
  echo "malloc bench: NOTE: carve skipped, $BUILD/libcarve-malloc.so is not built (src/malloc missing?)" >&2
fi

programs="python sqlite git gcc"
workloads=${MBENCH_WORKLOADS:-"$($mbench --list | tr '\n' ' ')$programs"}

raw=$BUILD/bench/malloc-raw.tsv
report=$BUILD/bench/malloc-report.md
scratch=$(mktemp -d "${TMPDIR:-/tmp}/carve-mbench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
printf 'workload\tallocator\trun\tseconds\tpeak_kib\tstatus\textra\n' >"$raw"

n=${#names[@]}
echo "malloc bench: ${names[*]} x {$workloads} x $RUNS runs" >&2
for run in $(seq 1 "$RUNS"); do
  for workload in $workloads; do
    for k in $(seq 0 $((n - 1))); do
      a=$(((k + run) % n))
      if [[ " $programs " == *" $workload "* ]]; then
        rm -rf "$scratch/work"
        command=(bash tests/preload/"$workload".sh --workload "$scratch/work")
      else
        command=("$mbench" "$workload")
      fi
      result=$("$runner" -p "${libs[$a]}" -o "$scratch/stdout" -t 120 -- "${command[@]}" 2>"$scratch/stderr")
      read -r seconds peak status <<<"$result"
      if [ "$status" != ok ]; then
        echo "malloc bench: $workload on ${names[$a]} (run $run): $status" >&2
        tail -n 3 "$scratch/stderr" >&2
      fi
      extra=$(grep -E '^[a-z_]+=[0-9.]+$' "$scratch/stdout" | tr '\n' ' ' || true)
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "${names[$a]}" "$run" "$seconds" "$peak" \
        "$status" "$extra" >>"$raw"
    done
  done
  echo "malloc bench: run $run of $RUNS done ($(date -u +%H:%M:%S))" >&2
done
rm -rf "$scratch/work"

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`bash scripts/bench.d/malloc.sh\` (MBENCH_RUNS=$RUNS${MBENCH_SCALE:+, MBENCH_SCALE=$MBENCH_SCALE})"
  echo "on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), Debian $(cat /etc/debian_version),"
  echo "glibc $(ldd --version | head -n1 | awk '{print $NF}'), jemalloc $(dpkg-query -W -f='${Version}' libjemalloc2 2>/dev/null)," \
       "tcmalloc $(dpkg-query -W -f='${Version}' libtcmalloc-minimal4 2>/dev/null), mimalloc $(dpkg-query -W -f='${Version}' libmimalloc2.0 2>/dev/null)," \
       "${carve_version}."
  echo
  /usr/bin/python3 bench/malloc/report.py "$raw" "${names[@]}"
} | tee "$report"
echo "malloc bench: report in $report, raw runs in $raw" >&2
