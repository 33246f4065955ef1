#!/bin/sh
# run.sh [BUILD_DIR]: builds the benchmarks in BUILD_DIR (default: build; it
# must be configured already) and runs them all (bench.py), printing each
# benchmark's table, then every figure of issue 5's targets with its
# baseline, difference or ratio, and verdict. Extra arguments go to
# bench.py (--json FILE, --rounds N, --only transition, --many-counts
# 100,1000, ...).
# Method and numbers: docs/design.md, "Benchmarks".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
cmake --build "$build" --target uklp-benchmarks
exec python3 "$here/bench.py" "$@" "$build"
