// task.h: each thread's patch state (the kernel's task->patch_state).
//
// The state lives in one 32-bit word of the runtime's initial-exec TLS, so
// the transition stub at a patched function's entry reads it with a single
// `cmpl $imm32, %fs:OFF` (arch/x86_64/insn.h). The word carries the
// transition's generation with the state:
//
//   word = gen * 2 + state      (state 0 unpatched, 1 patched; gen >= 1)
//
// A word of an older generation (or 0, the value of a new thread's TLS)
// means "never switched in this transition", i.e. the transition's initial
// state. So nothing has to be reset when a transition completes (the
// kernel walks every task to set IDLE): outside a transition the stubs are
// not used at all, and the next transition has a new generation.
//
// Who writes a thread's word: the thread itself (klp_update_patch_state(),
// and once at birth, see below), or the tracer while the thread is stopped
// (tracer.h). The control thread never writes another running thread's word.
//
// Threads coming and going: the runtime wraps pthread_create() so a new
// thread starts with its creator's word (the kernel's klp_copy_process);
// it stores it only if the tracer has not already switched it (a
// compare-and-swap from 0). fork() copies the forking thread's TLS, so the
// child's only thread keeps its state. Exited threads are simply gone.
#pragma once

#include <cstdint>

namespace uklp::rt {

constexpr int32_t task_word(uint32_t gen, int state) { return int32_t(gen * 2 + uint32_t(state)); }

// The calling thread's word.
int32_t* task_word_self();
// The word's offset from the thread pointer (%fs base); the same in every
// thread, since the runtime's TLS is static (initial-exec).
intptr_t task_word_tls_offset();

// The transition's view of words: which generation is current, and what an
// unswitched thread's state is. Set by transition.cc, read by anyone.
struct TaskEpoch {
  uint32_t gen = 0;        // 0: no transition
  int target = -1;         // KLP_TRANSITION_{UNPATCHED,PATCHED}, or IDLE
  int initial = -1;        // the state of a thread never switched in gen
};
TaskEpoch task_epoch();
void set_task_epoch(TaskEpoch e);

// A thread's state given its word: -1 outside a transition.
int task_state_of(int32_t word, const TaskEpoch& e);

// Resolves the real pthread_create; called at start-up.
void task_init();

}  // namespace uklp::rt
