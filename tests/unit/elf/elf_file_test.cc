// elf_file_test.cc: lib/elf_file against a small ELF image built here
// (ElfImage) and malformed variants of it. A malformed file must give an
// error or an empty answer, never a crash or a read outside the bytes (run
// under -DUKLP_SANITIZE=ON to have ASan check the latter).
#include "elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using uklp::elf::ElfFile;
using Bytes = std::vector<uint8_t>;

template <typename T>
void append(Bytes& out, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

void append_str(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

template <typename T>
void write_at(Bytes& image, uint64_t offset, const T& v) {
  std::memcpy(image.data() + offset, &v, sizeof v);
}

// A GNU build-id note with a 4-byte descriptor.
Bytes build_id_note(uint32_t desc) {
  Bytes n;
  append(n, Elf64_Nhdr{4, 4, NT_GNU_BUILD_ID});
  append_str(n, std::string_view("GNU\0", 4));
  append(n, desc);
  return n;
}

// ELF header, one PT_NOTE program header, the section contents (8-aligned),
// then the section headers. Section indexes are the enum below.
class ElfImage {
 public:
  enum : unsigned { kNull, kStrtab, kSymtab, kNote, kText, kDebuglink, kDynstr, kDynamic, kRela, kShstrtab, kCount };

  ElfImage() {
    add(".strtab", SHT_STRTAB, str("\0foo\0bar\0", 9));
    Bytes syms;
    append(syms, Elf64_Sym{});
    append(syms, Elf64_Sym{1, ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), 0, kText, 0x1000, 16});
    append(syms, Elf64_Sym{5, ELF64_ST_INFO(STB_LOCAL, STT_OBJECT), 0, kText, 0x1008, 4});
    add(".symtab", SHT_SYMTAB, syms, sizeof(Elf64_Sym), kStrtab);
    add(".note.gnu.build-id", SHT_NOTE, build_id_note(0xefbeadde), 0, 0, 4);
    add(".text", SHT_PROGBITS, Bytes(16, 0x90));
    Bytes link = str("x.debug\0", 8);
    append(link, uint32_t{0x12345678});
    add(".gnu_debuglink", SHT_PROGBITS, link);
    add(".dynstr", SHT_STRTAB, str("\0libx.so.1\0", 11));
    Bytes dyn;
    append(dyn, Elf64_Dyn{DT_SONAME, {1}});
    append(dyn, Elf64_Dyn{DT_NULL, {0}});
    add(".dynamic", SHT_DYNAMIC, dyn, sizeof(Elf64_Dyn), kDynstr);
    Bytes rela;
    append(rela, Elf64_Rela{0x1004, ELF64_R_INFO(1, R_X86_64_PLT32), -4});
    add(".rela.text", SHT_RELA, rela, sizeof(Elf64_Rela), kSymtab);
    add(".shstrtab", SHT_STRTAB, {});
    layout();
  }

  Bytes bytes;
  uint64_t shdr_offset(unsigned i) const { return shoff_ + i * sizeof(Elf64_Shdr); }
  uint64_t data_offset(unsigned i) const { return sections_[i].offset; }
  Elf64_Shdr shdr(unsigned i) const {
    Elf64_Shdr h;
    std::memcpy(&h, bytes.data() + shdr_offset(i), sizeof h);
    return h;
  }
  void set_shdr(unsigned i, const Elf64_Shdr& h) { write_at(bytes, shdr_offset(i), h); }
  Elf64_Ehdr ehdr() const {
    Elf64_Ehdr h;
    std::memcpy(&h, bytes.data(), sizeof h);
    return h;
  }
  void set_ehdr(const Elf64_Ehdr& h) { write_at(bytes, 0, h); }
  static constexpr uint64_t phdr_offset() { return sizeof(Elf64_Ehdr); }

 private:
  struct Sec {
    std::string name;
    uint32_t type;
    Bytes data;
    uint64_t entsize, align;
    uint32_t link;
    uint64_t offset = 0;
  };
  static Bytes str(const char* s, size_t n) { return Bytes(s, s + n); }
  void add(std::string name, uint32_t type, Bytes data, uint64_t entsize = 0, uint32_t link = 0,
           uint64_t align = 8) {
    if (sections_.empty()) sections_.push_back({"", SHT_NULL, {}, 0, 0, 0});
    sections_.push_back({std::move(name), type, std::move(data), entsize, align, link});
  }

  void layout() {
    Bytes& shstrtab = sections_[kShstrtab].data;
    std::vector<uint32_t> names;
    for (const auto& s : sections_) {
      names.push_back(static_cast<uint32_t>(shstrtab.size()));
      append_str(shstrtab, s.name);
      shstrtab.push_back(0);
    }
    bytes.resize(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr));
    for (auto& s : sections_) {
      if (s.type == SHT_NULL) continue;
      bytes.resize((bytes.size() + 7) & ~size_t{7});
      s.offset = bytes.size();
      bytes.insert(bytes.end(), s.data.begin(), s.data.end());
    }
    bytes.resize((bytes.size() + 7) & ~size_t{7});
    shoff_ = bytes.size();
    for (size_t i = 0; i < sections_.size(); ++i) {
      const auto& s = sections_[i];
      append(bytes, Elf64_Shdr{names[i], s.type, 0, 0, s.offset, s.data.size(), s.link, 0, s.align, s.entsize});
    }
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = phdr_offset();
    eh.e_shoff = shoff_;
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 1;
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = kCount;
    eh.e_shstrndx = kShstrtab;
    set_ehdr(eh);
    const auto& note = sections_[kNote];
    write_at(bytes, phdr_offset(),
             Elf64_Phdr{PT_NOTE, PF_R, note.offset, 0, 0, note.data.size(), note.data.size(), 4});
  }

  std::vector<Sec> sections_;
  uint64_t shoff_ = 0;
};

