// tracer.cc: see tracer.h.
//
// Everything under `namespace tracer_side` runs in the tracer process: raw
// system calls only (it shares the control thread's TLS, hence errno), no
// allocation, every wait bounded. The control thread prepares all memory
// the tracer touches (the job, the results, the page cache) beforehand.
#include "tracer.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "arch/x86_64/insn.h"

namespace uklp::rt {
namespace {

constexpr size_t kTracerStack = 256 * 1024;
// The stack pages read at once from a stopped thread's sp: its innermost
// frames and, in a thread glibc started, its TLS (the patch-state word)
// just above them; a read stops at the end of the stack's mapping.
constexpr int kStackPrefetchPages = 8;

struct Control {
  const TracerJob* job = nullptr;
  ThreadCheck* threads = nullptr;
  size_t count = 0;
  pid_t target = 0;
  intptr_t tls_offset = 0;  // task_word_tls_offset(), computed on the control thread
  x86::CachedReader* reader = nullptr;
  std::atomic<int> go{0};
  std::atomic<int> done{0};
  std::atomic<int> release{0};  // hold jobs: let the threads go
};

namespace tracer_side {

long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

long now_ns() {
  timespec ts{};
  sys(SYS_clock_gettime, CLOCK_MONOTONIC, long(&ts));
  return ts.tv_sec * 1'000'000'000L + ts.tv_nsec;
}

// Bounded: the tracer never outlives a control thread that lost track of it.
void futex_wait(std::atomic<int>* word, int value) {
  timespec ts{1, 0};
  sys(SYS_futex, long(word), FUTEX_WAIT, value, long(&ts));
}

void futex_wake(std::atomic<int>* word) { sys(SYS_futex, long(word), FUTEX_WAKE, 1); }

// Waits for `tid` to report a stop, at most `wait_ms`. Each ptrace stop
// sends the tracer SIGCHLD (blocked here, so it stays pending): sleeping in
// rt_sigtimedwait() until it arrives wakes the tracer right at the stop,
// with no yield or timed sleep that would cost it a time slice on a busy
// machine.
long wait_stop(pid_t tid, int* status, long wait_ms) {
  long deadline = now_ns() + wait_ms * 1'000'000;
  const uint64_t sigchld = uint64_t(1) << (SIGCHLD - 1);
  for (;;) {
    long r = sys(SYS_wait4, tid, long(status), WNOHANG | __WALL, 0);
    if (r != 0) return r;
    long left = deadline - now_ns();
    if (left <= 0) return 0;
    timespec ts{left / 1'000'000'000L, left % 1'000'000'000L};
    sys(SYS_rt_sigtimedwait, long(&sigchld), 0, long(&ts), sizeof sigchld);
  }
}

// The tracer's signal dispositions are a copy of the program's: SIGCHLD
// must not be ignored, or the kernel would not send it for ptrace stops.
void default_sigchld() {
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } act{nullptr, 0, nullptr, 0};  // SIG_DFL
  sys(SYS_rt_sigaction, SIGCHLD, long(&act), 0, sizeof(uint64_t));
}

bool write_word(pid_t pid, uintptr_t addr, int32_t value) {
  iovec local{&value, sizeof value};
  iovec remote{reinterpret_cast<void*>(addr), sizeof value};
  return sys(SYS_process_vm_writev, pid, long(&local), 1, long(&remote), 1, 0) == long(sizeof value);
}

x86::Regs to_regs(const user_regs_struct& u) {
  x86::Regs r;
  r.set(x86::kRax, u.rax);
  r.set(x86::kRdx, u.rdx);
  r.set(x86::kRcx, u.rcx);
  r.set(x86::kRbx, u.rbx);
  r.set(x86::kRsi, u.rsi);
  r.set(x86::kRdi, u.rdi);
  r.set(x86::kRbp, u.rbp);
  r.set(x86::kRsp, u.rsp);
  r.set(x86::kR8, u.r8);
  r.set(x86::kR9, u.r9);
  r.set(x86::kR10, u.r10);
  r.set(x86::kR11, u.r11);
  r.set(x86::kR12, u.r12);
  r.set(x86::kR13, u.r13);
  r.set(x86::kR14, u.r14);
  r.set(x86::kR15, u.r15);
  r.set(x86::kRip, u.rip);
  return r;
}

int find_range(std::span<const CodeRange> ranges, uintptr_t addr) {
  size_t lo = 0, hi = ranges.size();
  while (lo < hi) {  // the first range with end > addr
    size_t mid = (lo + hi) / 2;
    if (ranges[mid].end <= addr) lo = mid + 1; else hi = mid;
  }
  return lo < ranges.size() && ranges[lo].start <= addr ? int(lo) : -1;
}

// Where a stopped thread's pc is, for a transition (TracerJob::entries).
enum class Place { in_code, before_entry, in_stub, stub_other };

Place place_at(const TracerJob& job, uintptr_t pc) {
  if (find_range(job.entries, pc) >= 0) return Place::before_entry;
  if (find_range(job.stubs, pc) < 0) return Place::in_code;
  // Stubs are laid out from the start of their page, kStubSize apart.
  size_t at = pc % 4096 % x86::kStubSize;
  if (at == 0) return Place::before_entry;
  return x86::stub_restartable_at(at) ? Place::in_stub : Place::stub_other;
}

// Steps 2-4 of tracer.h for one stopped thread.
void examine(const Control& c, ThreadCheck& t, const user_regs_struct& u) {
  const TracerJob& job = *c.job;
  const bool transition = job.mode == TracerMode::transition;
  if (transition) {
    int32_t word = 0;
    if (c.reader->read(t.word_addr, &word, sizeof word) &&
        task_state_of(word, job.epoch) == job.epoch.target) {
      t.verdict = ThreadVerdict::already_switched;
      return;
    }
  }
  x86::Regs regs = to_regs(u);
  switch (transition ? place_at(job, u.rip) : Place::in_code) {
    case Place::in_code:
      break;
    case Place::stub_other:  // cannot happen: no instruction starts there
      t.verdict = ThreadVerdict::blocked;
      t.range_id = -1;
      return;
    case Place::in_stub: {
      // Past the stub's test of its word, before its jump: nothing done
      // yet but flags, which a call clobbers anyway. Back to the test, it
      // reads the word again, so it is before the entry like any other. Only
      // in a stub of this transition's generation, whose test maps the
      // word to this transition's versions.
      user_regs_struct back = u;
      back.rip = u.rip - u.rip % 4096 % x86::kStubSize;
      int32_t match = 0;
      if (!c.reader->read(back.rip + x86::kStubMatchWord, &match, sizeof match) ||
          (match != task_word(job.epoch.gen, 0) && match != task_word(job.epoch.gen, 1)) ||
          sys(SYS_ptrace, PTRACE_SETREGS, t.tid, 0, long(&back)) != 0) {
        t.verdict = ThreadVerdict::blocked;
        t.range_id = -1;
        return;
      }
    }
      [[fallthrough]];
    case Place::before_entry: {  // not inside the function yet: the frame is its caller's
      uint64_t ra = 0;
      if (!c.reader->read(u.rsp, &ra, sizeof ra)) {
        t.verdict = ThreadVerdict::unreliable;
        t.trace.status = x86::UnwindStatus::unreadable_memory;
        return;
      }
      regs.set(x86::kRip, ra);
      regs.set(x86::kRsp, u.rsp + 8);
      break;
    }
  }
  x86::unwind_stack(*job.table, regs, c.reader->reader(), &t.trace);
  if (t.trace.status != x86::UnwindStatus::ok) {
    t.verdict = ThreadVerdict::unreliable;
    return;
  }
  for (int i = 0; i < t.trace.n; ++i) {
    uintptr_t a = t.trace.exact[i] ? t.trace.pcs[i] : t.trace.pcs[i] - 1;  // inside the call
    int r = find_range(job.ranges, a);
    if (r >= 0) {
      t.verdict = ThreadVerdict::blocked;
      t.range_id = job.ranges[size_t(r)].id;
      return;
    }
  }
  if (!transition) {
    t.verdict = ThreadVerdict::clean;
  } else if (write_word(c.target, t.word_addr, task_word(job.epoch.gen, job.epoch.target))) {
    t.verdict = ThreadVerdict::switched;
  } else {
    t.verdict = ThreadVerdict::unreliable;  // its TLS is not where it should be
    t.trace.status = x86::UnwindStatus::unreadable_memory;
  }
}

// Step 5: a blocked call that the stop made fail with EINTR runs again.
void restart_interrupted_call(const Control& c, pid_t tid, user_regs_struct& u) {
  if (long(u.orig_rax) < 0 || long(u.rax) != -EINTR) return;
  uint8_t insn[2];
  if (!c.reader->read(u.rip - 2, insn, 2) || insn[0] != 0x0f || insn[1] != 0x05) return;  // syscall
  u.rax = u.orig_rax;
  u.rip -= 2;
  sys(SYS_ptrace, PTRACE_SETREGS, tid, 0, long(&u));
}

// Step 1: seize the thread and ask it to stop. False when that failed
// (the verdict says why).
bool start_check(ThreadCheck& t) {
  long r = sys(SYS_ptrace, PTRACE_SEIZE, t.tid, 0, 0);
  if (r < 0) {
    t.verdict = r == -ESRCH ? ThreadVerdict::gone : ThreadVerdict::not_traceable;
    t.err = int(-r);
    return false;
  }
  if (sys(SYS_ptrace, PTRACE_INTERRUPT, t.tid, 0, 0) < 0) {
    t.verdict = ThreadVerdict::gone;
    return false;
  }
  return true;
}

// Steps 2-5 for a thread that reported `status`; it is let go at the end
// unless the job holds it.
void finish_check(const Control& c, ThreadCheck& t, int status) {
  if (!WIFSTOPPED(status)) {
    t.verdict = ThreadVerdict::gone;
    return;
  }
  bool event_stop = status >> 16 == PTRACE_EVENT_STOP;  // our interrupt, or a group stop
  int pending_signal = event_stop ? 0 : WSTOPSIG(status);
  user_regs_struct u{};
  if (sys(SYS_ptrace, PTRACE_GETREGS, t.tid, 0, long(&u)) == 0) {
    t.word_addr = u.fs_base + uintptr_t(c.tls_offset);
    t.in_syscall = long(u.orig_rax) >= 0;
    // Pages read for an earlier thread may have changed since, but for
    // read-only segments (unwind tables, code).
    if (c.job->table)
      c.reader->reset_keeping(*c.job->table);
    else
      c.reader->reset();
    if (c.job->mode == TracerMode::locate || c.job->mode == TracerMode::hold) {
      t.verdict = ThreadVerdict::clean;  // the word's address and the stop are all they need
    } else {
      c.reader->prefetch(u.rsp, kStackPrefetchPages);
      examine(c, t, u);
    }
    if (event_stop) restart_interrupted_call(c, t.tid, u);
  } else {
    t.verdict = ThreadVerdict::gone;
  }
  if (c.job->mode == TracerMode::hold) {  // stays stopped until release
    t.held = true;
    t.pending_signal = pending_signal;
    return;
  }
  sys(SYS_ptrace, PTRACE_DETACH, t.tid, 0, pending_signal);
}

void check_thread(const Control& c, ThreadCheck& t) {
  if (!start_check(t)) return;
  int status = 0;
  long r = wait_stop(t.tid, &status, c.job->stop_wait_ms);
  if (r <= 0) {  // left seized: the kernel detaches it when the tracer exits
    t.verdict = r == 0 ? ThreadVerdict::no_stop : ThreadVerdict::gone;
    return;
  }
  finish_check(c, t, status);
}

// Scan and transition jobs keep a few threads on their way to a stop while
// the tracer examines the one that stopped first: their wake-ups (a
// blocked thread must be scheduled to reach the stop) overlap with its
// work, and no thread stays stopped for long. A thread found running in
// an affected function (not blocked in a system call) is checked again
// after the others, a few times: it may well be out of it by then.
constexpr size_t kWindow = 4;
constexpr int kRunningRetries = 6;
constexpr long kRetryPauseNs = 100'000;

void check_pipelined(const Control& c) {
  struct Flight {
    size_t index;
    long deadline_ns;
  };
  Flight flights[kWindow];
  size_t inflight = 0;
  size_t next = 0;        // the next thread not checked yet
  size_t retry_from = 0;  // where the current retry pass goes on
  int pass = 0;
  auto running_in_range = [&](const ThreadCheck& t) {
    return c.job->mode == TracerMode::transition && t.verdict == ThreadVerdict::blocked && !t.in_syscall;
  };
  // The next thread to check: every thread once, then passes over those
  // found running in an affected function, each pass after the last one's
  // checks are done.
  auto next_index = [&](size_t* out) {
    if (next < c.count) {
      *out = next++;
      return true;
    }
    while (pass < kRunningRetries) {
      for (; retry_from < c.count; ++retry_from)
        if (running_in_range(c.threads[retry_from])) {
          *out = retry_from++;
          return true;
        }
      if (inflight) return false;
      if (std::none_of(c.threads, c.threads + c.count, running_in_range)) return false;
      ++pass;
      retry_from = 0;
      // Let them run first: a thread let go a moment ago may not have been
      // scheduled yet, and would be stopped where it was.
      timespec ts{0, kRetryPauseNs};
      sys(SYS_nanosleep, long(&ts), 0);
    }
    return false;
  };
  auto launch = [&] {
    size_t i;
    while (inflight < kWindow && next_index(&i)) {
      ThreadCheck& t = c.threads[i];
      t.verdict = ThreadVerdict::unchecked;  // a retry starts afresh
      t.range_id = -1;
      if (start_check(t)) flights[inflight++] = {i, now_ns() + c.job->stop_wait_ms * 1'000'000};
    }
  };
  launch();
  const uint64_t sigchld = uint64_t(1) << (SIGCHLD - 1);
  while (inflight) {
    int status = 0;
    long r = sys(SYS_wait4, -1, long(&status), WNOHANG | __WALL, 0);
    if (r > 0) {
      size_t k = 0;
      while (k < inflight && c.threads[flights[k].index].tid != pid_t(r)) ++k;
      if (k == inflight) {  // a thread given up on earlier stopped at last: let it go
        if (WIFSTOPPED(status)) sys(SYS_ptrace, PTRACE_DETACH, r, 0, 0);
        continue;
      }
      ThreadCheck& t = c.threads[flights[k].index];
      flights[k] = flights[--inflight];
      finish_check(c, t, status);
      launch();
      continue;
    }
    if (r < 0) {  // no tracee left: every thread in flight is gone
      for (size_t k = 0; k < inflight; ++k) c.threads[flights[k].index].verdict = ThreadVerdict::gone;
      inflight = 0;
      launch();
      continue;
    }
    long now = now_ns(), earliest = flights[0].deadline_ns;
    for (size_t k = 1; k < inflight; ++k) earliest = earliest < flights[k].deadline_ns ? earliest : flights[k].deadline_ns;
    if (earliest <= now) {  // left seized: detached when it stops, or when the tracer exits
      for (size_t k = 0; k < inflight;) {
        if (flights[k].deadline_ns <= now) {
          c.threads[flights[k].index].verdict = ThreadVerdict::no_stop;
          flights[k] = flights[--inflight];
        } else {
          ++k;
        }
      }
      launch();
      continue;
    }
    long left = earliest - now;
    timespec ts{left / 1'000'000'000L, left % 1'000'000'000L};
    sys(SYS_rt_sigtimedwait, long(&sigchld), 0, long(&ts), sizeof sigchld);
  }
}

// Waits until `word` is set, for at most about `seconds`.
bool wait_set(std::atomic<int>* word, int seconds) {
  for (int i = 0; i < seconds && !word->load(std::memory_order_acquire); ++i) futex_wait(word, 0);
  return word->load(std::memory_order_acquire) != 0;
}

int tracer_main(void* arg) {
  auto* c = static_cast<Control*>(arg);
  // Dies with the thread that started it (the target crashed, say).
  sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  default_sigchld();
  if (!wait_set(&c->go, 5)) return 1;
  if (c->job->mode == TracerMode::scan || c->job->mode == TracerMode::transition)
    check_pipelined(*c);
  else
    for (size_t i = 0; i < c->count; ++i) check_thread(*c, c->threads[i]);
  c->done.store(1, std::memory_order_release);  // pairs with wait_done's acquire
  futex_wake(&c->done);
  if (c->job->mode == TracerMode::hold) {
    wait_set(&c->release, 10);  // code writes take microseconds; never hold a thread for ever
    for (size_t i = 0; i < c->count; ++i)
      if (c->threads[i].held) sys(SYS_ptrace, PTRACE_DETACH, c->threads[i].tid, 0, c->threads[i].pending_signal);
  }
  return 0;
}

}  // namespace tracer_side

// Yama's ptrace_scope 1 lets a process trace only its descendants unless
// the tracee names it; the tracer is the target's child.
void allow_tracer(pid_t pid) {
  static int scope = [] {
    int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char b = '0';
    (void)!read(fd, &b, 1);
    close(fd);
    return b - '0';
  }();
  if (scope == 1 && geteuid() != 0) prctl(PR_SET_PTRACER, pid, 0, 0, 0);
}

void* tracer_stack() {
  static void* stack = [] {
    void* p = mmap(nullptr, kTracerStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }();
  return stack;
}

bool wait_done(Control& c, long timeout_ms) {
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += timeout_ms % 1000 * 1'000'000;
  while (!c.done.load(std::memory_order_acquire)) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left_ns = (deadline.tv_sec - now.tv_sec) * 1'000'000'000L + (deadline.tv_nsec - now.tv_nsec);
    if (left_ns <= 0) return false;
    timespec rel{left_ns / 1'000'000'000L, left_ns % 1'000'000'000L};
    syscall(SYS_futex, &c.done, FUTEX_WAIT, 0, &rel);
  }
  return true;
}

}  // namespace

