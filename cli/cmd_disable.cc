// cmd_disable.cc: `uklp disable [--no-wait] [--timeout SEC] PID PATCH`, the
// kernel's `echo 0 > /sys/kernel/livepatch/PATCH/enabled`: start the
// unpatching transition and, by default, wait for its end, so that an
// `uklp unload` can follow.
//
// Request (lib/protocol.h): "disable\tPATCH\tFLAGS", FLAGS "wait" or "nowait".
// Disabling a patch that is still in its patching transition reverses that
// transition (the kernel's klp_reverse_transition()).
#include <memory>

#include <fmt/core.h>

#include "args.h"
#include "cli.h"
#include "output.h"
#include "session.h"

namespace uklp::cli {
namespace {

struct DisableOptions {
  std::string pid_text, patch;
  bool no_wait = false;
  double timeout = 0;  // seconds; 0: no limit
};

void report_disabled(const Context& ctx, const DisableOptions& o, int pid, const Exchange& ex) {
  if (ctx.json) {
    nlohmann::json doc = {{"patch", o.patch}, {"pid", pid}, {"waited", !o.no_wait}};
    doc.update(log_json(ex));
    return print_json(doc);
  }
  if (o.no_wait)
    fmt::print("patch '{}' in process {}: unpatching transition started (see 'uklp list {}')\n", o.patch, pid, pid);
  else
    fmt::print("patch '{}' disabled in process {}\n", o.patch, pid);
}

int run_disable(const Context& ctx, const DisableOptions& o) {
  auto pid = parse_pid(o.pid_text);
  if (!pid) return report_error(ctx, pid.status(), kExitUsage);
  Exchange ex;
  Status s = exchange(ctx, *pid, {"disable", o.patch, o.no_wait ? "nowait" : "wait"}, ex, {.deadline = deadline_after(o.timeout)});
  if (s.code() == ETIMEDOUT && o.timeout > 0) {
    s = error(ETIMEDOUT, fmt::format("transition still in progress after {:g} s (see 'uklp list {}')", o.timeout, *pid));
    return report_error(ctx, s, kExitTimeout, log_json(ex));
  }
  if (!s) return report_error(ctx, s, kExitFailure, log_json(ex));
  report_disabled(ctx, o, *pid, ex);
  return kExitOk;
}

}  // namespace

Subcommand add_disable_command(CLI::App& app) {
  auto o = std::make_shared<DisableOptions>();
  CLI::App* cmd = app.add_subcommand("disable", "Disable a patch (the kernel's echo 0 > enabled)");
  cmd->add_flag("--no-wait", o->no_wait, "Return once the unpatching transition has started");
  cmd->add_option("--timeout", o->timeout, "Stop waiting after SEC seconds (exit 3; the transition goes on)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SEC");
  cmd->add_option("PID", o->pid_text, "The target process")->required();
  cmd->add_option("PATCH", o->patch, "The patch name (see 'uklp list PID')")->required();
  return {cmd, [o](const Context& ctx) { return run_disable(ctx, *o); }};
}

}  // namespace uklp::cli
