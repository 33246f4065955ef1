"""test_livepatch.py: port of the kernel's
tools/testing/selftests/livepatch/test-livepatch.sh (see README.md)."""
from klp_functions import KlpSelftest, main

MOD_LIVEPATCH1 = "test_klp_livepatch"
MOD_LIVEPATCH2 = "test_klp_syscall"
MOD_LIVEPATCH3 = "test_klp_callbacks_demo"
MOD_REPLACE = "test_klp_atomic_replace"
MOD_TARGET = "test_klp_mod_target"
MOD_TARGET_PATCH = "test_klp_mod_patch"

PATCHED = f"{MOD_LIVEPATCH1}: this has been live patched"


class TestLivepatch(KlpSelftest):
    NAMES = dict(MOD_LIVEPATCH1=MOD_LIVEPATCH1, MOD_LIVEPATCH2=MOD_LIVEPATCH2, MOD_LIVEPATCH3=MOD_LIVEPATCH3,
                 MOD_REPLACE=MOD_REPLACE, MOD_TARGET=MOD_TARGET, MOD_TARGET_PATCH=MOD_TARGET_PATCH)

    def grep_both(self):
        self.grep_live_patched("cmdline")
        self.grep_live_patched("meminfo")

    # - load a livepatch that modifies the output from /proc/cmdline and
    #   verify correct behavior
    # - unload the livepatch and make sure the patch was removed
    def test_basic_function_patching(self):
        self.load_lp(MOD_LIVEPATCH1)
        self.assertEqual(self.cat("cmdline"), PATCHED)
        self.disable_lp(MOD_LIVEPATCH1)
        self.unload_lp(MOD_LIVEPATCH1)
        self.assertNotEqual(self.cat("cmdline"), PATCHED)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH1.so
livepatch: enabling patch '$MOD_LIVEPATCH1'
livepatch: '$MOD_LIVEPATCH1': initializing patching transition
livepatch: '$MOD_LIVEPATCH1': starting patching transition
livepatch: '$MOD_LIVEPATCH1': completing patching transition
livepatch: '$MOD_LIVEPATCH1': patching complete
% uklp disable $MOD_LIVEPATCH1
livepatch: '$MOD_LIVEPATCH1': initializing unpatching transition
livepatch: '$MOD_LIVEPATCH1': starting unpatching transition
livepatch: '$MOD_LIVEPATCH1': completing unpatching transition
livepatch: '$MOD_LIVEPATCH1': unpatching complete
% uklp unload $MOD_LIVEPATCH1""")

    # - load a livepatch that modifies the output from /proc/cmdline and
    #   verify correct behavior
    # - load another livepatch and verify that both livepatches are active
    # - unload the second livepatch and verify that the first is still active
    # - unload the first livepatch and verify none are active
    def test_multiple_livepatches(self):
        self.load_lp(MOD_LIVEPATCH1)
        self.grep_both()
        self.load_lp(MOD_REPLACE, "replace=0")
        self.grep_both()
        self.disable_lp(MOD_REPLACE)
        self.unload_lp(MOD_REPLACE)
        self.grep_both()
        self.disable_lp(MOD_LIVEPATCH1)
        self.unload_lp(MOD_LIVEPATCH1)
        self.grep_both()

        self.check_result("""\
