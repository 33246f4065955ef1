// text_poke.cc: see text_poke.h.
//
// The trap-redirect table is an open-addressing hash in an mmap'ed array,
// filled only by the control thread and read lock-free by the SIGTRAP
// handler; entries are published with a release store of `at` (the
// handler's acquire load pairs with it) and never removed.
#include "text_poke.h"

#include <fcntl.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "log.h"
#include "tracer.h"

namespace uklp::rt {
namespace {

constexpr size_t kTrapSlots = 1u << 16;  // power of two; 1 MiB of address space

struct TrapSlot {
  std::atomic<uintptr_t> at;
  std::atomic<uintptr_t> resume;
};

int g_mem_fd = -1;
TrapSlot* g_traps = nullptr;
size_t g_trap_count = 0;
struct sigaction g_old_trap {};

size_t trap_hash(uintptr_t a) { return (a * 0x9E3779B97F4A7C15ull) >> 48 & (kTrapSlots - 1); }

void chain(const struct sigaction& old, int sig, siginfo_t* info, void* uc) {
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction) old.sa_sigaction(sig, info, uc);
  } else if (old.sa_handler == SIG_DFL) {
    // Re-deliver with the default action (SIGTRAP: dump core, as without us).
    signal(sig, SIG_DFL);
    raise(sig);
  } else if (old.sa_handler != SIG_IGN) {
    old.sa_handler(sig);
  }
}

void on_sigtrap(int sig, siginfo_t* info, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  uintptr_t at = uintptr_t(uc->uc_mcontext.gregs[REG_RIP]) - 1;  // int3 traps after itself
  if (g_traps) {
    for (size_t i = trap_hash(at), n = 0; n < kTrapSlots; i = (i + 1) & (kTrapSlots - 1), ++n) {
      uintptr_t a = g_traps[i].at.load(std::memory_order_acquire);
      if (a == 0) break;
      if (a == at) {
        uc->uc_mcontext.gregs[REG_RIP] = greg_t(g_traps[i].resume.load(std::memory_order_relaxed));
        return;
      }
    }
  }
  chain(g_old_trap, sig, info, ucv);
}

// The handler runs with every other signal blocked, and SIGTRAP never
// blocked (SA_NODEFER): a program's handler that ran inside ours and
// called a function whose entry is an int3 would trap with SIGTRAP
// blocked, which the kernel answers by killing the process.
Status install_handler(int sig, void (*fn)(int, siginfo_t*, void*), struct sigaction* old) {
  struct sigaction sa {};
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER;
  sigfillset(&sa.sa_mask);
  sigdelset(&sa.sa_mask, SIGTRAP);
  if (sigaction(sig, &sa, old) != 0) return error(errno, "cannot install the handler of signal " + std::to_string(sig));
  return Status::ok();
}

// Registering for membarrier(SYNC_CORE) waits for an RCU grace period once
// the process has several threads (5-20 ms here); with one thread it is
// immediate. The runtime's constructor registers early (text_preregister);
// text_init() registers then only if that failed.
bool g_sync_core_registered = false;

bool register_sync_core() {
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0;
}

}  // namespace

void text_preregister() { g_sync_core_registered = register_sync_core(); }

Status text_init() {
  if (g_mem_fd >= 0) return Status::ok();
  int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  if (fd < 0) return error(errno, "cannot open /proc/self/mem to write code");
  if (!g_sync_core_registered && !(g_sync_core_registered = register_sync_core())) {
    close(fd);
    return error(errno, "membarrier(SYNC_CORE) is not available");
  }
  void* t = mmap(nullptr, kTrapSlots * sizeof(TrapSlot), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (t == MAP_FAILED) {
    close(fd);
    return error(errno, "cannot allocate the trap table");
  }
  g_traps = static_cast<TrapSlot*>(t);
  UKLP_TRY(install_handler(SIGTRAP, on_sigtrap, &g_old_trap));
  g_mem_fd = fd;
  return Status::ok();
}

void text_after_fork() {
  if (g_mem_fd < 0) return;
  // The inherited descriptor is the parent's memory: writing through it
  // would change the parent's code, not ours.
  int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    dup3(fd, g_mem_fd, O_CLOEXEC);
    close(fd);
  }
  syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
}

