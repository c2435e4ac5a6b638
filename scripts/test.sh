#!/usr/bin/env bash
# scripts/test.sh: `make test`. Every test, three times over:
#   build/       the release build (-O2), every test;
#   build-asan/  ASan+UBSan, every test but those labelled nosan (LD_PRELOAD of real programs);
#   build-tsan/  TSan, the tests labelled thread.
# Prints one closing line, "tests: N passed, M failed", and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
passed=0
failed=0
failed_names=""

run() { # run DIR CMAKE_ARGS CTEST_ARGS
  local dir=$1 cmake_args=$2 ctest_args=$3
  echo "=== $dir: configure and build" >&2
  # shellcheck disable=SC2086
  if ! { cmake -S . -B "$dir" $cmake_args >/dev/null && cmake --build "$dir" -j "$JOBS" >/dev/null; }; then
    # show the errors, then count the build as one failure
    cmake --build "$dir" -j 1 2>&1 | grep -E "error|Error" | head -40
    failed=$((failed + 1)); failed_names="$failed_names $dir:build"
    return
  fi
  echo "=== $dir: ctest $ctest_args" >&2
  local log="$dir/ctest.log"
  # shellcheck disable=SC2086
  local rc=0
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" $ctest_args) >"$log" 2>&1 || rc=$?
  grep -E "^ *[0-9]+/[0-9]+ Test|tests passed|Failed|\*\*\*" "$log" | grep -v "^$" || true
  local p f
  p=$(grep -cE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed" "$log")
  f=$(grep -cE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Exception|Timeout|Not Run)" "$log")
  if [ "$f" != 0 ]; then
    sed -n '/The following tests FAILED/,$p' "$log"
    # the output of each failing test, for CI logs
    grep -B2 -A40 -E "\*\*\*Failed|\*\*\*Exception|\*\*\*Timeout" "$log" | head -200
    failed_names="$failed_names $dir"
  fi
  # a run that finds no test, or a ctest that fails without a failing test, is a failure too
  if [ $((p + f)) = 0 ] || { [ "$rc" != 0 ] && [ "$f" = 0 ]; }; then
    echo "$dir: ctest ran $((p + f)) tests and exited $rc" >&2
    tail -20 "$log"
    f=$((f + 1)); failed_names="$failed_names $dir:ctest"
  fi
  passed=$((passed + p)); failed=$((failed + f))
}

run build "-DCMAKE_BUILD_TYPE=Release" ""
run build-asan "-DCMAKE_BUILD_TYPE=Debug -DCARVE_SANITIZE=address,undefined" "-LE nosan"
run build-tsan "-DCMAKE_BUILD_TYPE=Debug -DCARVE_SANITIZE=thread" "-L thread"

[ -n "$failed_names" ] && echo "failures in:$failed_names"
echo "tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
