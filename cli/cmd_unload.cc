// cmd_unload.cc: `uklp unload PID PATCH`, the kernel's rmmod of a livepatch
// module: run its exit function and unmap it, once its patch is disabled
// (or replaced) and no thread can still be running its code.
//
// Request (lib/protocol.h): "unload\tPATCH". An enabled patch, or one in
// transition, is refused by the runtime (EBUSY), as rmmod refuses a module
// in use. With --pid LIST or --all-of PROGRAM instead of PID: in every
// selected process at once (batch_command.h).
#include <memory>

#include <fmt/core.h>

#include "args.h"
#include "batch_command.h"
#include "cli.h"
#include "output.h"
#include "session.h"

namespace uklp::cli {
namespace {

struct UnloadOptions {
  std::vector<std::string> args;  // PID PATCH, or PATCH with a selector
  std::string pid_text, patch;
  BatchOptions batch;  // --pid, --all-of, --parallel
};

int run_unload_batch(const Context& ctx, const UnloadOptions& o) {
  BatchOperation op{.command = BatchCommand::unload, .patch = o.patch, .request = {"unload", o.patch}};
  return run_batch(ctx, o.batch, std::move(op), 0);
}

int run_unload(const Context& ctx, UnloadOptions& o) {
  if (Status s = split_target_args(o.args, o.batch, o.pid_text, o.patch); !s) return report_error(ctx, s, kExitUsage);
  if (o.batch.selector.given()) return run_unload_batch(ctx, o);  // --pid, --all-of
  auto pid = parse_pid(o.pid_text);
  if (!pid) return report_error(ctx, pid.status(), kExitUsage);
  Exchange ex;
  if (Status s = exchange(ctx, *pid, {"unload", o.patch}, ex); !s)
    return report_error(ctx, s, kExitFailure, log_json(ex));
  if (ctx.json) {
    nlohmann::json doc = {{"patch", o.patch}, {"pid", *pid}};
    doc.update(log_json(ex));
    print_json(doc);
  } else {
    fmt::print("patch module '{}' unloaded from process {}\n", o.patch, *pid);
  }
  return kExitOk;
}

}  // namespace

Subcommand add_unload_command(CLI::App& app) {
  auto o = std::make_shared<UnloadOptions>();
  CLI::App* cmd = app.add_subcommand("unload", "Remove a disabled patch module from a process (the kernel's rmmod)");
  add_batch_options(cmd, o->batch);
  cmd->add_option("ARGS", o->args, "PID PATCH (the patch name, see 'uklp list PID'); with --pid or --all-of: PATCH");
  set_usage(cmd, {"uklp unload [OPTIONS] PID PATCH",
                  "uklp unload [OPTIONS] (--pid PID[,PID...] | --all-of PROGRAM)... PATCH"});
  return {cmd, [o](const Context& ctx) { return run_unload(ctx, *o); }};
}

}  // namespace uklp::cli
