// symbols_test.cc: runtime/symbols.cc against real objects. symbols.cc is
// compiled into this program, which is the main program; the helper
// libraries (CMakeLists.txt) are dlopen()ed:
//   libsymtest_dup.so     two static `helper`s (dup_a.c, dup_b.c), a static
//                         `counter`, a TLS variable; padded
//   libsymtest_dup_v2.so  the same sources, another build (build-id)
//   libsymtest_nopad.so   no pads, no DT_SONAME
//   libsymtest_many.so    1000 local names defined three times each (many.S
//                         assembled three times), 3000 global ones
//   libsymtest_empty.so   no symbol at all
#include "symbols.h"

#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "elf_file.h"
#include "symtest_util.h"

extern "C" void* symtest_main_padded_address(void);
// C linkage: looked up by its plain name in the main program.
extern "C" __attribute__((noipa, used)) int symtest_main_local(int x) { return x * 3; }

namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using uklp::rt::LoadedObject;
using uklp::rt::SymbolInfo;
using symtest::Library;
using symtest::TempDir;

constexpr const char* kDup = "libsymtest_dup.so";

// The helper libraries stay loaded for the whole program.
const Library& dup_lib() {
  static Library* lib = new Library(SYMTEST_DUP);
  return *lib;
}
const Library& nopad_lib() {
  static Library* lib = new Library(SYMTEST_NOPAD);
  return *lib;
}

LoadedObject dup_object() {
  auto o = dup_lib().object("dup_a_call");
  EXPECT_TRUE(o.is_ok()) << o.status().describe();
  return o.is_ok() ? *o : LoadedObject{};
}

const Library& many_lib() {
  static Library* lib = new Library(SYMTEST_MANY);
  return *lib;
}

// A name of many.S that each of its three translation units defines.
constexpr const char* kShared7 = "_ZN7symtest4many11shared_nameILi7EEEvv";

// Restores map_files use when a test that disabled it ends.
struct MapFilesDisabled {
  MapFilesDisabled() { uklp::rt::for_testing::set_map_files_enabled(false); }
  ~MapFilesDisabled() { uklp::rt::for_testing::set_map_files_enabled(true); }
};

// ------------------------------------------------------------------ objects

TEST(Objects, MainComesFirstAndIsNamedMain) {
  auto objs = uklp::rt::loaded_objects();
  ASSERT_FALSE(objs.empty());
  EXPECT_TRUE(objs[0].is_main);
  EXPECT_EQ(objs[0].name, "main");
  EXPECT_EQ(objs[0].path, "");
  EXPECT_EQ(objs[0].build_id, uklp::elf::ElfFile::open_path("/proc/self/exe").value()->build_id());
  EXPECT_EQ(std::count_if(objs.begin(), objs.end(), [](auto& o) { return o.is_main; }), 1);
  auto main = reinterpret_cast<uintptr_t>(&symtest_main_local);
  EXPECT_TRUE(objs[0].start <= main && main < objs[0].end);
}

TEST(Objects, FindObjectMain) {
  for (const char* name : {static_cast<const char*>(nullptr), "main"}) {
    auto o = uklp::rt::find_object(name);
    ASSERT_TRUE(o.is_ok()) << o.status().describe();
    EXPECT_TRUE(o->is_main);
  }
}

TEST(Objects, VdsoIsLeftOut) {
  uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
  if (!vdso) GTEST_SKIP() << "no vDSO";
  for (const auto& o : uklp::rt::loaded_objects()) {
    EXPECT_NE(o.name, "linux-vdso.so.1");
    EXPECT_FALSE(o.start <= vdso && vdso < o.end) << o.name;
  }
  EXPECT_EQ(uklp::rt::object_containing(vdso).status().code(), ENOENT);
}

TEST(Objects, LibraryIsNamedBySoname) {
  ASSERT_TRUE(dup_lib().ok()) << dlerror();
  auto o = uklp::rt::find_object(kDup);
  ASSERT_TRUE(o.is_ok()) << o.status().describe();
  EXPECT_EQ(o->name, kDup);
  EXPECT_EQ(o->soname, kDup);
  EXPECT_EQ(o->path, SYMTEST_DUP);
  EXPECT_FALSE(o->is_main);
  EXPECT_EQ(o->build_id, uklp::elf::ElfFile::open_path(SYMTEST_DUP).value()->build_id());
  EXPECT_EQ(o->build_id.size(), 40u);  // --build-id=sha1
  uintptr_t helper = dup_lib().address_from("dup_a_helper_address");
  EXPECT_TRUE(o->start <= helper && helper < o->end);
  EXPECT_EQ(o->start % 4096, 0u);
}

