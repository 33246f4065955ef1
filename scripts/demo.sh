#!/usr/bin/env bash
# scripts/demo.sh: the uklp demo, from a fresh Debian 12 machine (run as root:
# it installs packages). Installs the build dependencies, builds uklp into
# build/, then runs examples/kvserver/demo-test.sh on that build:
#
#   kvserver, a multi-threaded key-value server with a bug, runs under
#   `uklp run`; a client shows the bug; while a load client keeps the server
#   busy, `uklp load` fixes the running process with livepatch-kvfix.so;
#   `uklp list` / `uklp dmesg` show the patch; the load client reports
#   failed=0; `uklp disable` brings the bug back; `uklp unload`.
#
# UKLP_DEMO_LOAD_SECONDS (default 3): how long the load runs after the patch.
# Exits non-zero if any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

printf '\n==== Installing the Debian packages uklp needs\n'
bash scripts/install-deps.sh

printf '\n==== Building uklp into build/\n'
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build

exec bash examples/kvserver/demo-test.sh build "${UKLP_DEMO_LOAD_SECONDS:-3}"
