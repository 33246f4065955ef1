// batch_command.cc: see batch_command.h.
#include "batch_command.h"

#include <chrono>

#include <fmt/core.h>

#include "args.h"
#include "batch_engine.h"
#include "batch_report.h"
#include "output.h"
#include "proc.h"

namespace uklp::cli {
namespace {

using Clock = std::chrono::steady_clock;

class UsageFormatter : public CLI::Formatter {
 public:
  explicit UsageFormatter(std::vector<std::string> lines) : lines_(std::move(lines)) {}
  std::string make_usage(const CLI::App*, std::string) const override {
    std::string out;
    for (size_t i = 0; i < lines_.size(); ++i) out += (i ? "       " : "Usage: ") + lines_[i] + "\n";
    return out;
  }

 private:
  std::vector<std::string> lines_;
};

std::vector<BatchJob> make_jobs(const BatchOperation& op, const std::vector<int>& pids) {
  std::vector<BatchJob> jobs;
  jobs.reserve(pids.size());
  for (int pid : pids) jobs.emplace_back(op, pid);
  return jobs;
}

// Runs the jobs with the progress line (a terminal only: "quiet otherwise").
void run_jobs(const Context& ctx, const BatchOptions& o, const BatchContext& c, const BatchOperation& op,
              std::vector<BatchJob>& jobs) {
  ProgressLine progress(ctx);
  EngineOptions eo{.parallel = o.parallel, .deadline = op.deadline};
  if (progress.in_place())
    eo.on_progress = [&](const BatchProgress& p) {
      progress.show(batch_progress_text(c, p.done, p.total, p.in_transition, p.failed));
    };
  if (o.engine == "threads")
    run_thread_pool(jobs, eo);
  else
    run_event_loop(jobs, eo);
}

int report(const Context& ctx, const BatchContext& c, const std::vector<BatchJob>& jobs,
           const nlohmann::json& extra) {
  Status s = batch_error(c, jobs);
  int code = batch_exit_code(summarize(jobs));
  if (!ctx.json) fmt::print("{}", render_batch(c, jobs));
  if (!s) {
    nlohmann::json doc = ctx.json ? batch_json(c, jobs) : nlohmann::json::object();
    if (ctx.json) doc.update(extra);
    return report_error(ctx, s, code, doc);
  }
  if (ctx.json) {
    nlohmann::json doc = batch_json(c, jobs);
    doc.update(extra);
    print_json(doc);
  }
  return code;
}

}  // namespace

void add_batch_options(CLI::App* cmd, BatchOptions& o) {
  add_selector_options(cmd, o.selector);
  o.tuning.push_back(cmd->add_option("--parallel", o.parallel, "With --pid/--all-of: requests in flight at once")
                         ->check(CLI::Range(1, 4096))
                         ->type_name("N")
                         ->capture_default_str());
  o.tuning.push_back(cmd->add_option("--engine", o.engine)->check(CLI::IsMember({"events", "threads"}))->group(""));
}

Status BatchOptions::check() const {
  for (const auto& list : selector.pid_lists) UKLP_TRY(parse_pid_list(list).status());
  if (selector.given()) return Status::ok();
  for (const CLI::Option* opt : tuning)
    if (opt->count()) return error(EINVAL, opt->get_name() + " goes with --pid or --all-of");
  return Status::ok();
}

Status split_target_args(const std::vector<std::string>& args, const BatchOptions& o, std::string& pid_text,
                         std::string& patch) {
  bool batch = o.selector.given();
  if (args.size() != (batch ? 1u : 2u)) {
    if (batch && args.size() == 2 && parse_pid(args[0]))
      return error(EINVAL, "a PID before PATCH cannot be combined with --pid or --all-of; add it to --pid");
    return error(EINVAL, batch ? "expected PATCH (the patch name) after --pid/--all-of"
                               : "expected PID and PATCH (or --pid/--all-of and PATCH)");
  }
  if (!batch) pid_text = args[0];
  patch = args.back();
  return o.check();
}

int run_batch(const Context& ctx, const BatchOptions& o, BatchOperation op, double timeout,
              const nlohmann::json& extra) {
  auto started = Clock::now();
  op.deadline = deadline_after(timeout);
  op.timeout = timeout;
  auto pids = select_processes(o.selector);  // --pid lists, processes running --all-of PROGRAMs
  if (!pids) return report_error(ctx, pids.status(), pids.status().code() == EINVAL ? kExitUsage : kExitFailure);
  std::vector<BatchJob> jobs = make_jobs(op, *pids);
  BatchContext c{op.command, op.patch, op.wait, 0};
  run_jobs(ctx, o, c, op, jobs);  // in parallel, with the progress line
  c.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  return report(ctx, c, jobs, extra);  // the summary, or the JSON document
}

void set_usage(CLI::App* cmd, std::vector<std::string> lines) {
  cmd->formatter(std::make_shared<UsageFormatter>(std::move(lines)));
}

}  // namespace uklp::cli
