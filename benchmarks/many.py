#!/usr/bin/env python3
"""many.py: patching many processes with one command (issue 5, "Patching
many processes"; docs/design.md, "Benchmarks", "Patching many processes").

    many.py [--counts 100[,1000]] [--rounds R] [--alone K] BUILD_DIR
    bench.py --only many [--many-counts 100,1000] BUILD_DIR

For each count N: N idle processes of bench_transition (one thread, blocked
in read() on a pipe they all share) run with LD_PRELOAD=libuklp.so, from a
private copy of the program, so that `--all-of COPY` selects exactly them
(the copy has the build-id the patch module was built for). K more
processes run from a second copy: they are patched one at a time with the
single-process form, `uklp load PID PATCH.so`, the baseline of the same run.

  cold   the first patch of every process: one `uklp load --all-of COPY
         livepatch-bench-transition.so` for the N processes, against K loads
         of one fresh process each (x N). A first load costs more in the
         process than later ones: the runtime's first code write registers
         for membarrier(SYNC_CORE), which waits for an RCU grace period
         (5-20 ms of waiting, little CPU), and it reads the program's
         symbols.
  warm   R rounds of load, disable and unload, each one command for the N
         processes, with the event-loop engine and with the thread pool
         (`--engine threads`), in alternating order, against the same
         commands on one of the K processes alone (x N).

Per command: wall time of the whole `uklp` run (its start-up included, about
3 ms), per process (/ N), and the CPU time the targets spent in it (their
threads' schedstat), the CLI's own (rusage), and the whole machine's
(/proc/stat, in clock ticks: the targets, their runtimes' tracer
processes, the CLI, the kernel's work for them, and anything else that ran:
the machine is shared). Each batch command must exit 0: every process
patched, disabled, unloaded. No number is asserted.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# bench and transition import each other; entered from here (many.py run
# alone), transition must come first, and names of bench are used at run
# time only, as footprint.py and lookup.py do.
import transition  # noqa: E402,F401,I001
import bench  # noqa: E402

PATCH_NAME = "livepatch_bench_transition"  # livepatch-bench-transition.so
ENGINES = ("events", "threads")
TARGET_MS_PER_PROCESS = 0.5  # issue 5
LIBPULP_MS_PER_PROCESS = 1.4  # issue 5's anchor, measured on this kind of machine


class Fleet:
    """N processes of one private copy of bench_transition, sharing one stdin pipe."""

    def __init__(self, build, program, count):
        self.program = program
        self.read_end, self.write_end = os.pipe()
        env = bench.clean_env(LD_PRELOAD=build.runtime)
        self.procs = []
        try:
            for _ in range(count):
                self.procs.append(subprocess.Popen([program, "--threads", "1"], stdin=self.read_end,
                                                   stdout=subprocess.DEVNULL, env=env))
            wait_for_sockets([p.pid for p in self.procs])
        except BaseException:
            self.stop()
            raise

    @property
    def pids(self):
        return [p.pid for p in self.procs]

    def cpu_ms(self):
        """CPU time of every thread of every process so far (schedstat, ns)."""
        total = 0
        for pid in self.pids:
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        total += int(f.read().split()[0])
            except OSError:
                pass
        return total / 1e6

    def stop(self):
        """End of input: every process exits; SIGKILL for the ones that do not."""
        for fd in (self.write_end, self.read_end):
            try:
                os.close(fd)
            except OSError:
                pass
        self.write_end = self.read_end = -1
        deadline = time.monotonic() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_for_sockets(pids):
    """Until every process listens on its control socket @uklp/PID."""
    want = {f"@uklp/{pid}" for pid in pids}
    for _ in range(3000):
        with open("/proc/net/unix") as f:
            have = {line.split()[-1] for line in f if "@uklp/" in line}
        if want <= have:
            return
        time.sleep(0.01)
    raise RuntimeError(f"{len(want - have)} control sockets did not appear")


def timed_uklp(build, *args):
    """Runs `uklp ARGS...`; (wall ms, CLI CPU ms). It must succeed."""
    argv = [build.uklp, *map(str, args)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=bench.clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=300)
    t1 = time.perf_counter()
    if proc.returncode != 0:
        tail = "\n".join((out + err).strip().splitlines()[-5:])
        raise RuntimeError(f"uklp {' '.join(map(str, args[:4]))} ...: exit {proc.returncode}: {tail}")
    return (t1 - t0) * 1e3, cpu_of_children()


_children_cpu = [0.0]


def cpu_of_children():
    """CPU ms of the waited-for children since the last call (rusage, us)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    now = (r.ru_utime + r.ru_stime) * 1e3
    delta = now - _children_cpu[0]
    _children_cpu[0] = now
    return delta


