# shellcheck shell=bash
# tests/preload/common.sh: the harness every preload test sources.
#
# A test script defines workload(), which runs one real Debian program in the current directory,
# prints its results on stdout and leaves any files worth comparing under ./out/, then ends with
# `preload_main "$@"`. The script then works two ways:
#
#   <test>.sh LIB PROBE        the test: runs the workload without LD_PRELOAD, then with
#                              LD_PRELOAD="LIB PROBE", in the same directory (so paths agree), and
#                              fails unless both exit 0 with byte-identical stdout, stderr and
#                              out/ trees, and unless the probe saw malloc, free, calloc and
#                              realloc bound to LIB in every process, including each program named
#                              in PRELOAD_EXPECT (space-separated basenames, as
#                              basic regular expressions).
#   <test>.sh --workload DIR   runs the workload once in DIR; the malloc benchmark times this
#                              under each allocator (scripts/bench.d/malloc.sh).
#
# A crash (signal), a non-zero exit or any difference fails the test with the first lines of the
# difference. Nothing depends on the wall clock: dates and seeds are pinned by each workload.
set -euo pipefail

preload_fail() {
  echo "FAIL ($(basename "$0")): $*" >&2
  exit 1
}

# preload_run NAME PRELOAD: one run of the workload in $tmp/work; results land in $tmp/NAME.*
preload_run() {
  local name=$1 preload=$2 status=0
  rm -rf "$tmp/work"
  mkdir "$tmp/work"
  if [ -n "$preload" ]; then
    (cd "$tmp/work" && LD_PRELOAD="$preload" CARVE_PROBE_OUT="$tmp/$name.probe" \
       bash "$script" --workload .) >"$tmp/$name.stdout" 2>"$tmp/$name.stderr" || status=$?
  else
    (cd "$tmp/work" && env -u LD_PRELOAD bash "$script" --workload .) \
      >"$tmp/$name.stdout" 2>"$tmp/$name.stderr" || status=$?
  fi
  if [ "$status" != 0 ]; then
    tail -n 20 "$tmp/$name.stderr" >&2
    preload_fail "the $name run exited with status $status (preload: '${preload:-none}')"
  fi
  mkdir -p "$tmp/work/out"
  mv "$tmp/work/out" "$tmp/$name.out"
}

preload_compare() {
  local what
  for what in stdout stderr; do
    if ! cmp -s "$tmp/ref.$what" "$tmp/got.$what"; then
      diff "$tmp/ref.$what" "$tmp/got.$what" | head -n 20 >&2
      preload_fail "$what differs under LD_PRELOAD=$lib"
    fi
  done
  if ! diff -r "$tmp/ref.out" "$tmp/got.out" >"$tmp/out.diff" 2>&1; then
    head -n 20 "$tmp/out.diff" >&2
    preload_fail "output files differ under LD_PRELOAD=$lib"
  fi
  [ -s "$tmp/ref.stdout" ] || preload_fail "the workload printed nothing, so nothing was compared"
}

# Every process of the preloaded run must have bound the malloc family to $lib.
preload_check_probe() {
  local probe=$tmp/got.probe exe sym expected
  [ -s "$probe" ] || preload_fail "the probe saw no process: was $probe_lib loaded?"
  for sym in malloc free calloc realloc; do
    if grep -v " $sym=$lib\( \|$\)" "$probe" >"$tmp/unbound"; then
      head -n 5 "$tmp/unbound" >&2
      preload_fail "$sym is not bound to $lib in the processes above"
    fi
  done
  read -ra expected <<<"$PRELOAD_EXPECT"
  for exe in "${expected[@]}"; do
    grep -q "^[^ ]*/$exe " "$probe" || preload_fail "no $exe process ran under the preload"
  done
}

preload_main() {
  script=$(realpath "$0")
  if [ "${1:-}" = --workload ]; then
    mkdir -p "$2"
    cd "$2"
    workload
    return
  fi
  [ $# = 2 ] || preload_fail "usage: $0 LIB PROBE | $0 --workload DIR"
  lib=$(realpath "$1")
  probe_lib=$(realpath "$2")
  [ -f "$lib" ] || preload_fail "no allocator library at $1"
  [ -f "$probe_lib" ] || preload_fail "no probe library at $2"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/carve-preload.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  preload_run ref ""
  preload_run got "$lib $probe_lib"
  preload_compare
  preload_check_probe
  echo "ok: $(wc -l <"$tmp/got.probe") processes ran on $(basename "$lib"); outputs identical" \
       "($(wc -c <"$tmp/ref.stdout") bytes of stdout, $(find "$tmp/ref.out" -type f | wc -l) files)"
}
