"""test_sysfs.py: port of the kernel's
tools/testing/selftests/livepatch/test-sysfs.sh (see README.md).

The sysfs tree is the process's attribute tree, read and written with
`uklp sys PID livepatch/...`; the kernel's access rights are checked as
what `uklp sys` allows (klp_functions.check_sysfs_rights)."""
from klp_functions import KlpSelftest, main

MOD_LIVEPATCH = "test_klp_livepatch"
MOD_LIVEPATCH2 = "test_klp_callbacks_demo"
MOD_LIVEPATCH3 = "test_klp_syscall"
MOD_TARGET = "test_klp_callbacks_mod"
MOD_REPLACE = "test_klp_atomic_replace"


class TestSysfs(KlpSelftest):
    NAMES = dict(MOD_LIVEPATCH=MOD_LIVEPATCH, MOD_LIVEPATCH2=MOD_LIVEPATCH2, MOD_LIVEPATCH3=MOD_LIVEPATCH3,
                 MOD_TARGET=MOD_TARGET, MOD_REPLACE=MOD_REPLACE)

    # - load a livepatch and verifies the sysfs entries work as expected
    def test_sysfs_test(self):
        self.load_lp(MOD_LIVEPATCH)

        self.check_sysfs_rights(MOD_LIVEPATCH, "", "drwxr-xr-x")
        self.check_sysfs_rights(MOD_LIVEPATCH, "enabled", "-rw-r--r--")
        self.check_sysfs_value(MOD_LIVEPATCH, "enabled", "1")
        self.check_sysfs_rights(MOD_LIVEPATCH, "force", "--w-------")
        self.check_sysfs_rights(MOD_LIVEPATCH, "replace", "-r--r--r--")
        self.check_sysfs_rights(MOD_LIVEPATCH, "stack_order", "-r--r--r--")
        self.check_sysfs_value(MOD_LIVEPATCH, "stack_order", "1")
        self.check_sysfs_rights(MOD_LIVEPATCH, "transition", "-r--r--r--")
        self.check_sysfs_value(MOD_LIVEPATCH, "transition", "0")
        self.check_sysfs_rights(MOD_LIVEPATCH, "main/patched", "-r--r--r--")
        self.check_sysfs_value(MOD_LIVEPATCH, "main/patched", "1")

        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
livepatch: '$MOD_LIVEPATCH': patching complete
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH""")

    def test_sysfs_test_object_patched(self):
        self.load_lp(MOD_LIVEPATCH2)

        # check the "patch" file changes as target module loads/unloads
        self.check_sysfs_value(MOD_LIVEPATCH2, f"{MOD_TARGET}.so/patched", "0")
        self.load_mod(MOD_TARGET)
        self.check_sysfs_value(MOD_LIVEPATCH2, f"{MOD_TARGET}.so/patched", "1")
        self.unload_mod(MOD_TARGET)
        self.check_sysfs_value(MOD_LIVEPATCH2, f"{MOD_TARGET}.so/patched", "0")

        self.disable_lp(MOD_LIVEPATCH2)
        self.unload_lp(MOD_LIVEPATCH2)

        self.check_result("""\
% uklp load test_klp_callbacks_demo.so
livepatch: enabling patch 'test_klp_callbacks_demo'
livepatch: 'test_klp_callbacks_demo': initializing patching transition
test_klp_callbacks_demo: pre_patch_callback: main
livepatch: 'test_klp_callbacks_demo': starting patching transition
livepatch: 'test_klp_callbacks_demo': completing patching transition
test_klp_callbacks_demo: post_patch_callback: main
livepatch: 'test_klp_callbacks_demo': patching complete
% dlopen test_klp_callbacks_mod.so
livepatch: applying patch 'test_klp_callbacks_demo' to loading module 'test_klp_callbacks_mod.so'
test_klp_callbacks_demo: pre_patch_callback: test_klp_callbacks_mod.so -> [MODULE_STATE_COMING] Full formed, running module_init
test_klp_callbacks_demo: post_patch_callback: test_klp_callbacks_mod.so -> [MODULE_STATE_COMING] Full formed, running module_init
test_klp_callbacks_mod: test_klp_callbacks_mod_init
% dlclose test_klp_callbacks_mod.so
test_klp_callbacks_mod: test_klp_callbacks_mod_exit
test_klp_callbacks_demo: pre_unpatch_callback: test_klp_callbacks_mod.so -> [MODULE_STATE_GOING] Going away
livepatch: reverting patch 'test_klp_callbacks_demo' on unloading module 'test_klp_callbacks_mod.so'
test_klp_callbacks_demo: post_unpatch_callback: test_klp_callbacks_mod.so -> [MODULE_STATE_GOING] Going away
% uklp disable test_klp_callbacks_demo
livepatch: 'test_klp_callbacks_demo': initializing unpatching transition
test_klp_callbacks_demo: pre_unpatch_callback: main
livepatch: 'test_klp_callbacks_demo': starting unpatching transition
livepatch: 'test_klp_callbacks_demo': completing unpatching transition
test_klp_callbacks_demo: post_unpatch_callback: main
livepatch: 'test_klp_callbacks_demo': unpatching complete
% uklp unload test_klp_callbacks_demo""")

    def test_sysfs_test_replace_enabled(self):
        self.load_lp(MOD_REPLACE, "replace=1")

        self.check_sysfs_rights(MOD_REPLACE, "replace", "-r--r--r--")
        self.check_sysfs_value(MOD_REPLACE, "replace", "1")

        self.disable_lp(MOD_REPLACE)
        self.unload_lp(MOD_REPLACE)

        self.check_result("""\
