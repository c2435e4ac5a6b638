#!/usr/bin/env bash
# scripts/fuzz.d/malloc.sh: run the carve_malloc libFuzzer harness for FUZZ_SECONDS (default 60)
# from a corpus kept in build-fuzz/corpus/malloc. A crash leaves its input in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=build-fuzz/corpus/malloc
mkdir -p "$corpus"
# The RSS limit is 12 GiB, not libFuzzer's 4: the harness asks for blocks up to 2^55 bytes, and
# a realloc between two multi-gigabyte blocks copies the old block's usable size, as any copying
# realloc does, which makes gigabytes resident (3-4 GiB seen in a minute). At 4 GiB that ended
# the run as out-of-memory (also at fd963f7); the carve heap stays far below it otherwise.
ASAN_OPTIONS=allocator_may_return_null=1 \
  build-fuzz/malloc_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 -rss_limit_mb=12288 \
  -artifact_prefix=build-fuzz/ "$corpus"
