// client_test.cc: parsing of the runtime's answer lines (cli/client.h).
#include "client.h"

#include <gtest/gtest.h>

namespace uklp::cli {
namespace {

TEST(Answer, SplitKeepsTabsInThePayload) {
  auto [kind, payload] = split_answer("log\tlivepatch: a\tb");
  EXPECT_EQ(kind, "log");
  EXPECT_EQ(payload, "livepatch: a\tb");
  auto [ok, none] = split_answer("ok");
  EXPECT_EQ(ok, "ok");
  EXPECT_EQ(none, "");
}

TEST(Answer, ErrorPayload) {
  Status s = parse_error_payload("16\tpatch 'foo' is in transition");
  EXPECT_EQ(s.code(), EBUSY);
  EXPECT_EQ(s.message(), "patch 'foo' is in transition");
  EXPECT_EQ(parse_error_payload("22").code(), EINVAL);
  for (const char* bad : {"", "x\tmsg", "0\tmsg", "-5\tmsg", "5x\tmsg"})
    EXPECT_EQ(parse_error_payload(bad).code(), EPROTO) << bad;
}

TEST(Answer, DeadlineAfter) {
  EXPECT_FALSE(deadline_after(0).has_value());
  auto d = deadline_after(1.5);
  ASSERT_TRUE(d.has_value());
  EXPECT_GT(*d, std::chrono::steady_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace uklp::cli
