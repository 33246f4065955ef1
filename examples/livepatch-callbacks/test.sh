#!/usr/bin/env bash
# test.sh BUILD_DIR before|after: the kernel's callbacks demo, end to end
# through the uklp CLI (CTest: examples.livepatch-callbacks.before and
# .after), in the scenarios of the kernel's selftest
# tools/testing/selftests/livepatch/test-callbacks.sh.
#
# Each scenario starts a fresh callbacks-target under `uklp run --log LOG`
# with its standard output appended to LOG too, so that LOG interleaves the
# runtime's lines (the patch's callbacks) with the target's (its libraries'
# init and exit, its "% COMMAND" echoes) in the order they happened, like
# the kernel's dmesg. The test writes a "% uklp ..." marker before each
# CLI step, and at the end compares LOG with the kernel's transcript,
# translated: vmlinux is "main", a module M is the library M.so.
#
#   before  the target libraries are loaded before the patch, or not at all
#   after   libraries loaded and unloaded while the patch is there (the
#           kernel's module coming and going); skipped while the runtime
#           cannot patch a library loaded after the patch
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: test.sh BUILD_DIR before|after}
part=${2:?usage: test.sh BUILD_DIR before|after}
# shellcheck source=examples/example-lib.sh
source "$here/../example-lib.sh"
dir=$build/examples/livepatch-callbacks
target=$dir/callbacks-target
patch_file=$dir/livepatch-callbacks-demo.so
runtime=$build/lib/libuklp.so
require_files "$uklp" "$target" "$patch_file" "$runtime" "$dir/libcallbacks-mod.so" "$dir/libcallbacks-busymod.so"

P=livepatch_callbacks_demo
M=libcallbacks-mod.so
B=libcallbacks-busymod.so
log=$work/dmesg.log
ncmd=0

# ---- driving one scenario ----

# start: a fresh target (an empty log, as after the kernel's dmesg -C),
# its stdin a FIFO held open on fd 3.
start() {
	banner "$1"
	ncmd=0
	rm -f "$log" "$work/stdin"
	mkfifo "$work/stdin"
	printf '$ %s < stdin >> dmesg.log 2>&1 &\n' "uklp run --log dmesg.log -- $target"
	"$uklp" run --log "$log" -- "$target" < "$work/stdin" >> "$log" 2>&1 &
	target_pid=$!
	exec 3> "$work/stdin"
	wait_for "$log" '^callbacks-target: pid [0-9]+$'
}

# cmd LINE [error]: one command of the target; waits for its "[N] ok" (or,
# with `error`, its "[N] error: ...").
cmd() {
	local want=${2:-ok}
	printf '> %s\n' "$1"
	printf '%s\n' "$1" >&3
	ncmd=$((ncmd + 1))
	wait_for "$log" "^\[$ncmd\] (ok|error)"
	grep -E "^\[$ncmd\] " "$log"
	grep -qE "^\[$ncmd\] $want" "$log" || fail "'$1' did not end with $want"
}

