"""test_e2e.py: end-to-end tests of issue 2, run against a GCC-built and a
clang-built target (E2E_FLAVOR=gcc|clang). Each test builds nothing: CMake
built the targets and the patch modules; each test starts a target and
drives it only through the `uklp` CLI."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from uklp_e2e import Target, uklp  # noqa: E402

FLAVOR = os.environ.get("E2E_FLAVOR", "gcc")
TARGET = os.environ["E2E_TARGET"]
PATCHES = os.environ["E2E_PATCHES"]
LIBRARY = os.path.join(os.path.dirname(TARGET), "libe2e.so")


def patch(name):
    return os.path.join(PATCHES, f"livepatch-{name}.so")


class E2E(unittest.TestCase):
    def setUp(self):
        self.t = Target(TARGET)

    def tearDown(self):
        self.t.stop()

    def load(self, name, *params):
        return uklp("load", self.t.pid, patch(name), *params, check=True)

    def assert_refused(self, res, pattern):
        self.assertNotEqual(res.code, 0, res)
        lines = res.err.strip().splitlines()
        self.assertEqual(len(lines), 1, res)
        self.assertTrue(lines[0].startswith("uklp: error: "), res)
        self.assertRegex(lines[0], pattern)

    def assert_untouched(self, entry_before):
        self.assertEqual(self.t.int("answer"), 41)
        self.assertEqual(self.t.int("compute 1"), 101)
        self.assertEqual(uklp("sys", self.t.pid, "livepatch/livepatch_sample/enabled").code != 0, True)
        listing = uklp("list", self.t.pid, "--json", check=True).out
        self.assertNotIn("livepatch_", listing)
        self.assertEqual(self.entry_bytes(), entry_before)

    def text_mappings(self):
        real = os.path.realpath(TARGET)
        with open(f"/proc/{self.t.pid}/maps") as f:
            return [l.split()[:2] for l in f if l.rstrip().endswith(real)]

    def entry_bytes(self):
        addr = self.t.symbol_address(TARGET, "answer")
        return self.t.read_memory(addr - 14, 20)

    # ---- the kernel's sample, end to end ----
    def test_sample_patch_of_main_program(self):
        self.assertEqual(self.t.int("answer"), 41)
        self.load("sample")
        self.assertEqual(self.t.int("answer"), 42)
        self.assertEqual(uklp("sys", self.t.pid, "livepatch/livepatch_sample/enabled", check=True).out.strip(), "1")
        self.assertEqual(uklp("sys", self.t.pid, "livepatch/livepatch_sample/main/patched", check=True).out.strip(), "1")
        self.assertEqual(uklp("sys", self.t.pid, "livepatch/livepatch_sample/transition", check=True).out.strip(), "0")
        uklp("disable", self.t.pid, "livepatch_sample", check=True)
        self.assertEqual(self.t.int("answer"), 41)
        uklp("unload", self.t.pid, "livepatch_sample", check=True)
        log = self.t.transcript()
        expected = [
            "livepatch_sample: loading",
            "livepatch: enabling patch 'livepatch_sample'",
            "livepatch: 'livepatch_sample': initializing patching transition",
            "livepatch: 'livepatch_sample': starting patching transition",
            "livepatch: 'livepatch_sample': completing patching transition",
            "livepatch: 'livepatch_sample': patching complete",
            "livepatch: 'livepatch_sample': initializing unpatching transition",
            "livepatch: 'livepatch_sample': starting unpatching transition",
            "livepatch: 'livepatch_sample': completing unpatching transition",
            "livepatch: 'livepatch_sample': unpatching complete",
            "livepatch_sample: unloading",
        ]
        self.assertEqual([l for l in log if "livepatch" in l], expected)
        # The entry is back to the compiler's NOPs.
        addr = self.t.symbol_address(TARGET, "answer") + (4 if FLAVOR == "gcc_cet" else 0)
        self.assertIn(self.t.read_memory(addr, 2), (b"\x90\x90", b"\x66\x90"))

    def test_unload_requires_disable(self):
        self.load("sample")
        res = uklp("unload", self.t.pid, "livepatch_sample")
        self.assert_refused(res, r"disable it first.*Device or resource busy")
        self.assertEqual(self.t.int("answer"), 42)

    def test_library_function(self):
        self.assertEqual(self.t.int("lib_answer"), 100)
        self.load("lib")
        self.assertEqual(self.t.int("lib_answer"), 1041)
        uklp("disable", self.t.pid, "livepatch_lib", check=True)
        self.assertEqual(self.t.int("lib_answer"), 100)

    def test_static_functions_by_sympos_and_static_variable(self):
        self.assertEqual(self.t.int("compute 1"), 101)
        self.load("statics")
        self.assertEqual(self.t.int("compute 1"), 101 + 1000 + 5)
        uklp("disable", self.t.pid, "livepatch_statics", check=True)
        self.assertEqual(self.t.int("compute 1"), 101)

    def test_stacked_patches_disabled_out_of_order(self):
        self.load("sample")
        self.load("stack1")
        self.load("stack2")
        self.assertEqual(self.t.int("answer"), 44)
        self.assertEqual(uklp("sys", self.t.pid, "livepatch/livepatch_stack2/stack_order", check=True).out.strip(), "3")
        uklp("disable", self.t.pid, "livepatch_stack1", check=True)  # the middle one
        self.assertEqual(self.t.int("answer"), 44)
        uklp("disable", self.t.pid, "livepatch_stack2", check=True)
        self.assertEqual(self.t.int("answer"), 42)
        uklp("disable", self.t.pid, "livepatch_sample", check=True)
        self.assertEqual(self.t.int("answer"), 41)
        for name in ("livepatch_stack2", "livepatch_sample", "livepatch_stack1"):
            uklp("unload", self.t.pid, name, check=True)
        self.load("stack2")
        self.assertEqual(self.t.int("answer"), 44)

    def test_atomic_replace(self):
        self.load("sample")
        self.load("lib")
        self.assertEqual((self.t.int("answer"), self.t.int("lib_answer")), (42, 1041))
        self.load("replace")
        # answer() from the new patch; lib_answer() back to the original (a nop).
        self.assertEqual((self.t.int("answer"), self.t.int("lib_answer")), (45, 100))
        listing = json.loads(uklp("--json", "list", self.t.pid, check=True).out)
        self.assertEqual([p["patch"] for p in listing["patches"]], ["livepatch_replace"])
        # The nops are gone with the transition: only the patch's own func is left.
        self.assertEqual([(o["object"], [f["func"] for f in o["funcs"]]) for o in listing["patches"][0]["objects"]],
                         [("main", ["answer,1"])])
        self.assertEqual(uklp("sys", self.t.pid, "livepatch/livepatch_replace/replace", check=True).out.strip(), "1")
        self.assertEqual(uklp("sys", self.t.pid, "livepatch/livepatch_replace/stack_order", check=True).out.strip(), "1")
        # The replaced patches are disabled: their modules unload without a disable.
        uklp("unload", self.t.pid, "livepatch_sample", check=True)
        uklp("unload", self.t.pid, "livepatch_lib", check=True)
        self.assertEqual((self.t.int("answer"), self.t.int("lib_answer")), (45, 100))
        uklp("disable", self.t.pid, "livepatch_replace", check=True)
        self.assertEqual((self.t.int("answer"), self.t.int("lib_answer")), (41, 100))
        uklp("unload", self.t.pid, "livepatch_replace", check=True)
        log = [l for l in self.t.transcript() if "livepatch_replace" in l]
        self.assertEqual(log[:6], [
            "livepatch_replace: loading",
            "livepatch: enabling patch 'livepatch_replace'",
            "livepatch: 'livepatch_replace': initializing patching transition",
            "livepatch: 'livepatch_replace': starting patching transition",
            "livepatch: 'livepatch_replace': completing patching transition",
            "livepatch: 'livepatch_replace': patching complete",
        ])
        # Every entry is back to the compiler's NOPs.
        for sym, binary in (("answer", TARGET), ("lib_answer", LIBRARY)):
            addr = self.t.symbol_address(binary, sym) + (4 if FLAVOR == "gcc_cet" else 0)
            self.assertIn(self.t.read_memory(addr, 2), (b"\x90\x90", b"\x66\x90"), sym)

    def test_parameters(self):
        self.load("param", "value=7")
        self.assertEqual(self.t.int("answer"), 7)
        path = "module/livepatch_param/parameters/value"
        self.assertEqual(uklp("sys", self.t.pid, path, check=True).out.strip(), "7")
        uklp("sys", self.t.pid, path, "9", check=True)
        self.assertEqual(self.t.int("answer"), 9)
        self.assert_refused(uklp("sys", self.t.pid, path, "nine"), r"Invalid argument")

    # ---- refusals that change nothing ----
    def refusal(self, name, pattern):
        before = self.entry_bytes()
        res = uklp("load", self.t.pid, patch(name))
        self.assert_refused(res, pattern)
        self.assert_untouched(before)

    def test_refuses_missing_symbol(self):
        self.refusal("missing", r"no_such_function.*not found.*Invalid argument")

    def test_refuses_ambiguous_symbol(self):
        self.refusal("ambiguous", r"ambiguity for symbol 'helper' in object 'main'.*Invalid argument")

    def test_refuses_missing_sympos(self):
        self.refusal("badpos", r"position 3 for symbol 'helper'.*Invalid argument")

    def test_refuses_function_without_pad(self):
        self.refusal("nopad", r"'nopad'.*no patchable entry")

    def test_refuses_module_not_marked_livepatch(self):
        self.refusal("nomark", r"not marked as a livepatch module")
        self.assertIn("livepatch: module livepatch_nomark is not marked as a livepatch module", self.t.transcript())

    def test_refuses_other_build_of_target(self):
        self.refusal("wrongbuild", r"built for main with build-id .*Exec format error")


    def test_refuses_malformed_files(self):
        before = self.entry_bytes()
        with tempfile.TemporaryDirectory() as d:
            junk = os.path.join(d, "livepatch-junk.so")
            with open(junk, "wb") as f:
                f.write(os.urandom(4096))
            self.assert_refused(uklp("load", self.t.pid, junk), r"ELF")
            truncated = os.path.join(d, "livepatch-cut.so")
            with open(patch("sample"), "rb") as f:
                data = f.read()
            with open(truncated, "wb") as f:
                f.write(data[: len(data) // 3])
            self.assert_refused(uklp("load", self.t.pid, truncated), r".")
        self.assert_untouched(before)

    def test_pad_straddling_a_page_boundary(self):
        addr = self.t.symbol_address(TARGET, "straddle")
        self.assertNotEqual((addr - 14) // 4096, (addr - 1) // 4096, "the test target's pad does not straddle")
        self.assertEqual(self.t.int("straddle"), 3)
        self.load("straddle")
        self.assertEqual(self.t.int("straddle"), 4)
        uklp("disable", self.t.pid, "livepatch_straddle", check=True)
        self.assertEqual(self.t.int("straddle"), 3)

    def test_entry_bytes_match_the_compiler(self):
        addr = self.t.symbol_address(TARGET, "answer")
        entry = self.t.read_memory(addr, 6)
        expected = {"gcc": b"\x90\x90", "gcc_cet": b"\xf3\x0f\x1e\xfa\x90\x90", "clang": b"\x66\x90"}[FLAVOR]
        self.assertEqual(entry[: len(expected)], expected)
        maps_before = self.text_mappings()
        self.load("sample")
        self.assertEqual(self.t.int("answer"), 42)
        # The image's pages keep their protections (the runtime may add a
        # read-only mapping of the file to read its symbols).
        after = self.text_mappings()
        self.assertTrue(all(m in after for m in maps_before), (maps_before, after))
        patched = self.t.read_memory(addr, 6)
        self.assertEqual(patched[len(expected) - 2], 0xEB)  # jmp rel8 back to the pad
        uklp("disable", self.t.pid, "livepatch_sample", check=True)
        self.assertEqual(self.t.read_memory(addr, 6), entry)

    def test_refuses_an_entry_changed_by_something_else(self):
        addr = self.t.symbol_address(TARGET, "answer")
        original = self.t.read_memory(addr - 14, 20)
        nops = addr + (4 if FLAVOR == "gcc_cet" else 0)
        with open(f"/proc/{self.t.pid}/mem", "r+b") as f:  # a debugger's breakpoint
            f.seek(nops)
            f.write(b"\xcc")
        changed = self.t.read_memory(addr - 14, 20)
        res = uklp("load", self.t.pid, patch("sample"))
        self.assert_refused(res, r"'answer'.*changed by something else.*Device or resource busy")
        self.assertEqual(self.t.read_memory(addr - 14, 20), changed)  # not overwritten
        with open(f"/proc/{self.t.pid}/mem", "r+b") as f:
            f.seek(addr - 14)
            f.write(original)
        self.assertEqual(self.t.int("answer"), 41)

    def spinner_tid(self):
        # The control thread names itself when it first runs, which on a
        # loaded machine may be after the target answered: wait for it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            threads = {}
            for tid in os.listdir(f"/proc/{self.t.pid}/task"):
                with open(f"/proc/{self.t.pid}/task/{tid}/comm") as f:
                    threads[int(tid)] = f.read().strip()
            if "uklp-control" in threads.values():
                others = [t for t, comm in threads.items() if t != self.t.pid and comm != "uklp-control"]
                if len(others) == 1:
                    return others[0]
            time.sleep(0.01)
        raise AssertionError(f"no single spinner thread: {threads}")

    @unittest.skipUnless(FLAVOR.startswith("gcc"), "only GCC's entry is two instructions")
    def test_thread_stopped_between_the_two_nops(self):
        self.assertEqual(self.t.int("spin 1"), 1)
        tid = self.spinner_tid()
        addr = self.t.symbol_address(TARGET, "answer") + (4 if FLAVOR == "gcc_cet" else 0)
        park = subprocess.Popen([os.environ["E2E_PARK"], str(tid), hex(addr + 1), "300"],
                                stdout=subprocess.PIPE, text=True)
        self.assertEqual(park.stdout.readline().strip(), "parked")
        with open(f"/proc/{self.t.pid}/task/{tid}/syscall") as f:
            self.assertEqual(int(f.read().split()[2], 16), addr + 1)  # between the NOPs
        # The parked thread is let go 300 ms later, while uklp waits for it;
        # it must step over the second NOP, never into a half-written jump.
        self.load("sample")
        self.assertEqual(park.wait(timeout=30), 0)
        park.stdout.close()
        self.assertEqual(self.t.int("answer"), 42)
        calls, bad = map(int, self.t.call("check").split(","))
        self.assertEqual(bad, 0)
        time.sleep(0.2)
        calls_after = int(self.t.call("check").split(",")[0])
        self.assertGreater(calls_after, calls)  # the spinner still runs
        uklp("disable", self.t.pid, "livepatch_sample", check=True)
        self.assertEqual(self.t.int("answer"), 41)

    def test_refuses_a_second_load_of_the_same_module(self):
        self.load("sample")
        self.assert_refused(uklp("load", self.t.pid, patch("sample")), r"already loaded.*File exists")


class Preparation(unittest.TestCase):
    """The three documented ways to run a target with the runtime."""

    def patch_and_check(self, t, module=None):
        try:
            self.assertEqual(t.int("answer"), 41)
            uklp("load", t.pid, module or patch("sample"), check=True)
            self.assertEqual(t.int("answer"), 42)
        finally:
            t.stop()

    def test_ld_preload(self):
        self.patch_and_check(Target(TARGET, env={"LD_PRELOAD": os.environ["UKLP_RUNTIME_LIB"]}, via_cli=False))

    def test_linked_runtime(self):
        d = os.path.dirname(TARGET)
        linked = Target(os.path.join(d, "e2e_target_linked"), via_cli=False)
        # Another build of the program: the patch built for e2e_target is refused.
        res = uklp("load", linked.pid, patch("sample"))
        self.assertIn("Exec format error", res.err)
        self.patch_and_check(linked, os.path.join(d, "patches-linked", "livepatch-sample.so"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
