// cmd_dmesg.cc: `uklp dmesg PID`: the runtime's log (the kernel's dmesg),
// with the kernel's message texts (kernel-messages.md).
//
// Request (lib/protocol.h): "dmesg"; one data line per log line.
#include <memory>

#include <fmt/core.h>

#include "args.h"
#include "cli.h"
#include "output.h"
#include "session.h"

namespace uklp::cli {
namespace {

struct DmesgOptions {
  std::string pid_text;
};

int run_dmesg(const Context& ctx, const DmesgOptions& o) {
  auto pid = parse_pid(o.pid_text);
  if (!pid) return report_error(ctx, pid.status(), kExitUsage);
  Exchange ex;
  if (Status s = exchange(ctx, *pid, {"dmesg"}, ex); !s) return report_error(ctx, s);
  if (ctx.json) {
    print_json({{"pid", *pid}, {"log", ex.data}});
    return kExitOk;
  }
  for (const auto& line : ex.data) fmt::print("{}\n", line);
  return kExitOk;
}

}  // namespace

Subcommand add_dmesg_command(CLI::App& app) {
  auto o = std::make_shared<DmesgOptions>();
  CLI::App* cmd = app.add_subcommand("dmesg", "Print the runtime's log of a process");
  cmd->add_option("PID", o->pid_text, "The target process")->required();
  return {cmd, [o](const Context& ctx) { return run_dmesg(ctx, *o); }};
}

}  // namespace uklp::cli
