// elf_file.h: a bounds-checked, read-only view of an ELF64 x86-64 file.
//
// Used by the runtime (symbol tables of loaded objects, patch modules), by
// the CLI (`uklp info`) and by uklp-klp-convert. It never trusts the file:
// every offset, size, index and string is checked against the mapping, and
// a malformed file yields an EINVAL/ENOEXEC Status instead of a crash. It
// does not allocate per symbol while iterating, and holds the file mapped
// (read-only, MAP_PRIVATE) for its whole lifetime.
#pragma once

#include <elf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace uklp::elf {

struct Section {
  unsigned index = 0;
  std::string_view name;
  Elf64_Shdr hdr{};
};

struct Symbol {
  unsigned index = 0;  // index in its symbol table
  std::string_view name;
  Elf64_Sym sym{};
  unsigned char type() const { return ELF64_ST_TYPE(sym.st_info); }
  unsigned char bind() const { return ELF64_ST_BIND(sym.st_info); }
  bool defined() const { return sym.st_shndx != SHN_UNDEF; }
};

class ElfFile {
 public:
  // Maps `fd` (the descriptor is duplicated; the caller keeps its own).
  static Result<std::unique_ptr<ElfFile>> open_fd(int fd, std::string display_name);
  static Result<std::unique_ptr<ElfFile>> open_path(const std::string& path);
  // A copy of `bytes`, for tests and fuzzers.
  static Result<std::unique_ptr<ElfFile>> from_bytes(std::span<const uint8_t> bytes,
                                                     std::string display_name);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  const std::string& name() const { return name_; }
  const Elf64_Ehdr& header() const { return ehdr_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

  const std::vector<Section>& sections() const { return sections_; }
  const Section* section(std::string_view name) const;
  const Section* section_by_index(unsigned index) const;
  // The contents of a section (empty for SHT_NOBITS).
  Result<std::span<const uint8_t>> section_data(const Section& s) const;
  std::vector<Elf64_Phdr> program_headers() const;

  // The symbols of `.symtab` (type SHT_SYMTAB) or `.dynsym` (SHT_DYNSYM), in
  // index order. `fn` returns false to stop early.
  Status for_each_symbol(unsigned section_type, const std::function<bool(const Symbol&)>& fn) const;
  bool has_symtab() const;
  Result<Symbol> symbol(const Section& symtab, unsigned index) const;

  // The entries of a SHT_RELA section.
  Result<std::span<const Elf64_Rela>> relocations(const Section& rela) const;

  // A string at `offset` of the string table section `strtab_index`.
  Result<std::string_view> string_at(unsigned strtab_index, uint64_t offset) const;

  // The GNU build-id (hex, lower case), empty when the file has none.
  std::string build_id() const;
  // `.gnu_debuglink`: file name and CRC32, if present.
  std::optional<std::pair<std::string, uint32_t>> debuglink() const;
  // DT_SONAME, empty when absent.
  std::string soname() const;

 private:
  ElfFile() = default;
  Status parse();

  std::string name_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<uint8_t> owned_;
  Elf64_Ehdr ehdr_{};
  std::vector<Section> sections_;
};

// The GNU build-id (hex) in a note area (a SHT_NOTE section or a PT_NOTE
// segment, possibly in memory), empty when none. `align` is the area's
// alignment (4, or 8 for areas such as .note.gnu.property): each descriptor
// and each next note start at a multiple of it from the area's start.
std::string build_id_from_notes(std::span<const uint8_t> notes, uint64_t align = 4);
// Hex string of a byte range ("0a1b...").
std::string to_hex(std::span<const uint8_t> bytes);
// The CRC32 used by .gnu_debuglink.
uint32_t gnu_debuglink_crc32(std::span<const uint8_t> bytes);

}  // namespace uklp::elf
