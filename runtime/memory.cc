// memory.cc: the runtime's operator new and delete (its own: libstdc++ is
// linked in and hidden, so these serve the runtime's allocations only).
//
// The runtime is built without exceptions, yet libstdc++'s operator new
// throws std::bad_alloc when malloc fails, and an exception nothing
// catches aborts the whole process: a process short of memory died at the
// control thread's first allocation of a request (tests/e2e/test_faults.py
// found it with 0 to 256 KiB of address space left). Here a failed malloc
// falls back to an emergency pool in .bss (mapped when the runtime loads,
// never touched otherwise, so never resident), from which the request
// goes on far enough to fail cleanly where it maps memory (the module, the
// trap table) and to send its error. Pool memory is never reused; only
// when the pool too is used up does the process stop, as before.
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

constexpr size_t kPoolBytes = 256 * 1024;
alignas(64) char g_pool[kPoolBytes];
std::atomic<size_t> g_pool_used{0};

bool in_pool(void* p) {
  return static_cast<char*>(p) >= g_pool && static_cast<char*>(p) < g_pool + kPoolBytes;
}

[[gnu::noinline, gnu::cold]] void* pool_alloc(size_t n) {
  constexpr size_t kAlign = alignof(std::max_align_t);
  size_t size = (n + kAlign - 1) & ~(kAlign - 1);
  size_t at = g_pool_used.fetch_add(size, std::memory_order_relaxed);
  if (size <= kPoolBytes && at <= kPoolBytes - size) return g_pool + at;
  static const char msg[] = "uklp: out of memory, and the runtime's emergency pool is used up\n";
  (void)!write(2, msg, sizeof msg - 1);
  abort();
}

}  // namespace

void* operator new(size_t n) {
  if (void* p = malloc(n ? n : 1)) return p;
  return pool_alloc(n ? n : 1);
}

void* operator new[](size_t n) { return operator new(n); }

void operator delete(void* p) noexcept {
  if (!in_pool(p)) free(p);
}

void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }
