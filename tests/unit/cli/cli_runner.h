// cli_runner.h: running the real `uklp` binary from a unit test (fork +
// execve, stdout and stderr captured in memory files), for the tests that
// check the CLI's outside contract against fake runtimes.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "unique_fd.h"

extern char** environ;

namespace uklp::cli {

struct Outcome {
  int exit_code = -1;
  std::string out, err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

inline std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

// Runs `uklp ARGS...` with `env` added to the environment.
inline Outcome uklp(std::vector<std::string> args, std::vector<std::string> env = {}) {
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

inline std::string self() { return std::to_string(getpid()); }

inline std::string fixture_path() {
  char buf[4096];
  return std::string(realpath(UKLP_FIXTURE_PATCH, buf));
}

}  // namespace uklp::cli
