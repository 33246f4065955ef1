// target_objects.h: the files a patch module is built against (the main
// program and libraries), and the occurrences of a symbol name in each.
//
// Symbols come from `.symtab`, else `.dynsym`, like the runtime's kallsyms
// (runtime/symbols.h). Occurrences are counted by the kernel's
// klp_find_object_symbol() rule, the one the runtime applies when it
// resolves a .klp.sym symbol: symbol-table index order, defined symbols of
// type FUNC, OBJECT, GNU_IFUNC, TLS or NOTYPE, exact name. Occurrence N
// (counted from 1) is what sympos N selects.
//
// Constraints: each target must carry a GNU build-id, which the converter
// records in .uklp.targets; the index is built once per target (one pass
// over its symbol table).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "elf_file.h"
#include "options.h"
#include "result.h"

namespace uklp::convert {

struct SymbolOccurrence {
  unsigned index = 0;     // in the target's symbol table
  uint64_t value = 0;     // link-time address
  unsigned char type = 0; // STT_*
  std::string_view file;  // the preceding STT_FILE symbol ("" if none)
};

class TargetObject {
 public:
  static Result<TargetObject> open(const TargetSpec& spec);

  const std::string& object() const { return object_; }
  const std::string& path() const { return path_; }
  const std::string& build_id() const { return build_id_; }
  const std::string& soname() const { return soname_; }
  const char* table_name() const { return table_name_; }
  // Every occurrence of `name`, in symbol-table order (empty if none).
  const std::vector<SymbolOccurrence>& occurrences(std::string_view name) const;

 private:
  Status index_symbols();

  std::string object_;
  std::string path_;
  std::string build_id_;
  std::string soname_;
  const char* table_name_ = ".symtab";
  std::unique_ptr<elf::ElfFile> elf_;
  std::unordered_map<std::string_view, std::vector<SymbolOccurrence>> by_name_;
};

// Opens every --target; fails on an unreadable file or a missing build-id.
Result<std::vector<TargetObject>> open_targets(const std::vector<TargetSpec>& specs);

// Fails unless every object of --require-targets was given with --target.
Status check_required_targets(const std::vector<std::string>& required,
                              const std::vector<TargetObject>& targets);

// Libraries whose object name is neither their DT_SONAME nor their file
// name: the runtime would never find them (runtime/symbols.h), so their
// klp relocations would never be applied. One message per such target.
std::vector<std::string> naming_warnings(const std::vector<TargetObject>& targets);

// The target called `object`, or nullptr.
const TargetObject* find_target(const std::vector<TargetObject>& targets, std::string_view object);

}  // namespace uklp::convert
