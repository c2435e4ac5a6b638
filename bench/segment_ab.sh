#!/usr/bin/env bash
# bench/segment_ab.sh: src/segment.c at several git revisions (or the work tree, "."), in one
# process, rounds interleaved (method: bench/segment_ab.c). Example, from the repository root:
#   bench/segment_ab.sh HEAD~1 . -- --cells 1048576 --max 64 --reps 15
# Needs build/libcarve.a (make build) for the rest of the library.
set -euo pipefail
cd "$(dirname "$0")/.."
revs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do revs+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ ${#revs[@]} -gt 0 ] || { echo "usage: bench/segment_ab.sh REV... [-- ARGS]" >&2; exit 2; }
[ -f build/libcarve.a ] || { echo "segment_ab.sh: build/libcarve.a missing (make build)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="-O2 -g -DNDEBUG -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-missing-field-initializers"
objs=()
list=""
n=0
for rev in "${revs[@]}"; do
  n=$((n + 1))
  name="v${n}_$(echo "$rev" | tr -c 'A-Za-z0-9\n' '_')"
  mkdir -p "$tmp/$name"
  for f in segment.c segment_layout.h; do
    if [ "$rev" = . ]; then cp "src/$f" "$tmp/$name/$f"
    else git show "$rev:src/$f" > "$tmp/$name/$f"; fi
  done
  ren=""
  for fn in footprint init alloc free check walk stats rebuild block_meta; do
    ren="$ren -Dcarve_segment_$fn=${name}_$fn"
  done
  # shellcheck disable=SC2086
  cc $flags -fPIC $ren -Iinclude -Isrc -c "$tmp/$name/segment.c" -o "$tmp/$name.o"
  objs+=("$tmp/$name.o")
  list="$list X($name)"
done
# shellcheck disable=SC2086
cc $flags "-DSEGMENT_AB_VERSIONS(X)=$list" -Iinclude -Ibench bench/segment_ab.c "${objs[@]}" build/libcarve.a \
  -o "$tmp/segment_ab_run"
"$tmp/segment_ab_run" "$@"