% uklp load $MOD_LIVEPATCH1.so
livepatch: enabling patch '$MOD_LIVEPATCH1'
livepatch: '$MOD_LIVEPATCH1': initializing patching transition
livepatch: '$MOD_LIVEPATCH1': starting patching transition
livepatch: '$MOD_LIVEPATCH1': completing patching transition
livepatch: '$MOD_LIVEPATCH1': patching complete
$MOD_LIVEPATCH1: this has been live patched
% uklp load $MOD_REPLACE.so replace=0
livepatch: enabling patch '$MOD_REPLACE'
livepatch: '$MOD_REPLACE': initializing patching transition
livepatch: '$MOD_REPLACE': starting patching transition
livepatch: '$MOD_REPLACE': completing patching transition
livepatch: '$MOD_REPLACE': patching complete
$MOD_LIVEPATCH1: this has been live patched
$MOD_REPLACE: this has been live patched
% uklp disable $MOD_REPLACE
livepatch: '$MOD_REPLACE': initializing unpatching transition
livepatch: '$MOD_REPLACE': starting unpatching transition
livepatch: '$MOD_REPLACE': completing unpatching transition
livepatch: '$MOD_REPLACE': unpatching complete
% uklp unload $MOD_REPLACE
$MOD_LIVEPATCH1: this has been live patched
% uklp disable $MOD_LIVEPATCH1
livepatch: '$MOD_LIVEPATCH1': initializing unpatching transition
livepatch: '$MOD_LIVEPATCH1': starting unpatching transition
livepatch: '$MOD_LIVEPATCH1': completing unpatching transition
livepatch: '$MOD_LIVEPATCH1': unpatching complete
% uklp unload $MOD_LIVEPATCH1""")

    # - load a livepatch that modifies the output from /proc/cmdline and
    #   verify correct behavior
    # - load two additional livepatches and check the number of livepatch modules
    #   applied
    # - load an atomic replace livepatch and check that the other three modules were
    #   disabled
    # - remove all livepatches besides the atomic replace one and verify that the
    #   atomic replace livepatch is still active
    # - remove the atomic replace livepatch and verify that none are active
    def test_atomic_replace_livepatch(self):
        self.load_lp(MOD_LIVEPATCH1)
        self.grep_both()
        for mod in (MOD_LIVEPATCH2, MOD_LIVEPATCH3):
            self.load_lp(mod)
        self.assertEqual(len(self.sysfs_patches()), 3, "expecting three patches listed")

        self.load_lp(MOD_REPLACE, "replace=1")
        self.grep_both()
        self.loop_until(lambda: len(self.sysfs_patches()) == 1, "expecting only one patch listed")

        # These modules were disabled by the atomic replace
        for mod in (MOD_LIVEPATCH3, MOD_LIVEPATCH2, MOD_LIVEPATCH1):
            self.unload_lp(mod)
        self.grep_both()
        self.disable_lp(MOD_REPLACE)
        self.unload_lp(MOD_REPLACE)
        self.grep_both()

        self.check_result("""\
% uklp load $MOD_LIVEPATCH1.so
livepatch: enabling patch '$MOD_LIVEPATCH1'
livepatch: '$MOD_LIVEPATCH1': initializing patching transition
livepatch: '$MOD_LIVEPATCH1': starting patching transition
livepatch: '$MOD_LIVEPATCH1': completing patching transition
livepatch: '$MOD_LIVEPATCH1': patching complete
$MOD_LIVEPATCH1: this has been live patched
% uklp load $MOD_LIVEPATCH2.so
livepatch: enabling patch '$MOD_LIVEPATCH2'
livepatch: '$MOD_LIVEPATCH2': initializing patching transition
livepatch: '$MOD_LIVEPATCH2': starting patching transition
livepatch: '$MOD_LIVEPATCH2': completing patching transition
livepatch: '$MOD_LIVEPATCH2': patching complete
% uklp load $MOD_LIVEPATCH3.so
livepatch: enabling patch '$MOD_LIVEPATCH3'
livepatch: '$MOD_LIVEPATCH3': initializing patching transition
$MOD_LIVEPATCH3: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH3': starting patching transition
livepatch: '$MOD_LIVEPATCH3': completing patching transition
$MOD_LIVEPATCH3: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH3': patching complete
% uklp load $MOD_REPLACE.so replace=1
livepatch: enabling patch '$MOD_REPLACE'
livepatch: '$MOD_REPLACE': initializing patching transition
livepatch: '$MOD_REPLACE': starting patching transition
livepatch: '$MOD_REPLACE': completing patching transition
livepatch: '$MOD_REPLACE': patching complete
$MOD_REPLACE: this has been live patched
% uklp unload $MOD_LIVEPATCH3
% uklp unload $MOD_LIVEPATCH2
% uklp unload $MOD_LIVEPATCH1
$MOD_REPLACE: this has been live patched
% uklp disable $MOD_REPLACE
livepatch: '$MOD_REPLACE': initializing unpatching transition
livepatch: '$MOD_REPLACE': starting unpatching transition
livepatch: '$MOD_REPLACE': completing unpatching transition
livepatch: '$MOD_REPLACE': unpatching complete
% uklp unload $MOD_REPLACE""")

    # - load a target module that provides /proc/test_klp_mod_target with
    #   original output
    # - load a livepatch that patches the target module's show function
    # - verify the proc entry returns livepatched output
    # - disable and unload the livepatch
    # - verify the proc entry returns original output again
    # - unload the target module
    def test_module_function_patching(self):
        self.load_mod(MOD_TARGET)
        self.assertEqual(self.cat(MOD_TARGET), f"{MOD_TARGET}: original output")
        self.load_lp(MOD_TARGET_PATCH)
        self.assertEqual(self.cat(MOD_TARGET), f"{MOD_TARGET_PATCH}: this has been live patched")
        self.disable_lp(MOD_TARGET_PATCH)
        self.unload_lp(MOD_TARGET_PATCH)
        self.assertEqual(self.cat(MOD_TARGET), f"{MOD_TARGET}: original output")
        self.unload_mod(MOD_TARGET)

        self.check_result("""\
