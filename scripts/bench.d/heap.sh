#!/usr/bin/env bash
# scripts/bench.d/heap.sh: the region heap's policies on the 11 standard CS:APP traces (all but
# short1/short2), next to glibc malloc in the same process: utilisation, ns/op (median of RUNS
# replays), the best configuration per trace (--sweep), and TLSF's single-operation latency.
set -euo pipefail
cd "$(dirname "$0")/../.."
traces=${CARVE_TRACES:-}
if [ -z "$traces" ]; then
  for d in ../shared/traces/cs-app ../../shared/traces/cs-app /work/shared/traces/cs-app; do
    [ -d "$d" ] && { traces=$d; break; }
  done
fi
[ -n "$traces" ] || { echo "heap bench: no CS:APP traces (set CARVE_TRACES)" >&2; exit 1; }
files=$(ls "$traces"/*.rep | grep -v -e short1 -e short2)
exec build/heap_bench --runs "${RUNS:-7}" --sweep $files
