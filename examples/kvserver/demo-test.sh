#!/usr/bin/env bash
# demo-test.sh BUILD_DIR [LOAD_SECONDS]: the uklp demo on an already built
# tree, non-interactively. scripts/demo.sh runs it after installing and
# building; CTest runs it as examples.kvserver.demo.
#
# kvserver runs under `uklp run`; a client shows its bug; a load client keeps
# 4 connections busy while `uklp load` patches the running process; the fix
# shows; the load client must report failed=0; `uklp disable` brings the bug
# back; `uklp unload` removes the patch module; the server stops cleanly.
# LOAD_SECONDS (default 2) is how long the load runs on after the patch.
# Exits non-zero at the first step that fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: demo-test.sh BUILD_DIR [LOAD_SECONDS]}
load_seconds=${2:-2}
uklp=$build/bin/uklp
kvserver=$build/examples/kvserver/kvserver
kvclient=$build/examples/kvserver/kvclient
patch=$build/examples/kvserver/livepatch-kvfix.so
patch_name=livepatch_kvfix # the module name of livepatch-kvfix.so
# shellcheck source=examples/kvserver/demo-lib.sh
source "$here/demo-lib.sh"

for f in "$uklp" "$kvserver" "$kvclient" "$patch"; do
	[[ -e $f ]] || fail "$f is missing: build the tree first"
done

banner "1. Start kvserver, a key-value server with 4 worker threads, under uklp (port 0: any free port)"
start_server "$uklp" run -- "$kvserver" 0

banner "2. The bug: SET stops a value at its first blank"
check_greeting buggy
show "$kvclient" -p "$server_port" -c 4 -n 400 -e buggy load

banner "3. Put the server under load: 4 connections sending SET/GET without pause"
printf '$ %s > load.log &\n' "$(quote "$kvclient" -p "$server_port" -c 4 -n 0 load)"
"$kvclient" -p "$server_port" -c 4 -n 0 load > "$work/load.log" 2>&1 &
load_pid=$!
sleep 1
kill -0 "$load_pid" 2>/dev/null || { cat "$work/load.log"; fail "the load client died"; }

banner "4. Live patch the running server (pid $server_pid) with livepatch-kvfix.so"
show "$uklp" load "$server_pid" "$patch"

banner "5. The patch inside the process: uklp list, uklp sys, uklp dmesg"
show "$uklp" list "$server_pid"
show "$uklp" sys "$server_pid" "livepatch/$patch_name/enabled" | tee "$work/out"
[[ $(tail -n1 "$work/out") == 1 ]] || fail "livepatch/$patch_name/enabled is not 1"
show "$uklp" sys "$server_pid" "livepatch/$patch_name/transition" | tee "$work/out"
[[ $(tail -n1 "$work/out") == 0 ]] || fail "livepatch/$patch_name/transition is not 0"
show "$uklp" dmesg "$server_pid" | tee "$work/out"
grep -q 'fixing cmd_set()' "$work/out" || fail "the patch's pr_info line is not in the runtime log"

banner "6. Fixed, without a restart"
check_greeting fixed

banner "7. Stop the load client after ${load_seconds} more seconds: no request may have failed"
sleep "$load_seconds"
kill -0 "$load_pid" 2>/dev/null || { cat "$work/load.log"; fail "the load client died"; }
show kill -INT "$load_pid"
rc=0
wait "$load_pid" || rc=$?
load_pid=""
cat "$work/load.log"
((rc == 0)) || fail "the load client exited with status $rc"
grep -q '^requests=[0-9]* ok=[0-9]* buggy=[0-9]* failed=0$' "$work/load.log" || fail "requests failed under load"
grep -q ' buggy=0 ' "$work/load.log" ||
	echo "(the wrong answers were served before the patch took effect)"
show "$kvclient" -p "$server_port" -c 4 -n 400 -e fixed load

banner "8. Disable the patch: the old cmd_set() runs again"
show "$uklp" disable "$server_pid" "$patch_name"
check_greeting buggy

banner "9. Unload the patch module"
show "$uklp" unload "$server_pid" "$patch_name"
show "$uklp" list "$server_pid"

banner "10. Stop the server"
stop_server

banner "Demo complete: patched, disabled and unloaded under load, no request failed"
