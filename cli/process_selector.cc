// process_selector.cc: see process_selector.h.
#include "process_selector.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "args.h"
#include "output.h"
#include "proc.h"

namespace uklp::cli {
namespace {

std::string_view file_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The canonical form of a path the user gave: the kernel shows resolved
// paths in /proc/PID/exe and maps. A path that no longer exists (a deleted
// executable) is only made absolute.
std::string canonical_path(std::string_view text) {
  char buf[PATH_MAX];
  std::string s(text);
  if (::realpath(s.c_str(), buf)) return buf;
  return std::filesystem::absolute(s).lexically_normal().string();
}

// Adds the processes running `p` to `out`; returns how many it found.
size_t add_processes_of(const ProgramPattern& p, const std::vector<int>& pids, std::set<int>& out) {
  size_t found = 0;
  for (int pid : pids) {
    std::string exe = exe_of(pid);
    if (exe.empty()) continue;  // a kernel thread, a zombie, another user's process
    bool match = matches_executable(p, exe);
    if (!match && p.library) {
      auto files = mapped_files(pid);
      match = std::any_of(files.begin(), files.end(), [&](const std::string& f) { return matches_library(p, f); });
    }
    if (match) {
      out.insert(pid);
      ++found;
    }
  }
  return found;
}

}  // namespace

void add_selector_options(CLI::App* cmd, SelectorOptions& o) {
  cmd->add_option("-p,--pid", o.pid_lists, "Process ids, comma-separated (repeatable); PATCH comes first then")
      ->type_name("PID[,PID...]")
      ->allow_extra_args(false);  // one value per --pid: PATCH.so is not a pid
  cmd->add_option("--all-of", o.programs,
                  "Every process running PROGRAM (an executable's path or name) or mapping a library (*.so*); "
                  "repeatable")
      ->type_name("PROGRAM")
      ->allow_extra_args(false);  // one value per --pid: PATCH.so is not a pid
}

Result<std::vector<int>> parse_pid_list(std::string_view text) {
  std::vector<int> pids;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    auto pid = parse_pid(item);
    if (!pid) return error(EINVAL, fmt::format("invalid process id '{}' in --pid '{}'", item, text));
    pids.push_back(*pid);
    if (comma == std::string_view::npos) return pids;
    start = comma + 1;
  }
}

ProgramPattern parse_program(std::string_view text) {
  ProgramPattern p;
  p.text = std::string(text);
  if (text.find('/') != std::string_view::npos) p.path = canonical_path(text);
  p.name = std::string(file_name(p.path.empty() ? text : std::string_view(p.path)));
  p.library = p.name.find(".so") != std::string::npos;
  return p;
}

bool matches_executable(const ProgramPattern& p, std::string_view exe) {
  return p.path.empty() ? file_name(exe) == p.name : exe == p.path;
}

bool matches_library(const ProgramPattern& p, std::string_view path) {
  if (!p.path.empty()) return path == p.path;
  std::string_view name = file_name(path);
  return name == p.name || (name.starts_with(p.name) && name[p.name.size()] == '.');
}

Result<std::vector<int>> select_processes(const SelectorOptions& o) {
  std::set<int> selected;
  for (const auto& list : o.pid_lists) {
    UKLP_ASSIGN_OR_RETURN(std::vector<int> pids, parse_pid_list(list));
    selected.insert(pids.begin(), pids.end());
  }
  std::vector<std::string> unmatched;
  if (!o.programs.empty()) {
    std::vector<int> pids = list_pids();
    std::erase(pids, static_cast<int>(getpid()));
    for (const auto& text : o.programs)
      if (add_processes_of(parse_program(text), pids, selected) == 0) unmatched.push_back(text);
  }
  if (selected.empty())
    return error(ESRCH, fmt::format("no process runs '{}'", fmt::join(unmatched, "' or '")));
  for (const auto& text : unmatched) warn(fmt::format("no process runs '{}'", text));
  return std::vector<int>(selected.begin(), selected.end());
}

}  // namespace uklp::cli
