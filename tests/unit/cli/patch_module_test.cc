// patch_module_test.cc: reading a patch module offline (cli/patch_module.h):
// a real shared object built from fixture_patch.c with <uklp/livepatch.h>,
// and a synthetic ELF image with klp relocation sections and symbols, the
// way uklp-klp-convert writes them (lib/klp_names.h).
#include "patch_module.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

#include "klp_names.h"

namespace uklp::cli {
namespace {

// ---- the real fixture ----

const ParamInfo* find_param(const PatchModuleInfo& m, std::string_view name) {
  for (const auto& p : m.params)
    if (p.name == name) return &p;
  return nullptr;
}

TEST(PatchModule, FixtureModinfoAndParameters) {
  auto elf = elf::ElfFile::open_path(UKLP_FIXTURE_PATCH);
  ASSERT_TRUE(elf.is_ok()) << elf.status().describe();
  ASSERT_TRUE(check_shared_object(**elf).is_ok());
  auto m = read_patch_module(**elf);
  ASSERT_TRUE(m.is_ok()) << m.status().describe();
  EXPECT_TRUE(m->livepatch);
  EXPECT_FALSE(m->build_id.empty());
  auto has = [&](std::string tag, std::string value) {
    return std::any_of(m->modinfo.begin(), m->modinfo.end(),
                       [&](const ModinfoEntry& e) { return e.tag == tag && e.value == value; });
  };
  EXPECT_TRUE(has("license", "GPL"));
  EXPECT_TRUE(has("description", "uklp CLI test fixture"));
  ASSERT_EQ(m->params.size(), 3u);
  const ParamInfo* answer = find_param(*m, "answer");
  ASSERT_NE(answer, nullptr);
  EXPECT_EQ(answer->type, "int");
  EXPECT_EQ(answer->perm, 0644u);
  EXPECT_EQ(answer->description, "The answer to return");
  ASSERT_NE(find_param(*m, "greeting"), nullptr);
  EXPECT_EQ(find_param(*m, "greeting")->type, "charp");
  EXPECT_EQ(find_param(*m, "greeting")->perm, 0444u);
  ASSERT_NE(find_param(*m, "verbose"), nullptr);
  EXPECT_EQ(find_param(*m, "verbose")->type, "bool");
  EXPECT_EQ(find_param(*m, "verbose")->description, "");
}

TEST(PatchModule, FixtureTargetsAndSympos) {
  auto elf = elf::ElfFile::open_path(UKLP_FIXTURE_PATCH);
  ASSERT_TRUE(elf.is_ok());
  auto m = read_patch_module(**elf);
  ASSERT_TRUE(m.is_ok());
  ASSERT_EQ(m->targets.size(), 1u);
  EXPECT_EQ(m->targets[0].object, "main");
  EXPECT_EQ(m->targets[0].build_id, "0123456789abcdef0123456789abcdef01234567");
  ASSERT_EQ(m->sympos.size(), 1u);
  EXPECT_EQ(m->sympos[0].alias, "helper_in_b");
  EXPECT_EQ(m->sympos[0].object, "main");
  EXPECT_EQ(m->sympos[0].symbol, "helper");
  EXPECT_EQ(m->sympos[0].sympos, "2");
  EXPECT_TRUE(m->klp_relas.empty());
}

// ---- a synthetic image with klp relocations ----

class ElfImage {
 public:
  ElfImage() : blob_(sizeof(Elf64_Ehdr)), shdrs_(1), shstrtab_(1, '\0') {}

  unsigned add(std::string_view name, uint32_t type, std::string_view data, uint32_t link = 0,
               uint64_t entsize = 0, uint64_t flags = 0) {
    while (blob_.size() % 8) blob_.push_back(0);
    Elf64_Shdr h{};
    h.sh_name = static_cast<uint32_t>(shstrtab_.size());
    shstrtab_.append(name).push_back('\0');
    h.sh_type = type;
    h.sh_flags = flags;
    h.sh_offset = blob_.size();
    h.sh_size = data.size();
    h.sh_link = link;
    h.sh_addralign = 8;
    h.sh_entsize = entsize;
    blob_.insert(blob_.end(), data.begin(), data.end());
    shdrs_.push_back(h);
    return static_cast<unsigned>(shdrs_.size() - 1);
  }

