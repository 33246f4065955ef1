// shadow_test.cc: shadow variables (runtime/shadow.cc) through their C API
// (include/uklp/livepatch.h), with the kernel's semantics: zeroing, ctor
// and dtor calls, ctor failure, duplicates, get_or_alloc, free, free_all;
// then threads racing on the same and on different objects, and fork()
// while another thread holds a shard's lock.
//
// The runtime's log lines are read from UKLP_LOG_FILE: main() re-executes
// the program with it set to a fresh file when it is not set already.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <latch>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "uklp/livepatch.h"

// A calloc of SIZE_MAX must fail with NULL under ASan and TSan too.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
extern "C" const char* __tsan_default_options() { return "allocator_may_return_null=1"; }

namespace {

// Parent objects: distinct addresses, never dereferenced by the runtime.
struct Objects {
  explicit Objects(size_t n) : bytes(n) {}
  void* operator[](size_t i) { return &bytes[i]; }
  std::vector<char> bytes;
};

// ---- the log ----

std::string format_line(const char* fmt, void* obj, unsigned long id, int err = 0) {
  char buf[256];
  snprintf(buf, sizeof buf, fmt, obj, id, err);
  return std::string("livepatch: ") + buf;
}

// How many lines of the runtime log end with `text`.
int log_count(const std::string& text) {
  std::ifstream in(getenv("UKLP_LOG_FILE"));
  int n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.size() >= text.size() && line.compare(line.size() - text.size(), text.size(), text) == 0) ++n;
  return n;
}

std::string duplicate_line(void* obj, unsigned long id) {
  return format_line("Duplicate shadow variable <%p, %lx>", obj, id);
}

std::string ctor_failed_line(void* obj, unsigned long id, int err) {
  return format_line("Failed to construct shadow variable <%p, %lx> (%d)", obj, id, err);
}

// ---- recording ctor and dtor ----

struct CtorCall {
  void* obj;
  void* data;
  bool zeroed;
};

// ctor_data of record_ctor: what it saw, and what it returns.
struct CtorRecord {
  std::vector<CtorCall> calls;
  size_t size = 0;
  int result = 0;
  unsigned char fill = 0xa5;
};

int record_ctor(void* obj, void* data, void* ctor_data) {
  auto* r = static_cast<CtorRecord*>(ctor_data);
  auto* bytes = static_cast<unsigned char*>(data);
  bool zeroed = true;
  for (size_t i = 0; i < r->size; ++i) zeroed = zeroed && bytes[i] == 0;
  r->calls.push_back({obj, data, zeroed});
  memset(data, r->fill, r->size);
  return r->result;
}

struct DtorCall {
  void* obj;
  void* data;
  bool operator<(const DtorCall& o) const { return obj != o.obj ? obj < o.obj : data < o.data; }
  bool operator==(const DtorCall& o) const { return obj == o.obj && data == o.data; }
};

std::mutex g_dtor_mu;
std::vector<DtorCall> g_dtor_calls;

void record_dtor(void* obj, void* data) {
  std::lock_guard lock(g_dtor_mu);
  g_dtor_calls.push_back({obj, data});
}

// record_dtor, for data whose first word is its obj (as the tests write it).
std::atomic<long> g_dtor_bad_data{0};
void checking_dtor(void* obj, void* data) {
  if (*static_cast<uintptr_t*>(data) != uintptr_t(obj)) ++g_dtor_bad_data;
  record_dtor(obj, data);
}

std::vector<DtorCall> take_dtor_calls() {
  std::lock_guard lock(g_dtor_mu);
  return std::exchange(g_dtor_calls, {});
}

// Each test uses ids of its own, so tests sharing one process never meet.
constexpr unsigned long kIdBase = 0x5ad0000;

// ---- single-threaded semantics ----

TEST(Shadow, AllocZeroesTheData) {
  Objects o(1);
  auto* data = static_cast<unsigned char*>(klp_shadow_alloc(o[0], kIdBase + 1, 4096, GFP_KERNEL, nullptr, nullptr));
  ASSERT_NE(data, nullptr);
  for (size_t i = 0; i < 4096; ++i) ASSERT_EQ(data[i], 0) << "byte " << i;
  EXPECT_EQ(klp_shadow_get(o[0], kIdBase + 1), data);
  klp_shadow_free(o[0], kIdBase + 1, nullptr);
  EXPECT_EQ(klp_shadow_get(o[0], kIdBase + 1), nullptr);
}

