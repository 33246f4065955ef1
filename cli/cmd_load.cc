// cmd_load.cc: `uklp load [--no-wait] [--timeout SEC] PID PATCH.so [PARAM=VALUE...]`,
// the kernel's insmod of a livepatch module: load it into process PID, run
// its init (klp_enable_patch) and follow the transition to its end. With
// --pid LIST or --all-of PROGRAM instead of PID, the same in every selected
// process at once (batch_command.h): the module is opened and checked once
// and its descriptor sent to each.
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
#include "batch_command.h"
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
  std::vector<std::string> args;  // PID PATCH.so PARAM..., or PATCH.so PARAM... with a selector
  std::string pid_text, file;
  std::vector<std::string> params;
  bool no_wait = false;
  double timeout = 0;  // seconds; 0: no limit
  BatchOptions batch;  // --pid, --all-of, --parallel
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

// Splits the positional arguments: PID (unless a selector names the
// processes), PATCH.so, parameters.
Status split_args(LoadOptions& o) {
  bool batch = o.batch.selector.given();
  size_t need = batch ? 1 : 2;
  if (o.args.size() < need)
    return error(EINVAL, batch ? "PATCH.so is required" : "PID and PATCH.so are required (or --pid/--all-of and PATCH.so)");
  if (batch && o.args.size() >= 2 && parse_pid(o.args[0]) && o.args[1].find('=') == std::string::npos)
    return error(EINVAL, "a PID before PATCH.so cannot be combined with --pid or --all-of; add it to --pid");
  if (!batch) o.pid_text = o.args[0];
  o.file = o.args[need - 1];
  o.params.assign(o.args.begin() + static_cast<long>(need), o.args.end());
  return o.batch.check();
}

Status validate(LoadOptions& o, Load& load) {
  UKLP_TRY(split_args(o));
  if (!o.batch.selector.given()) {
    UKLP_ASSIGN_OR_RETURN(load.pid, parse_pid(o.pid_text));
  }
  for (const auto& p : o.params) UKLP_TRY(check_param(p));
  return Status::ok();
}

// The process exists, and the file is an ELF shared object named like a module.
Status open_module(const LoadOptions& o, Load& load) {
  if (load.pid) UKLP_TRY(check_process(load.pid));
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

// Many processes: the request as for one, the same descriptor for all.
int run_load_batch(const Context& ctx, const LoadOptions& o, Load& load) {
  BatchOperation op{.command = BatchCommand::load, .patch = load.name, .module_fd = load.fd.get(), .wait = !o.no_wait};
  op.request = {"load", load.name, load.path, o.no_wait ? "nowait" : "wait"};
  op.request.insert(op.request.end(), o.params.begin(), o.params.end());
  return run_batch(ctx, o.batch, std::move(op), o.timeout, {{"file", load.path}});
}

int run_load(const Context& ctx, LoadOptions& o) {
  Load load;
  if (Status s = validate(o, load); !s) return report_error(ctx, s, kExitUsage);  // arguments, parameters
  Status s = open_module(o, load);     // process, ELF shared object, patch name
  if (s && o.batch.selector.given()) return run_load_batch(ctx, o, load);  // --pid, --all-of
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
  add_batch_options(cmd, o->batch);
  cmd->add_option("ARGS", o->args, "PID PATCH.so [PARAM=VALUE...]; with --pid or --all-of: PATCH.so [PARAM=VALUE...]");
  set_usage(cmd, {"uklp load [OPTIONS] PID PATCH.so [PARAM=VALUE...]",
                  "uklp load [OPTIONS] (--pid PID[,PID...] | --all-of PROGRAM)... PATCH.so [PARAM=VALUE...]"});
  return {cmd, [o](const Context& ctx) { return run_load(ctx, *o); }};
}

}  // namespace uklp::cli
