"""test_bad_requests.py: malformed control messages sent straight to a live
process's control socket (issue 6, bad input): it refuses them and keeps
working.

Every case talks to `@uklp/PID` itself (uklp_e2e.request: the framing of
lib/protocol.h, no CLI checks): unknown commands, missing and extra fields,
escapes, NUL bytes, bytes that are not UTF-8, overlong lines, load requests
with no, two or 200 descriptors or descriptors that are not patch files,
bad numbers, attribute paths that climb or never end, many connections at
once, a client that sends one byte at a time and one that closes mid-line.
After each: the answer (if any) is made of protocol lines and ends with an
error, the patch loaded before is still enabled and nothing else is
loaded, the process answers, a normal `list` request is served (`uklp list`
itself once per test) and the process holds exactly the descriptors it
held before (README-faults.md)."""
import errno
import json
import os
import re
import signal
import socket
import threading
import time
import unittest

from test_e2e import TARGET, patch
from uklp_e2e import Target, descriptors, request, uklp

ANSWER_LINE = re.compile(r"^((log|progress|data)\t.*|ok|error\t\d+\t.*)$")
NOBODY = 65534


class BadRequests(unittest.TestCase):
    def setUp(self):
        self.t = Target(TARGET)
        self.pid = self.t.pid
        uklp("load", self.pid, patch("sample"), check=True)
        self.patches = {"livepatch_sample": 42}  # what must stay loaded: its answer()
        self.fds = descriptors(self.pid)  # with /proc/self/mem, opened by the load

    def tearDown(self):
        try:  # the CLI too, once per test (each case asks with a raw `list`)
            doc = json.loads(uklp("--json", "list", self.pid, check=True).out)
            self.assertEqual(sorted(p["patch"] for p in doc["patches"] if p["enabled"] and not p["transition"]),
                             sorted(self.patches), doc)
        finally:
            self.t.stop()

    def still_works(self):
        """Nothing changed, nothing leaked, and a normal request is served:
        the `list` the CLI sends, sent directly (a CLI under ASan takes
        long to start, and each case asks)."""
        self.assertIsNone(self.t.proc.poll(), "the process is alive")
        lines = request(self.pid, b"list\n").split("\n")
        self.assertEqual(lines[-2:], ["ok", ""], lines)
        rows = [dict(f.split("=", 1) for f in l.split("\t")[1:]) for l in lines if l.startswith("data\t")]
        state = {r["patch"]: (r["enabled"], r["transition"]) for r in rows if "enabled" in r}
        self.assertEqual(state, {name: ("1", "0") for name in self.patches}, lines)
        self.assertEqual(sorted(r["module"] for r in rows if "module" in r), sorted(self.patches), lines)
        self.assertEqual(self.t.int("answer"), list(self.patches.values())[-1])
        self.assertEqual(descriptors(self.pid, self.fds), self.fds, "no descriptor left in the process")

    def answered(self, data, fds=(), final=r"^error\t\d+\t"):
        """Sends one request; checks its answer's lines and the last one."""
        answer = request(self.pid, data, fds)
        lines = answer.split("\n")  # only '\n' ends a line (a '\r' may be in a message)
        self.assertEqual(lines.pop(), "", f"the answer to {data[:80]!r} ends with a newline")
        self.assertTrue(lines, f"no answer to {data[:80]!r}")
        for line in lines:
            self.assertRegex(line, ANSWER_LINE)
        self.assertRegex(lines[-1], final, f"request {data[:80]!r}")
        self.still_works()
        return lines[-1]

    def refused(self, data, codes, fds=()):
        last = self.answered(data, fds)
        self.assertIn(int(last.split("\t")[1]), codes, f"request {data[:80]!r}: {last}")

    # ---- commands and fields ----
    def test_unknown_commands_and_wrong_fields(self):
        EINVAL, EBADF = errno.EINVAL, errno.EBADF
        cases = {
            b"frobnicate\n": EINVAL, b"\n": EINVAL, b"\t\t\n": EINVAL, b"LIST\n": EINVAL,
            b"list \n": EINVAL, b"list\r\n": EINVAL, b"\tlist\n": EINVAL,
            b"load\n": EBADF, b"load\tlivepatch_x\n": EBADF,
            b"disable\n": EINVAL, b"disable\tlivepatch_sample\twait\textra\n": EINVAL,
            b"unload\n": EINVAL, b"unload\tlivepatch_sample\textra\n": EINVAL,
            b"sys\n": EINVAL, b"sys\tlivepatch/livepatch_sample/enabled\t0\textra\n": EINVAL,
        }
        for data, code in cases.items():
            with self.subTest(data):
                self.refused(data, {code})
        # Reads ignore extra fields: answered, and harmless.
        for data in (b"list\textra\n", b"status\t1\t2\n", b"dmesg\tx\n", b"info\t\t\n", b"tree\tx\n"):
            with self.subTest(data):
                self.answered(data, final=r"^ok$")

    def test_escapes_nul_bytes_and_invalid_utf8(self):
        # The protocol has no escapes: a backslash is a byte of the name.
        names = [b"livepatch\\x5fsample", b"livepatch\\_sample", b"livepatch_sample\\n",
                 b"livepatch_sample\0", b"livepatch_sample\0evil", b"\0livepatch_sample",
                 b"livepatch_sample\xff", b"\xc3\x28", b"\xed\xa0\x80", b"livepatch_sample\x1b[2J"]
        for name in names:
            with self.subTest(name):
                self.refused(b"disable\t" + name + b"\twait\n", {errno.ENOENT, errno.EINVAL})
                self.refused(b"unload\t" + name + b"\n", {errno.ENOENT})
                self.refused(b"sys\tlivepatch/" + name + b"/enabled\t0\n", {errno.ENOENT})
        for data in (b"li\0st\n", b"\0\n", b"\xff\xfe\n", b"sys\tlivepatch/livepatch_sample/enabled\0\t0\n"):
            with self.subTest(data):
                self.refused(data, {errno.EINVAL, errno.ENOENT, errno.EACCES})

    def test_overlong_lines(self):
        # The runtime reads at most 1 MiB of request (lib/protocol.cc).
        for size in ((1 << 20) + 1, 64 << 20):
            with self.subTest(size=size):
                self.refused(b"a" * size, {errno.EMSGSIZE})
                self.refused(b"unload\t" + b"b" * size + b"\n", {errno.EMSGSIZE})
        # 1 MiB exactly, no newline: the runtime waits for the rest, 5 s.
        self.refused(b"a" * (1 << 20), {errno.ETIMEDOUT})
        # Just under the limit: a request like any other.
        self.refused(b"unload\t" + b"c" * ((1 << 20) - 100) + b"\n", {errno.ENOENT})

    def test_load_with_bad_names(self):
        """The name travels in the request: one that is not a path
        component of the attribute tree, or holds a NUL (a C string in the
        log) or a control character, is refused before the module is read."""
        with open(patch("param"), "rb") as f:
            for name in (b"a/b", b"a/../b", b"..", b".", b"livepatch_param\0evil", b"x\x1b[2Jy", b"x\x7f", b"x" * 56):
                with self.subTest(name):
                    self.refused(b"load\t" + name + b"\t/x\twait\n", {errno.EINVAL}, fds=[f.fileno()])

    # ---- descriptors ----
    def test_load_with_no_or_many_descriptors(self):
        load = f"load\tlivepatch_sample\t{patch('sample')}\twait\n".encode()
        self.refused(load, {errno.EBADF})
        for count in (1, 2, 200):
            with self.subTest(count=count):
                files = [open(patch("sample"), "rb") for _ in range(count)]
                try:  # already loaded: refused after the descriptor was received
                    self.refused(load, {errno.EEXIST}, fds=[f.fileno() for f in files])
                finally:
                    for f in files:
                        f.close()
        # Descriptors sent with a request that takes none are closed too.
        with open(patch("sample"), "rb") as f:
            self.answered(b"list\n", fds=[f.fileno()] * 3, final=r"^ok$")

    def test_load_with_descriptors_that_are_not_patch_files(self):
        load = f"load\tlivepatch_other\t{patch('sample')}\twait\n".encode()
        r, w = os.pipe()
        a, b = socket.socketpair()
        directory = os.open(os.path.dirname(patch("sample")), os.O_RDONLY | os.O_DIRECTORY)
        zero = os.open("/dev/zero", os.O_RDONLY)
        try:
            for what, fd in (("pipe", r), ("socket", a.fileno()), ("directory", directory), ("/dev/zero", zero)):
                with self.subTest(what):
                    self.refused(load, {errno.EACCES}, fds=[fd])
            self.assertIn("livepatch: refusing to load module 'livepatch_other': the patch file "
                          f"'{patch('sample')}' is not a regular file", self.t.transcript())
            # The patch file itself, opened for writing only or as a path:
            # it cannot be read, so it is refused too.
            for what, flags in (("write-only", os.O_WRONLY), ("O_PATH", os.O_PATH)):
                fd = os.open(patch("sample"), flags)
                try:
                    with self.subTest(what):
                        self.refused(load, {errno.EBADF, errno.EACCES, errno.ENOEXEC, errno.EINVAL}, fds=[fd])
                finally:
                    os.close(fd)
        finally:
            for fd in (r, w, directory, zero):
                os.close(fd)
            a.close()
            b.close()

    # ---- numbers and paths ----
    def test_bad_numbers(self):
        for tid in ("-1", "0", "99999999999999999999999", "0x10", "+1", "1e3", " 1", "01"):
            with self.subTest(tid=tid):
                self.refused(f"sys\ttask/{tid}/patch_state\n".encode(), {errno.ENOENT})
        uklp("load", self.pid, patch("param"), check=True)
        self.patches["livepatch_param"] = 1041
        self.fds = descriptors(self.pid)
        param = "module/livepatch_param/parameters/value"
        for value in ("99999999999999999999", "2147483648", "-2147483649", "0x", "", " 1", "1e3", "1 ", "--1"):
            with self.subTest(value=value):
                self.refused(f"sys\t{param}\t{value}\n".encode(), {errno.EINVAL})
                self.assertEqual(request(self.pid, f"sys\t{param}\n".encode()), "data\t1041\nok\n")
        # Loads with a parameter out of range, or one the module lacks.
        with open(patch("param"), "rb") as f:
            self.refused(f"load\tlivepatch_param2\t{patch('param')}\twait\tvalue=99999999999999999999\n".encode(),
                         {errno.EINVAL}, fds=[f.fileno()])
        with open(patch("statics"), "rb") as f:
            self.refused(f"load\tlivepatch_statics\t{patch('statics')}\twait\tvalue=1\n".encode(),
                         {errno.ENOENT}, fds=[f.fileno()])

    def test_attribute_paths(self):
        enabled = "livepatch/livepatch_sample/enabled"
        for path in ("livepatch/../livepatch/livepatch_sample/enabled", "../../../../proc/self/mem",
                     "/sys/kernel/" + enabled, "sys/kernel/" + enabled, enabled + "/../enabled",
                     "livepatch/livepatch_sample/main/../../livepatch_sample/enabled", "livepatch/./livepatch_sample",
                     "task/self/patch_state", "/" * 100000, "a/" * 100000, "livepatch/" + "x" * 500000 + "/enabled",
                     "module/livepatch_sample/parameters/../../../livepatch/livepatch_sample/enabled"):
            with self.subTest(path=path[:60]):
                self.refused(f"sys\t{path}\t0\n".encode(), {errno.ENOENT, errno.EACCES})
                self.refused(f"sys\t{path}\n".encode(), {errno.ENOENT, errno.EACCES})

    # ---- connections ----
    def test_many_connections_of_another_user(self):
        """500 connections of a user who may not control the process, left
        open and never read: each is turned away at once, so none holds the
        runtime up."""
        ready_r, ready_w = os.pipe()
        done_r, done_w = os.pipe()
        child = os.fork()
        if child == 0:
            code = 1
            try:
                os.close(ready_r)
                os.close(done_w)
                signal.alarm(120)  # bounds the test if the runtime stops accepting
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                conns = []
                for _ in range(500):
                    # Blocking: connect waits while the backlog (16) is full.
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(f"\0uklp/{self.pid}")
                    conns.append(s)
                os.write(ready_w, b"x")
                os.read(done_r, 1)
                code = 0
            finally:
                os._exit(code)
        os.close(ready_w)
        os.close(done_r)
        try:
            self.assertEqual(os.read(ready_r, 1), b"x", "500 connections opened")
            self.still_works()
        finally:
            os.close(done_w)
            os.close(ready_r)
            self.assertEqual(os.waitpid(child, 0)[1], 0)
        refused = [l for l in self.t.transcript(audit=True) if l.startswith("uklp: refused a control connection")]
        self.assertEqual(len(refused), 500)
        self.still_works()

    def test_idle_connections_of_the_owner(self):
        """Connections of the process's own user that send nothing: the
        runtime reads requests from many connections at once, so a request
        sent after them is served while they are still open (before their
        5 s are up), and each of them is then cut with ETIMEDOUT."""
        idle = []
        for _ in range(40):  # more than the runtime reads at once (32): the rest wait in the backlog
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(f"\0uklp/{self.pid}")  # blocking: waits for room in the backlog
            s.settimeout(120)
            idle.append(s)
        time.sleep(0.2)  # the runtime takes up the first 32
        lines = request(self.pid, b"info\n", timeout=120).split("\n")
        self.assertEqual(lines[-2:], ["ok", ""], lines)
        unanswered = 0
        for s in idle:
            s.setblocking(False)
            try:
                s.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                unanswered += 1
            s.setblocking(True)
            s.settimeout(120)
        self.assertGreater(unanswered, 0, "the request was served while idle connections were still open")
        for s in idle:
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            s.close()
            self.assertRegex(answer.decode(), rf"^error\t{errno.ETIMEDOUT}\t")
        self.still_works()

    def test_one_byte_at_a_time(self):
        """A client that sends its request one byte every 0.5 s (a 24 s
        request) is cut after the runtime's 5 s for a whole request, not
        kept as long as it trickles; a request sent meanwhile is served."""
        data = b"list\t" + b"x" * 42 + b"\n"
        sent = []
        answer = []

        def trickle():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(120)
                s.connect(f"\0uklp/{self.pid}")
                try:
                    for i in range(len(data)):
                        s.send(data[i:i + 1])
                        sent.append(i)
                        time.sleep(0.5)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                try:
                    answer.append(s.recv(4096))
                except ConnectionResetError:
                    answer.append(b"<reset>")

        th = threading.Thread(target=trickle)
        th.start()
        while not sent:
            time.sleep(0.01)
        lines = request(self.pid, b"info\n").split("\n")  # served while it trickles
        self.assertEqual(lines[-2:], ["ok", ""], lines)
        self.assertTrue(th.is_alive(), "the request was served before the trickling client was cut")
        th.join(timeout=120)
        self.still_works()
        self.assertFalse(th.is_alive())
        self.assertLess(len(sent), len(data), "the runtime cut the connection before the request was complete")
        self.assertRegex(answer[0].decode(), rf"^error\t{errno.ETIMEDOUT}\t")

    def test_client_that_does_not_read(self):
        """A client that asks for a long log and reads none of it: the
        runtime gives up on it after one SO_SNDTIMEO (5 s), not after one
        per line, and serves the requests behind it."""
        for _ in range(100):  # 200 audit lines of 4 KiB: 800 KiB of log
            request(self.pid, b"unload\t" + b"y" * 4000 + b"\n")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(120)
            s.connect(f"\0uklp/{self.pid}")
            s.sendall(b"dmesg\n")
            self.still_works()
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        self.assertFalse(answer.endswith(b"\nok\n"), "the answer was cut")

    def test_closed_mid_line(self):
        for data in (b"disable\tlivepatch_sample", b"unload\tlivepatch_sam", b"load\tlivepatch_x\t/x"):
            with self.subTest(data):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(f"\0uklp/{self.pid}")
                    s.sendall(data)
                self.still_works()
        # With a descriptor: the runtime must close it.
        with open(patch("sample"), "rb") as f, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(f"\0uklp/{self.pid}")
            socket.send_fds(s, [b"load\tlivepatch_x\t"], [f.fileno()])
        self.still_works()


if __name__ == "__main__":
    unittest.main(verbosity=2)
