// core.h: patches, objects and funcs: the runtime's twins of the patch
// author's struct klp_patch / klp_object / klp_func, and their life cycle
// (enable, disable, free), after kernel/livepatch/core.c.
//
// Every function here runs on the control thread with klp_mutex held
// (module_init of a patch module runs there too, so klp_enable_patch()
// finds the mutex already held by its loader).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "result.h"
#include "symbols.h"
#include "uklp/livepatch.h"

namespace uklp::rt {

struct Module;
struct Object;
struct Patch;
class Site;

struct Func {
  klp_func* kf = nullptr;      // the author's struct (nullptr for a dynamic nop)
  Object* obj = nullptr;
  std::string old_name;
  unsigned long old_sympos = 0;
  uintptr_t old_addr = 0, new_addr = 0;
  uint64_t old_size = 0, new_size = 0;
  bool nop = false;
  bool patched = false;     // on its site's func stack
  bool transition = false;  // being applied or reverted
  Site* site = nullptr;
  void sync_public();       // mirrors the internal fields into *kf
};

struct Object {
  klp_object* ko = nullptr;  // nullptr for a dynamic object (atomic replace)
  Patch* patch = nullptr;
  std::string name;          // "main" or the library name
  bool is_main = false;
  bool loaded = false;
  bool patched = false;
  bool dynamic = false;
  const void* link_map = nullptr;  // the library's loader handle while loaded (not for main)
  std::vector<std::unique_ptr<Func>> funcs;
};

struct Patch {
  klp_patch* kp = nullptr;
  Module* mod = nullptr;
  std::string name;
  bool enabled = false;
  bool forced = false;
  bool replace = false;
  std::vector<std::unique_ptr<Object>> objs;
};

// The klp mutex: serializes every change to patches, sites and transitions.
std::recursive_mutex& klp_mutex();

// Active patches (enabled or in transition), oldest first.
std::vector<Patch*>& klp_patches();
Patch* find_patch(const std::string& name);

// enabled_store / force_store of the kernel's sysfs, for the control tree.
Status patch_set_enabled(Patch* patch, bool enabled);
Status patch_force(Patch* patch);
int patch_stack_order(const Patch* patch);

// Frees a patch whose unpatching transition completed (or that failed to
// enable): drops it from klp_patches and from its module.
void free_patch(Patch* patch);
// After an atomic replace completed: frees every patch older than `patch`
// (they are already off the func stacks), leaving their modules unloadable.
void free_replaced_patches(Patch* patch);
// klp_discard_nops: takes the nops off their stacks and frees them and the
// dynamic objects.
void discard_nops(Patch* patch);

std::string object_display_name(const char* klp_name);

// Libraries coming and going (kernel klp_module_coming / klp_module_going),
// called by dlhook.cc from inside the dynamic linker with the klp mutex
// held. coming: every active patch's object for `lib`, oldest patch first:
// relocations, symbols, "applying patch" line, pre_patch, patching (the
// library has not run yet), post_patch unless in transition; on a failure
// what was applied is reverted and the error says why the library must not
// load. going: the reverse for the library `link_map`, which is about to be
// unmapped or already is: its code is not written to.
Status klp_module_coming(const LoadedObject& lib, const void* link_map);
void klp_module_going(const void* link_map);
// The libraries that some active patch has a loaded object for.
std::vector<const void*> patched_libraries();
// True when some active patch has an object for a library not loaded.
bool library_objects_waiting();

// The detailed result of the last klp_enable_patch() (its C return value
// only carries the errno), for the loader's error message.
Status last_enable_status();

}  // namespace uklp::rt