def machine_busy_ms():
    """CPU time of the whole machine, every CPU, so far (/proc/stat, ticks)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) * 1e3 / os.sysconf("SC_CLK_TCK")


def measured(build, fleet, *args):
    """{wall, cli_cpu, target_cpu, machine_cpu} of one command on `fleet` (ms)."""
    cpu0, busy0 = fleet.cpu_ms(), machine_busy_ms()
    cpu_of_children()
    wall, cli = timed_uklp(build, *args)
    return {"wall": wall, "cli_cpu": cli, "target_cpu": fleet.cpu_ms() - cpu0, "machine_cpu": machine_busy_ms() - busy0}


def batch(build, fleet, command, engine="events", parallel=None):
    what = build.transition_module if command == "load" else PATCH_NAME
    extra = ["--parallel", parallel] if parallel else []
    return measured(build, fleet, command, "--engine", engine, *extra, "--all-of", fleet.program, what)


def alone(build, fleet, pid, command):
    what = build.transition_module if command == "load" else PATCH_NAME
    return measured(build, fleet, command, pid, what)


def run_count(build, workdir, count, rounds, alone_count):
    copy = os.path.join(workdir, f"bench_many_{count}")
    single = os.path.join(workdir, f"bench_many_alone_{count}")
    for path in (copy, single):
        shutil.copy2(build.transition, path)
    res = {"count": count, "cold": {}, "warm": {e: {c: [] for c in ("load", "disable", "unload")} for e in ENGINES},
           "alone_warm": {c: [] for c in ("load", "disable", "unload")}}
    ones = Fleet(build, single, alone_count)
    try:
        fleet = Fleet(build, copy, count)
        try:
            # Cold: the first load of every process.
            res["cold"]["alone"] = [alone(build, ones, pid, "load") for pid in ones.pids]
            res["cold"]["batch"] = batch(build, fleet, "load")
            for command in ("disable", "unload"):
                batch(build, fleet, command)
                for pid in ones.pids:
                    alone(build, ones, pid, command)
            # Warm: later cycles, both engines, alternating.
            pid = ones.pids[0]
            for r in range(rounds):
                for engine in (ENGINES if r % 2 == 0 else ENGINES[::-1]):
                    for command in ("load", "disable", "unload"):
                        res["warm"][engine][command].append(batch(build, fleet, command, engine))
                for command in ("load", "disable", "unload"):
                    res["alone_warm"][command].append(alone(build, ones, pid, command))
        finally:
            fleet.stop()
    finally:
        ones.stop()
    return res


def run(build, counts, rounds, alone_count=5):
    with tempfile.TemporaryDirectory(prefix="uklp-many-") as workdir:
        return {str(n): run_count(build, workdir, n, rounds, alone_count) for n in counts}


# ---- report ----

def med(values, key):
    return statistics.median(v[key] for v in values)


def fmt_range(values, key, scale=1.0, digits=1):
    s = bench.summary([v[key] * scale for v in values])
    return f"{s['median']:.{digits}f} [{s['p25']:.{digits}f}, {s['p75']:.{digits}f}]"


def report(res):
    print("\nPatching many processes with one command (ms; median [p25, p75]; per process = total / N;"
          " alone x N: the single-process form on one process, times N)")
    for n, r in res.items():
        count = int(n)
        cold, a = r["cold"]["batch"], r["cold"]["alone"]
        print(f"   N = {n}")
        print(f"   {'':<22} {'total':>22} {'per process':>14} {'alone x N':>12} {'ratio':>7}"
              f" {'targets CPU/proc':>17} {'CLI CPU':>9} {'machine CPU/proc':>17}")
        alone_ms = med(a, "wall")
        print(f"   {'cold load, events':<22} {cold['wall']:>22.1f} {cold['wall'] / count:>14.3f}"
              f" {alone_ms * count:>12.0f} {cold['wall'] / (alone_ms * count):>7.3f}"
              f" {cold['target_cpu'] / count:>17.3f} {cold['cli_cpu']:>9.1f} {cold['machine_cpu'] / count:>17.3f}")
        for engine in ENGINES:
            for command in ("load", "disable", "unload"):
                v = r["warm"][engine][command]
                one = med(r["alone_warm"][command], "wall")
                print(f"   {command + ', ' + engine:<22} {fmt_range(v, 'wall'):>22}"
                      f" {med(v, 'wall') / count:>14.3f} {one * count:>12.0f}"
                      f" {med(v, 'wall') / (one * count):>7.3f} {med(v, 'target_cpu') / count:>17.3f}"
                      f" {med(v, 'cli_cpu'):>9.1f} {med(v, 'machine_cpu') / count:>17.3f}")
        print(f"   alone (one process, single form): cold load {alone_ms:.2f} ms; warm load "
              f"{med(r['alone_warm']['load'], 'wall'):.2f}, disable {med(r['alone_warm']['disable'], 'wall'):.2f}, "
              f"unload {med(r['alone_warm']['unload'], 'wall'):.2f} ms")


def target_rows(res):
    """Issue 5's many-process target as rows of bench.print_targets."""
    rows = []
    for n, r in res.items():
        count = int(n)
        cold = r["cold"]["batch"]["wall"]
        alone = med(r["cold"]["alone"], "wall") * count
        rows.append((f"patching {n} processes running the same program, one `uklp load`, first patch",
                     f"{cold:.0f} ms ({cold / count:.3f} ms per process)", f"{alone:.0f} ms one at a time",
                     f"{cold / alone:.3f}x", f"{TARGET_MS_PER_PROCESS * count:g} ms", cold / count <= TARGET_MS_PER_PROCESS))
        warm = med(r["warm"]["events"]["load"], "wall")
        alone = med(r["alone_warm"]["load"], "wall") * count
        rows.append((f"patching {n} processes running the same program, one `uklp load`, a later patch",
                     f"{warm:.0f} ms ({warm / count:.3f} ms per process)", f"{alone:.0f} ms one at a time",
                     f"{warm / alone:.3f}x", f"{TARGET_MS_PER_PROCESS * count:g} ms", warm / count <= TARGET_MS_PER_PROCESS))
    return rows


