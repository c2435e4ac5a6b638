#!/usr/bin/env bash
# Every ```c example in README.md and docs/*.md compiles with -Wall -Wextra -Werror against the
# built library and runs to exit status 0, so the documentation cannot drift from the API.
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
for doc in "$src"/README.md "$src"/docs/*.md; do
  awk -v dir="$tmp" -v base="$(basename "$doc" .md)" '
    /^```c$/ { n++; f = sprintf("%s/%s-%d.c", dir, base, n); inblk = 1; next }
    /^```/   { inblk = 0; next }
    inblk    { print > f }' "$doc"
done
for c in "$tmp"/*.c; do
  [ -e "$c" ] || continue
  grep -q "int main" "$c" || continue          # fragments without main are not programs
  n=$((n + 1))
  name=$(basename "$c" .c)
  if ! cc -std=c11 -Wall -Wextra -Werror -I "$src/include" -o "$tmp/$name" "$c" \
        "$build/libcarve.a" -lpthread -lm 2>"$tmp/$name.err"; then
    echo "FAIL: $name does not compile:"; cat "$tmp/$name.err"; bad=$((bad + 1)); continue
  fi
  if ! (cd "$tmp" && CARVE_STATS=0 "./$name" >"$tmp/$name.out" 2>&1); then
    echo "FAIL: $name exits non-zero:"; cat "$tmp/$name.out"; bad=$((bad + 1))
  fi
done
echo "$n examples, $bad failed"
[ "$n" -gt 0 ] && [ "$bad" = 0 ]
