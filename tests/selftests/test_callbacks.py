"""test_callbacks.py: port of the kernel's
tools/testing/selftests/livepatch/test-callbacks.sh (see README.md).

The kernel's target modules are libraries that the target dlopen()s and
dlclose()s on command; their state in the callbacks' lines is the one the
target keeps as the kernel's module loader does (COMING while dlopen()
runs, LIVE after, GOING while dlclose() runs)."""
from klp_functions import KlpSelftest, main

MOD_LIVEPATCH = "test_klp_callbacks_demo"
MOD_LIVEPATCH2 = "test_klp_callbacks_demo2"
MOD_TARGET = "test_klp_callbacks_mod"
MOD_TARGET_BUSY = "test_klp_callbacks_busy"


class TestCallbacks(KlpSelftest):
    NAMES = dict(MOD_LIVEPATCH=MOD_LIVEPATCH, MOD_LIVEPATCH2=MOD_LIVEPATCH2, MOD_TARGET=MOD_TARGET,
                 MOD_TARGET_BUSY=MOD_TARGET_BUSY)

    # Test a combination of loading a kernel module and a livepatch that
    # patches a function in the first module.  Load the target module
    # before the livepatch module.  Unload them in the same order.
    #
    # - On livepatch enable, before the livepatch transition starts,
    #   pre-patch callbacks are executed for vmlinux and $MOD_TARGET (those
    #   klp_objects currently loaded).  After klp_objects are patched
    #   according to the klp_patch, their post-patch callbacks run and the
    #   transition completes.
    #
    # - Similarly, on livepatch disable, pre-patch callbacks run before the
    #   unpatching transition starts.  klp_objects are reverted, post-patch
    #   callbacks execute and the transition completes.
    def test_target_module_before_livepatch(self):
        self.load_mod(MOD_TARGET)
        self.load_lp(MOD_LIVEPATCH)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)
        self.unload_mod(MOD_TARGET)

        self.check_result("""\
% dlopen $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_init
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
$MOD_LIVEPATCH: post_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': patching complete
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
$MOD_LIVEPATCH: pre_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
$MOD_LIVEPATCH: post_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH
% dlclose $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_exit""")

    # This test is similar to the previous test, but (un)load the livepatch
    # module before the target kernel module.  This tests the livepatch
    # core's module_coming handler.
    #
    # - On livepatch enable, only pre/post-patch callbacks are executed for
    #   currently loaded klp_objects, in this case, vmlinux.
    #
    # - When a targeted module is subsequently loaded, only its
    #   pre/post-patch callbacks are executed.
    #
    # - On livepatch disable, all currently loaded klp_objects' (vmlinux and
    #   $MOD_TARGET) pre/post-unpatch callbacks are executed.
    def test_module_coming_notifier(self):
        self.load_lp(MOD_LIVEPATCH)
        self.load_mod(MOD_TARGET)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)
        self.unload_mod(MOD_TARGET)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH': patching complete
% dlopen $MOD_TARGET.so
livepatch: applying patch '$MOD_LIVEPATCH' to loading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_COMING] Full formed, running module_init
$MOD_LIVEPATCH: post_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_COMING] Full formed, running module_init
$MOD_TARGET: ${MOD_TARGET}_init
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
$MOD_LIVEPATCH: pre_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
$MOD_LIVEPATCH: post_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH
% dlclose $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_exit""")

    # Test loading the livepatch after a targeted kernel module, then unload
    # the kernel module before disabling the livepatch.  This tests the
    # livepatch core's module_going handler.
    #
    # - First load a target module, then the livepatch.
    #
    # - When a target module is unloaded, the livepatch is only reverted
    #   from that klp_object ($MOD_TARGET).  As such, only its pre and
    #   post-unpatch callbacks are executed when this occurs.
    #
    # - When the livepatch is disabled, pre and post-unpatch callbacks are
    #   run for the remaining klp_object, vmlinux.
    def test_module_going_notifier(self):
        self.load_mod(MOD_TARGET)
        self.load_lp(MOD_LIVEPATCH)
        self.unload_mod(MOD_TARGET)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)

        self.check_result("""\
