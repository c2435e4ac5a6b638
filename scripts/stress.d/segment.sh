#!/usr/bin/env bash
# scripts/stress.d/segment.sh: the segment allocator's model test and threaded test at larger
# scale (CARVE_TEST_SCALE, default 10: 10 million model operations), with a few seeds.
set -euo pipefail
cd "$(dirname "$0")/../.."
scale=${CARVE_TEST_SCALE:-10}
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
for seed in 1 2 3; do
  echo "segment stress: seed $seed scale $scale" >&2
  CK_RUN_CASE=model CARVE_TEST_SEED=$seed CARVE_TEST_SCALE=$scale build/tests/test_unit_segment > /dev/null
  CARVE_TEST_SEED=$seed CARVE_TEST_SCALE=$scale build/tests/test_unit_segment_threads > /dev/null
done
echo "segment stress: ok" >&2
