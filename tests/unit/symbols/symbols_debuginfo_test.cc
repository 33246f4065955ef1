// symbols_debuginfo_test.cc: symbol tables from separate debug info, and
// the runtime leaving itself out.
//
// symbols.cc lives in a shared library here (libsymtest_runtime.so), as in
// the real runtime. UKLP_DEBUG_DIR is read once, at first use, so a global
// environment builds the debug tree and sets the variable before any test:
//   <root>/.build-id/xx/yyyy.debug   for libsymtest_dbg_bid.so
//   <tmp>/same/       stripped libsymtest_dbg_link.so + its .debug next to it
//   <tmp>/dotdebug/   ... with the .debug in .debug/
//   <tmp>/underroot/  ... with the .debug in <root>/<tmp>/underroot/
//   <tmp>/wrong/      ... with another build's .debug under the linked name
//   <tmp>/nobid/      libsymtest_dbg_nobid.so (no build-id) + .debug (CRC)
//   <tmp>/nobidwrong/ ... with another no-build-id .debug (CRC mismatch)
// The stripped libraries come from CMake (objcopy --only-keep-debug, strip,
// objcopy --add-gnu-debuglink).
#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "elf_file.h"
#include "symbols.h"
#include "symtest_util.h"

namespace {

using ::testing::HasSubstr;
using symtest::Library;
using symtest::TempDir;

const std::string kSplit = SYMTEST_SPLIT_DIR;
const std::string kStrippedBid = kSplit + "/stripped/libsymtest_dbg_bid.so";
const std::string kDebugBid = kSplit + "/debug/libsymtest_dbg_bid.debug";
const std::string kStrippedLink = kSplit + "/stripped/libsymtest_dbg_link.so";
const std::string kDebugLink = kSplit + "/debug/libsymtest_dbg_link.debug";
const std::string kStrippedNobid = kSplit + "/stripped/libsymtest_dbg_nobid.so";
const std::string kDebugNobid = kSplit + "/debug/libsymtest_dbg_nobid.debug";
const std::string kDebugNobidOther = kSplit + "/debug/libsymtest_dbg_nobid_other.debug";

class DebugTree : public ::testing::Environment {
 public:
  void SetUp() override {
    tmp_ = std::make_unique<TempDir>();
    ASSERT_FALSE(tmp_->path().empty());
    root_ = *tmp_ / "root";
    std::string id = uklp::elf::ElfFile::open_path(kStrippedBid).value()->build_id();
    ASSERT_EQ(id.size(), 40u);
    ASSERT_TRUE(symtest::copy_to(kDebugBid, root_ + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug"));
    place("same", kStrippedLink, kDebugLink, "libsymtest_dbg_link.debug");
    place("dotdebug", kStrippedLink, kDebugLink, ".debug/libsymtest_dbg_link.debug");
    place("underroot", kStrippedLink, kDebugLink, "");
    ASSERT_TRUE(symtest::copy_to(kDebugLink, root_ + (*tmp_ / "underroot") + "/libsymtest_dbg_link.debug"));
    place("wrong", kStrippedLink, kDebugBid, "libsymtest_dbg_link.debug");
    place("nobid", kStrippedNobid, kDebugNobid, "libsymtest_dbg_nobid.debug");
    place("nobidwrong", kStrippedNobid, kDebugNobidOther, "libsymtest_dbg_nobid.debug");
    // Several roots: the first one does not exist.
    setenv("UKLP_DEBUG_DIR", ("/nonexistent-uklp-debug-root:" + root_).c_str(), 1);
  }
  void TearDown() override { tmp_.reset(); }

  std::string lib(const std::string& dir) const { return *tmp_ / dir + "/lib.so"; }

 private:
  // <tmp>/<dir>/lib.so (a copy of `so`) and, unless `debug_name` is empty,
  // <tmp>/<dir>/<debug_name> (a copy of `debug`).
  void place(const std::string& dir, const std::string& so, const std::string& debug,
             const std::string& debug_name) {
    ASSERT_TRUE(symtest::copy_to(so, lib(dir)));
    if (debug_name.empty()) return;
    ASSERT_TRUE(symtest::copy_to(debug, *tmp_ / dir + "/" + debug_name));
  }

  std::unique_ptr<TempDir> tmp_;  // made in SetUp: listing the tests makes nothing
  std::string root_;
};

DebugTree* g_tree = static_cast<DebugTree*>(::testing::AddGlobalTestEnvironment(new DebugTree()));

// Loads `path` and checks that both static helpers resolve to the right
// addresses, which only the .symtab of the debug file can tell.
void expect_helpers_resolve(const std::string& path) {
  Library lib(path);
  ASSERT_TRUE(lib.ok()) << dlerror();
  auto obj = lib.object("dup_a_call");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  auto a = uklp::rt::lookup_symbol(*obj, "helper", 1);
  auto b = uklp::rt::lookup_symbol(*obj, "helper", 2);
  ASSERT_TRUE(a.is_ok()) << a.status().describe();
  ASSERT_TRUE(b.is_ok()) << b.status().describe();
  EXPECT_EQ(a->address, lib.address_from("dup_a_helper_address"));
  EXPECT_EQ(b->address, lib.address_from("dup_b_helper_address"));
  auto counter = uklp::rt::lookup_symbol(*obj, "counter", 0);
  ASSERT_TRUE(counter.is_ok()) << counter.status().describe();
  EXPECT_EQ(counter->address, lib.address_from("dup_a_counter_address"));
  // Pads come from the stripped object's own section headers.
  EXPECT_TRUE(uklp::rt::has_patchable_pad(*obj, a->address));
}

// Only the exported symbols (.dynsym) are found, and the message says why.
void expect_dynsym_only(const std::string& path) {
  Library lib(path);
  ASSERT_TRUE(lib.ok()) << dlerror();
  auto obj = lib.object("dup_a_call");
  ASSERT_TRUE(obj.is_ok()) << obj.status().describe();
  auto s = uklp::rt::lookup_symbol(*obj, "helper", 1);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), EINVAL);
  EXPECT_THAT(s.status().message(), HasSubstr("symbol 'helper' not found in symbol table of object "));
  EXPECT_THAT(s.status().message(), HasSubstr("only .dynsym"));
  auto exported = uklp::rt::lookup_symbol(*obj, "dup_a_call", 0);
  ASSERT_TRUE(exported.is_ok()) << exported.status().describe();
  EXPECT_EQ(exported->address, lib.symbol("dup_a_call"));
}

TEST(DebugInfo, StrippedLibrariesHaveNoSymtab) {
  for (const auto& path : {kStrippedBid, kStrippedLink, kStrippedNobid}) {
    auto f = uklp::elf::ElfFile::open_path(path);
    ASSERT_TRUE(f.is_ok()) << f.status().describe();
    EXPECT_FALSE((*f)->has_symtab()) << path;
  }
  EXPECT_FALSE(uklp::elf::ElfFile::open_path(kStrippedBid).value()->debuglink());
  EXPECT_TRUE(uklp::elf::ElfFile::open_path(kStrippedLink).value()->debuglink());
}

TEST(DebugInfo, BuildIdDirectory) { expect_helpers_resolve(kStrippedBid); }
TEST(DebugInfo, DebuglinkNextToTheObject) { expect_helpers_resolve(g_tree->lib("same")); }
TEST(DebugInfo, DebuglinkInDotDebug) { expect_helpers_resolve(g_tree->lib("dotdebug")); }
TEST(DebugInfo, DebuglinkUnderTheDebugRoot) { expect_helpers_resolve(g_tree->lib("underroot")); }
TEST(DebugInfo, DebuglinkToAnotherBuildIsRejected) { expect_dynsym_only(g_tree->lib("wrong")); }

TEST(DebugInfo, NoBuildIdDebuglinkCheckedByCrc) {
  Library lib(g_tree->lib("nobid"));
  ASSERT_TRUE(lib.ok()) << dlerror();
  auto obj = lib.object("dup_a_call");
  ASSERT_TRUE(obj.is_ok());
  EXPECT_EQ(obj->build_id, "");
  expect_helpers_resolve(g_tree->lib("nobid"));
}

TEST(DebugInfo, NoBuildIdWrongCrcIsRejected) { expect_dynsym_only(g_tree->lib("nobidwrong")); }

// ------------------------------------------------------------------ runtime

TEST(Runtime, TheRuntimeIsLeftOut) {
  auto self = reinterpret_cast<uintptr_t>(&uklp::rt::loaded_objects);
  auto objs = uklp::rt::loaded_objects();
  ASSERT_FALSE(objs.empty());
  EXPECT_TRUE(objs[0].is_main);
  for (const auto& o : objs) EXPECT_FALSE(o.start <= self && self < o.end) << o.name;
  EXPECT_EQ(uklp::rt::find_object("libsymtest_runtime.so").status().code(), ENOENT);
  EXPECT_EQ(uklp::rt::object_containing(self).status().code(), ENOENT);
  // It still symbolizes (its frames appear in stacks).
  auto s = uklp::rt::symbol_at(self);
  ASSERT_TRUE(s.is_ok()) << s.status().describe();
  EXPECT_THAT(s->name, HasSubstr("loaded_objects"));
  EXPECT_EQ(s->object, "libsymtest_runtime.so");
}

}  // namespace
