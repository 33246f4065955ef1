"""klp_functions.py: the kernel livepatch selftests' functions.sh, for uklp.

Each test case starts its own target process (target/selftest_target.c)
under `uklp run`: a fresh process has an empty runtime log, as the kernel
scripts start from `dmesg -C`. Every operation goes through the uklp CLI
or the target's own commands, and logs a marker line first, as the kernel
scripts log `% insmod ...` to /dev/kmsg. check_result() then compares the
markers interleaved with the runtime log (`uklp dmesg PID`) against the
expected transcript, kept in the test files in the kernel's form.

The kernel's commands and their translations in the markers:

  % insmod test_modules/M.ko P=V             % uklp load M.so P=V
  % echo 0 > /sys/kernel/livepatch/M/enabled % uklp disable M
  % rmmod M (a livepatch module)             % uklp unload M
  % echo V > /sys/module/M/parameters/P      % uklp sys module/M/parameters/P V
  % insmod test_modules/T.ko (target module) % dlopen T.so   (the target loads it)
  % rmmod T (target module)                  % dlclose T.so

and the log's object names: vmlinux is main, a target module T is the
library T.so. A failed load logs the tool's error line, as the kernel
scripts log insmod's.

Waits (the kernel's loop_until: 600 tries 0.1 s apart) are hang guards
only: a test never asserts on how long something took.
"""
import difflib
import json
import os
import re
import string
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from uklp_e2e import Target, uklp  # noqa: E402

TARGET = os.environ["SELFTEST_TARGET"]
MODULES = os.environ["SELFTEST_MODULES"]

MAX_RETRIES = 600
RETRY_INTERVAL = 0.1  # seconds

# check_result keeps the lines the kernel's grep keeps...
KEEP = re.compile(r"livepatch:|test_klp")
# ...less the per-thread debug lines, which the kernel scripts mute with
# dynamic debug (`func klp_try_switch_task -p`).
MUTED = re.compile(r"^livepatch: klp_try_switch_task: ")


