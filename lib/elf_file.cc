// elf_file.cc: see elf_file.h. Every access goes through in_bounds().
#include "elf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace uklp::elf {
namespace {

bool in_bounds(uint64_t off, uint64_t len, size_t size) {
  return off <= size && len <= size - off;
}

Status malformed(const std::string& name, const std::string& what) {
  return error(ENOEXEC, "malformed ELF file '" + name + "': " + what);
}

}  // namespace

ElfFile::~ElfFile() {
  if (mapped_ && data_) munmap(const_cast<uint8_t*>(data_), size_);
}

Result<std::unique_ptr<ElfFile>> ElfFile::open_fd(int fd, std::string display_name) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return error(errno, "cannot stat '" + display_name + "'");
  if (!S_ISREG(st.st_mode)) return error(EINVAL, "'" + display_name + "' is not a regular file");
  if (st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr)))
    return malformed(display_name, "file too small for an ELF header");
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return error(errno, "cannot map '" + display_name + "'");
  std::unique_ptr<ElfFile> f(new ElfFile());
  f->name_ = std::move(display_name);
  f->data_ = static_cast<const uint8_t*>(p);
  f->size_ = static_cast<size_t>(st.st_size);
  f->mapped_ = true;
  UKLP_TRY(f->parse());
  return f;
}

Result<std::unique_ptr<ElfFile>> ElfFile::open_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error(errno, "cannot open '" + path + "'");
  auto r = open_fd(fd, path);
  ::close(fd);
  return r;
}

Result<std::unique_ptr<ElfFile>> ElfFile::from_bytes(std::span<const uint8_t> bytes,
                                                     std::string display_name) {
  std::unique_ptr<ElfFile> f(new ElfFile());
  f->name_ = std::move(display_name);
  f->owned_.assign(bytes.begin(), bytes.end());
  f->data_ = f->owned_.data();
  f->size_ = f->owned_.size();
  UKLP_TRY(f->parse());
  return f;
}

