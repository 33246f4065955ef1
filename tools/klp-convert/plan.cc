// plan.cc: see plan.h.
#include "plan.h"

#include <cerrno>
#include <cstdio>
#include <map>
#include <optional>
#include <tuple>

#include "klp_names.h"

namespace uklp::convert {
namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// "[1] 0x1150 (a.c), [2] 0x1170 (b.c)"
std::string list_occurrences(const std::vector<SymbolOccurrence>& occ) {
  std::string out;
  for (size_t i = 0; i < occ.size(); ++i) {
    if (i) out += ", ";
    out += "[" + std::to_string(i + 1) + "] " + hex(occ[i].value);
    if (!occ[i].file.empty()) out += " (" + std::string(occ[i].file) + ")";
  }
  return out;
}

// klp_find_object_symbol()'s verdict on one object (kernel-implementation-notes §2.4).
Result<const SymbolOccurrence*> select_occurrence(const TargetObject& t, const std::string& name,
                                                  unsigned long sympos) {
  const auto& occ = t.occurrences(name);
  std::string where = " in object " + quoted(t.object()) + " (" + t.path() + ", " + t.table_name() + ")";
  if (occ.empty()) return error(EINVAL, "symbol " + quoted(name) + " not found" + where);
  if (sympos == 0 && occ.size() > 1)
    return error(EINVAL, "unresolvable ambiguity for symbol " + quoted(name) + where + ": " +
                             list_occurrences(occ) + "; give its position (1.." + std::to_string(occ.size()) +
                             ") with KLP_SYMPOS");
  if (sympos > occ.size())
    return error(EINVAL, "symbol position " + std::to_string(sympos) + " for symbol " + quoted(name) + where +
                             " not found: it occurs " + std::to_string(occ.size()) + " time(s)");
  return &occ[sympos ? sympos - 1 : 0];
}

// The type of the .klp.sym symbol; indirect functions and TLS cannot be
// reached through an 8-byte address written by the runtime.
Result<unsigned char> klp_symbol_type(const SymbolOccurrence& o, const std::string& name,
                                      const std::string& object) {
  std::string what = "symbol " + quoted(name) + " of " + quoted(object);
  if (o.type == STT_GNU_IFUNC)
    return error(EINVAL, what + " is a GNU indirect function; a klp relocation would bind to its resolver");
  if (o.type == STT_TLS)
    return error(EINVAL, what + " is thread-local; klp relocations cannot address TLS");
  return o.type;
}

class Planner {
 public:
  Planner(const elf::ElfFile& patch, const Annotations& annotations, const ProvidedSymbols& provided,
          const std::vector<TargetObject>& targets)
      : patch_(patch), annotations_(annotations), provided_(provided), targets_(targets) {}

  Status check_annotations();
  Status scan_dynamic_relocations();
  Plan take() { return std::move(plan_); }

 private:
  Status scan_section(const elf::Section& rela, const elf::Section& dynsym);
  Status scan_entry(const elf::Section& rela, size_t entry, const Elf64_Rela& r, const elf::Symbol& sym);
  Result<std::optional<size_t>> classify(const elf::Symbol& sym);
  Result<KlpSymbol> resolve_annotated(const std::string& alias, const Annotation& a) const;
  Result<std::optional<KlpSymbol>> resolve_unannotated(const std::string& name, bool weak) const;
  size_t intern(KlpSymbol s);
  Result<unsigned> section_containing(uint64_t addr, const std::string& alias) const;

