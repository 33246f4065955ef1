// tracer.h: checking threads' stacks while they are stopped (the kernel's
// task_call_func() + stack_trace_save_tsk_reliable()).
//
// A thread's stack can only be checked while the thread cannot run, and
// the check must not run code in that thread: it may hold malloc's or the
// dynamic loader's lock, or be blocked in a system call that a signal
// handler would make fail with EINTR. So the runtime starts a short-lived
// tracer: a process created with clone(CLONE_VM), sharing the target's
// memory but not its thread group (ptrace refuses one's own thread group).
// For each thread, one at a time, it
//
//   1. PTRACE_SEIZE + PTRACE_INTERRUPT, and waits (bounded) for the stop;
//   2. PTRACE_GETREGS: rip/rsp/... start the unwind, fs_base locates the
//      thread's patch-state word (task.h);
//   3. unwinds the stack (arch/x86_64/unwind.h) and looks for a frame in
//      one of the job's code ranges;
//   4. transition jobs: writes the target word if no frame is in a range;
//   5. if the stop made a blocked system call return EINTR (epoll_wait,
//      sigtimedwait, semop... fail so after any stop, see signal(7)),
//      rewinds it to re-execute the call: rax = orig_rax, rip -= 2. Calls
//      that the kernel restarts itself (read, futex, nanosleep, poll...)
//      need nothing: no handler runs, so they restart transparently;
//   6. PTRACE_DETACH, re-injecting a signal that arrived meanwhile.
//
// A thread is held for the few microseconds of steps 2-5. The tracer
// allocates nothing, takes no lock, and makes raw system calls only (it
// shares the control thread's TLS, so errno must stay untouched). It
// exits when done; if it dies, the kernel detaches every tracee.
//
// Constraints: control thread only, klp mutex held; the job's tables must
// not change during the run.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "arch/x86_64/unwind.h"
#include "result.h"
#include "task.h"

namespace uklp::rt {

// A code range the stacks must not be in; `id` names it for the caller.
struct CodeRange {
  uintptr_t start = 0, end = 0;  // [start, end)
  int id = 0;
};

// How long the tracer waits for one thread to stop before it moves on
// (transitions: a thread that is not stopped now is tried again later).
inline constexpr long kStopWaitMs = 20;
inline constexpr long kHoldStopWaitMs = 250;  // threads that block SIGTRAP, before an entry switch

enum class ThreadVerdict : int32_t {
  unchecked,         // not reached (the run was cut short)
  switched,          // clean stack: its word now holds the target state
  already_switched,  // its word already had the target state
  clean,             // (scan) no frame in any range; (locate, hold) stopped
  blocked,           // a frame is inside range `range_id`
  unreliable,        // the unwind failed: trace.status says why
  gone,              // the thread exited
  not_traceable,     // ptrace refused (errno in `err`): a debugger, a policy
  no_stop,           // did not stop within the bound (uninterruptible sleep)
};
const char* thread_verdict_name(ThreadVerdict v);

struct ThreadCheck {
  ThreadCheck() = default;
  explicit ThreadCheck(pid_t t) : tid(t) {}
  pid_t tid = 0;
  ThreadVerdict verdict = ThreadVerdict::unchecked;
  int err = 0;
  int range_id = -1;
  uintptr_t word_addr = 0;  // where its patch-state word is (0: unknown)
  bool in_syscall = false;  // stopped inside a system call
  bool held = false;        // hold jobs: stopped until released
  int pending_signal = 0;   // hold jobs: re-injected at release
  x86::StackTrace trace;
};

enum class TracerMode {
  scan,        // report whether a frame is in `ranges`
  transition,  // and switch the thread to the epoch's target if none is
  hold,        // keep the threads stopped until ThreadHold::release()
  locate,      // only learn where the thread's word is (its fs_base)
};

struct TracerJob {
  const x86::UnwindTable* table = nullptr;
  std::span<const CodeRange> ranges;  // sorted by start, not overlapping
  TracerMode mode = TracerMode::scan;
  TaskEpoch epoch;                    // transition: the current epoch
  long stop_wait_ms = kStopWaitMs;    // how long to wait for each thread to stop
  // Transition jobs: where a thread has not entered any version of a
  // function yet (pads and entry bytes of armed sites: its frame is the
  // caller's, the return address on top of the stack), and the pages of
  // transition stubs: at a stub's first byte the same holds; past it the
  // stub has chosen a version, so the thread counts as inside it.
  std::span<const CodeRange> entries;  // sorted, not overlapping
  std::span<const CodeRange> stubs;
};

// Checks every thread in `threads` (none may be the calling thread).
// Fails only if the tracer could not run at all.
Status run_tracer(const TracerJob& job, std::span<ThreadCheck> threads);
// The same with a page cache of the caller's: allocates nothing.
Status run_tracer(const TracerJob& job, std::span<ThreadCheck> threads, x86::CachedReader* reader);

// Reads /proc/self/task/<tid>/<name> into `buf` (NUL-terminated, at most
// size - 1 bytes): the length read (0 if the read failed), or -1 if the
// file cannot be opened (the thread has exited, say).
ssize_t read_task_file(pid_t tid, const char* name, char* buf, size_t size);

// The process's threads but the calling one (from /proc/self/task). An
// error when the list cannot be read (the process chrooted where no /proc
// is mounted): an empty list would let a transition finish, an entry
// switch go on and an unload free code without checking any thread.
Result<std::vector<pid_t>> other_threads();

// Keeps threads stopped while code they might run changes under them:
// text_poke.cc's int3 protocol cannot serve a thread that blocks SIGTRAP
// (the kernel kills a process whose thread traps with SIGTRAP blocked).
// `threads` must outlive the hold.
class ThreadHold {
 public:
  ThreadHold();
  ~ThreadHold();
  ThreadHold(const ThreadHold&) = delete;
  ThreadHold& operator=(const ThreadHold&) = delete;
  // Stops `threads` (`held` set on each one stopped).
  Status hold(std::span<ThreadCheck> threads);
  void release();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Sorts `ranges` and merges overlapping ones (keeping the first id).
void normalize_ranges(std::vector<CodeRange>& ranges);

}  // namespace uklp::rt
