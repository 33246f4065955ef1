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

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "proc.h"
#include "protocol.h"
#include "unique_fd.h"

namespace uklp::cli {
namespace {

// ---- the fake runtime ----

using Answer = std::vector<std::string>;  // answer lines, without '\n'

class FakeRuntime {
 public:
  // `answer`: sent back to every request whose command on() did not script.
  // `hold`: keep each connection open after answering until the client
  // closes it. Serves connections one at a time until the test asks for
  // the requests (the client is done by then) or the object goes away.
  explicit FakeRuntime(Answer answer, bool hold = false) : default_(std::move(answer)), hold_(hold) {
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    socklen_t len = 0;
    sockaddr_un addr = protocol::address(*ns_pid_of(getpid()), &len);
    bound_ = ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
             ::listen(listener_.get(), 4) == 0;
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeRuntime() { stop(); }

  // The answers to the requests of `command` (their first field), one per
  // request in order; the last one answers every further request.
  FakeRuntime& on(const std::string& command, std::vector<Answer> answers) {
    std::lock_guard lock(mutex_);
    script_[command] = std::move(answers);
    return *this;
  }

  bool bound() const { return bound_; }
  // The request lines, once the client is done.
  const std::vector<std::string>& requests() {
    stop();
    return requests_;
  }
  // The first request line.
  std::string request() { return requests().empty() ? std::string() : requests().front(); }
  // How many requests had `command` as their first field.
  size_t count(const std::string& command) {
    return std::count_if(requests().begin(), requests().end(),
                         [&](const std::string& r) { return r.substr(0, r.find('\t')) == command; });
  }
  // The inode of the descriptor passed with the first request (0: none).
  ino_t passed_inode() {
    stop();
    return passed_inode_;
  }

 private:
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void serve() {
    pollfd p{listener_.get(), POLLIN, 0};
    while (bound_ && !stop_)
      if (::poll(&p, 1, 10) == 1) serve_one();
  }

  void serve_one() {
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::string buffer, request;
    int fd = -1;
    if (!protocol::read_line(conn.get(), buffer, request, &fd).is_ok()) return;
    UniqueFd passed(fd);
    struct stat st {};
    if (requests_.empty() && passed.get() >= 0 && fstat(passed.get(), &st) == 0) passed_inode_ = st.st_ino;
    requests_.push_back(request);
    for (const auto& line : answer_for(request)) (void)protocol::send_all(conn.get(), line + "\n");
    if (hold_) {
      char c;
      while (::recv(conn.get(), &c, 1, 0) > 0) {
      }
    }
  }

  Answer answer_for(const std::string& request) {
    std::lock_guard lock(mutex_);
    auto it = script_.find(request.substr(0, request.find('\t')));
    if (it == script_.end() || it->second.empty()) return default_;
    Answer a = it->second.front();
    if (it->second.size() > 1) it->second.erase(it->second.begin());
    return a;
  }

  Answer default_;
  bool hold_;
  bool bound_ = false;
  std::atomic<bool> stop_ = false;
  std::mutex mutex_;
  std::map<std::string, std::vector<Answer>> script_;
  UniqueFd listener_;
  std::thread thread_;
  std::vector<std::string> requests_;
  ino_t passed_inode_ = 0;
};

// ---- scripted answers of the runtime ----

// `status` while livepatch_sample is in transition: `switched` of 4
// threads switched, blocked by the threads `tids`.
Answer in_transition(int switched, const std::vector<int>& tids = {}, const std::string& target = "patching") {
  Answer a = {"data\ttransition=livepatch_sample\ttarget=" + target + "\tattempts=" + std::to_string(switched + 5) +
              "\telapsed_ms=" + std::to_string(switched * 100) + "\tthreads=4\tswitched=" + std::to_string(switched) +
              "\tforced=0"};
  for (int tid : tids)
    a.push_back("data\tblocking=" + std::to_string(tid) +
                "\tname=worker\treason=is sleeping on function work_loop\tstack=work_loop+0x1a [main];main+0x30 [main]");
  a.push_back("ok");
  return a;
}

const Answer kNoTransition = {"ok"};                         // status: none in progress
const Answer kEnabled = {"data\t1", "ok"};                   // sys livepatch/P/enabled
const Answer kDisabled = {"data\t0", "ok"};
const Answer kNoPatch = {"error\t2\tno such patch 'livepatch_sample'"};

std::vector<Answer> times(size_t n, const Answer& a) { return std::vector<Answer>(n, a); }

std::vector<Answer> operator+(std::vector<Answer> a, const std::vector<Answer>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// ---- child processes as targets ----

// A child process that listens on its own control socket ("@uklp/<its
// pid>") and then runs `serve(listener)`; SIGSTOPped first when `stop`.
class ChildRuntime {
 public:
  explicit ChildRuntime(void (*serve)(int listener), bool stop = false) {
    int ready[2];
    EXPECT_EQ(pipe2(ready, O_CLOEXEC), 0);
    pid_ = fork();
    if (pid_ == 0) {
      int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
      socklen_t len = 0;
      sockaddr_un addr = protocol::address(getpid(), &len);
      if (::bind(s, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(s, 4) != 0) _exit(1);
      (void)!::write(ready[1], "x", 1);
      serve(s);
      _exit(0);
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
  ~ChildRuntime() {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::string pid() const { return std::to_string(pid_); }

 private:
  pid_t pid_ = -1;
};

// A runtime that never answers.
void never_answer(int) {
  while (true) pause();
}

// ---- load ----

TEST(CliLoad, SendsTheRequestWithTheModuleDescriptor) {
  FakeRuntime rt({"log\tlivepatch: enabling patch 'livepatch_sample'", "progress\twaiting for 1 thread",
                  "log\tlivepatch: 'livepatch_sample': patching complete", "ok"});
  rt.on("status", {kNoTransition}).on("sys", {kEnabled});
  ASSERT_TRUE(rt.bound());
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH, "answer=42", "greeting=hi there"});
  EXPECT_EQ(rt.requests(), (std::vector<std::string>{
                               "load\tlivepatch_sample\t" + fixture_path() + "\twait\tanswer=42\tgreeting=hi there",
                               "status", "sys\tlivepatch/livepatch_sample/enabled"}));
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
  EXPECT_EQ(rt.requests(), std::vector<std::string>{"load\tlivepatch_sample\t" + fixture_path() + "\tnowait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = r.json();
  EXPECT_FALSE(j.contains("transition"));
  EXPECT_EQ(j["patch"], "livepatch_sample");
  EXPECT_EQ(j["pid"], getpid());
  EXPECT_EQ(j["waited"], false);
  EXPECT_EQ(j["log"], nlohmann::json::array({"livepatch: enabling patch 'livepatch_sample'"}));
  EXPECT_EQ(r.err, "");
}

TEST(CliLoad, ModuleThatEnablesNoPatchIsNotWaitedFor) {
  FakeRuntime rt({"log\ttest_klp_shadow_vars: klp_shadow_get(obj=PTR1, id=0x1234) = PTR0", "data\tpatch=none", "ok"});
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(rt.requests(), std::vector<std::string>{"load\tlivepatch_sample\t" + fixture_path() + "\twait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "test_klp_shadow_vars: klp_shadow_get(obj=PTR1, id=0x1234) = PTR0\n"
                   "module 'livepatch_sample' loaded into process " + self() + "; its init enabled no patch\n");
}

TEST(CliLoad, ModuleThatEnablesNoPatchAsJson) {
  FakeRuntime rt({"data\tpatch=none", "ok"});
  Outcome r = uklp({"--json", "load", self(), UKLP_FIXTURE_PATCH});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.json()["enabled_patch"], false);
  EXPECT_EQ(r.json()["waited"], false);
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

// The answer says that the first attempt completed the transition: the
// command ends without a `status` poll or a read of `enabled`.
TEST(CliLoad, TransitionCompleteInTheAnswerEndsTheWait) {
  FakeRuntime rt({"data\tpatch=active", "data\ttransition=complete", "ok"});
  Outcome r = uklp({"--json", "load", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rt.requests().size(), 1u);
  EXPECT_EQ(rt.count("status"), 0u);
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["transition"]["polls"], 0);
  EXPECT_EQ(doc["waited"], true);
}

TEST(CliLoad, TimeoutLeavesTheTransitionRunning) {
  FakeRuntime rt({"progress\tstill waiting"}, /*hold=*/true);
  Outcome r = uklp({"load", "--timeout", "0.3", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("uklp: error: patching transition of patch 'livepatch_sample' still in progress after "
                       "0.3 s; it goes on in process " + self() + ": see 'uklp status " + self() + "'; 'uklp sys " +
                       self() + " livepatch/livepatch_sample/force 1' forces it (unsafe), 'uklp disable " + self() +
                       " livepatch_sample' reverses it (Connection timed out)\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(rt.count("status"), 0u);
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

// ---- waiting for the end of the transition ----

TEST(CliWait, LoadPollsStatusUntilTheTransitionCompletes) {
  FakeRuntime rt({"ok"});
  rt.on("status", {in_transition(1, {101}), in_transition(2, {101}), in_transition(3, {101}), kNoTransition})
      .on("sys", {kEnabled});
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rt.count("status"), 4u);
  EXPECT_EQ(rt.requests().back(), "sys\tlivepatch/livepatch_sample/enabled");
  EXPECT_EQ(r.out, "patch 'livepatch_sample' enabled in process " + self() + "\n");
  // Not a terminal: one line per change of the counts.
  EXPECT_EQ(r.err, "uklp: patching 'livepatch_sample': 1/4 threads switched, 1 blocking, 0.1 s\n"
                   "uklp: patching 'livepatch_sample': 2/4 threads switched, 1 blocking, 0.2 s\n"
                   "uklp: patching 'livepatch_sample': 3/4 threads switched, 1 blocking, 0.3 s\n");
}

TEST(CliWait, JsonResultHasTheTransition) {
  FakeRuntime rt({"ok"});
  rt.on("status", {in_transition(1, {101, 102}), in_transition(2, {101}), kNoTransition}).on("sys", {kEnabled});
  Outcome r = uklp({"--json", "load", self(), UKLP_FIXTURE_PATCH});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // progress stays silent under --json when stderr is not a terminal
  auto t = r.json()["transition"];
  EXPECT_EQ(t["polls"], 3);
  EXPECT_EQ(t["attempts"], 7);  // of the last status that saw the transition
  EXPECT_TRUE(t["elapsed_ms"].is_number());
  ASSERT_EQ(t["blocking"].size(), 1u);
  EXPECT_EQ(t["blocking"][0]["tid"], 101);
  EXPECT_EQ(t["blocking"][0]["stack"], nlohmann::json::array({"work_loop+0x1a [main]", "main+0x30 [main]"}));
}

TEST(CliWait, TransitionDoneAtTheFirstPoll) {
  FakeRuntime rt({"ok"});
  rt.on("sys", {kEnabled});
  Outcome r = uklp({"--json", "load", self(), UKLP_FIXTURE_PATCH});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = r.json()["transition"];
  EXPECT_EQ(t["polls"], 1);
  EXPECT_TRUE(t["attempts"].is_null());
  EXPECT_EQ(t["blocking"], nlohmann::json::array());
}

// Polls come every 10 ms for 100 ms, then every 100 ms: 25 polls take
// about 1.5 s, the 15 after them 1.5 s more.
TEST(CliWait, BlockingThreadsAreShownAfterOneSecondAndWhenTheyChange) {
  FakeRuntime rt({"ok"});
  rt.on("status", times(25, in_transition(2, {101})) + times(15, in_transition(2, {101, 102})) + times(1, kNoTransition))
      .on("sys", {kEnabled});
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string header = "uklp: patching 'livepatch_sample' is blocked by ";
  EXPECT_EQ(occurrences(r.err, header), 2u) << r.err;
  std::string first = header + "1 thread after 0.2 s:\n"
                      "  thread 101 (worker): is sleeping on function work_loop\n"
                      "    work_loop+0x1a [main]\n"
                      "    main+0x30 [main]\n";
  std::string second = header + "2 threads after 0.2 s:\n"
                       "  thread 101 (worker): is sleeping on function work_loop\n"
                       "    work_loop+0x1a [main]\n"
                       "    main+0x30 [main]\n"
                       "  thread 102 (worker): is sleeping on function work_loop\n";
  size_t at_first = r.err.find(first), at_second = r.err.find(second);
  EXPECT_NE(at_first, std::string::npos) << r.err;
  EXPECT_NE(at_second, std::string::npos) << r.err;
  EXPECT_LT(at_first, at_second);
  EXPECT_EQ(rt.count("status"), 41u);
}

TEST(CliWait, ReversedPatchingTransitionFails) {
  for (const Answer& enabled : {kDisabled, kNoPatch}) {
    FakeRuntime rt({"ok"});
    rt.on("status", {in_transition(1), in_transition(1, {}, "unpatching"), kNoTransition}).on("sys", {enabled});
    Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "uklp: patching 'livepatch_sample': 1/4 threads switched, 0 blocking, 0.1 s\n"
                     "uklp: unpatching 'livepatch_sample': 1/4 threads switched, 0 blocking, 0.1 s\n"
                     "uklp: error: the patching transition of patch 'livepatch_sample' was reversed: the patch is "
                     "disabled ('uklp disable' or a write of livepatch/livepatch_sample/enabled) (Operation canceled)\n");
    EXPECT_EQ(r.out, "");
  }
}

TEST(CliWait, DisableEndsWithThePatchDisabledOrGone) {
  for (const Answer& enabled : {kDisabled, kNoPatch}) {
    FakeRuntime rt({"ok"});
    rt.on("status", {in_transition(3, {}, "unpatching"), kNoTransition}).on("sys", {enabled});
    Outcome r = uklp({"--json", "disable", self(), "livepatch_sample"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.json()["transition"]["polls"], 2);
    EXPECT_EQ(rt.requests().back(), "sys\tlivepatch/livepatch_sample/enabled");
  }
  FakeRuntime rt({"ok"});
  rt.on("status", {in_transition(3, {}, "unpatching"), kNoTransition}).on("sys", {kEnabled});
  Outcome r = uklp({"disable", self(), "livepatch_sample"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("uklp: error: the unpatching transition of patch 'livepatch_sample' was reversed: the patch "
                       "is enabled again (a write of livepatch/livepatch_sample/enabled) (Operation canceled)\n"),
            std::string::npos)
      << r.err;
}

TEST(CliWait, AnotherPatchInTransitionMeansOursIsOver) {
  FakeRuntime rt({"ok"});
  rt.on("status", {{"data\ttransition=other\ttarget=patching\tattempts=1\telapsed_ms=5\tthreads=4\tswitched=0\tforced=0",
                    "ok"}})
      .on("sys", {kEnabled});
  Outcome r = uklp({"load", self(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rt.count("status"), 1u);
}

TEST(CliWait, TimeoutKeepsTheBlockingThreadsInTheJson) {
  FakeRuntime rt({"ok"});
  rt.on("status", {in_transition(3, {101})});
  auto start = std::chrono::steady_clock::now();
  Outcome r = uklp({"--json", "disable", "--timeout", "0.3", self(), "livepatch_sample"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "uklp: error: unpatching transition of patch 'livepatch_sample' still in progress after 0.3 s; "
                   "it goes on in process " + self() + ": see 'uklp status " + self() + "'; 'uklp sys " + self() +
                       " livepatch/livepatch_sample/force 1' forces it (unsafe), 'uklp sys " + self() +
                       " livepatch/livepatch_sample/enabled 1' reverses it (Connection timed out)\n");
  auto j = r.json();
  EXPECT_EQ(j["errno"], ETIMEDOUT);
  EXPECT_EQ(j["transition"]["blocking"][0]["tid"], 101);
  EXPECT_GE(rt.count("status"), 5u);
  EXPECT_EQ(rt.count("sys"), 0u);
}

// A target that dies during its transition: its runtime answers the
// first request with `ok` and the process exits (it stays a zombie until
// the ChildRuntime goes away).
void answer_once_and_exit(int listener) {
  int c = ::accept(listener, nullptr, nullptr);
  char ch = 0;
  while (::recv(c, &ch, 1, 0) == 1 && ch != '\n') {
  }
  (void)!::send(c, "ok\n", 3, MSG_NOSIGNAL);
}

TEST(CliWait, ProcessExitingDuringTheTransition) {
  ChildRuntime target(answer_once_and_exit);
  Outcome r = uklp({"load", target.pid(), UKLP_FIXTURE_PATCH});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "uklp: error: process " + target.pid() +
                       " exited before the patching transition of patch 'livepatch_sample' finished (No such process)\n");
}

// ---- status ----

TEST(CliStatus, TransitionWithBlockingThreads) {
  FakeRuntime rt(in_transition(3, {101}));
  Outcome r = uklp({"status", self()});
  EXPECT_EQ(rt.request(), "status");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "patch 'livepatch_sample': patching transition in progress for 0.3 s (8 attempts)\n"
                   "3 of 4 threads switched\n"
                   "blocked by 1 thread:\n"
                   "  thread 101 (worker): is sleeping on function work_loop\n"
                   "    work_loop+0x1a [main]\n"
                   "    main+0x30 [main]\n");
}

TEST(CliStatus, Json) {
  {
    FakeRuntime rt(in_transition(2, {101, 102}, "unpatching"));
    Outcome r = uklp({"status", "--json", self()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto t = r.json()["transition"];
    EXPECT_EQ(t["patch"], "livepatch_sample");
    EXPECT_EQ(t["target"], "unpatching");
    EXPECT_EQ(t["switched"], 2);
    EXPECT_EQ(t["threads"], 4);
    EXPECT_EQ(t["attempts"], 7);
    EXPECT_EQ(t["elapsed_ms"], 200);
    EXPECT_EQ(t["forced"], false);
    ASSERT_EQ(t["blocking"].size(), 2u);
    EXPECT_EQ(t["blocking"][1]["tid"], 102);
    EXPECT_EQ(t["blocking"][1]["reason"], "is sleeping on function work_loop");
    EXPECT_EQ(t["blocking"][1]["stack"][0], "work_loop+0x1a [main]");
  }
  {
    FakeRuntime rt(kNoTransition);
    Outcome r = uklp({"--json", "status", self()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.json()["transition"].is_null());
    EXPECT_EQ(r.json()["pid"], getpid());
  }
}

TEST(CliStatus, NoTransitionAndErrors) {
  {
    FakeRuntime rt(kNoTransition);
    Outcome r = uklp({"status", self()});
    EXPECT_EQ(r.out, "no transition in progress in process " + self() + "\n");
  }
  {
    FakeRuntime rt({"data\tblocking=1\tname=a\treason=b\tstack=", "ok"});
    Outcome r = uklp({"status", self()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("(Protocol error)"), std::string::npos) << r.err;
  }
  EXPECT_EQ(uklp({"status", "x"}).exit_code, 2);
}

// ---- the other process commands ----

TEST(CliCommands, DisableAndUnload) {
  {
    FakeRuntime rt({"ok"});
    rt.on("sys", {kNoPatch});
    Outcome r = uklp({"disable", self(), "livepatch_sample"});
    EXPECT_EQ(rt.requests(), (std::vector<std::string>{"disable\tlivepatch_sample\twait", "status",
                                                      "sys\tlivepatch/livepatch_sample/enabled"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "patch 'livepatch_sample' disabled in process " + self() + "\n");
  }
  {
    FakeRuntime rt({"ok"});
    Outcome r = uklp({"disable", "--no-wait", self(), "p"});
    EXPECT_EQ(rt.requests(), std::vector<std::string>{"disable\tp\tnowait"});
    EXPECT_EQ(r.out, "patch 'p' in process " + self() + ": unpatching transition started (see 'uklp status " +
                         self() + "')\n");
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

TEST(CliCommands, ListSkipsProcessesThatCannotAnswer) {
  ChildRuntime silent(never_answer), stopped(never_answer, /*stop=*/true);
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
  Outcome log = uklp({"run", "--log", "/tmp/x.log", "--", "/bin/sh", "-c", "echo $UKLP_LOG_FILE"}, {"UKLP_RUNTIME=" + dummy});
  EXPECT_EQ(log.out, "/tmp/x.log\n");
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