uklp::Result<std::unique_ptr<ElfFile>> parse(const Bytes& b) { return ElfFile::from_bytes(b, "test.so"); }

std::string error_of(const Bytes& b) {
  auto f = ElfFile::from_bytes(b, "test.so");
  return f.is_ok() ? "ok" : f.status().message();
}

// Calls every accessor; their answers do not matter, only that they return.
void exercise(const ElfFile& f) {
  for (const auto& s : f.sections()) {
    (void)f.section_data(s);
    (void)f.relocations(s);
    for (unsigned i = 0; i < 4; ++i) (void)f.symbol(s, i);
    (void)f.string_at(s.index, 1);
  }
  (void)f.for_each_symbol(SHT_SYMTAB, [](const uklp::elf::Symbol&) { return true; });
  (void)f.for_each_symbol(SHT_DYNSYM, [](const uklp::elf::Symbol&) { return true; });
  (void)f.has_symtab();
  (void)f.program_headers();
  (void)f.build_id();
  (void)f.debuglink();
  (void)f.soname();
  (void)f.section(".text");
  (void)f.section_by_index(1000);
}

// ------------------------------------------------------------- well formed

TEST(ElfFile, ReadsTheImage) {
  ElfImage img;
  auto f = parse(img.bytes);
  ASSERT_TRUE(f.is_ok()) << f.status().describe();
  EXPECT_EQ((*f)->sections().size(), ElfImage::kCount);
  ASSERT_NE((*f)->section(".text"), nullptr);
  EXPECT_EQ((*f)->section(".text")->index, ElfImage::kText);
  EXPECT_EQ((*f)->section(".nope"), nullptr);
  EXPECT_TRUE((*f)->has_symtab());
  std::vector<std::string> names;
  ASSERT_TRUE((*f)->for_each_symbol(SHT_SYMTAB, [&](const uklp::elf::Symbol& s) {
    names.emplace_back(s.name);
    return true;
  }));
  EXPECT_EQ(names, (std::vector<std::string>{"foo", "bar"}));
  EXPECT_EQ((*f)->build_id(), "deadbeef");
  auto link = (*f)->debuglink();
  ASSERT_TRUE(link);
  EXPECT_EQ(link->first, "x.debug");
  EXPECT_EQ(link->second, 0x12345678u);
  EXPECT_EQ((*f)->soname(), "libx.so.1");
  auto rela = (*f)->relocations(*(*f)->section(".rela.text"));
  ASSERT_TRUE(rela.is_ok()) << rela.status().describe();
  EXPECT_EQ(rela->size(), 1u);
  EXPECT_EQ((*f)->program_headers().size(), 1u);
}

