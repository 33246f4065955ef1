// malloc.cc: what malloc() and free() cost in a process, for the
// benchmark that compares a process with the runtime (LD_PRELOAD of
// libuklp.so) to one without (bench.py "malloc"; docs/design.md,
// "Benchmarks"). The runtime wraps no allocator function; this checks that
// its presence (its thread, its libraries) changes nothing measurable.
//
// An operation frees one of the thread's 64 live blocks and allocates
// another in its place, of a size that cycles through 16 B to 4 KiB (the
// large ones miss glibc's per-thread cache and take the arena's lock);
// batches of --ops operations with 1 thread, and with 2 threads at once,
// each on its own blocks (pinned_pair.h).
//
// Protocol (driven by bench.py, which runs a process with the runtime and
// one without and alternates between them): the program prints `ready`,
// then for each line `run R` on stdin prints
//   round R THREADS ns=NS overlap=F
// for THREADS 1 and 2 (wall ns per operation and thread; overlap: the part
// of a 2-thread batch both threads ran together), then `done R`. `quit` or
// the end of input exits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "pinned_pair.h"

namespace {

constexpr size_t kLive = 64;  // blocks per thread
constexpr size_t kSizes[] = {16, 32, 64, 128, 256, 512, 2048, 4096};
constexpr size_t kSizeCount = sizeof kSizes / sizeof kSizes[0];

struct Blocks {
  void* live[kLive] = {};
};

void free_and_malloc(Blocks& b, long n) {
  for (long i = 0; i < n; ++i) {
    size_t k = size_t(i) % kLive;
    free(b.live[k]);
    auto* p = static_cast<char*>(malloc(kSizes[size_t(i) % kSizeCount]));
    if (!p) abort();
    p[0] = char(i);  // a block that is used, as a program's would be
    b.live[k] = p;
  }
}

void run_round(bench::PinnedPair<Blocks>& pair, Blocks& mine, const std::string& round, long ops) {
  for (int threads : {1, 2}) {
    bench::Timing t = pair.run(free_and_malloc, threads, mine, ops);
    printf("round %s %d ns=%.3f overlap=%.2f\n", round.c_str(), threads, t.ns_per_op, t.overlap);
  }
  printf("done %s\n", round.c_str());
  fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  long ops = 20000;  // about 0.5 ms per batch
  if (argc == 3 && strcmp(argv[1], "--ops") == 0) {
    ops = atol(argv[2]);
  } else if (argc != 1) {
    fprintf(stderr, "usage: bench_malloc [--ops N]\n");
    return 2;
  }
  static Blocks main_blocks, helper_blocks;
  bench::PinnedPair<Blocks> pair(helper_blocks);
  for (int threads : {1, 2}) pair.run(free_and_malloc, threads, main_blocks, ops);  // warm-up
  printf("ready\n");
  fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line) && line != "quit") {
    if (line.rfind("run ", 0) == 0) {
      run_round(pair, main_blocks, line.substr(4), ops);
    } else {
      printf("error unknown command: %s\n", line.c_str());
      fflush(stdout);
    }
  }
  return 0;
}
