// loader.cc: see loader.h. Loading a patch module, in order:
//   0. check_owner, check_module_signature (policy.h): who may have
//      written the file, its signature and the policy's requirements
//   1. read_module_file      parse the ELF from the passed descriptor
//   2. check_modinfo         .modinfo must say livepatch=Y (kernel message)
//   3. check_targets         .uklp.targets build-ids = the running objects'
//   4. resolve_klp_relocs    every .klp.sym of a loaded object, by sympos
//   5. open_module           dlopen("/proc/self/fd/N"), hidden from kallsyms
//   6. apply_klp_relocs      write S + A into the module's GOT slots
//   7. set_params            module_param values given at load
//   8. run module_init       which calls klp_enable_patch()
// Steps 1-4 run no code of the module and change nothing in the process;
// any failure after step 5 closes the module again.
#include "loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <algorithm>
#include <cstring>

#include "dlhook.h"
#include "klp_names.h"
#include "log.h"
#include "module_info.h"
#include "policy.h"
#include "symbols.h"
#include "text_poke.h"
#include "transition.h"

namespace uklp::rt {
namespace {

Module* g_loading = nullptr;

struct KlpWrite {
  uintptr_t offset;  // link-time address in the module
  uint64_t value;
};

Status check_modinfo(Module* mod) {
  const elf::Section* s = mod->elf->section(".modinfo");
  if (s) {
    UKLP_ASSIGN_OR_RETURN(auto data, mod->elf->section_data(*s));
    mod->modinfo = klp::parse_modinfo({reinterpret_cast<const char*>(data.data()), data.size()});
  }
  for (auto& [k, v] : mod->modinfo)
    if (k == "livepatch" && v == "Y") mod->livepatch = true;
  if (!mod->livepatch) {
    klp_log(Level::err, "module %s is not marked as a livepatch module", mod->name.c_str());
    return error(EINVAL, "module " + mod->name + " is not marked as a livepatch module (MODULE_INFO(livepatch, \"Y\"))");
  }
  return Status::ok();
}

// The build-id a patch module was built against for `lib`: an error if it
// names another build, ok if it names none.
Status check_target_line(const Module* mod, std::string_view line, const LoadedObject* lib) {
  auto target = klp::parse_target_line(line);
  if (!target) return error(ENOEXEC, "malformed .uklp.targets line in '" + mod->path + "'");
  const std::string &obj = target->object, &id = target->build_id;
  Result<LoadedObject> found = lib ? Result<LoadedObject>(*lib) : find_object(obj.c_str());
  if (!found || !found->matches(obj.c_str())) return Status::ok();  // not loaded: checked when it loads
  if (found->build_id != id)
    return error(ENOEXEC, "patch module '" + mod->name + "' was built for " + obj + " with build-id " + id +
                              ", but the process runs build-id " +
                              (found->build_id.empty() ? std::string("(none)") : found->build_id));
  return Status::ok();
}

// Every line of .uklp.targets (one loaded object, or all when lib is null).
Status check_targets(const Module* mod, const LoadedObject* lib = nullptr) {
  const elf::Section* s = mod->elf->section(klp::kTargetsSection);
  if (!s)
    return error(ENOEXEC, "patch module '" + mod->path +
                              "' is not bound to a target build (no .uklp.targets: build it with "
                              "uklp_add_patch_module or run uklp-klp-convert on it)");
  UKLP_ASSIGN_OR_RETURN(auto data, mod->elf->section_data(*s));
  for (std::string_view line : klp::target_lines({reinterpret_cast<const char*>(data.data()), data.size()}))
    UKLP_TRY(check_target_line(mod, line, lib));
  return Status::ok();
}

Result<uint64_t> resolve_klp_sym(const Module* mod, const elf::Section& symtab, unsigned index,
                                 const std::string& section_object, const LoadedObject& lo) {
  UKLP_ASSIGN_OR_RETURN(elf::Symbol sym, mod->elf->symbol(symtab, index));
  if (sym.sym.st_shndx != klp::SHN_LIVEPATCH)
    return error(EINVAL, "symbol '" + std::string(sym.name) + "' is not marked as a livepatch symbol");
  UKLP_ASSIGN_OR_RETURN(klp::KlpSymName ks, klp::parse_sym_name(sym.name));
  if (ks.object != section_object)
    return error(EINVAL, "symbol '" + std::string(sym.name) + "' of object '" + ks.object +
                             "' in a relocation section of object '" + section_object + "'");
  auto info = lookup_symbol(lo, ks.name, ks.sympos);
  if (!info) {
    klp_log(Level::err, "%s", info.status().message().c_str());
    return info.status();
  }
  return uint64_t(info->address);
}

// Calls fn(section, object name) for each klp relocation section.
template <typename Fn>
Status for_each_klp_rela_section(const Module* mod, Fn fn) {
  for (const elf::Section& s : mod->elf->sections()) {
    if (!(s.hdr.sh_flags & klp::SHF_RELA_LIVEPATCH)) continue;
    UKLP_ASSIGN_OR_RETURN(klp::RelaSectionName rn, klp::parse_rela_section_name(s.name));
    UKLP_TRY(fn(s, rn.object));
  }
  return Status::ok();
}

// Resolves the klp relocations of every loaded object (kernel: the
// vmlinux ones at module load, a module's at klp_init_object_loaded), or
// only those of `only`, a library being loaded.
Result<std::vector<KlpWrite>> resolve_klp_relocs(const Module* mod, const LoadedObject* only = nullptr) {
  std::vector<KlpWrite> writes;
  UKLP_TRY(for_each_klp_rela_section(mod, [&](const elf::Section& s, const std::string& object) -> Status {
    Result<LoadedObject> lo = only ? Result<LoadedObject>(*only) : find_object(object.c_str());
    if (!lo || !lo->matches(object.c_str())) return Status::ok();  // applied when the library loads
    const elf::Section* symtab = mod->elf->section_by_index(s.hdr.sh_link);
    if (!symtab || symtab->hdr.sh_type != SHT_SYMTAB)
      return error(EINVAL, "relocation section '" + std::string(s.name) + "' has no symbol table");
    UKLP_ASSIGN_OR_RETURN(auto relas, mod->elf->relocations(s));
    for (const Elf64_Rela& r : relas) {
      if (ELF64_R_TYPE(r.r_info) != R_X86_64_64)
        return error(EINVAL, "unsupported relocation type " + std::to_string(ELF64_R_TYPE(r.r_info)) + " in '" +
                                 std::string(s.name) + "'");
      UKLP_ASSIGN_OR_RETURN(uint64_t value, resolve_klp_sym(mod, *symtab, ELF64_R_SYM(r.r_info), object, *lo));
      writes.push_back({r.r_offset, value + uint64_t(r.r_addend)});
    }
    return Status::ok();
  }));
  return writes;
}

// The writes must land inside the module's own writable PT_LOAD segments.
Status check_write_targets(const Module* mod, const std::vector<KlpWrite>& writes) {
  // An offset near 2^64 once passed (w.offset + 8 wrapped): a write below the module.
  auto phdrs = mod->elf->program_headers();
  for (const KlpWrite& w : writes)
    if (!klp::in_load_segment(phdrs, w.offset, sizeof(uint64_t)))
      return error(EINVAL, "klp relocation outside the module's segments");
  return Status::ok();
}

// The dynamic linker's lock comes before the klp mutex (dlhook.h): the
// caller's hold on the mutex (exactly one, taken by the control thread for
// the request) is released around every dlopen, dlclose and dlsym.
template <typename Fn>
void without_klp_mutex(Fn fn) {
  klp_mutex().unlock();
  fn();
  klp_mutex().lock();
}

Status open_module(Module* mod, int fd) {
  mod->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (mod->fd < 0) return error(errno, "cannot keep the descriptor of '" + mod->path + "'");
  std::string path = "/proc/self/fd/" + std::to_string(mod->fd);
  void* h = nullptr;
  std::string dl_error;
  link_map* lm = nullptr;
  without_klp_mutex([&] {
    h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      dl_error = e ? e : "dlopen failed";
      return;
    }
    dlinfo(h, RTLD_DI_LINKMAP, &lm);
    mod->this_module = static_cast<struct module*>(dlsym(h, "__this_module"));
    if (auto* p = static_cast<void (**)()>(dlsym(h, "uklp_module_exit"))) mod->exit_fn = *p;
    if (auto* p = static_cast<int (**)()>(dlsym(h, "uklp_module_init"))) mod->init_fn = *p;
  });
  if (!h) {
    close(mod->fd);
    mod->fd = -1;
    return error(ENOEXEC, "cannot load '" + mod->path + "': " + dl_error);
  }
  mod->handle = h;
  mod->bias = lm ? lm->l_addr : 0;
  hide_object(mod->bias + mod->elf->program_headers().front().p_vaddr);
  return Status::ok();
}

Status apply_klp_relocs(Module* mod, const std::vector<KlpWrite>& writes) {
  for (const KlpWrite& w : writes) {
    uint64_t v = w.value;
    UKLP_TRY(data_poke(mod->bias + w.offset, {reinterpret_cast<const uint8_t*>(&v), sizeof v}));
  }
  return Status::ok();
}

Status find_entry_points(Module* mod) {
  if (!mod->this_module) return error(ENOEXEC, "patch module '" + mod->path + "' has no __this_module (include <uklp/livepatch.h>)");
  snprintf(mod->this_module->name, sizeof mod->this_module->name, "%s", mod->name.c_str());
  const elf::Section* ps = mod->elf->section("uklp_param");
  if (ps) {
    // Read in memory at the section's address: it must be in the module's image.
    if (!klp::in_load_segment(mod->elf->program_headers(), ps->hdr.sh_addr, ps->hdr.sh_size))
      return error(ENOEXEC, "section uklp_param of '" + mod->path + "' is outside the module's segments");
    size_t n = ps->hdr.sh_size / sizeof(uklp_param_desc);
    auto* desc = reinterpret_cast<const uklp_param_desc*>(mod->bias + ps->hdr.sh_addr);
    for (size_t i = 0; i < n; ++i) {
      if (!desc[i].name || !desc[i].arg || desc[i].type < UKLP_PARAM_int || desc[i].type > UKLP_PARAM_charp)
        return error(EINVAL, "malformed module_param entry " + std::to_string(i) + " in '" + mod->path + "'");
      mod->params.push_back({desc[i].name, desc[i].type, desc[i].perm, desc[i].arg});
    }
  }
  return Status::ok();
}

Status set_params(Module* mod, const std::vector<std::string>& kvs) {
  for (const std::string& kv : kvs) {
    size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq), value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    const Param* found = nullptr;
    for (const Param& p : mod->params)
      if (p.name == key) found = &p;
    if (!found) return error(ENOENT, "unknown parameter '" + key + "' of module " + mod->name);
    if (eq == std::string::npos && found->type != UKLP_PARAM_bool)
      return error(EINVAL, "parameter '" + key + "' needs a value");
    UKLP_TRY(param_set(*found, eq == std::string::npos ? "1" : value));
  }
  return Status::ok();
}

