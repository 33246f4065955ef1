"""test_faults.py: faults while patching a live process (issue 6, faults).

1. The CLI killed (SIGKILL) at every step of `uklp load`, `disable` and
   `unload`: at each of its connect/sendmsg/recvmsg calls in turn (the
   targets/kill_after.c shim: the same points in every run), at a sweep of
   delays up to the command's full duration, and while a transition is held
   open by a thread parked in the patched function. The runtime finishes a
   request whose client is gone (lib/protocol.h), so after each kill the
   process is in the state before the command or in the state after it,
   never between: a module loaded is loaded with its patch enabled (or in
   its patching transition), never without it. A new CLI then brings the
   process to the command's end state, and the process answers as `uklp
   list` says. Clients that close the socket themselves mid-request too.
2. Patch modules that fail while loading: module_init returns an error, a
   pre_patch callback fails, a klp relocation names a symbol the process
   does not have, the module does not fit in the memory left, the runtime's
   own allocations fail. Each is refused with one `uklp: error:` line and
   changes nothing: the original code runs, no module is listed or mapped,
   no descriptor is left, and the next good load works.

README-faults.md describes each case and what it found."""
import errno
import json
import os
import resource
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from test_e2e import TARGET, patch
from uklp_e2e import UKLP, Target, descriptors, request, uklp

NAME = "livepatch_sample"
# The states a request leaves the sample patch in, in the order load,
# disable and unload go through them, and what answer() returns in each.
CYCLE = ["absent", "enabled", "disabled"]
STEP = {"absent": "load", "enabled": "disable", "disabled": "unload"}
ANSWER = {"absent": 41, "enabled": 42, "disabled": 41}


def cli_env(kill_after=None):
    env = dict(os.environ)
    if kill_after is not None:
        env["LD_PRELOAD"] = os.environ["E2E_KILL_AFTER_LIB"]
        env["E2E_KILL_AFTER"] = str(kill_after)
        # A sanitized CLI: the shim is preloaded before ASan's runtime.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
    return env


