#!/usr/bin/env bash
# scripts/deps.sh GROUP...: install the Debian packages a make target needs, if any are missing.
# Groups: build, test, bench, fuzz. Runs apt-get only when something is missing; needs root
# (or sudo) then.
set -euo pipefail

pkgs_build="build-essential cmake pkg-config check"
pkgs_test="$pkgs_build python3 libxml2-utils sqlite3 git gzip valgrind"
pkgs_bench="$pkgs_test libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 valgrind"
pkgs_fuzz="$pkgs_build clang libclang-rt-14-dev"

want=""
for group in "$@"; do
  var="pkgs_$group"
  want="$want ${!var}"
done

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "carve: installing missing packages:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "carve: need root to install:$missing" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
