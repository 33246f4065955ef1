"""footprint.py: what the runtime costs a process that has no patch, run by
bench.py (targets of issue 5; docs/design.md, "Benchmarks").

memory  resident memory of an idle prepared program (bench_transition with
        one thread, blocked in read()) from /proc/PID/smaps_rollup: plain,
        with LD_PRELOAD=libuklp.so and UKLP_DISABLE=1 (the runtime mapped,
        its constructor returning at once), and with LD_PRELOAD=libuklp.so
        (its control thread and socket running). A round runs the three one
        after the other, in rotating order: starts one, waits until it is
        idle (and the runtime's socket is listening), reads it and ends it;
        the differences are paired within a round. Rss counts every resident
        page mapped; Pss divides shared pages among the processes mapping
        them (libc's among all, libuklp.so's among none: no other process
        of the benchmark maps it meanwhile); Private counts the pages no
        other process maps. Rss is also read by mapping (/proc/PID/smaps):
        libuklp.so's file mappings, libc's, anonymous memory (heap, stacks,
        bss: mappings with no file) and the rest (the program, ld.so, vdso).
malloc  ns per free+malloc (bench_malloc, malloc.cc) with 1 and 2 threads,
        in a process with LD_PRELOAD=libuklp.so and one without, alive side
        by side: each round runs in both, the order alternating, and the
        ratio with/without is paired within the round; the rounds of several
        such pairs of processes are pooled. A 2-thread round counts when
        both threads ran together for 90 % of the batch in both processes
        (bench.MIN_OVERLAP).
"""
import os
import statistics
import subprocess
import time

import bench

MEMORY_VARIANTS = ("plain", "preload-off", "preload")
MEMORY_FIELDS = ("Rss", "Pss", "Private", "Anonymous")
MAPPING_GROUPS = ("libuklp.so", "libc.so.6", "anonymous", "other")
TARGET_RSS_KIB = 256
TARGET_MALLOC_CHANGE = 0.02  # "no measurable change": the paired ratio within 2 % of 1


class Program:
    """A benchmark program that prints `ready` and then reads commands."""

    def __init__(self, argv, runtime=None, disabled=False):
        env = bench.clean_env()
        if runtime:
            env["LD_PRELOAD"] = runtime
        if disabled:
            env["UKLP_DISABLE"] = "1"
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                     env=env)
        self.pid = self.proc.pid
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{argv[0]} did not start")
        if runtime and not disabled:
            bench.wait_for_socket(self.pid)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def quit(self):
        self.send("quit")
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


# ---- memory ----

def smaps_rollup(pid):
    """{field: KiB} of /proc/PID/smaps_rollup, with Private = Private_Clean + Private_Dirty."""
    kib = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if rest.strip().endswith(" kB"):
                kib[key] = int(rest.split()[0])
    kib["Private"] = kib["Private_Clean"] + kib["Private_Dirty"]
    return {k: kib[k] for k in MEMORY_FIELDS}


def rss_by_mapping(pid):
    """{group of MAPPING_GROUPS: Rss KiB} from /proc/PID/smaps."""
    kib = dict.fromkeys(MAPPING_GROUPS, 0)
    group = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            words = line.split()
            if not words[0].endswith(":"):  # a mapping: RANGE PERMS OFFSET DEV INODE [PATH]
                path = words[5] if len(words) > 5 else ""
                name = os.path.basename(path)
                group = (name if name in MAPPING_GROUPS else
                         "anonymous" if path in ("", "[heap]", "[stack]") else "other")
            elif words[0] == "Rss:":
                kib[group] += int(words[1])
    return kib


def bench_memory(build, rounds):
    """{variant: {field or mapping group: [KiB per round]}}"""
    out = {v: {f: [] for f in MEMORY_FIELDS + MAPPING_GROUPS} for v in MEMORY_VARIANTS}
    argv = [build.transition, "--threads", "1"]
    options = {"plain": {}, "preload-off": {"runtime": build.runtime, "disabled": True},
               "preload": {"runtime": build.runtime}}
    for r in range(rounds):
        for v in MEMORY_VARIANTS[r % 3:] + MEMORY_VARIANTS[:r % 3]:
            p = Program(argv, **options[v])
            try:
                time.sleep(0.1)  # every thread has reached its idle wait
                for field, kib in (smaps_rollup(p.pid) | rss_by_mapping(p.pid)).items():
                    out[v][field].append(kib)
            finally:
                p.quit()
    return out


