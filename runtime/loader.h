// loader.h: patch modules: load from a descriptor, check, relocate, set
// parameters, run module_init; and unload (the kernel's insmod / rmmod).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core.h"
#include "elf_file.h"
#include "result.h"
#include "symbols.h"

namespace uklp::rt {

struct Param {
  std::string name;
  int type = 0;        // enum uklp_param_type
  unsigned perm = 0;
  void* arg = nullptr;
};

struct Module {
  std::string name;    // livepatch_sample
  std::string path;    // as the user named the file
  void* handle = nullptr;
  // Kept open while loaded: dlopen("/proc/self/fd/N") names the module by
  // N, and glibc would return an already-loaded module of the same name.
  int fd = -1;
  uintptr_t bias = 0;
  struct module* this_module = nullptr;
  bool livepatch = false;
  std::vector<std::pair<std::string, std::string>> modinfo;
  std::vector<Param> params;
  std::unique_ptr<elf::ElfFile> elf;
  Patch* patch = nullptr;  // its patch while active (enabled or in transition)
  bool forced = false;
  int (*init_fn)() = nullptr;
  void (*exit_fn)() = nullptr;
};

struct LoadRequest {
  int fd = -1;
  std::string name;
  std::string path;
  std::vector<std::string> params;  // KEY=VALUE
};

std::vector<std::unique_ptr<Module>>& modules();
Module* find_module(const std::string& name);
Module* module_of(const struct module* m);

Status load_module(const LoadRequest& req);
Status unload_module(const std::string& name);

// For a library being loaded (klp_module_coming): the target build-id
// check, and the module's klp relocations for that library; clearing them
// when it goes.
Status check_object_target(const Module* mod, const LoadedObject& lib);
Status apply_object_relocs(Module* mod, const LoadedObject& lib);
void clear_object_relocs(Module* mod, const std::string& object);

// st_size of the patch module's symbol at `addr` (kallsyms of the module).
Result<uint64_t> module_symbol_size(const Module* mod, uintptr_t addr);

Result<std::string> param_get(const Param& p);
Status param_set(const Param& p, const std::string& value);
// The kernel's kstrtobool: y/Y/t/T/1, n/N/f/F/0, on/off; the rest ignored.
Result<bool> kstrtobool(const std::string& value);

}  // namespace uklp::rt
