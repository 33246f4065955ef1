// text_poke.cc: see text_poke.h.
//
// The trap-redirect table is an open-addressing hash in an mmap'ed array,
// filled only by the control thread and read lock-free by the SIGTRAP
// handler; entries are published with a release store of `at` (the
// handler's acquire load pairs with it) and never removed.
//
// Eviction: a thread blocked in a system call (/proc/self/task/T/syscall
// shows a syscall number) or preempted in user mode at another pc is safe
// as it is. Threads shown as "running", or preempted at one of the
// addresses, are stopped by the tracer (tracer.h), which moves a pc found
// on one of them past it. Only threads the tracer may not stop (a
// debugger holds them, ptrace is forbidden) get the runtime signal via
// rt_tgsigqueueinfo() carrying a round number; its handler does the same
// and counts itself for that round. Stale signals of an earlier round are
// ignored.
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
struct sigaction g_old_rt {};
int g_signal = 0;

// Eviction round, published before the signals are sent.
std::atomic<int> g_round{0};
std::atomic<const uintptr_t*> g_evict_addrs{nullptr};
std::atomic<size_t> g_evict_count{0};
std::atomic<int> g_acks{0};

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

void on_runtime_signal(int sig, siginfo_t* info, void* ucv) {
  if (info->si_code != SI_QUEUE || info->si_pid != getpid()) {
    chain(g_old_rt, sig, info, ucv);
    return;
  }
  int saved_errno = errno;
  if (info->si_value.sival_int == g_round.load(std::memory_order_acquire)) {
    auto* uc = static_cast<ucontext_t*>(ucv);
    uintptr_t pc = uintptr_t(uc->uc_mcontext.gregs[REG_RIP]);
    const uintptr_t* addrs = g_evict_addrs.load(std::memory_order_acquire);
    size_t n = g_evict_count.load(std::memory_order_relaxed);
    for (size_t i = 0; addrs && i < n; ++i)
      if (pc == addrs[i]) uc->uc_mcontext.gregs[REG_RIP] = greg_t(pc + 1);
    g_acks.fetch_add(1, std::memory_order_release);
  }
  errno = saved_errno;
}

// Both handlers run with every other signal blocked, and SIGTRAP never
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

int parse_signal() {
  const char* s = getenv("UKLP_SIGNAL");
  if (s && *s) {
    char* end = nullptr;
    long v = strtol(s, &end, 10);
    if (*end == 0 && v >= 1 && v <= SIGRTMAX && v != SIGKILL && v != SIGSTOP && v != SIGTRAP) return int(v);
  }
  return SIGRTMIN + 6;
}

enum class ThreadPos { safe, must_signal };

// Reads /proc/self/task/<tid>/syscall: "running", "-1 sp pc" (user mode,
// not running) or "nr args... sp pc" (blocked in a system call). A thread
// is safe unless it runs, or sits at one of `addrs`.
ThreadPos thread_position(int tid, std::span<const uintptr_t> addrs, x86::CachedReader& reader) {
  char buf[256];
  ssize_t n = read_task_file(tid, "syscall", buf, sizeof buf);
  if (n < 0) return ThreadPos::safe;  // the thread has exited
  if (n == 0) return ThreadPos::must_signal;
  if (strncmp(buf, "running", 7) == 0) return ThreadPos::must_signal;
  // "nr args... sp pc" or "-1 sp pc": the last two fields.
  char* end = buf + strlen(buf);
  while (end > buf && (end[-1] == '\n' || end[-1] == ' ')) *--end = 0;
  char* pc_text = strrchr(buf, ' ');
  if (!pc_text) return ThreadPos::must_signal;
  *pc_text = 0;
  char* sp_text = strrchr(buf, ' ');
  unsigned long pc = strtoul(pc_text + 1, nullptr, 16);
  unsigned long sp = strtoul(sp_text ? sp_text + 1 : buf, nullptr, 16);
  for (uintptr_t a : addrs)
    if (pc == a) return ThreadPos::must_signal;
  // A signal handler may have interrupted it at one of them, and be
  // sleeping now: the saved pc is on its stack.
  reader.reset();
  if (stack_has_signal_frame_at(reader.reader(), sp, 32 * 1024, addrs)) return ThreadPos::must_signal;
  return ThreadPos::safe;
}

bool send_round_signal(int tid, int round) {
  siginfo_t si{};
  si.si_signo = g_signal;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = round;
  return syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, g_signal, &si) == 0;
}

void sleep_us(long us) {
  timespec ts{0, us * 1000};
  nanosleep(&ts, nullptr);
}

}  // namespace

int runtime_signal() {
  if (!g_signal) g_signal = parse_signal();
  return g_signal;
}