TEST(ElfFile, BuildIdFromProgramHeaderWhenNoNoteSection) {
  ElfImage img;
  Elf64_Shdr h = img.shdr(ElfImage::kNote);
  h.sh_type = SHT_PROGBITS;
  img.set_shdr(ElfImage::kNote, h);
  EXPECT_EQ(parse(img.bytes).value()->build_id(), "deadbeef");
}

TEST(ElfFile, Crc32) {
  const char* s = "123456789";
  EXPECT_EQ(uklp::elf::gnu_debuglink_crc32({reinterpret_cast<const uint8_t*>(s), 9}), 0xcbf43926u);
}

TEST(ElfFile, OpenPathErrors) {
  EXPECT_EQ(ElfFile::open_path("/nonexistent/file").status().code(), ENOENT);
  EXPECT_EQ(ElfFile::open_path("/").status().code(), EINVAL);
  std::string empty = (std::filesystem::temp_directory_path() / "uklp-elf-empty-XXXXXX").string();
  int fd = mkstemp(empty.data());
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ElfFile::open_fd(fd, "empty").status().code(), ENOEXEC);
  close(fd);
  unlink(empty.c_str());
}

// ------------------------------------------------------------ malformed

TEST(ElfFileMalformed, TruncatedHeader) {
  ElfImage img;
  for (size_t n : {0ul, 4ul, 63ul}) {
    Bytes b(img.bytes.begin(), img.bytes.begin() + n);
    auto f = parse(b);
    ASSERT_FALSE(f.is_ok());
    EXPECT_EQ(f.status().code(), ENOEXEC);
    EXPECT_EQ(f.status().message(), "malformed ELF file 'test.so': file too small for an ELF header");
  }
}

TEST(ElfFileMalformed, NotElf64X86) {
  ElfImage img;
  Bytes b = img.bytes;
  b[1] = 'X';
  EXPECT_EQ(error_of(b), "malformed ELF file 'test.so': not an ELF file");
  b = img.bytes;
  b[EI_CLASS] = ELFCLASS32;
  EXPECT_EQ(error_of(b), "malformed ELF file 'test.so': not a little-endian ELF64 file");
  Elf64_Ehdr h = img.ehdr();
  h.e_machine = EM_AARCH64;
  b = img.bytes;
  write_at(b, 0, h);
  EXPECT_EQ(error_of(b), "malformed ELF file 'test.so': not an x86-64 file");
}

TEST(ElfFileMalformed, SectionHeadersOutOfBounds) {
  for (uint64_t shoff : {uint64_t{1} << 40, ~uint64_t{0} - 10, uint64_t{0x7fffffffffffffff}}) {
    ElfImage img;
    Elf64_Ehdr h = img.ehdr();
    h.e_shoff = shoff;
    img.set_ehdr(h);
    EXPECT_EQ(error_of(img.bytes), "malformed ELF file 'test.so': section headers outside the file");
  }
  ElfImage img;
  Elf64_Ehdr h = img.ehdr();
  h.e_shnum = 0xffff;
  img.set_ehdr(h);
  EXPECT_EQ(error_of(img.bytes), "malformed ELF file 'test.so': section headers outside the file");
  // Cut in the middle of the section headers.
  ElfImage cut;
  cut.bytes.resize(cut.shdr_offset(3) + 5);
  EXPECT_EQ(error_of(cut.bytes), "malformed ELF file 'test.so': section headers outside the file");
}