const char* thread_verdict_name(ThreadVerdict v) {
  switch (v) {
    case ThreadVerdict::unchecked: return "not checked";
    case ThreadVerdict::switched: return "switched";
    case ThreadVerdict::already_switched: return "already switched";
    case ThreadVerdict::clean: return "clean";
    case ThreadVerdict::blocked: return "is sleeping on a function being changed";
    case ThreadVerdict::unreliable: return "has an unreliable stack";
    case ThreadVerdict::gone: return "exited";
    case ThreadVerdict::not_traceable: return "cannot be traced";
    case ThreadVerdict::no_stop: return "did not stop";
  }
  return "?";
}

ssize_t read_task_file(pid_t tid, const char* name, char* buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) n = 0;
  buf[n] = 0;
  return n;
}

Result<std::vector<pid_t>> other_threads() {
  std::vector<pid_t> tids;
  DIR* d = opendir("/proc/self/task");
  if (!d) return error(errno, "cannot list the process's threads in /proc/self/task");
  pid_t self = pid_t(syscall(SYS_gettid));
  while (dirent* e = readdir(d)) {
    pid_t tid = pid_t(atoi(e->d_name));
    if (tid > 0 && tid != self) tids.push_back(tid);
  }
  closedir(d);
  return tids;
}

void normalize_ranges(std::vector<CodeRange>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const CodeRange& a, const CodeRange& b) { return a.start < b.start; });
  std::vector<CodeRange> out;
  for (const CodeRange& r : ranges) {
    if (r.start >= r.end) continue;
    if (!out.empty() && r.start < out.back().end) {
      out.back().end = std::max(out.back().end, r.end);
      continue;
    }
    out.push_back(r);
  }
  ranges = std::move(out);
}

