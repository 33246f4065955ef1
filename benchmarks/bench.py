#!/usr/bin/env python3
"""bench.py: runs the uklp benchmarks and prints a summary table.

    bench.py [--smoke] [options] BUILD_DIR

BUILD_DIR must hold the built `uklp-benchmarks` target (run.sh builds it).
The benchmarks (docs/design.md, "Benchmarks", says why each is built so;
--only NAME runs one), then a table of issue 5's targets:

  startup  runs of a trivial prepared program: plain, with
           LD_PRELOAD=libuklp.so (and its constructor off, UKLP_DISABLE=1),
           and via `uklp run --`, interleaved (bench_spawn): wall time until
           main() starts, of the whole run, and CPU time; plus `uklp
           --version` alone, the CLI's share of `uklp run`.
  dlopen   dlopen(RTLD_NOW) in a fresh process of libuklp.so, of libuklp.so
           with UKLP_DISABLE=1 (its constructor returns at once), and of a
           similar empty C++ library, interleaved: the runtime's in-process
           start-up cost, and its constructor alone.
  calls    ns per call of base() (no pad), padded() (pad, never patched) and
           patched(), and of lib_base() and lib_patched() in a shared
           library, in five states: (a) no runtime, (b) runtime loaded,
           nothing patched, (e) during the patching transition of a module
           replacing patched() and lib_patched() with the same body (a
           thread sleeps in hold(), which the module replaces too), (c)
           once it is complete, (d) after `uklp disable`. (b), (e), (c) and
           (d) are phases of one process, paused between phases while the
           CLI patches it.
  branch   a hand-made site's cost (bench_branch_distance, no uklp) when its
           target differs from it in address bit K: why (c) costs more for
           the main program than for the library.
  transition  the latency of a patching transition with 1, 100 and 1000
           idle threads, idle and with callers of the patched function, and
           the longest hold-up of a running thread (transition.py).
  shadow   ns per klp_shadow_get (hit), klp_shadow_alloc + klp_shadow_free
           and klp_shadow_get_or_alloc (hit), with 1 and 2 threads on
           different objects, against a std::mutex around a
           std::unordered_map doing the same work (bench_shadow).
  patchsize  load to `patching complete` of a 1000-function patch against
           a 1-function patch, alternating in one idle process (transition.py).
  memory   resident memory of an idle prepared program with and without
           the runtime (footprint.py).
  malloc   free+malloc with and without the runtime, 1 and 2 threads
           (footprint.py).
  symbols  1000 lookups in an object with 100,000 symbols, first and warm,
           against dlsym() (lookup.py).
  many     one `uklp load` / `disable` / `unload` of 100 and of 1000 idle
           processes (--many-counts), first and later patches, against the
           single-process form on one process times N (many.py).

Every comparison is made within one run (a round of the interleaving), then
summarized over rounds as a median with its interquartile range [p25, p75]:
the machines are shared and noisy. No number is asserted: --smoke runs
everything with tiny counts and only checks that it works (ctest label
benchmark-smoke).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# transition first: it imports names from this file (the others import the
# module and use it at run time), which works only while this file is being
# imported by it.
import transition  # noqa: I001
import footprint
import lookup
import many

PATCH_NAME = "livepatch_bench_calls"  # livepatch-bench-calls.so
FUNCS = ("base", "padded", "patched", "lib_base", "lib_patched")


# ---- statistics ----

def quantile(values, q):
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def summary(values):
    """median, p25, p75 of a list of numbers."""
    return {"median": statistics.median(values), "p25": quantile(values, 0.25),
            "p75": quantile(values, 0.75), "n": len(values)}


def paired(a, b):
    """b[i] - a[i] for each round i."""
    return [y - x for x, y in zip(a, b)]


# ---- paths and environment ----

class Build:
    def __init__(self, build_dir):
        d = os.path.abspath(build_dir)
        self.uklp = os.path.join(d, "bin", "uklp")
        self.runtime = os.path.join(d, "lib", "libuklp.so")
        b = os.path.join(d, "benchmarks")
        self.trivial = os.path.join(b, "bench_trivial")
        self.spawn = os.path.join(b, "bench_spawn")
        self.probe = os.path.join(b, "bench_dlopen_probe")
        self.empty = os.path.join(b, "libuklp_bench_empty.so")
        self.calls = os.path.join(b, "bench_calls")
        self.calls_lib = os.path.join(b, "libbench_calls_lib.so")
        self.module = os.path.join(b, "livepatch-bench-calls.so")
        self.branch = os.path.join(b, "bench_branch_distance")
        self.transition = os.path.join(b, "bench_transition")
        self.transition_module = os.path.join(b, "livepatch-bench-transition.so")
        self.shadow = os.path.join(b, "bench_shadow")
        self.funcs = os.path.join(b, "bench_funcs")
        self.funcs_modules = {n: os.path.join(b, f"livepatch-bench-funcs-{n}.so") for n in transition.FUNC_COUNTS}
        self.malloc = os.path.join(b, "bench_malloc")
        self.symbol_lookup = os.path.join(b, "bench_symbol_lookup")
        self.symbols_lib = os.path.join(b, "libbench_symbols_100k.so")
        paths = [p for v in vars(self).values() for p in (v.values() if isinstance(v, dict) else [v])]
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            sys.exit(f"bench.py: missing {', '.join(missing)}: build the uklp-benchmarks target first")


def clean_env(**extra):
    """The environment without anything that would load or steer uklp."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("UKLP_")}
    env.update(extra)
    return env