void sync_cores() {
  // Pairs with nothing in the other threads' code: SYNC_CORE makes each of
  // them execute a core-serializing instruction before it returns to user
  // space, so none can run stale bytes of the code just written.
  syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
}

Status data_poke(uintptr_t addr, std::span<const uint8_t> bytes) {
  if (g_mem_fd < 0) UKLP_TRY(text_init());
  ssize_t n = pwrite(g_mem_fd, bytes.data(), bytes.size(), off_t(addr));
  if (n != ssize_t(bytes.size()))
    return error(n < 0 ? errno : EIO, "cannot write " + std::to_string(bytes.size()) + " bytes at 0x" +
                                          [&] { char b[32]; snprintf(b, sizeof b, "%lx", addr); return std::string(b); }());
  return Status::ok();
}

Status text_poke(uintptr_t addr, std::span<const uint8_t> bytes) {
  UKLP_TRY(data_poke(addr, bytes));
  sync_cores();
  return Status::ok();
}

Status add_trap_redirect(uintptr_t at, uintptr_t resume) {
  if (!g_traps) UKLP_TRY(text_init());
  for (size_t i = trap_hash(at), n = 0; n < kTrapSlots; i = (i + 1) & (kTrapSlots - 1), ++n) {
    uintptr_t a = g_traps[i].at.load(std::memory_order_relaxed);
    if (a == at) {
      g_traps[i].resume.store(resume, std::memory_order_relaxed);
      return Status::ok();
    }
    if (a == 0) {
      if (g_trap_count + 1 >= kTrapSlots / 2) return error(ENOSPC, "too many patched functions");
      g_traps[i].resume.store(resume, std::memory_order_relaxed);
      g_traps[i].at.store(at, std::memory_order_release);  // pairs with on_sigtrap's acquire
      ++g_trap_count;
      return Status::ok();
    }
  }
  return error(ENOSPC, "too many patched functions");
}

namespace {

// Field 32 of /proc/self/task/<tid>/stat, the blocked signals (the first
// 31 of them, SIGTRAP among them), has SIGTRAP's bit. The file is shorter
// than status's, and cheaper: a quarter less per thread with 1000 threads.
bool blocks_sigtrap(pid_t tid) {
  char buf[512];
  if (read_task_file(tid, "stat", buf, sizeof buf) <= 0) return false;
  const char* p = strrchr(buf, ')');  // the name may hold spaces and parentheses
  if (!p) return false;
  for (int field = 2; field < 32 && p; ++field) p = strchr(p + 1, ' ');
  if (!p) return false;
  unsigned long long mask = strtoull(p + 1, nullptr, 10);
  return mask >> (SIGTRAP - 1) & 1;
}

}  // namespace

Status hold_sigtrap_blockers(ThreadHold& hold, std::vector<ThreadCheck>& threads) {
  threads.clear();
  UKLP_ASSIGN_OR_RETURN(std::vector<pid_t> tids, other_threads());
  for (pid_t tid : tids) {
    if (!blocks_sigtrap(tid)) continue;
    threads.emplace_back(tid);
  }
  UKLP_TRY(hold.hold(threads));
  for (const ThreadCheck& t : threads)
    if (!t.held && t.verdict != ThreadVerdict::gone)
      return error(EBUSY, "thread " + std::to_string(t.tid) +
                              " blocks SIGTRAP and cannot be stopped while a function entry changes (" +
                              thread_verdict_name(t.verdict) + "); nothing was changed");
  return Status::ok();
}

}  // namespace uklp::rt
