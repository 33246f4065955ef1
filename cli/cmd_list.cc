// cmd_list.cc: `uklp list [PID]`.
//
// With PID: the patches of that process as a tree, patch > object > func,
// like /sys/kernel/livepatch (request "list", lib/protocol.h; patch_list.h
// groups the lines). Without: every process of this network namespace that
// runs the runtime, found by its listening socket "@uklp/<pid>" in
// /proc/net/unix, with its patches; a process that does not answer is
// skipped with a warning.
//
// A stopped process (SIGSTOP, a debugger) accepts a connection but cannot
// answer: the scan skips it, and gives every other process kScanSeconds to
// answer (a runtime serves one request at a time, so a long transition
// delays its answer).
//
// The socket is named after the pid the target sees itself as; the pid
// shown is the one the caller sees, found through the socket's inode in
// /proc/*/fd (proc.h), since the two differ across PID namespaces.
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "args.h"
#include "cli.h"
#include "client.h"
#include "output.h"
#include "patch_list.h"
#include "proc.h"
#include "session.h"

namespace uklp::cli {
namespace {

constexpr double kScanSeconds = 3;

struct ListOptions {
  std::vector<std::string> pid_text;  // zero or one
};

// ---- one process ----

int list_one(const Context& ctx, int pid) {
  Exchange ex;
  if (Status s = exchange(ctx, pid, {"list"}, ex); !s) return report_error(ctx, s);
  auto list = build_patch_list(ex.data);
  if (!list) return report_error(ctx, list.status());
  if (ctx.json) {
    nlohmann::json doc = {{"pid", pid}, {"comm", comm_of(pid)}};
    doc.update(patch_list_json(*list));
    print_json(doc);
  } else if (std::string text = render_patch_list(*list); text.empty()) {
    fmt::print("no patches in process {} ({})\n", pid, comm_of(pid));
  } else {
    fmt::print("{}", text);
  }
  return kExitOk;
}

// ---- every process ----

struct ProcessEntry {
  Target target;
  std::string comm;
  std::vector<std::string> patches;
};

// The caller's pid of the process listening on `s`.
Target target_of(const ControlSocket& s, std::optional<std::map<unsigned long, int>>& owners) {
  if (owns_socket(s.ns_pid, s.inode)) return {s.ns_pid, s.ns_pid};
  if (!owners) owners = socket_owners();
  auto it = owners->find(s.inode);
  return {it != owners->end() ? it->second : s.ns_pid, s.ns_pid};
}

Result<std::vector<std::string>> patch_names(const Target& t) {
  std::vector<std::string> data;
  if (std::string state = state_of(t.pid); is_stopped_state(state))
    return error(EAGAIN, "it is stopped (" + state + ")");
  UKLP_TRY(request(t, {"list"}, {.data = [&](std::string_view l) { data.emplace_back(l); }},
                   {.deadline = deadline_after(kScanSeconds)}));
  UKLP_ASSIGN_OR_RETURN(PatchList list, build_patch_list(data));
  std::vector<std::string> names;
  for (const auto& p : list.patches) names.push_back(p.fields.front().second);
  return names;
}

std::vector<ProcessEntry> scan_processes(const std::vector<ControlSocket>& sockets) {
  std::vector<ProcessEntry> out;
  std::optional<std::map<unsigned long, int>> owners;
  for (const auto& s : sockets) {
    Target t = target_of(s, owners);
    auto names = patch_names(t);
    if (!names) {
      warn(fmt::format("skipping process {} (socket @uklp/{}): {}", t.pid, t.ns_pid, names.status().describe()));
      continue;
    }
    out.push_back({t, comm_of(t.pid), std::move(*names)});
  }
  return out;
}

void print_processes(const Context& ctx, const std::vector<ProcessEntry>& procs, size_t sockets) {
  if (ctx.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : procs)
      list.push_back({{"pid", p.target.pid}, {"comm", p.comm}, {"patches", p.patches.size()}, {"patch_names", p.patches}});
    return print_json({{"processes", list}});
  }
  if (sockets == 0) return fmt::print("no process runs the uklp runtime (in this network namespace)\n");
  if (procs.empty()) return fmt::print("no process answered ({} skipped, see the warnings)\n", sockets);
  fmt::print("{:<8} {:<16} {:>7}  {}\n", "PID", "COMM", "PATCHES", "NAMES");
  for (const auto& p : procs)
    fmt::print("{:<8} {:<16} {:>7}  {}\n", p.target.pid, p.comm, p.patches.size(), fmt::join(p.patches, " "));
}

int list_all(const Context& ctx) {
  auto sockets = list_control_sockets();
  if (!sockets) return report_error(ctx, sockets.status());
  print_processes(ctx, scan_processes(*sockets), sockets->size());
  return kExitOk;
}

int run_list(const Context& ctx, const ListOptions& o) {
  if (o.pid_text.empty()) return list_all(ctx);
  auto pid = parse_pid(o.pid_text.front());
  if (!pid) return report_error(ctx, pid.status(), kExitUsage);
  return list_one(ctx, *pid);
}

}  // namespace

Subcommand add_list_command(CLI::App& app) {
  auto o = std::make_shared<ListOptions>();
  CLI::App* cmd = app.add_subcommand("list", "List the patches of a process, or the processes running the runtime");
  cmd->add_option("PID", o->pid_text, "The target process (default: all)")->expected(0, 1);
  return {cmd, [o](const Context& ctx) { return run_list(ctx, *o); }};
}

}  // namespace uklp::cli
