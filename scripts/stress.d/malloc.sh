#!/usr/bin/env bash
# scripts/stress.d/malloc.sh: carve_malloc's randomized and threaded tests at larger scale
# (CARVE_TEST_SCALE, default 20), with a few seeds.
set -euo pipefail
cd "$(dirname "$0")/../.."
scale=${CARVE_TEST_SCALE:-20}
for seed in 1 2 3; do
  for t in test_unit_malloc_threads test_unit_malloc test_unit_malloc_oom test_unit_malloc_fork; do
    echo "malloc stress: $t seed $seed scale $scale" >&2
    CARVE_TEST_SEED=$seed CARVE_TEST_SCALE=$scale build/tests/$t > /dev/null
  done
done
echo "malloc stress: ok" >&2
