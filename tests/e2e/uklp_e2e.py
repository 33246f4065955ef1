"""uklp_e2e.py: helpers for the end-to-end tests.

A Target is a real test program started under `uklp run`, talking over its
stdin/stdout (see targets/target_main.c); every patch operation goes through
the `uklp` CLI, exactly as a user would run it.
"""
import os
import re
import socket
import subprocess
import time

UKLP = os.environ["UKLP_BIN"]


class CliResult:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"exit={self.code} stdout={self.out!r} stderr={self.err!r}"


def uklp(*args, check=False, timeout=60):
    proc = subprocess.run([UKLP, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    res = CliResult(proc)
    if check and res.code != 0:
        raise AssertionError(f"uklp {' '.join(map(str, args))} failed: {res}")
    return res


def request(pid, data, fds=(), timeout=30):
    """Sends `data` (bytes) to process pid's control socket as any client of
    lib/protocol.h could, without the CLI's checks, `fds` passed with its
    first byte (SCM_RIGHTS), and returns the whole answer as text, read
    until the runtime closes the connection. A runtime that closes with
    part of the request unread resets the connection: what was read until
    then is the answer."""
    answer = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        # Blocking: with a timeout Python connects non-blocking, which fails
        # (EAGAIN) while the listen backlog is full instead of waiting.
        s.connect(f"\0uklp/{pid}")
        s.settimeout(timeout)
        try:
            if fds:
                socket.send_fds(s, [data[:1]], list(fds))
                data = data[1:]
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer.decode(errors="replace")


def listening_socket(pid):
    """The inode of process pid's control socket, `@uklp/PID`."""
    with open("/proc/net/unix") as f:
        for line in f:
            fields = line.split()
            if fields[-1] == f"@uklp/{pid}":
                return fields[6]
    return None


def descriptors(pid, expected=None, timeout=10):
    """Process pid's open descriptors: {fd: what /proc/PID/fd/N links to},
    read once the runtime has closed its control connections (it closes
    one just after the last line of its answer, which the client may have
    read already): waits, at most `timeout` s, until they are `expected`,
    or without it until no socket is open but the listening one."""
    deadline = time.monotonic() + timeout
    while True:
        out = {}
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                pass  # closed meanwhile
        if expected is not None:
            settled = out == expected
        else:
            listening = f"socket:[{listening_socket(pid)}]"
            settled = all(w == listening for w in out.values() if w.startswith("socket:"))
        if settled or time.monotonic() > deadline:
            return out
        time.sleep(0.01)


class Target:
    """`runtime=False`: a process without the runtime (no control socket to wait for)."""

    def __init__(self, path, env=None, via_cli=True, runtime=True):
        e = dict(os.environ)
        e.update(env or {})
        argv = [UKLP, "run", "--", path] if via_cli else [path]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1, env=e)
        self.pid = self.proc.pid
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise AssertionError(f"target did not start: {line!r}")
        if runtime:
            self._wait_for_socket()

    def _wait_for_socket(self):
        name = f"@uklp/{self.pid}"
        for _ in range(200):
            with open("/proc/net/unix") as f:
                if any(l.rstrip().endswith(name) for l in f):
                    return
            time.sleep(0.01)
        raise AssertionError("the runtime's control socket did not appear")

    def call(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        key, _, value = line.partition("=")
        return value

    def int(self, command):
        return int(self.call(command))

    def symbol_address(self, binary, name):
        out = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
        m = re.search(rf"^([0-9a-f]+) [Tt] {re.escape(name)}$", out, re.M)
        value = int(m.group(1), 16)
        real = os.path.realpath(binary)
        with open(f"/proc/{self.pid}/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and fields[5] == real and int(fields[2], 16) == 0:
                    base = int(fields[0].split("-")[0], 16)
                    return base + value if value < base else value
        raise AssertionError("binary not mapped")

    def read_memory(self, address, size):
        with open(f"/proc/{self.pid}/mem", "rb") as f:
            f.seek(address)
            return f.read(size)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stdin.close()

    def dmesg(self):
        return uklp("dmesg", self.pid, check=True).out

    def transcript(self, audit=False):
        """The runtime log without timestamps, as the kernel selftests compare
        it: without the runtime's audit lines ("uklp: ..., requested by"),
        which have no kernel counterpart, unless `audit`."""
        lines = [re.sub(r"^\[\s*[0-9.]+\] ", "", l) for l in self.dmesg().splitlines()]
        return lines if audit else [l for l in lines if not l.startswith("uklp: ")]
