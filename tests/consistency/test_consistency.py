"""test_consistency.py: the per-thread consistency model, end to end (issue 3).

Each test starts target.c under `uklp run`, drives it over stdin/stdout and
patches it only through the `uklp` CLI. A thread is made to sit inside a
function being changed (sleepy(), or contract_caller() between its two
calls of contract_callee()) to hold a transition open on purpose.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from uklp_e2e import Target, uklp  # noqa: E402

TARGET = os.environ["TARGET"]
PATCHES = os.environ["PATCHES"]


def patch(name):
    return os.path.join(PATCHES, f"livepatch-{name}.so")


class Consistency(unittest.TestCase):
    def setUp(self):
        self.t = Target(TARGET)

    def tearDown(self):
        self.t.stop()

    # ---- helpers ----
    def load(self, name, *flags, check=True):
        return uklp("load", *flags, self.t.pid, patch(name), check=check)

    def sys(self, path, *value, check=True):
        return uklp("sys", self.t.pid, path, *value, check=check)

    def attr(self, path):
        return self.sys(path).out.strip()

    def patch_state(self, tid):
        return int(self.attr(f"task/{tid}/patch_state"))

    def wait_transition_done(self, name, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            res = self.sys(f"livepatch/{name}/transition", check=False)
            if res.code != 0 or res.out.strip() == "0":
                return
            time.sleep(0.01)
        self.fail(f"transition of {name} still in progress after {timeout} s:\n"
                  + uklp("status", self.t.pid).out)

    def stuck_sleepy_transition(self):
        """The sleeper sits in the old sleepy(); livepatch_sleepy is loaded
        without waiting and cannot complete."""
        sleeper = self.t.int("enter_sleepy")
        self.load("sleepy", "--no-wait")
        self.assertEqual(self.attr("livepatch/livepatch_sleepy/transition"), "1")
        return sleeper

    # ---- a thread sleeping in a patched function ----
    def test_sleeping_thread_keeps_old_code_until_it_leaves(self):
        sleeper = self.stuck_sleepy_transition()
        main = self.t.int("tid")
        self.assertEqual(self.t.int("probe"), 2, "the main thread already runs the new code")
        self.assertEqual(self.patch_state(main), 1)
        self.assertEqual(self.patch_state(sleeper), 0)
        time.sleep(0.3)  # several attempts: still blocked
        self.assertEqual(self.attr("livepatch/livepatch_sleepy/transition"), "1")
        self.assertEqual(self.patch_state(sleeper), 0)
        status = uklp("status", self.t.pid, "--json", check=True).out
        self.assertIn(str(sleeper), status)
        self.assertIn("is sleeping on function sleepy", status)
        self.assertIn("sleepy+0x", status, "the blocking thread's stack is symbolized")
        self.assertEqual(self.t.int("release_sleepy"), 1, "the sleeper finished the old sleepy()")
        self.wait_transition_done("livepatch_sleepy")
        self.assertEqual(self.patch_state(sleeper), -1)
        self.t.int("enter_sleepy")
        self.assertEqual(self.t.int("release_sleepy"), 2, "its next call runs the new sleepy()")
        log = "\n".join(self.t.transcript())
        self.assertIn(f"klp_try_switch_task: consistency_tar:{sleeper} is sleeping on function sleepy", log)
        self.assertIn("'livepatch_sleepy': patching complete", log)
        uklp("disable", self.t.pid, "livepatch_sleepy", check=True)
        uklp("unload", self.t.pid, "livepatch_sleepy", check=True)
        self.assertEqual(self.t.int("probe"), 1)

    def test_atomic_replace_waits_for_a_thread_in_the_replaced_patch(self):
        self.load("sleepy")
        sleeper = self.t.int("enter_sleepy")  # asleep in livepatch-sleepy's sleepy()
        self.load("sweep", "--no-wait")       # replaces it: sleepy() goes back to the original
        self.assertEqual(self.t.int("probe"), 3)
        time.sleep(0.3)
        self.assertEqual(self.attr("livepatch/livepatch_sweep/transition"), "1")
        self.assertEqual(self.patch_state(sleeper), 0)
        self.assertIn("is sleeping on function sleepy", uklp("status", self.t.pid, check=True).out)
        self.assertEqual(self.t.int("release_sleepy"), 2, "the sleeper finished the replaced patch's sleepy()")
        self.wait_transition_done("livepatch_sweep")
        self.t.int("enter_sleepy")
        self.assertEqual(self.t.int("release_sleepy"), 1, "the nop sent sleepy() back to the original")
        self.assertEqual(self.t.int("probe"), 3)
        # The replaced patch is gone: its module unloads without a disable.
        self.assertNotEqual(self.sys("livepatch/livepatch_sleepy/enabled", check=False).code, 0)
        uklp("unload", self.t.pid, "livepatch_sleepy", check=True)
        log = self.t.transcript()
        self.assertIn("livepatch: 'livepatch_sweep': patching complete", log)
        self.assertNotIn("livepatch: 'livepatch_sleepy': initializing unpatching transition", log)

    def test_thread_created_during_a_transition_inherits_its_creator_state(self):
        self.stuck_sleepy_transition()
        self.assertEqual(self.t.int("probe"), 2)
        tid, version = map(int, self.t.call("spawn_probe").split())
        self.assertEqual(version, 2, "a thread created by a patched thread runs the new code")
        self.assertEqual(self.patch_state(tid), 1)
        self.t.int("release_sleepy")
        self.wait_transition_done("livepatch_sleepy")

    # ---- two functions that must change together ----
    def test_blocked_old_caller_keeps_calling_the_old_callee(self):
        blocker = self.t.int("contract_block")
        self.load("contract", "--no-wait")
        self.assertEqual(self.attr("livepatch/livepatch_contract/transition"), "1")
        self.assertEqual(self.patch_state(blocker), 0)
        self.assertEqual(self.t.int("contract_release"), 1)
        calls, mismatches = map(int, self.t.call("contract_stats").split())
        self.assertEqual(mismatches, 0)
        self.wait_transition_done("livepatch_contract")

    def test_contract_holds_under_hundreds_of_cycles(self):
        self.t.int("contract_start 4")
        cycles = int(os.environ.get("CONSISTENCY_CYCLES", "150"))
        for _ in range(cycles):
            self.load("contract", "--timeout", "60")
            uklp("disable", "--timeout", "60", self.t.pid, "livepatch_contract", check=True)
            uklp("unload", self.t.pid, "livepatch_contract", check=True)
        calls, mismatches = map(int, self.t.call("contract_stats").split())
        self.assertGreater(calls, 1000)
        self.assertEqual(mismatches, 0, f"{mismatches} calls mixed versions in {calls}")

    def test_thread_blocking_every_signal_survives_patching(self):
        # The int3 of a changing entry would kill it: it is held stopped.
        self.t.call("masked_start")
        for _ in range(20):
            self.load("sleepy", "--timeout", "30")
            uklp("disable", "--timeout", "30", self.t.pid, "livepatch_sleepy", check=True)
            uklp("unload", self.t.pid, "livepatch_sleepy", check=True)
        before = int(self.t.call("masked_stats").split()[0])
        self.load("sleepy", "--timeout", "30")
        deadline = time.monotonic() + 10
        while self.t.call("masked_stats").split()[1] != "2" and time.monotonic() < deadline:
            time.sleep(0.01)
        calls, last = map(int, self.t.call("masked_stats").split())
        self.assertGreater(calls, before, "the masked thread still runs")
        self.assertEqual(last, 2, "and now calls the new probe()")

    # ---- the administrator's controls ----
    def test_force_switches_the_blocked_thread_without_a_check(self):
        blocker = self.t.int("contract_block")
        self.load("contract", "--no-wait")
        self.sys("livepatch/livepatch_contract/force", "1")
        self.wait_transition_done("livepatch_contract")
        self.assertEqual(self.patch_state(blocker), -1)
        # Forced: the old caller now reaches the new callee, the very mix the
        # stack check prevents (and this test shows it can see).
        self.assertEqual(self.t.int("contract_release"), 1)
        calls, mismatches = map(int, self.t.call("contract_stats").split())
        self.assertEqual(mismatches, 1)
        self.assertIn("livepatch: forcing remaining tasks to the patched state", self.t.transcript())
        # A patching transition forced without replace can still be undone.
        uklp("disable", self.t.pid, "livepatch_contract", check=True)
        uklp("unload", self.t.pid, "livepatch_contract", check=True)

    def test_forced_unpatching_makes_the_module_permanent(self):
        self.load("contract")
        self.t.int("contract_block")  # sleeps in the new caller
        uklp("disable", "--no-wait", self.t.pid, "livepatch_contract", check=True)
        self.assertEqual(self.attr("livepatch/livepatch_contract/transition"), "1")
        self.sys("livepatch/livepatch_contract/force", "1")
        self.wait_transition_done("livepatch_contract")
        res = uklp("unload", self.t.pid, "livepatch_contract")
        self.assertNotEqual(res.code, 0)
        self.assertIn("forced", res.err)
        self.assertEqual(self.t.int("contract_release"), 2, "the new caller finished, in the kept module")

    def test_reversing_a_stuck_transition(self):
        sleeper = self.stuck_sleepy_transition()
        main = self.t.int("tid")
        self.assertEqual(self.patch_state(main), 1)
        uklp("disable", "--no-wait", self.t.pid, "livepatch_sleepy", check=True)  # reverses
        self.wait_transition_done("livepatch_sleepy")
        self.assertNotEqual(self.sys("livepatch/livepatch_sleepy/enabled", check=False).code, 0,
                            "the reversed patch is gone")
        self.assertEqual(self.patch_state(main), -1)
        self.assertEqual(self.patch_state(sleeper), -1)
        self.assertEqual(self.t.int("probe"), 1)
        self.assertEqual(self.t.int("release_sleepy"), 1)
        log = self.t.transcript()
        self.assertIn("livepatch: 'livepatch_sleepy': reversing transition from patching to unpatching", log)
        self.assertIn("livepatch: 'livepatch_sleepy': unpatching complete", log)
        self.assertNotIn("livepatch: 'livepatch_sleepy': patching complete", log)
        uklp("unload", self.t.pid, "livepatch_sleepy", check=True)

    def test_second_enable_or_disable_during_a_transition_is_busy(self):
        self.load("loop")  # no worker loop running: completes at once
        self.stuck_sleepy_transition()
        res = self.load("contract", check=False)
        self.assertNotEqual(res.code, 0)
        self.assertIn("Device or resource busy", res.err)
        res = uklp("disable", self.t.pid, "livepatch_loop")
        self.assertNotEqual(res.code, 0)
        self.assertIn("Device or resource busy", res.err)
        self.assertEqual(self.attr("livepatch/livepatch_loop/enabled"), "1")
        self.assertNotIn("livepatch_contract", uklp("list", self.t.pid, check=True).out)
        self.t.int("release_sleepy")
        self.wait_transition_done("livepatch_sleepy")

    # ---- a thread that never leaves a patched function ----
    def test_main_loop_switches_at_its_safe_point(self):
        loop = self.t.int("loop_start 1")
        self.load("loop", "--timeout", "30")
        self.assertEqual(self.patch_state(loop), -1)
        deadline = time.monotonic() + 10
        while self.t.int("loop_value") != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(self.t.int("loop_value"), 2)

    def test_main_loop_without_safe_point_blocks_the_transition(self):
        loop = self.t.int("loop_start 0")
        self.load("loop", "--no-wait")
        time.sleep(0.5)
        self.assertEqual(self.attr("livepatch/livepatch_loop/transition"), "1")
        self.assertEqual(self.patch_state(loop), 0)
        self.assertEqual(self.t.int("loop_value"), 1)
        self.assertIn("is sleeping on function worker_loop", uklp("status", self.t.pid).out)
        uklp("disable", "--no-wait", self.t.pid, "livepatch_loop", check=True)  # reverse
        self.wait_transition_done("livepatch_loop")


if __name__ == "__main__":
    unittest.main(verbosity=2)