Status run_init(Module* mod) {
  if (!mod->init_fn) return Status::ok();  // a module without init loads and does nothing
  g_loading = mod;
  int ret = mod->init_fn();
  g_loading = nullptr;
  if (ret == 0) return Status::ok();
  Status s = last_enable_status();
  if (!s.is_ok() && s.code() == -ret) return s;
  return error(ret < 0 ? -ret : EINVAL, "module_init of '" + mod->name + "' failed");
}

std::pair<uintptr_t, uintptr_t> module_range(const Module* mod) {
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (const auto& ph : mod->elf->program_headers()) {
    if (ph.p_type != PT_LOAD) continue;
    lo = std::min<uintptr_t>(lo, mod->bias + ph.p_vaddr);
    hi = std::max<uintptr_t>(hi, mod->bias + ph.p_vaddr + ph.p_memsz);
  }
  return {lo, hi};
}

void close_module(Module* mod) {
  if (mod->handle) {
    unhide_object(mod->bias + mod->elf->program_headers().front().p_vaddr);
    without_klp_mutex([&] { dlclose(mod->handle); });
    mod->handle = nullptr;
  }
  if (mod->fd >= 0) close(mod->fd);
  mod->fd = -1;
}

Status load_steps(Module* mod, const LoadRequest& req) {
  UKLP_ASSIGN_OR_RETURN(mod->elf, elf::ElfFile::open_fd(req.fd, req.path));
  if (mod->elf->header().e_type != ET_DYN || mod->elf->program_headers().empty())
    return error(ENOEXEC, "'" + req.path + "' is not an ELF shared object");
  UKLP_TRY(check_modinfo(mod));
  UKLP_TRY(check_targets(mod));
  UKLP_ASSIGN_OR_RETURN(auto writes, resolve_klp_relocs(mod));
  UKLP_TRY(check_write_targets(mod, writes));
  UKLP_TRY(open_module(mod, req.fd));
  // Libraries may have come or gone while the mutex was released.
  Status s = check_targets(mod);
  if (s) {
    auto again = resolve_klp_relocs(mod);
    if (again) writes = std::move(*again);
    s = again.status();
  }
  if (s) s = check_write_targets(mod, writes);
  if (s) s = apply_klp_relocs(mod, writes);
  if (s) s = find_entry_points(mod);
  if (s) s = set_params(mod, req.params);
  if (s) s = run_init(mod);
  if (!s) close_module(mod);
  return s;
}

}  // namespace

