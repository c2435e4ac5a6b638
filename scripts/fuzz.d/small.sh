#!/usr/bin/env bash
# scripts/fuzz.d/small.sh: run the pool/buddy/slab libFuzzer harness for FUZZ_SECONDS (default 60)
# from a corpus kept in build-fuzz/corpus/small. A crash leaves its input in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=build-fuzz/corpus/small
mkdir -p "$corpus"
build-fuzz/small_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 -artifact_prefix=build-fuzz/small- "$corpus"