TEST(Objects, LibraryWithoutSonameIsNamedByBaseName) {
  ASSERT_TRUE(nopad_lib().ok()) << dlerror();
  auto o = uklp::rt::find_object("libsymtest_nopad.so");
  ASSERT_TRUE(o.is_ok()) << o.status().describe();
  EXPECT_EQ(o->soname, "");
  EXPECT_EQ(o->name, "libsymtest_nopad.so");
}

TEST(Objects, MatchesRules) {
  LoadedObject main;
  main.is_main = true;
  main.name = "main";
  EXPECT_TRUE(main.matches(nullptr));
  EXPECT_TRUE(main.matches("main"));
  EXPECT_FALSE(main.matches(""));
  EXPECT_FALSE(main.matches("libc.so.6"));

  LoadedObject lib;
  lib.name = lib.soname = "libfoo.so.1";
  lib.path = "/usr/lib/libfoo.so.1.2.3";
  EXPECT_FALSE(lib.matches(nullptr));
  EXPECT_FALSE(lib.matches("main"));
  EXPECT_FALSE(lib.matches(""));
  EXPECT_TRUE(lib.matches("libfoo.so.1"));
  EXPECT_TRUE(lib.matches("libfoo.so.1.2.3"));
  EXPECT_FALSE(lib.matches("libfoo.so"));
  EXPECT_FALSE(lib.matches("/usr/lib/libfoo.so.1.2.3"));
}

TEST(Objects, NotLoadedIsENOENT) {
  auto o = uklp::rt::find_object("libnotloaded.so");
  ASSERT_FALSE(o.is_ok());
  EXPECT_EQ(o.status().code(), ENOENT);
  EXPECT_EQ(o.status().message(), "object 'libnotloaded.so' is not loaded");
}

TEST(Objects, ObjectContaining) {
  auto o = uklp::rt::object_containing(dup_lib().address_from("dup_b_helper_address"));
  ASSERT_TRUE(o.is_ok()) << o.status().describe();
  EXPECT_EQ(o->name, kDup);
  auto main = uklp::rt::object_containing(reinterpret_cast<uintptr_t>(&symtest_main_local));
  ASSERT_TRUE(main.is_ok());
  EXPECT_TRUE(main->is_main);
  EXPECT_EQ(uklp::rt::object_containing(16).status().code(), ENOENT);
}

// ------------------------------------------------------------------- lookup

TEST(Lookup, AmbiguousWithoutSympos) {
  auto s = uklp::rt::lookup_symbol(dup_object(), "helper", 0);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), EINVAL);
  const std::string m = s.status().message();
  EXPECT_THAT(m, HasSubstr("unresolvable ambiguity for symbol 'helper' in object 'libsymtest_dup.so': "
                           "2 candidates: helper at 0x"));
  EXPECT_THAT(m, HasSubstr("; use old_sympos 1..2"));
  char a[64];
  snprintf(a, sizeof a, "helper at 0x%lx size 0x", dup_lib().address_from("dup_a_helper_address"));
  EXPECT_THAT(m, HasSubstr(a));
}

TEST(Lookup, SymposCountsInTableOrder) {
  auto first = uklp::rt::lookup_symbol(dup_object(), "helper", 1);
  auto second = uklp::rt::lookup_symbol(dup_object(), "helper", 2);
  ASSERT_TRUE(first.is_ok()) << first.status().describe();
  ASSERT_TRUE(second.is_ok()) << second.status().describe();
  EXPECT_EQ(first->address, dup_lib().address_from("dup_a_helper_address"));
  EXPECT_EQ(second->address, dup_lib().address_from("dup_b_helper_address"));
  for (const SymbolInfo* s : {&*first, &*second}) {
    EXPECT_EQ(s->name, "helper");
    EXPECT_EQ(s->type, STT_FUNC);
    EXPECT_TRUE(s->local);
    EXPECT_GT(s->size, 0u);
    EXPECT_EQ(s->object, kDup);
  }
}

