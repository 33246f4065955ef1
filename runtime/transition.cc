// transition.cc: see transition.h.
//
// Order of the steps that other threads can observe (the kernel's barrier
// pairs, here with a stub instead of the ftrace handler):
//  - init publishes the epoch (task.h, release) before any site of the
//    patch gets a stub; a stub embeds the generation, so a thread's word
//    from an older transition reads as "not switched";
//  - a thread's word is written only by itself or by the tracer while the
//    thread is stopped (ptrace stop and resume are full barriers);
//  - completion points every slot straight at its top func (release
//    stores) before clearing the epoch; a thread still inside a stub then
//    uses the stub's own generation, which is consistent either way.
#include "transition.h"

#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "arch/x86_64/unwind.h"
#include "callbacks.h"
#include "log.h"
#include "redirect.h"
#include "task.h"
#include "tracer.h"

namespace uklp::rt {
namespace {

constexpr int kSignalsTimeout = 15;  // the kernel's SIGNALS_TIMEOUT, in attempts

Patch* g_transition_patch = nullptr;
int g_target_state = KLP_TRANSITION_IDLE;
uint32_t g_gen = 0;
bool g_forced = false;         // force=1 was written: the next attempt completes
int g_signals_cnt = 0;         // attempts since the (re)start, as klp_signals_cnt
int g_attempts = 0;
long g_started_ms = 0;
long g_next_attempt_ms = -1;   // monotonic ms of the next attempt; -1: none
constinit TransitionStatus g_last;  // what the last attempt saw

// Where each thread's word is, learned from the tracer; lets an attempt
// skip threads that already switched without stopping them.
std::map<pid_t, uintptr_t>& word_addrs() {
  static auto* m = new std::map<pid_t, uintptr_t>();
  return *m;
}
// The last reason logged for each blocking thread (debug lines on change).
std::map<pid_t, std::string>& last_reasons() {
  static auto* m = new std::map<pid_t, std::string>();
  return *m;
}

const char* direction(int state) { return state == KLP_TRANSITION_PATCHED ? "patching" : "unpatching"; }

long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000;
}

template <typename Fn>
void for_each_func(Patch* patch, Fn fn) {
  for (auto& obj : patch->objs)
    for (auto& func : obj->funcs) fn(obj.get(), func.get());
}

// Retry soon at first (most blockers leave within milliseconds), then
// every 100 ms.
void schedule_attempt(int cnt) {
  static constexpr long kDelays[] = {1, 2, 5, 10, 20, 50};
  long delay = cnt < int(std::size(kDelays)) ? kDelays[cnt] : 100;
  g_next_attempt_ms = now_ms() + delay;
}

}  // namespace

// ---- which code a thread must not be in (klp_check_stack_func) ----
namespace {

// Patching: the version below the func on its stack, or the original.
// Unpatching: the func itself (for a nop, the original: conservative).
CodeRange affected_range(const Func* f, int id) {
  if (g_target_state == KLP_TRANSITION_UNPATCHED) return {f->new_addr, f->new_addr + f->new_size, id};
  const auto& stack = f->site->stack;
  const Func* prev = nullptr;
  for (size_t i = 1; i < stack.size(); ++i)
    if (stack[i] == f) prev = stack[i - 1];
  if (!prev) return {f->old_addr, f->old_addr + f->old_size, id};
  return {prev->new_addr, prev->new_addr + prev->new_size, id};
}

std::vector<CodeRange> affected_ranges(std::vector<const Func*>& funcs) {
  std::vector<CodeRange> ranges;
  for (auto& obj : g_transition_patch->objs) {
    if (!obj->patched) continue;
    for (auto& f : obj->funcs) {
      if (!f->site) continue;
      ranges.push_back(affected_range(f.get(), int(funcs.size())));
      funcs.push_back(f.get());
    }
  }
  normalize_ranges(ranges);
  return ranges;
}

// ---- the threads ----

// The loaded objects' unwind tables, rebuilt before each use (objects come
// and go between attempts).
x86::UnwindTable& unwind_table() {
  static auto* table = new x86::UnwindTable();
  return *table;
}

std::string thread_name(pid_t tid) {
  char buf[64];
  ssize_t n = read_task_file(tid, "comm", buf, sizeof buf);
  if (n < 0) return "?";
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == 0)) --n;
  return std::string(buf, size_t(n));
}

