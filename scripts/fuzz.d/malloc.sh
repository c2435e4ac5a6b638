#!/usr/bin/env bash
# scripts/fuzz.d/malloc.sh: run the carve_malloc libFuzzer harness for FUZZ_SECONDS (default 60)
# from a corpus kept in build-fuzz/corpus/malloc. A crash leaves its input in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=build-fuzz/corpus/malloc
mkdir -p "$corpus"
ASAN_OPTIONS=allocator_may_return_null=1 \
  build-fuzz/malloc_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 -rss_limit_mb=4096 \
  -artifact_prefix=build-fuzz/ "$corpus"
