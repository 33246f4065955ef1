#!/usr/bin/env bash
# test.sh BUILD_DIR: the kernel's livepatch-sample, end to end through the
# uklp CLI (CTest: examples.livepatch-sample). cmdline-proc serves its
# command line in DIR/cmdline; livepatch-sample.so makes it say "this has
# been live patched"; disabling brings the command line back; unloading
# removes the module. Exits non-zero at the first step that fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: test.sh BUILD_DIR}
# shellcheck source=examples/example-lib.sh
source "$here/../example-lib.sh"
dir=$build/examples/livepatch-sample
target=$dir/cmdline-proc
patch=$dir/livepatch-sample.so
require_files "$uklp" "$target" "$patch"

# read_cmdline EXPECTED: `cat DIR/cmdline` (hang guard: timeout) must print EXPECTED.
read_cmdline() {
	local got
	printf '$ cat %s\n' "$proc/cmdline"
	got=$(timeout "$wait_limit" cat "$proc/cmdline") || fail "cat $proc/cmdline failed"
	printf '%s\n' "$got"
	[[ $got == "$1" ]] || fail "expected '$1'"
}

banner "1. Start cmdline-proc, the stand-in for /proc/cmdline, under uklp"
proc=$work/proc
mkdir "$proc"
start_target "$work/target.out" "$target" "$proc" root=/dev/sda1 quiet
wait_for "$work/target.out" '^cmdline-proc: pid [0-9]+ serving '
cat "$work/target.out"
grep -q "^cmdline-proc: pid $target_pid serving $proc/cmdline\$" "$work/target.out" ||
	fail "cmdline-proc does not run as pid $target_pid"
cmdline="$target $proc root=/dev/sda1 quiet"
read_cmdline "$cmdline"

banner "2. Load livepatch-sample.so"
show "$uklp" load "$target_pid" "$patch" | tee "$work/load.txt"
grep -q "livepatch: enabling patch 'livepatch_sample'$" "$work/load.txt" || fail "no 'enabling patch' line"
wait_for "$work/dmesg.log" "livepatch: 'livepatch_sample': patching complete\$"
show "$uklp" list "$target_pid" | tee "$work/list.txt"
grep -qE '^  +cmdline_proc_show,1 ' "$work/list.txt" || fail "uklp list does not show cmdline_proc_show"
read_cmdline "this has been live patched"

banner "3. Disable it: the command line is back"
show "$uklp" disable "$target_pid" livepatch_sample
wait_for "$work/dmesg.log" "livepatch: 'livepatch_sample': unpatching complete\$"
read_cmdline "$cmdline"

banner "4. Unload it"
show "$uklp" unload "$target_pid" livepatch_sample
show "$uklp" list "$target_pid" | tee "$work/list.txt"
! grep -q livepatch_sample "$work/list.txt" || fail "livepatch_sample is still listed"

banner "5. The runtime log"
dmesg_lines | tee "$work/dmesg.txt"
for line in "livepatch: enabling patch 'livepatch_sample'" \
	"livepatch: 'livepatch_sample': starting patching transition" \
	"livepatch: 'livepatch_sample': patching complete" \
	"livepatch: 'livepatch_sample': starting unpatching transition" \
	"livepatch: 'livepatch_sample': unpatching complete"; do
	expect_count "$work/dmesg.txt" "^$line\$" 1
done

banner "6. Stop cmdline-proc"
stop_target TERM
cat "$work/target.out"
grep -q '^cmdline-proc: stopped after 3 reads$' "$work/target.out" || fail "cmdline-proc did not serve exactly 3 reads"
[[ ! -e $proc/cmdline ]] || fail "cmdline-proc left its FIFO behind"

banner "livepatch-sample: patched, disabled and unloaded"
