// transition.h: the consistency model (kernel/livepatch/transition.c):
// init, start, try-complete, complete, cancel, reverse and force, with the
// kernel's log lines at the same points.
//
// Each thread has a patch state (task.h). A thread switches to the target
// state when the tracer (tracer.h), having stopped it, finds none of the
// functions the transition affects on its reliable stack; or at a safe
// point of its own (klp_update_patch_state()); or when an administrator
// forces the transition. The first attempt runs when the transition
// starts; later ones are scheduled on the control thread, soon at first
// and then every 100 ms (the kernel waits a second), and every attempt
// interrupts each thread that has not switched yet.
//
// Constraints: every function runs on the control thread with the klp
// mutex held.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core.h"

namespace uklp::rt {

Patch* klp_transition_patch();
int klp_target_state();

void klp_init_transition(Patch* patch, int state);

// Whether the threads can be listed, so checked: a transition without the
// list (a process chrooted where no /proc is mounted) could never finish,
// so enabling and disabling refuse to start one (core.cc).
Status klp_threads_listable();
void klp_start_transition();
// One attempt; completes the transition when every thread has switched.
// Returns true when complete.
bool klp_try_complete_transition();
void klp_cancel_transition();
void klp_reverse_transition();
void klp_force_transition();

// The retry schedule: milliseconds until the next attempt is due (0: now),
// or -1 when no transition is in progress. klp_transition_work() runs the
// attempt if it is due.
long klp_transition_next_attempt_ms();
void klp_transition_work();

// A thread that kept the last attempt from completing.
struct BlockingThread {
  pid_t tid = 0;
  std::string name;    // its comm
  std::string reason;  // "is sleeping on function 'f'", "has an unreliable stack (...)", ...
  std::vector<uintptr_t> pcs;  // its stack, innermost first (empty if unknown)
};

struct TransitionStatus {
  std::string patch;
  int target = -1;
  int attempts = 0;
  long elapsed_ms = 0;
  size_t threads = 0;   // threads seen by the last attempt (the control thread excluded)
  size_t switched = 0;  // of which in the target state
  bool forced = false;
  std::vector<BlockingThread> blocking;
};
std::optional<TransitionStatus> klp_transition_status();

// In a fork() child: forgets the parent's threads.
void klp_transition_after_fork();

// A thread's patch state (task/TID/patch_state): -1 outside a transition.
int thread_patch_state(pid_t tid);

// Before code is unmapped: checks that no thread has a frame in [start,
// end) or in a transition stub (which may still jump anywhere), retrying
// for about half a second. EBUSY names a thread that stays in there.
Status wait_code_unused(uintptr_t start, uintptr_t end, const std::string& what);

}  // namespace uklp::rt
