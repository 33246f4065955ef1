"""resident_test.py LIBUKLP: the layout of runtime/resident.ld holds.

An idle process with libuklp.so preloaded (with its control thread running,
and with UKLP_DISABLE=1) must have nothing resident in libuklp.so's .text
and .rodata segments: everything it runs and reads sits in the small
segments resident.ld gathers it into. A function called at start-up that
the linker script does not list lands in .text, and a fault there maps up
to 64 KiB of it (docs/design.md, "Resident memory"); this test names the
segment instead of waiting for the memory benchmark to drift.
"""
import os
import struct
import subprocess
import sys
import time

PF_X, PF_W = 1, 2
PAGE = os.sysconf("SC_PAGE_SIZE")


def cold_offsets(lib):
    """{page-aligned file offset: what} of the PT_LOAD segments an idle process must not touch:
    every executable one but the first (.text) and the read-only one after them (.rodata)."""
    with open(lib, "rb") as f:
        elf = f.read(64)
        phoff, phentsize, phnum = struct.unpack_from("<Q", elf, 32)[0], *struct.unpack_from("<HH", elf, 54)
        f.seek(phoff)
        loads = [struct.unpack("<IIQQQQQQ", f.read(phentsize)[:56]) for _ in range(phnum)]
    loads = [(off, flags) for ptype, flags, off, *_ in loads if ptype == 1]  # PT_LOAD
    text = [off for off, flags in loads if flags & PF_X]
    after_text = [off for off, flags in loads if not flags & (PF_X | PF_W) and off > max(text)]
    cold = {off - off % PAGE: ".text" for off in text[1:]}
    cold[after_text[0] - after_text[0] % PAGE] = ".rodata"
    return cold


def lib_mappings(pid, lib):
    """[(perms, file offset, Rss KiB)] of the mappings of `lib` in process `pid`."""
    out, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            words = line.split()
            if not words[0].endswith(":"):
                cur = (words[1], int(words[2], 16)) if len(words) > 5 and words[5] == lib else None
            elif words[0] == "Rss:" and cur:
                out.append((*cur, int(words[1])))
    return out


def idle_process(lib, disabled):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UKLP_")}
    env["LD_PRELOAD"] = lib
    if disabled:
        env["UKLP_DISABLE"] = "1"
    proc = subprocess.Popen(["sleep", "60"], env=env)
    deadline = time.monotonic() + 10
    while not disabled and time.monotonic() < deadline:
        with open("/proc/net/unix") as f:
            if any(line.rstrip().endswith(f"@uklp/{proc.pid}") for line in f):
                break
        time.sleep(0.01)
    time.sleep(0.2)  # the control thread reaches poll()
    return proc


def main():
    lib = os.path.realpath(sys.argv[1])
    cold = cold_offsets(lib)
    failures = []
    for disabled in (False, True):
        proc = idle_process(lib, disabled)
        try:
            maps = lib_mappings(proc.pid, lib)
        finally:
            proc.kill()
            proc.wait()
        what = "UKLP_DISABLE=1" if disabled else "idle"
        print(f"{what}: " + ", ".join(f"{perms} {off:#x} {rss} KiB" for perms, off, rss in maps))
        failures += [f"{what}: {rss} KiB of {cold[off]} (offset {off:#x}) resident: something an idle process "
                     "runs or reads is not in runtime/resident.ld"
                     for perms, off, rss in maps if off in cold and perms != "---p" and rss]
        if len([m for m in maps if m[1] in cold]) < len(cold):
            failures.append(f"{what}: the segments at {sorted(map(hex, cold))} are not all mapped apart")
    for f in failures:
        print(f"FAIL: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
