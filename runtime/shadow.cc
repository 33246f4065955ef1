// shadow.cc: shadow variables (kernel/livepatch/shadow.c): data a patch
// attaches to an existing object, found again by the pair <obj, id>.
//
// Semantics are the kernel's: the data is zeroed, then the optional ctor
// runs once, under the lock that guards <obj, id>, and the variable is
// attached (visible to klp_shadow_get) only once the ctor succeeded;
// klp_shadow_alloc of an existing pair logs "Duplicate shadow variable" and
// returns NULL; get_or_alloc returns the existing data without calling the
// ctor; free and free_all unlink a variable, then call the dtor under the
// lock. Allocation uses calloc, and its failure returns NULL (the kernel's
// ENOMEM path). As in the kernel, ctor and dtor must not call the
// klp_shadow_* functions that write (alloc, get_or_alloc, free, free_all):
// the shard lock is not recursive, and which objects share a shard is not
// known. klp_shadow_get is fine.
//
// Design. The kernel has one table of 4096 buckets, one spinlock for every
// writer and RCU for readers. Here the table is split into 4096 shards (the
// shard is chosen by hashing obj), each one cache line holding its own
// lock, sequence counter, free list and 4 buckets (chosen by hashing obj
// and id): threads working on different objects share a line only when
// their objects hash to the same shard. 4096 one-line shards measured
// better than 256 shards of 64 buckets on two lines (docs/design.md): with
// fewer shards, two threads' objects cover every shard and each write
// finds the line in the other CPU's cache.
//
// Readers take no lock and write nothing; two rules make that sound:
// - Type-stable headers. A variable is a header (Node: obj, id, data, next)
//   plus its data, allocated separately. Headers are never returned to
//   malloc: a freed header goes to its shard's free list and is reused only
//   by that shard. Every `next` and bucket pointer holds a header or NULL,
//   so a reader that follows a stale pointer still reads a header, never
//   freed memory, whatever writers do meanwhile. Readers never dereference
//   `data` (only return it), so freeing data at once is safe for them.
// - A per-shard sequence counter (a seqlock). Every store to any header or
//   bucket of a shard happens in a write window (seq odd) under the shard's
//   lock: attach, detach, reuse of a header. A reader reads seq (acquire),
//   walks the bucket with acquire loads, and accepts its answer only if seq
//   is still the same even value; a reader that saw any store of a window
//   also sees that window's odd seq (the store is a release after it), so a
//   walk that raced with a writer is retried. A walk also rechecks seq every
//   kRecheckSteps steps, so following recycled headers cannot loop for ever;
//   after kOptimisticTries failed walks the reader takes the lock.
// The pointer klp_shadow_get returns is the caller's to protect, as in the
// kernel (whose RCU read section also ends before klp_shadow_get returns).
//
// Costs: klp_shadow_get is a hash, two loads of the shard's counter and a
// walk of one bucket (docs/design.md, "Shadow variables", has the numbers).
// A header is 32 bytes, kept for the life of the process once allocated.
// The table has 16384 buckets (the kernel: 4096), 256 KiB of .bss touched
// only as shards are used, and never grows.
//
// Fork: the table is process memory and the child keeps it. A thread that
// held a shard lock at fork() does not exist in the child, so the child
// resets every lock (shadow_after_fork_child). That is safe because every
// write window leaves the lists consistent after each single store (a
// header is fully written before the one store that links it), so the child
// sees each list either before or after that store; a variable whose ctor or
// dtor was running in another thread is simply not there (or leaked).
//
// free_all takes the shards' locks one after another, not all at once:
// unlike the kernel's, it is atomic per shard, not over the whole table (see
// docs/design.md).
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "log.h"
#include "uklp/livepatch.h"

