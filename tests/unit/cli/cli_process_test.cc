// cli_process_test.cc: the real `uklp` binary against a fake runtime.
//
// FakeRuntime binds the control socket of this test process
// ("@uklp/<own pid>", lib/protocol.h), accepts one connection, records the
// request line and any descriptor passed with it, and answers with scripted
// lines. The binary runs as a child (fork + execve) with stdout and stderr
// captured, so these tests check the outside contract: the exact request
// lines, SCM_RIGHTS for load, the error line, exit codes and JSON.
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proc.h"
#include "protocol.h"
#include "unique_fd.h"

extern char** environ;

namespace uklp::cli {
namespace {

// ---- the fake runtime ----

class FakeRuntime {
 public:
  // `answer`: the lines sent back (without '\n'). `hold`: keep the
  // connection open after answering until the client closes it.
  explicit FakeRuntime(std::vector<std::string> answer, bool hold = false)
      : answer_(std::move(answer)), hold_(hold) {
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    socklen_t len = 0;
    sockaddr_un addr = protocol::address(*ns_pid_of(getpid()), &len);
    bound_ = ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
             ::listen(listener_.get(), 4) == 0;
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeRuntime() { wait(); }

  bool bound() const { return bound_; }
  // The request line, once the exchange is over.
  const std::string& request() {
    wait();
    return request_;
  }
  // The inode of the descriptor passed with the request (0: none).
  ino_t passed_inode() {
    wait();
    return passed_inode_;
  }

 private:
  void wait() {
    if (thread_.joinable()) thread_.join();
  }

  void serve() {
    pollfd p{listener_.get(), POLLIN, 0};
    if (!bound_ || ::poll(&p, 1, 20000) != 1) return;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::string buffer;
    int fd = -1;
    if (!protocol::read_line(conn.get(), buffer, request_, &fd).is_ok()) return;
    UniqueFd passed(fd);
    struct stat st {};
    if (passed.get() >= 0 && fstat(passed.get(), &st) == 0) passed_inode_ = st.st_ino;
    for (const auto& line : answer_) (void)protocol::send_all(conn.get(), line + "\n");
    if (hold_) {
      char c;
      while (::recv(conn.get(), &c, 1, 0) > 0) {
      }
    }
  }

  std::vector<std::string> answer_;
  bool hold_;
  bool bound_ = false;
  UniqueFd listener_;
  std::thread thread_;
  std::string request_;
  ino_t passed_inode_ = 0;
};

// ---- running the binary ----

struct Outcome {
  int exit_code = -1;
  std::string out, err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

// Runs `uklp ARGS...` with `env` added to the environment.
Outcome uklp(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), UKLP_CLI_BINARY);
  for (char** e = environ; *e; ++e) env.emplace_back(*e);  // later duplicates lose
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  UniqueFd out(memfd_create("out", MFD_CLOEXEC)), err(memfd_create("err", MFD_CLOEXEC));
  pid_t pid = fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out.get(), 1);
    dup2(err.get(), 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(99);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_all(out.get()), read_all(err.get())};
}

std::string self() { return std::to_string(getpid()); }

std::string fixture_path() {
  char buf[4096];
  return std::string(realpath(UKLP_FIXTURE_PATCH, buf));
}

// ---- load ----

TEST(CliLoad, SendsTheRequestWithTheModuleDescriptor) {
  FakeRuntime rt({"log\tlivepatch: enabling patch 'livepatch_sample'", "progress\twaiting for 1 thread",
                  "log\tlivepatch: 'livepatch_sample': patching complete", "ok"});
  ASSERT_TRUE(rt.bound());
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH, "answer=42", "greeting=hi there"});
  EXPECT_EQ(rt.request(), "load\tlivepatch_sample\t" + fixture_path() + "\twait\tanswer=42\tgreeting=hi there");
  struct stat st {};
  ASSERT_EQ(stat(UKLP_FIXTURE_PATCH, &st), 0);
  EXPECT_EQ(rt.passed_inode(), st.st_ino);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "livepatch: enabling patch 'livepatch_sample'\n"
                   "livepatch: 'livepatch_sample': patching complete\n"
                   "patch 'livepatch_sample' enabled in process " + self() + "\n");
  EXPECT_EQ(r.err, "uklp: waiting for 1 thread\n");
}

