// cmd_load.cc: `uklp load [--no-wait] [--timeout SEC] PID PATCH.so [PARAM=VALUE...]`,
// the kernel's insmod of a livepatch module: load it into process PID, run
// its init (klp_enable_patch) and follow the transition to its end.
//
// Request (lib/protocol.h): "load\tNAME\tFILE\tFLAGS\tPARAM=VALUE..." with
// the module's descriptor attached (SCM_RIGHTS), FLAGS "wait" or "nowait"
// (the runtime answers once the transition has started, whatever FLAGS
// says). The CLI checks what it can alone first: the process exists, the
// file is an ELF shared object, the name derivation works. Whether it is a
// livepatch module (livepatch=Y) is left to the runtime, which answers with
// the kernel's message. The wait for the end of the transition is
// transition_wait.h; a --timeout only stops the waiting: the transition
// goes on in the target (exit code 3).
#include <fcntl.h>

#include <algorithm>
#include <memory>

#include <fmt/core.h>

#include "args.h"
#include "cli.h"
#include "elf_file.h"
#include "module_name.h"
#include "output.h"
#include "patch_module.h"
#include "proc.h"
#include "runtime_path.h"
#include "session.h"
#include "transition_wait.h"
#include "unique_fd.h"

namespace uklp::cli {
namespace {

struct LoadOptions {
  std::string pid_text, file;
  std::vector<std::string> params;
  bool no_wait = false;
  double timeout = 0;  // seconds; 0: no limit
};

struct Load {
  int pid = 0;
  std::string path;  // absolute, for messages
  std::string name;  // the patch name
  UniqueFd fd;
  Exchange exchange;
  TransitionWait wait;
  WaitReport report;
};

Status validate(const LoadOptions& o, Load& load) {
  UKLP_ASSIGN_OR_RETURN(load.pid, parse_pid(o.pid_text));
  for (const auto& p : o.params) UKLP_TRY(check_param(p));
  return Status::ok();
}

// The process exists, and the file is an ELF shared object named like a module.
Status open_module(const LoadOptions& o, Load& load) {
  UKLP_TRY(check_process(load.pid));
  load.path = absolute_path(o.file);
  load.fd = UniqueFd(::open(o.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (load.fd.get() < 0) return error(errno, "cannot open '" + o.file + "'");
  auto elf = elf::ElfFile::open_fd(load.fd.get(), o.file);
  if (!elf && elf.status().code() == ENOEXEC)
    return error(ENOEXEC, "not an ELF shared object: " + elf.status().message());
  if (!elf) return elf.status();
  UKLP_TRY(check_shared_object(**elf));
  UKLP_ASSIGN_OR_RETURN(load.name, patch_name_from_path(o.file));
  return Status::ok();
}

Status send_load(const Context& ctx, const LoadOptions& o, Load& load) {
  std::vector<std::string> fields = {"load", load.name, load.path, o.no_wait ? "nowait" : "wait"};
  fields.insert(fields.end(), o.params.begin(), o.params.end());
  load.wait = start_transition_wait(load.pid, load.name, /*patching=*/true, o.timeout);
  Status s = exchange(ctx, load.pid, fields, load.exchange, {.fd = load.fd.get(), .deadline = load.wait.deadline});
  if (s.code() == ETIMEDOUT && o.timeout > 0) return timeout_error(load.wait);
  return s;
}

// The runtime says `patch=none` when module_init enabled no patch (a
// module that only runs code, as the kernel's test_klp_shadow_vars).
bool enabled_no_patch(const Load& load) {
  const auto& d = load.exchange.data;
  return std::find(d.begin(), d.end(), "patch=none") != d.end();
}

nlohmann::json result_json(const LoadOptions& o, const Load& load) {
  nlohmann::json doc = {{"patch", load.name}, {"pid", load.pid}, {"file", load.path},
                        {"waited", !o.no_wait && !enabled_no_patch(load)}, {"enabled_patch", !enabled_no_patch(load)}};
  doc.update(log_json(load.exchange));
  if (!o.no_wait) doc["transition"] = wait_report_json(load.report);
  return doc;
}

void report_loaded(const Context& ctx, const LoadOptions& o, const Load& load) {
  if (ctx.json) return print_json(result_json(o, load));
  if (enabled_no_patch(load))
    fmt::print("module '{}' loaded into process {}; its init enabled no patch\n", load.name, load.pid);
  else if (o.no_wait)
    fmt::print("patch '{}' loaded into process {}, transition started (see 'uklp status {}')\n", load.name,
               load.pid, load.pid);
  else
    fmt::print("patch '{}' enabled in process {}\n", load.name, load.pid);
}

int run_load(const Context& ctx, const LoadOptions& o) {
  Load load;
  if (Status s = validate(o, load); !s) return report_error(ctx, s, kExitUsage);  // pid, parameters
  Status s = open_module(o, load);     // process, ELF shared object, patch name
  if (s) s = send_load(ctx, o, load);  // request and log lines until ok: the transition has started
  if (s && !o.no_wait && !enabled_no_patch(load))
    s = wait_for_transition(ctx, load.wait, load.exchange, load.report);  // until it ends, enabled
  if (!s) return report_error(ctx, s, wait_exit_code(load.wait, s),
                              load.name.empty() ? log_json(load.exchange) : result_json(o, load));
  report_loaded(ctx, o, load);
  return kExitOk;
}

}  // namespace

Subcommand add_load_command(CLI::App& app) {
  auto o = std::make_shared<LoadOptions>();
  CLI::App* cmd = app.add_subcommand("load", "Load a patch module into a process and enable its patch");
  add_wait_options(cmd, o->no_wait, o->timeout, "Return once the transition has started");
  cmd->add_option("PID", o->pid_text, "The target process")->required();
  cmd->add_option("PATCH", o->file, "The patch module (PATCH.so)")->required();
  cmd->add_option("PARAM", o->params, "Module parameters NAME=VALUE");
  return {cmd, [o](const Context& ctx) { return run_load(ctx, *o); }};
}

}  // namespace uklp::cli
