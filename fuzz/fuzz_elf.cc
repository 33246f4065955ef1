// fuzz_elf.cc: lib/elf_file.h on arbitrary bytes, walked the way the
// runtime walks a patch module and the objects of a process.
//
// Every accessor of ElfFile is called on every section, symbol, note and
// relocation: section_data, both symbol tables through for_each_symbol and
// symbol() (every index, including ones past the end), string_at, the
// relocations of every SHT_RELA section with the symbol of each entry, the
// build-id (sections and PT_NOTE segments, both alignments), debuglink and
// soname. Then the loader's own steps (runtime/loader.cc): the klp
// relocation sections (SHF_RELA_LIVEPATCH) and their .klp.sym.* symbols
// through lib/klp_names.h, the bounds of their writes and of uklp_param
// (lib/module_info.h), and .modinfo / .uklp.targets. ASan and UBSan report
// any read outside the input; the fuzzer itself checks what the header
// promises of each answer.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "elf_file.h"
#include "klp_names.h"
#include "module_info.h"
#include "fuzz_check.h"

namespace {

using uklp::elf::ElfFile;
using uklp::elf::Section;

// Touches every byte of a span, so that ASan sees a read of each.
unsigned touch(std::span<const uint8_t> bytes) {
  unsigned sum = 0;
  for (uint8_t b : bytes) sum += b;
  return sum;
}

std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void walk_symbols(const ElfFile& elf, const Section& table) {
  uint64_t count = table.hdr.sh_size / sizeof(Elf64_Sym);
  // One index past the end too: symbol() must refuse it.
  for (uint64_t i = 0; i <= count && i < 4096; ++i) {
    auto sym = elf.symbol(table, static_cast<unsigned>(i));
    if (!sym) continue;
    FUZZ_CHECK(i < count);
    (void)uklp::klp::parse_sym_name(sym->name);
  }
}

void walk_relocations(const ElfFile& elf, const Section& s) {
  auto relas = elf.relocations(s);
  if (!relas) return;
  const Section* symtab = elf.section_by_index(s.hdr.sh_link);
  for (const Elf64_Rela& r : *relas) {
    if (symtab) (void)elf.symbol(*symtab, ELF64_R_SYM(r.r_info));
  }
}

void walk_sections(const ElfFile& elf) {
  for (const Section& s : elf.sections()) {
    FUZZ_CHECK(elf.section_by_index(s.index) == &s);
    FUZZ_CHECK(elf.section(s.name) != nullptr);
    if (auto d = elf.section_data(s); d) {
      touch(*d);
      FUZZ_CHECK(d->size() == (s.hdr.sh_type == SHT_NOBITS ? 0 : s.hdr.sh_size));
      if (s.hdr.sh_type == SHT_NOTE) {
        (void)uklp::elf::build_id_from_notes(*d, 4);
        (void)uklp::elf::build_id_from_notes(*d, 8);
      }
    }
    if (s.hdr.sh_type == SHT_SYMTAB || s.hdr.sh_type == SHT_DYNSYM) walk_symbols(elf, s);
    if (s.hdr.sh_type == SHT_RELA) walk_relocations(elf, s);
    (void)elf.string_at(s.index, 0);
    (void)elf.string_at(s.hdr.sh_link, s.hdr.sh_info);
  }
  for (unsigned type : {SHT_SYMTAB, SHT_DYNSYM}) {
    (void)elf.for_each_symbol(type, [](const uklp::elf::Symbol& sym) {
      touch({reinterpret_cast<const uint8_t*>(sym.name.data()), sym.name.size()});
      return true;
    });
  }
  (void)elf.has_symtab();
  (void)elf.build_id();
  (void)elf.debuglink();
  (void)elf.soname();
}

// in_load_segment() computed in 128 bits, where nothing wraps.
bool inside_wide(std::span<const Elf64_Phdr> phdrs, uint64_t addr, uint64_t size) {
  using Wide = unsigned __int128;
  for (const auto& ph : phdrs)
    if (ph.p_type == PT_LOAD && addr >= ph.p_vaddr && Wide{addr} + size <= Wide{ph.p_vaddr} + ph.p_memsz) return true;
  return false;
}

// runtime/loader.cc, resolve_klp_relocs and check_write_targets, without
// the process: every klp relocation's section name, symbol and target.
void walk_klp_relocations(const ElfFile& elf) {
  auto phdrs = elf.program_headers();
  for (const Section& s : elf.sections()) {
    if (!(s.hdr.sh_flags & uklp::klp::SHF_RELA_LIVEPATCH)) continue;
    auto name = uklp::klp::parse_rela_section_name(s.name);
    if (!name) continue;
    const Section* symtab = elf.section_by_index(s.hdr.sh_link);
    auto relas = elf.relocations(s);
    if (!symtab || symtab->hdr.sh_type != SHT_SYMTAB || !relas) continue;
    for (const Elf64_Rela& r : *relas) {
      auto sym = elf.symbol(*symtab, ELF64_R_SYM(r.r_info));
      if (!sym || sym->sym.st_shndx != uklp::klp::SHN_LIVEPATCH) continue;
      (void)uklp::klp::parse_sym_name(sym->name);
      FUZZ_CHECK(uklp::klp::in_load_segment(phdrs, r.r_offset, 8) == inside_wide(phdrs, r.r_offset, 8));
    }
  }
  if (const Section* p = elf.section("uklp_param"))
    FUZZ_CHECK(uklp::klp::in_load_segment(phdrs, p->hdr.sh_addr, p->hdr.sh_size) ==
               inside_wide(phdrs, p->hdr.sh_addr, p->hdr.sh_size));
}

// runtime/loader.cc, check_modinfo and check_targets.
void walk_metadata(const ElfFile& elf) {
  if (const Section* s = elf.section(".modinfo"))
    if (auto d = elf.section_data(*s); d) (void)uklp::klp::parse_modinfo(as_text(*d));
  if (const Section* s = elf.section(uklp::klp::kTargetsSection))
    if (auto d = elf.section_data(*s); d)
      for (std::string_view line : uklp::klp::target_lines(as_text(*d))) (void)uklp::klp::parse_target_line(line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto elf = ElfFile::from_bytes({data, size}, "fuzz.so");
  if (!elf) return 0;
  FUZZ_CHECK((*elf)->sections().empty() || (*elf)->sections().size() == (*elf)->header().e_shnum);
  walk_sections(**elf);
  walk_klp_relocations(**elf);
  walk_metadata(**elf);
  return 0;
}