TEST(Lookup, SymposBeyondTheCount) {
  auto s = uklp::rt::lookup_symbol(dup_object(), "helper", 3);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), EINVAL);
  EXPECT_EQ(s.status().message(),
            "symbol position 3 for symbol 'helper' in object 'libsymtest_dup.so' not found (2 occurrences)");
}

TEST(Lookup, UniqueSymbolWithSymposZeroOrOne) {
  uintptr_t want = dup_lib().symbol("dup_a_call");
  for (unsigned long pos : {0ul, 1ul}) {
    auto s = uklp::rt::lookup_symbol(dup_object(), "dup_a_call", pos);
    ASSERT_TRUE(s.is_ok()) << s.status().describe();
    EXPECT_EQ(s->address, want);
    EXPECT_FALSE(s->local);
  }
  auto s = uklp::rt::lookup_symbol(dup_object(), "dup_a_call", 2);
  EXPECT_THAT(s.status().message(), HasSubstr("not found (1 occurrence)"));
}

TEST(Lookup, StaticVariable) {
  auto s = uklp::rt::lookup_symbol(dup_object(), "counter", 0);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_EQ(s->address, dup_lib().address_from("dup_a_counter_address"));
  EXPECT_EQ(s->type, STT_OBJECT);
  EXPECT_EQ(s->size, sizeof(int));
  EXPECT_TRUE(s->local);
}

TEST(Lookup, TlsVariableIsCountedWithItsOffset) {
  auto s = uklp::rt::lookup_symbol(dup_object(), "tls_counter", 0);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_EQ(s->type, STT_TLS);
  EXPECT_LT(s->address, 4096u);  // an offset in the TLS block, not an address
}

TEST(Lookup, NotFound) {
  auto s = uklp::rt::lookup_symbol(dup_object(), "no_such_symbol", 0);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), EINVAL);
  EXPECT_EQ(s.status().message(), "symbol 'no_such_symbol' not found in symbol table of object 'libsymtest_dup.so'");
  // Section and file symbols are not counted (kallsyms has none).
  EXPECT_FALSE(uklp::rt::lookup_symbol(dup_object(), "dup_a.c", 0).is_ok());
  // Undefined symbols are not either: the library only references it.
  EXPECT_FALSE(uklp::rt::lookup_symbol(dup_object(), "__cxa_finalize", 0).is_ok());
}

TEST(Lookup, MainProgram) {
  auto main = uklp::rt::find_object(nullptr);
  ASSERT_TRUE(main.is_ok());
  auto s = uklp::rt::lookup_symbol(*main, "symtest_main_local", 0);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_EQ(s->address, reinterpret_cast<uintptr_t>(&symtest_main_local));
  EXPECT_EQ(s->object, "main");
  auto missing = uklp::rt::lookup_symbol(*main, "no_such_symbol", 0);
  EXPECT_EQ(missing.status().message(), "symbol 'no_such_symbol' not found in symbol table of object 'main'");
}

TEST(Lookup, UnloadedObjectIsENOENT) {
  LoadedObject gone;
  gone.name = "libgone.so";
  gone.start = 4096;
  auto s = uklp::rt::lookup_symbol(gone, "x", 0);
  EXPECT_EQ(s.status().code(), ENOENT);
  EXPECT_EQ(s.status().message(), "object 'libgone.so' is not loaded");
}

TEST(Lookup, TablesAreCached) {
  LoadedObject obj = dup_object();
  ASSERT_TRUE(uklp::rt::lookup_symbol(obj, "dup_a_call", 0).is_ok());
  size_t tables = uklp::rt::for_testing::cached_table_count();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(uklp::rt::lookup_symbol(obj, "helper", 1).is_ok());
  EXPECT_EQ(uklp::rt::for_testing::cached_table_count(), tables);
}

// --------------------------------------------------------------- name index

// The counted symbols of the .symtab of `path`, loaded as `obj`, read the
// slow way: name -> their addresses in table order as lookup_symbol() reports
// them, nullopt for a st_value of 0 ("not found"). symbols.h's rules, restated.
using Occurrences = std::map<std::string, std::vector<std::optional<uintptr_t>>>;

