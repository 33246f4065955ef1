// batch_report.h: how a batch command shows its result: the per-process
// summary table, the totals line, the JSON document, the error line and
// the exit code (docs/cli.md, "Many processes at once").
//
// The table lists every process, the successful ones first, then the
// others by kind, each group in pid order, so that the failures stand next
// to the totals:
//
//   PID      COMM             RESULT
//   4242     kvserver         patched
//   4250     kvserver         refused: patch 'fix_1' is in transition (Device or resource busy)
//   4251     kvserver         not patchable: no uklp runtime (no control socket @uklp/4251)
//   patch 'livepatch_sample': 1 of 3 processes patched, 1 refused, 1 not patchable (12 ms)
//
// Exit code: 0 when every process succeeded; 1 when any was refused, not
// patchable or failed; else 3 when some timed out (--timeout).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "batch_job.h"
#include "result.h"

namespace uklp::cli {

struct BatchSummary {
  size_t total = 0, ok = 0, refused = 0, not_patchable = 0, failed = 0, timed_out = 0;
};
BatchSummary summarize(const std::vector<BatchJob>& jobs);

// What a batch command did, for its messages.
struct BatchContext {
  BatchCommand command = BatchCommand::load;
  std::string patch;
  bool wait = false;
  long elapsed_ms = 0;
};

// The table and the totals line, as above.
std::string render_batch(const BatchContext& c, const std::vector<BatchJob>& jobs);
// The progress line: "loading 'P': 57/100 processes done, 12 in transition, 3 failed".
std::string batch_progress_text(const BatchContext& c, size_t done, size_t total, size_t in_transition,
                                size_t failed);
// {"command", "patch", "waited", "elapsed_ms", "summary": {...}, "processes": [...]}
nlohmann::json batch_json(const BatchContext& c, const std::vector<BatchJob>& jobs);
// The error of a batch in which some process did not succeed (its errno
// is the first such process's); OK when all did.
Status batch_error(const BatchContext& c, const std::vector<BatchJob>& jobs);
int batch_exit_code(const BatchSummary& s);

}  // namespace uklp::cli
