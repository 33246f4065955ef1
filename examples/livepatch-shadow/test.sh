#!/usr/bin/env bash
# test.sh BUILD_DIR: the kernel's shadow-variable samples, end to end
# through the uklp CLI (CTest: examples.livepatch-shadow).
#
# shadow-mod leaks one allocation per dummy; fix1 keeps the leaked pointer
# in an SV_LEAK shadow variable and frees it with the dummy; fix2, loaded
# on top, counts the checks of each dummy in an SV_COUNTER shadow
# variable. The test waits for each fix's log lines, disables and unloads
# both, then checks that every shadow variable is gone (the probe module
# finds none) and, from shadow-mod's exit report, that exactly the dummies
# allocated by the unpatched dummy_alloc() leaked: one allocation each.
# Skipped while the runtime has no klp_shadow_* functions.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: test.sh BUILD_DIR}
# shellcheck source=examples/example-lib.sh
source "$here/../example-lib.sh"
dir=$build/examples/livepatch-shadow
target=$dir/shadow-mod
runtime=$build/lib/libuklp.so
require_files "$uklp" "$target" "$runtime" "$dir"/livepatch-shadow-{fix1,fix2,probe}.so

nm -D --defined-only "$runtime" | grep -q ' klp_shadow_alloc$' ||
	skip "the runtime ($runtime) does not define klp_shadow_alloc yet: shadow variables are not implemented"

out=$work/target.out
log=$work/dmesg.log
ptr='0x[0-9a-f]+'

# probe EXPECTED_REGEX: loads the probe module, checks its line, removes it.
probe() {
	local before
	before=$(count "$log" 'livepatch_shadow_probe: [0-9]+ dummies')
	show "$uklp" load "$target_pid" "$dir/livepatch-shadow-probe.so"
	wait_for "$log" 'livepatch_shadow_probe: [0-9]+ dummies' $((before + 1))
	grep -E 'livepatch_shadow_probe: [0-9]+ dummies' "$log" | tail -n1 | tee "$work/probe.txt"
	grep -qE "$1" "$work/probe.txt" || fail "the probe's line does not match '$1'"
	show "$uklp" disable "$target_pid" livepatch_shadow_probe
	show "$uklp" unload "$target_pid" livepatch_shadow_probe
}

banner "1. Run shadow-mod (its clock 10 times faster): it leaks one allocation per dummy"
start_target "$out" "$target" --speed 10
wait_for "$out" '^shadow-mod: pid [0-9]+, speed 10$'
wait_for "$out" "^dummy_free: dummy @ $ptr, expired = [0-9a-f]+\$" 2
wait_for "$out" '^memory: [0-9]+ allocations live, [0-9]+ dummies$' 2
head -n 12 "$out"

banner "2. Load fix1: new dummies keep their leak in an SV_LEAK shadow variable"
show "$uklp" load "$target_pid" "$dir/livepatch-shadow-fix1.so"
wait_for "$log" "livepatch_shadow_fix1: livepatch_fix1_dummy_alloc: dummy @ $ptr, expires @ [0-9a-f]+\$"
wait_for "$log" "livepatch_shadow_fix1: livepatch_fix1_dummy_free: dummy @ $ptr leaked!\$"
wait_for "$log" "livepatch_shadow_fix1: livepatch_fix1_dummy_leak_dtor: dummy @ $ptr, prevented leak @ $ptr\$"
probe 'livepatch_shadow_probe: [0-9]+ dummies: [0-9]+ with SV_LEAK, 0 with SV_COUNTER$'

banner "3. Load fix2 on top: an SV_COUNTER shadow variable counts each dummy's checks"
show "$uklp" load "$target_pid" "$dir/livepatch-shadow-fix2.so"
wait_for "$log" "livepatch_shadow_fix2: livepatch_fix2_dummy_free: dummy @ $ptr, check counter = [1-9][0-9]*\$"
wait_for "$log" "livepatch_shadow_fix2: livepatch_fix2_dummy_leak_dtor: dummy @ $ptr, prevented leak @ $ptr\$"
show "$uklp" list "$target_pid"

banner "4. Disable and unload both fixes: their module exits free the remaining shadow variables"
show "$uklp" disable "$target_pid" livepatch_shadow_fix2
show "$uklp" disable "$target_pid" livepatch_shadow_fix1
show "$uklp" unload "$target_pid" livepatch_shadow_fix2
show "$uklp" unload "$target_pid" livepatch_shadow_fix1
show "$uklp" list "$target_pid" | tee "$work/list.txt"
! grep -q livepatch_shadow_fix "$work/list.txt" || fail "a fix is still listed"

banner "5. No shadow variable is left"
probe 'livepatch_shadow_probe: [0-9]+ dummies: 0 with SV_LEAK, 0 with SV_COUNTER$'

banner "6. Stop shadow-mod: only the dummies of the unpatched dummy_alloc() leaked"
stop_target TERM
tail -n 3 "$out"
old_allocs=$(count "$out" "^dummy_alloc: dummy @ $ptr, expires @ [0-9a-f]+\$")
fix1_allocs=$(count "$log" "livepatch_fix1_dummy_alloc: dummy @ $ptr, expires @ [0-9a-f]+\$")
prevented=$(count "$log" "livepatch_fix[12]_dummy_leak_dtor: dummy @ $ptr, prevented leak @ $ptr\$")
echo "unpatched allocations: $old_allocs; fix1 allocations: $fix1_allocs; leaks prevented: $prevented"
expect_count "$out" "^shadow-mod: exit: $old_allocs allocations leaked\$" 1
((prevented == fix1_allocs)) || fail "$fix1_allocs dummies allocated by fix1 but $prevented leaks prevented"
((fix1_allocs > 0)) || fail "fix1 allocated nothing"

banner "livepatch-shadow: the leak stopped while fix1 was loaded, and no shadow variable outlived the fixes"