class KlpSelftest(unittest.TestCase):
    """One kernel selftest script; each test_* method is one of its cases."""

    # Names substituted into the expected transcripts ($MOD_LIVEPATCH, ...).
    NAMES = {}

    def setUp(self):
        self.t = Target(TARGET)
        self.result = []
        self.seen = 0

    def tearDown(self):
        self.t.stop()

    # ---- the log ----
    def sync(self):
        """Appends the runtime log lines that are new since the last call."""
        lines = self.t.transcript()
        for line in lines[self.seen:]:
            if KEEP.search(line) and not MUTED.search(line):
                self.result.append(line)
        self.seen = len(lines)

    def log(self, msg):
        """The kernel's log(): a line of the test's own into the transcript."""
        self.sync()
        self.result.append(msg)

    def check_result(self, expect):
        self.sync()
        expect = string.Template(expect).substitute(self.NAMES)
        result = "\n".join(self.result)
        if expect != result:
            diff = difflib.unified_diff(expect.splitlines(), self.result, "expected", "result", lineterm="")
            self.fail("the runtime log differs from the kernel's transcript:\n" + "\n".join(diff))

    # ---- helpers ----
    def loop_until(self, cond, what):
        for _ in range(MAX_RETRIES + 1):
            if cond():
                return
            time.sleep(RETRY_INTERVAL)
        self.fail(f"{what} (after {MAX_RETRIES} tries)\n" + uklp("status", self.t.pid).out)

    def cli(self, *args, check=True):
        """Runs `uklp CMD PID ARGS...`; logs the marker `% uklp CMD ARGS...`."""
        cmd, rest = args[0], args[1:]
        shown = [os.path.basename(a) if str(a).startswith(MODULES) else a for a in rest]
        self.log(" ".join(["% uklp", cmd, *map(str, shown)]))
        return uklp(cmd, self.t.pid, *rest, check=check, timeout=MAX_RETRIES * RETRY_INTERVAL + 60)

    def sys_read(self, path):
        res = uklp("sys", self.t.pid, path)
        return res.out.strip() if res.code == 0 else None

    def patch_exists(self, mod):
        return self.sys_read(f"livepatch/{mod}/enabled") is not None

    def sysfs_patches(self):
        """The names of the patches in the tree: `ls /sys/kernel/livepatch`."""
        patches = json.loads(uklp("list", self.t.pid, "--json", check=True).out)["patches"]
        return [p["patch"] for p in patches]

    def module_file(self, mod):
        return os.path.join(MODULES, f"{mod}.so")

    # ---- the kernel's functions.sh ----
    def load_mod(self, mod, *params):
        """A target module: the target dlopen()s the library mod.so."""
        self.log(" ".join(["% dlopen", f"{mod}.so", *params]))
        answer = self.t.call(" ".join(["dlopen", f"{mod}.so", *params]))
        self.assertEqual(answer, "ok", f"the target could not load {mod}.so")

    def load_failing_mod(self, mod, *params):
        self.log(" ".join(["% dlopen", f"{mod}.so", *params]))
        answer = self.t.call(" ".join(["dlopen", f"{mod}.so", *params]))
        self.assertNotEqual(answer, "ok", f"{mod}.so unexpectedly loaded")
        self.log(f"dlopen: ERROR: could not load {mod}.so")

    def unload_mod(self, mod):
        self.log(f"% dlclose {mod}.so")
        self.assertEqual(self.t.call(f"dlclose {mod}.so"), "ok", f"the target could not unload {mod}.so")

    def load_lp_nowait(self, mod, *params):
        self.cli("load", "--no-wait", self.module_file(mod), *params)
        self.loop_until(lambda: self.patch_exists(mod), f"failed to load module {mod} (sysfs)")

    def load_lp(self, mod, *params):
        # `uklp load` waits for the transition itself; the loop is the
        # kernel script's own wait, kept as a check.
        self.cli("load", self.module_file(mod), *params)
        self.loop_until(lambda: self.sys_read(f"livepatch/{mod}/transition") == "0",
                        "failed to complete transition")

    def load_failing_lp(self, mod, *params):
        """The kernel's load_failing_mod for a livepatch: logs the tool's error."""
        res = self.cli("load", self.module_file(mod), *params, check=False)
        self.assertNotEqual(res.code, 0, f"{mod} unexpectedly loaded")
        self.log(res.err.strip())

    def unload_lp(self, mod):
        self.cli("unload", mod)

    def disable_lp(self, mod):
        self.cli("disable", mod)
        # the patch leaves the tree once its unpatching transition is over
        self.loop_until(lambda: not self.patch_exists(mod), f"failed to disable livepatch {mod}")

    def set_pre_patch_ret(self, mod, ret):
        path = f"module/{mod}/parameters/pre_patch_ret"
        self.cli("sys", path, "--", ret)
        self.loop_until(lambda: self.sys_read(path) == str(ret),
                        f"failed to set pre_patch_ret parameter for {mod} module")

    def check_sysfs_value(self, mod, rel_path, expected_value):
        value = self.sys_read(f"livepatch/{mod}/{rel_path}")
        self.assertEqual(value, expected_value, f"unexpected value in livepatch/{mod}/{rel_path}")

    def check_sysfs_rights(self, mod, rel_path, expected_rights):
        """The kernel's `stat --format %A`: what `uklp sys` lets one do.

        The owner's r bit: a read succeeds, or fails with EACCES. The w bit:
        a write fails with EACCES, or does not (the value written, 0 or 1,
        is the current one for enabled, and a no-op for force, so that the
        check changes nothing; the runtime answers EINVAL to both, as the
        kernel does)."""
        if rel_path == "":
            self.assertEqual(expected_rights[0], "d")
            self.assertIn(mod, self.sysfs_patches(), f"no directory livepatch/{mod}")
            return
        path = f"livepatch/{mod}/{rel_path}"
        read = uklp("sys", self.t.pid, path)
        if expected_rights[1] == "r":
            self.assertEqual(read.code, 0, f"{path} is not readable: {read}")
        else:
            self.assertIn("(Permission denied)", read.err, f"{path} is readable: {read}")
        value = read.out.strip() if read.code == 0 else "1"
        write = uklp("sys", self.t.pid, path, value)
        denied = write.code != 0 and "(Permission denied)" in write.err
        self.assertEqual(not denied, expected_rights[2] == "w", f"{path}: write {value}: {write}")

    # ---- the target ----
    def cat(self, name):
        """`cat /proc/NAME` of the target."""
        return self.t.call(f"cat {name}")

    def grep_live_patched(self, name):
        """`grep 'live patched' /proc/NAME > /dev/kmsg`."""
        out = self.cat(name)
        if "live patched" in out:
            self.log(out)


def main():
    """`test_X.py [CASE...]`: runs the named cases (test_* methods), or all."""
    module = sys.modules["__main__"]
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, KlpSelftest) and c is not KlpSelftest]
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for cls in classes:
        names = sys.argv[1:] or loader.getTestCaseNames(cls)
        for name in names:
            if not hasattr(cls, name):
                sys.exit(f"{module.__file__}: no test case {name}")
            suite.addTest(cls(name))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