  std::vector<uint8_t> finish(uint16_t e_type = ET_DYN) {
    shstrtab_ += ".shstrtab";
    shstrtab_.push_back('\0');
    unsigned shstrndx = add_raw(shstrtab_, static_cast<uint32_t>(shstrtab_.size() - 10));
    while (blob_.size() % 8) blob_.push_back(0);
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = e_type;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_ehsize = sizeof eh;
    eh.e_shoff = blob_.size();
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = static_cast<uint16_t>(shdrs_.size());
    eh.e_shstrndx = static_cast<uint16_t>(shstrndx);
    std::memcpy(blob_.data(), &eh, sizeof eh);
    auto* p = reinterpret_cast<const uint8_t*>(shdrs_.data());
    blob_.insert(blob_.end(), p, p + shdrs_.size() * sizeof(Elf64_Shdr));
    return blob_;
  }

 private:
  unsigned add_raw(std::string_view data, uint32_t name_offset) {
    while (blob_.size() % 8) blob_.push_back(0);
    Elf64_Shdr h{};
    h.sh_name = name_offset;
    h.sh_type = SHT_STRTAB;
    h.sh_offset = blob_.size();
    h.sh_size = data.size();
    blob_.insert(blob_.end(), data.begin(), data.end());
    shdrs_.push_back(h);
    return static_cast<unsigned>(shdrs_.size() - 1);
  }

