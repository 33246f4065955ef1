"""test_leftovers.py: patching leaves nothing behind (issue 6, faults).

After load, disable and unload, and after the program exits: no file in
its TMPDIR or in /dev/shm, no control socket, no tracer process, and no
descriptor but the one the runtime keeps to write code (/proc/self/mem)."""
import os
import shutil
import tempfile
import time
import unittest

from test_e2e import TARGET, patch
from uklp_e2e import Target, uklp


def fds(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return out


def children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:  # field 4, ppid
            kids.append(int(entry))
    return kids


def sockets_of(pid):
    with open("/proc/net/unix") as f:
        return [l for l in f if l.rstrip().endswith(f"@uklp/{pid}")]


def shm_entries():
    return {e for e in os.listdir("/dev/shm") if "uklp" in e}


class Leftovers(unittest.TestCase):
    def test_nothing_is_left_behind(self):
        tmp = tempfile.mkdtemp(prefix="uklp-leftovers-")
        shm_before = shm_entries()
        try:
            t = Target(TARGET, env={"TMPDIR": tmp})
            pid = t.pid
            before = fds(pid)
            for _ in range(3):
                uklp("load", pid, patch("sample"), check=True)
                self.assertEqual(t.int("answer"), 42)
                uklp("disable", pid, "livepatch_sample", check=True)
                uklp("unload", pid, "livepatch_sample", check=True)
            self.assertEqual(t.int("answer"), 41)
            after = fds(pid)
            new = {fd: path for fd, path in after.items() if fd not in before}
            self.assertEqual(list(new.values()), [f"/proc/{pid}/mem"], "only the code-writing descriptor stays")
            self.assertEqual(children(pid), [], "no tracer process is left")
            self.assertEqual(len(sockets_of(pid)), 1)
            t.stop()
            for _ in range(100):  # the kernel frees the socket with the process
                if not sockets_of(pid):
                    break
                time.sleep(0.01)
            self.assertEqual(sockets_of(pid), [], "the control socket is gone")
            self.assertEqual(os.listdir(tmp), [], "nothing in TMPDIR")
            self.assertEqual(shm_entries(), shm_before, "nothing in /dev/shm")
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    unittest.main(verbosity=2)