TEST(CliLoad, NoWaitAndJson) {
  FakeRuntime rt({"log\tlivepatch: enabling patch 'livepatch_sample'", "ok"});
  Outcome r = uklp({"--json", "load", "--no-wait", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(rt.request(), "load\tlivepatch_sample\t" + fixture_path() + "\tnowait");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = r.json();
  EXPECT_EQ(j["patch"], "livepatch_sample");
  EXPECT_EQ(j["pid"], getpid());
  EXPECT_EQ(j["waited"], false);
  EXPECT_EQ(j["log"], nlohmann::json::array({"livepatch: enabling patch 'livepatch_sample'"}));
  EXPECT_EQ(r.err, "");
}

TEST(CliLoad, RuntimeErrorIsOneLineWithTheErrnoText) {
  FakeRuntime rt({"log\tlivepatch: 'other' is in transition", "error\t16\tpatch 'other' is in transition"});
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "uklp: error: patch 'other' is in transition (Device or resource busy)\n");
  EXPECT_EQ(r.out, "livepatch: 'other' is in transition\n");
}

TEST(CliLoad, RuntimeErrorAsJson) {
  FakeRuntime rt({"log\tx", "error\t19\tno such object"});
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "uklp: error: no such object (No such device)\n");
  auto j = r.json();
  EXPECT_EQ(j["error"], "no such object");
  EXPECT_EQ(j["errno"], ENODEV);
  EXPECT_EQ(j["log"], nlohmann::json::array({"x"}));
}

TEST(CliLoad, TimeoutLeavesTheTransitionRunning) {
  FakeRuntime rt({"progress\tstill waiting"}, /*hold=*/true);
  Outcome r = uklp({"load", "--timeout", "0.3", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("uklp: error: transition still in progress after 0.3 s (the patch stays loaded; "
                       "see 'uklp list " + self() + "') (Connection timed out)\n"),
            std::string::npos)
      << r.err;
}

TEST(CliLoad, EarlyChecks) {
  Outcome not_elf = uklp({"load", self(), "/etc/hostname"});
  EXPECT_EQ(not_elf.exit_code, 1);
  EXPECT_NE(not_elf.err.find("not an ELF shared object"), std::string::npos) << not_elf.err;
  Outcome missing = uklp({"load", self(), "/nonexistent/p.so"});
  EXPECT_EQ(missing.err, "uklp: error: cannot open '/nonexistent/p.so' (No such file or directory)\n");
  Outcome no_process = uklp({"load", "2147483600", UKLP_FIXTURE_PATCH});
  EXPECT_EQ(no_process.err, "uklp: error: no such process 2147483600 (No such process)\n");
  Outcome bad_param = uklp({"load", self(), UKLP_FIXTURE_PATCH, "noequals"});
  EXPECT_EQ(bad_param.exit_code, 2);
  Outcome bad_pid = uklp({"load", "12x", UKLP_FIXTURE_PATCH});
  EXPECT_EQ(bad_pid.exit_code, 2);
  EXPECT_EQ(bad_pid.err, "uklp: error: invalid process id '12x' (Invalid argument)\n");
}

TEST(CliLoad, ProcessWithoutRuntime) {
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "uklp: error: process " + self() + " does not run the uklp runtime (no control socket @uklp/" +
                       std::to_string(*ns_pid_of(getpid())) +
                       "); start it with 'uklp run' or LD_PRELOAD=libuklp.so (Connection refused)\n");
}

TEST(CliLoad, RuntimeClosingWithoutAnswer) {
  FakeRuntime rt({"log\tsomething"});
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("closed the control connection without an answer"), std::string::npos) << r.err;
}

