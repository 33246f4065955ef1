// module_name_test.cc: the patch name derivation (cli/module_name.h), which
// must match the kernel's module-name rule and the runtime's expectations.
#include "module_name.h"

#include <gtest/gtest.h>

namespace uklp::cli {
namespace {

std::string name(std::string_view path) {
  auto r = patch_name_from_path(path);
  EXPECT_TRUE(r.is_ok()) << r.status().describe();
  return r ? *r : std::string();
}

TEST(PatchName, DashesBecomeUnderscoresAndSuffixGoes) {
  EXPECT_EQ(name("livepatch-sample.so"), "livepatch_sample");
  EXPECT_EQ(name("/opt/patches/livepatch-sample.so"), "livepatch_sample");
  EXPECT_EQ(name("./a-b-c.so"), "a_b_c");
}

TEST(PatchName, VersionedSharedObjectIsCutAtDotSoDot) {
  EXPECT_EQ(name("fix-1.so.2"), "fix_1");
  EXPECT_EQ(name("fix.so.2.3"), "fix");
}

TEST(PatchName, OtherNamesKeepTheirDots) {
  EXPECT_EQ(name("fix"), "fix");
  EXPECT_EQ(name("fix.v2.so"), "fix.v2");
  EXPECT_EQ(name("dir.so/fix.so"), "fix");
}

TEST(PatchName, EmptyAndTooLongAreRefused) {
  EXPECT_EQ(patch_name_from_path(".so").status().code(), EINVAL);
  EXPECT_EQ(patch_name_from_path("/tmp/").status().code(), EINVAL);
  EXPECT_TRUE(patch_name_from_path(std::string(55, 'a') + ".so").is_ok());
  EXPECT_EQ(patch_name_from_path(std::string(56, 'a') + ".so").status().code(), ENAMETOOLONG);
}

}  // namespace
}  // namespace uklp::cli