% dlopen $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_init
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
$MOD_LIVEPATCH: post_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': patching complete
% dlclose $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_exit
$MOD_LIVEPATCH: pre_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_GOING] Going away
livepatch: reverting patch '$MOD_LIVEPATCH' on unloading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: post_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_GOING] Going away
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH""")

    # This test is similar to the previous test, however the livepatch is
    # loaded first.  This tests the livepatch core's module_coming and
    # module_going handlers.
    #
    # - First load the livepatch.
    #
    # - When a targeted kernel module is subsequently loaded, only its
    #   pre/post-patch callbacks are executed.
    #
    # - When the target module is unloaded, the livepatch is only reverted
    #   from the $MOD_TARGET klp_object.  As such, only pre and
    #   post-unpatch callbacks are executed when this occurs.
    def test_module_coming_and_module_going_notifiers(self):
        self.load_lp(MOD_LIVEPATCH)
        self.load_mod(MOD_TARGET)
        self.unload_mod(MOD_TARGET)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH': patching complete
% dlopen $MOD_TARGET.so
livepatch: applying patch '$MOD_LIVEPATCH' to loading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_COMING] Full formed, running module_init
$MOD_LIVEPATCH: post_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_COMING] Full formed, running module_init
$MOD_TARGET: ${MOD_TARGET}_init
% dlclose $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_exit
$MOD_LIVEPATCH: pre_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_GOING] Going away
livepatch: reverting patch '$MOD_LIVEPATCH' on unloading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: post_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_GOING] Going away
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH""")

    # A simple test of loading a livepatch without one of its patch target
    # klp_objects ever loaded ($MOD_TARGET).
    #
    # - Load the livepatch.
    #
    # - As expected, only pre/post-(un)patch handlers are executed for
    #   vmlinux.
    def test_target_module_not_present(self):
        self.load_lp(MOD_LIVEPATCH)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH': patching complete
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH""")

    # Test a scenario where a vmlinux pre-patch callback returns a non-zero
    # status (ie, failure).
    #
    # - First load a target module.
    #
    # - Load the livepatch module, setting its 'pre_patch_ret' value to -19
    #   (-ENODEV).  When its vmlinux pre-patch callback executes, this
    #   status code will propagate back to the module-loading subsystem.
    #   The result is that the insmod command refuses to load the livepatch
    #   module.
    def test_pre_patch_callback_enodev(self):
        self.load_mod(MOD_TARGET)
        self.load_failing_lp(MOD_LIVEPATCH, "pre_patch_ret=-19")
        self.unload_mod(MOD_TARGET)

        self.check_result("""\
