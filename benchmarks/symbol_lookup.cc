// symbol_lookup.cc: the runtime's symbol resolution (runtime/symbols.cc,
// compiled into this program as in tests/unit/symbols) in an object with
// 100,000 symbols, libbench_symbols_100k.so (symbols_100k.S): what
// resolving the functions of a large patch costs (bench.py "symbols";
// docs/design.md, "Benchmarks").
//
//   bench_symbol_lookup [--rounds N] [--names K] LIB
//
// A round dlopen()s LIB, then times:
//   first   find_object() and lookup_symbol() of K names, the first lookup
//           in the object: opening its file, reading and indexing its
//           symbol table, as for the first patch that names it;
//   warm    the same K lookups again, from the cached table;
//   dlsym   dlsym() of the same K names: the dynamic linker's hash lookup
//           in .dynsym, the baseline of a warm lookup;
// (warm and dlsym in alternating order), checks that both found the same
// addresses, then dlclose()s LIB and drops its table
// (forget_unloaded_objects()), so the next round parses it again. The K
// names are spread evenly over the table, in a shuffled order. Output, one
// line per round, nanoseconds per round's K names:
//   round R dlopen=NS first=NS warm=NS dlsym=NS
#include <dlfcn.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "symbols.h"

namespace {

constexpr long kSymbols = 100000;              // in symbols_100k.S
constexpr char kSoname[] = "libbench_symbols_100k.so";

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "bench_symbol_lookup: %s\n", what.c_str());
  exit(1);
}

// K names spread evenly over the table, shuffled (a fixed LCG, so every run
// looks up the same names in the same order).
std::vector<std::string> pick_names(long k) {
  std::vector<std::string> names;
  long step = kSymbols / k;
  for (long i = 0; i < k; ++i) names.push_back("bench_symbol_" + std::to_string(i * step + 37 % step));
  uint64_t x = 42;
  for (size_t i = names.size(); i > 1; --i) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    std::swap(names[i - 1], names[(x >> 33) % i]);
  }
  return names;
}

// Every name through lookup_symbol(): the addresses, in order.
std::vector<uintptr_t> lookup_all(const uklp::rt::LoadedObject& obj, const std::vector<std::string>& names) {
  std::vector<uintptr_t> out;
  out.reserve(names.size());
  for (const auto& n : names) {
    auto s = uklp::rt::lookup_symbol(obj, n, 0);
    if (!s) fail(s.status().describe());
    out.push_back(s->address);
  }
  return out;
}

std::vector<uintptr_t> dlsym_all(void* handle, const std::vector<std::string>& names) {
  std::vector<uintptr_t> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(reinterpret_cast<uintptr_t>(dlsym(handle, n.c_str())));
  return out;
}

struct Round {
  uint64_t dlopen = 0, first = 0, warm = 0, dlsym = 0;
};

Round run_round(const char* lib, const std::vector<std::string>& names, bool dlsym_first) {
  Round r;
  size_t tables = uklp::rt::for_testing::cached_table_count();
  uint64_t t0 = now_ns();
  void* handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  uint64_t t1 = now_ns();
  if (!handle) fail(dlerror());
  auto obj = uklp::rt::find_object(kSoname);
  if (!obj) fail(obj.status().describe());
  auto first = lookup_all(*obj, names);
  uint64_t t2 = now_ns();
  r.dlopen = t1 - t0;
  r.first = t2 - t1;
  std::vector<uintptr_t> warm, by_dlsym;
  for (int k = 0; k < 2; ++k) {
    uint64_t a = now_ns();
    if ((k == 0) == dlsym_first) {
      by_dlsym = dlsym_all(handle, names);
      r.dlsym = now_ns() - a;
    } else {
      warm = lookup_all(*obj, names);
      r.warm = now_ns() - a;
    }
  }
  if (first != by_dlsym || warm != by_dlsym) fail("lookup_symbol() and dlsym() disagree");
  dlclose(handle);
  uklp::rt::forget_unloaded_objects();
  if (uklp::rt::for_testing::cached_table_count() != tables) fail("the library's table outlived dlclose()");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 21;
  long k = 1000;
  const char* lib = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc) {
      k = atol(argv[++i]);
    } else {
      lib = argv[i];
    }
  }
  if (!lib || rounds < 1 || k < 1 || k > kSymbols) {
    fprintf(stderr, "usage: bench_symbol_lookup [--rounds N] [--names K<=%ld] LIB\n", kSymbols);
    return 2;
  }
  auto names = pick_names(k);
  for (int i = 0; i < rounds; ++i) {
    Round r = run_round(lib, names, i % 2);
    printf("round %d dlopen=%llu first=%llu warm=%llu dlsym=%llu\n", i, (unsigned long long)r.dlopen,
           (unsigned long long)r.first, (unsigned long long)r.warm, (unsigned long long)r.dlsym);
    fflush(stdout);
  }
  return 0;
}
