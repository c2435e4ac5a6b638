#!/usr/bin/env bash
# tests/lab/synthetic.sh CARVE: the shipped synthetic traces are what their generator makes
# (byte for byte), and every one replays cleanly through every allocator of this carve.
set -u
carve=$1
dir=$(cd "$(dirname "$0")/../../data/traces/synthetic" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null || fail "python3 is missing (scripts/deps.sh test installs it)"
python3 "$dir/generate.py" "$tmp" || fail "generate.py"
n=0
for f in "$tmp"/*.rep; do
  cmp -s "$f" "$dir/$(basename "$f")" || fail "$(basename "$f") differs from what generate.py makes"
  n=$((n + 1))
done
[ "$n" = 13 ] || fail "generate.py made $n traces, 13 expected"
[ "$(ls "$dir"/*.rep | wc -l)" = 13 ] || fail "data/traces/synthetic holds a trace generate.py does not make"
"$carve" replay --format csv "$dir"/*.rep >"$tmp/out.csv" 2>"$tmp/err" || { cat "$tmp/err"; fail "replay"; }
[ ! -s "$tmp/err" ] || { cat "$tmp/err"; fail "the replay reported skipped operations"; }
# every row: no error, and (when no allocation failed) the peak of live bytes the header announces
while IFS=, read -r trace alloc ops failures util peak rest; do
  [ "$trace" = trace ] && continue
  [ "$failures" != 0 ] || [ "$peak" = "$(head -1 "$trace")" ] ||
    fail "$trace through $alloc: peak live $peak, the header says $(head -1 "$trace")"
  case "$rest" in *,) ;; *) fail "$trace through $alloc: $rest" ;; esac
done <"$tmp/out.csv"
exit 0
