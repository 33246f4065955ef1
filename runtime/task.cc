// task.cc: see task.h.
#include "task.h"

#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cstdlib>

#include "uklp/livepatch.h"

namespace uklp::rt {
namespace {

// Static TLS: a fixed offset from %fs in every thread, which the stubs
// and the tracer rely on.
__thread int32_t g_task_word __attribute__((tls_model("initial-exec"))) = 0;

// gen (bits 0-31) | target + 1 (bits 32-33) | initial + 1 (bits 34-35), in
// one word so klp_update_patch_state() never reads a torn epoch.
std::atomic<uint64_t> g_epoch{0};

using PthreadCreate = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
std::atomic<PthreadCreate> g_real_pthread_create{nullptr};

PthreadCreate real_pthread_create() {
  PthreadCreate f = g_real_pthread_create.load(std::memory_order_acquire);
  if (!f) {
    f = reinterpret_cast<PthreadCreate>(dlsym(RTLD_NEXT, "pthread_create"));
    g_real_pthread_create.store(f, std::memory_order_release);
  }
  return f;
}

struct Start {
  void* (*fn)(void*);
  void* arg;
  int32_t word;
};

// The new thread's first frame: take the creator's word unless the tracer
// already switched this thread (then its word is no longer 0).
void* task_start(void* p) {
  Start s = *static_cast<Start*>(p);
  free(p);
  int32_t expected = 0;
  __atomic_compare_exchange_n(&g_task_word, &expected, s.word, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return s.fn(s.arg);
}

}  // namespace

int32_t* task_word_self() { return &g_task_word; }

intptr_t task_word_tls_offset() {
  uintptr_t tp;
  asm("mov %%fs:0, %0" : "=r"(tp));  // the TCB's self pointer: the thread pointer
  return intptr_t(reinterpret_cast<uintptr_t>(&g_task_word) - tp);
}

TaskEpoch task_epoch() {
  uint64_t v = g_epoch.load(std::memory_order_acquire);
  return {uint32_t(v), int(v >> 32 & 3) - 1, int(v >> 34 & 3) - 1};
}

void set_task_epoch(TaskEpoch e) {
  uint64_t v = uint64_t(e.gen) | uint64_t(e.target + 1) << 32 | uint64_t(e.initial + 1) << 34;
  g_epoch.store(v, std::memory_order_release);
}

int task_state_of(int32_t word, const TaskEpoch& e) {
  if (!e.gen) return KLP_TRANSITION_IDLE;
  if (word != 0 && uint32_t(word) >> 1 == e.gen) return word & 1;
  return e.initial;
}

void task_init() { (void)real_pthread_create(); }

}  // namespace uklp::rt

// Threads created during a transition start in their creator's state.
extern "C" UKLP_EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*fn)(void*),
                                          void* arg) {
  using namespace uklp::rt;
  PthreadCreate real = real_pthread_create();
  if (!real) return EAGAIN;
  // Only a word of the current transition is worth inheriting: any other
  // means the initial state, which is also what a new thread's 0 means.
  int32_t word = __atomic_load_n(task_word_self(), __ATOMIC_RELAXED);
  TaskEpoch e = task_epoch();
  bool inherit = e.gen && word && uint32_t(word) >> 1 == e.gen;
  auto* s = inherit ? static_cast<Start*>(malloc(sizeof(Start))) : nullptr;
  if (!s) return real(thread, attr, fn, arg);
  *s = {fn, arg, word};
  int rc = real(thread, attr, task_start, s);
  if (rc != 0) free(s);
  return rc;
}

// A safe point of the program's own loop (the kernel's exit to user mode
// and idle loop): the calling thread switches to the target state now,
// without a stack check. See include/uklp/uklp.h.
extern "C" UKLP_EXPORT void klp_update_patch_state(void) {
  using namespace uklp::rt;
  TaskEpoch e = task_epoch();
  if (!e.gen || e.target < 0) return;
  __atomic_store_n(task_word_self(), task_word(e.gen, e.target), __ATOMIC_RELAXED);
}
