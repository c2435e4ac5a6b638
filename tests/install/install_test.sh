#!/usr/bin/env bash
# `make install` works: headers, libraries, carve.pc and the CMake package, at any prefix, and a
# program outside the tree builds against each and runs.
set -euo pipefail
build=$1 src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(find "$tmp/prefix" -name carve.pc)
[ -n "$pc" ] || { echo "no carve.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir carve)
[ -f "$libdir/libcarve.a" ] || { echo "libcarve.a not in $libdir"; exit 1; }
# shellcheck disable=SC2046
cc -std=c11 -o "$tmp/pc-consumer" "$src/consumer.c" $(pkg-config --cflags --libs carve)
LD_LIBRARY_PATH=$libdir "$tmp/pc-consumer"

mkdir "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(carve REQUIRED)
add_executable(consumer $src/consumer.c)
target_link_libraries(consumer carve::carve)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
"$tmp/cm/build/consumer"
