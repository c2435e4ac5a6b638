#!/usr/bin/env bash
# scripts/stress.sh: `make stress`. Each area adds its part below, as a script under stress/ or a line here.
set -euo pipefail
cd "$(dirname "$0")/.."
for part in scripts/stress.d/*.sh; do
  [ -e "$part" ] || continue
  echo "=== $part" >&2
  bash "$part"
done
