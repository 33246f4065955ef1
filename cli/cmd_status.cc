// cmd_status.cc: `uklp status PID`: the transition in progress in process
// PID, if any: its patch and direction, how long it has run, how many
// attempts it took, how many threads have switched, and each thread that
// blocks it with its reason and its stack, one frame per line like
// /proc/PID/stack. What the kernel spreads over
// /sys/kernel/livepatch/P/transition, /proc/PID/patch_state and dmesg.
//
// Request (runtime/control.cc, cmd_status): "status"; the data lines are
// described in transition_status.h.
#include <memory>

#include <fmt/core.h>

#include "args.h"
#include "cli.h"
#include "output.h"
#include "session.h"
#include "transition_status.h"

namespace uklp::cli {
namespace {

struct StatusOptions {
  std::string pid_text;
};

void report_status(const Context& ctx, int pid, const std::optional<TransitionStatus>& st, const Exchange& ex) {
  if (ctx.json) {
    nlohmann::json doc = {{"pid", pid}, {"transition", st ? transition_status_json(*st) : nlohmann::json(nullptr)}};
    doc.update(log_json(ex));
    return print_json(doc);
  }
  if (!st) return fmt::print("no transition in progress in process {}\n", pid);
  fmt::print("{}", render_transition_status(*st));
}

int run_status(const Context& ctx, const StatusOptions& o) {
  auto pid = parse_pid(o.pid_text);
  if (!pid) return report_error(ctx, pid.status(), kExitUsage);
  Exchange ex;
  if (Status s = exchange(ctx, *pid, {"status"}, ex); !s) return report_error(ctx, s, kExitFailure, log_json(ex));
  auto st = parse_transition_status(ex.data);
  if (!st) return report_error(ctx, st.status(), kExitFailure, log_json(ex));
  report_status(ctx, *pid, *st, ex);
  return kExitOk;
}

}  // namespace

Subcommand add_status_command(CLI::App& app) {
  auto o = std::make_shared<StatusOptions>();
  CLI::App* cmd = app.add_subcommand("status", "Show the transition in progress and the threads that block it");
  cmd->add_option("PID", o->pid_text, "The target process")->required();
  return {cmd, [o](const Context& ctx) { return run_status(ctx, *o); }};
}

}  // namespace uklp::cli