# ---- 1. start-up ----

STARTUP_VARIANTS = ("plain", "preload-off", "preload", "uklp-run", "cli-only")


def bench_startup(build, runs, warmup):
    """{metric: {variant: [microseconds per run]}}, metrics wall, main, exit, cpu."""
    variants = [
        ["plain", build.trivial],
        ["preload-off", "UKLP_DISABLE=1", f"LD_PRELOAD={build.runtime}", build.trivial],
        ["preload", f"LD_PRELOAD={build.runtime}", build.trivial],
        ["uklp-run", build.uklp, "run", "--", build.trivial],
        ["cli-only", build.uklp, "--version"],  # the CLI's own share of uklp-run
    ]
    argv = [build.spawn, str(runs + warmup)]
    for i, v in enumerate(variants):
        argv += ([":::"] if i else []) + v
    out = subprocess.run(argv, env=clean_env(), stdout=subprocess.PIPE, text=True, check=True).stdout
    m = {k: {v: [] for v in STARTUP_VARIANTS} for k in ("wall", "main", "exit", "cpu")}
    for line in out.splitlines():
        name, wall, main, cpu = line.split()
        if int(main) < 0 and name != "cli-only":
            raise RuntimeError(f"startup: {name}: the program did not report the start of main()")
        m["wall"][name].append(int(wall) / 1e3)
        m["main"][name].append(int(main) / 1e3)
        m["exit"][name].append((int(wall) - int(main)) / 1e3)
        m["cpu"][name].append(int(cpu) / 1e3)
    return {k: {v: t[warmup:] for v, t in per.items()} for k, per in m.items()}


# ---- 2. dlopen ----

def probe_once(build, lib, **env):
    out = subprocess.run([build.probe, lib], env=clean_env(**env), stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    return int(out) / 1e3  # microseconds


def bench_dlopen(build, runs, warmup):
    variants = [
        ("empty", lambda: probe_once(build, build.empty)),
        ("uklp-disabled", lambda: probe_once(build, build.runtime, UKLP_DISABLE="1")),
        ("uklp", lambda: probe_once(build, build.runtime)),
    ]
    times = {name: [] for name, _ in variants}
    for r in range(runs + warmup):
        for k in range(len(variants)):
            name, probe = variants[(r + k) % len(variants)]
            times[name].append(probe())
    return {name: t[warmup:] for name, t in times.items()}


# ---- 3. calls ----

class CallsProcess:
    """bench_calls, plain or under `uklp run`, driven phase by phase."""

    def __init__(self, build, args, with_runtime):
        cmd = [build.calls, *args]
        if with_runtime:
            cmd = [build.uklp, "run", "--", *cmd]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1, env=clean_env())
        self.pid = self.proc.pid
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("bench_calls did not start")
        if with_runtime:
            wait_for_socket(self.pid)

    def phase(self, label):
        """Runs one phase; returns ({func: [ns per round]}, {func: its two entry bytes})."""
        self.proc.stdin.write(f"run {label}\n")
        self.proc.stdin.flush()
        rounds = {f: [] for f in FUNCS}
        entry = None
        for line in self.proc.stdout:
            words = line.split()
            if words[0] == "round":
                for kv in words[3:]:
                    k, v = kv.split("=")
                    rounds[k].append(float(v))
            elif words[0] == "entry":
                entry = parse_entry(words[2:])
            elif words[0] == "done":
                return rounds, entry
            else:
                raise RuntimeError(f"bench_calls: {line.strip()}")
        raise RuntimeError("bench_calls exited during a phase")

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().split()
        if not reply or reply[0] != "ok":
            raise RuntimeError(f"bench_calls: {line}: {' '.join(reply) or 'exited'}")
        return reply[1:]

    def hold(self):
        """Starts a thread asleep in hold() (a function of the patch)."""
        tid = int(self.ask("hold")[0])
        wait_until(lambda: thread_state(self.pid, tid) == "S", "the holder did not block in hold()")

    def quit(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def thread_state(pid, tid):
    """The state letter of /proc/PID/task/TID/stat (R, S, D, t...)."""
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0]


