"""test_state.py: port of the kernel's
tools/testing/selftests/livepatch/test-state.sh (see README.md).

The system state is the target's console_loglevel; besides the kernel's
transcripts, each case checks its value (the first field of the target's
/proc/sys/kernel/printk) where the kernel's test does not."""
from klp_functions import KlpSelftest, main

MOD_LIVEPATCH = "test_klp_state"
MOD_LIVEPATCH2 = "test_klp_state2"
MOD_LIVEPATCH3 = "test_klp_state3"

DEFAULT_LOGLEVEL = "7"
MOTORMOUTH = "15"  # CONSOLE_LOGLEVEL_MOTORMOUTH


class TestState(KlpSelftest):
    NAMES = dict(MOD_LIVEPATCH=MOD_LIVEPATCH, MOD_LIVEPATCH2=MOD_LIVEPATCH2, MOD_LIVEPATCH3=MOD_LIVEPATCH3)

    def assert_loglevel(self, want):
        self.assertEqual(self.cat("sys/kernel/printk").split()[0], want, "console_loglevel")

    # Load and remove a module that modifies the system state
    def test_system_state_modification(self):
        self.load_lp(MOD_LIVEPATCH)
        self.assert_loglevel(MOTORMOUTH)
        self.disable_lp(MOD_LIVEPATCH)
        self.assert_loglevel(DEFAULT_LOGLEVEL)
        self.unload_lp(MOD_LIVEPATCH)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
$MOD_LIVEPATCH: allocate_loglevel_state: allocating space to store console_loglevel
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
$MOD_LIVEPATCH: fix_console_loglevel: fixing console_loglevel
livepatch: '$MOD_LIVEPATCH': patching complete
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
$MOD_LIVEPATCH: restore_console_loglevel: restoring console_loglevel
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
$MOD_LIVEPATCH: free_loglevel_state: freeing space for the stored console_loglevel
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH""")

    # Take over system state change by a cumulative patch
    def test_taking_over_system_state_modification(self):
        self.load_lp(MOD_LIVEPATCH)
        self.load_lp(MOD_LIVEPATCH2)
        self.assert_loglevel(MOTORMOUTH)
        self.unload_lp(MOD_LIVEPATCH)
        self.disable_lp(MOD_LIVEPATCH2)
        self.assert_loglevel(DEFAULT_LOGLEVEL)
        self.unload_lp(MOD_LIVEPATCH2)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
$MOD_LIVEPATCH: allocate_loglevel_state: allocating space to store console_loglevel
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
$MOD_LIVEPATCH: fix_console_loglevel: fixing console_loglevel
livepatch: '$MOD_LIVEPATCH': patching complete
% uklp load $MOD_LIVEPATCH2.so
livepatch: enabling patch '$MOD_LIVEPATCH2'
livepatch: '$MOD_LIVEPATCH2': initializing patching transition
$MOD_LIVEPATCH2: pre_patch_callback: main
$MOD_LIVEPATCH2: allocate_loglevel_state: space to store console_loglevel already allocated
livepatch: '$MOD_LIVEPATCH2': starting patching transition
livepatch: '$MOD_LIVEPATCH2': completing patching transition
$MOD_LIVEPATCH2: post_patch_callback: main
$MOD_LIVEPATCH2: fix_console_loglevel: taking over the console_loglevel change
livepatch: '$MOD_LIVEPATCH2': patching complete
% uklp unload $MOD_LIVEPATCH
% uklp disable $MOD_LIVEPATCH2
livepatch: '$MOD_LIVEPATCH2': initializing unpatching transition
$MOD_LIVEPATCH2: pre_unpatch_callback: main
$MOD_LIVEPATCH2: restore_console_loglevel: restoring console_loglevel
livepatch: '$MOD_LIVEPATCH2': starting unpatching transition
livepatch: '$MOD_LIVEPATCH2': completing unpatching transition
$MOD_LIVEPATCH2: post_unpatch_callback: main
$MOD_LIVEPATCH2: free_loglevel_state: freeing space for the stored console_loglevel
livepatch: '$MOD_LIVEPATCH2': unpatching complete
% uklp unload $MOD_LIVEPATCH2""")

    # Take over system state change by a cumulative patch
    def test_compatible_cumulative_livepatches(self):
        self.load_lp(MOD_LIVEPATCH2)
        self.load_lp(MOD_LIVEPATCH3)
        self.unload_lp(MOD_LIVEPATCH2)
        self.load_lp(MOD_LIVEPATCH2)
        self.assert_loglevel(MOTORMOUTH)
        self.disable_lp(MOD_LIVEPATCH2)
        self.assert_loglevel(DEFAULT_LOGLEVEL)
        self.unload_lp(MOD_LIVEPATCH2)
        self.unload_lp(MOD_LIVEPATCH3)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH2.so