def report_memory(mem):
    n = len(mem["plain"]["Rss"])
    print(f"\n9. Resident memory of an idle prepared program (KiB, /proc/PID/smaps_rollup; median [p25, p75] over "
          f"{n} rounds; differences paired within a round)")
    print(f"   {'variant':<12} " + " ".join(f"{f:>20}" for f in MEMORY_FIELDS))
    for v in MEMORY_VARIANTS:
        print(f"   {v:<12} " + " ".join(f"{stat(mem[v][f], digits=0):>20}" for f in MEMORY_FIELDS))
    for v in MEMORY_VARIANTS[1:]:
        diffs = [stat(bench.paired(mem["plain"][f], mem[v][f]), digits=0) for f in MEMORY_FIELDS]
        print(f"   {v + ' - plain':<12} " + " ".join(f"{d:>20}" for d in diffs))
    print(f"   Rss by mapping: {'':<14} " + " ".join(f"{g:>20}" for g in MAPPING_GROUPS))
    for v in MEMORY_VARIANTS[1:]:
        diffs = [stat(bench.paired(mem["plain"][g], mem[v][g]), digits=0) for g in MAPPING_GROUPS]
        print(f"   {v + ' - plain':<30} " + " ".join(f"{d:>20}" for d in diffs))


def stat(values, unit="", digits=3):
    """median [p25, p75] of `values`."""
    return bench.fmt(bench.summary(values), unit, digits)


def memory_rows(mem):
    added = statistics.median(bench.paired(mem["plain"]["Rss"], mem["preload"]["Rss"]))
    pss = statistics.median(bench.paired(mem["plain"]["Pss"], mem["preload"]["Pss"]))
    plain = statistics.median(mem["plain"]["Rss"])
    return [("resident memory added by the runtime, no patch loaded (Rss)",
             f"{statistics.median(mem['preload']['Rss']):.0f} KiB", f"{plain:.0f} KiB without the runtime",
             f"{added:+.0f} KiB (Pss {pss:+.0f} KiB)", f"< {TARGET_RSS_KIB} KiB", added < TARGET_RSS_KIB)]


# ---- malloc ----

class MallocProcess(Program):
    def round(self, r):
        """{threads: (ns, overlap)} of round r."""
        self.send(f"run {r}")
        out = {}
        for line in self.proc.stdout:
            words = line.split()
            if words[0] == "round":
                fields = dict(kv.split("=") for kv in words[3:])
                out[words[2]] = (float(fields["ns"]), float(fields["overlap"]))
            elif words[0] == "done":
                return out
            else:
                raise RuntimeError(f"bench_malloc: {line.strip()}")
        raise RuntimeError("bench_malloc exited during a round")


def bench_malloc(build, ops, rounds, repeat):
    """{"1"|"2": {"with": [ns], "without": [ns], "overlap": [min of both processes' overlaps]}}: the
    rounds of `repeat` pairs of processes, pooled (a pair's ratio also depends on where its two
    processes' heaps and threads happen to lie: with 2 threads, pairs differed by up to 4 % either
    way, each with a narrow spread)."""
    argv = [build.malloc, "--ops", str(ops)]
    out = {t: {"with": [], "without": [], "overlap": []} for t in ("1", "2")}
    for _ in range(repeat):
        procs = {"without": MallocProcess(argv), "with": MallocProcess(argv, runtime=build.runtime)}
        try:
            for r in range(rounds):
                got = {k: procs[k].round(r) for k in (("with", "without") if r % 2 else ("without", "with"))}
                for t, res in out.items():
                    for k in ("with", "without"):
                        res[k].append(got[k][t][0])
                    res["overlap"].append(min(got[k][t][1] for k in got))
        finally:
            for p in procs.values():
                p.quit()
    return out


def malloc_rounds(r):
    """The rounds to compare: with 2 threads, those where both ran together in both processes."""
    keep = [i for i, o in enumerate(r["overlap"]) if o >= bench.MIN_OVERLAP]
    return [r["with"][i] for i in keep], [r["without"][i] for i in keep]


def report_malloc(ml):
    n = len(ml["1"]["with"])
    print(f"\n10. free+malloc (ns per operation and thread, wall time; median [p25, p75] over {n} rounds; ratio "
          "with/without the runtime paired within a round)")
    print(f"   {'threads':>7} {'with LD_PRELOAD':>24} {'without':>24} {'ratio':>22}  rounds")
    for t, r in ml.items():
        print(f"   {t:>7} " + bench.ratio_columns(*malloc_rounds(r), n, ratio_digits=3))
    print(f"   rounds: with 2 threads, only those where both threads ran together for {bench.MIN_OVERLAP:.0%} of the "
          "batch in both processes")


def malloc_rows(ml):
    rows = []
    for t, r in ml.items():
        w, wo = malloc_rounds(r)
        what = f"malloc+free with the runtime loaded, {t} thread{'s' if t != '1' else ''}"
        target = f"no measurable change (ratio within {TARGET_MALLOC_CHANGE:.0%})"
        if not w:
            rows.append((what, "-", "-", "no round with both threads together", target, None))
            continue
        s = bench.summary([a / b for a, b in zip(w, wo)])
        rows.append((what, f"{statistics.median(w):.1f} ns", f"{statistics.median(wo):.1f} ns without",
                     f"{s['median']:.3f}x [{s['p25']:.3f}, {s['p75']:.3f}]", target,
                     abs(s["median"] - 1) <= TARGET_MALLOC_CHANGE))
    return rows
