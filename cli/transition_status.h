// transition_status.h: the runtime's `status` answer, the transition in
// progress and the threads that keep it from completing, as a value, as
// text and as JSON (`uklp status`, and the waiting of `load` / `disable`).
//
// Data lines (runtime/control.cc, cmd_status; docs/cli.md), TAB-separated
// key=value fields keyed by their first field:
//   transition=NAME target=patching|unpatching attempts=N elapsed_ms=E
//       threads=T switched=S forced=0|1
//   blocking=TID name=COMM reason=TEXT stack=FRAME;FRAME;...
// No line at all: no transition in progress. One blocking= line per thread
// that blocked the last attempt; a FRAME is "func+0x1a [object]" or a bare
// "0x7f..." address, the innermost first (the order of /proc/PID/stack).
// Lines with another first key are ignored, so newer runtimes can add some.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "result.h"

namespace uklp::cli {

struct BlockingThread {
  int tid = 0;
  std::string name;                // its comm
  std::string reason;              // "is sleeping on function work_loop", ...
  std::vector<std::string> stack;  // innermost frame first; empty if unknown
};

struct TransitionStatus {
  std::string patch;
  bool patching = true;  // target=patching; false: unpatching
  long attempts = 0;
  long elapsed_ms = 0;   // since the transition started
  long threads = 0;      // the target's threads but the runtime's control thread
  long switched = 0;     // of which already in the target state
  bool forced = false;
  std::vector<BlockingThread> blocking;
};

// The data lines of a `status` answer; nullopt when no transition is in
// progress. A malformed line is EPROTO.
Result<std::optional<TransitionStatus>> parse_transition_status(const std::vector<std::string>& data_lines);

// "patching" or "unpatching".
std::string direction_text(const TransitionStatus& st);
// The progress line of a wait: "patching 'NAME': S/T threads switched, B blocking, 1.2 s".
std::string progress_text(const TransitionStatus& st);
// One paragraph per thread: "  thread TID (COMM): REASON", then its stack
// one frame per line, indented by four spaces.
std::string render_blocking(const std::vector<BlockingThread>& blocking);
// What `uklp status` prints for a transition in progress.
std::string render_transition_status(const TransitionStatus& st);
// The tids of the blocking threads, sorted: a wait reports them again
// when this set changes.
std::vector<int> blocking_tids(const std::vector<BlockingThread>& blocking);

// [{"tid", "name", "reason", "stack": [FRAME, ...]}, ...]
nlohmann::json blocking_json(const std::vector<BlockingThread>& blocking);
// {"patch", "target", "attempts", "elapsed_ms", "threads", "switched", "forced", "blocking"}
nlohmann::json transition_status_json(const TransitionStatus& st);

}  // namespace uklp::cli
