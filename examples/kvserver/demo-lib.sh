# shellcheck shell=bash
# demo-lib.sh: shell helpers shared by the kvserver demo scripts
# (demo-test.sh, bug-test.sh). Source it after `set -euo pipefail`.
#
# Background processes are tracked in variables and stopped by the EXIT trap,
# so that a failing step never leaves a server or a load client behind.

work=$(mktemp -d "${TMPDIR:-/tmp}/uklp-demo.XXXXXX")
server_job=""  # the background job that runs the server (uklp run, or kvserver)
server_pid=""  # the kvserver process (from its startup line)
server_port=""
load_pid=""    # the background load client

# A step of the demo, as a banner line.
banner() {
	printf '\n==== %s\n' "$*"
}

# A command line as a user would type it: words with blanks or shell
# characters in single quotes.
quote() {
	local out="" arg
	for arg; do
		[[ $arg =~ ^[A-Za-z0-9_./=:@%+,-]+$ ]] || arg="'${arg//\'/\'\\\'\'}'"
		out+="${out:+ }$arg"
	done
	printf '%s' "$out"
}

# Prints a command, then runs it.
show() {
	printf '$ %s\n' "$(quote "$@")"
	"$@"
}

fail() {
	printf '\ndemo: FAILED: %s\n' "$*" >&2
	exit 1
}

# Runs the background job's command, with its output in $work/server.log,
# and waits up to 15 s for kvserver's startup line:
#   kvserver: pid PID listening on 127.0.0.1:PORT with N workers
start_server() {
	printf '$ %s > server.log 2>&1 &\n' "$(quote "$@")"
	"$@" > "$work/server.log" 2>&1 &
	server_job=$!
	local line
	for _ in $(seq 150); do
		line=$(grep -m1 '^kvserver: pid [0-9]* listening on ' "$work/server.log" || true)
		[[ -n $line ]] && break
		kill -0 "$server_job" 2>/dev/null || { cat "$work/server.log" >&2; fail "the server exited at startup"; }
		sleep 0.1
	done
	[[ -n $line ]] || { cat "$work/server.log" >&2; fail "the server did not start listening within 15 s"; }
	echo "$line"
	[[ $line =~ ^kvserver:\ pid\ ([0-9]+)\ listening\ on\ 127\.0\.0\.1:([0-9]+) ]] || fail "bad startup line"
	server_pid=${BASH_REMATCH[1]}
	server_port=${BASH_REMATCH[2]}
}

# SIGTERM to kvserver; waits for the background job and checks it exited 0.
stop_server() {
	local rc=0
	show kill -TERM "$server_pid"
	wait "$server_job" || rc=$?
	server_job=""
	echo "--- server output:"
	cat "$work/server.log"
	((rc == 0)) || fail "the server exited with status $rc"
	grep -q '^kvserver: stopped after' "$work/server.log" || fail "the server did not stop cleanly"
}

# Sends "SET greeting hello world" and "GET greeting"; checks the answer
# against `buggy` ("VALUE hello") or `fixed` ("VALUE hello world").
check_greeting() {
	show "$kvclient" -p "$server_port" send "SET greeting hello world" "GET greeting" | tee "$work/greeting"
	case $1 in
	buggy) grep -qx '< VALUE hello' "$work/greeting" || fail "expected the bug (VALUE hello)" ;;
	fixed) grep -qx '< VALUE hello world' "$work/greeting" || fail "expected the fix (VALUE hello world)" ;;
	esac
	echo "($1)"
}

cleanup() {
	local rc=$?
	if [[ -n $load_pid ]]; then kill -TERM "$load_pid" 2>/dev/null || true; fi
	if [[ -n $server_job ]]; then
		if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
		kill -TERM "$server_job" 2>/dev/null || true
		wait "$server_job" 2>/dev/null || true
		if ((rc != 0)) && [[ -s $work/server.log ]]; then
			echo "--- server output:" >&2
			cat "$work/server.log" >&2
		fi
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
