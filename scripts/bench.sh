#!/usr/bin/env bash
# scripts/bench.sh: `make bench`. Each area adds its part below, as a script under bench/ or a line here.
set -euo pipefail
cd "$(dirname "$0")/.."
for part in scripts/bench.d/*.sh; do
  [ -e "$part" ] || continue
  echo "=== $part" >&2
  bash "$part"
done