bool read_word(uintptr_t addr, int32_t* out) {
  iovec local{out, sizeof *out};
  iovec remote{reinterpret_cast<void*>(addr), sizeof *out};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == ssize_t(sizeof *out);
}

bool known_switched(pid_t tid, const TaskEpoch& e) {
  auto it = word_addrs().find(tid);
  int32_t word;
  return it != word_addrs().end() && read_word(it->second, &word) && task_state_of(word, e) == e.target;
}

std::string blocking_reason(const ThreadCheck& t, const std::vector<const Func*>& funcs,
                            long stop_wait_ms = kStopWaitMs) {
  char b[160];
  switch (t.verdict) {
    case ThreadVerdict::blocked:
      if (t.range_id < 0) return "is in a transition stub (about to run a version of a function being changed)";
      return "is sleeping on function " + funcs[size_t(t.range_id)]->old_name;
    case ThreadVerdict::unreliable:
      snprintf(b, sizeof b, "has an unreliable stack (%s at 0x%" PRIxPTR ")",
               x86::unwind_status_name(t.trace.status), t.trace.failed_pc);
      return b;
    case ThreadVerdict::not_traceable:
      return std::string("cannot be stopped for a stack check (ptrace: ") + strerror(t.err) + ")";
    case ThreadVerdict::no_stop:
      return "is running (did not stop within " + std::to_string(stop_wait_ms) + " ms)";
    default:
      return thread_verdict_name(t.verdict);
  }
}

bool is_switched(ThreadVerdict v) {
  return v == ThreadVerdict::switched || v == ThreadVerdict::already_switched || v == ThreadVerdict::gone;
}

void note_blocking(const ThreadCheck& t, const std::vector<const Func*>& funcs) {
  BlockingThread b;
  b.tid = t.tid;
  b.name = thread_name(t.tid);
  b.reason = blocking_reason(t, funcs);
  for (int i = 0; i < t.trace.n; ++i) b.pcs.push_back(t.trace.pcs[i]);
  std::string& last = last_reasons()[t.tid];
  if (last != b.reason) {  // the kernel's per-task debug line, once per change
    klp_log(Level::debug, "klp_try_switch_task: %s:%d %s", b.name.c_str(), t.tid, b.reason.c_str());
    last = b.reason;
  }
  g_last.blocking.push_back(std::move(b));
}

// One pass of klp_try_switch_task() over every thread but this one.
bool switch_threads() {
  TaskEpoch e = task_epoch();
  Result<std::vector<pid_t>> listed = other_threads();
  if (!listed) {
    klp_log(Level::err, "cannot check the threads' stacks: %s", listed.status().describe().c_str());
    return false;
  }
  std::vector<pid_t> tids = std::move(*listed);
  std::vector<ThreadCheck> checks;
  g_last.threads = tids.size();
  g_last.switched = 0;
  g_last.blocking.clear();
  for (pid_t tid : tids) {
    if (known_switched(tid, e)) {
      ++g_last.switched;
    } else {
      checks.emplace_back(tid);
    }
  }
  if (checks.empty()) return true;
  std::vector<const Func*> funcs;
  std::vector<CodeRange> ranges = affected_ranges(funcs);
  x86::UnwindTable& table = unwind_table();
  if (Status s = table.build(); !s) klp_log(Level::warning, "cannot list the unwind tables: %s", s.describe().c_str());
  std::vector<CodeRange> entries, stubs;
  for (auto [start, end] : site_entry_ranges()) entries.push_back({start, end, 0});
  for (auto [start, end] : stub_pages()) stubs.push_back({start, end, 0});
  normalize_ranges(entries);
  normalize_ranges(stubs);
  TracerJob job{&table, ranges, TracerMode::transition, e, kStopWaitMs, entries, stubs};
  if (Status s = run_tracer(job, checks); !s) {
    klp_log(Level::err, "cannot check the threads' stacks: %s", s.describe().c_str());
    return false;
  }
  for (const ThreadCheck& t : checks) {
    if (t.word_addr) word_addrs()[t.tid] = t.word_addr;
    if (is_switched(t.verdict)) {
      ++g_last.switched;
      last_reasons().erase(t.tid);
    } else {
      note_blocking(t, funcs);
    }
  }
  return g_last.blocking.empty();
}

void forget_threads() {
  word_addrs().clear();
  last_reasons().clear();
}

