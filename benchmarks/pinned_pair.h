// pinned_pair.h: runs a benchmark batch on one thread, or on two threads at
// once, each pinned to its own CPU (shadow.cc, malloc.cc). Wall time: from
// the first thread's start to the last one's end, over the operations one
// thread made; and how much of that time both threads were in the batch
// (1 with one thread). On a loaded machine the two threads of a batch do
// not always run at once, and a batch they ran one after the other says
// little about contention: the drivers count only batches with a large
// overlap.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <thread>

namespace bench {

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

struct Timing {
  double ns_per_op;
  double overlap;
};

// The calling thread and a helper thread; Context is each thread's own
// data, Op a batch of n operations on it.
template <class Context>
class PinnedPair {
 public:
  using Op = void (*)(Context&, long n);

  explicit PinnedPair(Context& helper_context) : helper_context_(helper_context), thread_([this] { loop(); }) {
    pin(pthread_self(), 0);
    pin(thread_.native_handle(), 1);
  }
  ~PinnedPair() {
    op_ = nullptr;
    start_.arrive_and_wait();
    thread_.join();
  }

  // One batch of n operations on `mine`, on 1 thread or on 2 at once (the
  // helper on its own context).
  Timing run(Op op, int threads, Context& mine, long n) {
    if (threads == 2) return run_both(op, mine, n);
    uint64_t t0 = now_ns();
    op(mine, n);
    return {double(now_ns() - t0) / double(n), 1.0};
  }

 private:
  Timing run_both(Op op, Context& mine, long n) {
    op_ = op;
    n_ = n;
    start_.arrive_and_wait();
    rendezvous();
    uint64_t t0 = now_ns();
    op(mine, n);
    uint64_t t1 = now_ns();
    done_.arrive_and_wait();
    uint64_t first = std::min(t0, helper_t0_), last = std::max(t1, helper_t1_);
    uint64_t both_from = std::max(t0, helper_t0_), both_to = std::min(t1, helper_t1_);
    double both = both_to > both_from ? double(both_to - both_from) : 0.0;
    return {double(last - first) / double(n), both / double(last - first)};
  }
  // One CPU each: a woken thread is otherwise often queued on its waker's
  // CPU, and the two threads of a batch then take turns.
  static void pin(pthread_t t, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(t, sizeof set, &set);
  }
  // The barrier wakes the helper, which takes a while to run again; both
  // threads then spin here until both are on a CPU, and start together.
  void rendezvous() {
    uint64_t target = (arrivals_.fetch_add(1) / 2 + 1) * 2;
    while (arrivals_.load(std::memory_order_acquire) < target) __builtin_ia32_pause();
  }
  void loop() {
    for (;;) {
      start_.arrive_and_wait();
      if (!op_) return;
      rendezvous();
      helper_t0_ = now_ns();
      op_(helper_context_, n_);
      helper_t1_ = now_ns();
      done_.arrive_and_wait();
    }
  }
  Context& helper_context_;
  Op op_ = nullptr;
  long n_ = 0;
  uint64_t helper_t0_ = 0, helper_t1_ = 0;
  std::atomic<uint64_t> arrivals_{0};
  std::barrier<> start_{2}, done_{2};
  std::thread thread_;
};

}  // namespace bench
