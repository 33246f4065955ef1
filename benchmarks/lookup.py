"""lookup.py: the symbol-lookup benchmark, run by bench.py (target of issue
5; docs/design.md, "Benchmarks").

bench_symbol_lookup (symbol_lookup.cc: runtime/symbols.cc compiled in)
resolves 1000 names in libbench_symbols_100k.so, an object with 100,000
function symbols: per round the first lookups after dlopen() (the table is
read and indexed), the same lookups again (warm), and dlsym() of the same
names, the dynamic linker's hash lookup, as the baseline; dlopen() of the
object is timed too.
"""
import statistics
import subprocess

import bench

KINDS = ("first", "warm", "dlsym", "dlopen")
TARGET_MS = 10.0


def bench_symbols(build, rounds, names=1000):
    """{kind: [ms per round's `names` lookups]}"""
    out = subprocess.run([build.symbol_lookup, "--rounds", str(rounds), "--names", str(names), build.symbols_lib],
                         env=bench.clean_env(), stdout=subprocess.PIPE, text=True, check=True).stdout
    res = {k: [] for k in KINDS}
    for line in out.splitlines():
        fields = dict(kv.split("=") for kv in line.split()[2:])
        for k in KINDS:
            res[k].append(int(fields[k]) / 1e6)
    res["names"] = names
    return res


def report(sy):
    n = len(sy["first"])
    print(f"\n11. Resolving {sy['names']} names in an object with 100,000 symbols (ms; median [p25, p75] over {n} "
          "rounds; ratios paired within a round)")
    labels = {"first": "lookup_symbol(), first (table read and indexed)", "warm": "lookup_symbol(), warm",
              "dlsym": "dlsym() (baseline)", "dlopen": "dlopen() of the object"}
    for k in KINDS:
        print(f"   {labels[k]:<48} {bench.fmt(bench.summary(sy[k])):>28}")
    for a, b in (("warm", "dlsym"), ("first", "dlopen")):
        ratio = [x / y for x, y in zip(sy[a], sy[b])]
        print(f"   {a + ' / ' + b:<48} {bench.fmt(bench.summary(ratio), 'x', 2):>28}")


def target_rows(sy):
    first = statistics.median(sy["first"])
    warm = statistics.median(sy["warm"])
    dlsym = statistics.median(sy["dlsym"])
    return [(f"resolving {sy['names']} names, 100,000 symbols, first lookup (table read included)",
             f"{first:.2f} ms", f"dlopen() {statistics.median(sy['dlopen']):.2f} ms",
             f"warm {warm:.3f} ms, dlsym() {dlsym:.3f} ms", f"< {TARGET_MS:g} ms", first < TARGET_MS)]
