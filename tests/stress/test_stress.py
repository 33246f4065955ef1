"""test_stress.py: threads call a patched function in tight loops while a
patch is loaded, disabled and unloaded hundreds of times through the CLI.
Every call must return the original or the patched value (the target
counts any other value as bad) and the target must never crash."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from uklp_e2e import Target, uklp  # noqa: E402

TARGET = os.environ["E2E_TARGET"]
PATCHES = os.environ["E2E_PATCHES"]
CYCLES = int(os.environ.get("STRESS_CYCLES", "200"))


class Stress(unittest.TestCase):
    def test_load_disable_unload_cycles_under_tight_loops(self):
        t = Target(TARGET)
        try:
            self.assertEqual(t.int("spin 4"), 4)
            sample = os.path.join(PATCHES, "livepatch-sample.so")
            stack1 = os.path.join(PATCHES, "livepatch-stack1.so")
            for i in range(CYCLES):
                uklp("load", t.pid, sample, check=True)
                if i % 2:
                    uklp("load", t.pid, stack1, check=True)
                    uklp("disable", t.pid, "livepatch_sample", check=True)  # below the top
                    uklp("disable", t.pid, "livepatch_stack1", check=True)
                    uklp("unload", t.pid, "livepatch_stack1", check=True)
                else:
                    uklp("disable", t.pid, "livepatch_sample", check=True)
                uklp("unload", t.pid, "livepatch_sample", check=True)
            calls, bad = map(int, t.call("check").split(","))
            self.assertGreater(calls, 0)
            self.assertEqual(bad, 0, f"{bad} of {calls} calls returned a value of no patch")
            self.assertEqual(t.int("answer"), 41)
            self.assertIsNone(t.proc.poll())
        finally:
            t.stop()
        self.assertEqual(t.proc.returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