Occurrences counted_symbols(const std::string& path, const LoadedObject& obj) {
  Occurrences out;
  auto file = uklp::elf::ElfFile::open_path(path);
  EXPECT_TRUE(file.is_ok()) << file.status().describe();
  if (!file.is_ok()) return out;
  auto status = (*file)->for_each_symbol(SHT_SYMTAB, [&](const uklp::elf::Symbol& s) {
    unsigned char t = s.type();
    bool counted = t == STT_FUNC || t == STT_OBJECT || t == STT_GNU_IFUNC || t == STT_TLS || t == STT_NOTYPE;
    if (!s.defined() || s.name.empty() || !counted) return true;
    std::optional<uintptr_t> address = s.sym.st_value + obj.bias;
    if (t == STT_TLS || s.sym.st_shndx == SHN_ABS) address = s.sym.st_value;
    if (t != STT_TLS && s.sym.st_value == 0) address.reset();
    out[std::string(s.name)].push_back(address);
    return true;
  });
  EXPECT_TRUE(status.is_ok()) << status.describe();
  return out;
}

// lookup_symbol(name, sympos) finds `want` (nullopt: "not found").
void expect_resolves(const LoadedObject& obj, const std::string& name, unsigned long sympos,
                     std::optional<uintptr_t> want) {
  auto s = uklp::rt::lookup_symbol(obj, name, sympos);
  if (!want) {
    EXPECT_THAT(s.status().message(), HasSubstr("symbol '" + name + "' not found")) << "sympos " << sympos;
    return;
  }
  ASSERT_TRUE(s.is_ok()) << s.status().describe() << " (sympos " << sympos << ")";
  EXPECT_EQ(s->address, *want) << name << " sympos " << sympos;
  EXPECT_EQ(s->name, name);
}

// Every name of the object by every sympos, 0 and one past the last
// included, against the file read the slow way.
void expect_every_sympos(const std::string& path, const LoadedObject& obj) {
  Occurrences names = counted_symbols(path, obj);
  ASSERT_FALSE(names.empty());
  for (const auto& [name, addresses] : names) {
    size_t n = addresses.size();
    for (size_t pos = 1; pos <= n; ++pos) expect_resolves(obj, name, pos, addresses[pos - 1]);
    if (n == 1) {
      expect_resolves(obj, name, 0, addresses[0]);
    } else {
      EXPECT_THAT(uklp::rt::lookup_symbol(obj, name, 0).status().message(),
                  HasSubstr("ambiguity for symbol '" + name + "' in object '" + obj.name + "': " +
                            std::to_string(n) + " candidates"));
    }
    EXPECT_THAT(uklp::rt::lookup_symbol(obj, name, n + 1).status().message(),
                HasSubstr("not found (" + std::to_string(n) + (n == 1 ? " occurrence)" : " occurrences)")));
    if (::testing::Test::HasFailure()) return;  // one name's failures, not thousands
  }
}

TEST(NameIndex, EveryNameAndSymposOfALibraryWithDuplicates) {
  ASSERT_TRUE(many_lib().ok()) << dlerror();
  auto obj = many_lib().object("symtest_many_1_0");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  // The library is what this test is about: names defined three times.
  Occurrences names = counted_symbols(SYMTEST_MANY, *obj);
  ASSERT_EQ(names[kShared7].size(), 3u);
  EXPECT_GT(names.size(), 4000u);
  expect_every_sympos(SYMTEST_MANY, *obj);
}

TEST(NameIndex, EveryNameAndSymposOfTheMainProgram) {
  auto main = uklp::rt::find_object(nullptr);
  ASSERT_TRUE(main.is_ok()) << main.status().describe();
  expect_every_sympos("/proc/self/exe", *main);
}

TEST(NameIndex, SymposFollowsLinkOrder) {
  ASSERT_TRUE(many_lib().ok()) << dlerror();
  auto obj = many_lib().object("symtest_many_1_0");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  // many.S's units are linked in order 1, 2, 3, one `ret` per function:
  // unit 2's copy of each name lies 2000 bytes after unit 1's.
  std::vector<uintptr_t> addresses;
  for (unsigned long pos : {1ul, 2ul, 3ul}) {
    auto s = uklp::rt::lookup_symbol(*obj, kShared7, pos);
    ASSERT_TRUE(s.is_ok()) << s.status().describe();
    EXPECT_TRUE(s->local);
    addresses.push_back(s->address);
  }
  EXPECT_EQ(addresses[1] - addresses[0], 2000u);
  EXPECT_EQ(addresses[2] - addresses[1], 2000u);
  auto s = uklp::rt::lookup_symbol(*obj, kShared7, 0);
  EXPECT_THAT(s.status().message(), HasSubstr("3 candidates: " + std::string(kShared7) + " at "));
}

