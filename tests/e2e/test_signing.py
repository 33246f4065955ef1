"""test_signing.py: signed patch modules and the patch policy (issue 6).

`uklp keygen` and `uklp sign` make and sign; the runtime checks every signed
module's signature before it parses or loads it (so a damaged copy is
refused whatever the policy), and a policy file (UKLP_POLICY here; the
default is /etc/uklp/policy.conf) can require signatures by trusted keys or
turn the control socket off for a program. Each test starts the GCC e2e
target and drives it through the CLI, and through the socket itself where a
client could skip the CLI's checks."""
import os
import random
import re
import shutil
import tempfile
import unittest

from test_e2e import PATCHES, TARGET, patch
from uklp_e2e import Target, descriptors, request, uklp

EKEYREJECTED, ENOKEY, EACCES = 129, 126, 13
BLOCK = 64 + 32 + 8 + 4 + 4 + len(b"~uklp signature appended~\n")


def load_directly(pid, path, name="livepatch_sample"):
    """The `load` request with the file's descriptor, as a client that is
    not the CLI sends it: the runtime's answer."""
    with open(path, "rb") as f:
        return request(pid, f"load\t{name}\t{path}\twait\n".encode(), [f.fileno()])


class Signing(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="uklp-signing-")
        os.chmod(self.dir, 0o755)
        self.t = None
        self.ops = self.keygen("ops")

    def tearDown(self):
        if self.t:
            self.t.stop()
        shutil.rmtree(self.dir)

    # ---- helpers ----
    def path(self, name):
        return os.path.join(self.dir, name)

    def keygen(self, name):
        res = uklp("keygen", "--comment", f"{name} team", self.path(name), check=True)
        key_id = re.match(r"key ([0-9a-f]{16}): ", res.out).group(1)
        return key_id

    def sample(self, copy="signed", key=None):
        """A copy of the sample module in its own directory (the CLI names
        a patch after its file), signed by `key` if given."""
        os.makedirs(self.path(copy), mode=0o755, exist_ok=True)
        path = os.path.join(self.path(copy), "livepatch-sample.so")
        shutil.copyfile(patch("sample"), path)
        os.chmod(path, 0o644)
        if key:
            uklp("sign", "--key", self.path(key + ".key"), path, check=True)
        return path

    def policy(self, text, mode=0o644):
        path = self.path("policy.conf")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def start(self, policy=None, runtime=True):
        self.t = Target(TARGET, env={"UKLP_POLICY": policy} if policy else None, runtime=runtime)
        return self.t

    def log(self):
        return [re.sub(r"^\[[ 0-9.]+\] ", "", l) for l in self.t.dmesg().splitlines()]

    def assert_refused(self, path, pattern):
        res = uklp("load", self.t.pid, path)
        self.assertEqual(res.code, 1, res)
        self.assertRegex(res.err, r"^uklp: error: " + pattern, res)
        self.assertIsNone(self.t.proc.poll(), "the process is alive")
        self.assertEqual(self.t.int("answer"), 41, "nothing was patched")
        self.assertEqual(uklp("list", self.t.pid, "--json", check=True).out.count("livepatch_sample"), 0)

    def assert_loads(self, path):
        uklp("load", self.t.pid, path, check=True)
        self.assertEqual(self.t.int("answer"), 42)
        uklp("disable", self.t.pid, "livepatch_sample", check=True)
        uklp("unload", self.t.pid, "livepatch_sample", check=True)
        self.assertEqual(self.t.int("answer"), 41)

    # ---- the tools ----
    def test_keygen_and_sign(self):
        self.assertEqual(os.stat(self.path("ops.key")).st_mode & 0o777, 0o600)
        with open(self.path("ops.pub")) as f:
            self.assertRegex(f.read(), r"^uklp-ed25519-public [0-9a-f]{64} ops team\n$")
        res = uklp("keygen", self.path("ops"))
        self.assertEqual(res.code, 1, "keygen never overwrites a key")
        self.assertRegex(res.err, r"cannot create .*ops\.key.*File exists")

        signed = self.sample(key="ops")
        info = uklp("info", signed, check=True).out
        self.assertIn(f"signature:  Ed25519, key {self.ops}, matches the contents", info)
        self.assertEqual(os.path.getsize(signed), os.path.getsize(patch("sample")) + BLOCK)
        # Signing again replaces the signature (another key here).
        other = self.keygen("other")
        res = uklp("sign", "--key", self.path("other.key"), signed, check=True)
        self.assertIn(f"replacing a signature by key {self.ops}", res.out)
        self.assertEqual(os.path.getsize(signed), os.path.getsize(patch("sample")) + BLOCK)
        self.assertIn(f"key {other}, matches", uklp("info", signed, check=True).out)
        # A secret key others can read is refused, as ssh does.
        os.chmod(self.path("ops.key"), 0o644)
        res = uklp("sign", "--key", self.path("ops.key"), signed)
        self.assertEqual(res.code, 1)
        self.assertIn("is accessible by others (mode 0644)", res.err)
        os.chmod(self.path("ops.key"), 0o600)
        # Only livepatch modules are signed.
        res = uklp("sign", "--key", self.path("ops.key"), TARGET, "-o", self.path("target.signed"))
        self.assertEqual(res.code, 1, res)
        self.assertFalse(os.path.exists(self.path("target.signed")))
        # A damaged key file.
        with open(self.path("bad.key"), "w") as f:
            f.write("uklp-ed25519-secret 00ff\n")
        os.chmod(self.path("bad.key"), 0o600)
        res = uklp("sign", "--key", self.path("bad.key"), signed)
        self.assertEqual(res.code, 1)
        self.assertIn("is not a uklp secret key", res.err)

    # ---- without a policy ----
    def test_signed_module_loads_and_its_key_is_logged(self):
        self.start()
        before = descriptors(self.t.pid)
        self.assert_loads(self.sample(key="ops"))
        after = {fd: what for fd, what in descriptors(self.t.pid).items() if not what.endswith("/mem")}
        self.assertEqual(after, before, "checking a signature leaves no descriptor open")
        self.assertIn(f"uklp: module livepatch_sample: signature verified, key {self.ops} "
                      "(not among the policy's trusted keys)", self.log())
        self.assert_loads(self.sample("unsigned"))  # no policy: unsigned modules load too

    def test_damaged_signed_modules_are_refused(self):
        """The crash the unsigned byte-flipped sample causes inside dlopen
        (docs/security.md) cannot happen to a signed module: 40 damaged
        copies, each refused before any of its bytes are parsed."""
        self.start()
        with open(self.sample(key="ops"), "rb") as f:
            good = f.read()
        rng = random.Random(1)
        damaged = self.path("livepatch-damaged.so")
        for case in range(40):
            blob = bytearray(good)
            for _ in range((1, 2, 8, 64)[case % 4]):
                blob[rng.randrange(len(good) - BLOCK)] ^= 1 << rng.randrange(8)
            with open(damaged, "wb") as f:
                f.write(blob)
            answer = load_directly(self.t.pid, damaged)
            self.assertRegex(answer.splitlines()[-1], rf"^error\t{EKEYREJECTED}\t.*does not match its contents",
                             f"case {case}: {answer}")
            self.assertIsNone(self.t.proc.poll(), f"case {case}: the process is alive")
        # The signature block itself damaged: its signature, its length.
        for offset, why in ((5, "does not match its contents"), (64 + 32, "the signature covers")):
            blob = bytearray(good)
            blob[len(good) - BLOCK + offset] ^= 0x10
            with open(damaged, "wb") as f:
                f.write(blob)
            self.assertRegex(load_directly(self.t.pid, damaged).splitlines()[-1], rf"^error\t\d+\t.*{why}")
        self.assert_refused(damaged, ".*the signature covers")
        self.assertEqual(self.t.int("answer"), 41)
        self.assert_loads(self.sample(key="ops"))

    def test_module_signed_by_its_build(self):
        """uklp_add_patch_module(... SIGN_KEY) signs the converted module
        (tests/e2e/CMakeLists.txt: e2e_gcc_sample_signed, with a key the
        build made)."""
        build = os.path.dirname(PATCHES)
        signed = os.path.join(build, "patches-signed", "livepatch-sample.so")
        with open(os.path.join(build, "keys", "build.pub")) as f:
            self.assertTrue(f.read().endswith(" e2e build key\n"))
        self.assertRegex(uklp("info", signed, check=True).out, r"signature:  Ed25519, key [0-9a-f]{16}, matches")
        self.start(self.policy(f"require-signature = yes\ntrusted-key = {build}/keys/build.pub\n"))
        self.assert_loads(signed)
        self.assertTrue(any(l.endswith("(trusted)") for l in self.log()))

    # ---- policies ----
    def test_policy_requires_signatures_by_trusted_keys(self):
        self.keygen("other")
        pol = self.policy(f"# test policy\nrequire-signature = yes\ntrusted-key = {self.path('ops.pub')}\n")
        self.start(pol)
        self.assert_refused(self.sample("unsigned"),
                            rf"the patch file '.*unsigned/livepatch-sample\.so' is not signed, and the policy {re.escape(pol)} "
                            r"requires signatures .*\(Key was rejected by service\)")
        self.assert_refused(self.sample("other", key="other"),
                            r"the patch file '.*other/livepatch-sample\.so' is signed by key [0-9a-f]{16}, which the policy .* "
                            r"does not trust \(Required key not available\)")
        answer = load_directly(self.t.pid, self.sample("unsigned"))
        self.assertRegex(answer.splitlines()[-1], rf"^error\t{EKEYREJECTED}\t")
        self.assert_loads(self.sample(key="ops"))
        log = self.log()
        self.assertIn(f"uklp: module livepatch_sample: signature verified, key {self.ops} (trusted)", log)
        self.assertTrue(any(l.startswith("livepatch: refusing to load module 'livepatch_sample': the patch file")
                            for l in log), log)

    def test_program_sections(self):
        """[program ...] sections: the target's own name applies, another's does not."""
        pol = self.policy(f"require-signature = yes\ntrusted-key = {self.path('ops.pub')}\n"
                          "[program /usr/bin/somethingelse]\nrequire-signature = no\n"
                          f"[program {os.path.basename(TARGET)}]\nrequire-signature = no\n"
                          "[program e2e]\ncontrol = off\n")
        self.start(pol)
        self.assert_loads(self.sample("unsigned"))

    def test_policy_turns_the_control_socket_off(self):
        pol = self.policy(f"[program {os.path.realpath(TARGET)}]\ncontrol = off\n")
        t = self.start(pol, runtime=False)
        self.assertEqual(t.int("answer"), 41, "the program runs")
        res = uklp("list", t.pid)
        self.assertEqual(res.code, 1, res)
        self.assertIn("does not run the uklp runtime (no control socket", res.err)

    def test_an_unusable_policy_refuses_every_module(self):
        for text, mode, pattern in (
                ("require-signature = no\n", 0o666, r"the policy file '.*' is writable by others \(mode 0666\)"),
                ("require-signature = maybe\n", 0o644, r"policy\.conf:1: require-signature: 'maybe' is neither"),
                ("\n[programme x]\n", 0o644, r"policy\.conf:2: unknown section 'programme x'"),
                ("control = on\ncolour = blue\n", 0o644, r"policy\.conf:2: unknown setting 'colour'"),
                ("trusted-key = relative.pub\n", 0o644, r"policy\.conf:1: trusted-key must be an absolute path")):
            with self.subTest(pattern=pattern):
                self.start(self.policy(text, mode))
                self.assertEqual(self.t.int("answer"), 41, "the program runs")
                self.assert_refused(self.sample(key="ops"), "the patch policy cannot be used, so no module "
                                    "is accepted: .*" + pattern)
                self.assertTrue(any(re.search(pattern, l) for l in self.log()), "logged at start-up too")
                self.t.stop()
                self.t = None

    def test_a_key_file_others_may_write_is_refused(self):
        os.chmod(self.path("ops.pub"), 0o666)
        self.start(self.policy(f"require-signature = yes\ntrusted-key = {self.path('ops.pub')}\n"))
        self.assert_refused(self.sample(key="ops"), r"the patch policy cannot be used, so no module is accepted: "
                            r"the key file '.*ops\.pub' is writable by others")
        os.chmod(self.path("ops.pub"), 0o644)
        self.assert_loads(self.sample(key="ops"))  # the key file is read again at each load


if __name__ == "__main__":
    unittest.main(verbosity=2)