TEST(ElfFileMalformed, BadSectionHeaderSize) {
  ElfImage img;
  Elf64_Ehdr h = img.ehdr();
  h.e_shentsize = 32;
  img.set_ehdr(h);
  EXPECT_EQ(error_of(img.bytes), "malformed ELF file 'test.so': bad section header size");
}

TEST(ElfFileMalformed, SectionOutsideTheFile) {
  for (auto [offset, size] : {std::pair<uint64_t, uint64_t>{1u << 30, 16}, {64, ~uint64_t{0}}, {~uint64_t{0}, 2}}) {
    ElfImage img;
    Elf64_Shdr s = img.shdr(ElfImage::kText);
    s.sh_offset = offset;
    s.sh_size = size;
    img.set_shdr(ElfImage::kText, s);
    EXPECT_EQ(error_of(img.bytes), "malformed ELF file 'test.so': section 4 outside the file");
  }
}

TEST(ElfFileMalformed, BadSectionNameTable) {
  ElfImage img;
  Elf64_Ehdr h = img.ehdr();
  h.e_shstrndx = 200;
  img.set_ehdr(h);
  EXPECT_EQ(error_of(img.bytes), "malformed ELF file 'test.so': bad section name table index");
  h.e_shstrndx = ElfImage::kText;  // not a string table
  img.set_ehdr(h);
  EXPECT_EQ(error_of(img.bytes), "malformed ELF file 'test.so': bad string table index");
}

TEST(ElfFileMalformed, BadStringOffsets) {
  ElfImage img;
  Elf64_Shdr s = img.shdr(ElfImage::kText);
  s.sh_name = 0xffffff;
  img.set_shdr(ElfImage::kText, s);
  EXPECT_EQ(error_of(img.bytes), "malformed ELF file 'test.so': string offset outside its table");

  // An unterminated name table: its last byte (a NUL) is cut off.
  ElfImage unterminated;
  Elf64_Shdr t = unterminated.shdr(ElfImage::kShstrtab);
  t.sh_size -= 1;
  unterminated.set_shdr(ElfImage::kShstrtab, t);
  EXPECT_EQ(error_of(unterminated.bytes), "malformed ELF file 'test.so': unterminated string");

  ElfImage good;
  auto f = parse(good.bytes);
  ASSERT_TRUE(f.is_ok());
  EXPECT_FALSE((*f)->string_at(ElfImage::kStrtab, 9).is_ok());
  EXPECT_FALSE((*f)->string_at(ElfImage::kStrtab, ~uint64_t{0}).is_ok());
  EXPECT_FALSE((*f)->string_at(ElfImage::kText, 0).is_ok());
  EXPECT_FALSE((*f)->string_at(9999, 0).is_ok());
  EXPECT_EQ((*f)->string_at(ElfImage::kStrtab, 5).value(), "bar");
}

TEST(ElfFileMalformed, BadSymbolName) {
  ElfImage img;
  write_at(img.bytes, img.data_offset(ElfImage::kSymtab) + 2 * sizeof(Elf64_Sym), uint32_t{0x7fffffff});
  auto f = parse(img.bytes);
  ASSERT_TRUE(f.is_ok());
  int seen = 0;
  auto s = (*f)->for_each_symbol(SHT_SYMTAB, [&](const uklp::elf::Symbol&) { return ++seen, true; });
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(), "malformed ELF file 'test.so': string offset outside its table");
  EXPECT_EQ(seen, 1);
}