  std::vector<uint8_t> blob_;
  std::vector<Elf64_Shdr> shdrs_;
  std::string shstrtab_;
};

template <typename T>
std::string_view bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

Elf64_Sym klp_sym(uint32_t name) {
  Elf64_Sym s{};
  s.st_name = name;
  s.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE);
  s.st_shndx = klp::SHN_LIVEPATCH;
  return s;
}

std::vector<uint8_t> klp_image(uint16_t e_type = ET_DYN) {
  const std::string sym1 = klp::sym_name("main", "helper", 2);
  const std::string sym2 = klp::sym_name("libdemo.so.1", "foo.isra.0", 0);
  std::string strtab = std::string(1, '\0') + sym1 + '\0' + sym2 + '\0';
  std::vector<Elf64_Sym> syms = {Elf64_Sym{}, klp_sym(1), klp_sym(static_cast<uint32_t>(2 + sym1.size()))};
  std::vector<Elf64_Rela> relas = {
      {0x1f, ELF64_R_INFO(1, R_X86_64_PC32), -4},
      {0x28, ELF64_R_INFO(2, R_X86_64_64), 8},
  };
  ElfImage img;
  unsigned str = img.add(".strtab", SHT_STRTAB, strtab);
  unsigned sym = img.add(".symtab", SHT_SYMTAB, bytes_of(syms), str, sizeof(Elf64_Sym));
  img.add(klp::rela_section_name("main", ".text.answer"), SHT_RELA, bytes_of(relas), sym, sizeof(Elf64_Rela),
          SHF_ALLOC | klp::SHF_RELA_LIVEPATCH);
  img.add(".klp.rela.noobject", SHT_RELA, "", sym, sizeof(Elf64_Rela));
  return img.finish(e_type);
}

TEST(PatchModule, KlpRelocationSections) {
  auto elf = elf::ElfFile::from_bytes(klp_image(), "klp.so");
  ASSERT_TRUE(elf.is_ok()) << elf.status().describe();
  auto m = read_patch_module(**elf);
  ASSERT_TRUE(m.is_ok()) << m.status().describe();
  ASSERT_EQ(m->klp_relas.size(), 2u);
  const auto& s = m->klp_relas[0];
  EXPECT_EQ(s.object, "main");
  EXPECT_EQ(s.section, ".text.answer");
  EXPECT_EQ(s.problem, "");
  ASSERT_EQ(s.relocations.size(), 2u);
  EXPECT_EQ(s.relocations[0].offset, 0x1fu);
  EXPECT_EQ(s.relocations[0].type, "R_X86_64_PC32");
  EXPECT_EQ(s.relocations[0].symbol, ".klp.sym.main.helper,2");
  EXPECT_EQ(s.relocations[0].addend, -4);
  EXPECT_EQ(s.relocations[1].type, "R_X86_64_64");
  EXPECT_FALSE(m->klp_relas[1].problem.empty());
}

TEST(PatchModule, KlpSymbols) {
  auto elf = elf::ElfFile::from_bytes(klp_image(), "klp.so");
  ASSERT_TRUE(elf.is_ok());
  auto m = read_patch_module(**elf);
  ASSERT_TRUE(m.is_ok());
  ASSERT_EQ(m->klp_syms.size(), 2u);
  EXPECT_EQ(m->klp_syms[0].object, "main");
  EXPECT_EQ(m->klp_syms[0].symbol, "helper");
  EXPECT_EQ(m->klp_syms[0].sympos, 2u);
  EXPECT_EQ(m->klp_syms[1].object, "libdemo.so.1");
  EXPECT_EQ(m->klp_syms[1].symbol, "foo.isra.0");
  EXPECT_FALSE(m->livepatch);
}

TEST(PatchModule, OnlySharedObjects) {
  auto elf = elf::ElfFile::from_bytes(klp_image(ET_REL), "klp.o");
  ASSERT_TRUE(elf.is_ok());
  EXPECT_EQ(check_shared_object(**elf).code(), ENOEXEC);
}

// ---- pure parsers ----

TEST(PatchModule, ParseModinfo) {
  static constexpr char raw[] = "license=GPL\0\0livepatch=Y\0parm=answer:The answer\0odd\0";
  auto m = parse_modinfo(std::string_view(raw, sizeof raw - 1));
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[1].tag, "livepatch");
  EXPECT_EQ(m[1].value, "Y");
  EXPECT_EQ(m[3].tag, "odd");
  EXPECT_EQ(param_description(m, "answer"), "The answer");
  EXPECT_EQ(param_description(m, "other"), "");
}

TEST(PatchModule, ParseTargetsAndSympos) {
  auto t = parse_targets("main\tabc\nlibdemo.so.1\tdef\n\n");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].object, "libdemo.so.1");
  EXPECT_EQ(t[1].build_id, "def");
  static constexpr char raw[] = "a\tmain\tf\t2\0b\tlibx.so\tg\t1\0";
  auto s = parse_sympos(std::string_view(raw, sizeof raw - 1));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].object, "libx.so");
  EXPECT_EQ(s[1].sympos, "1");
}

// A line of blanks only read f[0] of an empty vector (fuzz/fuzz_metadata).
TEST(PatchModule, ParseTargetsBlankLines) {
  auto t = parse_targets("main\n\t\n \n \t \nlib x\tid\n");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].object, "main");
  EXPECT_EQ(t[0].build_id, "");
  EXPECT_EQ(t[1].object, "lib");
  EXPECT_EQ(t[1].build_id, "x");
}

TEST(PatchModule, TypeNames) {
  EXPECT_EQ(param_type_name(0), "int");
  EXPECT_EQ(param_type_name(7), "charp");
  EXPECT_EQ(param_type_name(99), "unknown type 99");
  EXPECT_EQ(reloc_type_name(R_X86_64_PLT32), "R_X86_64_PLT32");
  EXPECT_EQ(reloc_type_name(200), "R_X86_64_200");
}

}  // namespace
}  // namespace uklp::cli
