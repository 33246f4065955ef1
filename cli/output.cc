// output.cc: see output.h.
#include "output.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <fmt/core.h>

namespace uklp::cli {

std::string error_line(const Status& status) {
  int code = status.code() ? status.code() : EIO;  // a failure always has an errno text
  return fmt::format("uklp: error: {} ({})", status.message(), std::strerror(code));
}

nlohmann::json error_json(const Status& status, const nlohmann::json& extra) {
  nlohmann::json doc = {{"error", status.message()}, {"errno", status.code() ? status.code() : EIO}};
  if (extra.is_object()) doc.update(extra);
  return doc;
}

int report_error(const Context& ctx, const Status& status, int exit_code, const nlohmann::json& extra) {
  std::fflush(stdout);  // keep earlier output (runtime log lines) before the error
  fmt::print(stderr, "{}\n", error_line(status));
  if (ctx.json) print_json(error_json(status, extra));
  return exit_code;
}

void warn(std::string_view message) { fmt::print(stderr, "uklp: warning: {}\n", message); }

void print_json(const nlohmann::json& doc) {
  // Invalid UTF-8 from a target (a log line, a file name) must not abort us.
  fmt::print("{}\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  std::fflush(stdout);
}

ProgressLine::ProgressLine(const Context& ctx) : tty_(isatty(STDERR_FILENO) == 1) {
  silent_ = ctx.json && !tty_;
}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::show(std::string_view text) {
  if (silent_) return;
  if (tty_) {
    // \r and "erase to end of line": the previous text may have been longer.
    fmt::print(stderr, "\r\033[Kuklp: {}", text);
    shown_ = true;
  } else {
    fmt::print(stderr, "uklp: {}\n", text);
  }
  std::fflush(stderr);
}

void ProgressLine::print_block(std::string_view text) {
  if (silent_) return;
  clear();
  fmt::print(stderr, "{}", text);
  std::fflush(stderr);
}

void ProgressLine::clear() {
  if (!shown_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace uklp::cli