% dlopen $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_init
% uklp load $MOD_LIVEPATCH.so pre_patch_ret=-19
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
livepatch: pre-patch callback failed for object 'main'
livepatch: failed to enable patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': canceling patching transition, going to unpatch
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
livepatch: '$MOD_LIVEPATCH': unpatching complete
uklp: error: pre-patch callback failed for object 'main' (No such device)
% dlclose $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_exit""")

    # Similar to the previous test, setup a livepatch such that its vmlinux
    # pre-patch callback returns success.  However, when a targeted kernel
    # module is later loaded, have the livepatch return a failing status
    # code.
    #
    # - Load the livepatch, vmlinux pre-patch callback succeeds.
    #
    # - Set a trap so subsequent pre-patch callbacks to this livepatch will
    #   return -ENODEV.
    #
    # - The livepatch pre-patch callback for subsequently loaded target
    #   modules will return failure, so the module loader refuses to load
    #   the kernel module.  No post-patch or pre/post-unpatch callbacks are
    #   executed for this klp_object.
    #
    # - Pre/post-unpatch callbacks are run for the vmlinux klp_object.
    def test_module_coming_pre_patch_callback_enodev(self):
        self.load_lp(MOD_LIVEPATCH)
        self.set_pre_patch_ret(MOD_LIVEPATCH, -19)
        self.load_failing_mod(MOD_TARGET)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH': patching complete
% uklp sys module/$MOD_LIVEPATCH/parameters/pre_patch_ret -- -19
% dlopen $MOD_TARGET.so
livepatch: applying patch '$MOD_LIVEPATCH' to loading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_COMING] Full formed, running module_init
livepatch: pre-patch callback failed for object '$MOD_TARGET.so'
livepatch: patch '$MOD_LIVEPATCH' failed for module '$MOD_TARGET.so', refusing to load module '$MOD_TARGET.so'
dlopen: ERROR: could not load $MOD_TARGET.so
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH""")

    # Test loading multiple targeted kernel modules.  This test-case is
    # mainly for comparing with the next test-case.
    #
    # - Load a target "busy" kernel module which kicks off a worker function
    #   that immediately exits.
    #
    # - Proceed with loading the livepatch and another ordinary target
    #   module.  Post-patch callbacks are executed and the transition
    #   completes quickly.
    def test_multiple_target_modules(self):
        self.load_mod(MOD_TARGET_BUSY, "block_transition=N")
        self.load_lp(MOD_LIVEPATCH)
        self.load_mod(MOD_TARGET)
        self.unload_mod(MOD_TARGET)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)
        self.unload_mod(MOD_TARGET_BUSY)

        self.check_result("""\
% dlopen $MOD_TARGET_BUSY.so block_transition=N
$MOD_TARGET_BUSY: ${MOD_TARGET_BUSY}_init
$MOD_TARGET_BUSY: busymod_work_func enter
$MOD_TARGET_BUSY: busymod_work_func exit
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET_BUSY.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
$MOD_LIVEPATCH: post_patch_callback: $MOD_TARGET_BUSY.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': patching complete
% dlopen $MOD_TARGET.so
livepatch: applying patch '$MOD_LIVEPATCH' to loading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_COMING] Full formed, running module_init
$MOD_LIVEPATCH: post_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_COMING] Full formed, running module_init
$MOD_TARGET: ${MOD_TARGET}_init
% dlclose $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_exit
$MOD_LIVEPATCH: pre_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_GOING] Going away
livepatch: reverting patch '$MOD_LIVEPATCH' on unloading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: post_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_GOING] Going away
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
$MOD_LIVEPATCH: pre_unpatch_callback: $MOD_TARGET_BUSY.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
$MOD_LIVEPATCH: post_unpatch_callback: $MOD_TARGET_BUSY.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH
% dlclose $MOD_TARGET_BUSY.so
$MOD_TARGET_BUSY: ${MOD_TARGET_BUSY}_exit""")

    # A similar test as the previous one, but force the "busy" kernel module
    # to block the livepatch transition.
    #
    # The livepatching core will refuse to patch a task that is currently
    # executing a to-be-patched function -- the consistency model stalls the
    # current patch transition until this safety-check is met.  Test a
    # scenario where one of a livepatch's target klp_objects sits on such a
    # function for a long time.  Meanwhile, load and unload other target
    # kernel modules while the livepatch transition is in progress.
    #
    # - Load the "busy" kernel module, this time make its work function loop
    #
    # - Meanwhile, the livepatch is loaded.  Notice that the patch
    #   transition does not complete as the targeted "busy" module is
    #   sitting on a to-be-patched function.
    #
    # - Load a second target module (this one is an ordinary idle kernel
    #   module).  Note that *no* post-patch callbacks will be executed while
    #   the livepatch is still in transition.
    #
    # - Request an unload of the simple kernel module.  The patch is still
    #   transitioning, so its pre-unpatch callbacks are skipped.
    #
    # - Finally the livepatch is disabled.  Since none of the patch's
    #   klp_object's post-patch callbacks executed, the remaining
    #   klp_object's pre-unpatch callbacks are skipped.
    def test_busy_target_module(self):
        self.load_mod(MOD_TARGET_BUSY, "block_transition=Y")
        self.load_lp_nowait(MOD_LIVEPATCH)

        # Wait until the livepatch reports in-transition state, i.e. that it's
        # stalled on $MOD_TARGET_BUSY::busymod_work_func()
        self.loop_until(lambda: self.sys_read(f"livepatch/{MOD_LIVEPATCH}/transition") == "1",
                        "failed to stall transition")

        self.load_mod(MOD_TARGET)
        self.unload_mod(MOD_TARGET)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH)
        self.unload_mod(MOD_TARGET_BUSY)

        self.check_result("""\
% dlopen $MOD_TARGET_BUSY.so block_transition=Y
$MOD_TARGET_BUSY: ${MOD_TARGET_BUSY}_init
$MOD_TARGET_BUSY: busymod_work_func enter
% uklp load --no-wait $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET_BUSY.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': starting patching transition
% dlopen $MOD_TARGET.so
livepatch: applying patch '$MOD_LIVEPATCH' to loading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: pre_patch_callback: $MOD_TARGET.so -> [MODULE_STATE_COMING] Full formed, running module_init
$MOD_TARGET: ${MOD_TARGET}_init
% dlclose $MOD_TARGET.so
$MOD_TARGET: ${MOD_TARGET}_exit
livepatch: reverting patch '$MOD_LIVEPATCH' on unloading module '$MOD_TARGET.so'
$MOD_LIVEPATCH: post_unpatch_callback: $MOD_TARGET.so -> [MODULE_STATE_GOING] Going away
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': reversing transition from patching to unpatching
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
$MOD_LIVEPATCH: post_unpatch_callback: $MOD_TARGET_BUSY.so -> [MODULE_STATE_LIVE] Normal state
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH
% dlclose $MOD_TARGET_BUSY.so
$MOD_TARGET_BUSY: busymod_work_func exit
$MOD_TARGET_BUSY: ${MOD_TARGET_BUSY}_exit""")

    # Test loading multiple livepatches.  This test-case is mainly for comparing
    # with the next test-case.
    #
    # - Load and unload two livepatches, pre and post (un)patch callbacks
    #   execute as each patch progresses through its (un)patching
    #   transition.
    def test_multiple_livepatches(self):
        self.load_lp(MOD_LIVEPATCH)
        self.load_lp(MOD_LIVEPATCH2)
        self.disable_lp(MOD_LIVEPATCH2)
        self.disable_lp(MOD_LIVEPATCH)
        self.unload_lp(MOD_LIVEPATCH2)
        self.unload_lp(MOD_LIVEPATCH)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH': patching complete
