// cmd_unload.cc: `uklp unload PID PATCH`, the kernel's rmmod of a livepatch
// module: run its exit function and unmap it, once its patch is disabled
// (or replaced) and no thread can still be running its code.
//
// Request (lib/protocol.h): "unload\tPATCH". An enabled patch, or one in
// transition, is refused by the runtime (EBUSY), as rmmod refuses a module
// in use.
#include <memory>

#include <fmt/core.h>

#include "args.h"
#include "cli.h"
#include "output.h"
#include "session.h"

namespace uklp::cli {
namespace {

struct UnloadOptions {
  std::string pid_text, patch;
};

int run_unload(const Context& ctx, const UnloadOptions& o) {
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
  cmd->add_option("PID", o->pid_text, "The target process")->required();
  cmd->add_option("PATCH", o->patch, "The patch name (see 'uklp list PID')")->required();
  return {cmd, [o](const Context& ctx) { return run_unload(ctx, *o); }};
}

}  // namespace uklp::cli
