// klp_convert_test: uklp-klp-convert end to end, on real files built by
// CMake (fixtures/): a target program with two static `helper`s, a static
// variable and a static table, a target library with a static function,
// and patch modules that reference them.
//
// The converted module is checked three ways: its structure with ElfFile
// (the contract of docs/patch-format.md), `readelf -S -s -r` (no warnings),
// and dlopen(RTLD_NOW) in this process, after which a stand-in runtime
// applies the klp relocations (S + A at bias + r_offset) and calls the
// patched code. The refusals (ambiguous, missing, bad position, PLT call,
// already converted, no build-id) are checked by exit status and message.
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <uklp/livepatch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "elf_file.h"
#include "klp_names.h"

// Stand-ins for libuklp.so's exports, which the patch modules import.
extern "C" UKLP_EXPORT int klp_enable_patch(struct klp_patch*) { return 0; }
extern "C" UKLP_EXPORT int uklp_printk(int, const char*, ...) { return 0; }

namespace uklp {
namespace {

namespace fs = std::filesystem;

// Stand-ins for the target's symbols, which the patch module reaches
// through its klp relocations.
int stand_in_helper_1(int x) { return 100 + x; }
int stand_in_helper_2(int x) { return 200 + x; }
int stand_in_lib_secret(int x) { return 1000 + x; }
int stand_in_counter = 7;
int stand_in_table[4] = {1, 2, 3, 4};

struct Outcome {
  int status = -1;  // exit status
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class KlpConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "klp_convert_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `argv` with stdout/stderr captured in files of the temp directory.
  Outcome run(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    Outcome r;
    if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) == 0) {
      int ws = 0;
      waitpid(pid, &ws, 0);
      r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  Outcome convert(const std::string& in, const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {KLPC_CONVERT, "--target", std::string("main=") + KLPC_TARGET,
                                     "--target", std::string("libklpc_target.so.1=") + KLPC_LIB};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(in);
    argv.push_back(out);
    return run(argv);
  }

  // Converts the good module into the temp directory; returns its path.
  std::string convert_good() {
    std::string out = (dir_ / "livepatch-good.so").string();
    Outcome r = convert(KLPC_PATCH_GOOD, out, {"--verbose"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    verbose_ = r.out;
    return out;
  }

  static std::unique_ptr<elf::ElfFile> open(const std::string& path) {
    auto f = elf::ElfFile::open_path(path);
    EXPECT_TRUE(f) << f.status().describe();
    return f ? std::move(*f) : nullptr;
  }

  void expect_failure(const Outcome& r, const std::string& message) {
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("uklp-klp-convert: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }

  fs::path dir_;
  std::string verbose_;
};

// The entries of a RELA section, by value (a range-for over `*result`
// would outlive the temporary Result).
std::vector<Elf64_Rela> relas(const elf::ElfFile& f, const elf::Section& s) {
  auto r = f.relocations(s);
  EXPECT_TRUE(r) << r.status().describe();
  if (!r) return {};
  return {r->begin(), r->end()};
}

// name -> symbol, for the .klp.sym.* symbols of .symtab
std::map<std::string, elf::Symbol> klp_symbols(const elf::ElfFile& f) {
  std::map<std::string, elf::Symbol> out;
  EXPECT_TRUE(f.for_each_symbol(SHT_SYMTAB, [&](const elf::Symbol& s) {
    if (s.name.starts_with(klp::kSymPrefix)) out.emplace(std::string(s.name), s);
    return true;
  }));
  return out;
}

TEST_F(KlpConvert, WritesKlpRelocationSections) {
  auto f = open(convert_good());
  ASSERT_TRUE(f);
  const elf::Section* symtab = f->section(".symtab");
  ASSERT_NE(symtab, nullptr);
  std::set<std::string> names;
  for (const auto& s : f->sections()) {
    if (!s.name.starts_with(klp::kRelaSectionPrefix)) continue;
    names.emplace(s.name);
    EXPECT_EQ(s.hdr.sh_type, SHT_RELA);
    EXPECT_EQ(s.hdr.sh_flags, klp::SHF_RELA_LIVEPATCH | SHF_INFO_LINK) << s.name;
    EXPECT_EQ(s.hdr.sh_entsize, sizeof(Elf64_Rela));
    EXPECT_EQ(s.hdr.sh_link, symtab->index);
    auto parsed = klp::parse_rela_section_name(s.name);
    ASSERT_TRUE(parsed);
    EXPECT_EQ("." + parsed->section, std::string(f->section_by_index(s.hdr.sh_info)->name));
  }
  EXPECT_EQ(names, (std::set<std::string>{".klp.rela.main.got", ".klp.rela.main.data.rel.ro",
                                          ".klp.rela.libklpc_target%2Eso%2E1.got",
                                          ".klp.rela.libklpc_target%2Eso%2E1.data.rel.ro"}));
}

TEST_F(KlpConvert, WritesKlpSymbols) {
  auto f = open(convert_good());
  ASSERT_TRUE(f);
  auto syms = klp_symbols(*f);
  std::map<std::string, unsigned char> expected = {
      {".klp.sym.main.helper,1", STT_FUNC},
      {".klp.sym.main.helper,2", STT_FUNC},
      {".klp.sym.main.uklp_test_counter,0", STT_OBJECT},
      {".klp.sym.main.uklp_test_table,0", STT_OBJECT},
      {".klp.sym.libklpc_target%2Eso%2E1.lib_secret,0", STT_FUNC},
  };
  ASSERT_EQ(syms.size(), expected.size());
  for (const auto& [name, type] : expected) {
    ASSERT_TRUE(syms.count(name)) << name;
    const auto& s = syms.at(name);
    EXPECT_EQ(s.sym.st_shndx, klp::SHN_LIVEPATCH) << name;
    EXPECT_EQ(s.bind(), STB_GLOBAL) << name;
    EXPECT_EQ(s.type(), type) << name;
    EXPECT_EQ(ELF64_ST_VISIBILITY(s.sym.st_other), STV_DEFAULT);
    EXPECT_EQ(s.sym.st_value, 0u);
    EXPECT_EQ(s.sym.st_size, 0u);
  }
}

// Each klp relocation: R_X86_64_64 against a .klp.sym of its section's
// object, at an r_offset whose .rela.dyn entry is now R_X86_64_NONE.
TEST_F(KlpConvert, ReplacesDynamicRelocationsWithNone) {
  auto f = open(convert_good());
  auto linked = open(KLPC_PATCH_GOOD);
  ASSERT_TRUE(f && linked);
  std::map<uint64_t, Elf64_Rela> dyn;
  for (const auto& r : relas(*f, *f->section(".rela.dyn"))) dyn[r.r_offset] = r;
  size_t klp_relocs = 0;
  for (const auto& s : f->sections()) {
    if (!(s.hdr.sh_flags & klp::SHF_RELA_LIVEPATCH)) continue;
    auto rn = klp::parse_rela_section_name(s.name);
    for (const auto& r : relas(*f, s)) {
      ++klp_relocs;
      EXPECT_EQ(ELF64_R_TYPE(r.r_info), unsigned(R_X86_64_64));
      auto sym = f->symbol(*f->section_by_index(s.hdr.sh_link), ELF64_R_SYM(r.r_info));
      ASSERT_TRUE(sym);
      EXPECT_EQ(klp::parse_sym_name(sym->name)->object, rn->object);
      ASSERT_TRUE(dyn.count(r.r_offset));
      const Elf64_Rela& d = dyn[r.r_offset];
      EXPECT_EQ(d.r_info, ELF64_R_INFO(0, R_X86_64_NONE));
      EXPECT_EQ(d.r_addend, 0);
      if (sym->name == ".klp.sym.main.uklp_test_table,0") {
        EXPECT_EQ(r.r_addend, 8);  // &table[2]
      }
    }
  }
  // GOT slots of helper_a, helper_b, uklp_test_counter and lib_secret, and
  // the two pointers (lib_secret, &uklp_test_table[2]).
  EXPECT_EQ(klp_relocs, 6u);
  // Everything else is untouched: same size of .rela.dyn, same other entries.
  auto before = relas(*linked, *linked->section(".rela.dyn"));
  auto after = relas(*f, *f->section(".rela.dyn"));
  ASSERT_EQ(before.size(), after.size());
  size_t changed = 0;
  for (size_t i = 0; i < before.size(); ++i) changed += std::memcmp(&before[i], &after[i], sizeof before[i]) != 0;
  EXPECT_EQ(changed, klp_relocs);
}

TEST_F(KlpConvert, KeepsTheLoadedBytes) {
  auto f = open(convert_good());
  auto linked = open(KLPC_PATCH_GOOD);
  ASSERT_TRUE(f && linked);
  EXPECT_EQ(f->program_headers().size(), linked->program_headers().size());
  const auto& ph = f->program_headers();
  for (size_t i = 0; i < ph.size(); ++i)
    EXPECT_EQ(std::memcmp(&ph[i], &linked->program_headers()[i], sizeof ph[i]), 0);
  // Sections keep their indices, names and addresses.
  for (const auto& s : linked->sections()) {
    const auto* t = f->section_by_index(s.index);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->name, s.name);
    EXPECT_EQ(t->hdr.sh_addr, s.hdr.sh_addr);
  }
}

TEST_F(KlpConvert, RecordsTargetBuildIds) {
  auto f = open(convert_good());
  auto main_file = open(KLPC_TARGET);
  auto lib_file = open(KLPC_LIB);
  ASSERT_TRUE(f && main_file && lib_file);
  const elf::Section* s = f->section(klp::kTargetsSection);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->hdr.sh_type, SHT_PROGBITS);
  EXPECT_EQ(s->hdr.sh_flags & SHF_ALLOC, 0u);
  auto data = *f->section_data(*s);
  EXPECT_EQ(std::string(data.begin(), data.end()),
            "main\t" + main_file->build_id() + "\nlibklpc_target.so.1\t" + lib_file->build_id() + "\n");
}

TEST_F(KlpConvert, VerboseListsEachKlpRelocation) {
  convert_good();
  EXPECT_NE(verbose_.find(".klp.rela.main.got: "), std::string::npos) << verbose_;
  EXPECT_NE(verbose_.find(".klp.sym.main.helper,2+0 (was R_X86_64_GLOB_DAT against 'helper_b')"),
            std::string::npos)
      << verbose_;
  EXPECT_NE(verbose_.find(".klp.sym.main.uklp_test_table,0+8 (was R_X86_64_64 against 'uklp_test_table')"),
            std::string::npos)
      << verbose_;
  EXPECT_EQ(std::count(verbose_.begin(), verbose_.end(), '\n'), 6);
}

TEST_F(KlpConvert, ReadelfAcceptsTheOutput) {
  std::string out = convert_good();
  Outcome r = run({KLPC_READELF, "-W", "-S", "-s", "-r", out});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.find("Warning"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OS [0xff20] .klp.sym.main.helper,1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Relocation section '.klp.rela.main.got'"), std::string::npos);
}

// The module loads as is (the klp GOT slots stay NULL), and once the klp
// relocations are applied the way the runtime applies them, its code
// reaches the symbols they name.
TEST_F(KlpConvert, LoadsAndRunsAfterApplyingKlpRelocations) {
  std::string out = convert_good();
  void* h = dlopen(out.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  link_map* lm = nullptr;
  ASSERT_EQ(dlinfo(h, RTLD_DI_LINKMAP, &lm), 0);
  auto f = open(out);
  std::map<std::tuple<std::string, std::string, unsigned long>, uintptr_t> symbols = {
      {{"main", "helper", 1}, reinterpret_cast<uintptr_t>(&stand_in_helper_1)},
      {{"main", "helper", 2}, reinterpret_cast<uintptr_t>(&stand_in_helper_2)},
      {{"main", "uklp_test_counter", 0}, reinterpret_cast<uintptr_t>(&stand_in_counter)},
      {{"main", "uklp_test_table", 0}, reinterpret_cast<uintptr_t>(&stand_in_table)},
      {{"libklpc_target.so.1", "lib_secret", 0}, reinterpret_cast<uintptr_t>(&stand_in_lib_secret)},
  };
  for (const auto& s : f->sections()) {
    if (!(s.hdr.sh_flags & klp::SHF_RELA_LIVEPATCH)) continue;
    bool got = klp::parse_rela_section_name(s.name)->section == "got";
    for (const auto& r : relas(*f, s)) {
      auto sym = *f->symbol(*f->section_by_index(s.hdr.sh_link), ELF64_R_SYM(r.r_info));
      auto ks = *klp::parse_sym_name(sym.name);
      auto* slot = reinterpret_cast<uint64_t*>(lm->l_addr + r.r_offset);
      if (got) {
        EXPECT_EQ(*slot, 0u) << "GOT slot of " << sym.name << " was written by ld.so";
      }
      // RELRO: the slot is read-only after dlopen(); the runtime pokes it.
      auto page = reinterpret_cast<uintptr_t>(slot) & ~uintptr_t(4095);
      ASSERT_EQ(mprotect(reinterpret_cast<void*>(page), 8192, PROT_READ | PROT_WRITE), 0);
      *slot = symbols.at({ks.object, ks.name, ks.sympos}) + r.r_addend;
    }
  }
  auto patched = reinterpret_cast<int (*)(int)>(dlsym(h, "livepatch_other"));
  ASSERT_NE(patched, nullptr);
  EXPECT_EQ(patched(1), 101 + 201 + 7 + 1001);
  auto secret = static_cast<int (**)(int)>(dlsym(h, "livepatch_secret_ptr"));
  EXPECT_EQ(*secret, &stand_in_lib_secret);
  auto third = static_cast<int**>(dlsym(h, "livepatch_table_third"));
  EXPECT_EQ(*third, &stand_in_table[2]);
  dlclose(h);
}

TEST_F(KlpConvert, ConvertsInPlaceAndKeepsTheModeExecutable) {
  std::string path = (dir_ / "inplace.so").string();
  fs::copy_file(KLPC_PATCH_GOOD, path);
  Outcome r = convert(path, path);
  ASSERT_EQ(r.status, 0) << r.err;
  auto f = open(path);
  ASSERT_TRUE(f);
  EXPECT_NE(f->section(".klp.rela.main.got"), nullptr);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_NE(st.st_mode & S_IXUSR, 0u);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 3);  // + stdout, stderr
}

// A module without .symtab gets one, holding only the klp symbols.
TEST_F(KlpConvert, ConvertsAStrippedModule) {
  std::string stripped = (dir_ / "stripped.so").string();
  fs::copy_file(KLPC_PATCH_GOOD, stripped);
  ASSERT_EQ(run({KLPC_STRIP, stripped}).status, 0);
  ASSERT_FALSE(open(stripped)->has_symtab());
  std::string out = (dir_ / "out.so").string();
  Outcome r = convert(stripped, out);
  ASSERT_EQ(r.status, 0) << r.err;
  auto f = open(out);
  ASSERT_TRUE(f);
  EXPECT_EQ(klp_symbols(*f).size(), 5u);
  EXPECT_EQ(f->section(".symtab")->hdr.sh_info, 1u);
  Outcome re = run({KLPC_READELF, "-W", "-S", "-s", "-r", out});
  EXPECT_EQ(re.status, 0);
  EXPECT_EQ(re.err, "");
  void* h = dlopen(out.c_str(), RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(h, nullptr) << dlerror();
  if (h) dlclose(h);
}

TEST_F(KlpConvert, ModulesBuiltByCMakeAreConverted) {
  auto f = open(KLPC_MODULE);
  ASSERT_TRUE(f);
  EXPECT_NE(f->section(klp::kTargetsSection), nullptr);
  EXPECT_NE(f->section(".klp.rela.main.got"), nullptr);
  EXPECT_EQ(klp_symbols(*f).size(), 5u);
  EXPECT_EQ(fs::path(KLPC_MODULE).filename(), "livepatch-klpc.so");
}

TEST_F(KlpConvert, WarnsAboutALibraryNameTheRuntimeCannotMatch) {
  Outcome r = run({KLPC_CONVERT, "--target", std::string("main=") + KLPC_TARGET, "--target",
                   std::string("libwrong.so=") + KLPC_LIB, KLPC_PATCH_GOOD, (dir_ / "out.so").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("uklp-klp-convert: warning: target 'libwrong.so'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("DT_SONAME ('libklpc_target.so.1')"), std::string::npos) << r.err;
}

TEST_F(KlpConvert, RefusesAnAmbiguousSymbol) {
  Outcome r = convert(KLPC_PATCH_AMBIGUOUS, (dir_ / "out.so").string());
  expect_failure(r, "symbol 'helper' is ambiguous (main: [1] 0x");
  EXPECT_NE(r.err.find("(target_main.c), [2] 0x"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("KLP_SYMPOS(helper, \"<object>\", \"helper\", <position>)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out.so"));
}

TEST_F(KlpConvert, RefusesAMissingSymbol) {
  Outcome r = convert(KLPC_PATCH_MISSING, (dir_ / "out.so").string());
  expect_failure(r, "undefined symbol 'uklp_no_such_symbol' is in no target and no library the patch needs");
}

TEST_F(KlpConvert, RefusesASymbolOfAnObjectThatIsNoTarget) {
  Outcome r = run({KLPC_CONVERT, "--target", std::string("main=") + KLPC_TARGET, KLPC_PATCH_GOOD,
               (dir_ / "out.so").string()});
  expect_failure(r, "undefined symbol 'lib_secret' is in no target and no library the patch needs");
}

TEST_F(KlpConvert, RefusesABadSymbolPosition) {
  Outcome r = convert(KLPC_PATCH_BADPOS, (dir_ / "out.so").string());
  expect_failure(r, "KLP_SYMPOS(helper_c): symbol position 3 for symbol 'helper' in object 'main'");
}

TEST_F(KlpConvert, RefusesAPltCall) {
  Outcome r = convert(KLPC_PATCH_PLT, (dir_ / "out.so").string());
  expect_failure(r, "R_X86_64_JUMP_SLOT");
  EXPECT_NE(r.err.find("compile patch modules with -fno-plt"), std::string::npos) << r.err;
}

TEST_F(KlpConvert, RefusesAnAlreadyConvertedModule) {
  std::string once = convert_good();
  Outcome r = convert(once, (dir_ / "twice.so").string());
  expect_failure(r, "is already converted");
}

TEST_F(KlpConvert, RefusesATargetWithoutBuildId) {
  Outcome r = run({KLPC_CONVERT, "--target", std::string("main=") + KLPC_TARGET_NOBUILDID, KLPC_PATCH_AMBIGUOUS,
               (dir_ / "out.so").string()});
  expect_failure(r, "has no GNU build-id");
}

TEST_F(KlpConvert, RefusesAMissingRequiredTarget) {
  Outcome r = convert(KLPC_PATCH_GOOD, (dir_ / "out.so").string(), {"--require-targets", "main,libother.so"});
  expect_failure(r, "object 'libother.so' is required");
}

TEST_F(KlpConvert, RefusesBadCommandLines) {
  expect_failure(run({KLPC_CONVERT, KLPC_PATCH_GOOD, (dir_ / "out.so").string()}), "--target");
  expect_failure(run({KLPC_CONVERT, "--target", "main", KLPC_PATCH_GOOD, (dir_ / "out.so").string()}),
                 "OBJECT=PATH");
  expect_failure(run({KLPC_CONVERT, "--target", std::string("main=") + KLPC_TARGET, KLPC_PATCH_GOOD}),
                 "expected IN.so and OUT.so");
}

}  // namespace
}  // namespace uklp
