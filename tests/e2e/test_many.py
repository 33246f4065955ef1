"""test_many.py: `uklp load|disable|unload` on many processes at once
(--all-of PROGRAM or library, --pid LIST; docs/cli.md, "Many processes at
once"), end to end: 20 real targets under `uklp run` and one without the
runtime, each patched, disabled and unloaded by one command, with the
per-process summary, the JSON document and the exit codes checked."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from uklp_e2e import Target, uklp  # noqa: E402

TARGET = os.environ["E2E_TARGET"]
PATCHES = os.environ["E2E_PATCHES"]
LIBRARY = os.path.join(os.path.dirname(TARGET), "libe2e.so")
COUNT = 20


def patch(name):
    return os.path.join(PATCHES, f"livepatch-{name}.so")


def table(res):
    """{pid: RESULT} from the summary table, and the totals line."""
    lines = res.out.splitlines()
    assert lines[0].split() == ["PID", "COMM", "RESULT"], res
    rows = {}
    for line in lines[1:-1]:
        pid = int(line.split()[0])
        rows[pid] = line[26:] if len(str(pid)) <= 8 else line.split(None, 2)[2]
    return rows, lines[-1]


class Many(unittest.TestCase):
    def setUp(self):
        self.targets = []
        self.addCleanup(self.stop_all)
        for _ in range(COUNT):
            self.targets.append(Target(TARGET))
        self.plain = Target(TARGET, via_cli=False, runtime=False)  # no runtime: not patchable

    def stop_all(self):
        for t in self.targets + [self.plain]:
            t.stop()

    def pids(self):
        return ",".join(str(t.pid) for t in self.targets)

    def answers(self, command="answer"):
        return [t.int(command) for t in self.targets]

    def assert_one_error_line(self, res, start):
        self.assertEqual(len(res.err.splitlines()), 1, res)
        self.assertTrue(res.err.startswith("uklp: error: " + start), res)

    def test_load_disable_unload_every_process_of_the_program(self):
        res = uklp("load", "--all-of", TARGET, patch("sample"))
        self.assertEqual(res.code, 1, res)  # one process is not patchable
        rows, totals = table(res)
        self.assertEqual(set(rows), {t.pid for t in self.targets} | {self.plain.pid})
        for t in self.targets:
            self.assertEqual(rows[t.pid], "patched")
        self.assertEqual(rows[self.plain.pid], f"not patchable: no uklp runtime (no control socket @uklp/"
                                               f"{self.plain.pid}) (Connection refused)")
        self.assertRegex(totals, rf"^patch 'livepatch_sample': {COUNT} of {COUNT + 1} processes patched, "
                                 r"1 not patchable \(\d+ ms\)$")
        self.assert_one_error_line(res, f"patch 'livepatch_sample': 1 of {COUNT + 1} processes not patched; the "
                                        f"first: process {self.plain.pid} (e2e_target): no uklp runtime")
        self.assertEqual(self.answers(), [42] * COUNT)
        self.assertEqual(self.plain.int("answer"), 41)

        # Again: every runtime refuses, and says why.
        res = uklp("--json", "load", "--pid", self.pids(), patch("sample"))
        self.assertEqual(res.code, 1, res)
        doc = json.loads(res.out)
        self.assertEqual(doc["summary"]["refused"], COUNT)
        self.assertEqual({p["errno"] for p in doc["processes"]}, {17})  # EEXIST: already loaded

        res = uklp("--json", "disable", "--all-of", TARGET, "livepatch_sample")
        self.assertEqual(res.code, 1, res)
        doc = json.loads(res.out)
        self.assertEqual((doc["summary"]["ok"], doc["summary"]["not_patchable"]), (COUNT, 1))
        by_pid = {p["pid"]: p for p in doc["processes"]}
        for t in self.targets:
            self.assertEqual(by_pid[t.pid]["result"], "disabled")
        self.assertEqual(self.answers(), [41] * COUNT)

        res = uklp("unload", "--pid", self.pids(), "livepatch_sample")
        self.assertEqual(res.code, 0, res)
        self.assertEqual(res.err, "")
        rows, totals = table(res)
        self.assertEqual(set(rows.values()), {"unloaded"})
        self.assertRegex(totals, rf"^patch 'livepatch_sample': {COUNT} of {COUNT} processes unloaded \(\d+ ms\)$")
        for t in self.targets:
            self.assertEqual(json.loads(uklp("--json", "list", t.pid, check=True).out)["modules"], [])
            self.assertIn("livepatch: 'livepatch_sample': unpatching complete", t.dmesg())

    def test_library_selector_and_processes_that_cannot_take_the_patch(self):
        self.assertEqual(self.answers("lib_answer"), [100] * COUNT)
        res = uklp("load", "--all-of", LIBRARY, patch("lib"))  # every process maps the library
        self.assertEqual(res.code, 1, res)
        rows, totals = table(res)
        self.assertEqual(len(rows), COUNT + 1)
        self.assertTrue(rows[self.plain.pid].startswith("not patchable: no uklp runtime"), rows)
        self.assertEqual(self.answers("lib_answer"), [1041] * COUNT)

        # A function without a pad: no process can take the patch.
        res = uklp("load", "--pid", self.pids(), patch("nopad"))
        self.assertEqual(res.code, 1, res)
        rows, totals = table(res)
        for t in self.targets:
            self.assertRegex(rows[t.pid], r"^not patchable: .*'nopad'.*no patchable entry.*\(Invalid argument\)$")
        self.assertIn(f"0 of {COUNT} processes patched, {COUNT} not patchable", totals)
        self.assertEqual(self.answers(), [41] * COUNT)

        # A few requests in flight at a time: the others wait their turn.
        res = uklp("disable", "--parallel", "3", "--pid", self.pids(), "livepatch_lib")
        self.assertEqual(res.code, 0, res)
        self.assertEqual(self.answers("lib_answer"), [100] * COUNT)
        uklp("unload", "--pid", self.pids(), "livepatch_lib", check=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
