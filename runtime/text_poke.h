// text_poke.h: changing the code of a running process safely.
//
// Code is written through /proc/self/mem, so text pages keep their
// protections, and every step is followed by membarrier(SYNC_CORE), so
// every thread sees the new bytes before the next step. Only single bytes
// of code are ever changed in place; a two-byte entry is switched with the
// int3 protocol of the kernel's text_poke_bp():
//
//   1. first byte -> int3 (cc); sync. A thread that enters now traps, and
//      the SIGTRAP handler sends it to the site's pad, which is already a
//      complete jump.
//   2. second byte -> new value; sync. A thread past GCC's first NOP runs
//      it alone: the old NOP or the new `clc` (insn.h), both harmless.
//   3. first byte -> new value; sync.
//
// Constraints: call from the control thread only, with the klp mutex held.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "result.h"
#include "tracer.h"

namespace uklp::rt {

// Opens /proc/self/mem, registers membarrier SYNC_CORE and installs the
// SIGTRAP handler. Idempotent; done at the first patch.
Status text_init();
// Registers the process for membarrier(SYNC_CORE) now: cheap while it has
// one thread (the runtime's constructor), slow later.
void text_preregister();
// Writes `bytes` at `addr` (any protection), then syncs every core.
Status text_poke(uintptr_t addr, std::span<const uint8_t> bytes);
// Writes data (a GOT slot of a patch module, read-only after RELRO).
Status data_poke(uintptr_t addr, std::span<const uint8_t> bytes);
void sync_cores();
// In a fork() child: /proc/self/mem is reopened (the inherited descriptor
// names the parent's memory) and membarrier registered for the new mm.
void text_after_fork();

// A thread trapping on the int3 at `at` continues at `resume`. Entries are
// never removed: a trap may be delivered after the int3 is gone.
Status add_trap_redirect(uintptr_t at, uintptr_t resume);

// Stops, until `hold` is released, every other thread that blocks
// SIGTRAP: one that ran into an int3 would be killed by the kernel (it
// forces a blocked trap signal to its default action). EBUSY if one of
// them cannot be stopped. `threads` receives them and must outlive `hold`.
Status hold_sigtrap_blockers(ThreadHold& hold, std::vector<ThreadCheck>& threads);

}  // namespace uklp::rt