TEST(ElfFileMalformed, BadSymbolTable) {
  ElfImage img;
  Elf64_Shdr s = img.shdr(ElfImage::kSymtab);
  s.sh_link = ElfImage::kText;  // names in a non-string table
  img.set_shdr(ElfImage::kSymtab, s);
  auto f = parse(img.bytes);
  ASSERT_TRUE(f.is_ok());
  EXPECT_FALSE((*f)->for_each_symbol(SHT_SYMTAB, [](const uklp::elf::Symbol&) { return true; }).is_ok());

  ElfImage entsize;
  s = entsize.shdr(ElfImage::kSymtab);
  s.sh_entsize = 16;
  entsize.set_shdr(ElfImage::kSymtab, s);
  auto g = parse(entsize.bytes);
  ASSERT_TRUE(g.is_ok());
  auto st = (*g)->for_each_symbol(SHT_SYMTAB, [](const uklp::elf::Symbol&) { return true; });
  EXPECT_EQ(st.message(), "malformed ELF file 'test.so': bad symbol entry size");
  EXPECT_EQ((*g)->symbol(*(*g)->section(".symtab"), 1).status().message(),
            "malformed ELF file 'test.so': bad symbol entry size");

  ElfImage good;
  auto h = parse(good.bytes);
  EXPECT_EQ((*h)->symbol(*(*h)->section(".symtab"), 3).status().message(),
            "malformed ELF file 'test.so': symbol index 3 out of range");
}

// A NOBITS section is not bounds-checked when the file is parsed (it has no
// bytes), so symbol() must not read through its sh_offset.
TEST(ElfFileMalformed, SymbolOfNobitsSection) {
  ElfImage img;
  Elf64_Shdr s = img.shdr(ElfImage::kSymtab);
  s.sh_type = SHT_NOBITS;
  s.sh_offset = uint64_t{1} << 40;
  s.sh_size = uint64_t{1} << 40;
  img.set_shdr(ElfImage::kSymtab, s);
  auto f = parse(img.bytes);
  ASSERT_TRUE(f.is_ok()) << f.status().describe();
  const auto* symtab = (*f)->section(".symtab");
  ASSERT_NE(symtab, nullptr);
  EXPECT_FALSE((*f)->symbol(*symtab, 5).is_ok());
  EXPECT_FALSE((*f)->has_symtab());
}

TEST(ElfFileMalformed, Notes) {
  auto id = [](const Bytes& notes, uint64_t align = 4) { return uklp::elf::build_id_from_notes(notes, align); };
  EXPECT_EQ(id(build_id_note(0x04030201)), "01020304");
  Bytes huge_desc;
  append(huge_desc, Elf64_Nhdr{4, 0xffffffff, NT_GNU_BUILD_ID});
  append_str(huge_desc, std::string_view("GNU\0", 4));
  EXPECT_EQ(id(huge_desc), "");
  Bytes truncated = build_id_note(1);
  truncated.resize(truncated.size() - 1);
  EXPECT_EQ(id(truncated), "");
  EXPECT_EQ(id(Bytes(5, 0)), "");
  // A name size near 2^32 once wrapped to 0 when padded in 32 bits and
  // made the reader take the next bytes as a note of their own.
  Bytes wrapped;
  append(wrapped, Elf64_Nhdr{0xfffffffd, 0, 0});
  Bytes next = build_id_note(0xaabbccdd);
  wrapped.insert(wrapped.end(), next.begin(), next.end());
  EXPECT_EQ(id(wrapped), "");
}

TEST(ElfFile, NotesAlignedTo8) {
  // .note.gnu.property-style area: descriptors padded to 8 bytes.
  Bytes notes;
  append(notes, Elf64_Nhdr{4, 12, NT_GNU_PROPERTY_TYPE_0});
  append_str(notes, std::string_view("GNU\0", 4));
  notes.resize(notes.size() + 16, 0);  // 12 bytes padded to 16
  Bytes bid;
  append(bid, Elf64_Nhdr{4, 8, NT_GNU_BUILD_ID});
  append_str(bid, std::string_view("GNU\0", 4));
  append(bid, uint64_t{0x0807060504030201});
  notes.insert(notes.end(), bid.begin(), bid.end());
  EXPECT_EQ(uklp::elf::build_id_from_notes(notes, 8), "0102030405060708");
}

