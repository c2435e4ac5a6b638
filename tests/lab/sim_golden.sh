#!/usr/bin/env bash
# tests/lab/sim_golden.sh CARVE: carve sim against OSTEP malloc.py's output, worked by hand.
# The example: a 100-byte heap at 1000, no header, first fit, address-ordered list.
#   +10 -> 1000 (free list: 1010/90); +20 -> 1010 (1030/70); -0 frees 1000 (1000/10, 1030/70);
#   +5  -> 1000 again, the first chunk that fits, split (1005/5, 1030/70).
set -u
here=$(dirname "$0")
"$1" sim -S 100 -b 1000 -H 0 -p FIRST -l ADDRSORT -A +10,+20,-0,+5 -c | diff - "$here/sim_first.golden" || { echo "FAIL: sim output differs from the golden file"; exit 1; }
# Bad input: a clear message and status 2, never a crash.
for bad in "-p FASTEST" "-l RANDOM" "-A +10,x3" "-a 0" "-S ten" "-Z"; do
  # shellcheck disable=SC2086
  "$1" sim $bad >/dev/null 2>/tmp/sim_err.$$; rc=$?
  if [ $rc != 2 ] || ! grep -q "^carve sim: " /tmp/sim_err.$$; then echo "FAIL: carve sim $bad -> $rc"; cat /tmp/sim_err.$$; exit 1; fi
done
rm -f /tmp/sim_err.$$
# Random mode draws as malloc.py does, from Python's own generator: compare the operations.
if command -v python3 >/dev/null; then
  for args in "0 10 10 50" "5 40 30 60" "123456789012 30 100 30"; do
    set -- "$1" $args
    want=$(python3 - "$2" "$3" "$4" "$5" <<'PY'
import random, sys
seed, n, rng, pct = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) / 100.0
random.seed(seed)
c = j = 0
live = []
while j < n:
    if random.random() < pct:
        print('ptr[%d] = Alloc(%d)' % (c, int(random.random() * rng) + 1)); live.append(c); c += 1; j += 1
    elif live:
        d = int(random.random() * len(live)); print('Free(ptr[%d])' % live[d]); del live[d]; j += 1
PY
)
    got=$("$1" sim -s "$2" -n "$3" -r "$4" -P "$5" -S 1000000 | grep -E '^(ptr|Free)' | sed 's/ returned ?//')
    [ "$want" = "$got" ] || { echo "FAIL: random operations differ from Python's for -s $2 -n $3 -r $4 -P $5"; exit 1; }
  done
fi
