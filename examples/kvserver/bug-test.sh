#!/usr/bin/env bash
# bug-test.sh BUILD_DIR: kvserver on its own, without uklp. Checks that the
# server serves, that its planted bug shows (SET stops a value at its first
# blank), and that the binary has what livepatch-kvfix.c needs: the static
# function cmd_set with a patchable entry, the static function reply and the
# static variable stats. A CTest test (examples.kvserver.bug).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bug-test.sh BUILD_DIR}
kvserver=$build/examples/kvserver/kvserver
kvclient=$build/examples/kvserver/kvclient
# shellcheck source=examples/kvserver/demo-lib.sh
source "$here/demo-lib.sh"

banner "The binary has the symbols the patch needs"
symbols=$(nm "$kvserver")
for sym in 't cmd_set' 't reply' '[bd] stats' 'T kv_set'; do
	grep -qE "^[0-9a-f]+ $sym\$" <<<"$symbols" || fail "kvserver has no symbol matching '$sym'"
	echo "found: $sym"
done
sections=$(readelf -W -S "$kvserver")
grep -q __patchable_function_entries <<<"$sections" ||
	fail "kvserver was not built with -fpatchable-function-entry"
echo "found: section __patchable_function_entries"

banner "Start kvserver (without uklp)"
start_server "$kvserver" 0

banner "The bug: SET stops a value at its first blank"
check_greeting buggy
show "$kvclient" -p "$server_port" -c 4 -n 400 -e buggy load

banner "The rest of the protocol"
out=$(show "$kvclient" -p "$server_port" send "DEL greeting" "GET greeting" "STATS" "NOPE" "QUIT")
echo "$out"
grep -qx '< DELETED' <<<"$out" || fail "DEL"
grep -qx '< NOT_FOUND' <<<"$out" || fail "GET of a deleted key"
grep -q '^< STATS keys=' <<<"$out" || fail "STATS"
grep -q "^< ERROR unknown command 'NOPE'" <<<"$out" || fail "unknown command"
grep -qx '< BYE' <<<"$out" || fail "QUIT"

banner "Stop the server"
stop_server
banner "PASSED"
