"""test_syscall.py: port of the kernel's
tools/testing/selftests/livepatch/test-syscall.sh (see README.md).

The kernel starts one test_klp-call_getpid process per CPU (at most 128),
each calling getpid() in a loop; here they are threads of the target
calling its sys_getpid() in a loop, which test_klp_syscall patches. Every
thread must reach the patched function: the module's npids parameter
counts those that have not yet."""
import os

from klp_functions import KlpSelftest, main

MOD_SYSCALL = "test_klp_syscall"

# At least 16 threads even on a small machine: the point is many threads
# that hardly ever leave the patched function's caller loop.
NTHREADS = min(max(os.cpu_count() or 1, 16), 128)


class TestSyscall(KlpSelftest):
    NAMES = dict(MOD_SYSCALL=MOD_SYSCALL)

    # - Start threads calling sys_getpid and load a livepatch to patch it.
    #   Check that all the threads transitioned to the livepatched state.
    def test_patch_getpid_syscall_while_being_heavily_hammered(self):
        pid_list = self.t.call(f"getpid_start {NTHREADS}")
        self.assertEqual(len(pid_list.split(",")), NTHREADS, pid_list)
        self.NAMES = dict(self.NAMES, pid_list=pid_list)

        self.load_lp(MOD_SYSCALL, f"klp_pids={pid_list}")

        # wait for all threads to run the livepatched sys_getpid
        npids = f"module/{MOD_SYSCALL}/parameters/npids"
        self.loop_until(lambda: self.sys_read(npids) == "0", "threads left unpatched")
        pending_pids = self.sys_read(npids)
        self.log(f"{MOD_SYSCALL}: Remaining not livepatched processes: {pending_pids}")

        calls = int(self.t.call("getpid_stop"))
        self.assertGreater(calls, 0)

        self.disable_lp(MOD_SYSCALL)
        self.unload_lp(MOD_SYSCALL)

        self.check_result("""\
% uklp load $MOD_SYSCALL.so klp_pids=$pid_list
livepatch: enabling patch '$MOD_SYSCALL'
livepatch: '$MOD_SYSCALL': initializing patching transition
livepatch: '$MOD_SYSCALL': starting patching transition
livepatch: '$MOD_SYSCALL': completing patching transition
livepatch: '$MOD_SYSCALL': patching complete
$MOD_SYSCALL: Remaining not livepatched processes: 0
% uklp disable $MOD_SYSCALL
livepatch: '$MOD_SYSCALL': initializing unpatching transition
livepatch: '$MOD_SYSCALL': starting unpatching transition
livepatch: '$MOD_SYSCALL': completing unpatching transition
livepatch: '$MOD_SYSCALL': unpatching complete
% uklp unload $MOD_SYSCALL""")


if __name__ == "__main__":
    main()
