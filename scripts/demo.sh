#!/usr/bin/env bash
# scripts/demo.sh: `make demo`. Each area adds its part below, as a script under tools/carve/ or a line here.
set -euo pipefail
cd "$(dirname "$0")/.."
for part in scripts/demo.d/*.sh; do
  [ -e "$part" ] || continue
  echo "=== $part" >&2
  bash "$part"
done