void unpatch_objects(Patch* patch) {
  for (auto& obj : patch->objs)
    if (obj->patched) unpatch_object(obj.get());
}

// klp_unpatch_replaced_patches: every older patch leaves the func stacks,
// without callbacks; they are freed once the transition is complete.
void unpatch_replaced_patches(Patch* patch) {
  for (Patch* old : klp_patches()) {
    if (old == patch) break;
    old->enabled = false;
    old->kp->enabled = false;
    unpatch_objects(old);
  }
}

void klp_complete_transition() {
  Patch* patch = g_transition_patch;
  klp_log(Level::debug, "'%s': completing %s transition", patch->name.c_str(), direction(g_target_state));
  if (g_target_state == KLP_TRANSITION_UNPATCHED) unpatch_objects(patch);
  // Every thread runs the target now: with the flags cleared first, the
  // slots changed below point straight at their new top, without a stub.
  for_each_func(patch, [](Object*, Func* f) {
    f->transition = false;
    f->sync_public();
  });
  if (patch->replace && g_target_state == KLP_TRANSITION_PATCHED) {
    unpatch_replaced_patches(patch);
    discard_nops(patch);  // now alone on their stacks: the sites go back to the original
  }
  sites_update_all();  // every slot straight at its top func: stubs unused from here
  set_task_epoch({});
  for (auto& obj : patch->objs) {
    if (!obj->loaded) continue;
    if (g_target_state == KLP_TRANSITION_PATCHED)
      klp_post_patch_callback(obj.get());
    else
      klp_post_unpatch_callback(obj.get());
  }
  klp_log(Level::notice, "'%s': %s complete", patch->name.c_str(), direction(g_target_state));
  g_target_state = KLP_TRANSITION_IDLE;
  g_transition_patch = nullptr;
  g_forced = false;
  g_next_attempt_ms = -1;
  forget_threads();
}

}  // namespace

Patch* klp_transition_patch() { return g_transition_patch; }
int klp_target_state() { return g_target_state; }

void klp_init_transition(Patch* patch, int state) {
  g_transition_patch = patch;
  g_target_state = state;
  ++g_gen;
  klp_log(Level::debug, "'%s': initializing %s transition", patch->name.c_str(), direction(state));
  // Every thread is now in the initial state: its word is of an older
  // generation. Published before any func is marked (and stubs built).
  set_task_epoch({g_gen, state, !state});
  // Unpatching: the funcs are already on their stacks; their sites now need
  // a stub (patching: klp_patch_object() pushes them and updates the sites).
  for_each_func(patch, [](Object*, Func* f) {
    f->transition = true;
    if (!f->site) return;
    if (Status s = site_update(f->site); !s)
      klp_log(Level::err, "cannot start the transition of '%s': %s", f->old_name.c_str(), s.describe().c_str());
  });
  g_forced = false;
  g_attempts = 0;
  g_started_ms = now_ms();
  g_last = {};
  forget_threads();
}

Status klp_threads_listable() { return other_threads().status(); }

void klp_start_transition() {
  klp_log(Level::notice, "'%s': starting %s transition", g_transition_patch->name.c_str(),
          direction(g_target_state));
  g_signals_cnt = 0;
}

bool klp_try_complete_transition() {
  ++g_attempts;
  // The control thread runs only runtime code here: it switches itself.
  *task_word_self() = task_word(g_gen, g_target_state);
  bool complete = g_forced || switch_threads();
  if (!complete) {
    // Every attempt re-interrupts the remaining threads; the kernel's line
    // marks the attempt of its first fake signal.
    if (g_signals_cnt == kSignalsTimeout) klp_log(Level::notice, "signaling remaining tasks");
    schedule_attempt(g_signals_cnt++);
    return false;
  }
  Patch* patch = g_transition_patch;
  klp_complete_transition();
  if (!patch->enabled) {
    free_patch(patch);
  } else if (patch->replace) {
    free_replaced_patches(patch);
  }
  return true;
}

void klp_cancel_transition() {
  if (g_target_state != KLP_TRANSITION_PATCHED) return;
  klp_log(Level::debug, "'%s': canceling patching transition, going to unpatch", g_transition_patch->name.c_str());
  g_target_state = KLP_TRANSITION_UNPATCHED;
  klp_complete_transition();
}

