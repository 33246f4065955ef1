// batch_report.cc: see batch_report.h.
#include "batch_report.h"

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "cli.h"
#include "transition_wait.h"

namespace uklp::cli {
namespace {

// The words of each command in messages.
struct CommandWords {
  const char* name;     // "load"
  const char* doing;    // "loading": the progress line
  const char* done;     // "patched": success, in the totals
  const char* started;  // "loaded": success with --no-wait
};

const CommandWords& words(BatchCommand c) {
  static const CommandWords load{"load", "loading", "patched", "loaded"};
  static const CommandWords disable{"disable", "disabling", "disabled", "unpatching"};
  static const CommandWords unload{"unload", "unloading", "unloaded", "unloaded"};
  return c == BatchCommand::load ? load : c == BatchCommand::disable ? disable : unload;
}

std::string success_word(const BatchContext& c) {
  return c.wait ? words(c.command).done : words(c.command).started;
}

// "refused: MESSAGE (ERRNO TEXT)" or the success text.
std::string result_text(const BatchJob& j) {
  if (j.verdict() == Verdict::ok) return j.result();
  int code = j.status().code() ? j.status().code() : EIO;
  return fmt::format("{}: {} ({})", verdict_name(j.verdict()), j.status().message(), std::strerror(code));
}

std::string totals_line(const BatchContext& c, const BatchSummary& s) {
  std::string line = fmt::format("patch '{}': {} of {} process{} {}", c.patch, s.ok, s.total,
                                 s.total == 1 ? "" : "es", success_word(c));
  auto add = [&](size_t n, const char* what) {
    if (n) line += fmt::format(", {} {}", n, what);
  };
  add(s.refused, "refused");
  add(s.not_patchable, "not patchable");
  add(s.failed, "failed");
  add(s.timed_out, "timed out");
  return line + fmt::format(" ({} ms)", c.elapsed_ms);
}

nlohmann::json job_json(const BatchJob& j) {
  nlohmann::json doc = {{"pid", j.pid()}, {"comm", j.comm()}, {"verdict", verdict_name(j.verdict())},
                        {"result", j.result()}};
  if (j.verdict() != Verdict::ok) {
    doc["error"] = j.status().message();
    doc["errno"] = j.status().code() ? j.status().code() : EIO;
  }
  doc["log"] = j.log();
  if (j.waited()) doc["transition"] = wait_report_json(j.report());
  return doc;
}

}  // namespace

BatchSummary summarize(const std::vector<BatchJob>& jobs) {
  BatchSummary s;
  s.total = jobs.size();
  for (const auto& j : jobs) {
    switch (j.verdict()) {
      case Verdict::ok: ++s.ok; break;
      case Verdict::refused: ++s.refused; break;
      case Verdict::not_patchable: ++s.not_patchable; break;
      case Verdict::failed: ++s.failed; break;
      case Verdict::timed_out: ++s.timed_out; break;
    }
  }
  return s;
}

std::string render_batch(const BatchContext& c, const std::vector<BatchJob>& jobs) {
  std::vector<const BatchJob*> order;
  for (const auto& j : jobs) order.push_back(&j);
  std::stable_sort(order.begin(), order.end(),
                   [](const BatchJob* a, const BatchJob* b) { return a->verdict() < b->verdict(); });
  std::string out = fmt::format("{:<8} {:<16} {}\n", "PID", "COMM", "RESULT");
  for (const BatchJob* j : order)
    out += fmt::format("{:<8} {:<16.16} {}\n", j->pid(), j->comm(), result_text(*j));
  return out + totals_line(c, summarize(jobs)) + "\n";
}

std::string batch_progress_text(const BatchContext& c, size_t done, size_t total, size_t in_transition,
                                size_t failed) {
  std::string text = fmt::format("{} '{}': {}/{} processes done", words(c.command).doing, c.patch, done, total);
  if (in_transition) text += fmt::format(", {} in transition", in_transition);
  if (failed) text += fmt::format(", {} not {}", failed, success_word(c));
  return text;
}

nlohmann::json batch_json(const BatchContext& c, const std::vector<BatchJob>& jobs) {
  BatchSummary s = summarize(jobs);
  nlohmann::json procs = nlohmann::json::array();
  for (const auto& j : jobs) procs.push_back(job_json(j));
  return {{"command", words(c.command).name},
          {"patch", c.patch},
          {"waited", c.wait},
          {"elapsed_ms", c.elapsed_ms},
          {"summary",
           {{"processes", s.total}, {"ok", s.ok}, {"refused", s.refused}, {"not_patchable", s.not_patchable},
            {"failed", s.failed}, {"timed_out", s.timed_out}}},
          {"processes", procs}};
}

Status batch_error(const BatchContext& c, const std::vector<BatchJob>& jobs) {
  BatchSummary s = summarize(jobs);
  if (s.ok == s.total) return Status::ok();
  // The first failure as the table lists it: by kind, then pid.
  const BatchJob* first = nullptr;
  for (const auto& j : jobs)
    if (j.verdict() != Verdict::ok && (!first || j.verdict() < first->verdict())) first = &j;
  return error(first->status().code(),
               fmt::format("patch '{}': {} of {} process{} not {}; the first: process {} ({}): {}", c.patch,
                           s.total - s.ok, s.total, s.total == 1 ? "" : "es", success_word(c), first->pid(),
                           first->comm(), first->status().message()));
}

int batch_exit_code(const BatchSummary& s) {
  if (s.refused || s.not_patchable || s.failed) return kExitFailure;
  return s.timed_out ? kExitTimeout : kExitOk;
}

}  // namespace uklp::cli
