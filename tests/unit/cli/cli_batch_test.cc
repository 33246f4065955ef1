// cli_batch_test.cc: `uklp load|disable|unload --pid LIST / --all-of
// PROGRAM` (cli/batch_*.cc) against several fake runtimes at once.
//
// Each ScriptedRuntime is a child process that listens on its own control
// socket ("@uklp/<its pid>"), answers every request with the next scripted
// answer for its command, and reports each request line (and the inode of
// a descriptor passed with it) to the test through a pipe. Processes
// without a runtime are children that only sleep. The CLI runs as a child
// too (cli_runner.h), so these tests check the outside contract: the
// per-process table, the totals line, the error line, the exit code, the
// JSON document and the exact requests each process received.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "batch_report.h"
#include "cli_runner.h"
#include "process_selector.h"
#include "proc.h"
#include "protocol.h"
#include "unique_fd.h"

namespace uklp::cli {
namespace {

using Answer = std::vector<std::string>;
using Script = std::map<std::string, std::vector<Answer>>;  // command -> answers in order, the last repeats

const Answer kOk = {"ok"};
const Answer kNoTransition = {"ok"};
const Answer kEnabled = {"data\t1", "ok"};
const Answer kDisabled = {"data\t0", "ok"};

// `list` with livepatch_sample `enabled` and `transition` (0 or 1).
Answer listed(int enabled, int transition) {
  return {"data\tpatch=livepatch_sample\tenabled=" + std::to_string(enabled) + "\ttransition=" +
              std::to_string(transition) + "\treplace=0\tstack_order=1\tforced=0",
          "data\tobject=main\tpatch=livepatch_sample\tpatched=1", "ok"};
}

// A child process serving `script` on its own control socket.
class ScriptedRuntime {
 public:
  explicit ScriptedRuntime(Script script) {
    int ready[2], report[2];
    EXPECT_EQ(pipe2(ready, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(report, O_CLOEXEC), 0);
    pid_ = fork();
    if (pid_ == 0) {
      ::close(report[0]);
      int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
      socklen_t len = 0;
      sockaddr_un addr = protocol::address(getpid(), &len);
      if (::bind(s, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(s, 16) != 0) _exit(1);
      (void)!::write(ready[1], "x", 1);
      serve(s, report[1], script);
    }
    ::close(ready[1]);
    ::close(report[1]);
    report_ = UniqueFd(report[0]);
    char c;
    EXPECT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
  }
  ~ScriptedRuntime() {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  int pid() const { return pid_; }
  std::string pid_text() const { return std::to_string(pid_); }

  // The request lines received so far (call after the CLI exited).
  std::vector<std::string> requests() {
    read_reports();
    return requests_;
  }
  // The inode of the descriptor passed with the first request (0: none).
  ino_t passed_inode() {
    read_reports();
    return inode_;
  }

 private:
  [[noreturn]] static void serve(int listener, int report, Script script) {
    while (true) {
      UniqueFd conn(::accept(listener, nullptr, nullptr));
      std::string buffer, request;
      int fd = -1;
      if (!protocol::read_line(conn.get(), buffer, request, &fd).is_ok()) continue;
      struct stat st {};
      ino_t inode = fd >= 0 && fstat(fd, &st) == 0 ? st.st_ino : 0;
      if (fd >= 0) ::close(fd);
      std::string record = std::to_string(inode) + "\t" + request + "\n";
      (void)!::write(report, record.data(), record.size());
      auto& answers = script[request.substr(0, request.find('\t'))];
      Answer a = answers.empty() ? kOk : answers.front();
      if (answers.size() > 1) answers.erase(answers.begin());
      for (const auto& line : a) (void)protocol::send_all(conn.get(), line + "\n");
    }
  }

  void read_reports() {
    pollfd p{report_.get(), POLLIN, 0};
    std::string buffer, line;
    while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
      char chunk[4096];
      ssize_t n = ::read(report_.get(), chunk, sizeof chunk);
      if (n <= 0) break;
      pending_.append(chunk, static_cast<size_t>(n));
    }
    for (size_t nl; (nl = pending_.find('\n')) != std::string::npos; pending_.erase(0, nl + 1)) {
      std::string rec = pending_.substr(0, nl);
      size_t tab = rec.find('\t');
      if (requests_.empty()) inode_ = std::stoul(rec.substr(0, tab));
      requests_.push_back(rec.substr(tab + 1));
    }
  }

  pid_t pid_ = -1;
  UniqueFd report_;
  std::string pending_;
  std::vector<std::string> requests_;
  ino_t inode_ = 0;
};

// A process without the runtime: no control socket.
class Bystander {
 public:
  explicit Bystander(const std::string& program = "/bin/sleep") {
    pid_ = fork();
    if (pid_ == 0) {
      execl(program.c_str(), program.c_str(), "600", nullptr);
      _exit(127);
    }
    // Until the exec is done: /proc/PID/exe names the program.
    for (int i = 0; i < 500 && exe_of(pid_) != std::filesystem::canonical(program).string(); ++i) usleep(2000);
  }
  ~Bystander() {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::string pid_text() const { return std::to_string(pid_); }
  int pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// A load whose transition is over when the CLI first looks (`list`).
Script patched_script() { return {{"load", {kOk}}, {"list", {listed(1, 0)}}}; }

std::string load_request() { return "load\tlivepatch_sample\t" + fixture_path() + "\twait"; }

// The table line of `pid`: "PID COMM RESULT".
std::string line_of(const std::string& out, int pid) {
  std::string head = std::to_string(pid) + " ";
  for (size_t at = 0; at < out.size();) {
    size_t nl = out.find('\n', at);
    std::string line = out.substr(at, nl - at);
    if (line.starts_with(head)) return line;
    at = nl == std::string::npos ? out.size() : nl + 1;
  }
  return {};
}

// The RESULT column of `pid`'s line: after the pid, its blanks and the
// 16 characters of COMM and a blank.
std::string result_of(const std::string& out, int pid) {
  std::string line = line_of(out, pid);
  size_t comm = line.find_first_not_of(' ', std::to_string(pid).size());
  return comm == std::string::npos || comm + 17 > line.size() ? line : line.substr(comm + 17);
}

// ---- load ----

TEST(CliBatch, LoadWithMixedOutcomes) {
  ScriptedRuntime ok1(patched_script()), ok2(patched_script());
  ScriptedRuntime busy({{"load", {{"error\t16\tpatch 'other' is in transition"}}}});
  ScriptedRuntime nopad({{"load", {{"log\tlivepatch: failed to find location for function 'nopad'",
                                    "error\t22\tfunction 'nopad' in object 'main' has no patchable entry"}}}});
  Bystander no_runtime;
  const int gone = 2147483600;
  Outcome r = uklp({"load", "--pid", ok1.pid_text() + "," + busy.pid_text(), "--pid", nopad.pid_text(), "-p",
                    no_runtime.pid_text() + "," + std::to_string(gone) + "," + ok2.pid_text(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // Every runtime got the request with the module's descriptor; the
  // successful ones were followed to the end of their transition.
  struct stat st {};
  ASSERT_EQ(stat(UKLP_FIXTURE_PATCH, &st), 0);
  for (ScriptedRuntime* rt : {&ok1, &ok2}) {
    EXPECT_EQ(rt->requests(), (std::vector<std::string>{load_request(), "list"}));
    EXPECT_EQ(rt->passed_inode(), st.st_ino);
  }
  EXPECT_EQ(busy.requests(), std::vector<std::string>{load_request()});
  EXPECT_EQ(busy.passed_inode(), st.st_ino);
  EXPECT_EQ(result_of(r.out, ok1.pid()), "patched");
  EXPECT_EQ(result_of(r.out, ok2.pid()), "patched");
  EXPECT_EQ(result_of(r.out, busy.pid()), "refused: patch 'other' is in transition (Device or resource busy)");
  EXPECT_EQ(result_of(r.out, nopad.pid()),
            "not patchable: function 'nopad' in object 'main' has no patchable entry (Invalid argument)");
  EXPECT_EQ(result_of(r.out, no_runtime.pid()),
            "not patchable: no uklp runtime (no control socket @uklp/" + no_runtime.pid_text() +
                ") (Connection refused)");
  EXPECT_EQ(result_of(r.out, gone), "failed: no such process 2147483600 (No such process)");
  EXPECT_NE(r.out.find("\npatch 'livepatch_sample': 2 of 6 processes patched, 1 refused, 2 not patchable, "
                       "1 failed ("),
            std::string::npos)
      << r.out;
  // The successes first, then by kind, each in pid order.
  EXPECT_TRUE(r.out.starts_with("PID      COMM             RESULT\n")) << r.out;
  EXPECT_LT(r.out.find(line_of(r.out, ok2.pid())), r.out.find(line_of(r.out, busy.pid())));
  EXPECT_LT(r.out.find(line_of(r.out, busy.pid())), r.out.find(line_of(r.out, gone)));
  // One error line: the first failure in the table's order (the refusal).
  EXPECT_EQ(r.err, "uklp: error: patch 'livepatch_sample': 4 of 6 processes not patched; the first: process " +
                       busy.pid_text() + " (uklp_cli_tests): patch 'other' is in transition (Device or resource busy)\n");
}

TEST(CliBatch, AllPatched) {
  ScriptedRuntime a(patched_script()), b(patched_script()), c(patched_script());
  Outcome r = uklp({"load", "--pid", a.pid_text() + "," + b.pid_text() + "," + c.pid_text(), UKLP_FIXTURE_PATCH,
                    "answer=42"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // not a terminal: no progress
  EXPECT_EQ(a.requests().front(), load_request() + "\tanswer=42");
  for (int pid : {a.pid(), b.pid(), c.pid()}) EXPECT_EQ(result_of(r.out, pid), "patched");
  EXPECT_NE(r.out.find("patch 'livepatch_sample': 3 of 3 processes patched ("), std::string::npos) << r.out;
}

TEST(CliBatch, WaitsForEachTransitionAndSeesReversals) {
  Answer in_transition = {"data\ttransition=livepatch_sample\ttarget=patching\tattempts=3\telapsed_ms=20\tthreads=2"
                          "\tswitched=1\tforced=0",
                          "ok"};
  // Still in transition at the first look: `status` polls, then the outcome.
  ScriptedRuntime slow({{"list", {listed(1, 1)}}, {"status", {in_transition, kNoTransition}}, {"sys", {kEnabled}}});
  ScriptedRuntime reversed({{"list", {listed(0, 0)}}});  // someone disabled it meanwhile
  ScriptedRuntime reversed_later({{"list", {listed(1, 1)}}, {"status", {kNoTransition}}, {"sys", {kDisabled}}});
  ScriptedRuntime none({{"load", {{"data\tpatch=none", "ok"}}}});
  Outcome r = uklp({"--json", "load", "--pid",
                    slow.pid_text() + "," + reversed.pid_text() + "," + reversed_later.pid_text() + "," +
                        none.pid_text(),
                    UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(slow.requests(), (std::vector<std::string>{load_request(), "list", "status", "status",
                                                      "sys\tlivepatch/livepatch_sample/enabled"}));
  EXPECT_EQ(reversed.requests(), (std::vector<std::string>{load_request(), "list"}));
  EXPECT_EQ(none.requests().size(), 1u);
  auto j = r.json();
  EXPECT_EQ(j["command"], "load");
  EXPECT_EQ(j["file"], fixture_path());
  EXPECT_EQ(j["errno"], ECANCELED);
  EXPECT_EQ(j["summary"]["processes"], 4);
  EXPECT_EQ(j["summary"]["ok"], 2);
  EXPECT_EQ(j["summary"]["failed"], 2);
  std::map<int, nlohmann::json> by_pid;
  for (const auto& p : j["processes"]) by_pid[p["pid"].get<int>()] = p;
  EXPECT_EQ(by_pid[slow.pid()]["result"], "patched");
  EXPECT_EQ(by_pid[slow.pid()]["transition"]["polls"], 3);
  EXPECT_EQ(by_pid[slow.pid()]["transition"]["attempts"], 3);
  for (const auto* rt : {&reversed, &reversed_later}) {
    EXPECT_EQ(by_pid[rt->pid()]["verdict"], "failed");
    EXPECT_EQ(by_pid[rt->pid()]["errno"], ECANCELED);
  }
  EXPECT_EQ(by_pid[none.pid()]["result"], "loaded, no patch enabled");
  EXPECT_FALSE(by_pid[none.pid()].contains("transition"));
}

TEST(CliBatch, TimeoutLeavesSlowProcessesInTransition) {
  Answer stuck = {"data\ttransition=livepatch_sample\ttarget=patching\tattempts=9\telapsed_ms=20\tthreads=2"
                  "\tswitched=1\tforced=0",
                  "data\tblocking=77\tname=worker\treason=is sleeping on function work_loop\tstack=work_loop+0x1a [main]",
                  "ok"};
  ScriptedRuntime fine(patched_script()), slow({{"list", {listed(1, 1)}}, {"status", {stuck}}});
  Outcome r = uklp({"load", "--timeout", "0.3", "--pid", fine.pid_text() + "," + slow.pid_text(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(result_of(r.out, fine.pid()), "patched");
  EXPECT_TRUE(result_of(r.out, slow.pid())
                  .starts_with("timed out: patching transition of patch 'livepatch_sample' still in progress after "
                               "0.3 s; it goes on in process " + slow.pid_text()))
      << r.out;
  EXPECT_NE(r.err.find("(Connection timed out)\n"), std::string::npos) << r.err;
}

// A runtime whose first attempt completed the transition says so in its
// answer: no `list`, `status` or `sys` follows.
TEST(CliBatch, TransitionCompleteInTheAnswerEndsTheWait) {
  ScriptedRuntime a({{"load", {{"data\tpatch=active", "data\ttransition=complete", "ok"}}}});
  ScriptedRuntime b({{"load", {{"data\tpatch=active", "ok"}}}, {"list", {listed(1, 0)}}});
  Outcome r = uklp({"load", "--pid", a.pid_text() + "," + b.pid_text(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(a.requests(), (std::vector<std::string>{load_request()}));
  EXPECT_EQ(b.requests(), (std::vector<std::string>{load_request(), "list"}));
  EXPECT_EQ(result_of(r.out, a.pid()), "patched");
  EXPECT_EQ(result_of(r.out, b.pid()), "patched");
  ScriptedRuntime c({{"disable", {{"data\ttransition=complete", "ok"}}}});
  Outcome d = uklp({"disable", "--pid", c.pid_text(), "livepatch_sample"});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_EQ(c.requests(), (std::vector<std::string>{"disable\tlivepatch_sample\twait"}));
  EXPECT_EQ(result_of(d.out, c.pid()), "disabled");
}

// ---- disable, unload ----

TEST(CliBatch, DisableAndUnload) {
  // a: the patch has left the tree at the first look; b: it is listed, disabled.
  ScriptedRuntime a({{"list", {kOk}}}), b({{"list", {listed(0, 1)}}, {"status", {kNoTransition}}, {"sys", {kDisabled}}});
  ScriptedRuntime c({{"disable", {{"error\t2\tno such patch 'livepatch_sample'"}}},
                     {"unload", {{"error\t16\tpatch 'livepatch_sample' is still enabled"}}}});
  std::string pids = a.pid_text() + "," + b.pid_text() + "," + c.pid_text();
  Outcome d = uklp({"disable", "--pid", pids, "livepatch_sample"});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(a.requests(), (std::vector<std::string>{"disable\tlivepatch_sample\twait", "list"}));
  EXPECT_EQ(b.requests(), (std::vector<std::string>{"disable\tlivepatch_sample\twait", "list", "status",
                                                   "sys\tlivepatch/livepatch_sample/enabled"}));
  EXPECT_EQ(result_of(d.out, a.pid()), "disabled");
  EXPECT_EQ(result_of(d.out, b.pid()), "disabled");
  EXPECT_EQ(result_of(d.out, c.pid()), "refused: no such patch 'livepatch_sample' (No such file or directory)");
  EXPECT_NE(d.out.find("patch 'livepatch_sample': 2 of 3 processes disabled, 1 refused ("), std::string::npos);
  Outcome u = uklp({"unload", "--pid", pids, "livepatch_sample"});
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_EQ(a.requests().back(), "unload\tlivepatch_sample");
  EXPECT_EQ(result_of(u.out, b.pid()), "unloaded");
  EXPECT_EQ(result_of(u.out, c.pid()), "refused: patch 'livepatch_sample' is still enabled (Device or resource busy)");
  Outcome nowait = uklp({"disable", "--no-wait", "--pid", a.pid_text(), "livepatch_sample"});
  EXPECT_EQ(nowait.exit_code, 0) << nowait.err;
  EXPECT_EQ(a.requests().back(), "disable\tlivepatch_sample\tnowait");
  EXPECT_EQ(result_of(nowait.out, a.pid()), "unpatching started");
}

// Both engines give the same results (the thread pool is kept for the
// benchmark's comparison).
TEST(CliBatch, ThreadPoolEngine) {
  ScriptedRuntime a(patched_script()), busy({{"load", {{"error\t16\tbusy"}}}});
  Bystander none;
  Outcome r = uklp({"load", "--engine", "threads", "--parallel", "2", "--pid",
                    a.pid_text() + "," + busy.pid_text() + "," + none.pid_text(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(result_of(r.out, a.pid()), "patched");
  EXPECT_EQ(result_of(r.out, busy.pid()), "refused: busy (Device or resource busy)");
  EXPECT_EQ(result_of(r.out, none.pid()).substr(0, 30), "not patchable: no uklp runtime");
}

// ---- selection ----

TEST(CliBatch, AllOfSelectsTheProcessesOfAProgram) {
  std::string copy = ::testing::TempDir() + "/uklp-batch-sleeper-" + std::to_string(getpid());
  std::filesystem::copy_file("/bin/sleep", copy, std::filesystem::copy_options::overwrite_existing);
  {
    Bystander one(copy), two(copy);
    Outcome r = uklp({"--json", "load", "--all-of", copy, UKLP_FIXTURE_PATCH});
    EXPECT_EQ(r.exit_code, 1);
    auto j = r.json();
    EXPECT_EQ(j["summary"]["processes"], 2);
    EXPECT_EQ(j["summary"]["not_patchable"], 2);
    EXPECT_EQ(j["processes"][0]["pid"], std::min(one.pid(), two.pid()));
    EXPECT_EQ(j["processes"][0]["errno"], ECONNREFUSED);
    // By name, too.
    Outcome by_name = uklp({"--json", "unload", "--all-of", std::filesystem::path(copy).filename().string(), "p"});
    EXPECT_EQ(by_name.json()["summary"]["processes"], 2) << by_name.out;
  }
  Outcome none = uklp({"load", "--all-of", copy, UKLP_FIXTURE_PATCH});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "uklp: error: no process runs '" + copy + "' (No such process)\n");
  std::filesystem::remove(copy);
}

TEST(CliBatch, UsageErrors) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"load", "--pid", "12,x", UKLP_FIXTURE_PATCH},
           {"load", "--pid", "12", "4242", UKLP_FIXTURE_PATCH},
           {"load", "--pid", "12"},
           {"load", "--parallel", "4", "12", UKLP_FIXTURE_PATCH},
           {"disable", "--pid", "12", "13", "p"},
           {"disable", "--all-of", "x"},
           {"unload", "--pid", "", "p"}}) {
    Outcome r = uklp(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << args[2] << ": " << r.err;
    EXPECT_TRUE(r.err.starts_with("uklp: error: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(uklp({"load", "--pid", "12,x", UKLP_FIXTURE_PATCH}).err,
            "uklp: error: invalid process id 'x' in --pid '12,x' (Invalid argument)\n");
  // The module is checked once, before any process is contacted.
  Outcome not_elf = uklp({"load", "--pid", "1", "/etc/hostname"});
  EXPECT_EQ(not_elf.exit_code, 1);
  EXPECT_NE(not_elf.err.find("not an ELF shared object"), std::string::npos) << not_elf.err;
}

// ---- pure parts ----

TEST(ProcessSelector, PidLists) {
  EXPECT_EQ(*parse_pid_list("12"), std::vector<int>{12});
  EXPECT_EQ(*parse_pid_list("12,13,4"), (std::vector<int>{12, 13, 4}));
  EXPECT_EQ(parse_pid_list("12,,13").status().code(), EINVAL);
  EXPECT_EQ(parse_pid_list("0").status().code(), EINVAL);
  EXPECT_EQ(parse_pid_list("").status().code(), EINVAL);
}

TEST(ProcessSelector, Matching) {
  ProgramPattern name = parse_program("kvserver");
  EXPECT_FALSE(name.library);
  EXPECT_TRUE(matches_executable(name, "/opt/kv/bin/kvserver"));
  EXPECT_FALSE(matches_executable(name, "/opt/kv/bin/kvserver2"));
  ProgramPattern path = parse_program("/nonexistent/dir/../bin/kvserver");
  EXPECT_EQ(path.path, "/nonexistent/bin/kvserver");
  EXPECT_TRUE(matches_executable(path, "/nonexistent/bin/kvserver"));
  EXPECT_FALSE(matches_executable(path, "/other/bin/kvserver"));
  ProgramPattern lib = parse_program("libssl.so");
  EXPECT_TRUE(lib.library);
  EXPECT_TRUE(matches_library(lib, "/usr/lib/libssl.so.3"));
  EXPECT_TRUE(matches_library(lib, "/usr/lib/libssl.so"));
  EXPECT_FALSE(matches_library(lib, "/usr/lib/libssl.so3"));
  EXPECT_FALSE(matches_library(lib, "/usr/lib/libcrypto.so.3"));
  ProgramPattern versioned = parse_program("libssl.so.3");
  EXPECT_FALSE(matches_library(versioned, "/usr/lib/libssl.so.1.1"));
  ProgramPattern lib_path = parse_program("/nonexistent/libkv.so.1");
  EXPECT_TRUE(lib_path.library);
  EXPECT_TRUE(matches_library(lib_path, "/nonexistent/libkv.so.1"));
  EXPECT_FALSE(matches_library(lib_path, "/elsewhere/libkv.so.1"));
}

TEST(ProcessSelector, MappedFiles) {
  std::string maps =
      "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 123 /opt/kv/bin/kvserver\n"
      "55d0c0a01000-55d0c0a02000 r-xp 00001000 08:01 123 /opt/kv/bin/kvserver\n"
      "7f00a0000000-7f00a0021000 rw-p 00000000 00:00 0 \n"
      "7f00a1000000-7f00a1200000 r-xp 00000000 08:01 77 /usr/lib/libssl.so.3 (deleted)\n"
      "7f00a2000000-7f00a2001000 r--p 00000000 08:01 78 /opt/dir with blanks/libx.so\n"
      "7ffd1000000-7ffd1021000 rw-p 00000000 00:00 0 [stack]\n";
  EXPECT_EQ(parse_mapped_files(maps), (std::vector<std::string>{"/opt/kv/bin/kvserver", "/usr/lib/libssl.so.3",
                                                                "/opt/dir with blanks/libx.so"}));
  EXPECT_FALSE(mapped_files(getpid()).empty());
  EXPECT_FALSE(exe_of(getpid()).empty());
}

TEST(BatchReport, ExitCodes) {
  EXPECT_EQ(batch_exit_code({.total = 3, .ok = 3}), 0);
  EXPECT_EQ(batch_exit_code({.total = 3, .ok = 2, .timed_out = 1}), 3);
  EXPECT_EQ(batch_exit_code({.total = 3, .ok = 1, .not_patchable = 1, .timed_out = 1}), 1);
  EXPECT_EQ(batch_exit_code({.total = 2, .ok = 1, .refused = 1}), 1);
}

}  // namespace
}  // namespace uklp::cli
