// patch_module.cc: see patch_module.h.
#include "patch_module.h"

#include <cstring>
#include <map>
#include <set>

#include <fmt/core.h>

#include "klp_names.h"

namespace uklp::cli {
namespace {

// struct uklp_param_desc on x86_64: name (8), type (4), perm (4), arg (8).
constexpr size_t kParamDescSize = 24;

std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The non-empty pieces of `text` between any of the `separators`.
std::vector<std::string_view> split_any(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(separators, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string_view section_text(const elf::ElfFile& elf, std::string_view name) {
  const elf::Section* s = elf.section(name);
  if (!s) return {};
  auto d = elf.section_data(*s);
  return d ? as_text(*d) : std::string_view();
}

// The NUL-terminated string at virtual address `vaddr`, if an allocated
// section holds all of it.
std::optional<std::string> string_at_vaddr(const elf::ElfFile& elf, uint64_t vaddr) {
  for (const auto& s : elf.sections()) {
    const auto& h = s.hdr;
    if (!(h.sh_flags & SHF_ALLOC) || h.sh_type == SHT_NOBITS || vaddr < h.sh_addr || vaddr - h.sh_addr >= h.sh_size)
      continue;
    auto d = elf.section_data(s);
    if (!d) return std::nullopt;
    std::string_view text = as_text(d->subspan(vaddr - h.sh_addr));
    size_t nul = text.find('\0');
    if (nul == std::string_view::npos) return std::nullopt;
    return std::string(text.substr(0, nul));
  }
  return std::nullopt;
}

// Address -> value the dynamic loader stores there, for the relocations
// that give a pointer its value: R_X86_64_RELATIVE (B + A) and
// R_X86_64_64 against a defined dynamic symbol (S + A), with B = 0.
std::map<uint64_t, uint64_t> pointer_relocations(const elf::ElfFile& elf) {
  std::map<uint64_t, uint64_t> out;
  for (const auto& s : elf.sections()) {
    if (s.hdr.sh_type != SHT_RELA || !(s.hdr.sh_flags & SHF_ALLOC)) continue;
    auto relas = elf.relocations(s);
    const elf::Section* symtab = elf.section_by_index(s.hdr.sh_link);
    if (!relas) continue;
    for (const auto& r : *relas) {
      uint32_t type = ELF64_R_TYPE(r.r_info);
      if (type == R_X86_64_RELATIVE) {
        out[r.r_offset] = static_cast<uint64_t>(r.r_addend);
      } else if (type == R_X86_64_64 && symtab) {
        auto sym = elf.symbol(*symtab, ELF64_R_SYM(r.r_info));
        if (sym && sym->defined()) out[r.r_offset] = sym->sym.st_value + static_cast<uint64_t>(r.r_addend);
      }
    }
  }
  return out;
}

// One struct uklp_param_desc, at virtual address `addr`.
ParamInfo read_param(const elf::ElfFile& elf, std::span<const uint8_t> entry, uint64_t addr,
                     const std::map<uint64_t, uint64_t>& relocs) {
  uint64_t name_ptr = 0;
  int32_t type = 0;
  uint32_t perm = 0;
  std::memcpy(&name_ptr, entry.data(), 8);
  std::memcpy(&type, entry.data() + 8, 4);
  std::memcpy(&perm, entry.data() + 12, 4);
  if (auto it = relocs.find(addr); it != relocs.end()) name_ptr = it->second;
  ParamInfo p;
  p.name = string_at_vaddr(elf, name_ptr).value_or(fmt::format("? (name at {:#x})", name_ptr));
  p.type = param_type_name(type);
  p.perm = perm;
  return p;
}

Result<std::vector<ParamInfo>> read_params(const elf::ElfFile& elf, const std::vector<ModinfoEntry>& modinfo) {
  std::vector<ParamInfo> out;
  const elf::Section* sec = elf.section("uklp_param");
  if (!sec || sec->hdr.sh_type == SHT_NOBITS) return out;
  UKLP_ASSIGN_OR_RETURN(auto data, elf.section_data(*sec));
  if (data.size() % kParamDescSize != 0)
    return error(ENOEXEC, fmt::format("'{}': section uklp_param has a size ({}) that is not a multiple of {}",
                                      elf.name(), data.size(), kParamDescSize));
  auto relocs = pointer_relocations(elf);
  for (size_t off = 0; off < data.size(); off += kParamDescSize) {
    ParamInfo p = read_param(elf, data.subspan(off, kParamDescSize), sec->hdr.sh_addr + off, relocs);
    p.description = param_description(modinfo, p.name);
    out.push_back(std::move(p));
  }
  return out;
}

KlpRelocation read_klp_relocation(const elf::ElfFile& elf, const elf::Section* symtab, const Elf64_Rela& r) {
  KlpRelocation k{r.r_offset, reloc_type_name(ELF64_R_TYPE(r.r_info)), {}, r.r_addend};
  auto sym = symtab ? elf.symbol(*symtab, ELF64_R_SYM(r.r_info)) : Result<elf::Symbol>(error(ENOEXEC, ""));
  k.symbol = sym ? std::string(sym->name) : fmt::format("? (symbol {})", ELF64_R_SYM(r.r_info));
  return k;
}

Result<KlpRelaSection> read_klp_rela(const elf::ElfFile& elf, const elf::Section& s) {
  KlpRelaSection out;
  out.name = std::string(s.name);
  if (auto parsed = klp::parse_rela_section_name(s.name); parsed) {
    out.object = parsed->object;
    out.section = "." + parsed->section;
  } else {
    out.problem = parsed.status().message();
  }
  if (s.hdr.sh_type != SHT_RELA) {
    out.problem = "not a RELA section";
    return out;
  }
  UKLP_ASSIGN_OR_RETURN(auto relas, elf.relocations(s));
  const elf::Section* symtab = elf.section_by_index(s.hdr.sh_link);
  for (const auto& r : relas) out.relocations.push_back(read_klp_relocation(elf, symtab, r));
  return out;
}

Result<std::vector<KlpRelaSection>> read_klp_relas(const elf::ElfFile& elf) {
  std::vector<KlpRelaSection> out;
  for (const auto& s : elf.sections()) {
    if (!s.name.starts_with(klp::kRelaSectionPrefix)) continue;
    UKLP_ASSIGN_OR_RETURN(KlpRelaSection k, read_klp_rela(elf, s));
    out.push_back(std::move(k));
  }
  return out;
}

KlpSymbol describe_klp_sym(std::string_view name) {
  KlpSymbol k;
  k.name = std::string(name);
  if (auto parsed = klp::parse_sym_name(name); parsed) {
    k.object = parsed->object;
    k.symbol = parsed->name;
    k.sympos = parsed->sympos;
  } else {
    k.problem = parsed.status().message();
  }
  return k;
}

// The .klp.sym.* symbols of .symtab and .dynsym, once each, in table order.
Result<std::vector<KlpSymbol>> read_klp_syms(const elf::ElfFile& elf) {
  std::vector<KlpSymbol> out;
  std::set<std::string, std::less<>> seen;
  for (unsigned table : {SHT_SYMTAB, SHT_DYNSYM}) {
    UKLP_TRY(elf.for_each_symbol(table, [&](const elf::Symbol& s) {
      if (s.name.starts_with(klp::kSymPrefix) && seen.insert(std::string(s.name)).second)
        out.push_back(describe_klp_sym(s.name));
      return true;
    }));
  }
  return out;
}

}  // namespace

Status check_shared_object(const elf::ElfFile& elf) {
  if (elf.header().e_type != ET_DYN)
    return error(ENOEXEC, "'" + elf.name() + "' is not an ELF shared object (build it with -shared)");
  return Status::ok();
}

Result<PatchModuleInfo> read_patch_module(const elf::ElfFile& elf) {
  PatchModuleInfo info;
  info.file = elf.name();
  info.build_id = elf.build_id();
  info.modinfo = parse_modinfo(section_text(elf, ".modinfo"));
  for (const auto& e : info.modinfo)
    if (e.tag == "livepatch" && e.value == "Y") info.livepatch = true;
  UKLP_ASSIGN_OR_RETURN(info.params, read_params(elf, info.modinfo));
  info.targets = parse_targets(section_text(elf, klp::kTargetsSection));
  info.sympos = parse_sympos(section_text(elf, klp::kKlpSymsSection));
  UKLP_ASSIGN_OR_RETURN(info.klp_relas, read_klp_relas(elf));
  UKLP_ASSIGN_OR_RETURN(info.klp_syms, read_klp_syms(elf));
  return info;
}

std::vector<ModinfoEntry> parse_modinfo(std::string_view section) {
  std::vector<ModinfoEntry> out;
  for (std::string_view s : split_any(section, std::string_view("\0", 1))) {
    size_t eq = s.find('=');
    if (eq == std::string_view::npos) out.push_back({std::string(s), ""});
    else out.push_back({std::string(s.substr(0, eq)), std::string(s.substr(eq + 1))});
  }
  return out;
}

std::vector<TargetEntry> parse_targets(std::string_view section) {
  std::vector<TargetEntry> out;
  for (std::string_view line : split_any(section, std::string_view("\n\0", 2))) {
    std::vector<std::string_view> f = split_any(line, "\t ");
    if (f.empty()) continue;  // blanks only, like an empty line (found by fuzz/fuzz_metadata)
    out.push_back({std::string(f[0]), f.size() > 1 ? std::string(f[1]) : std::string()});
  }
  return out;
}

std::vector<SymposEntry> parse_sympos(std::string_view section) {
  std::vector<SymposEntry> out;
  for (std::string_view s : split_any(section, std::string_view("\0", 1))) {
    std::vector<std::string_view> f = split_any(s, "\t");
    f.resize(4);
    out.push_back({std::string(f[0]), std::string(f[1]), std::string(f[2]), std::string(f[3])});
  }
  return out;
}

std::string param_type_name(int type) {
  static constexpr const char* kNames[] = {"int", "uint", "long", "ulong", "short", "ushort", "bool", "charp"};
  if (type >= 0 && static_cast<size_t>(type) < std::size(kNames)) return kNames[type];
  return fmt::format("unknown type {}", type);
}

std::string reloc_type_name(uint32_t type) {
  static const std::map<uint32_t, const char*> kNames = {
      {R_X86_64_NONE, "R_X86_64_NONE"},         {R_X86_64_64, "R_X86_64_64"},
      {R_X86_64_PC32, "R_X86_64_PC32"},         {R_X86_64_GOT32, "R_X86_64_GOT32"},
      {R_X86_64_PLT32, "R_X86_64_PLT32"},       {R_X86_64_GLOB_DAT, "R_X86_64_GLOB_DAT"},
      {R_X86_64_JUMP_SLOT, "R_X86_64_JUMP_SLOT"}, {R_X86_64_RELATIVE, "R_X86_64_RELATIVE"},
      {R_X86_64_GOTPCREL, "R_X86_64_GOTPCREL"}, {R_X86_64_32, "R_X86_64_32"},
      {R_X86_64_32S, "R_X86_64_32S"},           {R_X86_64_16, "R_X86_64_16"},
      {R_X86_64_PC16, "R_X86_64_PC16"},         {R_X86_64_8, "R_X86_64_8"},
      {R_X86_64_PC8, "R_X86_64_PC8"},           {R_X86_64_DTPMOD64, "R_X86_64_DTPMOD64"},
      {R_X86_64_DTPOFF64, "R_X86_64_DTPOFF64"}, {R_X86_64_TPOFF64, "R_X86_64_TPOFF64"},
      {R_X86_64_TLSGD, "R_X86_64_TLSGD"},       {R_X86_64_TLSLD, "R_X86_64_TLSLD"},
      {R_X86_64_DTPOFF32, "R_X86_64_DTPOFF32"}, {R_X86_64_GOTTPOFF, "R_X86_64_GOTTPOFF"},
      {R_X86_64_TPOFF32, "R_X86_64_TPOFF32"},   {R_X86_64_PC64, "R_X86_64_PC64"},
      {R_X86_64_GOTOFF64, "R_X86_64_GOTOFF64"}, {R_X86_64_GOTPC32, "R_X86_64_GOTPC32"},
      {R_X86_64_GOTPCRELX, "R_X86_64_GOTPCRELX"}, {R_X86_64_REX_GOTPCRELX, "R_X86_64_REX_GOTPCRELX"},
  };
  auto it = kNames.find(type);
  return it != kNames.end() ? it->second : fmt::format("R_X86_64_{}", type);
}

std::string param_description(const std::vector<ModinfoEntry>& modinfo, std::string_view name) {
  for (const auto& e : modinfo) {
    if (e.tag != "parm") continue;
    size_t colon = e.value.find(':');
    if (colon != std::string::npos && std::string_view(e.value).substr(0, colon) == name)
      return e.value.substr(colon + 1);
  }
  return {};
}

}  // namespace uklp::cli
