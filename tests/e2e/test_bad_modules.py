"""test_bad_modules.py: truncated and corrupted patch modules sent to a live
process are refused, and the process keeps working (issue 6, bad input).

Covers what can be checked before the module's code runs: the file's
structure (ELF header, section table, string tables) and the build it was
made for. A module whose code bytes are damaged is not covered: dlopen()
runs its constructors (docs/security.md)."""
import os
import shutil
import socket
import struct
import tempfile
import unittest

from test_e2e import TARGET, patch
from uklp_e2e import Target, uklp


class BadModules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(patch("sample"), "rb") as f:
            cls.good = f.read()

    def setUp(self):
        self.t = Target(TARGET)
        self.dir = tempfile.mkdtemp(prefix="uklp-bad-modules-")

    def tearDown(self):
        self.t.stop()
        shutil.rmtree(self.dir)

    def refused(self, blob, pattern):
        path = os.path.join(self.dir, "livepatch-sample.so")
        with open(path, "wb") as f:
            f.write(blob)
        os.chmod(path, 0o644)
        res = uklp("load", self.t.pid, path)
        self.assertEqual(res.code, 1, res)
        self.assertTrue(res.err.startswith("uklp: error: "), res)
        self.assertRegex(res.err, pattern)
        # The runtime checks for itself: a client need not be the CLI.
        answer = self.load_directly(path)
        self.assertRegex(answer.splitlines()[-1], r"^error\t(8|22|2|19)\t", answer)
        self.assertIsNone(self.t.proc.poll(), "the process is alive")
        self.assertEqual(self.t.int("answer"), 41, "nothing was patched")

    def load_directly(self, path):
        """The `load` request of lib/protocol.h, without the CLI's checks."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s, open(path, "rb") as f:
            s.settimeout(30)
            s.connect(f"\0uklp/{self.t.pid}")
            socket.send_fds(s, [f"load\tlivepatch_sample\t{path}\twait\n".encode()], [f.fileno()])
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        return answer.decode(errors="replace")

    def test_truncated(self):
        size = len(self.good)
        for n in (0, 4, 16, 63, 64, 1000, size // 2, size - 1):
            with self.subTest(length=n):
                self.refused(self.good[:n], r"(malformed ELF file|not an ELF)")
        self.works_after()

    def test_corrupted_headers(self):
        def with_field(offset, fmt, value):
            b = bytearray(self.good)
            struct.pack_into(fmt, b, offset, value)
            return bytes(b)
        cases = {
            "e_shoff past the end": (0x28, "<Q", 1 << 40),
            "e_shnum huge": (0x3c, "<H", 0xffff),
            "e_shstrndx out of range": (0x3e, "<H", 0xfff0),
            "e_shentsize wrong": (0x3a, "<H", 7),
            "e_machine not x86-64": (0x12, "<H", 0x28),
        }
        for name, (offset, fmt, value) in cases.items():
            with self.subTest(name):
                self.refused(with_field(offset, fmt, value), r"\(Exec format error\)")
        self.refused(b"#!/bin/sh\necho not a module\n" * 100, r"not an ELF")
        self.works_after()

    def test_built_for_another_build(self):
        # The target's build-id as the module records it (hex text).
        import subprocess
        out = subprocess.run(["readelf", "-n", TARGET], capture_output=True, text=True, check=True).stdout
        build_id = next(l.split()[-1] for l in out.splitlines() if "Build ID" in l).encode()
        at = self.good.find(build_id)
        self.assertGreater(at, 0, "the module records its target's build-id")
        b = bytearray(self.good)
        b[at] = ord("0") if b[at] != ord("0") else ord("1")
        self.refused(bytes(b), r"was built for main with build-id")
        self.works_after()

    def works_after(self):
        uklp("load", self.t.pid, patch("sample"), check=True)
        self.assertEqual(self.t.int("answer"), 42)


if __name__ == "__main__":
    unittest.main(verbosity=2)
