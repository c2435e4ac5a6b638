#!/usr/bin/env bash
# tests/preload/gcc.sh LIB PROBE: gcc compiles gcc_input.c at -O2 to assembly, then assembles
# that into an object file; both must be the same bytes as without the preload. The driver, cc1
# and as all run on the preloaded allocator; cc1 is where the allocation happens.
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/preload/common.sh
. "$here/common.sh"
# shellcheck disable=SC2034 # read by preload_main in common.sh
PRELOAD_EXPECT="[-_a-z0-9]*gcc[-.0-9]* cc1 [-_a-z0-9]*as"

workload() {
  mkdir -p out
  cp "$here/gcc_input.c" input.c
  gcc -std=c11 -O2 -frandom-seed=carve -fno-ident -S input.c -o out/input.s
  gcc -c out/input.s -o out/input.o
  wc -l <out/input.s
}

preload_main "$@"
