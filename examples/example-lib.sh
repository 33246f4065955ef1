# shellcheck shell=bash
# example-lib.sh: what the tests of the kernel-sample examples share
# (livepatch-sample, livepatch-shadow, livepatch-callbacks). Source it after
# `set -euo pipefail` with $build set to the build tree.
#
# Each test runs one target under `uklp run --log`, drives it with the uklp
# CLI and checks the target's output and the runtime log. The target is
# killed by the EXIT trap if a step fails, so that nothing is left behind.
# Waits are hang guards only (EXAMPLE_WAIT seconds, default 120): a test
# fails on what it sees, never because something was slow.

uklp=$build/bin/uklp
work=$(mktemp -d "${TMPDIR:-/tmp}/uklp-example.XXXXXX")
target_pid=""  # the target: `uklp run` becomes the program, so it is the job's pid
wait_limit=${EXAMPLE_WAIT:-120}

banner() {
	printf '\n==== %s\n' "$*"
}

# Prints a command as a user would type it, then runs it.
show() {
	printf '$ %s\n' "$*"
	"$@"
}

fail() {
	printf '\nexample: FAILED: %s\n' "$*" >&2
	exit 1
}

# skip MESSAGE: ends the test as skipped (CTest's SKIP_RETURN_CODE 77).
skip() {
	printf '\nexample: SKIPPED: %s\n' "$*"
	exit 77
}

require_files() {
	local f
	for f; do [[ -e $f ]] || fail "$f is missing: build the tree first"; done
}

# start_target OUT ARGS...: `uklp run --log $work/dmesg.log -- ARGS...` in
# the background, stdout and stderr to OUT, stdin from the caller.
start_target() {
	local out=$1
	shift
	printf '$ %s > %s 2>&1 &\n' "$uklp run --log $work/dmesg.log -- $*" "${out#"$work"/}"
	"$uklp" run --log "$work/dmesg.log" -- "$@" > "$out" 2>&1 &
	target_pid=$!
}

# wait_for FILE REGEX [COUNT]: waits until FILE has COUNT (default 1) lines
# matching the extended REGEX; fails if the target exits first.
wait_for() {
	local file=$1 regex=$2 count=${3:-1} deadline=$((SECONDS + wait_limit))
	# A file not created yet counts 0 (count): an empty operand would end
	# the loop at once, before the target is up.
	while (($(count "$file" "$regex") < count)); do
		if [[ -n $target_pid ]] && ! kill -0 "$target_pid" 2>/dev/null; then
			dump_target
			fail "the target exited while waiting for '$regex' in ${file#"$work"/}"
		fi
		((SECONDS < deadline)) || {
			dump_target
			fail "no '$regex' in ${file#"$work"/} after $wait_limit s (hang guard)"
		}
		sleep 0.05
	done
}

# count FILE REGEX: how many lines of FILE match the extended REGEX.
count() {
	local n
	n=$(grep -cE -- "$2" "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

# expect_count FILE REGEX N: exactly N lines of FILE match REGEX.
expect_count() {
	local n
	n=$(count "$1" "$2")
	((n == $3)) || fail "${1#"$work"/}: $n lines match '$2', expected $3"
}

# The runtime log without its timestamps and without the debug lines the
# kernel's selftests mute (per-thread checks).
dmesg_lines() {
	sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' "$work/dmesg.log" | grep -vE 'klp_try_switch_task|klp_check_stack' || true
}

dump_target() {
	local f
	for f in "$work"/*.out "$work/dmesg.log"; do
		[[ -s $f ]] || continue
		echo "--- ${f#"$work"/}:" >&2
		tail -n 60 "$f" >&2
	done
}

# stop_target SIGNAL: signals the target and checks that it exits 0.
stop_target() {
	local rc=0
	show kill "-$1" "$target_pid"
	wait "$target_pid" || rc=$?
	target_pid=""
	((rc == 0)) || { dump_target; fail "the target exited with status $rc"; }
}

example_cleanup() {
	local rc=$?
	if [[ -n $target_pid ]]; then
		((rc == 0 || rc == 77)) || dump_target
		kill -KILL "$target_pid" 2>/dev/null || true
		wait "$target_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap example_cleanup EXIT
trap 'exit 130' INT TERM
