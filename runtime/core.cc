// core.cc: see core.h. Follows kernel/livepatch/core.c: klp_enable_patch()
// checks in the kernel's order with the kernel's error codes, builds the
// internal twins (init), resolves every function (init_object_loaded), and
// only then starts changing the process (__klp_enable_patch), so a failure
// before that point changes nothing, and one after it is rolled back by
// cancelling the transition.
#include "core.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "callbacks.h"
#include "dlhook.h"
#include "loader.h"
#include "log.h"
#include "redirect.h"
#include "symbols.h"
#include "transition.h"

namespace uklp::rt {
namespace {

constexpr size_t kKsymNameLen = 512;

bool is_patch_compatible(const klp_patch* patch);

Status init_func(Object* obj, Func* func, std::set<std::string>& names) {
  if (func->kf && !func->kf->old_name) return error(EINVAL, "a func of object '" + obj->name + "' has no old_name");
  if (func->kf && !func->kf->new_func && !func->nop)
    return error(EINVAL, "func '" + func->old_name + "' has no new_func");
  if (func->old_name.size() >= kKsymNameLen) return error(EINVAL, "old_name too long");
  std::string key = func->old_name + "," + std::to_string(func->old_sympos ? func->old_sympos : 1);
  if (!names.insert(key).second)
    return error(EEXIST, "function '" + key + "' appears twice in object '" + obj->name + "'");
  return Status::ok();
}

Status init_object_loaded(Patch* patch, Object* obj, const LoadedObject& lo) {
  for (auto& func : obj->funcs) {
    auto sym = lookup_symbol(lo, func->old_name, func->old_sympos);
    if (!sym) {
      klp_log(Level::err, "%s", sym.status().message().c_str());
      return sym.status();
    }
    func->old_addr = sym->address;
    func->old_size = sym->size;
    if (!func->old_size) {
      klp_log(Level::err, "kallsyms size lookup failed for '%s'", func->old_name.c_str());
      return error(ENOENT, "kallsyms size lookup failed for '" + func->old_name + "'");
    }
    if (func->nop) func->new_addr = func->old_addr;
    auto size = func->nop ? Result<uint64_t>(func->old_size) : module_symbol_size(patch->mod, func->new_addr);
    if (!size) {
      klp_log(Level::err, "kallsyms size lookup failed for '%s' replacement", func->old_name.c_str());
      return error(ENOENT, "kallsyms size lookup failed for '" + func->old_name + "' replacement");
    }
    func->new_size = *size;
    func->sync_public();
  }
  return Status::ok();
}

// klp_init_object_loaded with the relocations: for a library, the target
// build-id and the module's klp relocations for it, then the functions.
// (At enable time the library may have been mapped after the loader applied
// the relocations; its dlopen then waits in the hook and finds it bound.)
Status init_loaded(Patch* patch, Object* obj, const LoadedObject& lo) {
  if (!obj->is_main) {
    UKLP_TRY(check_object_target(patch->mod, lo));
    UKLP_TRY(apply_object_relocs(patch->mod, lo));
  }
  return init_object_loaded(patch, obj, lo);
}

void bind_object(Object* obj, const LoadedObject& lo, const void* link_map) {
  obj->loaded = true;
  obj->link_map = link_map;
  if (obj->ko) obj->ko->mod = const_cast<void*>(link_map);
  if (link_map) dl_watch_library(lo, link_map);
}

// klp_free_object_loaded: the object's addresses are gone with its library.
void free_object_loaded(Object* obj) {
  obj->loaded = false;
  obj->link_map = nullptr;
  if (obj->ko) obj->ko->mod = nullptr;
  for (auto& func : obj->funcs) {
    func->old_addr = 0;
    func->old_size = 0;
    if (func->nop) func->new_addr = 0;
    func->sync_public();
  }
}

Status init_object(Patch* patch, Object* obj) {
  if (!obj->is_main && obj->name.size() >= MODULE_NAME_LEN)
    return error(EINVAL, "object name '" + obj->name + "' too long");
  for (auto& other : patch->objs)
    if (other.get() != obj && other->name == obj->name)
      return error(EEXIST, "object '" + obj->name + "' appears twice in patch '" + patch->name + "'");
  std::set<std::string> names;
  for (auto& func : obj->funcs) UKLP_TRY(init_func(obj, func.get(), names));
  auto lo = find_object(obj->is_main ? nullptr : obj->name.c_str());
  if (!lo) return Status::ok();  // a library not loaded yet: klp_module_coming
  UKLP_TRY(init_loaded(patch, obj, *lo));
  bind_object(obj, *lo, obj->is_main ? nullptr : dl_link_map_of(*lo));
  return Status::ok();
}

std::unique_ptr<Patch> build_patch(klp_patch* kp, Module* mod) {
  auto patch = std::make_unique<Patch>();
  patch->kp = kp;
  patch->mod = mod;
  patch->name = mod->name;
  patch->replace = kp->replace;
  klp_object* ko;
  klp_for_each_object_static(kp, ko) {
    auto obj = std::make_unique<Object>();
    obj->ko = ko;
    obj->patch = patch.get();
    obj->is_main = ko->name == nullptr;
    obj->name = object_display_name(ko->name);
    klp_func* kf;
    klp_for_each_func_static(ko, kf) {
      auto func = std::make_unique<Func>();
      func->kf = kf;
      func->obj = obj.get();
      func->old_name = kf->old_name ? kf->old_name : "";
      func->old_sympos = kf->old_sympos;
      func->new_addr = reinterpret_cast<uintptr_t>(kf->new_func);
      obj->funcs.push_back(std::move(func));
    }
    patch->objs.push_back(std::move(obj));
  }
  return patch;
}

Object* find_object_named(Patch* patch, const Object* like) {
  for (auto& obj : patch->objs)
    if (obj->is_main == like->is_main && obj->name == like->name) return obj.get();
  return nullptr;
}

bool has_func(const Object* obj, const Func* like) {
  for (auto& f : obj->funcs)
    if (f->old_name == like->old_name && f->old_sympos == like->old_sympos) return true;
  return false;
}

// klp_add_nops: for every function an active patch changes and this one
// does not, a nop that sends it back to the original (in a dynamic object
// when this patch has none of that name). The match is on (old_name,
// old_sympos) exactly, as in the kernel: sympos 0 and 1 differ here.
void add_nops(Patch* patch) {
  for (Patch* old : klp_patches()) {
    for (auto& old_obj : old->objs) {
      Object* obj = find_object_named(patch, old_obj.get());
      if (!obj) {
        auto dyn = std::make_unique<Object>();
        dyn->patch = patch;
        dyn->name = old_obj->name;
        dyn->is_main = old_obj->is_main;
        dyn->dynamic = true;
        obj = dyn.get();
        patch->objs.push_back(std::move(dyn));
      }
      for (auto& old_func : old_obj->funcs) {
        if (has_func(obj, old_func.get())) continue;
        auto nop = std::make_unique<Func>();
        nop->obj = obj;
        nop->old_name = old_func->old_name;
        nop->old_sympos = old_func->old_sympos;
        nop->nop = true;
        obj->funcs.push_back(std::move(nop));
      }
    }
  }
}

// __klp_enable_patch: pre_patch and patching interleaved per object.
Status enable_patch(Patch* patch) {
  if (klp_transition_patch()) return error(EBUSY, "another patch is in transition");
  UKLP_TRY(klp_threads_listable());
  klp_log(Level::notice, "enabling patch '%s'", patch->name.c_str());
  klp_init_transition(patch, KLP_TRANSITION_PATCHED);
  for (auto& obj : patch->objs) {
    if (!obj->loaded) continue;
    int ret = klp_pre_patch_callback(obj.get());
    if (ret) {
      klp_log(Level::warning, "pre-patch callback failed for object '%s'", obj->name.c_str());
      klp_log(Level::warning, "failed to enable patch '%s'", patch->name.c_str());
      klp_cancel_transition();
      return error(ret < 0 ? -ret : EINVAL, "pre-patch callback failed for object '" + obj->name + "'");
    }
    Status s = patch_object(obj.get());
    if (!s) {
      klp_log(Level::warning, "failed to patch object '%s'", obj->name.c_str());
      klp_log(Level::warning, "failed to enable patch '%s'", patch->name.c_str());
      klp_cancel_transition();
      return s;
    }
  }
  klp_start_transition();
  patch->enabled = true;
  patch->kp->enabled = true;
  klp_try_complete_transition();
  return Status::ok();
}

Status do_enable(klp_patch* kp) {
  if (!kp || !kp->mod || !kp->objs) return error(EINVAL, "patch, its mod and its objs must be set");
  klp_object* ko;
  klp_for_each_object_static(kp, ko) if (!ko->funcs) return error(EINVAL, "an object has no funcs");
  Module* mod = module_of(kp->mod);
  if (!mod || !mod->livepatch) {
    klp_log(Level::err, "module %s is not marked as a livepatch module", mod ? mod->name.c_str() : "(unknown)");
    return error(EINVAL, "module is not marked as a livepatch module");
  }
  if (!is_patch_compatible(kp)) {
    klp_log(Level::err, "Livepatch patch (%s) is not compatible with the already installed livepatches.",
            mod->name.c_str());
    return error(EINVAL, "patch '" + mod->name + "' is not compatible with the already installed livepatches");
  }
  if (mod->patch || find_patch(mod->name)) return error(EEXIST, "patch '" + mod->name + "' already exists");
  // Libraries loaded or unloaded from now on are seen (dlhook.h). Before
  // the objects are looked up: a library that is not listed yet then comes
  // through the hook, which waits for the klp mutex.
  if (Status s = dl_hook_install(); !s)
    klp_log(Level::warning, "libraries loaded later will not be patched: %s", s.describe().c_str());
  auto owned = build_patch(kp, mod);
  Patch* patch = owned.get();
  if (patch->replace) add_nops(patch);
  for (auto& obj : patch->objs) {
    Status s = init_object(patch, obj.get());
    if (!s) return s;
  }
  klp_patches().push_back(owned.release());
  mod->patch = patch;
  Status s = enable_patch(patch);
  if (!s) free_patch(patch);
  return s;
}

Status disable_patch(Patch* patch) {
  if (klp_transition_patch()) return error(EBUSY, "patch '" + klp_transition_patch()->name + "' is in transition");
  UKLP_TRY(klp_threads_listable());
  klp_init_transition(patch, KLP_TRANSITION_UNPATCHED);
  for (auto& obj : patch->objs)
    if (obj->patched) klp_pre_unpatch_callback(obj.get());
  klp_start_transition();
  patch->enabled = false;
  patch->kp->enabled = false;
  klp_try_complete_transition();
  return Status::ok();
}

const klp_state* find_state(const klp_patch* p, unsigned long id) {
  for (const klp_state* s = p->states; s && s->id; ++s)
    if (s->id == id) return s;
  return nullptr;
}

bool is_patch_compatible(const klp_patch* patch) {
  for (Patch* old : klp_patches()) {
    for (const klp_state* os = old->kp->states; os && os->id; ++os) {
      const klp_state* s = find_state(patch, os->id);
      if (!s ? patch->replace : s->version < os->version) return false;
    }
  }
  return true;
}

constinit Status g_last_enable_status;

}  // namespace

void Func::sync_public() {
  if (!kf) return;
  kf->old_func = reinterpret_cast<void*>(old_addr);
  kf->old_size = old_size;
  kf->new_size = new_size;
  kf->nop = nop;
  kf->patched = patched;
  kf->transition = transition;
}

std::recursive_mutex& klp_mutex() {
  static auto* mu = new std::recursive_mutex();
  return *mu;
}

std::vector<Patch*>& klp_patches() {
  static auto* v = new std::vector<Patch*>();
  return *v;
}

Patch* find_patch(const std::string& name) {
  for (Patch* p : klp_patches())
    if (p->name == name) return p;
  return nullptr;
}

std::string object_display_name(const char* klp_name) {
  return klp_name ? std::string(klp_name) : std::string(kMainObjectName);
}

void free_patch(Patch* patch) {
  auto& v = klp_patches();
  v.erase(std::remove(v.begin(), v.end(), patch), v.end());
  if (patch->mod && patch->mod->patch == patch) {
    patch->mod->patch = nullptr;
    if (patch->forced) patch->mod->forced = true;
  }
  for (auto& obj : patch->objs)
    if (obj->ko) obj->ko->patched = false;
  delete patch;
}

void free_replaced_patches(Patch* patch) {
  std::vector<Patch*> older;
  for (Patch* p : klp_patches()) {
    if (p == patch) break;
    older.push_back(p);
  }
  for (Patch* p : older) free_patch(p);
}

void discard_nops(Patch* patch) {
  for (auto& obj : patch->objs)
    if (obj->patched) unpatch_object(obj.get(), true);
  for (auto& obj : patch->objs)
    std::erase_if(obj->funcs, [](const std::unique_ptr<Func>& f) { return f->nop; });
  std::erase_if(patch->objs, [](const std::unique_ptr<Object>& o) { return o->dynamic; });
}

Status patch_set_enabled(Patch* patch, bool enabled) {
  if (patch->enabled == enabled)
    return error(EINVAL, "patch '" + patch->name + "' is already " + (enabled ? "enabled" : "disabled"));
  if (patch == klp_transition_patch()) {
    klp_reverse_transition();
    return Status::ok();
  }
  if (!enabled) return disable_patch(patch);
  return error(EINVAL, "a disabled patch cannot be enabled again; unload and load it");
}

Status patch_force(Patch* patch) {
  if (patch != klp_transition_patch()) return error(EINVAL, "patch '" + patch->name + "' is not in transition");
  klp_force_transition();
  return Status::ok();
}

int patch_stack_order(const Patch* patch) {
  int n = 0;
  for (Patch* p : klp_patches()) {
    ++n;
    if (p == patch) break;
  }
  return n;
}

namespace {

// klp_cleanup_module_patches_limited: reverts, in every active patch older
// than `limit` (all when nullptr), the object bound to the library
// `link_map`, which is being removed: its code is never written to again.
void cleanup_library(const void* link_map, const Patch* limit) {
  for (Patch* patch : klp_patches()) {
    if (patch == limit) break;
    for (auto& o : patch->objs) {
      Object* obj = o.get();
      if (!obj->loaded || obj->link_map != link_map) continue;
      if (patch != klp_transition_patch()) klp_pre_unpatch_callback(obj);
      klp_log(Level::notice, "reverting patch '%s' on unloading module '%s'", patch->name.c_str(), obj->name.c_str());
      forget_object(obj);
      klp_post_unpatch_callback(obj);
      clear_object_relocs(patch->mod, obj->name);
      free_object_loaded(obj);
      break;
    }
  }
}

Status refuse_library(Patch* patch, Object* obj, const void* link_map, const Status& why) {
  klp_log(Level::warning, "patch '%s' failed for module '%s', refusing to load module '%s'", patch->name.c_str(),
          obj->name.c_str(), obj->name.c_str());
  clear_object_relocs(patch->mod, obj->name);
  free_object_loaded(obj);
  cleanup_library(link_map, patch);
  return error(why.code(), "livepatch '" + patch->name + "' refused to load this library: " + why.message());
}

}  // namespace

Status klp_module_coming(const LoadedObject& lib, const void* link_map) {
  for (Patch* patch : klp_patches()) {
    for (auto& o : patch->objs) {
      Object* obj = o.get();
      if (obj->is_main || obj->loaded || !lib.matches(obj->name.c_str())) continue;
      Status s = init_loaded(patch, obj, lib);
      if (!s) {
        klp_log(Level::warning, "failed to initialize patch '%s' for module '%s' (%d)", patch->name.c_str(),
                obj->name.c_str(), -s.code());
        return refuse_library(patch, obj, link_map, s);
      }
      bind_object(obj, lib, link_map);
      klp_log(Level::notice, "applying patch '%s' to loading module '%s'", patch->name.c_str(), obj->name.c_str());
      if (int ret = klp_pre_patch_callback(obj)) {
        klp_log(Level::warning, "pre-patch callback failed for object '%s'", obj->name.c_str());
        return refuse_library(patch, obj, link_map,
                              error(ret < 0 ? -ret : EINVAL, "pre-patch callback failed for object '" + obj->name + "'"));
      }
      // No thread has run the library yet: its entries are written directly.
      if (s = patch_object(obj, true); !s) {
        klp_log(Level::warning, "failed to apply patch '%s' to module '%s' (%d)", patch->name.c_str(),
                obj->name.c_str(), -s.code());
        klp_post_unpatch_callback(obj);
        return refuse_library(patch, obj, link_map, s);
      }
      if (patch != klp_transition_patch()) klp_post_patch_callback(obj);
      break;
    }
  }
  return Status::ok();
}

void klp_module_going(const void* link_map) { cleanup_library(link_map, nullptr); }

std::vector<const void*> patched_libraries() {
  std::vector<const void*> v;
  for (Patch* patch : klp_patches())
    for (auto& obj : patch->objs)
      if (obj->loaded && obj->link_map && std::find(v.begin(), v.end(), obj->link_map) == v.end())
        v.push_back(obj->link_map);
  return v;
}

bool library_objects_waiting() {
  for (Patch* patch : klp_patches())
    for (auto& obj : patch->objs)
      if (!obj->is_main && !obj->loaded) return true;
  return false;
}

// Called by klp_enable_patch; the Status is kept for the loader's message.
Status last_enable_status() { return g_last_enable_status; }

}  // namespace uklp::rt

extern "C" UKLP_EXPORT int klp_enable_patch(struct klp_patch* patch) {
  std::lock_guard lock(uklp::rt::klp_mutex());
  uklp::Status s = uklp::rt::do_enable(patch);
  uklp::rt::g_last_enable_status = s;
  return s.is_ok() ? 0 : -s.code();
}