namespace {

// Starts the tracer on `c` and waits (bounded) until it went through every
// thread. Returns its pid, or -1. A tracer that overruns is killed, which
// detaches every tracee.
pid_t start_tracer(Control& c) {
  void* stack = tracer_stack();
  if (!stack) return -1;
  c.target = getpid();
  c.tls_offset = task_word_tls_offset();
  // No CLONE_THREAD: ptrace refuses a tracee of the tracer's own thread
  // group. Exit signal 0: no SIGCHLD reaches the program, and its wait()
  // calls do not see the tracer (only __WALL/__WCLONE waits do).
  // CLONE_FILES: no copy of the descriptor table (the tracer opens none).
  pid_t pid = clone(tracer_side::tracer_main, static_cast<char*>(stack) + kTracerStack,
                    CLONE_VM | CLONE_FILES | CLONE_UNTRACED, &c);
  if (pid < 0) return -1;
  allow_tracer(pid);
  c.go.store(1, std::memory_order_release);  // pairs with tracer_main's acquire
  syscall(SYS_futex, &c.go, FUTEX_WAKE, 1);
  long per_thread_ms = std::max(25L, c.job->stop_wait_ms + 5);
  if (!wait_done(c, 500 + per_thread_ms * long(c.count))) kill(pid, SIGKILL);
  return pid;
}

void reap_tracer(pid_t pid) {
  while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
}

}  // namespace