TEST(NameIndex, MissingNames) {
  ASSERT_TRUE(many_lib().ok()) << dlerror();
  auto obj = many_lib().object("symtest_many_1_0");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  const std::string shared = kShared7;
  // Prefixes, extensions and near misses of present names, a name of another
  // object, a file symbol and the empty name.
  const std::vector<std::string> missing = {shared.substr(0, shared.size() - 1), shared + "x",
                                            "symtest_many_1_", "symtest_many_4_0", "Symtest_many_1_0",
                                            "dup_a_call", "many.S.o", ""};
  for (const std::string& name : missing) {
    for (unsigned long pos : {0ul, 1ul}) {
      auto s = uklp::rt::lookup_symbol(*obj, name, pos);
      ASSERT_FALSE(s.is_ok()) << "'" << name << "' found";
      EXPECT_EQ(s.status().code(), EINVAL);
      EXPECT_EQ(s.status().message(),
                "symbol '" + name + "' not found in symbol table of object 'libsymtest_many.so'");
    }
  }
}

TEST(NameIndex, ObjectWithoutSymbols) {
  Library lib(SYMTEST_EMPTY);
  ASSERT_TRUE(lib.ok()) << dlerror();
  auto obj = uklp::rt::find_object("libsymtest_empty.so");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  for (unsigned long pos : {0ul, 1ul, 2ul}) {
    auto s = uklp::rt::lookup_symbol(*obj, "anything", pos);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.status().code(), EINVAL);
    EXPECT_EQ(s.status().message(),
              "symbol 'anything' not found in symbol table of object 'libsymtest_empty.so' (it has no "
              ".symtab and no separate debug info was found: only .dynsym)");
  }
  auto at = uklp::rt::symbol_at(obj->start);
  EXPECT_EQ(at.status().code(), ENOENT);
  EXPECT_THAT(at.status().message(), HasSubstr("no symbol of object 'libsymtest_empty.so' contains address"));
  EXPECT_FALSE(uklp::rt::has_patchable_pad(*obj, obj->start + 14));
}

// --------------------------------------------------------------------- pads

TEST(Pads, PaddedFunctions) {
  LoadedObject obj = dup_object();
  uintptr_t a = dup_lib().address_from("dup_a_helper_address");
  uintptr_t b = dup_lib().address_from("dup_b_helper_address");
  EXPECT_TRUE(uklp::rt::has_patchable_pad(obj, a));
  EXPECT_TRUE(uklp::rt::has_patchable_pad(obj, b));
  EXPECT_TRUE(uklp::rt::has_patchable_pad(obj, dup_lib().symbol("dup_a_call")));
  EXPECT_FALSE(uklp::rt::has_patchable_pad(obj, a + 1));
  EXPECT_FALSE(uklp::rt::has_patchable_pad(obj, a - 14));
  // GCC: the 14 pre-entry bytes and the 2 at the entry are NOPs.
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(a)[-1], 0x90);
}

TEST(Pads, UnpaddedLibrary) {
  auto obj = nopad_lib().object("nopad_call");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  EXPECT_FALSE(uklp::rt::has_patchable_pad(*obj, nopad_lib().address_from("nopad_helper_address")));
  EXPECT_FALSE(uklp::rt::has_patchable_pad(*obj, nopad_lib().symbol("nopad_call")));
}

TEST(Pads, MainProgram) {
  auto main = uklp::rt::find_object(nullptr);
  ASSERT_TRUE(main.is_ok());
  EXPECT_TRUE(uklp::rt::has_patchable_pad(*main, reinterpret_cast<uintptr_t>(symtest_main_padded_address())));
  EXPECT_FALSE(uklp::rt::has_patchable_pad(*main, reinterpret_cast<uintptr_t>(&symtest_main_local)));
}

// ---------------------------------------------------------------- symbol_at

TEST(SymbolAt, InsideAFunction) {
  uintptr_t b = dup_lib().address_from("dup_b_helper_address");
  for (uintptr_t addr : {b, b + 3}) {
    auto s = uklp::rt::symbol_at(addr);
    ASSERT_TRUE(s.is_ok()) << s.status().describe();
    EXPECT_EQ(s->name, "helper");
    EXPECT_EQ(s->address, b);
    EXPECT_EQ(s->object, kDup);
  }
}