# klp WORDS...: a uklp CLI step, marked in the log as the kernel scripts
# mark theirs ("% uklp load M.so" for "% modprobe M"; without the PID and
# the module's directory).
klp() {
	local marker="% uklp"
	for w; do
		[[ $w == "$target_pid" ]] && continue
		[[ $w == */*.so ]] && w=${w##*/}
		marker+=" $w"
	done
	echo "$marker" >> "$log"
	show "$uklp" "$@" 2>&1 | tee -a "$work/cli.txt"
	return "${PIPESTATUS[0]}"
}

load_lp() { klp load "$target_pid" "$patch_file" "$@"; wait_for "$log" "] livepatch: '$P': patching complete$"; }
disable_lp() { klp disable "$target_pid" "$P"; wait_for "$log" "] livepatch: '$P': unpatching complete$"; }
unload_lp() { klp unload "$target_pid" "$P"; }

# load_failing_lp PARAMS...: uklp load must fail with ENODEV.
load_failing_lp() {
	local rc=0
	klp load "$target_pid" "$patch_file" "$@" || rc=$?
	((rc == 1)) || fail "uklp load exited $rc, expected 1"
	tail -n1 "$work/cli.txt" | grep -q '^uklp: error: .*(No such device)$' || fail "uklp load did not fail with ENODEV"
}

# wait_transition VALUE: livepatch/P/transition reads VALUE (hang guard only).
wait_transition() {
	local deadline=$((SECONDS + wait_limit))
	until [[ $("$uklp" sys "$target_pid" "livepatch/$P/transition" 2>/dev/null) == "$1" ]]; do
		((SECONDS < deadline)) || fail "livepatch/$P/transition never read $1"
		sleep 0.05
	done
	echo "livepatch/$P/transition: $1"
}

# finish EXPECTED: ends the target (end of input), then compares the log,
# without timestamps, the target's "[N] ..." results and its start and exit
# lines, and without the per-thread lines the kernel's selftests mute,
# with the transcript on stdin.
finish() {
	local rc=0
	exec 3>&-
	wait "$target_pid" || rc=$?
	target_pid=""
	((rc == 0)) || fail "callbacks-target exited with status $rc"
	cat > "$work/expected"
	dmesg_lines | grep -vE '^\[[0-9]+\] |^callbacks-target: |^livepatch: watching libraries|^uklp: ' > "$work/actual" || true
	echo "--- the log:"
	cat "$work/actual"
	diff -u "$work/expected" "$work/actual" > "$work/diff" || {
		cat "$work/diff"
		fail "the log differs from the kernel's transcript (- expected, + actual)"
	}
	echo "(as the kernel's transcript)"
}

# ---- the scenarios: the kernel's test-callbacks.sh ----

# TEST: target module before livepatch. Pre-patch callbacks run for main
# and the loaded library before the transition starts, post-patch ones
# after it; the same for unpatching.
test_target_library_before_livepatch() {
	start "TEST: target library before livepatch"
	cmd "insmod $M"
	load_lp
	disable_lp
	unload_lp
	cmd "rmmod $M"
	finish <<-EOF
	% insmod $M
	$M: callbacks_mod_init
	% uklp load livepatch-callbacks-demo.so
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	$P: pre_patch_callback: $M -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': starting patching transition
	livepatch: '$P': completing patching transition
	$P: post_patch_callback: main
	$P: post_patch_callback: $M -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': patching complete
	% uklp disable $P
	livepatch: '$P': initializing unpatching transition
	$P: pre_unpatch_callback: main
	$P: pre_unpatch_callback: $M -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': starting unpatching transition
	livepatch: '$P': completing unpatching transition
	$P: post_unpatch_callback: main
	$P: post_unpatch_callback: $M -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': unpatching complete
	% uklp unload $P
	% rmmod $M
	$M: callbacks_mod_exit
	EOF
}

# TEST: target module not present. Only main's callbacks run.
test_target_library_not_present() {
	start "TEST: target library not present"
	load_lp
	disable_lp
	unload_lp
	finish <<-EOF
	% uklp load livepatch-callbacks-demo.so
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	livepatch: '$P': starting patching transition
	livepatch: '$P': completing patching transition
	$P: post_patch_callback: main
	livepatch: '$P': patching complete
	% uklp disable $P
	livepatch: '$P': initializing unpatching transition
	$P: pre_unpatch_callback: main
	livepatch: '$P': starting unpatching transition
	livepatch: '$P': completing unpatching transition
	$P: post_unpatch_callback: main
	livepatch: '$P': unpatching complete
	% uklp unload $P
	EOF
}

# TEST: pre-patch callback -ENODEV. main's pre-patch callback fails: the
# patch is refused with ENODEV, and no other callback runs.
test_pre_patch_callback_enodev() {
	start "TEST: pre-patch callback -ENODEV"
	cmd "insmod $M"
	load_failing_lp pre_patch_ret=-19
	cmd "rmmod $M"
	finish <<-EOF
	% insmod $M
	$M: callbacks_mod_init
	% uklp load livepatch-callbacks-demo.so pre_patch_ret=-19
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	livepatch: pre-patch callback failed for object 'main'
	livepatch: failed to enable patch '$P'
	livepatch: '$P': canceling patching transition, going to unpatch
	livepatch: '$P': completing unpatching transition
	livepatch: '$P': unpatching complete
	% rmmod $M
	$M: callbacks_mod_exit
	EOF
}

# TEST: busy target module, with the target library loaded before the
# patch: busymod_work_func() sleeps, so the patching transition waits for
# its thread; ending the sleep lets it complete, and only then do the
# post-patch callbacks run.
test_busy_target_library() {
	start "TEST: busy target library"
	cmd "insmod $B sleep_secs=600"
	wait_for "$log" "^$B: busymod_work_func, sleeping 600 seconds \.\.\.$"
	klp load --no-wait "$target_pid" "$patch_file"
	wait_transition 1
	show "$uklp" status "$target_pid" | tee "$work/status.txt"
	grep -qE '^  thread [0-9]+ \(busymod_work\): is sleeping on function busymod_work_func$' "$work/status.txt" ||
		fail "uklp status does not name the busy thread"
	cmd "param $B sleep_secs=0"
	wait_for "$log" "] livepatch: '$P': patching complete$"
	wait_transition 0
	disable_lp
	unload_lp
	cmd "rmmod $B"
	finish <<-EOF
	% insmod $B sleep_secs=600
	$B: callbacks_busymod_init
	$B: busymod_work_func, sleeping 600 seconds ...
	% uklp load --no-wait livepatch-callbacks-demo.so
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	$P: pre_patch_callback: $B -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': starting patching transition
	% param $B sleep_secs=0
	$B: busymod_work_func exit
	livepatch: '$P': completing patching transition
	$P: post_patch_callback: main
	$P: post_patch_callback: $B -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': patching complete
	% uklp disable $P
	livepatch: '$P': initializing unpatching transition
	$P: pre_unpatch_callback: main
	$P: pre_unpatch_callback: $B -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': starting unpatching transition
	livepatch: '$P': completing unpatching transition
	$P: post_unpatch_callback: main
	$P: post_unpatch_callback: $B -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': unpatching complete
	% uklp unload $P
	% rmmod $B
	$B: callbacks_busymod_exit
	EOF
}

# ---- libraries loaded while the patch is there ----

# TEST: module_coming notifier. A library loaded after the patch is
# patched inside dlopen(), before its init runs: its pre- and post-patch
# callbacks run then, with the library COMING.
test_module_coming() {
	start "TEST: library coming (module_coming notifier)"
	load_lp
	cmd "insmod $M"
	disable_lp
	unload_lp
	cmd "rmmod $M"
	finish <<-EOF
	% uklp load livepatch-callbacks-demo.so
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	livepatch: '$P': starting patching transition
	livepatch: '$P': completing patching transition
	$P: post_patch_callback: main
	livepatch: '$P': patching complete
	% insmod $M
	livepatch: applying patch '$P' to loading module '$M'
	$P: pre_patch_callback: $M -> [MODULE_STATE_COMING] Full formed, running module_init
	$P: post_patch_callback: $M -> [MODULE_STATE_COMING] Full formed, running module_init
	$M: callbacks_mod_init
	% uklp disable $P
	livepatch: '$P': initializing unpatching transition
	$P: pre_unpatch_callback: main
	$P: pre_unpatch_callback: $M -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': starting unpatching transition
	livepatch: '$P': completing unpatching transition
	$P: post_unpatch_callback: main
	$P: post_unpatch_callback: $M -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': unpatching complete
	% uklp unload $P
	% rmmod $M
	$M: callbacks_mod_exit
	EOF
}

# TEST: module_going notifier. A patched library unloaded while the patch
# is enabled is unpatched inside dlclose(), after its exit: its pre- and
# post-unpatch callbacks run then, with the library GOING.
test_module_going() {
	start "TEST: library going (module_going notifier)"
	cmd "insmod $M"
	load_lp
	cmd "rmmod $M"
	disable_lp
	unload_lp
	finish <<-EOF
	% insmod $M
	$M: callbacks_mod_init
	% uklp load livepatch-callbacks-demo.so
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	$P: pre_patch_callback: $M -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': starting patching transition
	livepatch: '$P': completing patching transition
	$P: post_patch_callback: main
	$P: post_patch_callback: $M -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': patching complete
	% rmmod $M
	$M: callbacks_mod_exit
	$P: pre_unpatch_callback: $M -> [MODULE_STATE_GOING] Going away
	livepatch: reverting patch '$P' on unloading module '$M'
	$P: post_unpatch_callback: $M -> [MODULE_STATE_GOING] Going away
	% uklp disable $P
	livepatch: '$P': initializing unpatching transition
	$P: pre_unpatch_callback: main
	livepatch: '$P': starting unpatching transition
	livepatch: '$P': completing unpatching transition
	$P: post_unpatch_callback: main
	livepatch: '$P': unpatching complete
	% uklp unload $P
	EOF
}

# TEST: module_coming and module_going notifiers.
test_module_coming_and_going() {
	start "TEST: library coming and going"
	load_lp
	cmd "insmod $M"
	cmd "rmmod $M"
	disable_lp
	unload_lp
	finish <<-EOF
	% uklp load livepatch-callbacks-demo.so
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	livepatch: '$P': starting patching transition
	livepatch: '$P': completing patching transition
	$P: post_patch_callback: main
	livepatch: '$P': patching complete
	% insmod $M
	livepatch: applying patch '$P' to loading module '$M'
	$P: pre_patch_callback: $M -> [MODULE_STATE_COMING] Full formed, running module_init
	$P: post_patch_callback: $M -> [MODULE_STATE_COMING] Full formed, running module_init
	$M: callbacks_mod_init
	% rmmod $M
	$M: callbacks_mod_exit
	$P: pre_unpatch_callback: $M -> [MODULE_STATE_GOING] Going away
	livepatch: reverting patch '$P' on unloading module '$M'
	$P: post_unpatch_callback: $M -> [MODULE_STATE_GOING] Going away
	% uklp disable $P
	livepatch: '$P': initializing unpatching transition
	$P: pre_unpatch_callback: main
	livepatch: '$P': starting unpatching transition
	livepatch: '$P': completing unpatching transition
	$P: post_unpatch_callback: main
	livepatch: '$P': unpatching complete
	% uklp unload $P
	EOF
}

# TEST: module_coming + pre-patch callback -ENODEV. The library's
# pre-patch callback fails at its load: the target's dlopen() fails, and
# no other callback runs for it.
test_module_coming_pre_patch_enodev() {
	start "TEST: library coming + pre-patch callback -ENODEV"
	load_lp
	klp sys "$target_pid" "module/$P/parameters/pre_patch_ret" -- -19
	cmd "insmod $M" error
	grep -qE "^\[$ncmd\] error: could not insert '$M'" "$log" || fail "insmod did not report the refused library"
	disable_lp
	unload_lp
	finish <<-EOF
	% uklp load livepatch-callbacks-demo.so
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	livepatch: '$P': starting patching transition
	livepatch: '$P': completing patching transition
	$P: post_patch_callback: main
	livepatch: '$P': patching complete
	% uklp sys module/$P/parameters/pre_patch_ret -- -19
	% insmod $M
	livepatch: applying patch '$P' to loading module '$M'
	$P: pre_patch_callback: $M -> [MODULE_STATE_COMING] Full formed, running module_init
	livepatch: pre-patch callback failed for object '$M'
	livepatch: patch '$P' failed for module '$M', refusing to load module '$M'
	% uklp disable $P
	livepatch: '$P': initializing unpatching transition
	$P: pre_unpatch_callback: main
	livepatch: '$P': starting unpatching transition
	livepatch: '$P': completing unpatching transition
	$P: post_unpatch_callback: main
	livepatch: '$P': unpatching complete
	% uklp unload $P
	EOF
}

# TEST: busy target module, with a library loaded and unloaded during the
# stalled transition: no post-patch callback runs for it (the patch is in
# transition), and at its unload no pre-unpatch callback either; disabling
# reverses the transition.
test_busy_target_library_coming_going() {
	start "TEST: busy target library, another library coming and going"
	cmd "insmod $B sleep_secs=600"
	wait_for "$log" "^$B: busymod_work_func, sleeping 600 seconds \.\.\.$"
	klp load --no-wait "$target_pid" "$patch_file"
	wait_transition 1
	cmd "insmod $M"
	cmd "rmmod $M"
	disable_lp
	unload_lp
	cmd "rmmod $B"
	finish <<-EOF
	% insmod $B sleep_secs=600
	$B: callbacks_busymod_init
	$B: busymod_work_func, sleeping 600 seconds ...
	% uklp load --no-wait livepatch-callbacks-demo.so
	livepatch: enabling patch '$P'
	livepatch: '$P': initializing patching transition
	$P: pre_patch_callback: main
	$P: pre_patch_callback: $B -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': starting patching transition
	% insmod $M
	livepatch: applying patch '$P' to loading module '$M'
	$P: pre_patch_callback: $M -> [MODULE_STATE_COMING] Full formed, running module_init
	$M: callbacks_mod_init
	% rmmod $M
	$M: callbacks_mod_exit
	livepatch: reverting patch '$P' on unloading module '$M'
	$P: post_unpatch_callback: $M -> [MODULE_STATE_GOING] Going away
	% uklp disable $P
	livepatch: '$P': reversing transition from patching to unpatching
	livepatch: '$P': starting unpatching transition
	livepatch: '$P': completing unpatching transition
	$P: post_unpatch_callback: main
	$P: post_unpatch_callback: $B -> [MODULE_STATE_LIVE] Normal state
	livepatch: '$P': unpatching complete
	% uklp unload $P
	% rmmod $B
	$B: busymod_work_func exit
	$B: callbacks_busymod_exit
	EOF
}

case $part in
before)
	test_target_library_before_livepatch
	test_target_library_not_present
	test_pre_patch_callback_enodev
	test_busy_target_library
	;;
after)
	# The kernel's klp_module_coming() message, in the runtime's log
	# vocabulary, is the sign that the runtime patches libraries loaded
	# after a patch.
	grep -qa "to loading module" "$runtime" ||
		skip "the runtime ($runtime) does not patch libraries loaded after the patch yet (no klp_module_coming: its log vocabulary lacks 'applying patch ... to loading module'); the scenarios library coming, library going, coming and going, coming + pre-patch -ENODEV, and busy target with a library coming and going wait for it"
	test_module_coming
	test_module_going
	test_module_coming_and_going
	test_module_coming_pre_patch_enodev
	test_busy_target_library_coming_going
	;;
*) fail "unknown part '$part' (before or after)" ;;
esac
banner "livepatch-callbacks ($part): every scenario's log reads as the kernel's transcript"