% uklp load $MOD_LIVEPATCH2.so
livepatch: enabling patch '$MOD_LIVEPATCH2'
livepatch: '$MOD_LIVEPATCH2': initializing patching transition
$MOD_LIVEPATCH2: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH2': starting patching transition
livepatch: '$MOD_LIVEPATCH2': completing patching transition
$MOD_LIVEPATCH2: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH2': patching complete
% uklp disable $MOD_LIVEPATCH2
livepatch: '$MOD_LIVEPATCH2': initializing unpatching transition
$MOD_LIVEPATCH2: pre_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH2': starting unpatching transition
livepatch: '$MOD_LIVEPATCH2': completing unpatching transition
$MOD_LIVEPATCH2: post_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH2': unpatching complete
% uklp disable $MOD_LIVEPATCH
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
$MOD_LIVEPATCH: pre_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
$MOD_LIVEPATCH: post_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH': unpatching complete
% uklp unload $MOD_LIVEPATCH2
% uklp unload $MOD_LIVEPATCH""")

    # Load multiple livepatches, but the second as an 'atomic-replace'
    # patch.  When the latter loads, the original livepatch should be
    # disabled and *none* of its pre/post-unpatch callbacks executed.  On
    # the other hand, when the atomic-replace livepatch is disabled, its
    # pre/post-unpatch callbacks *should* be executed.
    #
    # - Load and unload two livepatches, the second of which has its
    #   .replace flag set true.
    #
    # - Pre and post patch callbacks are executed for both livepatches.
    #
    # - Once the atomic replace module is loaded, only its pre and post
    #   unpatch callbacks are executed.
    def test_atomic_replace(self):
        self.load_lp(MOD_LIVEPATCH)
        self.load_lp(MOD_LIVEPATCH2, "replace=1")
        self.disable_lp(MOD_LIVEPATCH2)
        self.unload_lp(MOD_LIVEPATCH2)
        self.unload_lp(MOD_LIVEPATCH)

        self.check_result("""\
% uklp load $MOD_LIVEPATCH.so
livepatch: enabling patch '$MOD_LIVEPATCH'
livepatch: '$MOD_LIVEPATCH': initializing patching transition
$MOD_LIVEPATCH: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH': starting patching transition
livepatch: '$MOD_LIVEPATCH': completing patching transition
$MOD_LIVEPATCH: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH': patching complete
% uklp load $MOD_LIVEPATCH2.so replace=1
livepatch: enabling patch '$MOD_LIVEPATCH2'
livepatch: '$MOD_LIVEPATCH2': initializing patching transition
$MOD_LIVEPATCH2: pre_patch_callback: main
livepatch: '$MOD_LIVEPATCH2': starting patching transition
livepatch: '$MOD_LIVEPATCH2': completing patching transition
$MOD_LIVEPATCH2: post_patch_callback: main
livepatch: '$MOD_LIVEPATCH2': patching complete
% uklp disable $MOD_LIVEPATCH2
livepatch: '$MOD_LIVEPATCH2': initializing unpatching transition
$MOD_LIVEPATCH2: pre_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH2': starting unpatching transition
livepatch: '$MOD_LIVEPATCH2': completing unpatching transition
$MOD_LIVEPATCH2: post_unpatch_callback: main
livepatch: '$MOD_LIVEPATCH2': unpatching complete
% uklp unload $MOD_LIVEPATCH2
% uklp unload $MOD_LIVEPATCH""")


if __name__ == "__main__":
    main()