TEST(SymbolAt, InsideAVariable) {
  uintptr_t counter = dup_lib().address_from("dup_a_counter_address");
  auto s = uklp::rt::symbol_at(counter + 2);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_EQ(s->name, "counter");
  EXPECT_EQ(s->address, counter);
}

TEST(SymbolAt, MainProgram) {
  auto s = uklp::rt::symbol_at(reinterpret_cast<uintptr_t>(&symtest_main_local) + 1);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_EQ(s->name, "symtest_main_local");
  EXPECT_EQ(s->object, "main");
}

TEST(SymbolAt, NoSymbol) {
  // The ELF header at the start of the library is in no symbol.
  auto s = uklp::rt::symbol_at(dup_object().start + 1);
  EXPECT_EQ(s.status().code(), ENOENT);
  EXPECT_EQ(uklp::rt::symbol_at(16).status().code(), ENOENT);
}

TEST(SymbolAt, Vdso) {
  uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
  if (!vdso) GTEST_SKIP() << "no vDSO";
  // Find __vdso_clock_gettime the slow way, from the image in memory.
  auto image = uklp::elf::ElfFile::from_bytes({reinterpret_cast<const uint8_t*>(vdso), 2 * 4096}, "vdso");
  ASSERT_TRUE(image.is_ok()) << image.status().describe();
  uint64_t value = 0, load_vaddr = 0;
  for (const auto& ph : (*image)->program_headers())
    if (ph.p_type == PT_LOAD) load_vaddr = ph.p_vaddr;
  ASSERT_TRUE((*image)->for_each_symbol(SHT_DYNSYM, [&](const uklp::elf::Symbol& s) {
    if (s.name == "__vdso_clock_gettime") value = s.sym.st_value;
    return true;
  }));
  ASSERT_NE(value, 0u);
  auto s = uklp::rt::symbol_at(vdso - load_vaddr + value + 1);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_THAT(s->name, MatchesRegex(".*clock_gettime"));
  EXPECT_EQ(s->object, "linux-vdso.so.1");
}

// The functions of many.S by address, read from the file (one `ret` each:
// no two share an address), without those of the C start files.
std::map<uintptr_t, std::string> many_functions(const LoadedObject& obj) {
  std::map<uintptr_t, std::string> out;
  auto file = uklp::elf::ElfFile::open_path(SYMTEST_MANY);
  EXPECT_TRUE(file.is_ok()) << file.status().describe();
  if (!file.is_ok()) return out;
  EXPECT_TRUE((*file)->for_each_symbol(SHT_SYMTAB, [&](const uklp::elf::Symbol& s) {
    bool of_many = s.name.starts_with("symtest_many_") || s.name.starts_with("_ZN7symtest4many");
    if (s.type() == STT_FUNC && s.defined() && of_many) out[s.sym.st_value + obj.bias] = std::string(s.name);
    return true;
  }));
  return out;
}