  const elf::ElfFile& patch_;
  const Annotations& annotations_;
  const ProvidedSymbols& provided_;
  const std::vector<TargetObject>& targets_;
  Plan plan_;
  std::map<unsigned, std::optional<size_t>> by_dynsym_index_;
  std::map<std::tuple<std::string, std::string, unsigned long>, size_t> interned_;
};

Status Planner::check_annotations() {
  for (const auto& [alias, a] : annotations_) {
    auto s = resolve_annotated(alias, a);
    if (!s) return s.status();
  }
  return Status::ok();
}

Result<KlpSymbol> Planner::resolve_annotated(const std::string& alias, const Annotation& a) const {
  const TargetObject* t = find_target(targets_, a.object);
  if (!t)
    return error(EINVAL, "KLP_SYMPOS(" + alias + ", \"" + a.object + "\", ...) names object " + quoted(a.object) +
                             ", which is not a --target");
  auto occ = select_occurrence(*t, a.name, a.sympos);
  if (!occ) return error(EINVAL, "KLP_SYMPOS(" + alias + "): " + occ.status().message());
  auto type = klp_symbol_type(**occ, a.name, a.object);
  if (!type) return type.status();
  return KlpSymbol{a.object, a.name, a.sympos, *type};
}

Result<std::optional<KlpSymbol>> Planner::resolve_unannotated(const std::string& name, bool weak) const {
  std::vector<const TargetObject*> found;
  for (const auto& t : targets_)
    if (!t.occurrences(name).empty()) found.push_back(&t);
  if (found.empty()) {
    if (weak) return std::optional<KlpSymbol>();
    return error(EINVAL, "undefined symbol " + quoted(name) + " is in no target and no library the patch needs");
  }
  if (found.size() == 1 && found[0]->occurrences(name).size() == 1) {
    auto type = klp_symbol_type(found[0]->occurrences(name)[0], name, found[0]->object());
    if (!type) return type.status();
    return std::optional<KlpSymbol>(KlpSymbol{found[0]->object(), name, 0, *type});
  }
  std::string candidates;
  for (const auto* t : found)
    candidates += (candidates.empty() ? "" : "; ") + t->object() + ": " + list_occurrences(t->occurrences(name));
  return error(EINVAL, "symbol " + quoted(name) + " is ambiguous (" + candidates +
                           "); choose one with KLP_SYMPOS(" + name + ", \"<object>\", \"" + name +
                           "\", <position>)");
}

size_t Planner::intern(KlpSymbol s) {
  auto key = std::make_tuple(s.object, s.name, s.sympos);
  auto it = interned_.find(key);
  if (it != interned_.end()) return it->second;
  plan_.symbols.push_back(std::move(s));
  interned_.emplace(std::move(key), plan_.symbols.size() - 1);
  return plan_.symbols.size() - 1;
}

// The klp symbol an undefined dynamic symbol stands for, or nullopt when
// ordinary dynamic linking resolves it. Cached per .dynsym index.
Result<std::optional<size_t>> Planner::classify(const elf::Symbol& sym) {
  auto cached = by_dynsym_index_.find(sym.index);
  if (cached != by_dynsym_index_.end()) return cached->second;
  std::string name(sym.name);
  std::optional<KlpSymbol> klp;
  if (auto a = annotations_.find(name); a != annotations_.end()) {
    UKLP_ASSIGN_OR_RETURN(klp, resolve_annotated(name, a->second));
  } else if (!provided_.provider(name)) {
    UKLP_ASSIGN_OR_RETURN(klp, resolve_unannotated(name, sym.bind() == STB_WEAK));
  }
  std::optional<size_t> index;
  if (klp) index = intern(std::move(*klp));
  by_dynsym_index_.emplace(sym.index, index);
  return index;
}

Result<unsigned> Planner::section_containing(uint64_t addr, const std::string& alias) const {
  for (const auto& s : patch_.sections()) {
    const auto& h = s.hdr;
    if (!(h.sh_flags & SHF_ALLOC) || h.sh_type == SHT_NOBITS || h.sh_type == SHT_NULL) continue;
    if (addr >= h.sh_addr && h.sh_size >= 8 && addr - h.sh_addr <= h.sh_size - 8) return s.index;
  }
  return error(EINVAL, "relocation against " + quoted(alias) + " at " + hex(addr) +
                           " is in no allocated section of the patch module");
}

Status Planner::scan_entry(const elf::Section& rela, size_t entry, const Elf64_Rela& r, const elf::Symbol& sym) {
  UKLP_ASSIGN_OR_RETURN(std::optional<size_t> klp, classify(sym));
  if (!klp) return Status::ok();
  std::string alias(sym.name);
  unsigned type = ELF64_R_TYPE(r.r_info);
  if (type == R_X86_64_JUMP_SLOT)
    return error(EINVAL, "call to " + quoted(alias) + " goes through the PLT (R_X86_64_JUMP_SLOT in " +
                             std::string(rela.name) + "); compile patch modules with -fno-plt");
  if (type != R_X86_64_GLOB_DAT && type != R_X86_64_64)
    return error(EINVAL, reloc_type_name(type) + " against " + quoted(alias) + " at " + hex(r.r_offset) +
                             " cannot become a klp relocation (only R_X86_64_GLOB_DAT and R_X86_64_64 can; "
                             "compile with -fPIC -fno-plt and do not use the target's thread-local variables)");
  UKLP_ASSIGN_OR_RETURN(unsigned target_section, section_containing(r.r_offset, alias));
  plan_.relocs.push_back({rela.index, entry, r, alias, *klp, target_section});
  return Status::ok();
}

Status Planner::scan_section(const elf::Section& rela, const elf::Section& dynsym) {
  UKLP_ASSIGN_OR_RETURN(auto entries, patch_.relocations(rela));
  for (size_t i = 0; i < entries.size(); ++i) {
    unsigned sym_index = ELF64_R_SYM(entries[i].r_info);
    if (sym_index == 0) continue;
    UKLP_ASSIGN_OR_RETURN(elf::Symbol sym, patch_.symbol(dynsym, sym_index));
    if (sym.defined()) continue;
    UKLP_TRY(scan_entry(rela, i, entries[i], sym));
  }
  return Status::ok();
}

Status Planner::scan_dynamic_relocations() {
  for (const auto& dynsym : patch_.sections()) {
    if (dynsym.hdr.sh_type != SHT_DYNSYM) continue;
    for (const auto& s : patch_.sections())
      if (s.hdr.sh_type == SHT_RELA && s.hdr.sh_link == dynsym.index) UKLP_TRY(scan_section(s, dynsym));
  }
  return Status::ok();
}

}  // namespace