Status run_tracer(const TracerJob& job, std::span<ThreadCheck> threads) {
  if (threads.empty()) return Status::ok();
  auto reader = std::make_unique<x86::CachedReader>(getpid());
  return run_tracer(job, threads, reader.get());
}

Status run_tracer(const TracerJob& job, std::span<ThreadCheck> threads, x86::CachedReader* reader) {
  if (threads.empty()) return Status::ok();
  Control c;
  c.job = &job;
  c.threads = threads.data();
  c.count = threads.size();
  c.reader = reader;
  pid_t pid = start_tracer(c);
  if (pid < 0) return error(errno ? errno : ENOMEM, "cannot start the tracer process");
  reap_tracer(pid);
  return Status::ok();
}

struct ThreadHold::State {
  TracerJob job;
  Control control;
  std::unique_ptr<x86::CachedReader> reader;
  pid_t pid = -1;
};

ThreadHold::ThreadHold() = default;
ThreadHold::~ThreadHold() { release(); }

Status ThreadHold::hold(std::span<ThreadCheck> threads) {
  release();
  if (threads.empty()) return Status::ok();
  state_ = std::make_unique<State>();
  state_->job.mode = TracerMode::hold;
  // A thread that blocks SIGTRAP must stop before any entry changes. The
  // likeliest one, a thread glibc is still starting (every signal blocked
  // until start_thread), may wait for a CPU for a while on a busy machine.
  state_->job.stop_wait_ms = kHoldStopWaitMs;
  state_->reader = std::make_unique<x86::CachedReader>(getpid());
  Control& c = state_->control;
  c.job = &state_->job;
  c.threads = threads.data();
  c.count = threads.size();
  c.reader = state_->reader.get();
  state_->pid = start_tracer(c);
  if (state_->pid < 0) {
    state_.reset();
    return error(ENOMEM, "cannot start the tracer process");
  }
  return Status::ok();
}

void ThreadHold::release() {
  if (!state_) return;
  state_->control.release.store(1, std::memory_order_release);  // pairs with tracer_main's acquire
  syscall(SYS_futex, &state_->control.release, FUTEX_WAKE, 1);
  reap_tracer(state_->pid);
  state_.reset();
}

}  // namespace uklp::rt