% dlopen $MOD_TARGET.so
$MOD_TARGET: test_klp_mod_target_init
% uklp load $MOD_TARGET_PATCH.so
livepatch: enabling patch '$MOD_TARGET_PATCH'
livepatch: '$MOD_TARGET_PATCH': initializing patching transition
livepatch: '$MOD_TARGET_PATCH': starting patching transition
livepatch: '$MOD_TARGET_PATCH': completing patching transition
livepatch: '$MOD_TARGET_PATCH': patching complete
% uklp disable $MOD_TARGET_PATCH
livepatch: '$MOD_TARGET_PATCH': initializing unpatching transition
livepatch: '$MOD_TARGET_PATCH': starting unpatching transition
livepatch: '$MOD_TARGET_PATCH': completing unpatching transition
livepatch: '$MOD_TARGET_PATCH': unpatching complete
% uklp unload $MOD_TARGET_PATCH
% dlclose $MOD_TARGET.so
$MOD_TARGET: test_klp_mod_target_exit""")

    # - load a livepatch that targets a not-yet-loaded module
    # - load the target module: klp_module_coming patches it immediately
    # - verify the proc entry returns livepatched output
    # - disable and unload the livepatch
    # - verify the proc entry returns original output again
    # - unload the target module
    def test_module_function_patching_livepatch_first(self):
        self.load_lp(MOD_TARGET_PATCH)
        self.load_mod(MOD_TARGET)
        self.assertEqual(self.cat(MOD_TARGET), f"{MOD_TARGET_PATCH}: this has been live patched")
        self.disable_lp(MOD_TARGET_PATCH)
        self.unload_lp(MOD_TARGET_PATCH)
        self.assertEqual(self.cat(MOD_TARGET), f"{MOD_TARGET}: original output")
        self.unload_mod(MOD_TARGET)

        self.check_result("""\
% uklp load $MOD_TARGET_PATCH.so
livepatch: enabling patch '$MOD_TARGET_PATCH'
livepatch: '$MOD_TARGET_PATCH': initializing patching transition
livepatch: '$MOD_TARGET_PATCH': starting patching transition
livepatch: '$MOD_TARGET_PATCH': completing patching transition
livepatch: '$MOD_TARGET_PATCH': patching complete
% dlopen $MOD_TARGET.so
livepatch: applying patch '$MOD_TARGET_PATCH' to loading module '$MOD_TARGET.so'
$MOD_TARGET: test_klp_mod_target_init
% uklp disable $MOD_TARGET_PATCH
livepatch: '$MOD_TARGET_PATCH': initializing unpatching transition
livepatch: '$MOD_TARGET_PATCH': starting unpatching transition
livepatch: '$MOD_TARGET_PATCH': completing unpatching transition
livepatch: '$MOD_TARGET_PATCH': unpatching complete
% uklp unload $MOD_TARGET_PATCH
% dlclose $MOD_TARGET.so
$MOD_TARGET: test_klp_mod_target_exit""")


if __name__ == "__main__":
    main()
