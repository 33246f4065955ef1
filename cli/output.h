// output.h: how `uklp` talks to its user: the error line, warnings, JSON
// documents and the progress line of a transition.
//
// The error rule (docs/cli.md): exactly one line `uklp: error: MESSAGE
// (ERRNO TEXT)` on stderr; with --json the same error is also printed on
// stdout as {"error": MESSAGE, "errno": N} (plus command-specific fields),
// so stdout is always one JSON document.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "cli.h"
#include "result.h"

namespace uklp::cli {

// "uklp: error: MESSAGE (ERRNO TEXT)", the stderr form of a failed Status.
std::string error_line(const Status& status);
// {"error": MESSAGE, "errno": N}, merged with `extra`.
nlohmann::json error_json(const Status& status, const nlohmann::json& extra = nlohmann::json::object());

// Reports `status` as above and returns `exit_code`.
int report_error(const Context& ctx, const Status& status, int exit_code = kExitFailure,
                 const nlohmann::json& extra = nlohmann::json::object());
// "uklp: warning: MESSAGE" on stderr; never fails the command.
void warn(std::string_view message);
// Pretty-printed JSON document on stdout.
void print_json(const nlohmann::json& doc);

// Transition progress on stderr: one line rewritten in place when stderr is
// a terminal, else one line per update. With --json and a non-terminal
// stderr it stays silent, so that scripts see only the error line there.
class ProgressLine {
 public:
  explicit ProgressLine(const Context& ctx);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void show(std::string_view text);
  // Erases the in-place line (before other output or at the end).
  void clear();
  // A block of whole lines ("...\n"), printed below the progress, under
  // the same silence rule: what blocks a transition, and where.
  void print_block(std::string_view text);
  // True when show() rewrites one line in place (a terminal): updates are
  // cheap; otherwise each update is a line of its own, so callers show
  // fewer of them.
  bool in_place() const { return tty_; }

 private:
  bool tty_ = false;
  bool silent_ = false;
  bool shown_ = false;
};

}  // namespace uklp::cli
