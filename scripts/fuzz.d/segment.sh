#!/usr/bin/env bash
# scripts/fuzz.d/segment.sh: run the segment allocator's libFuzzer harness for FUZZ_SECONDS
# (default 60) from a corpus kept in build-fuzz/corpus/segment. A crash leaves its input in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=build-fuzz/corpus/segment
mkdir -p "$corpus"
build-fuzz/segment_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 -artifact_prefix=build-fuzz/segment- "$corpus"
