// state.cc: system states (kernel/livepatch/state.c). States are passive
// metadata of a patch; klp_enable_patch() checks their compatibility.
#include "core.h"
#include "transition.h"

extern "C" UKLP_EXPORT struct klp_state* klp_get_state(struct klp_patch* patch, unsigned long id) {
  for (klp_state* s = patch ? patch->states : nullptr; s && s->id; ++s)
    if (s->id == id) return s;
  return nullptr;
}

// The newest already-installed patch's state with this id; only valid
// during a transition (the kernel WARNs and returns NULL otherwise).
extern "C" UKLP_EXPORT struct klp_state* klp_get_prev_state(unsigned long id) {
  uklp::rt::Patch* current = uklp::rt::klp_transition_patch();
  if (!current) return nullptr;
  klp_state* last = nullptr;
  for (uklp::rt::Patch* p : uklp::rt::klp_patches()) {
    if (p == current) break;
    if (klp_state* s = klp_get_state(p->kp, id)) last = s;
  }
  return last;
}
