// transition_status.cc: see transition_status.h.
#include "transition_status.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "patch_list.h"

namespace uklp::cli {
namespace {

Status malformed(std::string_view line, std::string_view why) {
  return error(EPROTO, fmt::format("malformed status line from the runtime ({}): '{}'", why, line));
}

Result<std::string> text_field(const Fields& f, std::string_view key, std::string_view line) {
  const std::string* v = find_field(f, key);
  if (!v) return malformed(line, fmt::format("no {}=", key));
  return *v;
}

Result<long> number_field(const Fields& f, std::string_view key, std::string_view line) {
  UKLP_ASSIGN_OR_RETURN(std::string text, text_field(f, key, line));
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0)
    return malformed(line, fmt::format("{}= is not a number", key));
  return value;
}

std::vector<std::string> split_stack(std::string_view text) {
  std::vector<std::string> frames;
  size_t start = 0;
  while (start < text.size()) {
    size_t semi = std::min(text.find(';', start), text.size());
    if (semi > start) frames.emplace_back(text.substr(start, semi - start));
    start = semi + 1;
  }
  return frames;
}

Result<TransitionStatus> parse_transition_line(const Fields& f, std::string_view line) {
  TransitionStatus st;
  st.patch = f.front().second;
  UKLP_ASSIGN_OR_RETURN(std::string target, text_field(f, "target", line));
  if (target != "patching" && target != "unpatching") return malformed(line, "unknown target=");
  st.patching = target == "patching";
  UKLP_ASSIGN_OR_RETURN(st.attempts, number_field(f, "attempts", line));
  UKLP_ASSIGN_OR_RETURN(st.elapsed_ms, number_field(f, "elapsed_ms", line));
  UKLP_ASSIGN_OR_RETURN(st.threads, number_field(f, "threads", line));
  UKLP_ASSIGN_OR_RETURN(st.switched, number_field(f, "switched", line));
  const std::string* forced = find_field(f, "forced");
  st.forced = forced && *forced == "1";
  return st;
}

Result<BlockingThread> parse_blocking_line(const Fields& f, std::string_view line) {
  BlockingThread b;
  UKLP_ASSIGN_OR_RETURN(long tid, number_field(f, "blocking", line));
  b.tid = static_cast<int>(tid);
  if (const std::string* name = find_field(f, "name")) b.name = *name;
  if (const std::string* reason = find_field(f, "reason")) b.reason = *reason;
  if (const std::string* stack = find_field(f, "stack")) b.stack = split_stack(*stack);
  return b;
}

std::string seconds_text(long ms) { return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0); }

}  // namespace

Result<std::optional<TransitionStatus>> parse_transition_status(const std::vector<std::string>& data_lines) {
  std::optional<TransitionStatus> st;
  std::vector<BlockingThread> blocking;
  for (const auto& line : data_lines) {
    if (line.empty()) continue;
    UKLP_ASSIGN_OR_RETURN(Fields f, parse_fields(line));
    if (f.front().first == "transition") {
      UKLP_ASSIGN_OR_RETURN(st, parse_transition_line(f, line));
    } else if (f.front().first == "blocking") {
      UKLP_ASSIGN_OR_RETURN(BlockingThread b, parse_blocking_line(f, line));
      blocking.push_back(std::move(b));
    }
  }
  if (!st && !blocking.empty()) return error(EPROTO, "status answer from the runtime: blocking threads without a transition");
  if (st) st->blocking = std::move(blocking);
  return st;
}

std::string direction_text(const TransitionStatus& st) { return st.patching ? "patching" : "unpatching"; }

std::string progress_text(const TransitionStatus& st) {
  return fmt::format("{} '{}': {}/{} threads switched, {} blocking, {}", direction_text(st), st.patch,
                     st.switched, st.threads, st.blocking.size(), seconds_text(st.elapsed_ms));
}

std::string render_blocking(const std::vector<BlockingThread>& blocking) {
  std::string out;
  for (const auto& b : blocking) {
    out += fmt::format("  thread {} ({}): {}\n", b.tid, b.name, b.reason);
    for (const auto& frame : b.stack) out += fmt::format("    {}\n", frame);
  }
  return out;
}

std::string render_transition_status(const TransitionStatus& st) {
  std::string out = fmt::format("patch '{}': {} transition in progress for {} ({} attempts{})\n", st.patch,
                                direction_text(st), seconds_text(st.elapsed_ms), st.attempts,
                                st.forced ? ", forced" : "");
  out += fmt::format("{} of {} threads switched\n", st.switched, st.threads);
  if (st.blocking.empty()) return out;
  out += fmt::format("blocked by {} thread{}:\n", st.blocking.size(), st.blocking.size() == 1 ? "" : "s");
  return out + render_blocking(st.blocking);
}

std::vector<int> blocking_tids(const std::vector<BlockingThread>& blocking) {
  std::vector<int> tids;
  for (const auto& b : blocking) tids.push_back(b.tid);
  std::sort(tids.begin(), tids.end());
  return tids;
}

nlohmann::json blocking_json(const std::vector<BlockingThread>& blocking) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : blocking)
    out.push_back({{"tid", b.tid}, {"name", b.name}, {"reason", b.reason}, {"stack", b.stack}});
  return out;
}

nlohmann::json transition_status_json(const TransitionStatus& st) {
  return {{"patch", st.patch},       {"target", direction_text(st)}, {"attempts", st.attempts},
          {"elapsed_ms", st.elapsed_ms}, {"threads", st.threads},    {"switched", st.switched},
          {"forced", st.forced},     {"blocking", blocking_json(st.blocking)}};
}

}  // namespace uklp::cli
