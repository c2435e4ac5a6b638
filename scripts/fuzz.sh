#!/usr/bin/env bash
# scripts/fuzz.sh: `make fuzz`. Each area adds its part below, as a script under fuzz/ or a line here.
set -euo pipefail
cd "$(dirname "$0")/.."
for part in scripts/fuzz.d/*.sh; do
  [ -e "$part" ] || continue
  echo "=== $part" >&2
  bash "$part"
done
