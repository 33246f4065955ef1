/* exceptions.cc: C++ exceptions thrown through patched functions and
 * through patch code while patches come and go.
 *
 * Three patched functions (extern "C", so the patch names them plainly):
 *   may_throw(x)          throws std::runtime_error("old x") when x % 3 == 0;
 *                         the patch's throws std::range_error("new x");
 *   pass_through(x)       calls thrower(x), which throws when x % 5 == 0: the
 *                         exception crosses the patched function's frame;
 *   with_callback(cb, x)  calls cb(x), which throws when x % 7 == 0, under a
 *                         guard whose destructor calls note_cleanup().
 * Worker threads (std::thread) call them in loops and check every result
 * and every exception caught above them; "busy" threads spin in may_throw.
 *
 * Commands: start N (N std::thread workers), report (calls,bad,new,first
 * error), quit. */
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

static thread_local long cleanups;
SAFETY_C void note_cleanup(void) { ++cleanups; }

SAFETY_C PATCHABLE int thrower(int x) {
  if (x % 5 == 0) throw std::runtime_error("thrower " + std::to_string(x));
  return x + 1;
}

SAFETY_C PATCHABLE int may_throw(int x) {
  if (x % 3 == 0) throw std::runtime_error("old " + std::to_string(x));
  return x * 2;
}

SAFETY_C PATCHABLE int pass_through(int x) {
  int r = thrower(x);
  return r + 1000;
}

struct CleanupGuard {
  ~CleanupGuard() { note_cleanup(); }
};

SAFETY_C PATCHABLE int with_callback(int (*cb)(int), int x) {
  CleanupGuard guard;
  return cb(x) + 1;
}

static int callback(int x) {
  if (x % 7 == 0) throw std::invalid_argument("callback " + std::to_string(x));
  return x * 3;
}

static std::atomic<long> calls, bad, new_seen;
static std::atomic<bool> stop;
static std::mutex error_lock;
static std::string first_error;

static void fail(const std::string& what) {
  bad++;
  std::lock_guard<std::mutex> l(error_lock);
  if (first_error.empty()) first_error = what;
}

// One round of the three functions for x; every outcome is checked.
static void round_of(int x) {
  try {
    int r = may_throw(x);
    if (x % 3 == 0 || r != x * 2) fail("may_throw(" + std::to_string(x) + ") returned " + std::to_string(r));
  } catch (const std::range_error& e) {  // the patch's
    new_seen++;
    if (x % 3 || e.what() != "new " + std::to_string(x)) fail(std::string("may_throw new: ") + e.what());
  } catch (const std::runtime_error& e) {
    if (x % 3 || e.what() != "old " + std::to_string(x)) fail(std::string("may_throw old: ") + e.what());
  }
  try {
    int r = pass_through(x);
    if (x % 5 == 0 || (r != x + 1001 && r != x + 2001)) fail("pass_through returned " + std::to_string(r));
    if (r == x + 2001) new_seen++;
  } catch (const std::runtime_error& e) {
    if (x % 5 || e.what() != "thrower " + std::to_string(x)) fail(std::string("pass_through: ") + e.what());
  }
  long before = cleanups;
  try {
    int r = with_callback(callback, x);
    if (x % 7 == 0 || (r != x * 3 + 1 && r != x * 3 + 2)) fail("with_callback returned " + std::to_string(r));
    if (r == x * 3 + 2) new_seen++;
  } catch (const std::invalid_argument& e) {
    if (x % 7 || e.what() != "callback " + std::to_string(x)) fail(std::string("with_callback: ") + e.what());
  }
  if (cleanups != before + 1) fail("with_callback's guard ran " + std::to_string(cleanups - before) + " times");
  calls++;
}

// Work outside the patched functions, about three times a round's: a
// thread that is always inside one of them never switches (the kernel's
// model too), and the transitions would take seconds.
static void outside_work() {
  volatile unsigned sink = 0;
  for (unsigned i = 0; i < 20000; i++) sink = sink * 31 + i;
}

static void worker(int id) {
  for (int x = id; !stop.load(std::memory_order_relaxed); x++) {
    round_of(x);
    outside_work();
  }
}

int main() {
  char line[256];
  std::vector<std::thread> threads;
  while (next_command(line, sizeof line)) {
    if (!strncmp(line, "start ", 6)) {
      int n = atoi(line + 6);
      for (int i = 0; i < n; i++) threads.emplace_back(worker, int(threads.size()) * 1000003);
      printf("start=%zu\n", threads.size());
    } else if (!strcmp(line, "report")) {
      std::lock_guard<std::mutex> l(error_lock);
      printf("report=%ld,%ld,%ld,%s\n", calls.load(), bad.load(), new_seen.load(),
             first_error.empty() ? "none" : first_error.c_str());
    } else if (!strcmp(line, "quit")) {
      break;
    } else {
      printf("unknown=%s\n", line);
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  return 0;
}
