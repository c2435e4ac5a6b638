#!/usr/bin/env bash
# scripts/demo.sh: `make demo`, the lab's showcase (the Makefile builds first).
#  1. replays the shipped recordings of real programs (data/traces/*.rep.gz) and the synthetic
#     traces (data/traces/synthetic/*.rep) through every allocator this carve has (a pair whose
#     measuring pass runs over two seconds gives up, and its row says so), and prints the table;
#  2. draws heap maps of a few traces for each allocator with a walk into build/demo/, with an
#     index.html that links them and holds the table.
# Everything it reads is in the repository. Other areas may add parts as scripts/demo.d/*.sh;
# they run at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
carve=build/carve
out=build/demo
budget=2
[ -x "$carve" ] || { echo "demo: $carve is missing: run make first" >&2; exit 1; }
mkdir -p "$out"

traces=(data/traces/*.rep.gz data/traces/synthetic/*.rep)

echo "== carve replay: every allocator on ${#traces[@]} traces (utilisation = peak live bytes / peak footprint)"
"$carve" replay --timeout "$budget" "${traces[@]}" | tee "$out/replay.txt"
if grep -q "gave up after" "$out/replay.txt"; then
  echo "(a row that gave up ran over the demo's ${budget} s budget, and says why when its allocator knows;"
  echo " build/carve replay --alloc NAME TRACE, without --timeout, gives its figures; see docs/lab.md)"
fi

# Heap maps: every allocator that can walk its blocks, on two synthetic traces and a recording.
walkers=$("$carve" map --help | sed -n 's/^  allocators with a walk://p')
map_traces=(data/traces/synthetic/obstack1.rep data/traces/synthetic/binary2.rep data/traces/sqlite-index.rep.gz)
{
  echo '<!DOCTYPE html><html><head><meta charset="utf-8"><title>carve demo: heap maps</title>'
  echo '<style>body{font-family:sans-serif;margin:2em} td,th{padding:.2em .8em;text-align:left}</style></head><body>'
  echo '<h1>carve demo: heap maps</h1><p>Address across, time down; one colour per allocation, grey free, hatched'
  echo 'headers and control data; the red line is the peak footprint. Below each map, live bytes against footprint.</p>'
  echo '<table><tr><th>trace</th>'
  for a in $walkers; do echo "<th>$a</th>"; done
  echo '</tr>'
} >"$out/index.html"
echo
echo "== carve map: heap maps of ${#map_traces[@]} traces for:$walkers"
for t in "${map_traces[@]}"; do
  name=$(basename "$t"); name=${name%%.*}
  echo "<tr><td>$name</td>" >>"$out/index.html"
  for a in $walkers; do
    if "$carve" map --alloc "$a" -o "$out/$name-$a.svg" "$t" 2>/dev/null; then
      echo "<td><a href=\"$name-$a.html\">map</a> (<a href=\"$name-$a.svg\">svg</a>)</td>" >>"$out/index.html"
    else
      echo "<td>failed</td>" >>"$out/index.html"
      echo "demo: carve map --alloc $a $t failed" >&2
    fi
  done
  echo "</tr>" >>"$out/index.html"
done
{
  echo '</table><h2>The comparison</h2><pre>'
  sed 's/&/\&amp;/g; s/</\&lt;/g' "$out/replay.txt"
  echo '</pre></body></html>'
} >>"$out/index.html"
echo "demo: heap maps and the table are in $out/ -- open $out/index.html"

for part in scripts/demo.d/*.sh; do
  [ -e "$part" ] || continue
  echo "=== $part" >&2
  bash "$part"
done