Status check_object_target(const Module* mod, const LoadedObject& lib) { return check_targets(mod, &lib); }

Status apply_object_relocs(Module* mod, const LoadedObject& lib) {
  UKLP_ASSIGN_OR_RETURN(auto writes, resolve_klp_relocs(mod, &lib));
  UKLP_TRY(check_write_targets(mod, writes));
  return apply_klp_relocs(mod, writes);
}

// klp_clear_object_relocs: the slots are zeroed, so that a stale use
// faults rather than runs whatever is mapped there next.
void clear_object_relocs(Module* mod, const std::string& object) {
  std::vector<KlpWrite> writes;
  Status s = for_each_klp_rela_section(mod, [&](const elf::Section& sec, const std::string& name) -> Status {
    if (name != object) return Status::ok();
    UKLP_ASSIGN_OR_RETURN(auto relas, mod->elf->relocations(sec));
    for (const Elf64_Rela& r : relas) writes.push_back({r.r_offset, 0});
    return Status::ok();
  });
  if (s) s = check_write_targets(mod, writes);
  if (s) s = apply_klp_relocs(mod, writes);
  if (!s) klp_log(Level::warning, "cannot clear the relocations of '%s' for '%s': %s", mod->name.c_str(),
                  object.c_str(), s.describe().c_str());
}

