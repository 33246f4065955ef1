// cmd_sys.cc: `uklp sys PID PATH [VALUE]`: read or write one attribute of a
// process's sysfs-like tree, with the kernel's semantics and error codes
// (the kernel's /sys/kernel/livepatch; docs/cli.md has the table):
//   livepatch/PATCH/{enabled,transition,force,replace,stack_order}
//   livepatch/PATCH/OBJECT/patched
//   module/PATCH/parameters/PARAM
//   task/TID/patch_state
// A leading "/sys/kernel/" or "/sys/" is accepted and dropped, so paths can
// be pasted from kernel documentation.
//
// Request (lib/protocol.h): "sys\tPATH" (read: one data line, the value)
// or "sys\tPATH\tVALUE" (write).
#include <memory>

#include <fmt/core.h>

#include "args.h"
#include "cli.h"
#include "output.h"
#include "session.h"

namespace uklp::cli {
namespace {

struct SysOptions {
  std::string pid_text, path;
  std::string value;
  CLI::Option* value_option = nullptr;  // given: write
};

std::string tree_path(std::string path) {
  for (std::string_view prefix : {"/sys/kernel/", "/sys/"})
    if (path.starts_with(prefix)) return path.substr(prefix.size());
  return path;
}

void report_read(const Context& ctx, int pid, const std::string& path, const Exchange& ex) {
  std::string value = ex.data.empty() ? std::string() : ex.data.front();
  if (!ctx.json) return fmt::print("{}\n", value);
  nlohmann::json doc = {{"pid", pid}, {"path", path}, {"value", value}};
  doc.update(log_json(ex));
  print_json(doc);
}

void report_written(const Context& ctx, int pid, const std::string& path, const std::string& value,
                    const Exchange& ex) {
  if (!ctx.json) return;
  nlohmann::json doc = {{"pid", pid}, {"path", path}, {"written", value}};
  doc.update(log_json(ex));
  print_json(doc);
}

int run_sys(const Context& ctx, const SysOptions& o) {
  auto pid = parse_pid(o.pid_text);
  if (!pid) return report_error(ctx, pid.status(), kExitUsage);
  std::string path = tree_path(o.path);
  if (Status s = check_attribute_path(path); !s) return report_error(ctx, s, kExitUsage);
  std::vector<std::string> fields = {"sys", path};
  bool write = o.value_option->count() > 0;
  if (write) fields.push_back(o.value);
  Exchange ex;
  if (Status s = exchange(ctx, *pid, fields, ex); !s) return report_error(ctx, s, kExitFailure, log_json(ex));
  if (write) report_written(ctx, *pid, path, o.value, ex);
  else report_read(ctx, *pid, path, ex);
  return kExitOk;
}

}  // namespace

Subcommand add_sys_command(CLI::App& app) {
  auto o = std::make_shared<SysOptions>();
  CLI::App* cmd = app.add_subcommand("sys", "Read or write one attribute of a process's livepatch tree");
  cmd->add_option("PID", o->pid_text, "The target process")->required();
  cmd->add_option("PATH", o->path, "e.g. livepatch/PATCH/enabled, module/PATCH/parameters/NAME")->required();
  // A plain (not 0-or-1) positional, so that "-- -1" can pass a negative VALUE.
  o->value_option = cmd->add_option("VALUE", o->value, "Write VALUE instead of reading");
  return {cmd, [o](const Context& ctx) { return run_sys(ctx, *o); }};
}

}  // namespace uklp::cli