TEST(Shadow, CtorSeesZeroedDataItsArgumentsAndRunsOnce) {
  Objects o(1);
  CtorRecord r;
  r.size = 100;
  void* data = klp_shadow_alloc(o[0], kIdBase + 2, r.size, GFP_KERNEL, record_ctor, &r);
  ASSERT_NE(data, nullptr);
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].obj, o[0]);
  EXPECT_EQ(r.calls[0].data, data);
  EXPECT_TRUE(r.calls[0].zeroed);
  EXPECT_EQ(static_cast<unsigned char*>(data)[99], 0xa5);  // the ctor's bytes are kept
  klp_shadow_free(o[0], kIdBase + 2, nullptr);
}

TEST(Shadow, SizeZeroGivesAUsablePointer) {
  Objects o(1);
  void* data = klp_shadow_alloc(o[0], kIdBase + 3, 0, GFP_KERNEL, nullptr, nullptr);
  EXPECT_NE(data, nullptr);
  EXPECT_EQ(klp_shadow_get(o[0], kIdBase + 3), data);
  klp_shadow_free(o[0], kIdBase + 3, nullptr);
}

TEST(Shadow, CtorFailureLeavesNothingAndIsLogged) {
  Objects o(1);
  CtorRecord r;
  r.size = 16;
  r.result = -ENOMEM;
  EXPECT_EQ(klp_shadow_alloc(o[0], kIdBase + 4, r.size, GFP_KERNEL, record_ctor, &r), nullptr);
  EXPECT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(klp_shadow_get(o[0], kIdBase + 4), nullptr);
  EXPECT_EQ(log_count(ctor_failed_line(o[0], kIdBase + 4, -ENOMEM)), 1);
  // get_or_alloc fails the same way, and nothing is left for a free to find.
  r.result = 7;
  EXPECT_EQ(klp_shadow_get_or_alloc(o[0], kIdBase + 4, r.size, GFP_KERNEL, record_ctor, &r), nullptr);
  EXPECT_EQ(log_count(ctor_failed_line(o[0], kIdBase + 4, 7)), 1);
  klp_shadow_free(o[0], kIdBase + 4, record_dtor);
  EXPECT_TRUE(take_dtor_calls().empty());
  // A later alloc succeeds and runs the ctor again, on zeroed data.
  r.result = 0;
  void* data = klp_shadow_alloc(o[0], kIdBase + 4, r.size, GFP_KERNEL, record_ctor, &r);
  ASSERT_NE(data, nullptr);
  ASSERT_EQ(r.calls.size(), 3u);
  EXPECT_TRUE(r.calls[2].zeroed);
  klp_shadow_free(o[0], kIdBase + 4, nullptr);
}

TEST(Shadow, OutOfMemoryReturnsNullWithoutCtorOrLog) {
  Objects o(1);
  CtorRecord r;
  EXPECT_EQ(klp_shadow_alloc(o[0], kIdBase + 5, SIZE_MAX, GFP_KERNEL, record_ctor, &r), nullptr);
  EXPECT_EQ(klp_shadow_get_or_alloc(o[0], kIdBase + 5, SIZE_MAX, GFP_KERNEL, record_ctor, &r), nullptr);
  EXPECT_TRUE(r.calls.empty());
  EXPECT_EQ(klp_shadow_get(o[0], kIdBase + 5), nullptr);
  EXPECT_EQ(log_count(format_line("Failed to construct shadow variable <%p, %lx>", o[0], kIdBase + 5)), 0);
}

