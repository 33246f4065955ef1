// provided_symbols.cc: see provided_symbols.h.
#include "provided_symbols.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace uklp::convert {
namespace {

namespace fs = std::filesystem;

// The C API of include/uklp/livepatch.h, exported by libuklp.so.
constexpr std::string_view kRuntimeApi[] = {
    "klp_enable_patch",        "klp_shadow_get",     "klp_shadow_alloc",
    "klp_shadow_get_or_alloc", "klp_shadow_free",    "klp_shadow_free_all",
    "klp_get_state",           "klp_get_prev_state", "uklp_printk",
};

constexpr std::string_view kSystemDirs[] = {
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
    "/lib", "/usr/lib", "/usr/local/lib",
};

struct DynamicInfo {
  std::vector<std::string> needed;
  std::vector<std::string> search_dirs;  // DT_RPATH and DT_RUNPATH entries
};

void append_path_list(std::string_view list, const std::string& origin, std::vector<std::string>& out) {
  while (!list.empty()) {
    size_t colon = list.find(':');
    std::string dir(list.substr(0, colon));
    for (size_t p; (p = dir.find("$ORIGIN")) != std::string::npos;) dir.replace(p, 7, origin);
    for (size_t p; (p = dir.find("${ORIGIN}")) != std::string::npos;) dir.replace(p, 9, origin);
    if (!dir.empty()) out.push_back(std::move(dir));
    if (colon == std::string_view::npos) break;
    list.remove_prefix(colon + 1);
  }
}

// DT_NEEDED, DT_RPATH and DT_RUNPATH of the patch module.
Result<DynamicInfo> read_dynamic(const elf::ElfFile& elf, const std::string& origin) {
  DynamicInfo info;
  for (const auto& s : elf.sections()) {
    if (s.hdr.sh_type != SHT_DYNAMIC) continue;
    auto data = elf.section_data(s);
    if (!data) return data.status();
    for (size_t off = 0; off + sizeof(Elf64_Dyn) <= data->size(); off += sizeof(Elf64_Dyn)) {
      Elf64_Dyn dyn;
      std::memcpy(&dyn, data->data() + off, sizeof dyn);
      if (dyn.d_tag == DT_NULL) break;
      if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH) continue;
      auto str = elf.string_at(s.hdr.sh_link, dyn.d_un.d_val);
      if (!str) return str.status();
      if (dyn.d_tag == DT_NEEDED) info.needed.emplace_back(*str);
      else append_path_list(*str, origin, info.search_dirs);
    }
  }
  return info;
}

bool names_target(const TargetObject& t, const std::string& needed) {
  return t.object() == needed || t.soname() == needed || fs::path(t.path()).filename() == needed;
}

// The first readable x86-64 ELF file called `needed` in `dirs`.
std::unique_ptr<elf::ElfFile> open_in_dirs(const std::string& needed, const std::vector<std::string>& dirs) {
  for (const auto& dir : dirs) {
    std::string path = dir + "/" + needed;
    if (access(path.c_str(), R_OK) != 0) continue;
    auto elf = elf::ElfFile::open_path(path);
    if (elf) return std::move(*elf);
  }
  return nullptr;
}

// A DT_NEEDED entry: a target of that name, a path, or a search.
std::unique_ptr<elf::ElfFile> open_needed(const std::string& needed, const std::vector<TargetObject>& targets,
                                          const std::vector<std::string>& dirs) {
  for (const auto& t : targets) {
    if (!names_target(t, needed)) continue;
    auto elf = elf::ElfFile::open_path(t.path());
    if (elf) return std::move(*elf);
  }
  if (needed.find('/') == std::string::npos) return open_in_dirs(needed, dirs);
  auto elf = elf::ElfFile::open_path(needed);
  return elf ? std::move(*elf) : nullptr;
}

void add_exports(const elf::ElfFile& lib, const std::string& label, ProvidedSymbols& out) {
  (void)lib.for_each_symbol(SHT_DYNSYM, [&](const elf::Symbol& s) {
    unsigned char b = s.bind();
    if (s.defined() && (b == STB_GLOBAL || b == STB_WEAK || b == STB_GNU_UNIQUE)) out.add(s.name, label);
    return true;
  });
}

// --libuklp, else libuklp.so in ../lib or ../<libdir> next to this program.
std::string runtime_path(const Options& options) {
  if (!options.libuklp.empty()) return options.libuklp;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (const char* libdir : {"lib", UKLP_INSTALL_LIBDIR}) {
    fs::path candidate = self.parent_path().parent_path() / libdir / "libuklp.so";
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  return {};
}

Status add_runtime(const Options& options, ProvidedSymbols& out) {
  for (auto name : kRuntimeApi) out.add(name, "libuklp.so");
  std::string path = runtime_path(options);
  if (path.empty()) return Status::ok();
  auto lib = elf::ElfFile::open_path(path);
  if (!lib) return error(lib.status().code(), "--libuklp: " + lib.status().describe());
  add_exports(**lib, "libuklp.so", out);
  return Status::ok();
}

// DT_RPATH/DT_RUNPATH, the runtime's directory, then the system's.
std::vector<std::string> search_dirs(const DynamicInfo& info, const Options& options) {
  std::vector<std::string> dirs = info.search_dirs;
  std::string runtime = runtime_path(options);
  if (!runtime.empty()) dirs.push_back(fs::path(runtime).parent_path().string());
  dirs.insert(dirs.end(), std::begin(kSystemDirs), std::end(kSystemDirs));
  return dirs;
}

}  // namespace

const std::string* ProvidedSymbols::provider(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &it->second;
}

void ProvidedSymbols::add(std::string_view name, const std::string& library) {
  by_name_.emplace(std::string(name), library);
}

Result<ProvidedSymbols> collect_provided_symbols(const elf::ElfFile& patch, const Options& options,
                                                 const std::vector<TargetObject>& targets) {
  ProvidedSymbols out;
  UKLP_TRY(add_runtime(options, out));
  std::string origin = fs::absolute(fs::path(options.input)).parent_path().string();
  UKLP_ASSIGN_OR_RETURN(DynamicInfo info, read_dynamic(patch, origin));
  std::vector<std::string> dirs = search_dirs(info, options);
  for (const auto& needed : info.needed) {
    auto lib = open_needed(needed, targets, dirs);
    if (lib) add_exports(*lib, needed, out);
    else out.warnings.push_back("cannot find '" + needed + "' (DT_NEEDED of " + options.input +
                                "); its exports are not known");
  }
  return out;
}

}  // namespace uklp::convert
