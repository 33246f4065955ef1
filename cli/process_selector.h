// process_selector.h: which processes a batch command (`uklp load`,
// `disable`, `unload` with --pid or --all-of) works on.
//
//   --pid LIST        process ids, comma-separated; repeatable
//   --all-of PROGRAM  every process running PROGRAM; repeatable
//
// PROGRAM is matched against /proc/PID/exe: a path (it holds a '/') names
// that file (symbolic links resolved, as the kernel shows it), a bare name
// the file name of the executable. A PROGRAM whose file name holds ".so"
// (libssl.so.3, /opt/lib/libkv.so) is a shared library: it selects every
// process that maps it (/proc/PID/maps); a bare library name also matches
// its versioned files ("libssl.so" matches libssl.so.3). An executable that
// was deleted or replaced on disk still matches by its old path.
//
// The selector takes processes whether or not they run the runtime: those
// without it are reported as not patchable, which is what a user asking
// for "every process running X" needs to know. It never takes the CLI
// itself, nor processes whose /proc/PID/exe it may not read (kernel
// threads, zombies, other users' processes unless root; the runtime serves
// only its own user and root anyway).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace uklp::cli {

struct SelectorOptions {
  std::vector<std::string> pid_lists;  // --pid, as given
  std::vector<std::string> programs;   // --all-of, as given

  bool given() const { return !pid_lists.empty() || !programs.empty(); }
};

// Registers --pid and --all-of on `cmd`.
void add_selector_options(CLI::App* cmd, SelectorOptions& o);

// "12,13,14" -> {12, 13, 14}; EINVAL names the bad element.
Result<std::vector<int>> parse_pid_list(std::string_view text);

// A --all-of argument, ready to match.
struct ProgramPattern {
  std::string text;  // as given, for messages
  std::string path;  // absolute and canonical when given as a path; else ""
  std::string name;  // the file name part
  bool library = false;
};
ProgramPattern parse_program(std::string_view text);
// Whether a process whose executable is `exe` runs `p` (not for libraries).
bool matches_executable(const ProgramPattern& p, std::string_view exe);
// Whether a mapped file `path` is the library `p`.
bool matches_library(const ProgramPattern& p, std::string_view path);

// The selected pids, ascending, each once, without the CLI's own. A
// --pid list that does not parse is EINVAL (a usage error); a PROGRAM that
// no process runs gets a warning; nothing selected at all is ESRCH.
Result<std::vector<int>> select_processes(const SelectorOptions& o);

}  // namespace uklp::cli
