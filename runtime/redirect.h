// redirect.h: sites and func stacks, the mechanism that sends a call of an
// original function to the chosen implementation (the kernel's patch.c plus
// ftrace). One Site per original function; its func stack holds the funcs
// of every patch that replaces it, newest on top.
//
// At a site's entry the selection is the kernel's klp_ftrace_handler():
// the top func, unless it is in transition and the calling thread is still
// unpatched, then the func below it or the original; a nop runs the
// original. Outside a transition the slot holds the chosen function, so a
// call costs a short jump plus one indirect jump; during one, it holds a
// stub that tests the calling thread's state (arch/x86_64/insn.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "arch/x86_64/insn.h"
#include "core.h"
#include "result.h"

namespace uklp::rt {

class Site {
 public:
  uintptr_t entry = 0;              // the function's symbol address
  x86::Entry pad{};                 // where its pad and entry NOPs are
  std::atomic<uintptr_t>* slot = nullptr;  // what the pad jumps through
  std::vector<Func*> stack;         // func_stack: back() is the top
  bool armed = false;               // entry NOPs replaced by the jump
  // The transition stub in use (arch/x86_64/insn.h), and what it was made for.
  uintptr_t stub = 0;
  uint32_t stub_gen = 0;
  uintptr_t stub_match = 0, stub_miss = 0;
};

// The klp_patch_func / klp_unpatch_func of patch.c.
Status site_push_func(Func* func, const std::string& object_name, bool fresh = false);
void site_pop_func(Func* func);
// klp_patch_object / klp_unpatch_object: all of an object's funcs, or none.
// With nops_only, only the nop funcs leave their stacks (klp_discard_nops);
// a dynamic object is then no longer patched.
// `fresh`: the object's code has never run (a library being loaded), so
// its entries are written directly, without the int3 protocol.
Status patch_object(Object* obj, bool fresh = false);
void unpatch_object(Object* obj, bool nops_only = false);
// The funcs of an object whose library is being unmapped leave their
// stacks without a write to its code; a site left empty is forgotten.
void forget_object(Object* obj);
// Recomputes a site's slot from its func stack and the transition epoch
// (task.h): the top func, or a transition stub. Fails only when a stub
// cannot be allocated.
Status site_update(Site* site);
void sites_update_all();
// The pages holding transition stubs, [start, end): a thread inside one
// may still jump to any function that was on a func stack.
std::vector<std::pair<uintptr_t, uintptr_t>> stub_pages();
// The pads and entry bytes of the armed sites, [start, end): a thread there
// has not entered any version of the function yet.
std::vector<std::pair<uintptr_t, uintptr_t>> site_entry_ranges();

}  // namespace uklp::rt