Status ElfFile::parse() {
  if (size_ < sizeof(Elf64_Ehdr)) return malformed(name_, "file too small for an ELF header");
  std::memcpy(&ehdr_, data_, sizeof ehdr_);
  if (std::memcmp(ehdr_.e_ident, ELFMAG, SELFMAG) != 0) return malformed(name_, "not an ELF file");
  if (ehdr_.e_ident[EI_CLASS] != ELFCLASS64 || ehdr_.e_ident[EI_DATA] != ELFDATA2LSB)
    return malformed(name_, "not a little-endian ELF64 file");
  if (ehdr_.e_machine != EM_X86_64) return malformed(name_, "not an x86-64 file");
  if (ehdr_.e_shoff == 0 || ehdr_.e_shnum == 0) return Status::ok();  // no sections
  if (ehdr_.e_shentsize != sizeof(Elf64_Shdr)) return malformed(name_, "bad section header size");
  if (!in_bounds(ehdr_.e_shoff, uint64_t{ehdr_.e_shnum} * sizeof(Elf64_Shdr), size_))
    return malformed(name_, "section headers outside the file");
  sections_.resize(ehdr_.e_shnum);
  for (unsigned i = 0; i < ehdr_.e_shnum; ++i) {
    sections_[i].index = i;
    std::memcpy(&sections_[i].hdr, data_ + ehdr_.e_shoff + i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
    const auto& h = sections_[i].hdr;
    if (h.sh_type != SHT_NOBITS && h.sh_type != SHT_NULL && !in_bounds(h.sh_offset, h.sh_size, size_))
      return malformed(name_, "section " + std::to_string(i) + " outside the file");
  }
  if (ehdr_.e_shstrndx >= sections_.size()) return malformed(name_, "bad section name table index");
  for (auto& s : sections_) {
    auto n = string_at(ehdr_.e_shstrndx, s.hdr.sh_name);
    if (!n) return n.status();
    s.name = *n;
  }
  return Status::ok();
}

const Section* ElfFile::section(std::string_view name) const {
  for (const auto& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

const Section* ElfFile::section_by_index(unsigned index) const {
  return index < sections_.size() ? &sections_[index] : nullptr;
}

Result<std::span<const uint8_t>> ElfFile::section_data(const Section& s) const {
  if (s.hdr.sh_type == SHT_NOBITS) return std::span<const uint8_t>();
  if (!in_bounds(s.hdr.sh_offset, s.hdr.sh_size, size_))
    return malformed(name_, "section '" + std::string(s.name) + "' outside the file");
  return std::span<const uint8_t>(data_ + s.hdr.sh_offset, s.hdr.sh_size);
}

std::vector<Elf64_Phdr> ElfFile::program_headers() const {
  std::vector<Elf64_Phdr> out;
  if (ehdr_.e_phentsize != sizeof(Elf64_Phdr)) return out;
  if (ehdr_.e_phnum == 0) return out;  // memcpy into data() of an empty vector (null) is UB
  if (!in_bounds(ehdr_.e_phoff, uint64_t{ehdr_.e_phnum} * sizeof(Elf64_Phdr), size_)) return out;
  out.resize(ehdr_.e_phnum);
  std::memcpy(out.data(), data_ + ehdr_.e_phoff, out.size() * sizeof(Elf64_Phdr));
  return out;
}

Result<std::string_view> ElfFile::string_at(unsigned strtab_index, uint64_t offset) const {
  const Section* st = section_by_index(strtab_index);
  if (!st || st->hdr.sh_type != SHT_STRTAB) return malformed(name_, "bad string table index");
  if (offset >= st->hdr.sh_size) return malformed(name_, "string offset outside its table");
  const char* base = reinterpret_cast<const char*>(data_ + st->hdr.sh_offset);
  const void* nul = std::memchr(base + offset, 0, st->hdr.sh_size - offset);
  if (!nul) return malformed(name_, "unterminated string");
  return std::string_view(base + offset, static_cast<const char*>(nul) - (base + offset));
}

Result<Symbol> ElfFile::symbol(const Section& symtab, unsigned index) const {
  if (symtab.hdr.sh_entsize != sizeof(Elf64_Sym)) return malformed(name_, "bad symbol entry size");
  // Through section_data(): parse() checks the bounds of non-NOBITS sections
  // only, and a caller may pass any section (a NOBITS one has no bytes here).
  auto d = section_data(symtab);
  if (!d) return d.status();
  if (uint64_t{index} >= d->size() / sizeof(Elf64_Sym))
    return malformed(name_, "symbol index " + std::to_string(index) + " out of range");
  Symbol s;
  s.index = index;
  std::memcpy(&s.sym, d->data() + uint64_t{index} * sizeof(Elf64_Sym), sizeof(Elf64_Sym));
  if (s.sym.st_name != 0) {
    auto n = string_at(symtab.hdr.sh_link, s.sym.st_name);
    if (!n) return n.status();
    s.name = *n;
  }
  return s;
}

Status ElfFile::for_each_symbol(unsigned section_type,
                                const std::function<bool(const Symbol&)>& fn) const {
  for (const auto& sec : sections_) {
    if (sec.hdr.sh_type != section_type) continue;
    uint64_t n = sec.hdr.sh_entsize ? sec.hdr.sh_size / sec.hdr.sh_entsize : 0;
    for (uint64_t i = 1; i < n; ++i) {
      auto s = symbol(sec, static_cast<unsigned>(i));
      if (!s) return s.status();
      if (!fn(*s)) return Status::ok();
    }
    return Status::ok();
  }
  return Status::ok();
}

bool ElfFile::has_symtab() const {
  for (const auto& s : sections_)
    if (s.hdr.sh_type == SHT_SYMTAB && s.hdr.sh_size > sizeof(Elf64_Sym)) return true;
  return false;
}

Result<std::span<const Elf64_Rela>> ElfFile::relocations(const Section& rela) const {
  if (rela.hdr.sh_type != SHT_RELA || rela.hdr.sh_entsize != sizeof(Elf64_Rela))
    return malformed(name_, "'" + std::string(rela.name) + "' is not a RELA section");
  if (rela.hdr.sh_offset % alignof(Elf64_Rela) != 0)
    return malformed(name_, "misaligned relocation section '" + std::string(rela.name) + "'");
  auto d = section_data(rela);
  if (!d) return d.status();
  return std::span<const Elf64_Rela>(reinterpret_cast<const Elf64_Rela*>(d->data()),
                                     d->size() / sizeof(Elf64_Rela));
}

namespace {
// Walks the notes of one note area; returns the GNU build-id descriptor.
// The descriptor and the next note start at the area's alignment (4, or 8
// for .note.gnu.property areas), counted from the area's start as readelf
// does. Sizes are 32-bit fields of an untrusted file: the sums are done in
// 64 bits, so a size near 2^32 cannot wrap to 0 and misplace what follows.
std::span<const uint8_t> find_build_id(std::span<const uint8_t> notes, uint64_t align) {
  const uint64_t pad = align == 8 ? 8 : 4;
  auto align_up = [pad](uint64_t n) { return (n + pad - 1) & ~(pad - 1); };
  uint64_t off = 0;
  while (off + sizeof(Elf64_Nhdr) <= notes.size()) {
    Elf64_Nhdr nh;
    std::memcpy(&nh, notes.data() + off, sizeof nh);
    uint64_t name_off = off + sizeof nh;
    uint64_t desc_off = align_up(name_off + nh.n_namesz);
    if (desc_off > notes.size() || nh.n_descsz > notes.size() - desc_off) break;
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
        std::memcmp(notes.data() + name_off, "GNU", 4) == 0)
      return notes.subspan(desc_off, nh.n_descsz);
    off = align_up(desc_off + nh.n_descsz);
  }
  return {};
}
}  // namespace

std::string build_id_from_notes(std::span<const uint8_t> notes, uint64_t align) {
  return to_hex(find_build_id(notes, align));
}

std::string ElfFile::build_id() const {
  for (const auto& s : sections_) {
    if (s.hdr.sh_type != SHT_NOTE) continue;
    auto d = section_data(s);
    if (!d) continue;
    auto id = find_build_id(*d, s.hdr.sh_addralign);
    if (!id.empty()) return to_hex(id);
  }
  for (const auto& ph : program_headers()) {
    if (ph.p_type != PT_NOTE || !in_bounds(ph.p_offset, ph.p_filesz, size_)) continue;
    auto id = find_build_id({data_ + ph.p_offset, ph.p_filesz}, ph.p_align);
    if (!id.empty()) return to_hex(id);
  }
  return {};
}

std::optional<std::pair<std::string, uint32_t>> ElfFile::debuglink() const {
  const Section* s = section(".gnu_debuglink");
  if (!s) return std::nullopt;
  auto d = section_data(*s);
  if (!d || d->empty()) return std::nullopt;
  const void* nul = std::memchr(d->data(), 0, d->size());
  if (!nul) return std::nullopt;
  size_t len = static_cast<const uint8_t*>(nul) - d->data();
  size_t crc_off = (len + 4) & ~size_t{3};
  if (crc_off + 4 > d->size()) return std::nullopt;
  uint32_t crc;
  std::memcpy(&crc, d->data() + crc_off, 4);
  return std::make_pair(std::string(reinterpret_cast<const char*>(d->data()), len), crc);
}

std::string ElfFile::soname() const {
  for (const auto& s : sections_) {
    if (s.hdr.sh_type != SHT_DYNAMIC || s.hdr.sh_entsize != sizeof(Elf64_Dyn)) continue;
    auto d = section_data(s);
    if (!d) return {};
    for (size_t off = 0; off + sizeof(Elf64_Dyn) <= d->size(); off += sizeof(Elf64_Dyn)) {
      Elf64_Dyn dyn;
      std::memcpy(&dyn, d->data() + off, sizeof dyn);
      if (dyn.d_tag == DT_NULL) break;
      if (dyn.d_tag == DT_SONAME) {
        auto n = string_at(s.hdr.sh_link, dyn.d_un.d_val);
        return n ? std::string(*n) : std::string();
      }
    }
  }
  return {};
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

uint32_t gnu_debuglink_crc32(std::span<const uint8_t> bytes) {
  uint32_t crc = 0xffffffffu;
  for (uint8_t b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

}  // namespace uklp::elf
