#!/usr/bin/env bash
# tests/lab/record_roundtrip.sh CARVE PATTERN FORK: record real programs, replay the recordings,
# and compare the peak of live bytes: the replay's must equal what the recorder measured inside
# the program, and for the pattern and fork programs it must match what the program itself knows
# it held (exactly, for the fork program, which makes no other allocation at its peak).
set -u
carve=$1 pattern=$2 forker=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

peak_of_replay() { # the peak_live column of carve replay's csv
  "$carve" replay --alloc libc --format csv "$1" | awk -F, 'NR == 2 { print $6 }'
}
peak_of_recorder() { # the recorder's own figure, in the trace's last comment
  gzip -dcf "$1" | awk '/^# recorder peak_live/ { print $4 }'
}

# 1. The pattern program (threads, realloc, every member of the family), recorded compressed.
known=$("$carve" record -o "$tmp/pattern.rep.gz" -- "$pattern" 2>"$tmp/err") || { cat "$tmp/err"; fail "record of the pattern program"; }
replayed=$(peak_of_replay "$tmp/pattern.rep.gz")
recorded=$(peak_of_recorder "$tmp/pattern.rep.gz")
[ -n "$replayed" ] && [ "$replayed" = "$recorded" ] || fail "pattern: replay peak $replayed != recorder peak $recorded"
[ "$replayed" -ge "$known" ] && [ "$replayed" -le $((known + 65536)) ] ||
  fail "pattern: replay peak $replayed is not the program's $known (+ the C library's few KiB)"
gzip -dc "$tmp/pattern.rep.gz" | grep -q "^a [0-9]* 100000$\|^r [0-9]* 100000$" || fail "pattern: the realloc to 100000 is missing"
# calloc, aligned_alloc, memalign, posix_memalign, valloc, pvalloc, reallocarray(NULL, 7, 100)
for size in 1000 640 1280 2560 3000 5000 700; do
  gzip -dc "$tmp/pattern.rep.gz" | grep -q "^a [0-9]* $size$" || fail "pattern: the allocation of $size is missing"
done
gzip -dc "$tmp/pattern.rep.gz" | grep -q "^r [0-9]* 900$" || fail "pattern: reallocarray's reallocation to 900 is missing"

# 2. A program whose children exit normally (and run the recorder's destructor), some forked
# while another thread holds the recorder's lock: the recording is the parent's alone, once.
known=$(timeout 60 "$carve" record -o "$tmp/fork.rep" -- "$forker" 2>"$tmp/err")
st=$?
[ $st = 124 ] && fail "fork: the recording hung (a forked child waiting for the recorder's lock?)"
[ $st = 0 ] || { cat "$tmp/err"; fail "record of the fork program (status $st)"; }
[ "$(grep -c '^# recorder' "$tmp/fork.rep")" = 1 ] || fail "fork: $(grep -c '^# recorder' "$tmp/fork.rep") recorder trailers (a child wrote)"
"$carve" replay --alloc libc --format csv "$tmp/fork.rep" >"$tmp/fork.csv" 2>"$tmp/err" || { cat "$tmp/err"; fail "fork: replay"; }
[ ! -s "$tmp/err" ] || { head "$tmp/err"; fail "fork: the replay skipped operations (duplicated by a child)"; }
replayed=$(awk -F, 'NR == 2 { print $6 }' "$tmp/fork.csv")
recorded=$(peak_of_recorder "$tmp/fork.rep")
[ -n "$replayed" ] && [ "$replayed" = "$known" ] && [ "$recorded" = "$known" ] ||
  fail "fork: replay peak $replayed, recorder peak $recorded, the program's $known"

# 3. A real program: Python with its small-object allocator off, so every object is a malloc.
if command -v python3 >/dev/null; then
  PYTHONMALLOC=malloc "$carve" record -o "$tmp/py.rep" -- python3 -c 'import json; d = {str(i): [i] * (i % 17) for i in range(20000)}; s = json.dumps(d); print(len(json.loads(s)))' >/dev/null 2>"$tmp/err" ||
    { cat "$tmp/err"; fail "record of python3"; }
  replayed=$(peak_of_replay "$tmp/py.rep")
  recorded=$(peak_of_recorder "$tmp/py.rep")
  [ -n "$replayed" ] && [ "$replayed" = "$recorded" ] || fail "python3: replay peak $replayed != recorder peak $recorded"
  [ "$(sed -n 3p "$tmp/py.rep")" -gt 100000 ] || fail "python3: suspiciously few operations recorded"
fi

# 4. Errors: no program, a program that does not exist.
"$carve" record -o "$tmp/x.rep" 2>/dev/null && fail "record without a program succeeded"
"$carve" record -o "$tmp/x.rep" -- /nonexistent/prog 2>"$tmp/err"; [ $? = 2 ] || fail "record of a missing program"
grep -q "cannot run /nonexistent/prog" "$tmp/err" || fail "no message for a missing program"
exit 0
