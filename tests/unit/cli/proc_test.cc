// proc_test.cc: /proc parsing (cli/proc.h): PID namespaces and the
// discovery of control sockets in /proc/net/unix.
#include "proc.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace uklp::cli {
namespace {

TEST(Proc, NsPidIsTheLastValue) {
  EXPECT_EQ(parse_nspid("Name:\tx\nNSpid:\t4242\t17\t3\nPPid:\t1\n", 4242), 3);
  EXPECT_EQ(parse_nspid("Name:\tx\nNSpid:\t4242\n", 4242), 4242);
  EXPECT_EQ(parse_nspid("Name:\tx\n", 77), 77);
  EXPECT_EQ(parse_nspid("NSpid:\tjunk\n", 77), 77);
}

TEST(Proc, OwnProcess) {
  EXPECT_TRUE(check_process(getpid()).is_ok());
  EXPECT_EQ(check_process(0x7ffffff0).code(), ESRCH);
  EXPECT_TRUE(ns_pid_of(getpid()).is_ok());
  EXPECT_FALSE(comm_of(getpid()).empty());
  EXPECT_TRUE(in_our_net_namespace(getpid()));
  EXPECT_FALSE(is_stopped_state(state_of(getpid())));
}

TEST(Proc, StoppedStates) {
  EXPECT_TRUE(is_stopped_state("T (stopped)"));
  EXPECT_TRUE(is_stopped_state("t (tracing stop)"));
  EXPECT_FALSE(is_stopped_state("S (sleeping)"));
  EXPECT_FALSE(is_stopped_state(""));
}

TEST(Proc, ControlSocketsAreListeningStreamSocketsOnce) {
  const char* text =
      "Num       RefCount Protocol Flags    Type St Inode Path\n"
      "0000000000000000: 00000002 00000000 00010000 0001 01 1001 @uklp/1234\n"   // listening
      "0000000000000000: 00000003 00000000 00000000 0001 03 1002 @uklp/1234\n"   // accepted
      "0000000000000000: 00000002 00000000 00010000 0001 01 1003 @uklp/99\n"
      "0000000000000000: 00000002 00000000 00010000 0002 01 1004 @uklp/5\n"      // datagram
      "0000000000000000: 00000002 00000000 00010000 0001 01 1005 @uklp/12x\n"
      "0000000000000000: 00000002 00000000 00010000 0001 01 1006 @other/7\n"
      "0000000000000000: 00000002 00000000 00010000 0001 01 1007 /run/uklp/8\n"
      "0000000000000000: 00000002 00000000 00010000 0001 01 1008\n"
      "0000000000000000: 00000002 00000000 00010000 0001 01 1009 @uklp/1234\n";  // same pid again
  std::vector<ControlSocket> expected = {{1234, 1001}, {99, 1003}};
  EXPECT_EQ(parse_control_sockets(text), expected);
}

}  // namespace
}  // namespace uklp::cli