TEST(Shadow, DuplicateAllocWarnsAndReturnsNull) {
  Objects o(1);
  CtorRecord r;
  r.size = 8;
  void* data = klp_shadow_alloc(o[0], kIdBase + 6, r.size, GFP_KERNEL, record_ctor, &r);
  ASSERT_NE(data, nullptr);
  r.fill = 0x11;
  EXPECT_EQ(klp_shadow_alloc(o[0], kIdBase + 6, r.size, GFP_KERNEL, record_ctor, &r), nullptr);
  EXPECT_EQ(r.calls.size(), 1u);  // no ctor for a duplicate
  EXPECT_EQ(log_count(duplicate_line(o[0], kIdBase + 6)), 1);
  EXPECT_EQ(klp_shadow_get(o[0], kIdBase + 6), data);
  EXPECT_EQ(static_cast<unsigned char*>(data)[0], 0xa5);  // the first variable, untouched
  klp_shadow_free(o[0], kIdBase + 6, nullptr);
}

TEST(Shadow, GetOrAllocReturnsTheExistingVariable) {
  Objects o(1);
  CtorRecord r;
  r.size = 32;
  void* data = klp_shadow_get_or_alloc(o[0], kIdBase + 7, r.size, GFP_KERNEL, record_ctor, &r);
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(klp_shadow_get_or_alloc(o[0], kIdBase + 7, r.size, GFP_KERNEL, record_ctor, &r), data);
  EXPECT_EQ(klp_shadow_get_or_alloc(o[0], kIdBase + 7, 1, GFP_ATOMIC, nullptr, nullptr), data);
  EXPECT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(log_count(duplicate_line(o[0], kIdBase + 7)), 0);
  klp_shadow_free(o[0], kIdBase + 7, nullptr);
}

TEST(Shadow, FreeCallsTheDtorOnceAfterUnlinking) {
  Objects o(2);
  void* data = klp_shadow_alloc(o[0], kIdBase + 8, 8, GFP_KERNEL, nullptr, nullptr);
  void* other = klp_shadow_alloc(o[1], kIdBase + 8, 8, GFP_KERNEL, nullptr, nullptr);
  ASSERT_NE(data, nullptr);
  take_dtor_calls();
  klp_shadow_free(o[0], kIdBase + 8, record_dtor);
  EXPECT_EQ(take_dtor_calls(), (std::vector<DtorCall>{{o[0], data}}));
  EXPECT_EQ(klp_shadow_get(o[0], kIdBase + 8), nullptr);
  EXPECT_EQ(klp_shadow_get(o[1], kIdBase + 8), other);
  klp_shadow_free(o[0], kIdBase + 8, record_dtor);  // absent: nothing happens
  klp_shadow_free(o[0], kIdBase + 9, record_dtor);
  EXPECT_TRUE(take_dtor_calls().empty());
  klp_shadow_free(o[1], kIdBase + 8, nullptr);
  EXPECT_EQ(klp_shadow_get(o[1], kIdBase + 8), nullptr);
}

// The dtor runs after the variable is unlinked: it no longer finds it.
void dtor_expects_unlinked(void* obj, void* data) {
  EXPECT_EQ(klp_shadow_get(obj, *static_cast<unsigned long*>(data)), nullptr);
  record_dtor(obj, data);
}

TEST(Shadow, DtorRunsAfterUnlinking) {
  Objects o(1);
  auto* data = static_cast<unsigned long*>(klp_shadow_alloc(o[0], kIdBase + 10, 8, GFP_KERNEL, nullptr, nullptr));
  ASSERT_NE(data, nullptr);
  *data = kIdBase + 10;
  take_dtor_calls();
  klp_shadow_free(o[0], kIdBase + 10, dtor_expects_unlinked);
  EXPECT_EQ(take_dtor_calls().size(), 1u);
}

TEST(Shadow, FreeAllFreesEveryObjectWithThatIdOnly) {
  constexpr size_t kN = 5000;
  Objects o(kN);
  std::vector<DtorCall> expected;
  for (size_t i = 0; i < kN; ++i) {
    void* a = klp_shadow_alloc(o[i], kIdBase + 11, 16, GFP_KERNEL, nullptr, nullptr);
    ASSERT_NE(a, nullptr);
    expected.push_back({o[i], a});
    ASSERT_NE(klp_shadow_alloc(o[i], kIdBase + 12, 16, GFP_KERNEL, nullptr, nullptr), nullptr);
  }
  take_dtor_calls();
  klp_shadow_free_all(kIdBase + 11, record_dtor);
  std::vector<DtorCall> calls = take_dtor_calls();
  std::sort(calls.begin(), calls.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(calls, expected);
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_EQ(klp_shadow_get(o[i], kIdBase + 11), nullptr);
    ASSERT_NE(klp_shadow_get(o[i], kIdBase + 12), nullptr);
  }
  klp_shadow_free_all(kIdBase + 12, record_dtor);
  EXPECT_EQ(take_dtor_calls().size(), kN);
  for (size_t i = 0; i < kN; ++i) ASSERT_EQ(klp_shadow_get(o[i], kIdBase + 12), nullptr);
  klp_shadow_free_all(kIdBase + 12, record_dtor);  // nothing left
  EXPECT_TRUE(take_dtor_calls().empty());
}

