// transition_status_test.cc: parsing and rendering of the runtime's `status`
// answer (cli/transition_status.h).
#include "transition_status.h"

#include <gtest/gtest.h>

namespace uklp::cli {
namespace {

const std::vector<std::string> kBlocked = {
    "transition=livepatch_sample\ttarget=patching\tattempts=57\telapsed_ms=1234\tthreads=4\tswitched=3\tforced=0",
    "blocking=1201\tname=worker\treason=is sleeping on function work_loop\t"
    "stack=read+0x12 [libc.so.6];work_loop+0x1a [main];0x7f0011223344",
};

TEST(TransitionStatus, ParsesTheTransitionAndItsBlockingThreads) {
  auto st = parse_transition_status(kBlocked);
  ASSERT_TRUE(st.is_ok()) << st.status().describe();
  ASSERT_TRUE(st->has_value());
  const TransitionStatus& t = **st;
  EXPECT_EQ(t.patch, "livepatch_sample");
  EXPECT_TRUE(t.patching);
  EXPECT_EQ(t.attempts, 57);
  EXPECT_EQ(t.elapsed_ms, 1234);
  EXPECT_EQ(t.threads, 4);
  EXPECT_EQ(t.switched, 3);
  EXPECT_FALSE(t.forced);
  ASSERT_EQ(t.blocking.size(), 1u);
  EXPECT_EQ(t.blocking[0].tid, 1201);
  EXPECT_EQ(t.blocking[0].name, "worker");
  EXPECT_EQ(t.blocking[0].reason, "is sleeping on function work_loop");
  EXPECT_EQ(t.blocking[0].stack,
            (std::vector<std::string>{"read+0x12 [libc.so.6]", "work_loop+0x1a [main]", "0x7f0011223344"}));
}

TEST(TransitionStatus, NoLinesMeansNoTransition) {
  auto st = parse_transition_status({});
  ASSERT_TRUE(st.is_ok());
  EXPECT_FALSE(st->has_value());
}

TEST(TransitionStatus, UnknownLinesAreIgnoredMalformedOnesRefused) {
  auto st = parse_transition_status(
      {"transition=p\ttarget=unpatching\tattempts=1\telapsed_ms=0\tthreads=2\tswitched=2\tforced=1\tnew_key=x",
       "future=1\tsomething=else", "blocking=7\tname=t\treason=r\tstack="});
  ASSERT_TRUE(st.is_ok()) << st.status().describe();
  EXPECT_FALSE((*st)->patching);
  EXPECT_TRUE((*st)->forced);
  ASSERT_EQ((*st)->blocking.size(), 1u);
  EXPECT_TRUE((*st)->blocking[0].stack.empty());
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"transition=p\ttarget=sideways\tattempts=1\telapsed_ms=0\tthreads=1\tswitched=0"},
           {"transition=p\ttarget=patching\tattempts=x\telapsed_ms=0\tthreads=1\tswitched=0"},
           {"transition=p\ttarget=patching\telapsed_ms=0\tthreads=1\tswitched=0"},
           {"blocking=1\tname=a\treason=b\tstack=f"},
           {"no equals sign"}})
    EXPECT_EQ(parse_transition_status(bad).status().code(), EPROTO) << bad.front();
}

TEST(TransitionStatus, ProgressTextAndRendering) {
  auto st = parse_transition_status(kBlocked);
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(progress_text(**st), "patching 'livepatch_sample': 3/4 threads switched, 1 blocking, 1.2 s");
  EXPECT_EQ(render_transition_status(**st),
            "patch 'livepatch_sample': patching transition in progress for 1.2 s (57 attempts)\n"
            "3 of 4 threads switched\n"
            "blocked by 1 thread:\n"
            "  thread 1201 (worker): is sleeping on function work_loop\n"
            "    read+0x12 [libc.so.6]\n"
            "    work_loop+0x1a [main]\n"
            "    0x7f0011223344\n");
}

TEST(TransitionStatus, JsonAndTids) {
  auto st = parse_transition_status(kBlocked);
  ASSERT_TRUE(st.is_ok());
  nlohmann::json j = transition_status_json(**st);
  EXPECT_EQ(j["target"], "patching");
  EXPECT_EQ(j["forced"], false);
  EXPECT_EQ(j["elapsed_ms"], 1234);
  EXPECT_EQ(j["blocking"][0]["tid"], 1201);
  EXPECT_EQ(j["blocking"][0]["stack"][1], "work_loop+0x1a [main]");
  std::vector<BlockingThread> threads = {{30, "a", "", {}}, {10, "b", "", {}}, {20, "c", "", {}}};
  EXPECT_EQ(blocking_tids(threads), (std::vector<int>{10, 20, 30}));
}

}  // namespace
}  // namespace uklp::cli
