// cmd_disable.cc: `uklp disable [--no-wait] [--timeout SEC] PID PATCH`, the
// kernel's `echo 0 > /sys/kernel/livepatch/PATCH/enabled`: start the
// unpatching transition and, by default, wait for its end, so that an
// `uklp unload` can follow.
//
// Request (lib/protocol.h): "disable\tPATCH\tFLAGS", FLAGS "wait" or "nowait"
// (the runtime answers once the transition has started, whatever FLAGS
// says; the wait is transition_wait.h). Disabling a patch that is still in
// its patching transition reverses that transition (the kernel's
// klp_reverse_transition()). With --pid LIST or --all-of PROGRAM instead of
// PID: in every selected process at once (batch_command.h).
#include <memory>

#include <fmt/core.h>

#include "args.h"
#include "batch_command.h"
#include "cli.h"
#include "output.h"
#include "session.h"
#include "transition_wait.h"

namespace uklp::cli {
namespace {

struct DisableOptions {
  std::vector<std::string> args;  // PID PATCH, or PATCH with a selector
  std::string pid_text, patch;
  bool no_wait = false;
  double timeout = 0;  // seconds; 0: no limit
  BatchOptions batch;  // --pid, --all-of, --parallel
};

struct Disable {
  int pid = 0;
  Exchange exchange;
  TransitionWait wait;
  WaitReport report;
};

Status send_disable(const Context& ctx, const DisableOptions& o, Disable& d) {
  d.wait = start_transition_wait(d.pid, o.patch, /*patching=*/false, o.timeout);
  Status s = exchange(ctx, d.pid, {"disable", o.patch, o.no_wait ? "nowait" : "wait"}, d.exchange,
                      {.deadline = d.wait.deadline});
  if (s.code() == ETIMEDOUT && o.timeout > 0) return timeout_error(d.wait);
  return s;
}

nlohmann::json result_json(const DisableOptions& o, const Disable& d) {
  nlohmann::json doc = {{"patch", o.patch}, {"pid", d.pid}, {"waited", !o.no_wait}};
  doc.update(log_json(d.exchange));
  if (!o.no_wait) doc["transition"] = wait_report_json(d.report);
  return doc;
}

void report_disabled(const Context& ctx, const DisableOptions& o, const Disable& d) {
  if (ctx.json) return print_json(result_json(o, d));
  if (o.no_wait)
    fmt::print("patch '{}' in process {}: unpatching transition started (see 'uklp status {}')\n", o.patch, d.pid,
               d.pid);
  else
    fmt::print("patch '{}' disabled in process {}\n", o.patch, d.pid);
}

int run_disable_batch(const Context& ctx, const DisableOptions& o) {
  BatchOperation op{.command = BatchCommand::disable, .patch = o.patch, .wait = !o.no_wait};
  op.request = {"disable", o.patch, o.no_wait ? "nowait" : "wait"};
  return run_batch(ctx, o.batch, std::move(op), o.timeout);
}

int run_disable(const Context& ctx, DisableOptions& o) {
  if (Status s = split_target_args(o.args, o.batch, o.pid_text, o.patch); !s) return report_error(ctx, s, kExitUsage);
  if (o.batch.selector.given()) return run_disable_batch(ctx, o);  // --pid, --all-of
  Disable d;
  auto pid = parse_pid(o.pid_text);
  if (!pid) return report_error(ctx, pid.status(), kExitUsage);
  d.pid = *pid;
  Status s = send_disable(ctx, o, d);  // request and log lines until ok: the transition has started
  if (s && !o.no_wait) s = wait_for_transition(ctx, d.wait, d.exchange, d.report);  // until it ends, disabled
  if (!s) return report_error(ctx, s, wait_exit_code(d.wait, s), result_json(o, d));
  report_disabled(ctx, o, d);
  return kExitOk;
}

}  // namespace

Subcommand add_disable_command(CLI::App& app) {
  auto o = std::make_shared<DisableOptions>();
  CLI::App* cmd = app.add_subcommand("disable", "Disable a patch (the kernel's echo 0 > enabled)");
  add_wait_options(cmd, o->no_wait, o->timeout, "Return once the unpatching transition has started");
  add_batch_options(cmd, o->batch);
  cmd->add_option("ARGS", o->args, "PID PATCH (the patch name, see 'uklp list PID'); with --pid or --all-of: PATCH");
  set_usage(cmd, {"uklp disable [OPTIONS] PID PATCH",
                  "uklp disable [OPTIONS] (--pid PID[,PID...] | --all-of PROGRAM)... PATCH"});
  return {cmd, [o](const Context& ctx) { return run_disable(ctx, *o); }};
}

}  // namespace uklp::cli