namespace {

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
  runtime_signal();
  UKLP_TRY(install_handler(SIGTRAP, on_sigtrap, &g_old_trap));
  UKLP_TRY(install_handler(g_signal, on_runtime_signal, &g_old_rt));
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

// The fallback for threads the tracer cannot stop (a debugger holds them,
// or ptrace is not allowed): interrupts those that may be at one of
// `addrs` with the runtime signal until every one answered. Returns the
// threads still pending. (It allocates: rare, and only when held threads
// could not be stopped either way.)
std::vector<int> run_rounds(std::span<const uintptr_t> addrs, std::vector<int> pending,
                            x86::CachedReader& reader) {
  constexpr int kAttempts = 20;  // 20 x up to 50 ms: about a second
  for (int attempt = 0; attempt < kAttempts && !pending.empty(); ++attempt) {
    std::vector<int> to_signal;
    for (int tid : pending)
      if (thread_position(tid, addrs, reader) == ThreadPos::must_signal) to_signal.push_back(tid);
    if (to_signal.empty()) return {};
    int round = g_round.load() + 1;
    g_acks.store(0);
    g_round.store(round, std::memory_order_release);  // pairs with the handler's acquire
    int sent = 0;
    for (int tid : to_signal) sent += send_round_signal(tid, round) ? 1 : 0;
    for (int waited = 0; waited < 50000 && g_acks.load(std::memory_order_acquire) < sent; waited += 50)
      sleep_us(50);
    if (g_acks.load(std::memory_order_acquire) >= sent) return {};
    pending = to_signal;  // check again: not answered yet, or exited
  }
  return pending;
}

// Threads that may be at one of `addrs` are stopped by the tracer, which
// moves them past; blocked ones cannot be there and are left alone.
// `interrupted`: a thread whose signal handler interrupted it at one of
// `addrs` (it must return from the handler before the NOP can change).
// Allocates nothing: `s` was sized by prepare_evict().
Status evict_with_tracer(std::span<const uintptr_t> addrs, EvictScratch& s, pid_t* interrupted,
                         size_t* untraced) {
  s.checks.clear();
  for (pid_t tid : s.tids) {
    if (std::find(s.held.begin(), s.held.end(), tid) != s.held.end()) continue;  // evicted by the hold
    if (thread_position(tid, addrs, *s.reader) != ThreadPos::must_signal) continue;
    s.checks.emplace_back(tid);
  }
  *interrupted = 0;
  *untraced = 0;
  if (s.checks.empty()) return Status::ok();
  TracerJob job;
  job.mode = TracerMode::evict;
  job.evict = addrs;
  UKLP_TRY(run_tracer(job, s.checks, s.reader.get()));
  for (const ThreadCheck& t : s.checks) {
    if (t.verdict == ThreadVerdict::blocked && !*interrupted) *interrupted = t.tid;
    if (t.verdict == ThreadVerdict::not_traceable || t.verdict == ThreadVerdict::no_stop) ++*untraced;
  }
  return Status::ok();
}

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

Status hold_sigtrap_blockers(ThreadHold& hold, std::vector<ThreadCheck>& threads, std::span<const pid_t> tids,
                             std::span<const uintptr_t> evict) {
  threads.clear();
  for (pid_t tid : tids) {
    if (!blocks_sigtrap(tid)) continue;
    threads.emplace_back(tid);
  }
  UKLP_TRY(hold.hold(threads, evict));
  for (const ThreadCheck& t : threads) {
    if (!t.held && t.verdict != ThreadVerdict::gone)
      return error(EBUSY, "thread " + std::to_string(t.tid) +
                              " blocks SIGTRAP and cannot be stopped while a function entry changes (" +
                              thread_verdict_name(t.verdict) + "); nothing was changed");
    if (t.verdict == ThreadVerdict::blocked)
      return error(EBUSY, "thread " + std::to_string(t.tid) +
                              " is running a signal handler that interrupted it at a function entry being "
                              "changed; nothing was changed, try again");
  }
  return Status::ok();
}

Status prepare_evict(EvictScratch& s, std::vector<pid_t> tids) {
  s.tids = std::move(tids);
  s.checks.clear();
  s.checks.reserve(s.tids.size());
  s.held.clear();
  s.held.reserve(s.tids.size());
  if (!s.reader) s.reader = std::make_unique<x86::CachedReader>(getpid());
  return Status::ok();
}

Status evict_threads_from(std::span<const uintptr_t> addrs, EvictScratch& s) {
  if (addrs.empty()) return Status::ok();
  pid_t interrupted = 0;
  size_t untraced = 0;
  for (long delay_us : {0L, 500L, 1000L, 2000L, 5000L, 10000L, 20000L, 50000L, 100000L, 200000L, 300000L}) {
    if (delay_us) sleep_us(delay_us);
    UKLP_TRY(evict_with_tracer(addrs, s, &interrupted, &untraced));
    if (!interrupted) break;
  }
  if (interrupted)
    return error(EBUSY, "thread " + std::to_string(interrupted) +
                            " is running a signal handler that interrupted it at a function entry being "
                            "changed; nothing was changed, try again");
  if (!untraced) return Status::ok();
  std::vector<int> untraced_tids;
  for (const ThreadCheck& t : s.checks)
    if (t.verdict == ThreadVerdict::not_traceable || t.verdict == ThreadVerdict::no_stop)
      untraced_tids.push_back(t.tid);
  g_evict_addrs.store(addrs.data(), std::memory_order_relaxed);
  g_evict_count.store(addrs.size(), std::memory_order_relaxed);
  std::vector<int> pending = run_rounds(addrs, untraced_tids, *s.reader);
  g_round.fetch_add(1);  // late signals of this round are now stale
  g_evict_addrs.store(nullptr, std::memory_order_relaxed);
  g_evict_count.store(0, std::memory_order_relaxed);
  if (!pending.empty())
    return error(EBUSY, "thread " + std::to_string(pending.front()) +
                            " did not answer the runtime signal " + std::to_string(g_signal) +
                            " (is it blocked?); nothing was changed");
  return Status::ok();
}

}  // namespace uklp::rt