TEST(Shadow, ManyIdsPerObject) {
  constexpr unsigned long kIds = 1000;
  Objects o(2);
  std::vector<void*> data(kIds);
  for (unsigned long i = 0; i < kIds; ++i) {
    data[i] = klp_shadow_alloc(o[0], kIdBase + 100 + i, 8, GFP_KERNEL, nullptr, nullptr);
    ASSERT_NE(data[i], nullptr);
  }
  EXPECT_EQ(std::set<void*>(data.begin(), data.end()).size(), kIds);
  for (unsigned long i = 0; i < kIds; i += 2) klp_shadow_free(o[0], kIdBase + 100 + i, nullptr);
  for (unsigned long i = 0; i < kIds; ++i) {
    ASSERT_EQ(klp_shadow_get(o[0], kIdBase + 100 + i), i % 2 ? data[i] : nullptr) << "id " << i;
    ASSERT_EQ(klp_shadow_get(o[1], kIdBase + 100 + i), nullptr);
  }
  for (unsigned long i = 1; i < kIds; i += 2) klp_shadow_free(o[0], kIdBase + 100 + i, nullptr);
  for (unsigned long i = 0; i < kIds; ++i) ASSERT_EQ(klp_shadow_get(o[0], kIdBase + 100 + i), nullptr);
}

// ---- the lock that guards <obj, id> ----

// A ctor that reports it started, then waits until it is released.
struct Gate {
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<int> calls{0};
  void* seen_by_get = reinterpret_cast<void*>(1);
};

int gated_ctor(void* obj, void*, void* ctor_data) {
  auto* g = static_cast<Gate*>(ctor_data);
  g->calls.fetch_add(1);
  g->seen_by_get = klp_shadow_get(obj, kIdBase + 13);  // not attached yet
  g->entered.store(true);
  while (!g->release.load()) std::this_thread::yield();
  return 0;
}

TEST(Shadow, VariableIsVisibleOnlyAfterItsCtorAndTheCtorRunsOnce) {
  Objects o(1);
  Gate g;
  void* first = nullptr;
  std::thread t([&] { first = klp_shadow_get_or_alloc(o[0], kIdBase + 13, 8, GFP_KERNEL, gated_ctor, &g); });
  while (!g.entered.load()) std::this_thread::yield();
  EXPECT_EQ(g.seen_by_get, nullptr);
  EXPECT_EQ(klp_shadow_get(o[0], kIdBase + 13), nullptr);
  // A second get_or_alloc waits for the ctor's lock, then finds the variable.
  void* second = nullptr;
  std::atomic<bool> second_done{false};
  std::thread u([&] {
    second = klp_shadow_get_or_alloc(o[0], kIdBase + 13, 8, GFP_KERNEL, gated_ctor, &g);
    second_done.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(second_done.load());
  g.release.store(true);
  t.join();
  u.join();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(second, first);
  EXPECT_EQ(g.calls.load(), 1);
  klp_shadow_free(o[0], kIdBase + 13, nullptr);
}

// ---- threads ----

constexpr int kThreads = 4;

// Every thread calls get_or_alloc on the same objects, in different orders:
// each ctor runs once, and every thread gets the same data.
int counting_ctor(void* obj, void* data, void* ctor_data) {
  auto* counts = static_cast<std::atomic<int>*>(ctor_data);
  counts[*static_cast<unsigned char*>(obj)].fetch_add(1);
  *static_cast<void**>(data) = obj;
  return 0;
}

TEST(ShadowThreads, GetOrAllocRacesRunEachCtorOnce) {
  constexpr size_t kShared = 128;
  Objects o(kShared);
  for (size_t i = 0; i < kShared; ++i) o.bytes[i] = char(i);
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> counts[kShared] = {};
    std::vector<std::vector<void*>> got(kThreads, std::vector<void*>(kShared));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (size_t k = 0; k < kShared; ++k) {
          size_t i = (k * 37 + size_t(t) * 11) % kShared;
          got[t][i] = klp_shadow_get_or_alloc(o[i], kIdBase + 14, 8, GFP_KERNEL, counting_ctor, counts);
        }
      });
    }
    for (auto& th : threads) th.join();
    for (size_t i = 0; i < kShared; ++i) {
      ASSERT_EQ(counts[i].load(), 1) << "object " << i << ", round " << round;
      ASSERT_NE(got[0][i], nullptr);
      ASSERT_EQ(*static_cast<void**>(got[0][i]), o[i]);
      for (int t = 1; t < kThreads; ++t) ASSERT_EQ(got[t][i], got[0][i]);
    }
    take_dtor_calls();
    klp_shadow_free_all(kIdBase + 14, record_dtor);
    ASSERT_EQ(take_dtor_calls().size(), kShared);
  }
}

