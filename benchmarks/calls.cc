// calls.cc: the cost of a call through a uklp site (docs/design.md,
// "Benchmarks"). Functions with the same body:
//   base()         compiled without a pad (patchable_function_entry(0,0)),
//   padded()       with the pad of -fpatchable-function-entry=16,14, never
//                  patched,
//   patched()      with the pad; livepatch-bench-calls.so replaces it with a
//                  copy of the same body (`jmp rel8` to the pad, then
//                  `jmp *slot`),
//   lib_base(), lib_patched()
//                  the same pair in libbench_calls_lib.so (calls_lib.c), called
//                  through the GOT (-fno-plt); the module replaces lib_patched()
//                  too.
//   hold()         where a thread sleeps while the module is loaded, so that
//                  its patching transition stays open (the module replaces
//                  hold() too): meanwhile the sites of patched() and
//                  lib_patched() go through their transition stubs.
//
// Protocol (driven by bench.py): the program prints `ready`, then for each
// line `run LABEL` on stdin it measures and prints, for each round,
//   round LABEL I base=NS padded=NS patched=NS lib_base=NS lib_patched=NS
// (nanoseconds per call), then `entry LABEL patched=XX XX lib_patched=XX XX`
// (the first two bytes of their entries: `90 90` or `66 90` unpatched,
// `eb ..` patched) and `done LABEL`. `hold` starts a thread that sleeps in
// hold() and answers `ok TID`; `release` wakes it, joins it and answers `ok`.
// `quit` or end of input exits. Between two lines the main thread blocks in
// read(), so a patch can be loaded meanwhile.
//
// Method: a round times one batch of --calls calls of each function, in an
// order that rotates from round to round, so slow drift of the machine
// (frequency, a neighbour's load) hits them alike; the driver compares the
// functions within a round. Calls are direct (the functions are template
// arguments; the library's go through the GOT) and noipa, so each is a real
// call of a real function.
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

extern "C" {
// The same body everywhere; only the entry differs.
__attribute__((noipa, patchable_function_entry(0, 0))) int base(int x) { return x * 2 + 1; }
__attribute__((noipa)) int padded(int x) { return x * 2 + 1; }
__attribute__((noipa)) int patched(int x) { return x * 2 + 1; }
// calls_lib.c
int lib_base(int x);
int lib_patched(int x);

// Sleeps until a byte arrives on `fd`: a thread blocked here has a function
// of the patch on its stack, so the patching transition cannot complete.
__attribute__((noipa)) int hold(int fd) {
  char c;
  while (read(fd, &c, 1) < 0 && errno == EINTR) {
  }
  return 1;
}
}

namespace {

volatile unsigned g_sink;
// The thread's CPU time by default: on a shared machine a batch may lose the
// CPU, and wall time would count the neighbours' time slices. --wall uses
// CLOCK_MONOTONIC instead.
clockid_t g_clock = CLOCK_THREAD_CPUTIME_ID;

uint64_t now_ns() {
  timespec ts;
  clock_gettime(g_clock, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// Nanoseconds per call of F over `calls` calls.
template <int (*F)(int)>
double time_batch(long calls) {
  unsigned acc = 0;  // unsigned: the sum may wrap
  uint64_t t0 = now_ns();
  for (long i = 0; i < calls; ++i) acc += unsigned(F(int(i & 0xffff)));
  uint64_t t1 = now_ns();
  g_sink = acc;
  return double(t1 - t0) / double(calls);
}

using Timer = double (*)(long);
constexpr int kFuncs = 5;
constexpr Timer kTimers[kFuncs] = {time_batch<base>, time_batch<padded>, time_batch<patched>,
                                   time_batch<lib_base>, time_batch<lib_patched>};

void run_phase(const std::string& label, long calls, int rounds) {
  for (Timer t : kTimers) t(calls / 4 + 1);  // warm up caches and predictors
  for (int r = 0; r < rounds; ++r) {
    double ns[kFuncs];
    for (int k = 0; k < kFuncs; ++k) {
      int f = (r + k) % kFuncs;
      ns[f] = kTimers[f](calls);
    }
    printf("round %s %d base=%.4f padded=%.4f patched=%.4f lib_base=%.4f lib_patched=%.4f\n", label.c_str(), r,
           ns[0], ns[1], ns[2], ns[3], ns[4]);
  }
}

// The entry bytes of a function, past an endbr64 if there is one.
const unsigned char* entry_of(int (*f)(int)) {
  auto* p = reinterpret_cast<const unsigned char*>(f);
  static const unsigned char endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
  return memcmp(p, endbr64, 4) == 0 ? p + 4 : p;
}

void print_entry(const std::string& label) {
  const unsigned char* p = entry_of(&patched);
  const unsigned char* l = entry_of(&lib_patched);  // PIE: its address in the library, from the GOT
  printf("entry %s patched=%02x %02x lib_patched=%02x %02x\n", label.c_str(), p[0], p[1], l[0], l[1]);
}

// The thread asleep in hold(), started by `hold` and joined by `release`.
struct Holder {
  int pipe_fds[2] = {-1, -1};
  pthread_t thread{};
  bool running = false;
};
Holder g_holder;

void* holder_main(void* arg) {
  static_cast<std::atomic<long>*>(arg)->store(syscall(SYS_gettid));
  hold(g_holder.pipe_fds[0]);
  return nullptr;
}

// Starts the holder; returns its thread id once it runs (it may not be in
// read() yet: the driver waits for its sleep in /proc).
long start_holder() {
  if (g_holder.running || pipe(g_holder.pipe_fds) != 0) return -1;
  std::atomic<long> tid{0};
  if (pthread_create(&g_holder.thread, nullptr, holder_main, &tid) != 0) return -1;
  g_holder.running = true;
  while (tid.load() == 0) sched_yield();
  return tid.load();
}

bool release_holder() {
  if (!g_holder.running || write(g_holder.pipe_fds[1], "x", 1) != 1) return false;
  pthread_join(g_holder.thread, nullptr);
  close(g_holder.pipe_fds[0]);
  close(g_holder.pipe_fds[1]);
  g_holder.running = false;
  return true;
}

long option(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (strcmp(argv[i], name) == 0) return strtol(argv[i + 1], nullptr, 10);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  long calls = option(argc, argv, "--calls", 200000);
  int rounds = int(option(argc, argv, "--rounds", 201));
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], "--wall") == 0) g_clock = CLOCK_MONOTONIC;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  printf("ready\n");
  std::string line;
  while (std::getline(std::cin, line) && line != "quit") {
    if (line == "hold") {
      long tid = start_holder();
      printf(tid > 0 ? "ok %ld\n" : "error cannot start the holder\n", tid);
      continue;
    }
    if (line == "release") {
      printf(release_holder() ? "ok\n" : "error no holder\n");
      continue;
    }
    if (line.rfind("run ", 0) != 0) {
      printf("error unknown command: %s\n", line.c_str());
      continue;
    }
    std::string label = line.substr(4);
    run_phase(label, calls, rounds);
    print_entry(label);
    printf("done %s\n", label.c_str());
  }
  return 0;
}