% uklp load $MOD_REPLACE.so replace=1
livepatch: enabling patch '$MOD_REPLACE'
livepatch: '$MOD_REPLACE': initializing patching transition
livepatch: '$MOD_REPLACE': starting patching transition
livepatch: '$MOD_REPLACE': completing patching transition
livepatch: '$MOD_REPLACE': patching complete
% uklp disable $MOD_REPLACE
livepatch: '$MOD_REPLACE': initializing unpatching transition
livepatch: '$MOD_REPLACE': starting unpatching transition
livepatch: '$MOD_REPLACE': completing unpatching transition
livepatch: '$MOD_REPLACE': unpatching complete
% uklp unload $MOD_REPLACE""")

    def test_sysfs_test_replace_disabled(self):
        self.load_lp(MOD_REPLACE, "replace=0")

        self.check_sysfs_rights(MOD_REPLACE, "replace", "-r--r--r--")
        self.check_sysfs_value(MOD_REPLACE, "replace", "0")

        self.disable_lp(MOD_REPLACE)
        self.unload_lp(MOD_REPLACE)

        self.check_result("""\
% uklp load $MOD_REPLACE.so replace=0
livepatch: enabling patch '$MOD_REPLACE'
livepatch: '$MOD_REPLACE': initializing patching transition
livepatch: '$MOD_REPLACE': starting patching transition
livepatch: '$MOD_REPLACE': completing patching transition
livepatch: '$MOD_REPLACE': patching complete
% uklp disable $MOD_REPLACE
livepatch: '$MOD_REPLACE': initializing unpatching transition
livepatch: '$MOD_REPLACE': starting unpatching transition
livepatch: '$MOD_REPLACE': completing unpatching transition
livepatch: '$MOD_REPLACE': unpatching complete
% uklp unload $MOD_REPLACE""")

    def test_sysfs_test_stack_order_value(self):
        # The kernel script goes on with MOD_LIVEPATCH=test_klp_atomic_replace
        # from the cases before (loaded without replace=1).
        self.load_lp(MOD_REPLACE)
        self.check_sysfs_value(MOD_REPLACE, "stack_order", "1")
        self.load_lp(MOD_LIVEPATCH2)
        self.check_sysfs_value(MOD_LIVEPATCH2, "stack_order", "2")
        self.load_lp(MOD_LIVEPATCH3)
        self.check_sysfs_value(MOD_LIVEPATCH3, "stack_order", "3")

        self.disable_lp(MOD_LIVEPATCH2)
        self.unload_lp(MOD_LIVEPATCH2)

        self.check_sysfs_value(MOD_REPLACE, "stack_order", "1")
        self.check_sysfs_value(MOD_LIVEPATCH3, "stack_order", "2")

        self.disable_lp(MOD_LIVEPATCH3)
        self.unload_lp(MOD_LIVEPATCH3)
        self.disable_lp(MOD_REPLACE)
        self.unload_lp(MOD_REPLACE)

        self.check_result("""\
% uklp load $MOD_REPLACE.so
livepatch: enabling patch '$MOD_REPLACE'
livepatch: '$MOD_REPLACE': initializing patching transition
livepatch: '$MOD_REPLACE': starting patching transition
livepatch: '$MOD_REPLACE': completing patching transition
livepatch: '$MOD_REPLACE': patching complete
% uklp load $MOD_LIVEPATCH2.so
livepatch: enabling patch '$MOD_LIVEPATCH2'
livepatch: '$MOD_LIVEPATCH2': initializing patching transition
$MOD_LIVEPATCH2: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH2': starting patching transition
livepatch: '$MOD_LIVEPATCH2': completing patching transition
$MOD_LIVEPATCH2: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH2': patching complete
% uklp load $MOD_LIVEPATCH3.so
livepatch: enabling patch '$MOD_LIVEPATCH3'
livepatch: '$MOD_LIVEPATCH3': initializing patching transition
livepatch: '$MOD_LIVEPATCH3': starting patching transition
livepatch: '$MOD_LIVEPATCH3': completing patching transition
livepatch: '$MOD_LIVEPATCH3': patching complete
% uklp disable $MOD_LIVEPATCH2
livepatch: '$MOD_LIVEPATCH2': initializing unpatching transition
$MOD_LIVEPATCH2: pre_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH2': starting unpatching transition
livepatch: '$MOD_LIVEPATCH2': completing unpatching transition
$MOD_LIVEPATCH2: post_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH2': unpatching complete
% uklp unload $MOD_LIVEPATCH2
% uklp disable $MOD_LIVEPATCH3
livepatch: '$MOD_LIVEPATCH3': initializing unpatching transition
livepatch: '$MOD_LIVEPATCH3': starting unpatching transition
livepatch: '$MOD_LIVEPATCH3': completing unpatching transition
livepatch: '$MOD_LIVEPATCH3': unpatching complete
% uklp unload $MOD_LIVEPATCH3
% uklp disable $MOD_REPLACE
livepatch: '$MOD_REPLACE': initializing unpatching transition
livepatch: '$MOD_REPLACE': starting unpatching transition
livepatch: '$MOD_REPLACE': completing unpatching transition
livepatch: '$MOD_REPLACE': unpatching complete
% uklp unload $MOD_REPLACE""")


if __name__ == "__main__":
    main()