// ---- the other process commands ----

TEST(CliCommands, DisableAndUnload) {
  {
    FakeRuntime rt({"ok"});
    Outcome r = uklp({"disable", self(), "livepatch_sample"});
    EXPECT_EQ(rt.request(), "disable\tlivepatch_sample\twait");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "patch 'livepatch_sample' disabled in process " + self() + "\n");
  }
  {
    FakeRuntime rt({"ok"});
    Outcome r = uklp({"disable", "--no-wait", self(), "p"});
    EXPECT_EQ(rt.request(), "disable\tp\tnowait");
  }
  {
    FakeRuntime rt({"error\t16\tmodule livepatch_sample is in use"});
    Outcome r = uklp({"unload", self(), "livepatch_sample"});
    EXPECT_EQ(rt.request(), "unload\tlivepatch_sample");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "uklp: error: module livepatch_sample is in use (Device or resource busy)\n");
  }
}

TEST(CliCommands, SysReadAndWrite) {
  {
    FakeRuntime rt({"data\t1", "ok"});
    Outcome r = uklp({"sys", self(), "livepatch/livepatch_sample/enabled"});
    EXPECT_EQ(rt.request(), "sys\tlivepatch/livepatch_sample/enabled");
    EXPECT_EQ(r.out, "1\n");
  }
  {
    FakeRuntime rt({"ok"});
    Outcome r = uklp({"sys", self(), "/sys/kernel/livepatch/livepatch_sample/enabled", "0"});
    EXPECT_EQ(rt.request(), "sys\tlivepatch/livepatch_sample/enabled\t0");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
  }
  {
    FakeRuntime rt({"ok"});
    Outcome r = uklp({"sys", self(), "module/p/parameters/offset", "--", "-1"});
    EXPECT_EQ(rt.request(), "sys\tmodule/p/parameters/offset\t-1");
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  {
    FakeRuntime rt({"data\t42", "ok"});
    Outcome r = uklp({"--json", "sys", self(), "module/livepatch_sample/parameters/answer"});
    EXPECT_EQ(r.json()["value"], "42");
  }
  Outcome bad = uklp({"sys", self(), "livepatch/../x"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(CliCommands, Dmesg) {
  FakeRuntime rt({"data\tlivepatch: enabling patch 'a'", "data\tlivepatch: 'a': patching complete", "ok"});
  Outcome r = uklp({"dmesg", self()});
  EXPECT_EQ(rt.request(), "dmesg");
  EXPECT_EQ(r.out, "livepatch: enabling patch 'a'\nlivepatch: 'a': patching complete\n");
}

TEST(CliCommands, ListOneProcess) {
  FakeRuntime rt({"data\tpatch=livepatch_sample\tenabled=1\ttransition=0\treplace=0\tstack_order=1\tforced=0",
                  "data\tobject=main\tpatch=livepatch_sample\tpatched=1",
                  "data\tfunc=answer,1\tobject=main\tpatch=livepatch_sample\told=0x1\tnew=0x2", "ok"});
  Outcome r = uklp({"list", self(), "--json"});
  EXPECT_EQ(rt.request(), "list");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = r.json();
  EXPECT_EQ(j["pid"], getpid());
  EXPECT_EQ(j["patches"][0]["patch"], "livepatch_sample");
  EXPECT_EQ(j["patches"][0]["objects"][0]["funcs"][0]["new"], "0x2");
}

TEST(CliCommands, ListFindsThisProcess) {
  FakeRuntime rt({"data\tpatch=a\tenabled=1", "data\tpatch=b\tenabled=1", "ok"});
  Outcome r = uklp({"--json", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool found = false;
  auto doc = r.json();
  for (const auto& p : doc["processes"])
    if (p["pid"] == getpid()) {
      found = true;
      EXPECT_EQ(p["patches"], 2);
      EXPECT_EQ(p["patch_names"], nlohmann::json::array({"a", "b"}));
    }
  EXPECT_TRUE(found) << r.out;
}

// A child process with a control socket that never answers; stopped with
// SIGSTOP when `stop`.
class SilentRuntime {
 public:
  explicit SilentRuntime(bool stop) {
    int ready[2];
    EXPECT_EQ(pipe2(ready, O_CLOEXEC), 0);
    pid_ = fork();
    if (pid_ == 0) {
      int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
      socklen_t len = 0;
      sockaddr_un addr = protocol::address(getpid(), &len);
      if (::bind(s, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(s, 4) != 0) _exit(1);
      (void)!::write(ready[1], "x", 1);
      while (true) pause();
    }
    ::close(ready[1]);
    char c;
    EXPECT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    if (stop) {
      ::kill(pid_, SIGSTOP);
      int status;
      waitpid(pid_, &status, WUNTRACED);
    }
  }
  ~SilentRuntime() {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::string pid() const { return std::to_string(pid_); }

 private:
  pid_t pid_ = -1;
};

TEST(CliCommands, ListSkipsProcessesThatCannotAnswer) {
  SilentRuntime silent(false), stopped(true);
  FakeRuntime rt({"data\tpatch=a\tenabled=1", "ok"});
  auto start = std::chrono::steady_clock::now();
  Outcome r = uklp({"list"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(self() + " "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("uklp: warning: skipping process " + silent.pid() + " "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("uklp: warning: skipping process " + stopped.pid() + " (socket @uklp/" + stopped.pid() +
                       "): it is stopped (T (stopped))"),
            std::string::npos)
      << r.err;
}

// ---- info, run, usage ----

TEST(CliInfo, Json) {
  Outcome r = uklp({"--json", "info", UKLP_FIXTURE_PATCH});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = r.json();
  EXPECT_EQ(j["patch"], "livepatch_sample");
  EXPECT_EQ(j["livepatch"], true);
  EXPECT_EQ(j["parameters"].size(), 3u);
  EXPECT_EQ(j["targets"][0]["object"], "main");
  Outcome text = uklp({"info", UKLP_FIXTURE_PATCH});
  EXPECT_NE(text.out.find("patch:      livepatch_sample\n"), std::string::npos) << text.out;
}

TEST(CliRun, PrependsTheRuntimeToLdPreload) {
  std::string dummy =
      std::filesystem::path(::testing::TempDir() + "/libuklp-dummy-" + self() + ".so").lexically_normal().string();
  UniqueFd(::open(dummy.c_str(), O_CREAT | O_WRONLY, 0644));
  // The dummy is not loadable: the loader warns about it on stderr and goes on.
  Outcome r = uklp({"run", "--", "/bin/sh", "-c", "echo $LD_PRELOAD"}, {"UKLP_RUNTIME=" + dummy, "LD_PRELOAD="});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dummy + "\n");
  Outcome sig = uklp({"run", "--signal", "40", "--log", "/tmp/x.log", "--", "/bin/sh", "-c", "echo $UKLP_SIGNAL $UKLP_LOG_FILE"},
                 {"UKLP_RUNTIME=" + dummy});
  EXPECT_EQ(sig.out, "40 /tmp/x.log\n");
  Outcome missing = uklp({"run", "--", "/nonexistent/program"}, {"UKLP_RUNTIME=" + dummy});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_EQ(missing.err, "uklp: error: cannot run '/nonexistent/program' (No such file or directory)\n");
  Outcome no_runtime = uklp({"run", "--", "true"}, {"UKLP_RUNTIME=/nonexistent/libuklp.so"});
  EXPECT_EQ(no_runtime.exit_code, 1);
  ::unlink(dummy.c_str());
}

TEST(CliUsage, BadCommandLinesExitTwo) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{{}, {"frobnicate"}, {"load"}, {"list", "1", "2"}}) {
    Outcome r = uklp(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(r.err.starts_with("uklp: error: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace uklp::cli
