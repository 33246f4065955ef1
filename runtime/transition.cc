// transition.cc: see transition.h.
#include "transition.h"

#include "callbacks.h"
#include "log.h"
#include "redirect.h"

namespace uklp::rt {
namespace {

Patch* g_transition_patch = nullptr;
int g_target_state = KLP_TRANSITION_IDLE;

const char* direction(int state) { return state == KLP_TRANSITION_PATCHED ? "patching" : "unpatching"; }

template <typename Fn>
void for_each_func(Patch* patch, Fn fn) {
  for (auto& obj : patch->objs)
    for (auto& func : obj->funcs) fn(obj.get(), func.get());
}

// The issue-2 policy: no thread runs between two steps of ours, so all of
// them take the target state at once.
void switch_all_threads() {
  set_threads_patch_state(g_target_state);
  sites_update_all();
}

void unpatch_objects(Patch* patch) {
  for (auto& obj : patch->objs)
    if (obj->patched) unpatch_object(obj.get());
}

void klp_complete_transition() {
  Patch* patch = g_transition_patch;
  klp_log(Level::debug, "'%s': completing %s transition", patch->name.c_str(), direction(g_target_state));
  if (g_target_state == KLP_TRANSITION_UNPATCHED) unpatch_objects(patch);
  for_each_func(patch, [](Object*, Func* f) {
    f->transition = false;
    f->sync_public();
  });
  set_threads_patch_state(KLP_TRANSITION_IDLE);
  sites_update_all();
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
}

}  // namespace

Patch* klp_transition_patch() { return g_transition_patch; }
int klp_target_state() { return g_target_state; }

void klp_init_transition(Patch* patch, int state) {
  g_transition_patch = patch;
  g_target_state = state;
  klp_log(Level::debug, "'%s': initializing %s transition", patch->name.c_str(), direction(state));
  set_threads_patch_state(!state);
  for_each_func(patch, [](Object*, Func* f) { f->transition = true; });
}

void klp_start_transition() {
  klp_log(Level::notice, "'%s': starting %s transition", g_transition_patch->name.c_str(),
          direction(g_target_state));
}

bool klp_try_complete_transition() {
  switch_all_threads();
  Patch* patch = g_transition_patch;
  klp_complete_transition();
  if (!patch->enabled) free_patch(patch);
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
  g_target_state = !g_target_state;
  klp_start_transition();
}

void klp_force_transition() {
  klp_log(Level::warning, "forcing remaining tasks to the patched state");
  if (g_target_state == KLP_TRANSITION_UNPATCHED) {
    g_transition_patch->forced = true;
  } else if (g_transition_patch->replace) {
    for (Patch* p : klp_patches())
      if (p != g_transition_patch) p->forced = true;
  }
  switch_all_threads();
}

}  // namespace uklp::rt
