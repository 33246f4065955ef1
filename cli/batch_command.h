// batch_command.h: the driver of `uklp load|disable|unload` on many
// processes (--pid LIST, --all-of PROGRAM), shared by the three commands:
//
//   1. select the processes (process_selector.h),
//   2. run one job per process on an engine (batch_job.h, batch_engine.h),
//      with the progress line on a terminal,
//   3. print the per-process summary or the JSON document, and return the
//      exit code (batch_report.h).
//
// The single-process forms (`uklp load PID PATCH.so`) are untouched: a
// command takes this path only when --pid or --all-of is given.
#pragma once

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "batch_job.h"
#include "cli.h"
#include "process_selector.h"

namespace uklp::cli {

struct BatchOptions {
  SelectorOptions selector;
  size_t parallel = 128;      // --parallel: requests in flight
  std::string engine = "events";  // --engine (undocumented): "events" or "threads"
  std::vector<CLI::Option*> tuning;  // --parallel, --engine: only with a selector

  // EINVAL (a usage error) for a --pid list that does not parse, or a
  // tuning option without --pid or --all-of.
  Status check() const;
};

// --pid, --all-of, --parallel and the hidden --engine.
void add_batch_options(CLI::App* cmd, BatchOptions& o);

// The positional arguments of disable and unload: PID PATCH, or PATCH
// alone with a selector (EINVAL otherwise, a usage error).
Status split_target_args(const std::vector<std::string>& args, const BatchOptions& o, std::string& pid_text,
                         std::string& patch);

// Runs `op` on the selected processes; `timeout` (seconds, 0: none)
// bounds the whole command. `extra` is merged into the JSON document.
int run_batch(const Context& ctx, const BatchOptions& o, BatchOperation op, double timeout,
              const nlohmann::json& extra = nlohmann::json::object());

// Replaces the generated "Usage:" line of `cmd`'s help with `lines`.
void set_usage(CLI::App* cmd, std::vector<std::string> lines);

}  // namespace uklp::cli