// Each thread allocates, checks and frees variables of its own objects,
// while all of them read variables of shared objects: nothing is lost or
// doubled, every dtor runs once.
TEST(ShadowThreads, OwnAndSharedObjects) {
  constexpr size_t kOwn = 1000, kShared = 64;
  constexpr int kRounds = 150;
  constexpr unsigned long kId = kIdBase + 15;
  Objects shared(kShared);
  std::vector<void*> shared_data(kShared);
  for (size_t i = 0; i < kShared; ++i) {
    shared_data[i] = klp_shadow_alloc(shared[i], kId, 8, GFP_KERNEL, nullptr, nullptr);
    ASSERT_NE(shared_data[i], nullptr);
  }
  std::vector<Objects> own(kThreads, Objects(kOwn));
  std::atomic<long> errors{0}, allocs{0};
  std::latch start(kThreads);
  take_dtor_calls();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        for (size_t i = 0; i < kOwn; ++i) {
          void* obj = own[t][i];
          auto* d = static_cast<uintptr_t*>(klp_shadow_alloc(obj, kId, 8, GFP_KERNEL, nullptr, nullptr));
          if (!d || *d != 0) ++errors;
          if (!d) continue;
          ++allocs;
          *d = uintptr_t(obj);
          if (klp_shadow_get(obj, kId) != d || klp_shadow_get_or_alloc(obj, kId, 8, 0, nullptr, nullptr) != d)
            ++errors;
          if (klp_shadow_get(shared[(i + size_t(t)) % kShared], kId) != shared_data[(i + size_t(t)) % kShared])
            ++errors;
          if (i % 2) klp_shadow_free(obj, kId, checking_dtor);
        }
        for (size_t i = 0; i < kOwn; i += 2) klp_shadow_free(own[t][i], kId, checking_dtor);
        for (size_t i = 0; i < kOwn; ++i)
          if (klp_shadow_get(own[t][i], kId)) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(allocs.load(), long(kThreads) * kRounds * long(kOwn));
  std::vector<DtorCall> calls = take_dtor_calls();
  EXPECT_EQ(calls.size(), size_t(allocs.load()));
  EXPECT_EQ(g_dtor_bad_data.load(), 0);
  for (size_t i = 0; i < kShared; ++i) EXPECT_EQ(klp_shadow_get(shared[i], kId), shared_data[i]);
  klp_shadow_free_all(kId, nullptr);
}