def report_targets(res):
    for what, measured, baseline, ratio, target, met in target_rows(res):
        print(f"   {what}: {measured} (baseline {baseline}, {ratio}; target {target}, libpulp "
              f"{LIBPULP_MS_PER_PROCESS:g} ms per process): {'met' if met else 'MISSED'}")


class Paths:
    """What this benchmark needs of a build (bench.py's Build has the same names)."""

    def __init__(self, build_dir):
        d = os.path.abspath(build_dir)
        self.uklp = os.path.join(d, "bin", "uklp")
        self.runtime = os.path.join(d, "lib", "libuklp.so")
        self.transition = os.path.join(d, "benchmarks", "bench_transition")
        self.transition_module = os.path.join(d, "benchmarks", "livepatch-bench-transition.so")
        missing = [p for p in vars(self).values() if not os.path.exists(p)]
        if missing:
            sys.exit(f"many.py: missing {', '.join(missing)}: build the uklp-benchmarks target first")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--counts", default="100", help="fleet sizes, e.g. 100,1000")
    ap.add_argument("--rounds", type=int, default=5, help="warm rounds per engine")
    ap.add_argument("--alone", type=int, default=5, help="processes patched alone for the baseline")
    a = ap.parse_args()
    build = Paths(a.build_dir)
    res = run(build, [int(n) for n in a.counts.split(",")], a.rounds, a.alone)
    report(res)
    print("\nTargets:")
    report_targets(res)


if __name__ == "__main__":
    main()