void klp_reverse_transition() {
  Patch* patch = g_transition_patch;
  klp_log(Level::debug, "'%s': reversing transition from %s to %s", patch->name.c_str(),
          direction(g_target_state), direction(!g_target_state));
  patch->enabled = !patch->enabled;
  patch->kp->enabled = patch->enabled;
  g_target_state = !g_target_state;
  // Same generation: the threads keep their states, and the ones that never
  // switched are now the ones in the target state. No callbacks run.
  TaskEpoch e = task_epoch();
  set_task_epoch({e.gen, g_target_state, e.initial});
  last_reasons().clear();
  klp_start_transition();
  if (g_next_attempt_ms < 0) schedule_attempt(0);
}

void klp_force_transition() {
  klp_log(Level::warning, "forcing remaining tasks to the patched state");
  g_forced = true;
  if (g_target_state == KLP_TRANSITION_UNPATCHED) {
    g_transition_patch->forced = true;
  } else if (g_transition_patch->replace) {
    for (Patch* p : klp_patches())
      if (p != g_transition_patch) p->forced = true;
  }
  g_next_attempt_ms = now_ms();  // the next attempt completes
}

long klp_transition_next_attempt_ms() {
  if (!g_transition_patch || g_next_attempt_ms < 0) return -1;
  long left = g_next_attempt_ms - now_ms();
  return left > 0 ? left : 0;
}

void klp_transition_work() {
  if (g_transition_patch && klp_transition_next_attempt_ms() == 0) klp_try_complete_transition();
}

std::optional<TransitionStatus> klp_transition_status() {
  if (!g_transition_patch) return std::nullopt;
  TransitionStatus s = g_last;
  s.patch = g_transition_patch->name;
  s.target = g_target_state;
  s.attempts = g_attempts;
  s.elapsed_ms = now_ms() - g_started_ms;
  s.forced = g_forced;
  return s;
}

void klp_transition_after_fork() { forget_threads(); }

int thread_patch_state(pid_t tid) {
  TaskEpoch e = task_epoch();
  if (!e.gen) return KLP_TRANSITION_IDLE;
  if (tid == pid_t(syscall(SYS_gettid))) return task_state_of(*task_word_self(), e);
  if (!word_addrs().count(tid)) {
    // Not seen by the tracer yet: stop it once to learn where its word is.
    ThreadCheck t(tid);
    if (run_tracer({nullptr, {}, TracerMode::locate, {}}, {&t, 1}) && t.word_addr)
      word_addrs()[tid] = t.word_addr;
  }
  auto it = word_addrs().find(tid);
  int32_t word = 0;
  if (it != word_addrs().end() && read_word(it->second, &word)) return task_state_of(word, e);
  return e.initial;
}

// Unloading is not in a hurry: a thread the scheduler keeps off the CPU
// for a while on a busy machine still gets checked.
constexpr long kScanStopWaitMs = 250;

Status wait_code_unused(uintptr_t start, uintptr_t end, const std::string& what) {
  std::vector<CodeRange> ranges{{start, end, 0}};
  for (auto [s, e] : stub_pages()) ranges.push_back({s, e, 1});
  normalize_ranges(ranges);
  x86::UnwindTable& table = unwind_table();
  std::string last;
  for (long delay_ms : {0L, 5L, 20L, 50L, 100L, 150L, 200L}) {
    if (delay_ms) usleep(useconds_t(delay_ms * 1000));
    UKLP_TRY(table.build());
    std::vector<ThreadCheck> checks;
    UKLP_ASSIGN_OR_RETURN(std::vector<pid_t> tids, other_threads());
    for (pid_t tid : tids) checks.emplace_back(tid);
    TracerJob job{&table, ranges, TracerMode::scan, {}, kScanStopWaitMs};
    UKLP_TRY(run_tracer(job, checks));
    last.clear();
    for (const ThreadCheck& t : checks) {
      if (t.verdict == ThreadVerdict::clean || t.verdict == ThreadVerdict::gone) continue;
      std::vector<const Func*> none;
      last = "thread " + std::to_string(t.tid) + " (" + thread_name(t.tid) + ") " +
             (t.verdict == ThreadVerdict::blocked ? std::string("is running code of ") + what
                                                  : blocking_reason(t, none, kScanStopWaitMs));
      break;
    }
    if (last.empty()) return Status::ok();
  }
  return error(EBUSY, last + "; try again");
}

}  // namespace uklp::rt
