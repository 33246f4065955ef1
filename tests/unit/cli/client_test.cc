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

// A target's text cannot drive the operator's terminal: escape sequences
// (ESC, the C1 CSI) and bytes that are not UTF-8 are shown as \xNN; tabs and
// valid UTF-8, including multi-byte characters, are kept.
TEST(Answer, PrintableEscapesWhatATerminalWouldObey) {
  EXPECT_EQ(printable("livepatch: a\tb"), "livepatch: a\tb");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80");
  EXPECT_EQ(printable("\x1b]0;owned\x07x"), "\\x1b]0;owned\\x07x");
  EXPECT_EQ(printable("a\rb\nc\x7f"), "a\\x0db\\x0ac\\x7f");
  EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\xc2\\x9b31m");               // C1 CSI
  EXPECT_EQ(printable("\xff\xc3(\xc0\x80"), "\\xff\\xc3(\\xc0\\x80");       // invalid, overlong
  EXPECT_EQ(printable("\xed\xa0\x80\xf4\x90\x80\x80"),                     // surrogate, > U+10FFFF
            "\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(printable("\xe6\x97"), "\\xe6\\x97");                          // cut short
  EXPECT_EQ(printable(std::string_view("a\0b", 3)), "a\\x00b");
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