class CliKilled(unittest.TestCase):
    def setUp(self):
        self.t = Target(TARGET)
        self.pid = self.t.pid

    def spin(self):
        """A thread calls answer() all along. One: it spins on a core of
        its own, and CI machines have two. Not in the delay sweep, which
        took minutes with it in a sanitized tree (its runtime is -O0)."""
        self.assertEqual(self.t.int("spin 1"), 1)

    def tearDown(self):
        calls, bad = map(int, self.t.call("check").split(","))
        self.assertEqual(bad, 0, "a caller saw a value of no patch")
        self.t.stop()

    many = False  # with --pid: the many-process CLI (cli/batch_*.cc)

    def argv(self, step):
        target = patch("sample") if step == "load" else NAME
        return [UKLP, step, *(["--pid"] if self.many else []), str(self.pid), target]

    def state(self, cli=True):
        """The sample patch's state as `uklp list` reports it, or (cli
        false) the runtime's `list` request it sends, read directly: a
        sanitized CLI takes 0.2-0.3 s to start. Fails on a state no request
        may leave behind."""
        if cli:
            doc = json.loads(uklp("--json", "list", self.pid, check=True).out)
            patches = {p["patch"]: (p["enabled"], p["transition"]) for p in doc["patches"]}
            modules = {m["module"]: m["patch"] for m in doc["modules"]}
        else:
            doc = request(self.pid, b"list\n").split("\n")
            self.assertEqual(doc[-2:], ["ok", ""], doc)
            rows = [dict(f.split("=", 1) for f in l.split("\t")[1:]) for l in doc if l.startswith("data\t")]
            patches = {r["patch"]: (r["enabled"] == "1", r["transition"] == "1") for r in rows if "enabled" in r}
            modules = {r["module"]: r["patch"] for r in rows if "module" in r}
        for name, active in modules.items():  # a module's patch is listed iff it is active
            self.assertEqual(active == "active", name in patches, doc)
        self.assertLessEqual(set(patches), set(modules), doc)
        if NAME not in modules:
            return "absent"
        if NAME not in patches:
            return "disabled"
        enabled, transition = patches[NAME]
        if transition:
            return "patching" if enabled else "unpatching"
        self.assertTrue(enabled, doc)
        return "enabled"

    def settle(self, cli=True):
        """Waits out a transition (bounded); checks that the process answers
        as its state says, and returns the state."""
        deadline = time.monotonic() + 60
        while (st := self.state(cli)) in ("patching", "unpatching"):
            self.assertLess(time.monotonic(), deadline, f"still {st} after 60 s")
            time.sleep(0.02)
        self.assertEqual(self.t.int("answer"), ANSWER[st], st)
        return st

    def bring_to(self, wanted, st=None):
        """Runs new CLIs until the patch is in state `wanted` (from state
        `st`, read if not given); checks the state at the end."""
        st = st or self.settle(cli=False)
        while st != wanted:
            res = uklp(*self.argv(STEP[st])[1:])
            self.assertEqual(res.code, 0, f"a new CLI's {STEP[st]} from state {st}: {res}")
            st = CYCLE[(CYCLE.index(st) + 1) % 3]
        self.assertEqual(self.settle(cli=False), wanted)

    def after_kill(self, before, outcomes):
        """The process is in the state before the command or after it; a
        new CLI completes the command; then back to before."""
        after = CYCLE[(CYCLE.index(before) + 1) % 3]
        st = self.settle()
        self.assertIn(st, (before, after))
        outcomes.add(st)
        self.bring_to(after, st)
        self.bring_to(before, after)
        self.assertEqual(descriptors(self.pid, self.fds), self.fds, "no descriptor left behind")

    def start_from(self, before):
        self.bring_to("enabled")  # /proc/self/mem, opened at the first patch, stays open
        self.bring_to(before)
        self.fds = descriptors(self.pid)

    def kill_at_each_event(self, before):
        self.spin()
        self.start_from(before)
        outcomes = set()
        for n in range(100):
            res = subprocess.run(self.argv(STEP[before]), env=cli_env(n), capture_output=True, text=True, timeout=60)
            if res.returncode == 0:
                break
            self.assertEqual(res.returncode, -9, f"killed after event {n}: {res.stderr}")
            self.after_kill(before, outcomes)
        else:
            self.fail("the CLI never finished")
        print(f"  {STEP[before]}: killed at {n} points, then done; left {sorted(outcomes)}")
        self.assertGreaterEqual(n, 3, "the CLI talked to the runtime")
        after = CYCLE[(CYCLE.index(before) + 1) % 3]
        self.assertEqual(outcomes, {before, after}, "kills before and after the request reached the runtime")

    def test_load_killed_at_each_step(self):
        self.kill_at_each_event("absent")

    def test_disable_killed_at_each_step(self):
        self.kill_at_each_event("enabled")

    def test_unload_killed_at_each_step(self):
        self.kill_at_each_event("disabled")

    def test_many_process_cli_killed_at_each_step(self):
        # load only: disable and unload go through the same batch engine.
        self.many = True
        self.kill_at_each_event("absent")

    def test_killed_after_delays(self):
        """The same at a sweep of delays: 0 to the command's full duration,
        measured first."""
        for before in CYCLE:
            with self.subTest(STEP[before]):
                self.start_from(before)
                started = time.monotonic()
                subprocess.run(self.argv(STEP[before]), check=True, capture_output=True, timeout=60)
                full = time.monotonic() - started
                self.bring_to(before)
                outcomes = set()
                delays = [d for d in (0, 0.002) if d < full]
                for delay in delays + [full * 0.5, full]:
                    cli = subprocess.Popen(self.argv(STEP[before]), stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
                    time.sleep(delay)
                    cli.kill()
                    cli.wait(timeout=60)
                    self.after_kill(before, outcomes)

    def spinner_tid(self):
        """The spinner thread."""
        deadline = time.monotonic() + 10
        while True:
            threads = {}
            for tid in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    threads[int(tid)] = f.read().strip()
            others = [t for t, comm in threads.items() if t != self.pid and comm != "uklp-control"]
            if "uklp-control" in threads.values() and len(others) == 1:
                return others[0]
            self.assertLess(time.monotonic(), deadline, f"no spinner thread: {threads}")
            time.sleep(0.01)

    def park(self, address):
        """Keeps a spinner thread stopped at `address` (a thread in the
        patched function: the transition cannot complete) until unpark()."""
        park = subprocess.Popen([os.environ["E2E_PARK"], str(self.spinner_tid()), hex(address), "600000"],
                                stdout=subprocess.PIPE, text=True)
        self.assertEqual(park.stdout.readline().strip(), "parked")
        return park

    def unpark(self, park):
        park.send_signal(signal.SIGUSR1)  # ends its hold: it detaches
        self.assertEqual(park.wait(timeout=60), 0)
        park.stdout.close()

    def kill_during_transition(self, step, state):
        cli = subprocess.Popen(self.argv(step), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while self.state() != state:
            self.assertLess(time.monotonic(), deadline, f"no {state} transition")
            time.sleep(0.01)
        cli.kill()
        cli.wait(timeout=60)
        self.assertEqual(self.state(), state, "the transition goes on without its CLI")
        status = uklp("status", self.pid, check=True).out
        self.assertIn(f"patch '{NAME}': {state} transition in progress", status)
        self.assertIn("blocked by 1 thread", status)

    def test_killed_while_a_transition_is_held_open(self):
        self.spin()
        # Patching: a thread parked in answer()'s body (after GCC's two entry NOPs).
        park = self.park(self.t.symbol_address(TARGET, "answer") + 2)
        self.kill_during_transition("load", "patching")
        self.unpark(park)
        self.assertEqual(self.settle(), "enabled")
        # Unpatching: a thread parked at the replacement function's entry.
        doc = json.loads(uklp("--json", "list", self.pid, check=True).out)
        new = int(doc["patches"][0]["objects"][0]["funcs"][0]["new"], 16)
        park = self.park(new)
        self.kill_during_transition("disable", "unpatching")
        self.unpark(park)
        self.assertEqual(self.settle(), "disabled")
        uklp("unload", self.pid, NAME, check=True)
        self.assertEqual(self.settle(), "absent")

    # ---- clients that close the socket themselves ----
    def test_client_gone_before_or_after_its_request(self):
        self.start_from("absent")
        load = f"load\t{NAME}\t{patch('sample')}\twait\n".encode()
        # Before sending anything; mid-line, before the descriptor.
        for data in (b"", load[:10]):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(f"\0uklp/{self.pid}")
                s.sendall(data)
            self.assertEqual(self.settle(), "absent")
            self.assertEqual(descriptors(self.pid, self.fds), self.fds)
        # After the whole request, before reading a byte of the answer: the
        # runtime carries the request out all the same.
        with open(patch("sample"), "rb") as f, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(f"\0uklp/{self.pid}")
            socket.send_fds(s, [load], [f.fileno()])
        deadline = time.monotonic() + 30
        while self.state() == "absent":
            self.assertLess(time.monotonic(), deadline, "the request was carried out")
            time.sleep(0.01)
        self.assertEqual(self.settle(), "enabled")
        # A disable whose client reads one line of the answer and goes.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(f"\0uklp/{self.pid}")
            s.sendall(f"disable\t{NAME}\twait\n".encode())
            s.shutdown(socket.SHUT_WR)
            s.recv(1)
        self.assertEqual(self.settle(), "disabled")
        self.bring_to("absent")
        self.assertEqual(descriptors(self.pid, self.fds), self.fds)


class ModuleFailures(unittest.TestCase):
    def setUp(self):
        self.t = Target(TARGET)
        self.pid = self.t.pid
        self.fds = descriptors(self.pid)
        self.dir = tempfile.mkdtemp(prefix="uklp-faults-")

    def tearDown(self):
        self.t.stop()
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)

    def refused(self, res, pattern):
        self.assertEqual(res.code, 1, res)
        lines = res.err.strip().splitlines()
        self.assertEqual(len(lines), 1, res)
        self.assertRegex(lines[0], r"^uklp: error: " + pattern)

    def assert_nothing_changed(self, module_file):
        self.assertIsNone(self.t.proc.poll(), "the process is alive")
        self.assertEqual(self.t.int("answer"), 41)
        doc = json.loads(uklp("--json", "list", self.pid, check=True).out)
        self.assertEqual((doc["patches"], doc["modules"]), ([], []), doc)
        with open(f"/proc/{self.pid}/maps") as f:
            self.assertNotIn(os.path.realpath(module_file), f.read(), "the module is not mapped")
        fds = descriptors(self.pid)
        fds = {fd: what for fd, what in fds.items() if not (fd not in self.fds and what == f"/proc/{self.pid}/mem")}
        self.assertEqual(fds, self.fds, "no descriptor left (but /proc/self/mem)")

    def next_load_works(self):
        uklp("load", self.pid, patch("fail"), check=True)
        self.assertEqual(self.t.int("answer"), 43)

    def test_module_init_fails(self):
        for ret, text in ((-errno.ENOMEM, "Cannot allocate memory"), (-errno.EINVAL, "Invalid argument")):
            with self.subTest(ret=ret):
                res = uklp("load", self.pid, patch("fail"), f"init_ret={ret}")
                self.refused(res, rf".*module_init.*\({text}\)$")
                self.assertIn(f"livepatch_fail: module_init returns {ret}", res.out)
                self.assert_nothing_changed(patch("fail"))
        self.next_load_works()

    def test_pre_patch_callback_fails(self):
        # tests/selftests/test_callbacks.py compares the kernel's transcript
        # of the same case (test_pre_patch_callback_enodev).
        res = uklp("load", self.pid, patch("fail"), f"pre_patch_ret={-errno.ENODEV}")
        self.refused(res, r".*\(No such device\)$")
        self.assertIn("livepatch_fail: pre_patch returns -19 (constructed 1)", res.out)
        self.assert_nothing_changed(patch("fail"))
        self.next_load_works()

    def test_klp_relocation_to_a_missing_symbol(self):
        """livepatch-statics with its klp symbol `counter` renamed (same
        length) to a name the process does not have. test_e2e.py's
        test_refuses_missing_symbol is the same for a function's old_name."""
        with open(patch("statics"), "rb") as f:
            data = f.read()
        old = b".klp.sym.main.counter,"
        self.assertEqual(data.count(old), 1, "one klp symbol named counter")
        path = os.path.join(self.dir, "livepatch-statics.so")
        with open(path, "wb") as f:
            f.write(data.replace(old, b".klp.sym.main.counteX,"))
        os.chmod(path, 0o644)
        self.assertIn(".klp.sym.main.counteX,", uklp("info", path, check=True).out)
        res = uklp("load", self.pid, path)
        self.refused(res, r".*counteX.*\((No such file or directory|Invalid argument)\)$")
        self.assert_nothing_changed(path)
        self.assertEqual(self.t.int("compute 1"), 101)
        self.next_load_works()

    def limit_address_space(self, headroom):
        """RLIMIT_AS of the target: what it uses now plus `headroom` bytes."""
        with open(f"/proc/{self.pid}/status") as f:
            vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
        resource.prlimit(self.pid, resource.RLIMIT_AS, (vm + headroom, resource.RLIM_INFINITY))

    def test_module_too_big_for_the_memory_left(self):
        self.limit_address_space(1 << 30)  # 1 GiB left; the module's .bss is 64 GiB
        res = uklp("load", self.pid, patch("bigbss"))
        self.refused(res, r"cannot load .*livepatch-bigbss.so.*")
        self.assert_nothing_changed(patch("bigbss"))
        self.next_load_works()

    def load_with_headroom(self, headroom):
        """A load into a new target left `headroom` bytes of address space:
        refused or done, the process survives; then, without the limit, the
        load works. Returns what happened."""
        t = Target(TARGET)
        saved = self.t, self.pid, self.fds
        self.t, self.pid, self.fds = t, t.pid, descriptors(t.pid)
        try:
            self.limit_address_space(headroom)
            res = uklp("load", t.pid, patch("sample"))
            self.assertIsNone(t.proc.poll(), f"the process survived the load: {res}")
            if res.code == 0:
                self.assertEqual(t.int("answer"), 42)
                return "loaded"
            self.refused(res, r".*")
            self.assert_nothing_changed(patch("sample"))
            resource.prlimit(t.pid, resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
            uklp("load", t.pid, patch("sample"), check=True)
            self.assertEqual(t.int("answer"), 42)
            return res.err.strip()
        finally:
            self.t, self.pid, self.fds = saved
            t.stop()

    def test_runtime_out_of_memory(self):
        """Loads with 1 to 64 MiB of address space left: the runtime's
        mappings fail first (the trap table: refused with ENOMEM)."""
        for headroom in (1 << 20, 4 << 20, 16 << 20, 64 << 20):
            with self.subTest(headroom=headroom):
                print(f"  headroom {headroom >> 20} MiB: {self.load_with_headroom(headroom)}")

    def test_runtime_out_of_memory_in_an_allocation(self):
        """With less than 1 MiB left, an allocation of the control thread
        fails first. operator new threw std::bad_alloc, which nothing
        catches in a runtime built with -fno-exceptions: the process died
        (SIGABRT). The runtime's own operator new (runtime/memory.cc) falls
        back to an emergency pool instead, and the load is refused where
        it maps memory."""
        for headroom in (0, 64 << 10, 256 << 10):
            with self.subTest(headroom=headroom):
                print(f"  headroom {headroom >> 10} KiB: {self.load_with_headroom(headroom)}")

if __name__ == "__main__":
    unittest.main(verbosity=2)
