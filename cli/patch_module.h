// patch_module.h: what can be known about a patch module without loading
// it (`uklp info`, and the early checks of `uklp load`): what `modinfo`
// and `readelf` would show.
//
// Sources, all read through the bounds-checked lib/elf_file.h:
//   .modinfo        NUL-separated "tag=value" strings (MODULE_INFO & co.)
//   uklp_param      struct uklp_param_desc[] (include/uklp/livepatch.h); the
//                   name pointers are resolved through their
//                   R_X86_64_RELATIVE entries in .rela.dyn (or the stored
//                   value, for DT_RELR-packed or prelinked files)
//   .uklp.targets   "<object>\t<build-id>" lines (lib/klp_names.h)
//   .uklp.klp_syms  KLP_SYMPOS() aliases
//   .klp.rela.*     livepatch relocations, symbols .klp.sym.* (lib/klp_names.h)
// Which objects and functions the patch changes is decided by its init
// function (the klp_patch it passes to klp_enable_patch); that needs the
// target process, so it is not here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "elf_file.h"
#include "result.h"

namespace uklp::cli {

struct ModinfoEntry {
  std::string tag, value;
};

struct ParamInfo {
  std::string name;
  std::string type;         // "int", "charp", ... (enum uklp_param_type)
  unsigned perm = 0;        // 0, 0444, 0644
  std::string description;  // from "parm=name:description"
};

struct TargetEntry {
  std::string object;    // "main", "libdemo.so.1"
  std::string build_id;  // hex
};

struct SymposEntry {
  std::string alias, object, symbol, sympos;  // KLP_SYMPOS(alias, object, sym, pos)
};

struct KlpRelocation {
  uint64_t offset = 0;
  std::string type;    // "R_X86_64_PC32"
  std::string symbol;  // ".klp.sym.main.helper,2"
  int64_t addend = 0;
};

struct KlpRelaSection {
  std::string name;     // ".klp.rela.main.text.answer"
  std::string object;   // parsed (klp_names.h); empty when malformed
  std::string section;  // the section it applies to, ".text.answer"
  std::string problem;  // why the name does not parse, if it does not
  std::vector<KlpRelocation> relocations;
};

struct KlpSymbol {
  std::string name;     // ".klp.sym.main.helper,2"
  std::string object, symbol;
  unsigned long sympos = 0;
  std::string problem;  // why the name does not parse, if it does not
};

struct PatchModuleInfo {
  std::string file;
  std::string patch_name;
  std::string build_id;
  bool livepatch = false;  // .modinfo has livepatch=Y
  std::vector<ModinfoEntry> modinfo;
  std::vector<ParamInfo> params;
  std::vector<TargetEntry> targets;
  std::vector<SymposEntry> sympos;
  std::vector<KlpRelaSection> klp_relas;
  std::vector<KlpSymbol> klp_syms;
};

// ENOEXEC "not an ELF shared object" unless `elf` is an ET_DYN file.
Status check_shared_object(const elf::ElfFile& elf);
// Everything above; `patch_name` is left for the caller.
Result<PatchModuleInfo> read_patch_module(const elf::ElfFile& elf);

// Pure parsers, exposed for tests.
std::vector<ModinfoEntry> parse_modinfo(std::string_view section);
std::vector<TargetEntry> parse_targets(std::string_view section);
std::vector<SymposEntry> parse_sympos(std::string_view section);
std::string param_type_name(int type);
std::string reloc_type_name(uint32_t type);
// The description of parameter `name` from "parm=name:description" entries.
std::string param_description(const std::vector<ModinfoEntry>& modinfo, std::string_view name);

}  // namespace uklp::cli
