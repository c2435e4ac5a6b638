#!/usr/bin/env bash
# scripts/demo.sh: `make demo`, the lab's showcase (the Makefile builds first).
#  1. replays the shipped recordings (data/traces) and the CS:APP traces (../shared/traces/cs-app,
#     when the shared directory sits beside the repository) through every allocator this carve
#     has, and prints the comparison table;
#  2. draws heap maps of a few traces for each allocator with a walk into build/demo/, with an
#     index.html that links them.
# Other areas may add parts as scripts/demo.d/*.sh; they run at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
carve=build/carve
out=build/demo
[ -x "$carve" ] || { echo "demo: $carve is missing: run make first" >&2; exit 1; }
mkdir -p "$out"

traces=(data/traces/*.rep.gz)
# The shared directory sits beside the repository ($CARVE_SHARED overrides; a git worktree one
# level deeper finds it one more level up).
cs=""
for dir in "${CARVE_SHARED:-}" ../shared ../../shared; do
  if [ -n "$dir" ] && [ -d "$dir/traces/cs-app" ]; then cs=$dir/traces/cs-app; break; fi
done
if [ -n "$cs" ]; then
  traces+=("$cs"/*.rep)
else
  echo "demo: ../shared/traces/cs-app not found (the shared directory beside the repository); replaying the recordings only" >&2
fi

echo "== carve replay: every allocator on ${#traces[@]} traces (utilisation = peak live bytes / peak footprint)"
"$carve" replay --timeout 1 "${traces[@]}" | tee "$out/replay.txt"

# Heap maps: every allocator that can walk its blocks, on a CS:APP trace and a recording.
walkers=$("$carve" map --help | sed -n 's/^  allocators with a walk://p')
map_traces=()
[ -n "$cs" ] && map_traces+=("$cs/amptjp-bal.rep" "$cs/binary2-bal.rep")
map_traces+=(data/traces/sqlite-index.rep.gz)
# The list policies search a list as long as the free blocks: on a recording they take minutes.
fast_walkers="segregated tlsf buddy slab"
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
    case "$t" in
      *.rep.gz) case " $fast_walkers " in *" $a "*) ;; *) echo "<td>(slow)</td>" >>"$out/index.html"; continue ;; esac ;;
    esac
    if "$carve" map --alloc "$a" -o "$out/$name-$a.svg" "$t" 2>/dev/null; then
      echo "<td><a href=\"$name-$a.html\">map</a> (<a href=\"$name-$a.svg\">svg</a>)</td>" >>"$out/index.html"
    else
      echo "<td>failed</td>" >>"$out/index.html"
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
