"""transition.py: the transition-latency benchmark, run by bench.py (issue 3;
targets of issue 5; docs/design.md, "Benchmarks", "Transition latency").

A target (bench_transition, transition.c) with N idle threads runs under
`uklp run`; a cycle is `uklp load` of livepatch-bench-transition.so (one
function), `uklp disable`, `uklp unload`. Per cycle:

  log    in-process latency: from `enabling patch` to `patching complete` in
         the runtime's log (`uklp dmesg`, microsecond timestamps), split at
         `starting patching transition` into enable (klp_enable_patch up to
         the transition) and transition (the attempts until it completes);
  load   wall time of the whole `uklp load` command.

For each thread count the cycles alternate between idle (N threads) and busy
(N threads and 2 callers of the patched function at full speed), so that the
busy/idle ratio is paired cycle by cycle within one process.

Patch size: a target with 1000 patchable functions and one thread
(bench_funcs, funcs.c), cycles of a module replacing all 1000
(livepatch-bench-funcs-1000.so) alternating with cycles of one replacing
one of them (livepatch-bench-funcs-1.so), the baseline, in one process.

Hold-up: another target, with N idle threads and S spinners that keep the
largest gap between consecutive CLOCK_MONOTONIC reads, alternates windows
of one whole cycle (load, disable, unload) with baseline windows of the same
length without patching; per window the largest gap of any spinner, and the
largest gap during which a spinner was stopped (its voluntary context
switches went up: a ptrace stop) rather than only preempted.
"""
import signal
import statistics
import subprocess
import time

from bench import clean_env, quantile, summary, wait_for_socket

PATCH_NAME = "livepatch_bench_transition"  # livepatch-bench-transition.so
CALLERS = 2
# Issue 5: `uklp load` to `patching complete` per thread count (ms); the
# longest hold-up of any thread (us); busy/idle ratio.
TARGET_MS = {1: 2.0, 100: 5.0, 1000: 50.0}
TARGET_HOLDUP_US = 100.0
TARGET_BUSY_RATIO = 3.0
FUNC_COUNTS = ("1", "1000")  # the patch-size modules
TARGET_1000_FUNCS_MS = 50.0