Result<Plan> plan_klp_relocations(const elf::ElfFile& patch, const Annotations& annotations,
                                  const ProvidedSymbols& provided, const std::vector<TargetObject>& targets) {
  Planner planner(patch, annotations, provided, targets);
  UKLP_TRY(planner.check_annotations());
  UKLP_TRY(planner.scan_dynamic_relocations());
  return planner.take();
}

std::string reloc_type_name(unsigned type) {
  static const char* const kNames[] = {
      "R_X86_64_NONE",       "R_X86_64_64",          "R_X86_64_PC32",      "R_X86_64_GOT32",
      "R_X86_64_PLT32",      "R_X86_64_COPY",        "R_X86_64_GLOB_DAT",  "R_X86_64_JUMP_SLOT",
      "R_X86_64_RELATIVE",   "R_X86_64_GOTPCREL",    "R_X86_64_32",        "R_X86_64_32S",
      "R_X86_64_16",         "R_X86_64_PC16",        "R_X86_64_8",         "R_X86_64_PC8",
      "R_X86_64_DTPMOD64",   "R_X86_64_DTPOFF64",    "R_X86_64_TPOFF64",   "R_X86_64_TLSGD",
      "R_X86_64_TLSLD",      "R_X86_64_DTPOFF32",    "R_X86_64_GOTTPOFF",  "R_X86_64_TPOFF32",
      "R_X86_64_PC64",       "R_X86_64_GOTOFF64",    "R_X86_64_GOTPC32",   "R_X86_64_GOT64",
      "R_X86_64_GOTPCREL64", "R_X86_64_GOTPC64",     "R_X86_64_GOTPLT64",  "R_X86_64_PLTOFF64",
      "R_X86_64_SIZE32",     "R_X86_64_SIZE64",      "R_X86_64_GOTPC32_TLSDESC", "R_X86_64_TLSDESC_CALL",
      "R_X86_64_TLSDESC",    "R_X86_64_IRELATIVE",   "R_X86_64_RELATIVE64", "R_X86_64_BND_PC32",
      "R_X86_64_BND_PLT32",  "R_X86_64_GOTPCRELX",   "R_X86_64_REX_GOTPCRELX",
  };
  if (type < std::size(kNames)) return kNames[type];
  return "relocation type " + std::to_string(type);
}

}  // namespace uklp::convert