TEST(ElfFileMalformed, DebuglinkAndSoname) {
  ElfImage img;
  // Debuglink without a NUL in the section.
  Elf64_Shdr s = img.shdr(ElfImage::kDebuglink);
  s.sh_size = 7;
  img.set_shdr(ElfImage::kDebuglink, s);
  // DT_SONAME pointing past .dynstr.
  write_at(img.bytes, img.data_offset(ElfImage::kDynamic) + 8, uint64_t{1000});
  auto f = parse(img.bytes);
  ASSERT_TRUE(f.is_ok());
  EXPECT_FALSE((*f)->debuglink());
  EXPECT_EQ((*f)->soname(), "");

  ElfImage no_crc;
  s = no_crc.shdr(ElfImage::kDebuglink);
  s.sh_size = 10;  // the name, but no room for the CRC
  no_crc.set_shdr(ElfImage::kDebuglink, s);
  EXPECT_FALSE(parse(no_crc.bytes).value()->debuglink());
}

TEST(ElfFileMalformed, Relocations) {
  ElfImage img;
  Elf64_Shdr s = img.shdr(ElfImage::kRela);
  s.sh_offset += 4;  // misaligned
  img.set_shdr(ElfImage::kRela, s);
  auto f = parse(img.bytes);
  ASSERT_TRUE(f.is_ok());
  EXPECT_FALSE((*f)->relocations(*(*f)->section(".rela.text")).is_ok());
  EXPECT_FALSE((*f)->relocations(*(*f)->section(".text")).is_ok());
}

TEST(ElfFileMalformed, ProgramHeadersOutOfBounds) {
  ElfImage img;
  Elf64_Ehdr h = img.ehdr();
  h.e_phoff = ~uint64_t{0} - 8;
  img.set_ehdr(h);
  auto f = parse(img.bytes);
  ASSERT_TRUE(f.is_ok());
  EXPECT_TRUE((*f)->program_headers().empty());

  // A PT_NOTE outside the file, with no note section to fall back on.
  ElfImage note;
  write_at(note.bytes, ElfImage::phdr_offset() + offsetof(Elf64_Phdr, p_offset), uint64_t{1} << 50);
  Elf64_Shdr s = note.shdr(ElfImage::kNote);
  s.sh_type = SHT_PROGBITS;
  note.set_shdr(ElfImage::kNote, s);
  EXPECT_EQ(parse(note.bytes).value()->build_id(), "");
}

TEST(ElfFileMalformed, EveryTruncation) {
  ElfImage img;
  for (size_t n = 0; n <= img.bytes.size(); ++n) {
    Bytes b(img.bytes.begin(), img.bytes.begin() + n);
    auto f = parse(b);
    if (f.is_ok()) exercise(**f);
  }
}

// Random byte changes, weighted towards the headers where offsets live.
TEST(ElfFileMalformed, RandomMutations) {
  ElfImage img;
  std::mt19937 rng(12345);
  size_t parsed = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes b = img.bytes;
    int changes = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < changes; ++k) {
      size_t pos = rng() % 2 ? rng() % b.size() : img.shdr_offset(0) + rng() % (b.size() - img.shdr_offset(0));
      if (rng() % 4 == 0) pos = rng() % (sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr));
      b[pos] = rng() % 3 == 0 ? 0xff : static_cast<uint8_t>(rng());
    }
    auto f = parse(b);
    if (!f.is_ok()) continue;
    ++parsed;
    exercise(**f);
  }
  EXPECT_GT(parsed, 1000u);  // the mutations reach past parse()
}

}  // namespace
