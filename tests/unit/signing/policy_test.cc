// policy_test.cc: the patch policy's parser (runtime/policy.cc): settings,
// [program] sections by path and by name, and every error naming its line.
#include "policy.h"

#include <gtest/gtest.h>

namespace uklp::rt {
namespace {

Policy parse_ok(std::string_view text, std::string_view exe = "/usr/sbin/serviced") {
  auto p = parse_policy(text, "/etc/uklp/policy.conf", exe);
  EXPECT_TRUE(p) << p.status().message();
  return p ? *p : Policy{};
}

std::string parse_error(std::string_view text) {
  auto p = parse_policy(text, "/etc/uklp/policy.conf", "/usr/sbin/serviced");
  EXPECT_FALSE(p);
  return p ? std::string() : p.status().message();
}

TEST(Policy, EmptyMeansTheDefaults) {
  Policy p = parse_ok("# nothing\n\n   \n");
  EXPECT_TRUE(p.control);
  EXPECT_FALSE(p.require_signature);
  EXPECT_TRUE(p.trusted_keys.empty());
  EXPECT_EQ(p.file, "/etc/uklp/policy.conf");
}

TEST(Policy, GlobalSettings) {
  Policy p = parse_ok("require-signature = yes   # all of them\ntrusted-key=/k/a.pub\n\ttrusted-key = /k/b.pub\r\n"
                      "control = off");
  EXPECT_TRUE(p.require_signature);
  EXPECT_FALSE(p.control);
  EXPECT_EQ(p.trusted_keys, (std::vector<std::string>{"/k/a.pub", "/k/b.pub"}));
}

TEST(Policy, ProgramSectionsOverrideAndAdd) {
  const char* text =
      "require-signature = yes\ntrusted-key = /k/ops.pub\n"
      "[program /usr/sbin/serviced]\ncontrol = off\ntrusted-key = /k/svc.pub\n"
      "[program otherd]\nrequire-signature = no\n"
      "[ program   serviced ]\nrequire-signature = no\n";
  Policy p = parse_ok(text);
  EXPECT_FALSE(p.control);
  EXPECT_FALSE(p.require_signature);
  EXPECT_EQ(p.trusted_keys, (std::vector<std::string>{"/k/ops.pub", "/k/svc.pub"}));
  // Another program: only the global settings and its own section.
  Policy q = parse_ok(text, "/opt/otherd");
  EXPECT_TRUE(q.control);
  EXPECT_FALSE(q.require_signature);
  EXPECT_EQ(q.trusted_keys, (std::vector<std::string>{"/k/ops.pub"}));
  // A path names one executable; a name without '/' matches any directory.
  Policy r = parse_ok(text, "/usr/local/sbin/serviced");
  EXPECT_TRUE(r.control);
  EXPECT_FALSE(r.require_signature);
  Policy s = parse_ok(text, "/usr/sbin/serviced-helper");
  EXPECT_TRUE(s.require_signature);
}

TEST(Policy, ErrorsNameTheLine) {
  EXPECT_EQ(parse_error("control = on\ncontrol = maybe\n"),
            "/etc/uklp/policy.conf:2: control: 'maybe' is neither 'on' nor 'off'");
  EXPECT_EQ(parse_error("require-signature = on"),
            "/etc/uklp/policy.conf:1: require-signature: 'on' is neither 'yes' nor 'no'");
  EXPECT_EQ(parse_error("\n\n[program x\n"), "/etc/uklp/policy.conf:3: a section header must end with ']'");
  EXPECT_NE(parse_error("[programs x]").find(":1: unknown section 'programs x'"), std::string::npos);
  EXPECT_NE(parse_error("[program]").find(":1: unknown section 'program'"), std::string::npos);
  EXPECT_NE(parse_error("colour = blue").find(":1: unknown setting 'colour'"), std::string::npos);
  EXPECT_EQ(parse_error("control"), "/etc/uklp/policy.conf:1: expected 'key = value'");
  EXPECT_EQ(parse_error("control = "), "/etc/uklp/policy.conf:1: 'control' has no value");
  EXPECT_EQ(parse_error("trusted-key = keys/a.pub"), "/etc/uklp/policy.conf:1: trusted-key must be an absolute path");
  // Errors count in sections that do not apply too: a typo is never silent.
  EXPECT_NE(parse_error("[program nothere]\ncontrol = of\n").find(":2:"), std::string::npos);
}

}  // namespace
}  // namespace uklp::rt