// Lock-free readers of one variable while other threads allocate and free
// other variables of the same object (the same shard, whose few buckets
// then hold dozens of variables in front of the reader's): a reader never
// misses its variable nor returns another one's data.
TEST(ShadowThreads, ReadersNeverMissWhileTheSameShardChurns) {
  constexpr unsigned long kId = kIdBase + 16;
  constexpr unsigned long kChurnIds = 4096;
  constexpr int kWindow = 128;  // variables each churner keeps alive
  constexpr int kIterations = 100000;
  Objects o(1);
  void* data = klp_shadow_alloc(o[0], kId, 8, GFP_KERNEL, nullptr, nullptr);
  ASSERT_NE(data, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<long> misses{0}, reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads / 2; ++t) {
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (klp_shadow_get(o[0], kId) != data) ++misses;
        ++reads;
      }
    });
  }
  auto churn_id = [&](int t, int i) { return kId + 1 + (unsigned long)(i % kChurnIds) * 2 + (unsigned long)t; };
  std::vector<std::thread> churners;
  for (int t = 0; t < kThreads / 2; ++t) {
    churners.emplace_back([&, t] {
      for (int i = 0; i < kIterations + kWindow; ++i) {
        if (i < kIterations && !klp_shadow_alloc(o[0], churn_id(t, i), 16, GFP_KERNEL, nullptr, nullptr)) ++misses;
        if (i >= kWindow) klp_shadow_free(o[0], churn_id(t, i - kWindow), nullptr);
      }
    });
  }
  for (auto& th : churners) th.join();
  stop.store(true);
  for (auto& th : threads) th.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(klp_shadow_get(o[0], kId), data);
  klp_shadow_free(o[0], kId, nullptr);
}

// ---- fork ----

// Another thread is inside a ctor, so it holds the lock of obj's shard,
// when the main thread forks. The child can still use that shard (and
// every other): the ctor's variable is not there, the others are.
TEST(ShadowFork, ChildIsNotBlockedByALockHeldAtFork) {
  constexpr unsigned long kId = kIdBase + 13;  // gated_ctor's id
  Objects o(2);
  void* before = klp_shadow_alloc(o[0], kId + 1, 8, GFP_KERNEL, nullptr, nullptr);
  ASSERT_NE(before, nullptr);
  Gate g;
  void* made = nullptr;
  std::thread t([&] { made = klp_shadow_alloc(o[0], kId, 8, GFP_KERNEL, gated_ctor, &g); });
  while (!g.entered.load()) std::this_thread::yield();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(10);  // a deadlock ends the child with SIGALRM
    int fails = 0;
    fails += klp_shadow_get(o[0], kId + 1) != before;
    fails += klp_shadow_get(o[0], kId) != nullptr;
    void* mine = klp_shadow_alloc(o[0], kId, 8, GFP_KERNEL, nullptr, nullptr);  // the same <obj, id>
    fails += mine == nullptr || klp_shadow_get(o[0], kId) != mine;
    void* other = klp_shadow_alloc(o[1], kId + 2, 8, GFP_KERNEL, nullptr, nullptr);
    fails += other == nullptr;
    klp_shadow_free(o[0], kId, nullptr);
    klp_shadow_free_all(kId + 1, nullptr);  // walks every shard, the held one too
    fails += klp_shadow_get(o[0], kId + 1) != nullptr;
    _exit(fails);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  g.release.store(true);
  t.join();
  ASSERT_TRUE(WIFEXITED(status)) << "child ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's table is its own.
  ASSERT_NE(made, nullptr);
  EXPECT_EQ(klp_shadow_get(o[0], kId), made);
  EXPECT_EQ(klp_shadow_get(o[0], kId + 1), before);
  EXPECT_EQ(klp_shadow_get(o[1], kId + 2), nullptr);
  klp_shadow_free(o[0], kId, nullptr);
  klp_shadow_free(o[0], kId + 1, nullptr);
}

// Re-executes this program with UKLP_LOG_FILE set to a new file, unless it
// is set. The runtime opens the file at its first line, maybe before main().
void ensure_log_file(char** argv) {
  if (getenv("UKLP_LOG_FILE")) return;
  char path[] = "/tmp/uklp-shadow-test.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("shadow_test: mkstemp");
    exit(2);
  }
  close(fd);
  setenv("UKLP_LOG_FILE", path, 1);
  setenv("UKLP_SHADOW_TEST_OWNS_LOG", "1", 1);
  execv("/proc/self/exe", argv);
  perror("shadow_test: execv");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  ensure_log_file(argv);
  testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  if (getenv("UKLP_SHADOW_TEST_OWNS_LOG")) unlink(getenv("UKLP_LOG_FILE"));
  return rc;
}
