// shadow.cc: the cost of the shadow-variable API (runtime/shadow.cc,
// docs/design.md "Benchmarks"), against a baseline in the same process: one
// std::mutex around a std::unordered_map<pair<obj, id>, void*> doing the
// same work (calloc'd data, the same checks).
//
// Operations, each on the calling thread's own 1024 objects:
//   get           klp_shadow_get of a variable that exists
//   alloc_free    klp_shadow_alloc of a new variable, then klp_shadow_free
//   get_or_alloc  klp_shadow_get_or_alloc of a variable that exists
// with 1 thread, and with 2 threads at once on different objects.
//
// Output, one line per round and operation:
//   round R OP THREADS shadow=NS baseline=NS overlap=F,F
// nanoseconds per operation and thread: the wall time of the batch (from
// the first thread's start to the last one's end) over the operations one
// thread made; overlap: the part of that time both threads were in the
// batch, for shadow and baseline (1 with one thread). Within a round,
// each (operation, threads) pair runs shadow and baseline back to back,
// the order alternating from round to round; bench.py compares them within
// the round. Wall time, not CPU time: with 2 threads the baseline's waits
// for its mutex are the point.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pinned_pair.h"
#include "uklp/livepatch.h"

namespace {

constexpr size_t kObjects = 1024;  // per thread
constexpr unsigned long kLiveId = 1, kChurnId = 2;
constexpr size_t kDataSize = 16;

// ---- the two implementations, behind one interface ----

struct Shadow {
  static void* get(void* obj, unsigned long id) { return klp_shadow_get(obj, id); }
  static void* alloc(void* obj, unsigned long id) {
    return klp_shadow_alloc(obj, id, kDataSize, GFP_KERNEL, nullptr, nullptr);
  }
  static void* get_or_alloc(void* obj, unsigned long id) {
    return klp_shadow_get_or_alloc(obj, id, kDataSize, GFP_KERNEL, nullptr, nullptr);
  }
  static void free(void* obj, unsigned long id) { klp_shadow_free(obj, id, nullptr); }
};

struct KeyHash {
  size_t operator()(const std::pair<void*, unsigned long>& k) const {
    return std::hash<void*>()(k.first) ^ (std::hash<unsigned long>()(k.second) * 0x9e3779b97f4a7c15ull);
  }
};

std::mutex g_map_mu;
std::unordered_map<std::pair<void*, unsigned long>, void*, KeyHash> g_map;

struct Baseline {
  static void* get(void* obj, unsigned long id) {
    std::lock_guard lock(g_map_mu);
    auto it = g_map.find({obj, id});
    return it == g_map.end() ? nullptr : it->second;
  }
  static void* insert(void* obj, unsigned long id, bool fail_if_exists) {
    void* data = calloc(1, kDataSize);
    std::lock_guard lock(g_map_mu);
    auto [it, inserted] = g_map.try_emplace({obj, id}, data);
    if (inserted) return data;
    ::free(data);
    return fail_if_exists ? nullptr : it->second;
  }
  static void* alloc(void* obj, unsigned long id) { return insert(obj, id, true); }
  static void* get_or_alloc(void* obj, unsigned long id) {
    if (void* data = get(obj, id)) return data;  // like the kernel's fast path
    return insert(obj, id, false);
  }
  static void free(void* obj, unsigned long id) {
    void* data = nullptr;
    {
      std::lock_guard lock(g_map_mu);
      auto it = g_map.find({obj, id});
      if (it == g_map.end()) return;
      data = it->second;
      g_map.erase(it);
    }
    ::free(data);
  }
};

// ---- operations ----

struct Objects {
  char bytes[kObjects];
  void* operator[](size_t i) { return &bytes[i % kObjects]; }
};

volatile uintptr_t g_sink;

template <class Impl>
void op_get(Objects& o, long n) {
  uintptr_t acc = 0;
  for (long i = 0; i < n; ++i) acc += uintptr_t(Impl::get(o[size_t(i)], kLiveId));
  g_sink = acc;
}

template <class Impl>
void op_alloc_free(Objects& o, long n) {
  for (long i = 0; i < n; ++i) {
    if (!Impl::alloc(o[size_t(i)], kChurnId)) abort();
    Impl::free(o[size_t(i)], kChurnId);
  }
}

template <class Impl>
void op_get_or_alloc(Objects& o, long n) {
  uintptr_t acc = 0;
  for (long i = 0; i < n; ++i) acc += uintptr_t(Impl::get_or_alloc(o[size_t(i)], kLiveId));
  g_sink = acc;
}

using Op = void (*)(Objects&, long);
struct OpPair {
  const char* name;
  Op shadow;
  Op baseline;
  long divisor;  // of --ops: alloc_free is 10 times slower, its batches as short
};
constexpr OpPair kOps[] = {
    {"get", op_get<Shadow>, op_get<Baseline>, 1},
    {"alloc_free", op_alloc_free<Shadow>, op_alloc_free<Baseline>, 10},
    {"get_or_alloc", op_get_or_alloc<Shadow>, op_get_or_alloc<Baseline>, 1},
};

void populate(Objects& o) {
  for (size_t i = 0; i < kObjects; ++i)
    if (!Shadow::alloc(o[i], kLiveId) || !Baseline::alloc(o[i], kLiveId)) abort();
}

void run(long ops, int rounds) {
  static Objects main_objects, helper_objects;
  populate(main_objects);
  populate(helper_objects);
  bench::PinnedPair<Objects> pair(helper_objects);
  for (const OpPair& p : kOps)  // warm-up: caches, predictors, free lists
    for (int threads : {1, 2}) {
      pair.run(p.shadow, threads, main_objects, ops / p.divisor);
      pair.run(p.baseline, threads, main_objects, ops / p.divisor);
    }
  for (int r = 0; r < rounds; ++r) {
    for (const OpPair& p : kOps) {
      long n = std::max(1L, ops / p.divisor);
      for (int threads : {1, 2}) {
        bench::Timing s, b;
        if (r % 2) {
          b = pair.run(p.baseline, threads, main_objects, n);
          s = pair.run(p.shadow, threads, main_objects, n);
        } else {
          s = pair.run(p.shadow, threads, main_objects, n);
          b = pair.run(p.baseline, threads, main_objects, n);
        }
        printf("round %d %s %d shadow=%.3f baseline=%.3f overlap=%.2f,%.2f\n", r, p.name, threads, s.ns_per_op,
               b.ns_per_op, s.overlap, b.overlap);
      }
    }
    fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  long ops = 20000;  // a batch of get: about 0.1 ms
  int rounds = 201;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--ops") == 0) {
      ops = atol(argv[i + 1]);
    } else if (strcmp(argv[i], "--rounds") == 0) {
      rounds = atoi(argv[i + 1]);
    } else {
      fprintf(stderr, "usage: bench_shadow [--ops N] [--rounds N]\n");
      return 2;
    }
  }
  run(ops, rounds);
  return 0;
}
