#!/usr/bin/env bash
# tests/preload/python.sh LIB PROBE: Debian's Python (/usr/bin/python3, not a pyenv shim), with
# PYTHONMALLOC=malloc so every object comes from the preloaded allocator, runs a multi-threaded
# program (python_workload.py) and must print the same bytes as without the preload.
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/preload/common.sh
. "$here/common.sh"
# shellcheck disable=SC2034 # read by preload_main in common.sh
PRELOAD_EXPECT="python3[.0-9]*"

workload() {
  PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -I "$here/python_workload.py" 6
}

preload_main "$@"
