// args_test.cc: command-line argument validation (cli/args.h) and the
// LD_PRELOAD composition of `uklp run` (cli/runtime_path.h).

#include <gtest/gtest.h>

#include "args.h"
#include "output.h"
#include "runtime_path.h"

namespace uklp::cli {
namespace {

TEST(Args, Pid) {
  EXPECT_EQ(*parse_pid("1234"), 1234);
  for (const char* bad : {"", "0", "-1", "12a", " 1", "99999999999", "0x10"})
    EXPECT_EQ(parse_pid(bad).status().code(), EINVAL) << bad;
}

TEST(Args, ModuleParameter) {
  EXPECT_TRUE(check_param("answer=42").is_ok());
  EXPECT_TRUE(check_param("msg=").is_ok());
  EXPECT_TRUE(check_param("a.b-c_d=x=y").is_ok());
  for (const char* bad : {"answer", "=1", "a b=1", "a\tb=1", "a=1\t2", "a=x\ny"})
    EXPECT_EQ(check_param(bad).code(), EINVAL) << bad;
}

TEST(Args, AttributePath) {
  EXPECT_TRUE(check_attribute_path("livepatch/p/enabled").is_ok());
  EXPECT_TRUE(check_attribute_path("task/123/patch_state").is_ok());
  for (const char* bad : {"", "/livepatch/p/enabled", "livepatch//enabled", "livepatch/../x", "a/./b",
                          "livepatch/p/", "a\tb"})
    EXPECT_EQ(check_attribute_path(bad).code(), EINVAL) << bad;
}

TEST(RuntimePath, PreloadIsPrependedOnce) {
  EXPECT_EQ(prepend_preload("/l/libuklp.so", std::nullopt), "/l/libuklp.so");
  EXPECT_EQ(prepend_preload("/l/libuklp.so", ""), "/l/libuklp.so");
  EXPECT_EQ(prepend_preload("/l/libuklp.so", "/x/a.so"), "/l/libuklp.so:/x/a.so");
  EXPECT_EQ(prepend_preload("/l/libuklp.so", "/x/a.so /y/b.so:/l/libuklp.so"),
            "/l/libuklp.so:/x/a.so:/y/b.so");
}

TEST(RuntimePath, AbsolutePath) {
  EXPECT_EQ(absolute_path("/a/./b/../c"), "/a/c");
  EXPECT_EQ(absolute_path("x.log").front(), '/');
}

TEST(Output, ErrorLineHasTheErrnoText) {
  EXPECT_EQ(error_line(error(EBUSY, "patch 'foo' is in transition")),
            "uklp: error: patch 'foo' is in transition (Device or resource busy)");
  auto j = error_json(error(ENODEV, "no such patch"), {{"pid", 1}});
  EXPECT_EQ(j["errno"], ENODEV);
  EXPECT_EQ(j["error"], "no such patch");
  EXPECT_EQ(j["pid"], 1);
}

}  // namespace
}  // namespace uklp::cli