TEST(SymbolAt, AfterLookupsBuildsTheAddressIndex) {
  // A table of its own, read here by a lookup first.
  symtest::LoadedCopy copy(SYMTEST_MANY, "libmany_lookups_first.so");
  ASSERT_TRUE(copy.ok()) << dlerror();
  const Library& lib = copy.lib;
  auto obj = lib.object("symtest_many_2_5");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  size_t indexed = uklp::rt::for_testing::address_indexed_table_count();
  auto s = uklp::rt::lookup_symbol(*obj, "symtest_many_2_5", 0);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_EQ(s->address, lib.symbol("symtest_many_2_5"));
  EXPECT_EQ(uklp::rt::for_testing::address_indexed_table_count(), indexed) << "lookups built it";

  auto functions = many_functions(*obj);
  ASSERT_EQ(functions.size(), 6000u);
  for (const auto& [address, name] : functions) {
    auto at = uklp::rt::symbol_at(address);
    ASSERT_TRUE(at.is_ok()) << at.status().describe();
    EXPECT_EQ(at->name, name);
    EXPECT_EQ(at->address, address);
    EXPECT_EQ(at->size, 1u);
    EXPECT_EQ(at->object, "libsymtest_many.so");
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(uklp::rt::for_testing::address_indexed_table_count(), indexed + 1);
}

TEST(SymbolAt, BeforeAnyLookup) {
  symtest::LoadedCopy copy(SYMTEST_MANY, "libmany_symbol_at_first.so");
  ASSERT_TRUE(copy.ok()) << dlerror();
  const Library& lib = copy.lib;
  size_t tables = uklp::rt::for_testing::cached_table_count();
  size_t indexed = uklp::rt::for_testing::address_indexed_table_count();
  uintptr_t f = lib.symbol("symtest_many_3_999");
  auto at = uklp::rt::symbol_at(f);
  ASSERT_TRUE(at.is_ok()) << at.status().describe();
  EXPECT_EQ(at->name, "symtest_many_3_999");
  EXPECT_EQ(uklp::rt::for_testing::cached_table_count(), tables + 1);
  EXPECT_EQ(uklp::rt::for_testing::address_indexed_table_count(), indexed + 1);
  // The table symbol_at() read serves lookups, and the index is built once.
  auto obj = lib.object("symtest_many_3_999");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  auto s = uklp::rt::lookup_symbol(*obj, kShared7, 3);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  auto again = uklp::rt::symbol_at(s->address);
  ASSERT_TRUE(again.is_ok()) << again.status().describe();
  EXPECT_EQ(again->name, kShared7);
  EXPECT_EQ(uklp::rt::for_testing::cached_table_count(), tables + 1);
  EXPECT_EQ(uklp::rt::for_testing::address_indexed_table_count(), indexed + 1);
}

// ----------------------------------------------------------------- hiding

TEST(Hide, HiddenObjectIsNoTarget) {
  TempDir dir;
  ASSERT_TRUE(symtest::copy_to(SYMTEST_NOPAD, dir / "libhidden.so"));
  Library lib(dir / "libhidden.so");
  ASSERT_TRUE(lib.ok()) << dlerror();
  uintptr_t inside = lib.symbol("nopad_call");
  ASSERT_TRUE(uklp::rt::find_object("libhidden.so").is_ok());

  uklp::rt::hide_object(inside);
  EXPECT_EQ(uklp::rt::find_object("libhidden.so").status().code(), ENOENT);
  EXPECT_EQ(uklp::rt::object_containing(inside).status().code(), ENOENT);
  for (const auto& o : uklp::rt::loaded_objects()) EXPECT_NE(o.name, "libhidden.so");
  // Still symbolized: a patch module's new_func needs its size.
  auto s = uklp::rt::symbol_at(inside);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_EQ(s->name, "nopad_call");

  uklp::rt::unhide_object(inside + 1);  // any address inside will do
  EXPECT_TRUE(uklp::rt::find_object("libhidden.so").is_ok());
}

TEST(Hide, ForgottenWhenUnloaded) {
  TempDir dir;
  ASSERT_TRUE(symtest::copy_to(SYMTEST_NOPAD, dir / "libhidden2.so"));
  Library lib(dir / "libhidden2.so");
  ASSERT_TRUE(lib.ok()) << dlerror();
  uintptr_t inside = lib.symbol("nopad_call");
  uklp::rt::hide_object(inside);
  lib.close();
  uklp::rt::forget_unloaded_objects();
  // A library loaded at the same place later must not inherit the hiding.
  Library again(dir / "libhidden2.so");
  ASSERT_TRUE(again.ok()) << dlerror();
  EXPECT_TRUE(uklp::rt::find_object("libhidden2.so").is_ok());
}

// -------------------------------------------------- deleted / replaced files

TEST(Files, DeletedFileIsReadThroughMapFiles) {
  if (!symtest::map_files_readable()) GTEST_SKIP() << "/proc/self/map_files needs CAP_SYS_ADMIN";
  TempDir dir;
  ASSERT_TRUE(symtest::copy_to(SYMTEST_DUP, dir / "libdeleted.so"));
  Library lib(dir / "libdeleted.so");
  ASSERT_TRUE(lib.ok()) << dlerror();
  ASSERT_EQ(unlink((dir / "libdeleted.so").c_str()), 0);
  auto obj = lib.object("dup_a_call");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  auto s = uklp::rt::lookup_symbol(*obj, "helper", 2);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_EQ(s->address, lib.address_from("dup_b_helper_address"));
  EXPECT_TRUE(uklp::rt::has_patchable_pad(*obj, s->address));
}

TEST(Files, DeletedFileWithoutMapFilesFails) {
  TempDir dir;
  ASSERT_TRUE(symtest::copy_to(SYMTEST_DUP, dir / "libdeleted2.so"));
  Library lib(dir / "libdeleted2.so");
  ASSERT_TRUE(lib.ok()) << dlerror();
  ASSERT_EQ(unlink((dir / "libdeleted2.so").c_str()), 0);
  auto obj = lib.object("dup_a_call");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  MapFilesDisabled no_map_files;
  auto s = uklp::rt::lookup_symbol(*obj, "helper", 1);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), EINVAL);
  EXPECT_EQ(s.status().message(), "cannot read the symbols of 'libsymtest_dup.so': its file '" +
                                      (dir / "libdeleted2.so") +
                                      "' was deleted or renamed and /proc/self/map_files is not "
                                      "accessible (Operation not permitted)");
  EXPECT_FALSE(uklp::rt::has_patchable_pad(*obj, lib.address_from("dup_a_helper_address")));
}

