"""test_access.py: who may patch a process (issue 6, access control).

The control socket answers only root and the process's own user, and logs
everyone else it turns away; a patch file must be owned by root or the
process's user and writable by no one else; every load, disable and unload
is logged with who asked. Each test starts the GCC e2e target and drives it
through the `uklp` CLI, or through the socket itself where the CLI cannot
play the part (another user)."""
import os
import re
import shutil
import socket
import tempfile
import time
import unittest

from test_e2e import PATCHES, TARGET, patch
from uklp_e2e import Target, uklp

NOBODY = 65534


def as_user(uid, fn):
    """Runs fn() in a child process with uid `uid`; returns what it wrote to
    its pipe (bytes)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgid(uid)
            os.setuid(uid)
            os.write(w, fn())
        except BaseException as e:  # shown in the assertion that fails
            os.write(w, f"<{type(e).__name__}: {e}>".encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return data


@unittest.skipUnless(os.geteuid() == 0, "needs root: files of other users, a client of another uid")
class Access(unittest.TestCase):
    def setUp(self):
        self.t = Target(TARGET)
        self.dir = tempfile.mkdtemp(prefix="uklp-access-")
        os.chmod(self.dir, 0o755)

    def tearDown(self):
        self.t.stop()
        shutil.rmtree(self.dir)

    def copy_of_sample(self, mode, uid=0):
        path = os.path.join(self.dir, "livepatch-sample.so")
        shutil.copyfile(patch("sample"), path)
        os.chmod(path, mode)
        os.chown(path, uid, 0)
        return path

    def log(self):
        return self.t.transcript(audit=True)

    def assert_nothing_loaded(self):
        self.assertEqual(self.t.int("answer"), 41)
        self.assertNotEqual(uklp("sys", self.t.pid, "livepatch/livepatch_sample/enabled").code, 0)

    # ---- patch files ----
    def test_refuses_a_patch_file_writable_by_others(self):
        for mode, who in ((0o666, "others"), (0o664, "its group")):
            res = uklp("load", self.t.pid, self.copy_of_sample(mode))
            self.assertEqual(res.code, 1, res)
            self.assertIn(f"is writable by {who} (mode 0{mode:o}) (Permission denied)", res.err)
            self.assert_nothing_loaded()
        self.assertIn("livepatch: refusing to load module 'livepatch_sample': the patch file "
                      f"'{self.dir}/livepatch-sample.so' is writable by others (mode 0666)", self.log())
        # The same file, writable by its owner only, loads.
        uklp("load", self.t.pid, self.copy_of_sample(0o644), check=True)
        self.assertEqual(self.t.int("answer"), 42)

    def test_refuses_a_patch_file_of_another_user(self):
        res = uklp("load", self.t.pid, self.copy_of_sample(0o644, uid=NOBODY))
        self.assertEqual(res.code, 1, res)
        self.assertIn(f"is owned by uid {NOBODY}, neither root nor the process's user (uid 0)", res.err)
        self.assert_nothing_loaded()

    # ---- the control socket ----
    def test_refuses_and_logs_another_user(self):
        pid = self.t.pid

        def ask():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(f"\0uklp/{pid}")
            try:  # the runtime may answer, and close, before it reads
                s.sendall(b"disable\tlivepatch_sample\twait\n")
            except OSError:
                pass
            answer = b""
            try:
                while chunk := s.recv(4096):
                    answer += chunk
            except ConnectionResetError:
                pass  # it closed with our request unread: after its answer
            except OSError as e:
                answer += f"<{e}>".encode()
            return answer

        uklp("load", pid, patch("sample"), check=True)
        answer = as_user(NOBODY, ask).decode()
        self.assertEqual(answer, "error\t13\tonly root or the process's own user may control it\n")
        self.assertEqual(self.t.int("answer"), 42, "the patch is still enabled")
        refused = [l for l in self.log() if l.startswith("uklp: refused a control connection")]
        self.assertEqual(len(refused), 1, self.log())
        self.assertRegex(refused[0], rf"^uklp: refused a control connection from pid \d+ \(python3?[^)]*\), "
                                     rf"uid {NOBODY}: only root and uid 0 may control this process$")

    def test_does_not_talk_to_a_squatter(self):
        # A process without the runtime, whose socket name someone else took.
        other = Target(TARGET, via_cli=False, runtime=False)
        squatter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            squatter.bind(f"\0uklp/{other.pid}")
            squatter.listen(4)
            res = uklp("load", other.pid, patch("sample"))
            self.assertEqual(res.code, 1, res)
            self.assertIn(f"the control socket @uklp/{other.pid} is held by process {os.getpid()} (uid 0), "
                          f"not by process {other.pid}: refusing to talk to it (Operation not permitted)", res.err)
            conn, _ = squatter.accept()
            conn.settimeout(5)
            self.assertEqual(conn.recv(4096), b"", "the CLI sent nothing to the squatter")
            conn.close()
        finally:
            squatter.close()
            other.stop()

    def test_waits_for_its_socket_name(self):
        """A runtime that finds its name taken at start (the process it was
        before exec() may hold it for a moment) binds it once it is free,
        without holding the program up; one that never frees gives up after
        about 2 s with a warning."""
        for hold_s, listening in ((0.3, True), (3.0, False)):
            with self.subTest(hold_s=hold_s):
                go_r, go_w = os.pipe()
                out_r, out_w = os.pipe()
                in_r, in_w = os.pipe()
                err_r, err_w = os.pipe()
                pid = os.fork()
                if pid == 0:  # the target, once the name is taken
                    os.read(go_r, 1)
                    for fd, to in ((in_r, 0), (out_w, 1), (err_w, 2)):
                        os.dup2(fd, to)
                    env = dict(os.environ, LD_PRELOAD=os.environ["UKLP_RUNTIME_LIB"])
                    os.execve(TARGET, [TARGET], env)
                for fd in (go_r, out_w, in_r, err_w):
                    os.close(fd)
                squatter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                squatter.bind(f"\0uklp/{pid}")
                os.write(go_w, b"x")
                try:
                    with os.fdopen(out_r) as out:
                        self.assertEqual(out.readline(), "ready\n", "the program started without waiting")
                        time.sleep(hold_s)
                        squatter.close()
                        time.sleep(0.5)
                        res = uklp("list", pid)
                        if listening:
                            self.assertEqual(res.code, 0, res)
                        else:
                            self.assertIn("does not run the uklp runtime", res.err)
                finally:
                    squatter.close()
                    os.close(in_w)  # the target ends at the end of its input
                    os.waitpid(pid, 0)
                    with os.fdopen(err_r) as err:
                        warning = err.read()
                    os.close(go_w)
                if listening:
                    self.assertEqual(warning, "")
                else:
                    self.assertIn(f"uklp: warning: runtime not started: cannot bind the control socket @uklp/{pid} "
                                  "(Address already in use)", warning)

    # ---- who asked ----
    def test_every_change_is_logged_with_who_asked(self):
        pid = self.t.pid
        uklp("load", pid, patch("sample"), check=True)
        uklp("disable", pid, "livepatch_sample", check=True)
        res = uklp("unload", pid, "livepatch_nonesuch")
        self.assertNotEqual(res.code, 0)
        uklp("unload", pid, "livepatch_sample", check=True)
        uklp("list", pid, check=True)  # reads are not logged
        audit = [l for l in self.log() if l.startswith("uklp: ")]
        who = r"requested by pid \d+ \(uklp\), uid 0$"
        expected = [rf"^uklp: load livepatch_sample from {re.escape(patch('sample'))}: {who}",
                    rf"^uklp: disable livepatch_sample: {who}",
                    rf"^uklp: unload livepatch_nonesuch: {who}",
                    r"^uklp: unload livepatch_nonesuch: refused: module 'livepatch_nonesuch' is not loaded$",
                    rf"^uklp: unload livepatch_sample: {who}"]
        self.assertEqual(len(audit), len(expected), audit)
        for line, pattern in zip(audit, expected):
            self.assertRegex(line, pattern)


if __name__ == "__main__":
    unittest.main(verbosity=2)
