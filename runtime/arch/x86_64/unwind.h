// unwind.h: reliable stack walking for the consistency model's stack check
// (the kernel's stack_trace_save_tsk_reliable()), from .eh_frame CFI.
//
// A thread's stack is walked from a full register set taken where it was
// stopped (ptrace) or interrupted (a signal's ucontext). The walk is
// "reliable" only if every frame was unwound by CFI that this unwinder
// fully understands and it ended at the thread's outermost frame, the one
// whose return-address rule is "undefined" (glibc's _start and the clone
// entry of every pthread mark themselves so). Anything else (a pc with no
// FDE, a CFA or register rule it cannot evaluate, unreadable memory, more
// than kMaxFrames frames) gives a non-ok status, which the transition
// treats as "not yet", never as "safe".
//
// Signal frames: a frame whose pc is the kernel's sigreturn trampoline
// (glibc's __restore_rt: `mov $15,%rax; syscall`) is unwound through the
// ucontext the kernel saved on the stack; the interrupted pc is exact, not
// a return address.
//
// Constraints: unwind_stack() allocates nothing, takes no lock and calls no
// libc function but memcpy/memset, and reads the target's memory only
// through the MemoryReader: it runs in a signal handler and in the tracer
// process, which shares the target's memory while the thread that might
// hold malloc's lock is stopped. UnwindTable::build() allocates and runs on
// the control thread before a check; the table is immutable during it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "result.h"

namespace uklp::rt::x86 {

// DWARF register numbers of x86-64 (System V psABI, figure 3.36).
enum DwarfReg : int {
  kRax = 0, kRdx, kRcx, kRbx, kRsi, kRdi, kRbp, kRsp,
  kR8, kR9, kR10, kR11, kR12, kR13, kR14, kR15,
  kRip = 16,
  kNumRegs = 17,
};

// A register set; `known` says which values are meaningful.
struct Regs {
  uint64_t r[kNumRegs] = {};
  uint32_t known = 0;  // bit i: r[i] is valid
  void set(int reg, uint64_t v) { r[reg] = v; known |= 1u << reg; }
  bool has(int reg) const { return known >> reg & 1; }
};

// Reads n bytes of the target at addr into out; false if any is unreadable.
// Must itself be async-signal-safe and allocation-free.
struct MemoryReader {
  bool (*read)(void* ctx, uintptr_t addr, void* out, size_t n) = nullptr;
  void* ctx = nullptr;
  bool operator()(uintptr_t addr, void* out, size_t n) const { return read(ctx, addr, out, n); }
};

// A MemoryReader over process_vm_readv(2) of `pid` (raw system call, no
// errno), caching the last few pages read: a typical walk touches a few
// stack pages and the FDEs of a dozen functions. The cache never notices
// that memory changed: reset() it before walking a thread that has run.
class CachedReader {
 public:
  static constexpr int kCapacity = 32;  // pages
  explicit CachedReader(pid_t pid) : pid_(pid) {}
  MemoryReader reader() { return {&CachedReader::read_fn, this}; }
  bool read(uintptr_t addr, void* out, size_t n);
  void reset() { for (auto& p : pages_) p.valid = false; }
  // As reset(), but keeps the pages of `table`'s read-only segments, which
  // the unwinding of every thread reads (its CFI, its code).
  void reset_keeping(const class UnwindTable& table);
  // Reads up to `count` pages from the one holding `addr` upward in one
  // system call (a stopped thread's stack, its TLS above it): far cheaper
  // than a call per page. Pages past an unmapped one stay unread.
  void prefetch(uintptr_t addr, int count);

 private:
  static constexpr size_t kPage = 4096;
  static constexpr int kPages = kCapacity;
  struct Page {
    uintptr_t base = 0;
    bool valid = false;
    unsigned age = 0;
    uint8_t bytes[kPage];
  };
  static bool read_fn(void* ctx, uintptr_t addr, void* out, size_t n) {
    return static_cast<CachedReader*>(ctx)->read(addr, out, n);
  }
  const Page* page_for(uintptr_t base);
  pid_t pid_;
  unsigned clock_ = 0;
  Page pages_[kPages];
};

// The loaded objects' executable ranges and their .eh_frame_hdr
// (PT_GNU_EH_FRAME), from dl_iterate_phdr, sorted by address.
struct UnwindObject {
  uintptr_t start = 0, end = 0;  // an executable PT_LOAD segment
  uintptr_t eh_frame_hdr = 0;    // 0: the object has no unwind table
};

class UnwindTable {
 public:
  // Rebuilds the table from the objects loaded now. Control thread only.
  Status build();
  const UnwindObject* find(uintptr_t pc) const;
  size_t size() const { return objects_.size(); }
  // The page at `base` lies in a segment mapped without write permission
  // (code, unwind tables, read-only data): the same for every thread.
  bool read_only_page(uintptr_t base) const;

 private:
  std::vector<UnwindObject> objects_;
  std::vector<std::pair<uintptr_t, uintptr_t>> read_only_;  // page-aligned [start, end), sorted
};

enum class UnwindStatus {
  ok,                 // reached the outermost frame: reliable
  no_unwind_info,     // a pc outside every object, or with no FDE
  unsupported_cfi,    // a CFA or register rule this unwinder does not evaluate
  bad_cfi,            // malformed CIE/FDE or CFA program
  unreadable_memory,  // the reader failed (stack or unwind data)
  too_deep,           // more than kMaxFrames frames
};
const char* unwind_status_name(UnwindStatus s);

struct StackTrace {
  static constexpr int kMaxFrames = 100;  // the kernel's MAX_STACK_ENTRIES
  // pcs[0] is the interrupted pc; the others are return addresses, except
  // the pc interrupted by a signal (exact), flagged in `exact`.
  uintptr_t pcs[kMaxFrames];
  bool exact[kMaxFrames];
  int n = 0;
  UnwindStatus status = UnwindStatus::ok;
  uintptr_t failed_pc = 0;  // where the walk stopped when status != ok (0 when ok;
                            // a return address of 0 is no_unwind_info at 0)
};

// Walks the stack described by `regs` (rip, rsp and whatever else is known;
// a rule needing an unknown register is unsupported_cfi).
void unwind_stack(const UnwindTable& table, const Regs& regs, const MemoryReader& mem, StackTrace* out);

}  // namespace uklp::rt::x86