// A package upgrade: a new build renamed over the path of the loaded one.
void replace_file(const std::string& path, const std::string& new_build) {
  ASSERT_TRUE(symtest::copy_to(new_build, path + ".new"));
  ASSERT_EQ(rename((path + ".new").c_str(), path.c_str()), 0);
}

TEST(Files, ReplacedFileIsReadThroughMapFiles) {
  if (!symtest::map_files_readable()) GTEST_SKIP() << "/proc/self/map_files needs CAP_SYS_ADMIN";
  TempDir dir;
  ASSERT_TRUE(symtest::copy_to(SYMTEST_DUP, dir / "libreplaced.so"));
  Library lib(dir / "libreplaced.so");
  ASSERT_TRUE(lib.ok()) << dlerror();
  replace_file(dir / "libreplaced.so", SYMTEST_DUP_V2);
  auto obj = lib.object("dup_a_call");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  for (unsigned long pos : {1ul, 2ul}) {
    auto s = uklp::rt::lookup_symbol(*obj, "helper", pos);
    ASSERT_TRUE(s.is_ok()) << s.status().describe();
    EXPECT_EQ(s->address, lib.address_from(pos == 1 ? "dup_a_helper_address" : "dup_b_helper_address"));
  }
}

TEST(Files, ReplacedFileWithoutMapFilesFails) {
  TempDir dir;
  ASSERT_TRUE(symtest::copy_to(SYMTEST_DUP, dir / "libreplaced2.so"));
  Library lib(dir / "libreplaced2.so");
  ASSERT_TRUE(lib.ok()) << dlerror();
  replace_file(dir / "libreplaced2.so", SYMTEST_DUP_V2);
  auto obj = lib.object("dup_a_call");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  std::string old_id = obj->build_id;
  std::string new_id = uklp::elf::ElfFile::open_path(SYMTEST_DUP_V2).value()->build_id();
  ASSERT_NE(old_id, new_id);
  MapFilesDisabled no_map_files;
  auto s = uklp::rt::lookup_symbol(*obj, "helper", 1);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), EINVAL);
  EXPECT_EQ(s.status().message(), "cannot read the symbols of 'libsymtest_dup.so': its file was replaced on "
                                  "disk (build-id " + new_id + " != " + old_id +
                                      ") and /proc/self/map_files is not accessible (Operation not permitted)");
}

// ------------------------------------------------------------------ caching

TEST(Cache, ForgetUnloadedObjects) {
  symtest::LoadedCopy copy(SYMTEST_DUP, "libunloaded.so");
  ASSERT_TRUE(copy.ok()) << dlerror();
  Library& lib = copy.lib;
  auto obj = lib.object("dup_a_call");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  uklp::rt::forget_unloaded_objects();
  size_t before = uklp::rt::for_testing::cached_table_count();
  ASSERT_TRUE(uklp::rt::lookup_symbol(*obj, "helper", 1).is_ok());
  EXPECT_EQ(uklp::rt::for_testing::cached_table_count(), before + 1);

  lib.close();
  ASSERT_EQ(dlopen((copy.dir / "libunloaded.so").c_str(), RTLD_NOW | RTLD_NOLOAD), nullptr) << "still loaded";
  uklp::rt::forget_unloaded_objects();
  EXPECT_EQ(uklp::rt::for_testing::cached_table_count(), before);
  auto s = uklp::rt::lookup_symbol(*obj, "helper", 1);
  EXPECT_EQ(s.status().code(), ENOENT);
  EXPECT_EQ(s.status().message(), "object 'libsymtest_dup.so' is not loaded");
}

}  // namespace