def wait_until(done, failure, seconds=10):
    for _ in range(int(seconds * 1000)):
        if done():
            return
        time.sleep(0.001)
    raise RuntimeError(failure)


def wait_for_socket(pid):
    """Until the runtime in process `pid` listens on its control socket."""
    name = f"@uklp/{pid}"
    for _ in range(500):
        with open("/proc/net/unix") as f:
            if any(line.rstrip().endswith(name) for line in f):
                return
        time.sleep(0.01)
    raise RuntimeError("the runtime's control socket did not appear")


def uklp(build, *args):
    """Runs `uklp ARGS...`; returns its standard output."""
    proc = subprocess.run([build.uklp, *map(str, args)], env=clean_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"uklp {' '.join(map(str, args))}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def in_transition(build, pid, patch):
    return uklp(build, "sys", pid, f"livepatch/{patch}/transition").split()[-1] == "1"


def parse_entry(words):
    """['patched=90', '90', 'lib_patched=eb', 'f0'] -> {'patched': '90 90', ...}"""
    out = {}
    for first, second in zip(words[0::2], words[1::2]):
        name, _, byte = first.partition("=")
        out[name] = f"{byte} {second}"
    return out


def check_entry(state, entry):
    for func, code in entry.items():
        if code.startswith("eb ") != (state in "ce"):
            raise RuntimeError(f"state {state}: {func}() entry is '{code}'")


def calls_states(build, args):
    """One process without the runtime, one with it: states a, b, e, c, d."""
    result = {}
    plain = CallsProcess(build, args, with_runtime=False)
    result["a"] = plain.phase("a")
    plain.quit()
    p = CallsProcess(build, args, with_runtime=True)
    result["b"] = p.phase("b")
    p.hold()  # the patching transition stays open until release
    uklp(build, "load", "--no-wait", p.pid, build.module)
    distances = code_distances(p.pid, build)
    result["e"] = p.phase("e")
    if not in_transition(build, p.pid, PATCH_NAME):
        raise RuntimeError("state e: the patching transition ended during the phase")
    p.ask("release")
    wait_until(lambda: not in_transition(build, p.pid, PATCH_NAME), "the patching transition did not end")
    result["c"] = p.phase("c")
    uklp(build, "disable", p.pid, PATCH_NAME)
    result["d"] = p.phase("d")
    p.quit()
    for state, (_, entry) in result.items():
        check_entry(state, entry)
    return {state: rounds for state, (rounds, _) in result.items()}, distances


def code_distances(pid, build):
    """How far the patch module's mapping lies from the main program's and from the library's."""
    starts = {}
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6:
                starts.setdefault(os.path.realpath(fields[5]), int(fields[0].split("-")[0], 16))
    module = starts[os.path.realpath(build.module)]
    return {"main": abs(module - starts[os.path.realpath(build.calls)]),
            "library": abs(module - starts[os.path.realpath(build.calls_lib)])}


def bench_calls(build, calls, rounds, repeat):
    """Pools the rounds of `repeat` pairs of processes."""
    args = ["--calls", str(calls), "--rounds", str(rounds)]
    pooled = {s: {f: [] for f in FUNCS} for s in CALL_STATES}
    distances = []
    for _ in range(repeat):
        states, d = calls_states(build, args)
        distances.append(d)
        for state, per_func in states.items():
            for f in FUNCS:
                pooled[state][f] += per_func[f]
    return pooled, distances


# ---- 4. branch distance ----

def bench_branch(build, calls, rounds):
    """{bit: ns} from bench_branch_distance; the bit "near" is the body next to the site."""
    out = subprocess.run([build.branch, "--calls", str(calls), "--rounds", str(rounds)], env=clean_env(),
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return {words[1]: float(words[2]) for words in map(str.split, out.splitlines())}


# ---- 6. shadow variables ----

SHADOW_OPS = ("get", "alloc_free", "get_or_alloc")
MIN_OVERLAP = 0.9  # a 2-thread round counts if both threads ran together this much of it


def bench_shadow(build, ops, rounds):
    """{"OP/THREADS": {"shadow": [ns], "baseline": [ns], "overlap": [min of both overlaps]}}"""
    out = subprocess.run([build.shadow, "--ops", str(ops), "--rounds", str(rounds)], env=clean_env(),
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        _, _, op, threads, *kvs = line.split()
        fields = dict(kv.split("=") for kv in kvs)
        r = res.setdefault(f"{op}/{threads}", {"shadow": [], "baseline": [], "overlap": []})
        r["shadow"].append(float(fields["shadow"]))
        r["baseline"].append(float(fields["baseline"]))
        r["overlap"].append(min(float(x) for x in fields["overlap"].split(",")))
    return res


def shadow_rounds(r):
    """The rounds to compare: with 2 threads, those where both ran together."""
    keep = [i for i, o in enumerate(r["overlap"]) if o >= MIN_OVERLAP]
    return [r["shadow"][i] for i in keep], [r["baseline"][i] for i in keep]


# ---- report ----

def cpu_model():
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    return f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')})"


def compiler(build_dir):
    path = "c++"
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_CXX_COMPILER:"):
                    path = line.split("=", 1)[1].strip()
    except OSError:
        pass
    out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else path


def report_machine(build_dir):
    print(f"date {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs, {cpu_model()}; "
          f"kernel {os.uname().release}; {compiler(build_dir)}")
    print("load average %.2f %.2f %.2f at the start\n" % os.getloadavg())


def fmt(s, unit="", digits=3):
    return f"{s['median']:.{digits}f}{unit} [{s['p25']:.{digits}f}, {s['p75']:.{digits}f}]"


def report_startup(st):
    n = len(st["wall"]["plain"])
    print(f"1. Runs of a trivial prepared program (us per run; median [p25, p75] over {n} interleaved runs)")
    print("   to main: exec to the start of main(); main+exit: the rest; CPU: user+sys of all threads")
    print(f"   {'variant':<12} {'wall':>20} {'to main':>20} {'main+exit':>20} {'CPU':>20}"
          f"   {'wall - plain':>20} {'to main - plain':>20}")
    for name in STARTUP_VARIANTS:
        cols = [fmt(summary(st[k][name]), digits=0) for k in ("wall", "main", "exit", "cpu")]
        diffs = ["", ""]
        if name == "cli-only":  # no main() of trivial
            cols[1] = cols[2] = "-"
            diffs = [fmt(summary(paired(st["wall"]["plain"], st["wall"][name])), digits=0), ""]
        elif name != "plain":
            diffs = [fmt(summary(paired(st[k]["plain"], st[k][name])), digits=0) for k in ("wall", "main")]
        print(f"   {name:<12} " + " ".join(f"{c:>20}" for c in cols) + "   " + " ".join(f"{d:>20}" for d in diffs))


def report_dlopen(dl):
    print(f"\n2. dlopen(RTLD_NOW) in a fresh process (us; median [p25, p75] over {len(dl['uklp'])} runs each)")
    for name in ("empty", "uklp-disabled", "uklp"):
        print(f"   {name:<34} {fmt(summary(dl[name]), digits=1):>26}")
    print(f"   {'uklp - empty (upper bound)':<34} {fmt(summary(paired(dl['empty'], dl['uklp'])), digits=1):>26}")
    print(f"   {'uklp - uklp-disabled (constructor)':<34} "
          f"{fmt(summary(paired(dl['uklp-disabled'], dl['uklp'])), digits=1):>26}")


CALL_STATES = {"a": "(a) no runtime", "b": "(b) runtime, nothing patched", "e": "(e) load, in transition",
               "c": "(c) after uklp load", "d": "(d) after uklp disable"}
CALL_DIFFS = (("padded", "base"), ("patched", "base"), ("lib_patched", "lib_base"))


def human_size(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def report_calls(pooled, distances):
    n = len(pooled["a"]["base"])
    print(f"\n3. Calls (ns per call; median [p25, p75] over {n} rounds; differences paired within a round)")
    print(f"   {'state':<28} " + " ".join(f"{f:>21}" for f in FUNCS))
    for state, name in CALL_STATES.items():
        print(f"   {name:<28} " + " ".join(f"{fmt(summary(pooled[state][f])):>21}" for f in FUNCS))
    print(f"   {'differences':<28} " + " ".join(f"{a + ' - ' + b:>24}" for a, b in CALL_DIFFS))
    for state, name in CALL_STATES.items():
        r = pooled[state]
        print(f"   {name:<28} " + " ".join(f"{fmt(summary(paired(r[b], r[a]))):>24}" for a, b in CALL_DIFFS))
    print("   distance of the patch module from the main program: " +
          ", ".join(human_size(d["main"]) for d in distances) +
          "; from the library: " + ", ".join(human_size(d["library"]) for d in distances))
    print("   padded vs base, relative: " + ", ".join(
        f"({s}) {fmt(summary(relative(pooled[s]['base'], pooled[s]['padded'])), '%', 2)}" for s in "abd"))


def relative(base, other):
    """100 * (other[i] / base[i] - 1) for each round i."""
    return [100 * (o / b - 1) for b, o in zip(base, other)]


def report_branch(br):
    low = [ns for bit, ns in br.items() if bit != "near" and int(bit) <= 36]
    high = [ns for bit, ns in br.items() if bit != "near" and int(bit) >= 37]
    print("\n4. A hand-made site (jmp rel8; jmp *slot) whose target differs from it in address bit K, "
          "ns per call over a direct call (median over rounds)")
    print("   " + " ".join(f"{bit}:{ns:+.2f}" for bit, ns in br.items()))
    if low and high:
        print(f"   median over K <= 36: {statistics.median(low):+.3f} ns; over K >= 37: {statistics.median(high):+.3f} ns")


def verdict(ok):
    return "-" if ok is None else "met" if ok else "MISSED"


def startup_rows(st, dl):
    """Issue 2's constructor claim and issue 5's start-up target as rows of print_targets."""
    ctor = summary(paired(dl["uklp-disabled"], dl["uklp"]))["median"]
    rows = [("start-up, the runtime's constructor (dlopen; issue 2)", f"{statistics.median(dl['uklp']):.0f} us",
             f"UKLP_DISABLE=1 {statistics.median(dl['uklp-disabled']):.0f} us", f"{ctor:+.0f} us", "< 1000 us",
             ctor < 1000)]
    for variant in ("preload", "uklp-run"):
        main = summary(paired(st["main"]["plain"], st["main"][variant]))["median"]
        wall = summary(paired(st["wall"]["plain"], st["wall"][variant]))["median"]
        rows.append((f"program start-up with the runtime ({variant}), exec to main()",
                     f"{statistics.median(st['main'][variant]):.0f} us",
                     f"{statistics.median(st['main']['plain']):.0f} us without",
                     f"{main:+.0f} us (whole run {wall:+.0f} us)", "< +200 us", main < 200))
    return rows


def calls_rows(pooled):
    """Issue 5's call targets as rows of print_targets."""
    rows = []
    for state, when, target in (("c", "no transition in progress", 0.75), ("e", "during a transition", 3.0)):
        r = pooled[state]
        for what, func, base in (("main program", "patched", "base"), ("library", "lib_patched", "lib_base")):
            cost = summary(paired(r[base], r[func]))["median"]
            rows.append((f"call to a patched function, {when}, {what} ({state})",
                         f"{statistics.median(r[func]):.3f} ns", f"{base}() {statistics.median(r[base]):.3f} ns",
                         f"{cost:+.3f} ns", f"<= +{target:g} ns", cost <= target))
    padded = {s: summary(relative(pooled[s]["base"], pooled[s]["padded"]))["median"] for s in "ab"}
    rows.append(("call to a patchable function that is not patched (a)",
                 f"{statistics.median(pooled['a']['padded']):.3f} ns",
                 f"base() {statistics.median(pooled['a']['base']):.3f} ns",
                 f"{padded['a']:+.2f}% (runtime loaded, b: {padded['b']:+.2f}%)", "within 2%",
                 abs(padded["a"]) <= 2))
    return rows


def print_targets(rows):
    """rows: (what, measured, baseline, difference or ratio, target, met: bool or None)"""
    heads = ("what", "measured", "baseline", "difference / ratio", "target", "")
    width = [max(len(str(r[i])) for r in [heads, *rows]) for i in range(5)]
    print("\nTargets (issue 5; medians, differences and ratios paired within a round):")
    for r in [heads, *rows]:
        cells = [f"{r[i]:<{width[i]}}" for i in range(5)]
        print("   " + " | ".join(cells) + " | " + (r[5] if r is heads else verdict(r[5])))


def ratio_columns(a, b, total, ratio_digits=2):
    """Columns a, b and a/b (paired) over the rounds that count, out of `total`."""
    if not a:
        return f"{'-':>24} {'-':>24} {'-':>22}  0/{total}"
    ratio = [x / y for x, y in zip(a, b)]
    return (f"{fmt(summary(a), digits=1):>24} {fmt(summary(b), digits=1):>24} "
            f"{fmt(summary(ratio), digits=ratio_digits):>22}  {len(a)}/{total}")


def report_shadow(sh):
    n = len(next(iter(sh.values()))["shadow"])
    print(f"\n7. Shadow variables (ns per operation and thread, wall time; median [p25, p75] over {n} rounds;"
          " ratio shadow/baseline paired within a round)")
    print(f"   {'operation':<14} {'threads':>7} {'shadow':>24} {'mutex+unordered_map':>24} {'ratio':>22}  rounds")
    for op in SHADOW_OPS:
        for threads in ("1", "2"):
            r = sh[f"{op}/{threads}"]
            print(f"   {op:<14} {threads:>7} " + ratio_columns(*shadow_rounds(r), len(r["shadow"])))
    print(f"   rounds: those that count; with 2 threads, only the rounds where both threads ran together for"
          f" {MIN_OVERLAP:.0%} of both batches (a loaded machine often runs them one after the other)")


BENCHMARKS = ("startup", "dlopen", "calls", "branch", "transition", "shadow", "patchsize", "memory", "malloc",
              "symbols", "many")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--smoke", action="store_true", help="tiny counts: check that everything runs")
    ap.add_argument("--startup-runs", type=int, default=300)
    ap.add_argument("--dlopen-runs", type=int, default=200)
    ap.add_argument("--calls", type=int, default=200000, help="calls per batch")
    ap.add_argument("--rounds", type=int, default=201, help="rounds per phase")
    ap.add_argument("--repeat", type=int, default=3, help="process pairs for the call benchmark")
    ap.add_argument("--transition-threads", default="1,100,1000", help="thread counts of the transition benchmark")
    ap.add_argument("--transition-cycles", type=int, default=20, help="idle and busy cycles per thread count")
    ap.add_argument("--holdup-threads", type=int, default=100, help="idle threads of the hold-up target")
    ap.add_argument("--holdup-spinners", type=int, default=2)
    ap.add_argument("--holdup-windows", type=int, default=20, help="patching and baseline windows each")
    ap.add_argument("--shadow-ops", type=int, default=20000, help="operations per batch of the shadow benchmark")
    ap.add_argument("--shadow-rounds", type=int, default=201)
    ap.add_argument("--patchsize-cycles", type=int, default=20, help="cycles of each patch size")
    ap.add_argument("--memory-rounds", type=int, default=20)
    ap.add_argument("--malloc-ops", type=int, default=20000, help="operations per batch of the malloc benchmark")
    ap.add_argument("--malloc-rounds", type=int, default=101, help="rounds per pair of processes")
    ap.add_argument("--malloc-repeat", type=int, default=3, help="pairs of processes of the malloc benchmark")
    ap.add_argument("--symbols-rounds", type=int, default=21)
    ap.add_argument("--many-counts", default="100,1000", help="process counts of the many benchmark (issue 5 "
                    "has targets for both)")
    ap.add_argument("--many-rounds", type=int, default=5, help="later-patch rounds of the many benchmark")
    ap.add_argument("--only", choices=BENCHMARKS, action="append", help="run only this benchmark (repeatable)")
    ap.add_argument("--json", help="also write the raw measurements to this file")
    a = ap.parse_args()
    warmup = 5
    if a.smoke:
        a.startup_runs, a.dlopen_runs, a.calls, a.rounds, a.repeat, warmup = 3, 3, 1000, 3, 1, 1
        a.transition_threads, a.transition_cycles, a.holdup_threads, a.holdup_windows = "1,3", 1, 3, 1
        a.shadow_ops, a.shadow_rounds = 1000, 3
        a.patchsize_cycles, a.memory_rounds, a.malloc_ops, a.malloc_rounds, a.symbols_rounds = 1, 1, 1000, 3, 2
        a.malloc_repeat = 1
        a.many_counts, a.many_rounds = "3", 1
    only = set(a.only or BENCHMARKS)
    build = Build(a.build_dir)
    report_machine(a.build_dir)
    raw = {}
    if "startup" in only:
        raw["startup"] = st = bench_startup(build, a.startup_runs, warmup)
    if "dlopen" in only:
        raw["dlopen"] = dl = bench_dlopen(build, a.dlopen_runs, warmup)
    if "calls" in only:
        pooled, distances = bench_calls(build, a.calls, a.rounds, a.repeat)
        raw["calls"], raw["distances"] = pooled, distances
    if "branch" in only:
        raw["branch"] = br = bench_branch(build, a.calls, 51 if not a.smoke else 3)
    if "transition" in only:
        raw["transition"] = tr = transition.run(build, [int(n) for n in a.transition_threads.split(",")],
                                                a.transition_cycles, a.holdup_threads, a.holdup_spinners,
                                                a.holdup_windows)
    if "shadow" in only:
        raw["shadow"] = sh = bench_shadow(build, a.shadow_ops, a.shadow_rounds)
    if "patchsize" in only:
        raw["patchsize"] = ps = transition.patch_size(build, a.patchsize_cycles)
    if "memory" in only:
        raw["memory"] = mem = footprint.bench_memory(build, a.memory_rounds)
    if "malloc" in only:
        raw["malloc"] = ml = footprint.bench_malloc(build, a.malloc_ops, a.malloc_rounds, a.malloc_repeat)
    if "symbols" in only:
        raw["symbols"] = sy = lookup.bench_symbols(build, a.symbols_rounds)
    if "many" in only:
        raw["many"] = mn = many.run(build, [int(n) for n in a.many_counts.split(",")], a.many_rounds)
    if "startup" in only:
        report_startup(st)
    if "dlopen" in only:
        report_dlopen(dl)
    if "calls" in only:
        report_calls(pooled, distances)
    if "branch" in only:
        report_branch(br)
    if "transition" in only:
        transition.report(tr)
    if "shadow" in only:
        report_shadow(sh)
    if "patchsize" in only:
        transition.report_patch_size(ps)
    if "memory" in only:
        footprint.report_memory(mem)
    if "malloc" in only:
        footprint.report_malloc(ml)
    if "symbols" in only:
        lookup.report(sy)
    if "many" in only:
        many.report(mn)
    rows = []  # issue 5's targets, in the issue's order
    if "calls" in only:
        rows += calls_rows(pooled)
    if "transition" in only:
        rows += transition.target_rows(tr)
    if "patchsize" in only:
        rows += transition.patch_size_rows(ps)
    if "transition" in only:
        rows += transition.busy_rows(tr)
    if "memory" in only:
        rows += footprint.memory_rows(mem)
    if {"startup", "dlopen"} <= only:
        rows += startup_rows(st, dl)
    if "malloc" in only:
        rows += footprint.malloc_rows(ml)
    if "symbols" in only:
        rows += lookup.target_rows(sy)
    if "many" in only:
        rows += many.target_rows(mn)
    if rows:
        print_targets(rows)
    print("load average %.2f %.2f %.2f at the end" % os.getloadavg())
    if a.json:
        with open(a.json, "w") as f:
            json.dump(raw, f)


if __name__ == "__main__":
    main()
