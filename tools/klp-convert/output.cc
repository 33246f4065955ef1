// output.cc: see output.h.
#include "output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "klp_names.h"

namespace uklp::convert {
namespace {

// The largest alignment of a section the tool appends: a page.
constexpr uint64_t kMaxAlign = 4096;

template <typename T>
void append_pod(std::vector<uint8_t>& out, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

// Appends "s\0" to a string table; returns its offset.
uint32_t add_string(std::vector<uint8_t>& table, std::string_view s) {
  auto off = static_cast<uint32_t>(table.size());
  table.insert(table.end(), s.begin(), s.end());
  table.push_back(0);
  return off;
}

struct OutSection {
  std::string name;
  Elf64_Shdr hdr{};
  std::optional<std::vector<uint8_t>> data;  // set: contents appended to the file
};

class OutputBuilder {
 public:
  OutputBuilder(const elf::ElfFile& patch, const Plan& plan, const std::vector<TargetObject>& targets)
      : patch_(patch), plan_(plan), targets_(targets) {}
  Result<std::vector<uint8_t>> build();

 private:
  Status copy_input();
  Status neutralize_dynamic_relocations();
  Status build_symbol_table();
  Status open_symbol_table();
  void create_symbol_table();
  void append_klp_symbols();
  void build_klp_rela_sections();
  void build_targets_section();
  Status lay_out();
  unsigned add_section(std::string name, const Elf64_Shdr& hdr, std::vector<uint8_t> data);
  size_t object_order(const std::string& object) const;

  const elf::ElfFile& patch_;
  const Plan& plan_;
  const std::vector<TargetObject>& targets_;
  std::vector<uint8_t> out_;
  std::vector<OutSection> sections_;
  unsigned symtab_ = 0;
  unsigned strtab_ = 0;
  std::vector<uint32_t> klp_symbol_index_;  // Plan::symbols[i] -> .symtab index
};

Result<std::vector<uint8_t>> OutputBuilder::build() {
  UKLP_TRY(copy_input());                      // IN.so byte for byte, its section headers
  UKLP_TRY(neutralize_dynamic_relocations());  // GLOB_DAT/64 against klp symbols -> NONE
  UKLP_TRY(build_symbol_table());              // .symtab/.strtab + .klp.sym.* symbols
  build_klp_rela_sections();                   // .klp.rela.<obj>.<sec>
  build_targets_section();                     // .uklp.targets
  UKLP_TRY(lay_out());                         // append, new .shstrtab and header table
  return std::move(out_);
}

Status OutputBuilder::copy_input() {
  auto bytes = patch_.bytes();
  out_.assign(bytes.begin(), bytes.end());
  for (const auto& s : patch_.sections()) sections_.push_back({std::string(s.name), s.hdr, std::nullopt});
  return Status::ok();
}

Status OutputBuilder::neutralize_dynamic_relocations() {
  for (const auto& r : plan_.relocs) {
    const auto& h = sections_[r.rela_section].hdr;
    uint64_t off = h.sh_offset + r.entry * sizeof(Elf64_Rela);
    if (off + sizeof(Elf64_Rela) > out_.size()) return error(ENOEXEC, "relocation entry outside the file");
    Elf64_Rela none{r.original.r_offset, ELF64_R_INFO(0, R_X86_64_NONE), 0};
    std::memcpy(out_.data() + off, &none, sizeof none);
  }
  return Status::ok();
}

unsigned OutputBuilder::add_section(std::string name, const Elf64_Shdr& hdr, std::vector<uint8_t> data) {
  sections_.push_back({std::move(name), hdr, std::move(data)});
  return static_cast<unsigned>(sections_.size() - 1);
}

Status OutputBuilder::build_symbol_table() {
  bool has_symtab = false;
  for (const auto& s : patch_.sections()) has_symtab |= s.hdr.sh_type == SHT_SYMTAB;
  if (has_symtab) UKLP_TRY(open_symbol_table());
  else create_symbol_table();
  append_klp_symbols();
  return Status::ok();
}

// Copies the existing .symtab and its string table; both get new contents.
// A string table shared with the section names gets a copy of its own.
Status OutputBuilder::open_symbol_table() {
  for (const auto& s : patch_.sections())
    if (s.hdr.sh_type == SHT_SYMTAB) {
      symtab_ = s.index;
      break;
    }
  const elf::Section& symtab = patch_.sections()[symtab_];
  if (symtab.hdr.sh_entsize != sizeof(Elf64_Sym)) return error(ENOEXEC, "bad .symtab entry size");
  UKLP_ASSIGN_OR_RETURN(auto sym_bytes, patch_.section_data(symtab));
  sections_[symtab_].data.emplace(sym_bytes.begin(), sym_bytes.end());
  const elf::Section* strtab = patch_.section_by_index(symtab.hdr.sh_link);
  if (!strtab || strtab->hdr.sh_type != SHT_STRTAB) return error(ENOEXEC, "bad .symtab string table");
  UKLP_ASSIGN_OR_RETURN(auto str_bytes, patch_.section_data(*strtab));
  std::vector<uint8_t> strings(str_bytes.begin(), str_bytes.end());
  if (strtab->index == patch_.header().e_shstrndx) {
    Elf64_Shdr h = strtab->hdr;
    h.sh_flags = 0;
    strtab_ = add_section(".strtab", h, std::move(strings));
    sections_[symtab_].hdr.sh_link = strtab_;
  } else {
    strtab_ = strtab->index;
    sections_[strtab_].data = std::move(strings);
  }
  return Status::ok();
}

// A stripped module: a .symtab with only the null symbol.
void OutputBuilder::create_symbol_table() {
  Elf64_Shdr sym{};
  sym.sh_type = SHT_SYMTAB;
  sym.sh_entsize = sizeof(Elf64_Sym);
  sym.sh_addralign = 8;
  sym.sh_info = 1;  // index of the first non-local symbol
  symtab_ = add_section(".symtab", sym, std::vector<uint8_t>(sizeof(Elf64_Sym), 0));
  Elf64_Shdr str{};
  str.sh_type = SHT_STRTAB;
  str.sh_addralign = 1;
  strtab_ = add_section(".strtab", str, std::vector<uint8_t>(1, 0));
  sections_[symtab_].hdr.sh_link = strtab_;
}

// Global symbols go last, so the table's sh_info (first non-local) holds.
void OutputBuilder::append_klp_symbols() {
  auto& symbols = *sections_[symtab_].data;
  auto& strings = *sections_[strtab_].data;
  for (const auto& k : plan_.symbols) {
    Elf64_Sym s{};
    s.st_name = add_string(strings, klp::sym_name(k.object, k.name, k.sympos));
    s.st_info = ELF64_ST_INFO(STB_GLOBAL, k.type);
    s.st_other = STV_DEFAULT;
    s.st_shndx = klp::SHN_LIVEPATCH;
    klp_symbol_index_.push_back(static_cast<uint32_t>(symbols.size() / sizeof(Elf64_Sym)));
    append_pod(symbols, s);
  }
}

size_t OutputBuilder::object_order(const std::string& object) const {
  for (size_t i = 0; i < targets_.size(); ++i)
    if (targets_[i].object() == object) return i;
  return targets_.size();
}

// One section per (object, target section), objects in target order (main
// first), entries in the order of the dynamic relocations they replace.
void OutputBuilder::build_klp_rela_sections() {
  std::map<std::pair<size_t, unsigned>, std::vector<uint8_t>> groups;
  for (const auto& r : plan_.relocs) {
    const KlpSymbol& k = plan_.symbols[r.symbol];
    bool glob_dat = ELF64_R_TYPE(r.original.r_info) == R_X86_64_GLOB_DAT;
    Elf64_Rela e{r.original.r_offset, ELF64_R_INFO(klp_symbol_index_[r.symbol], R_X86_64_64),
                 glob_dat ? 0 : r.original.r_addend};
    append_pod(groups[{object_order(k.object), r.target_section}], e);
  }
  for (auto& [key, entries] : groups) {
    Elf64_Shdr h{};
    h.sh_type = SHT_RELA;
    h.sh_flags = klp::SHF_RELA_LIVEPATCH | SHF_INFO_LINK;
    h.sh_entsize = sizeof(Elf64_Rela);
    h.sh_addralign = 8;
    h.sh_link = symtab_;
    h.sh_info = key.second;
    std::string name = klp::rela_section_name(targets_[key.first].object(), sections_[key.second].name);
    add_section(std::move(name), h, std::move(entries));
  }
}

void OutputBuilder::build_targets_section() {
  std::string text = targets_text(targets_);
  Elf64_Shdr h{};
  h.sh_type = SHT_PROGBITS;
  h.sh_addralign = 1;
  add_section(std::string(klp::kTargetsSection), h, std::vector<uint8_t>(text.begin(), text.end()));
}

// Appends every new contents (aligned), then the section names and the
// header table, and points the ELF header at them.
Status OutputBuilder::lay_out() {
  unsigned shstrndx = patch_.header().e_shstrndx;
  std::vector<uint8_t> names(1, 0);
  for (auto& s : sections_) s.hdr.sh_name = s.name.empty() ? 0 : add_string(names, s.name);
  sections_[shstrndx].data = std::move(names);
  if (sections_.size() >= SHN_LORESERVE) return error(E2BIG, "too many sections");
  for (auto& s : sections_) {
    if (!s.data) continue;
    // From IN.so for the sections rewritten there (.symtab, .strtab): an
    // absurd one (fuzz/fuzz_patch_module: 0x5c5c5c5c5c5c5c5c) would make
    // the padding exhaust memory or wrap.
    uint64_t align = s.hdr.sh_addralign > 1 ? s.hdr.sh_addralign : 1;
    if (!std::has_single_bit(align) || align > kMaxAlign)
      return error(ENOEXEC, "section '" + s.name + "' has a bad alignment (" + std::to_string(align) + ")");
    out_.resize((out_.size() + align - 1) / align * align, 0);
    s.hdr.sh_offset = out_.size();
    s.hdr.sh_size = s.data->size();
    out_.insert(out_.end(), s.data->begin(), s.data->end());
  }
  out_.resize((out_.size() + 7) / 8 * 8, 0);
  Elf64_Ehdr eh = patch_.header();
  eh.e_shoff = out_.size();
  eh.e_shnum = static_cast<Elf64_Half>(sections_.size());
  for (const auto& s : sections_) append_pod(out_, s.hdr);
  std::memcpy(out_.data(), &eh, sizeof eh);
  return Status::ok();
}

}  // namespace

Result<std::vector<uint8_t>> build_output(const elf::ElfFile& patch, const Plan& plan,
                                          const std::vector<TargetObject>& targets) {
  return OutputBuilder(patch, plan, targets).build();
}

std::string targets_text(const std::vector<TargetObject>& targets) {
  std::string text;
  for (const auto& t : targets) text += t.object() + "\t" + t.build_id() + "\n";
  return text;
}

}  // namespace uklp::convert
