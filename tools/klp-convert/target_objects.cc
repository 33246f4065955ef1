// target_objects.cc: see target_objects.h.
#include "target_objects.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>

namespace uklp::convert {
namespace {

// The kernel counts what kallsyms lists; section and file symbols are not
// among them (runtime/symbols.h applies the same filter).
bool counted_type(unsigned char type) {
  return type == STT_FUNC || type == STT_OBJECT || type == STT_GNU_IFUNC || type == STT_TLS ||
         type == STT_NOTYPE;
}

}  // namespace

Result<TargetObject> TargetObject::open(const TargetSpec& spec) {
  TargetObject t;
  t.object_ = spec.object;
  t.path_ = spec.path;
  auto elf = elf::ElfFile::open_path(spec.path);
  if (!elf) return error(elf.status().code(), "target '" + spec.object + "': " + elf.status().describe());
  t.elf_ = std::move(*elf);
  t.build_id_ = t.elf_->build_id();
  if (t.build_id_.empty())
    return error(EINVAL, "target '" + spec.object + "' (" + spec.path +
                             ") has no GNU build-id; link it with -Wl,--build-id");
  t.soname_ = t.elf_->soname();
  UKLP_TRY(t.index_symbols());
  return t;
}

Status TargetObject::index_symbols() {
  unsigned table = elf_->has_symtab() ? SHT_SYMTAB : SHT_DYNSYM;
  table_name_ = table == SHT_SYMTAB ? ".symtab" : ".dynsym";
  std::string_view file;
  return elf_->for_each_symbol(table, [&](const elf::Symbol& s) {
    if (s.type() == STT_FILE) file = s.name;
    if (s.defined() && counted_type(s.type()) && !s.name.empty())
      by_name_[s.name].push_back({s.index, s.sym.st_value, s.type(), file});
    return true;
  });
}

const std::vector<SymbolOccurrence>& TargetObject::occurrences(std::string_view name) const {
  static const std::vector<SymbolOccurrence> kNone;
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNone : it->second;
}

Result<std::vector<TargetObject>> open_targets(const std::vector<TargetSpec>& specs) {
  std::vector<TargetObject> out;
  for (const auto& spec : specs) {
    auto t = TargetObject::open(spec);
    if (!t) return t.status();
    out.push_back(std::move(*t));
  }
  // The main program first: it is searched first and listed first.
  std::stable_partition(out.begin(), out.end(), [](const TargetObject& t) { return t.object() == "main"; });
  return out;
}

Status check_required_targets(const std::vector<std::string>& required,
                              const std::vector<TargetObject>& targets) {
  for (const auto& object : required)
    if (!find_target(targets, object))
      return error(EINVAL, "object '" + object + "' is required (--require-targets) but no --target " +
                               object + "=PATH was given");
  return Status::ok();
}

std::vector<std::string> naming_warnings(const std::vector<TargetObject>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) {
    std::string file = std::filesystem::path(t.path()).filename().string();
    if (t.object() == "main" || t.object() == t.soname() || t.object() == file) continue;
    out.push_back("target '" + t.object() + "' (" + t.path() + "): the runtime finds a library by its DT_SONAME ('" +
                  t.soname() + "') or its file name ('" + file + "'), and '" + t.object() + "' is neither");
  }
  return out;
}

const TargetObject* find_target(const std::vector<TargetObject>& targets, std::string_view object) {
  for (const auto& t : targets)
    if (t.object() == object) return &t;
  return nullptr;
}

}  // namespace uklp::convert