class Target:
    """bench_transition (or the program `argv`) under `uklp run`, driven line by line."""

    def __init__(self, build, threads=1, spinners=0, argv=None):
        argv = argv or [build.transition, "--threads", str(threads), "--spinners", str(spinners)]
        cmd = [build.uklp, "run", "--", *argv]
        self.build = build
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1, env=clean_env())
        self.pid = self.proc.pid
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("bench_transition did not start")
        wait_for_socket(self.pid)

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().split()
        if not reply or reply[0] not in ("ok", "gap"):
            raise RuntimeError(f"bench_transition: {line}: {' '.join(reply) or 'exited'}")
        return reply[1:]

    def uklp(self, *args):
        """Runs `uklp ARGS...` on this process; returns (seconds, stdout)."""
        argv = [self.build.uklp, *[str(self.pid) if a is PID else str(a) for a in args]]
        t0 = time.perf_counter()
        # A bounded wait: when the target dies during a transition, its
        # tracer process can keep the control connection open.
        proc = subprocess.run(argv, env=clean_env(), capture_output=True, text=True, timeout=120)
        t1 = time.perf_counter()
        if proc.returncode != 0:
            error = Refused if "nothing was changed" in proc.stderr else RuntimeError
            raise error(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
        return t1 - t0, proc.stdout

    def alive(self):
        return self.proc.poll() is None

    def died(self):
        """After a failed request: did the process exit (give it 2 s)?"""
        try:
            self.proc.wait(timeout=2)
            return True
        except subprocess.TimeoutExpired:
            return False

    def death(self):
        code = self.proc.wait()
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"

    def quit(self):
        if self.alive():
            self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


PID = object()  # stands for the target's pid in Target.uklp's arguments


class Refused(RuntimeError):
    """The runtime refused a request and changed nothing (EBUSY): it may be retried."""


def log_times(lines, patch):
    """Seconds of the last `enabling patch`, and of the start and completion
    of the patching transition that follows it."""
    marks = {"enabling": f"enabling patch '{patch}'",
             "starting": f"'{patch}': starting patching transition",
             "complete": f"'{patch}': patching complete"}
    found = {}
    for line in lines:
        stamp, _, text = line.partition("]")
        for name, mark in marks.items():
            if text.endswith(mark):
                if name == "enabling":
                    found = {}
                found[name] = float(stamp.lstrip("[ "))
    if set(found) != set(marks):
        raise RuntimeError(f"the runtime log lacks a line of the transition: has {sorted(found)}")
    return found


def wait_patched(target, patch):
    """Polls the transition attribute until 0 (when `uklp load` returns before
    the end); returns the number of polls that saw it still running."""
    for polls in range(2000):
        _, out = target.uklp("sys", PID, f"livepatch/{patch}/transition")
        if out.split()[-1] == "0":
            return polls
        time.sleep(0.001)
    raise RuntimeError("the patching transition did not end")


def retried(refusals, target, *args):
    """target.uklp(*args), tried again (up to 5 times, 10 ms apart) while the
    runtime refuses it having changed nothing; refusals[0] counts them."""
    for attempt in range(6):
        try:
            return target.uklp(*args)
        except Refused:
            if attempt == 5:
                raise
            refusals[0] += 1
            time.sleep(0.01)


def cycle(target, module=None, patch=PATCH_NAME):
    """One load/disable/unload cycle of `module` (default: the one-function
    transition module): {log, enable, transition, load (ms), polls, refusals}."""
    refusals = [0]
    load_s, _ = retried(refusals, target, "load", PID, module or target.build.transition_module)
    polls = wait_patched(target, patch)
    _, out = target.uklp("dmesg", PID)
    t = log_times(out.splitlines(), patch)
    retried(refusals, target, "disable", PID, patch)
    retried(refusals, target, "unload", PID, patch)
    ms = lambda a, b: (t[b] - t[a]) * 1e3
    return {"log": ms("enabling", "complete"), "enable": ms("enabling", "starting"),
            "transition": ms("starting", "complete"), "load": load_s * 1e3, "polls": polls,
            "refusals": refusals[0]}


def latency(build, threads, cycles):
    """{"idle": [cycle], "busy": [cycle], "deaths": [...]} for one thread
    count, alternating. A target that dies in a cycle (a runtime bug, not a
    timing) is noted and replaced, and the cycle is run again."""
    out = {"idle": [], "busy": [], "deaths": []}
    target = Target(build, threads)
    cycle(target)  # warm-up: page cache, the module's first mapping
    try:
        for i in range(cycles):
            for kind in (("idle", "busy") if i % 2 == 0 else ("busy", "idle")):
                while True:
                    try:
                        target.ask(f"callers {CALLERS if kind == 'busy' else 0}")
                        time.sleep(0.01)  # the callers are running (or gone)
                        out[kind].append(cycle(target))
                        break
                    except (RuntimeError, OSError, subprocess.TimeoutExpired):
                        if not target.died() or len(out["deaths"]) >= 3 * cycles + 10:
                            raise
                        out["deaths"].append(f"{kind}: {target.death()}")
                        target = Target(build, threads)
        target.ask("callers 0")
    finally:
        target.quit()
    return out


def holdup(build, threads, spinners, windows):
    """{"patch": {"all": [us], "stopped": [us]}, "baseline": {...}}: the
    largest gap of any spinner per window, and the largest with a stop;
    patching windows alternate with baseline windows as long."""
    out = {kind: {"all": [], "stopped": []} for kind in ("patch", "baseline")}
    target = Target(build, threads, spinners)
    length = None  # of the last patching window, in seconds
    try:
        time.sleep(0.05)  # the spinners are running
        for i in range(windows + 1):  # the first pair is a warm-up
            for kind in (("patch", "baseline") if i % 2 == 0 else ("baseline", "patch")):
                target.ask("window")
                if kind == "patch":
                    t0 = time.perf_counter()
                    cycle(target)
                    length = time.perf_counter() - t0
                else:
                    time.sleep(length)
                gaps = [tuple(map(int, g.split(","))) for g in target.ask("gap")]
                if i:
                    out[kind]["all"].append(max(g[0] for g in gaps) / 1e3)
                    out[kind]["stopped"].append(max(g[1] for g in gaps) / 1e3)
    finally:
        target.quit()
    return out


def patch_size(build, cycles):
    """{"1": [cycle], "1000": [cycle]}: the 1- and 1000-function modules,
    alternating in one idle process of bench_funcs after a warm-up cycle of
    each."""
    out = {n: [] for n in FUNC_COUNTS}
    target = Target(build, argv=[build.funcs])
    try:
        for n in FUNC_COUNTS:
            cycle(target, build.funcs_modules[n], funcs_patch(n))
        for i in range(cycles):
            for n in (FUNC_COUNTS if i % 2 == 0 else FUNC_COUNTS[::-1]):
                out[n].append(cycle(target, build.funcs_modules[n], funcs_patch(n)))
    finally:
        target.quit()
    return out


def funcs_patch(n):
    return f"livepatch_bench_funcs_{n}"  # livepatch-bench-funcs-N.so


def run(build, thread_counts, cycles, holdup_threads, spinners, windows):
    return {"latency": {str(n): latency(build, n, cycles) for n in thread_counts},
            "holdup": holdup(build, holdup_threads, spinners, windows),
            "holdup_threads": holdup_threads, "spinners": spinners}


# ---- report ----

def p90(values):
    return quantile(values, 0.9)


def fmt_ms(values, digits=2):
    s = summary(values)
    return f"{s['median']:.{digits}f} [{s['p25']:.{digits}f}, {s['p75']:.{digits}f}] p90 {p90(values):.{digits}f}"


def paired_ratio(idle, busy, key):
    return [b[key] / a[key] for a, b in zip(idle, busy)]


def report(res):
    lat = res["latency"]
    some = next(iter(lat.values()))
    print(f"\n5. Transition latency (ms; median [p25, p75] p90 over {len(some['idle'])} load/disable/unload "
          f"cycles per kind; idle and busy cycles alternate in one process)")
    print("   log: 'enabling patch' to 'patching complete' in the runtime log; enable: to 'starting patching "
          "transition'; transition: the rest; load: the whole `uklp load`")
    print(f"   busy: {CALLERS} more threads call the patched function at full speed; busy/idle: paired ratio "
          "per cycle pair")
    print(f"   {'threads':>7} {'kind':<5} {'log':>30} {'enable':>30} {'transition':>30} {'load (wall)':>30}")
    for n, per in lat.items():
        for kind in ("idle", "busy"):
            cols = [fmt_ms([c[k] for c in per[kind]]) for k in ("log", "enable", "transition", "load")]
            print(f"   {n:>7} {kind:<5} " + " ".join(f"{c:>30}" for c in cols))
        ratios = [fmt_ms(paired_ratio(per["idle"], per["busy"], k)) for k in ("log", "enable", "transition", "load")]
        print(f"   {n:>7} {'b/i':<5} " + " ".join(f"{c:>30}" for c in ratios))
        if per["deaths"]:
            print(f"   {'':>7} the target died in {len(per['deaths'])} cycles (replaced, cycle run again): "
                  + ", ".join(per["deaths"]))
        polls = sum(c["polls"] for kind in ("idle", "busy") for c in per[kind])
        if polls:
            print(f"   {'':>7} `uklp load` returned before the end of the transition: {polls} polls of "
                  "livepatch/.../transition")
        refused = {kind: sum(c.get("refusals", 0) for c in per[kind]) for kind in ("idle", "busy")}
        if any(refused.values()):
            print(f"   {'':>7} a request refused (EBUSY, nothing changed) and tried again: {refused['idle']} times "
                  f"in idle cycles, {refused['busy']} in busy ones")
    h = res["holdup"]
    print(f"\n6. Longest hold-up of a running thread (us; per window the largest gap between consecutive "
          f"CLOCK_MONOTONIC reads of {res['spinners']} spinners, beside {res['holdup_threads']} idle threads;"
          f" median [p25, p75] p90, and max, over {len(h['patch']['all'])} windows)")
    print("   any gap: stopped or preempted; stopped: a gap in which the spinner's voluntary context switches "
          "went up (a ptrace stop)")
    for which in ("all", "stopped"):
        for kind, name in (("baseline", "baseline (no patching)"), ("patch", "load+disable+unload")):
            v = h[kind][which]
            print(f"   {'any gap' if which == 'all' else 'stopped':<8} {name:<26} {fmt_ms(v, 0):>34}  "
                  f"max {max(v):.0f}")
        diff = [p - b for p, b in zip(h["patch"][which], h["baseline"][which])]
        print(f"   {'':<8} {'patch - baseline (paired)':<26} {fmt_ms(diff, 0):>34}  "
              f"max - max {max(h['patch'][which]) - max(h['baseline'][which]):+.0f}")


def report_patch_size(ps):
    n = len(ps["1"])
    print(f"\n8. Patch size (ms; median [p25, p75] p90 over {n} load/disable/unload cycles each; the 1- and "
          "1000-function patches alternate in one idle process of 1 thread)")
    print(f"   {'funcs':>7} {'log':>30} {'enable':>30} {'transition':>30} {'load (wall)':>30}")
    keys = ("log", "enable", "transition", "load")
    for count in FUNC_COUNTS:
        cols = [fmt_ms([c[k] for c in ps[count]]) for k in keys]
        print(f"   {count:>7} " + " ".join(f"{c:>30}" for c in cols))
    ratios = [fmt_ms(paired_ratio(ps["1"], ps["1000"], k)) for k in keys]
    print(f"   {'1000/1':>7} " + " ".join(f"{c:>30}" for c in ratios))
    diffs = [fmt_ms([b[k] - a[k] for a, b in zip(ps["1"], ps["1000"])]) for k in keys]
    print(f"   {'1000-1':>7} " + " ".join(f"{c:>30}" for c in diffs))


def target_rows(res):
    """Issue 5's latency and hold-up targets as rows of bench.print_targets."""
    rows = []
    for n, per in res["latency"].items():
        target = TARGET_MS.get(int(n))
        if target is None:
            continue
        for key, where in (("log", "in the runtime"), ("load", "whole `uklp load`")):
            v = [c[key] for c in per["idle"]]
            rows.append((f"load to patching complete, 1-function patch, {n} idle thread{plural(n)}, {where}",
                         f"{statistics.median(v):.2f} ms (p90 {p90(v):.2f})", "", "", f"{target:g} ms",
                         statistics.median(v) <= target))
    h = res["holdup"]
    stopped, stopped_base = max(h["patch"]["stopped"]), max(h["baseline"]["stopped"])
    worst, base = max(h["patch"]["all"]), max(h["baseline"]["all"])
    rows.append(("longest time a running thread is stopped by a patch (max over windows)", f"{stopped:.0f} us",
                 f"{stopped_base:.0f} us without patching", f"{stopped - stopped_base:+.0f} us (any gap: "
                 f"{worst:.0f} vs {base:.0f} us)", f"< {TARGET_HOLDUP_US:g} us", stopped < TARGET_HOLDUP_US))
    return rows


def busy_rows(res):
    rows = []
    for n, per in res["latency"].items():
        busy = statistics.median(c["log"] for c in per["busy"])
        idle = statistics.median(c["log"] for c in per["idle"])
        ratio = statistics.median(paired_ratio(per["idle"], per["busy"], "log"))
        rows.append((f"transition with {CALLERS} callers at full speed, {n} idle thread{plural(n)} (in the runtime)",
                     f"{busy:.2f} ms", f"idle {idle:.2f} ms", f"{ratio:.2f}x", f"< {TARGET_BUSY_RATIO:g}x",
                     ratio < TARGET_BUSY_RATIO))
    return rows


def plural(n):
    return "" if str(n) == "1" else "s"


def patch_size_rows(ps):
    rows = []
    for key, where in (("log", "in the runtime"), ("load", "whole `uklp load`")):
        big, one = (statistics.median(c[key] for c in ps[n]) for n in ("1000", "1"))
        ratio = statistics.median(paired_ratio(ps["1"], ps["1000"], key))
        rows.append((f"load to patching complete, 1000-function patch, {where}", f"{big:.2f} ms",
                     f"1 function {one:.2f} ms", f"{ratio:.1f}x", f"< {TARGET_1000_FUNCS_MS:g} ms",
                     big < TARGET_1000_FUNCS_MS))
    return rows