namespace uklp::rt {
namespace {

constexpr unsigned kShardBits = 12;
constexpr unsigned kBucketBits = 2;
constexpr unsigned kShards = 1u << kShardBits;
constexpr unsigned kBucketsPerShard = 1u << kBucketBits;
constexpr unsigned kRecheckSteps = 64;
constexpr int kOptimisticTries = 8;
constexpr int kSpinsBeforeSleep = 100;
constexpr size_t kNodesPerSlab = 32;  // one calloc of 1 KiB refills a free list
constexpr size_t kCacheLine = 64;

struct Node {
  std::atomic<Node*> next{nullptr};  // in a bucket or in the shard's free list
  std::atomic<void*> obj{nullptr};
  std::atomic<unsigned long> id{0};
  std::atomic<void*> data{nullptr};
};

// A futex mutex (0 free, 1 held, 2 held with waiters). A plain word, so the
// child of a fork() can reset it.
class ShardLock {
 public:
  void lock() {
    uint32_t expected = 0;
    if (!word_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) lock_slow();
  }
  void unlock() {
    if (word_.exchange(0, std::memory_order_release) == 2) futex(FUTEX_WAKE_PRIVATE, 1);
  }
  bool held() const { return word_.load(std::memory_order_relaxed) != 0; }
  void reset() { word_.store(0, std::memory_order_relaxed); }

 private:
  void lock_slow() {
    for (int i = 0; i < kSpinsBeforeSleep; ++i) {
      __builtin_ia32_pause();
      uint32_t expected = 0;
      if (word_.load(std::memory_order_relaxed) == 0 &&
          word_.compare_exchange_strong(expected, 1, std::memory_order_acquire))
        return;
    }
    while (word_.exchange(2, std::memory_order_acquire) != 0) futex(FUTEX_WAIT_PRIVATE, 2);
  }
  void futex(int op, uint32_t value) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), op, value, nullptr, nullptr, 0);
  }
  std::atomic<uint32_t> word_{0};
};
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word");

using Bucket = std::atomic<Node*>;

// One shard, one cache line: its lock, sequence counter, free list and
// buckets. A lookup reads this line and the headers of one bucket.
struct alignas(kCacheLine) Shard {
  ShardLock lock;
  std::atomic<uint64_t> seq{0};  // odd while a write window is open
  Node* free_nodes = nullptr;    // under `lock`
  Bucket buckets[kBucketsPerShard];
};
static_assert(sizeof(Shard) == kCacheLine, "a shard fills one cache line");

constinit Shard g_shards[kShards];

// Set before the first shard lock is taken: a fork() child of a process
// that never used shadow variables then leaves the table's pages alone.
std::atomic<bool> g_table_used{false};

void lock_shard(Shard& s) {
  if (!g_table_used.load(std::memory_order_relaxed)) g_table_used.store(true);
  s.lock.lock();
}

// hash_long() of the kernel: the golden ratio's multiplicative hash.
constexpr uint64_t kGoldenRatio64 = 0x61c8864680b583ebull;

Shard& shard_of(void* obj) { return g_shards[(uintptr_t(obj) * kGoldenRatio64) >> (64 - kShardBits)]; }

Bucket& bucket_of(Shard& s, void* obj, unsigned long id) {
  uint64_t h = (uintptr_t(obj) ^ (id * kGoldenRatio64)) * kGoldenRatio64;
  return s.buckets[h >> (64 - kBucketBits)];
}

// ---- write windows (the lock is held) ----
// Partner: try_find()'s two loads of seq. Each store inside a window is a
// release, so a reader that observes it also observes the odd seq before it.

