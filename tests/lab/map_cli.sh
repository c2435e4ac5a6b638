#!/usr/bin/env bash
# tests/lab/map_cli.sh CARVE: carve map end to end on the region heap: the SVG and the HTML page
# are well-formed for a real XML parser (xmllint; its absence is a failure, not a pass), and the
# layout view holds one group per block that the heap's walk reports (the count carve prints).
set -u
carve=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v xmllint >/dev/null || fail "xmllint is missing: the SVG cannot be checked (scripts/deps.sh test installs libxml2-utils)"
# Blocks live and freed: the layout at the peak footprint shows used and free blocks.
printf '0\n4\n6\n1\na 0 100\na 1 2000\na 2 300\nf 1\na 3 50\nf 0\n' >"$tmp/t.rep"
for alloc in first tlsf buddy; do
  "$carve" map --alloc "$alloc" -o "$tmp/m.svg" "$tmp/t.rep" 2>"$tmp/err" || { cat "$tmp/err"; fail "map --alloc $alloc"; }
  blocks=$(sed -n 's/.*: \([0-9]*\) blocks).*/\1/p' "$tmp/err")
  [ -n "$blocks" ] && [ "$blocks" -ge 1 ] || fail "$alloc: no block count in: $(cat "$tmp/err")"
  got=$(grep -o '<g class="blk">' "$tmp/m.svg" | wc -l)
  [ "$got" = "$blocks" ] || fail "$alloc: $got block groups in the SVG, the walk reported $blocks"
  xmllint --noout "$tmp/m.svg" || fail "$alloc: xmllint rejects the SVG"
  xmllint --html --noout "$tmp/m.html" 2>"$tmp/html_err" || fail "$alloc: the HTML page does not parse"
  [ ! -s "$tmp/html_err" ] || { cat "$tmp/html_err"; fail "$alloc: xmllint --html complains about the page"; }
done
# A trace whose name needs escaping in XML and HTML.
cp "$tmp/t.rep" "$tmp/a&b<c>.rep"
"$carve" map --alloc first -o "$tmp/x.svg" "$tmp/a&b<c>.rep" 2>/dev/null || fail "map of a&b<c>.rep"
xmllint --noout "$tmp/x.svg" && xmllint --html --noout "$tmp/x.html" || fail "a name with & and < breaks the markup"
# --at: the layout after op 0 holds the first block (and what is left free).
"$carve" map --alloc first --at 0 -o "$tmp/a.svg" "$tmp/t.rep" 2>"$tmp/err" || fail "map --at 0"
grep -q "Layout after op 0" "$tmp/a.svg" || fail "--at 0 title"
[ "$(grep -o '<title>allocation slot' "$tmp/a.svg" | wc -l)" = 1 ] || fail "--at 0: one allocation expected"
# Errors.
"$carve" map --alloc libc "$tmp/t.rep" 2>"$tmp/err"; [ $? = 2 ] && grep -q "libc has no walk" "$tmp/err" || fail "libc map"
"$carve" map --alloc first --at 99 "$tmp/t.rep" 2>"$tmp/err"; [ $? = 2 ] && grep -q "operations 0 to 5" "$tmp/err" || fail "--at 99"
exit 0