std::vector<std::unique_ptr<Module>>& modules() {
  static auto* v = new std::vector<std::unique_ptr<Module>>();
  return *v;
}

Module* find_module(const std::string& name) {
  for (auto& m : modules())
    if (m->name == name) return m.get();
  return nullptr;
}

Module* module_of(const struct module* m) {
  if (g_loading && g_loading->this_module == m) return g_loading;
  for (auto& mod : modules())
    if (mod->this_module == m) return mod.get();
  return nullptr;
}

namespace {

// A module's name comes from the client (the CLI derives it from the file
// name). It is a directory of the attribute tree (livepatch/NAME/enabled)
// and a C string in the kernel's messages: no '/', no NUL or other control
// character (a NUL cut 'livepatch_x\0y' to 'livepatch_x' in the log), not
// "." or "..".
bool valid_module_name(const std::string& name) {
  if (name.empty() || name.size() >= MODULE_NAME_LEN || name == "." || name == "..") return false;
  for (unsigned char c : name)
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

Status load_module(const LoadRequest& req) {
  if (!valid_module_name(req.name)) return error(EINVAL, "bad module name '" + req.name + "'");
  // Code from a patch file runs with the process's rights: only root or
  // the process's own user may have been able to write it. Checked on the
  // descriptor the module is then loaded from (/proc/self/fd/N), so the
  // file checked is the file loaded; so is its signature, before any of
  // its bytes are parsed.
  Status s = check_owner(req.fd, req.path, "patch file", true);
  if (s) s = check_module_signature(req.fd, req.path, req.name);
  if (!s) {
    klp_log(Level::err, "refusing to load module '%s': %s", req.name.c_str(), s.message().c_str());
    return s;
  }
  if (find_module(req.name)) return error(EEXIST, "module '" + req.name + "' is already loaded");
  // From here on a library cannot go away while the klp mutex is held (its
  // unload waits for it in the hook), so what is resolved below stays true.
  if (Status s = dl_hook_install(); !s)
    klp_log(Level::warning, "libraries loaded later will not be patched: %s", s.describe().c_str());
  auto mod = std::make_unique<Module>();
  mod->name = req.name;
  mod->path = req.path;
  UKLP_TRY(load_steps(mod.get(), req));
  modules().push_back(std::move(mod));
  return Status::ok();
}

Status unload_module(const std::string& name) {
  Module* mod = find_module(name);
  if (!mod) return error(ENOENT, "module '" + name + "' is not loaded");
  if (mod->forced)
    return error(EBUSY, "module '" + name + "' took part in a forced transition and can never be unloaded");
  if (mod->patch)
    return error(EBUSY, "patch '" + name + "' is still " +
                            (mod->patch->enabled ? "enabled; disable it first" : "in transition"));
  // No thread may be left in the module's code when it is unmapped: its
  // unpatching transition proved that of its funcs; this also covers the
  // module's other functions and the transition stubs.
  auto [start, end] = module_range(mod);
  UKLP_TRY(wait_code_unused(start, end, "the patch module"));
  if (mod->exit_fn) mod->exit_fn();
  close_module(mod);
  forget_unloaded_objects();
  auto& v = modules();
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it->get() == mod) {
      v.erase(it);
      break;
    }
  return Status::ok();
}

Result<uint64_t> module_symbol_size(const Module* mod, uintptr_t addr) {
  uint64_t size = 0;
  bool found = false;
  Status s = mod->elf->for_each_symbol(SHT_SYMTAB, [&](const elf::Symbol& sym) {
    if (sym.defined() && sym.sym.st_shndx != klp::SHN_LIVEPATCH && mod->bias + sym.sym.st_value == addr &&
        sym.sym.st_size) {
      size = sym.sym.st_size;
      found = true;
      return false;
    }
    return true;
  });
  if (!s) return s;
  if (!found) return error(ENOENT, "no symbol with a size at the replacement function");
  return size;
}

Result<std::string> param_get(const Param& p) {
  char buf[64];
  switch (p.type) {
    case UKLP_PARAM_int: snprintf(buf, sizeof buf, "%d", *static_cast<int*>(p.arg)); break;
    case UKLP_PARAM_uint: snprintf(buf, sizeof buf, "%u", *static_cast<unsigned*>(p.arg)); break;
    case UKLP_PARAM_long: snprintf(buf, sizeof buf, "%ld", *static_cast<long*>(p.arg)); break;
    case UKLP_PARAM_ulong: snprintf(buf, sizeof buf, "%lu", *static_cast<unsigned long*>(p.arg)); break;
    case UKLP_PARAM_short: snprintf(buf, sizeof buf, "%hd", *static_cast<short*>(p.arg)); break;
    case UKLP_PARAM_ushort: snprintf(buf, sizeof buf, "%hu", *static_cast<unsigned short*>(p.arg)); break;
    case UKLP_PARAM_bool: snprintf(buf, sizeof buf, "%c", *static_cast<bool*>(p.arg) ? 'Y' : 'N'); break;
    case UKLP_PARAM_charp: {
      const char* s = *static_cast<char**>(p.arg);
      return std::string(s ? s : "(null)");
    }
    default: return error(EINVAL, "parameter '" + p.name + "' has an unknown type");
  }
  return std::string(buf);
}

namespace {
template <typename T>
Status parse_integer(const Param& p, const std::string& v, T lo, T hi, bool is_signed) {
  errno = 0;
  char* end = nullptr;
  if (v.empty()) return error(EINVAL, "empty value for parameter '" + p.name + "'");
  // strto* skip leading white space; the kernel's kstrto* do not.
  if (isspace(static_cast<unsigned char>(v[0])))
    return error(EINVAL, "invalid value '" + v + "' for parameter '" + p.name + "'");
  if (is_signed) {
    long long x = strtoll(v.c_str(), &end, 0);
    if (errno || *end || x < (long long)lo || x > (long long)hi) return error(EINVAL, "invalid value '" + v + "' for parameter '" + p.name + "'");
    *static_cast<T*>(p.arg) = T(x);
  } else {
    if (v[0] == '-') return error(EINVAL, "invalid value '" + v + "' for parameter '" + p.name + "'");
    unsigned long long x = strtoull(v.c_str(), &end, 0);
    if (errno || *end || x > (unsigned long long)hi) return error(EINVAL, "invalid value '" + v + "' for parameter '" + p.name + "'");
    *static_cast<T*>(p.arg) = T(x);
  }
  return Status::ok();
}

}  // namespace

Result<bool> kstrtobool(const std::string& v) {
  if (v.empty()) return error(EINVAL, "empty boolean");
  switch (v[0]) {
    case 'y': case 'Y': case 't': case 'T': case '1': return true;
    case 'n': case 'N': case 'f': case 'F': case '0': return false;
    case 'o': case 'O':
      if (v.size() > 1 && (v[1] == 'n' || v[1] == 'N')) return true;
      if (v.size() > 1 && (v[1] == 'f' || v[1] == 'F')) return false;
      break;
    default: break;
  }
  return error(EINVAL, "invalid boolean '" + v + "'");
}

Status param_set(const Param& p, const std::string& v) {
  switch (p.type) {
    case UKLP_PARAM_int: return parse_integer<int>(p, v, INT_MIN, INT_MAX, true);
    case UKLP_PARAM_uint: return parse_integer<unsigned>(p, v, 0, UINT_MAX, false);
    case UKLP_PARAM_long: return parse_integer<long>(p, v, LONG_MIN, LONG_MAX, true);
    case UKLP_PARAM_ulong: return parse_integer<unsigned long>(p, v, 0, ULONG_MAX, false);
    case UKLP_PARAM_short: return parse_integer<short>(p, v, SHRT_MIN, SHRT_MAX, true);
    case UKLP_PARAM_ushort: return parse_integer<unsigned short>(p, v, 0, USHRT_MAX, false);
    case UKLP_PARAM_bool: {
      UKLP_ASSIGN_OR_RETURN(bool b, kstrtobool(v));
      *static_cast<bool*>(p.arg) = b;
      return Status::ok();
    }
    case UKLP_PARAM_charp: {
      // Like the kernel's param_set_charp, the old string is not freed if it
      // was the module's own initial value; ours are kept for the process's life.
      *static_cast<char**>(p.arg) = strdup(v.c_str());
      return Status::ok();
    }
    default: return error(EINVAL, "parameter '" + p.name + "' has an unknown type");
  }
}

}  // namespace uklp::rt