void write_begin(Shard& s) { s.seq.store(s.seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

void write_end(Shard& s) { s.seq.store(s.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

// Makes sure the shard's free list has a header. New headers are not
// reachable by readers yet, so they are linked outside a window.
bool reserve_node(Shard& s) {
  if (s.free_nodes) return true;
  void* slab = calloc(kNodesPerSlab, sizeof(Node));
  if (!slab) return false;
  Node* nodes = static_cast<Node*>(slab);
  for (size_t i = kNodesPerSlab; i-- > 0;) {
    new (&nodes[i]) Node();
    nodes[i].next.store(s.free_nodes, std::memory_order_relaxed);
    s.free_nodes = &nodes[i];
  }
  return true;
}

// Takes the header reserve_node() made sure of, fills it in and links it at
// the head of `b`: the last store publishes it.
void attach(Shard& s, Bucket& b, void* obj, unsigned long id, void* data) {
  Node* n = s.free_nodes;
  write_begin(s);
  s.free_nodes = n->next.load(std::memory_order_relaxed);
  n->obj.store(obj, std::memory_order_release);
  n->id.store(id, std::memory_order_release);
  n->data.store(data, std::memory_order_release);
  n->next.store(b.load(std::memory_order_relaxed), std::memory_order_release);
  b.store(n, std::memory_order_release);
  write_end(s);
}

// Unlinks `n` (which `link` points to) and puts its header on the free
// list; its obj and data stay readable under the lock for the dtor.
void detach(Shard& s, std::atomic<Node*>& link, Node* n) {
  write_begin(s);
  link.store(n->next.load(std::memory_order_relaxed), std::memory_order_release);
  n->next.store(s.free_nodes, std::memory_order_release);
  s.free_nodes = n;
  write_end(s);
}

// ---- lookups ----

bool matches(const Node* n, void* obj, unsigned long id) {
  return n->obj.load(std::memory_order_acquire) == obj && n->id.load(std::memory_order_acquire) == id;
}

// The link that points to <obj, id>'s header, or NULL; the lock is held.
std::atomic<Node*>* find_link_locked(Bucket& b, void* obj, unsigned long id) {
  for (std::atomic<Node*>* link = &b;;) {
    Node* n = link->load(std::memory_order_relaxed);
    if (!n) return nullptr;
    if (matches(n, obj, id)) return link;
    link = &n->next;
  }
}

void* find_locked(Bucket& b, void* obj, unsigned long id) {
  std::atomic<Node*>* link = find_link_locked(b, obj, id);
  return link ? link->load(std::memory_order_relaxed)->data.load(std::memory_order_relaxed) : nullptr;
}

// One optimistic walk without the lock. Returns false if a writer of the
// shard interfered; the answer (data or NULL) is in *out otherwise.
bool try_find(const Shard& s, const Bucket& b, void* obj, unsigned long id, void** out) {
  uint64_t seq = s.seq.load(std::memory_order_acquire);
  if (seq & 1) return false;
  void* found = nullptr;
  unsigned steps = 0;
  for (Node* n = b.load(std::memory_order_acquire); n; n = n->next.load(std::memory_order_acquire)) {
    if (matches(n, obj, id)) {
      found = n->data.load(std::memory_order_acquire);
      break;
    }
    if (++steps % kRecheckSteps == 0 && s.seq.load(std::memory_order_relaxed) != seq) return false;
  }
  // Ordered after the walk's loads, which are all acquires.
  if (s.seq.load(std::memory_order_relaxed) != seq) return false;
  *out = found;
  return true;
}

void* shadow_get(void* obj, unsigned long id) {
  Shard& s = shard_of(obj);
  Bucket& b = bucket_of(s, obj, id);
  void* found;
  for (int i = 0; i < kOptimisticTries; ++i) {
    if (try_find(s, b, obj, id, &found)) return found;
    __builtin_ia32_pause();
  }
  lock_shard(s);  // writers kept this shard busy: wait for them once
  found = find_locked(b, obj, id);
  s.lock.unlock();
  return found;
}

// ---- allocation ----

void* exists(void* obj, unsigned long id, void* data, bool warn_on_exist) {
  if (!warn_on_exist) return data;
  klp_log(Level::warning, "Duplicate shadow variable <%p, %lx>", obj, id);
  return nullptr;
}

// __klp_shadow_get_or_alloc(): the data is allocated and zeroed outside the
// lock; the check for an existing variable is repeated under it, where the
// ctor runs and the variable is attached.
void* shadow_get_or_alloc(void* obj, unsigned long id, size_t size, klp_shadow_ctor_t ctor, void* ctor_data,
                          bool warn_on_exist) {
  if (void* data = shadow_get(obj, id)) return exists(obj, id, data, warn_on_exist);
  void* data = calloc(1, size ? size : 1);  // calloc(1, 0) may return NULL
  if (!data) return nullptr;
  Shard& s = shard_of(obj);
  Bucket& b = bucket_of(s, obj, id);
  lock_shard(s);
  if (void* old = find_locked(b, obj, id)) {  // lost the race
    s.lock.unlock();
    free(data);
    return exists(obj, id, old, warn_on_exist);
  }
  bool reserved = reserve_node(s);  // false: out of memory, like the kernel's kzalloc
  int err = reserved && ctor ? ctor(obj, data, ctor_data) : 0;
  bool attached = reserved && err == 0;
  if (attached) attach(s, b, obj, id, data);
  s.lock.unlock();
  if (attached) return data;
  free(data);
  if (err) klp_log(Level::err, "Failed to construct shadow variable <%p, %lx> (%d)", obj, id, err);
  return nullptr;
}

// ---- freeing ----

// Detaches the header `link` points to, then calls the dtor (lock held).
// Returns the data for the caller to free.
void* detach_and_destruct(Shard& s, std::atomic<Node*>& link, klp_shadow_dtor_t dtor) {
  Node* n = link.load(std::memory_order_relaxed);
  detach(s, link, n);
  void* obj = n->obj.load(std::memory_order_relaxed);
  void* data = n->data.load(std::memory_order_relaxed);
  if (dtor) dtor(obj, data);
  return data;
}

void shadow_free(void* obj, unsigned long id, klp_shadow_dtor_t dtor) {
  Shard& s = shard_of(obj);
  lock_shard(s);
  std::atomic<Node*>* link = find_link_locked(bucket_of(s, obj, id), obj, id);
  void* data = link ? detach_and_destruct(s, *link, dtor) : nullptr;
  s.lock.unlock();
  free(data);
}

void shard_free_all(Shard& s, unsigned long id, klp_shadow_dtor_t dtor) {
  lock_shard(s);
  for (Bucket& b : s.buckets) {
    for (std::atomic<Node*>* link = &b; Node* n = link->load(std::memory_order_relaxed);) {
      if (n->id.load(std::memory_order_relaxed) == id)
        free(detach_and_destruct(s, *link, dtor));  // *link now holds the next header
      else
        link = &n->next;
    }
  }
  s.lock.unlock();
}

// The kernel holds its one lock over the whole walk; here each shard is
// walked under its own lock in turn.
void shadow_free_all(unsigned long id, klp_shadow_dtor_t dtor) {
  for (Shard& s : g_shards) shard_free_all(s, id, dtor);
}

// ---- fork ----

// The child's only thread is the one that forked: no lock can be held by
// anyone else, and no write window can be open (see the header comment).
// Only shards that need it are written, so their pages stay shared.
void shadow_after_fork_child() {
  if (!g_table_used.load(std::memory_order_relaxed)) return;
  for (Shard& s : g_shards) {
    if (s.lock.held()) s.lock.reset();
    uint64_t seq = s.seq.load(std::memory_order_relaxed);
    if (seq & 1) s.seq.store(seq + 1, std::memory_order_relaxed);
  }
}

__attribute__((constructor)) void shadow_init() { pthread_atfork(nullptr, nullptr, shadow_after_fork_child); }

}  // namespace
}  // namespace uklp::rt

// ---- the C ABI (include/uklp/livepatch.h) ----

extern "C" UKLP_EXPORT void* klp_shadow_get(void* obj, unsigned long id) { return uklp::rt::shadow_get(obj, id); }

extern "C" UKLP_EXPORT void* klp_shadow_alloc(void* obj, unsigned long id, size_t size, gfp_t,
                                              klp_shadow_ctor_t ctor, void* ctor_data) {
  return uklp::rt::shadow_get_or_alloc(obj, id, size, ctor, ctor_data, true);
}

extern "C" UKLP_EXPORT void* klp_shadow_get_or_alloc(void* obj, unsigned long id, size_t size, gfp_t,
                                                     klp_shadow_ctor_t ctor, void* ctor_data) {
  return uklp::rt::shadow_get_or_alloc(obj, id, size, ctor, ctor_data, false);
}

extern "C" UKLP_EXPORT void klp_shadow_free(void* obj, unsigned long id, klp_shadow_dtor_t dtor) {
  uklp::rt::shadow_free(obj, id, dtor);
}

extern "C" UKLP_EXPORT void klp_shadow_free_all(unsigned long id, klp_shadow_dtor_t dtor) {
  uklp::rt::shadow_free_all(id, dtor);
}
