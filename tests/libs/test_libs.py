"""test_libs.py: patches for libraries that the program loads after the
patch and unloads while patched (the kernel's klp_module_coming and
klp_module_going, issue 4). The target dlopen()s and dlclose()s liblate.so
on command; liblate's constructor and destructor, and the patch's
callbacks, append to one file ($LATE_LOG), which shows the order of events
across the library and the patch."""
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from uklp_e2e import Target, uklp  # noqa: E402

DIR = os.environ["LIBS_DIR"]
TARGET = os.path.join(DIR, "libs_target")
LIB = os.path.join(DIR, "lib", "liblate.so")
OTHER_LIB = os.path.join(DIR, "other", "liblate.so")
DEP = os.path.join(DIR, "lib", "libdep.so")
PATCH = os.path.join(DIR, "patches", "livepatch-late.so")
ORIGINAL, PATCHED = 7, 1041
ATTR = "livepatch/livepatch_late/liblate.so/patched"


class Libs(unittest.TestCase):
    def setUp(self):
        fd, self.log_path = tempfile.mkstemp(prefix="uklp-late-")
        os.close(fd)
        self.t = Target(TARGET, env={"LATE_LOG": self.log_path})

    def tearDown(self):
        self.t.stop()
        os.unlink(self.log_path)

    def events(self):
        with open(self.log_path) as f:
            return [l.strip() for l in f if l.strip()]

    def clear_events(self):
        open(self.log_path, "w").close()

    def load(self, *params):
        uklp("load", self.t.pid, PATCH, *params, check=True)

    def patched_attr(self):
        return uklp("sys", self.t.pid, ATTR, check=True).out.strip()

    def mapped(self, path):
        real = os.path.realpath(path)
        with open(f"/proc/{self.t.pid}/maps") as f:
            return any(l.split()[-1] == real for l in f if len(l.split()) >= 6)

    def runtime_lines(self, word):
        return [l for l in self.t.transcript() if word in l]

    def test_loaded_after_the_patch_is_patched_before_its_constructor(self):
        self.load()
        self.assertEqual(self.patched_attr(), "0")  # not loaded yet
        self.assertEqual(self.events(), [])         # no callback for an object not loaded
        self.assertEqual(self.t.call("open " + LIB), "ok")
        self.assertEqual(self.t.int("call"), PATCHED)
        self.assertEqual(self.patched_attr(), "1")
        self.assertEqual(self.events(), [
            "pre_patch liblate.so (library mapped)",
            "post_patch liblate.so (library mapped)",
            f"constructor saw {PATCHED}",
        ])
        self.assertEqual(self.runtime_lines("liblate"), [
            "livepatch: applying patch 'livepatch_late' to loading module 'liblate.so'",
            "livepatch_late: pre_patch: liblate.so",
            "livepatch_late: post_patch: liblate.so",
        ])

    def test_unloaded_while_patched_reverts_after_its_destructors(self):
        self.load()
        self.assertEqual(self.t.call("open " + LIB), "ok")
        self.clear_events()
        self.assertEqual(self.t.int("close"), 0)
        self.assertFalse(self.mapped(LIB))
        self.assertEqual(self.events(), [
            f"destructor saw {PATCHED}",
            "pre_unpatch liblate.so (library mapped)",
            "post_unpatch liblate.so (library mapped)",
        ])
        self.assertEqual(self.runtime_lines("liblate")[-3:], [
            "livepatch_late: pre_unpatch: liblate.so",
            "livepatch: reverting patch 'livepatch_late' on unloading module 'liblate.so'",
            "livepatch_late: post_unpatch: liblate.so",
        ])
        self.assertEqual(self.patched_attr(), "0")
        # And again: every load of the library is patched.
        self.assertEqual(self.t.call("open " + LIB), "ok")
        self.assertEqual(self.t.int("call"), PATCHED)
        self.assertEqual(self.patched_attr(), "1")
        uklp("disable", self.t.pid, "livepatch_late", check=True)
        self.assertEqual(self.t.int("call"), ORIGINAL)
        uklp("unload", self.t.pid, "livepatch_late", check=True)
        self.assertEqual(self.t.int("call"), ORIGINAL)
        self.assertEqual(self.t.int("close"), 0)

    def test_loaded_before_the_patch_then_unloaded(self):
        self.assertEqual(self.t.call("open " + LIB), "ok")
        self.assertEqual(self.t.int("call"), ORIGINAL)
        self.load()
        self.assertEqual(self.t.int("call"), PATCHED)
        self.clear_events()
        self.assertEqual(self.t.int("close"), 0)
        self.assertEqual(self.events(), [
            f"destructor saw {PATCHED}",
            "pre_unpatch liblate.so (library mapped)",
            "post_unpatch liblate.so (library mapped)",
        ])
        self.assertEqual(self.patched_attr(), "0")

    def test_library_reloaded_while_no_patch_is_active(self):
        """A function patched once keeps its site record after the patch is
        gone; if its library is reloaded meanwhile, the new mapping has a
        pristine pad, and the next patch must write it again (it once only
        armed the entry: a call then looped forever in the pad)."""
        self.assertEqual(self.t.call("open " + LIB), "ok")
        for _ in range(2):
            self.load()
            self.assertEqual(self.t.int("call"), PATCHED)
            uklp("disable", self.t.pid, "livepatch_late", check=True)
            uklp("unload", self.t.pid, "livepatch_late", check=True)
            self.assertEqual(self.t.int("close"), 0)
            self.assertFalse(self.mapped(LIB))
            self.assertEqual(self.t.call("open " + LIB), "ok")
            self.assertEqual(self.t.int("call"), ORIGINAL)

    def test_failing_pre_patch_fails_the_dlopen_before_any_library_code(self):
        self.load("fail_pre_patch=1")
        res = self.t.call("open " + LIB)
        self.assertRegex(res, r"liblate\.so: uklp: livepatch 'livepatch_late' refused to load this library: "
                              r"pre-patch callback failed for object 'liblate.so': No such device")
        self.assertEqual(self.events(), ["pre_patch liblate.so (library mapped)"])  # no constructor ran
        self.assertFalse(self.mapped(LIB))
        self.assertEqual(self.patched_attr(), "0")
        self.assertIn("livepatch: patch 'livepatch_late' failed for module 'liblate.so', "
                      "refusing to load module 'liblate.so'", self.t.transcript())
        # The program goes on; once the callback stops failing, the library loads patched.
        uklp("sys", self.t.pid, "module/livepatch_late/parameters/fail_pre_patch", "0", check=True)
        self.assertEqual(self.t.call("open " + LIB), "ok")
        self.assertEqual(self.t.int("call"), PATCHED)

    def test_other_build_of_the_library_is_refused(self):
        self.load()
        res = self.t.call("open " + OTHER_LIB)
        self.assertRegex(res, r"built for liblate\.so with build-id [0-9a-f]+, but the process runs build-id")
        self.assertFalse(self.mapped(OTHER_LIB))
        self.assertEqual(self.events(), [])  # refused before pre_patch and before its constructor

    def test_dependency_of_a_dlopened_library(self):
        self.load()
        self.assertEqual(self.t.call("open " + DEP), "ok")
        self.assertEqual(self.t.int("call"), PATCHED)  # dlsym in libdep's scope finds liblate's
        self.assertEqual(self.patched_attr(), "1")
        self.assertEqual(self.t.int("close"), 0)
        self.assertFalse(self.mapped(LIB))
        self.assertEqual(self.patched_attr(), "0")

    def test_dlopen_keeps_its_semantics(self):
        self.load()
        # By name, through the program's own DT_RUNPATH.
        self.assertEqual(self.t.call("open liblate.so lazy"), "ok")
        self.assertEqual(self.t.call("default"), "none")  # RTLD_LOCAL by default
        self.assertEqual(self.t.int("call"), PATCHED)
        # By relative path, and RTLD_GLOBAL.
        self.assertEqual(self.t.int("chdir " + os.path.dirname(LIB)), 0)
        self.assertEqual(self.t.call("open ./liblate.so now global"), "ok")
        self.assertEqual(self.t.int("default"), PATCHED)
        self.assertEqual(self.t.int("close"), 0)
        self.assertEqual(self.t.int("close"), 0)
        # glibc keeps it: the program's dlsym(RTLD_DEFAULT) made the main
        # program depend on it. Not unloaded, so not reverted either.
        self.assertTrue(self.mapped(LIB))
        self.assertEqual(self.t.int("default"), PATCHED)
        self.assertEqual(self.patched_attr(), "1")
        self.assertNotIn("reverting", " ".join(self.t.transcript()))

    def test_relative_and_origin_paths_loaded_before_and_after_the_patch(self):
        """A relative dlopen() name, $ORIGIN in a dlopen() name (expanded to
        the program's directory) and in a library's run path (libdep.so
        finds liblate.so through its own $ORIGIN): the library is patched
        when it was loaded before the patch, and when it loads after it."""
        self.assertEqual(self.t.int("chdir " + os.path.dirname(LIB)), 0)
        self.assertEqual(self.t.call("open ./liblate.so"), "ok")
        self.assertEqual(self.t.int("call"), ORIGINAL)
        self.load()
        self.assertEqual(self.t.int("call"), PATCHED)
        self.assertEqual(self.t.int("close"), 0)
        uklp("disable", self.t.pid, "livepatch_late", check=True)
        uklp("unload", self.t.pid, "livepatch_late", check=True)
        by_origin = "$ORIGIN/" + os.path.relpath(LIB, os.path.dirname(TARGET))
        self.assertEqual(self.t.call("open " + by_origin), "ok")
        self.assertEqual(self.t.int("call"), ORIGINAL)
        self.load()
        self.assertEqual(self.t.int("call"), PATCHED)
        self.assertEqual(self.t.int("close"), 0)
        self.assertFalse(self.mapped(LIB))
        self.assertEqual(self.t.call("open " + by_origin), "ok")
        self.assertEqual(self.t.int("call"), PATCHED)
        self.assertEqual(self.t.int("close"), 0)
        uklp("disable", self.t.pid, "livepatch_late", check=True)
        uklp("unload", self.t.pid, "livepatch_late", check=True)
        # liblate.so as libdep.so's dependency, found through $ORIGIN.
        self.assertEqual(self.t.call("open " + DEP), "ok")
        self.assertEqual(self.t.int("call"), ORIGINAL)
        self.load()
        self.assertEqual(self.t.int("call"), PATCHED)
        self.assertEqual(self.patched_attr(), "1")
        self.assertEqual(self.t.int("close"), 0)
        self.assertFalse(self.mapped(LIB))

    def test_patch_cycles_while_threads_load_and_unload_the_library(self):
        """The loader's lock and the klp mutex taken in opposite orders by
        the control thread and the loading threads would deadlock; a patch
        applied or reverted half-way would show as a bad value or a crash."""
        self.assertEqual(self.t.int("churn 3 " + LIB), 3)
        cycles = int(os.environ.get("LIBS_CYCLES", "30"))
        for _ in range(cycles):
            self.load()
            uklp("disable", self.t.pid, "livepatch_late", check=True)
            uklp("unload", self.t.pid, "livepatch_late", check=True)
        calls, bad = map(int, self.t.call("check").split())
        self.assertGreater(calls, cycles)
        self.assertEqual(bad, 0)
        log = self.t.transcript()
        self.assertGreater(sum("applying patch 'livepatch_late' to loading module" in l for l in log), 0)
        self.assertEqual(sum("livepatch_late: pre_patch" in l for l in log),
                         sum("livepatch_late: post_unpatch" in l for l in log), "callbacks in pairs")


if __name__ == "__main__":
    unittest.main(verbosity=2)
