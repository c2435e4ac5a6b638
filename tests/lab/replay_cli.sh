#!/usr/bin/env bash
# tests/lab/replay_cli.sh CARVE: carve replay's error paths and .rep.gz input, end to end.
set -u
carve=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # expect STATUS PATTERN -- command...: the status and a line of stderr matching PATTERN
  local want=$1 pattern=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" != "$want" ] || ! grep -q -- "$pattern" "$tmp/err"; then
    echo "FAIL: $* -> status $got (want $want), stderr:"; cat "$tmp/err"; fails=$((fails + 1))
  fi
}
printf '1\n1\n2\n1\na 0 10\nf 0 oops\n' >"$tmp/bad.rep"
expect 2 "bad.rep:6: unexpected text after the operation" -- "$carve" replay --alloc libc "$tmp/bad.rep"
printf '1\n1\n' >"$tmp/short.rep"
expect 2 "short.rep:2: truncated header" -- "$carve" replay "$tmp/short.rep"
expect 2 "nothere.rep:0: No such file" -- "$carve" replay "$tmp/nothere.rep"
printf 'not gzip' >"$tmp/x.rep.gz"
expect 2 "x.rep.gz:0: gzip could not decompress it" -- "$carve" replay "$tmp/x.rep.gz"
{ printf '1\n1\n1\n1\na 0 '; head -c 600 /dev/zero | tr '\0' 7; printf '\n'; } >"$tmp/long.rep"
expect 2 "long.rep:5: line too long" -- "$carve" replay --alloc libc "$tmp/long.rep"
printf '1\n1\n1\n1\na 0 1\0\n' >"$tmp/nul.rep"
expect 2 "nul.rep:0: binary data in a text trace" -- "$carve" replay --alloc libc "$tmp/nul.rep"
printf '1\n1\n1\n1\nz 0 1\n' >"$tmp/op.rep"
expect 2 "op.rep:5: unknown operation 'z'" -- "$carve" replay --alloc libc "$tmp/op.rep"
expect 2 "timeout needs a number of seconds" -- "$carve" replay --timeout soon "$tmp/op.rep"
expect 2 "unknown allocator 'nope'" -- "$carve" replay --alloc nope "$tmp/bad.rep"
expect 2 "unknown format 'xml'" -- "$carve" replay --format xml "$tmp/bad.rep"
expect 2 "usage: carve replay" -- "$carve" replay
# A trace with meaningless operations: reported, skipped, and the rest replays (status 0).
printf '1\n1\n3\n1\nf 3\na 0 10\nf 0\n' >"$tmp/skip.rep"
gzip -c "$tmp/skip.rep" >"$tmp/skip.rep.gz"
expect 0 "skip.rep.gz:5: frees id 3, which was never allocated; skipped" -- \
  "$carve" replay --alloc libc --format csv "$tmp/skip.rep.gz"
if ! grep -q "skip.rep.gz,libc,2,0," "$tmp/out"; then echo "FAIL: csv row"; cat "$tmp/out"; fails=$((fails + 1)); fi
# The list orders, by name: first fit over a list sorted by ascending size is best fit, so the
# two place every block alike and reach the same footprint; LIFO first fit does not.
# (Only in a carve built with the region heap.)
random_rep="$(dirname "$0")/../../data/traces/synthetic/random.rep"
if "$carve" replay --alloc first:size+ "$tmp/skip.rep" >/dev/null 2>&1; then
  "$carve" replay --format csv --alloc first:size+,best:size+,best,first:lifo "$random_rep" >"$tmp/orders.csv"
  fp() { awk -F, -v a="$1" '$2 == a { print $7 }' "$tmp/orders.csv"; }
  [ -n "$(fp first:size+)" ] && [ "$(fp first:size+)" = "$(fp best:size+)" ] && [ "$(fp best)" = "$(fp best:size+)" ] ||
    { echo "FAIL: first fit by ascending size should be best fit"; cat "$tmp/orders.csv"; fails=$((fails + 1)); }
  [ "$(fp first:lifo)" != "$(fp best)" ] || { echo "FAIL: LIFO first fit matched best fit"; fails=$((fails + 1)); }
fi
exit $((fails != 0))
