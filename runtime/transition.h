// transition.h: the consistency model's transitions (kernel/livepatch/
// transition.c): init, start, try-complete, complete, cancel, reverse and
// force, with the kernel's log lines at the same points.
//
// Current policy (issue 2): every thread switches at the first attempt, so
// a transition completes synchronously. The structure is the kernel's: the
// per-thread states and stack checks replace switch_all_threads() without
// changing the callers.
#pragma once

#include "core.h"

namespace uklp::rt {

Patch* klp_transition_patch();
int klp_target_state();

void klp_init_transition(Patch* patch, int state);
void klp_start_transition();
// One attempt; completes the transition when every thread has switched.
// Returns true when complete.
bool klp_try_complete_transition();
void klp_cancel_transition();
void klp_reverse_transition();
void klp_force_transition();

}  // namespace uklp::rt