livepatch: enabling patch '$MOD_LIVEPATCH2'
livepatch: '$MOD_LIVEPATCH2': initializing patching transition
$MOD_LIVEPATCH2: pre_patch_callback: main
$MOD_LIVEPATCH2: allocate_loglevel_state: allocating space to store console_loglevel
livepatch: '$MOD_LIVEPATCH2': starting patching transition
livepatch: '$MOD_LIVEPATCH2': completing patching transition
$MOD_LIVEPATCH2: post_patch_callback: main
$MOD_LIVEPATCH2: fix_console_loglevel: fixing console_loglevel
livepatch: '$MOD_LIVEPATCH2': patching complete
% uklp load $MOD_LIVEPATCH3.so
livepatch: enabling patch '$MOD_LIVEPATCH3'
livepatch: '$MOD_LIVEPATCH3': initializing patching transition
$MOD_LIVEPATCH3: pre_patch_callback: main
$MOD_LIVEPATCH3: allocate_loglevel_state: space to store console_loglevel already allocated
livepatch: '$MOD_LIVEPATCH3': starting patching transition
livepatch: '$MOD_LIVEPATCH3': completing patching transition
$MOD_LIVEPATCH3: post_patch_callback: main
$MOD_LIVEPATCH3: fix_console_loglevel: taking over the console_loglevel change
livepatch: '$MOD_LIVEPATCH3': patching complete
% uklp unload $MOD_LIVEPATCH2
% uklp load $MOD_LIVEPATCH2.so
livepatch: enabling patch '$MOD_LIVEPATCH2'
livepatch: '$MOD_LIVEPATCH2': initializing patching transition
$MOD_LIVEPATCH2: pre_patch_callback: main
$MOD_LIVEPATCH2: allocate_loglevel_state: space to store console_loglevel already allocated
livepatch: '$MOD_LIVEPATCH2': starting patching transition
livepatch: '$MOD_LIVEPATCH2': completing patching transition
$MOD_LIVEPATCH2: post_patch_callback: main
$MOD_LIVEPATCH2: fix_console_loglevel: taking over the console_loglevel change
livepatch: '$MOD_LIVEPATCH2': patching complete
% uklp disable $MOD_LIVEPATCH2
livepatch: '$MOD_LIVEPATCH2': initializing unpatching transition
$MOD_LIVEPATCH2: pre_unpatch_callback: main
$MOD_LIVEPATCH2: restore_console_loglevel: restoring console_loglevel
livepatch: '$MOD_LIVEPATCH2': starting unpatching transition
livepatch: '$MOD_LIVEPATCH2': completing unpatching transition
$MOD_LIVEPATCH2: post_unpatch_callback: main
$MOD_LIVEPATCH2: free_loglevel_state: freeing space for the stored console_loglevel
livepatch: '$MOD_LIVEPATCH2': unpatching complete
% uklp unload $MOD_LIVEPATCH2
% uklp unload $MOD_LIVEPATCH3""")

    # Failure caused by incompatible cumulative livepatches
    def test_incompatible_cumulative_livepatches(self):
        self.load_lp(MOD_LIVEPATCH2)
        self.load_failing_lp(MOD_LIVEPATCH)
        self.assert_loglevel(MOTORMOUTH)
        self.disable_lp(MOD_LIVEPATCH2)
        self.unload_lp(MOD_LIVEPATCH2)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH2.so
livepatch: enabling patch '$MOD_LIVEPATCH2'
livepatch: '$MOD_LIVEPATCH2': initializing patching transition
$MOD_LIVEPATCH2: pre_patch_callback: main
$MOD_LIVEPATCH2: allocate_loglevel_state: allocating space to store console_loglevel
livepatch: '$MOD_LIVEPATCH2': starting patching transition
livepatch: '$MOD_LIVEPATCH2': completing patching transition
$MOD_LIVEPATCH2: post_patch_callback: main
$MOD_LIVEPATCH2: fix_console_loglevel: fixing console_loglevel
livepatch: '$MOD_LIVEPATCH2': patching complete
% uklp load $MOD_LIVEPATCH.so
livepatch: Livepatch patch ($MOD_LIVEPATCH) is not compatible with the already installed livepatches.
uklp: error: patch '$MOD_LIVEPATCH' is not compatible with the already installed livepatches (Invalid argument)
% uklp disable $MOD_LIVEPATCH2
livepatch: '$MOD_LIVEPATCH2': initializing unpatching transition
$MOD_LIVEPATCH2: pre_unpatch_callback: main
$MOD_LIVEPATCH2: restore_console_loglevel: restoring console_loglevel
livepatch: '$MOD_LIVEPATCH2': starting unpatching transition
livepatch: '$MOD_LIVEPATCH2': completing unpatching transition
$MOD_LIVEPATCH2: post_unpatch_callback: main
$MOD_LIVEPATCH2: free_loglevel_state: freeing space for the stored console_loglevel
livepatch: '$MOD_LIVEPATCH2': unpatching complete
% uklp unload $MOD_LIVEPATCH2""")


if __name__ == "__main__":
    main()
