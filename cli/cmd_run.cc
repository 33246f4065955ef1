// cmd_run.cc: `uklp run [--log FILE] -- PROGRAM ARGS...`: run a
// program with the runtime preloaded, so that it can be patched later.
//
// It sets LD_PRELOAD (the runtime first, an existing value kept after it;
// runtime_path.h finds the runtime) and UKLP_LOG_FILE for --log, then
// replaces itself with PROGRAM (execvp, so
// PATH applies): the program keeps uklp's pid, which is what `uklp load`
// will be given. Exit codes when PROGRAM cannot be started follow env(1):
// 127 when it is not found, 126 when it cannot be executed.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>

#include "args.h"
#include "cli.h"
#include "output.h"
#include "runtime_path.h"

namespace uklp::cli {
namespace {

struct RunOptions {
  std::string log_file;
  std::string program;
  CLI::App* app = nullptr;  // the program's arguments are its remaining()
};

Status set_env(const char* name, const std::string& value) {
  if (::setenv(name, value.c_str(), 1) != 0) return error(errno, std::string("cannot set ") + name);
  return Status::ok();
}

Status prepare_environment(const RunOptions& o) {
  UKLP_ASSIGN_OR_RETURN(std::string runtime, find_runtime());
  const char* old = std::getenv("LD_PRELOAD");
  auto existing = old ? std::optional<std::string_view>(old) : std::nullopt;
  UKLP_TRY(set_env("LD_PRELOAD", prepend_preload(runtime, existing)));
  if (!o.log_file.empty()) UKLP_TRY(set_env("UKLP_LOG_FILE", absolute_path(o.log_file)));
  return Status::ok();
}

// Returns only when the exec failed.
int exec_program(const Context& ctx, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  int err = errno;
  int code = (err == ENOENT || err == ENOTDIR) ? kExitNotFound : kExitCannotExec;
  return report_error(ctx, error(err, "cannot run '" + argv[0] + "'"), code);
}

int run_run(const Context& ctx, const RunOptions& o) {
  std::vector<std::string> argv = o.app->remaining();
  if (!argv.empty() && argv.front() == "--") argv.erase(argv.begin());  // the "--" before PROGRAM
  argv.insert(argv.begin(), o.program);
  if (o.program.empty()) return report_error(ctx, error(EINVAL, "no program given: uklp run -- PROGRAM ARGS..."), kExitUsage);
  if (Status s = prepare_environment(o); !s) return report_error(ctx, s);
  return exec_program(ctx, argv);
}

}  // namespace

Subcommand add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a program with the uklp runtime preloaded");
  cmd->add_option("--log", o->log_file, "Runtime log file (UKLP_LOG_FILE)")->type_name("FILE");
  cmd->footer("Put '--' before PROGRAM: uklp run [--log FILE] -- PROGRAM ARGS...");
  cmd->add_option("PROGRAM", o->program, "The program to run, then its arguments");
  // Everything after PROGRAM belongs to the program, even options that uklp
  // itself has (--json); CLI11 keeps them in remaining().
  cmd->prefix_command();
  cmd->fallthrough(false);
  o->app = cmd;
  return {cmd, [o](const Context& ctx) { return run_run(ctx, *o); }};
}

}  // namespace uklp::cli
