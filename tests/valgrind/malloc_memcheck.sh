#!/usr/bin/env bash
# tests/valgrind/malloc_memcheck.sh PROGRAM: memcheck understands carve's blocks. A correct
# run reports no error; a use after free and a leak are both reported, with carve's frames.
# memcheck sees the requested sizes: a write past them is an error, even inside the size class.
set -euo pipefail
prog=$1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
vg() { valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite "$@"; }
vg "$prog" clean > /dev/null 2> "$log" || { echo "FAIL: memcheck complained about a clean run"; cat "$log"; exit 1; }
grep -q "ERROR SUMMARY: 0 errors" "$log" || { echo "FAIL: clean run"; cat "$log"; exit 1; }
status=0
vg "$prog" uaf > /dev/null 2> "$log" || status=$?
[ "$status" = 9 ] || { echo "FAIL: memcheck exit $status on the faulty run"; cat "$log"; exit 1; }
grep -q "Invalid read of size 1" "$log" || { echo "FAIL: use after free not seen"; cat "$log"; exit 1; }
grep -q "10 bytes inside a block of size 100 free'd" "$log" || { echo "FAIL: the freed block is not described"; cat "$log"; exit 1; }
grep -q "(malloc.c:" "$log" || { echo "FAIL: no frame in carve's malloc.c"; cat "$log"; exit 1; }
grep -q "0 bytes after a block of size 100 alloc'd" "$log" || { echo "FAIL: write past the requested size not seen"; cat "$log"; exit 1; }
grep -q "77 bytes in 1 blocks are definitely lost" "$log" || { echo "FAIL: leak not seen"; cat "$log"; exit 1; }
echo "ok memcheck"
