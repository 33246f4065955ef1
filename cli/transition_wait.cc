// transition_wait.cc: see transition_wait.h.
#include "transition_wait.h"

#include <algorithm>
#include <thread>

#include <fmt/core.h>

#include "output.h"
#include "proc.h"

namespace uklp::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kFastPeriod{10};     // polls during the first 100 ms
constexpr milliseconds kFastPhase{100};
constexpr milliseconds kSlowPeriod{100};    // then
constexpr milliseconds kBlockingAfter{1000};  // the blocking threads are shown after this,
constexpr milliseconds kBlockingEvery{1000};  // and again at most this often
constexpr milliseconds kExitGrace{100};


std::string wait_direction(const TransitionWait& w) { return w.patching ? "patching" : "unpatching"; }

bool deadline_passed(const TransitionWait& w) { return w.deadline && Clock::now() >= *w.deadline; }

// An exiting process closes its control socket before it becomes a
// zombie: after a failed request, give it kExitGrace to get there.
bool process_gone(int pid) {
  for (auto end = Clock::now() + kExitGrace; Clock::now() < end; std::this_thread::sleep_for(kFastPeriod))
    if (process_exited(pid)) return true;
  return process_exited(pid);
}

// A failed request while waiting, in the terms of the wait.
Status request_failure(const TransitionWait& w, const Status& s) {
  bool timed_out = s.code() == ETIMEDOUT || (s.code() == EAGAIN && deadline_passed(w));
  if (timed_out && w.timeout > 0) return timeout_error(w);
  if (process_gone(w.pid)) return exited_error(w);
  return s;
}

Result<std::optional<TransitionStatus>> poll_status(const Context& ctx, const TransitionWait& w, Exchange& ex) {
  ex.data.clear();
  if (Status s = exchange(ctx, w.pid, {"status"}, ex, {.deadline = w.deadline}); !s) return request_failure(w, s);
  return parse_transition_status(ex.data);
}

// Sleeps until the next poll is due: kFastPeriod during kFastPhase, then
// kSlowPeriod; never past the deadline.
Status pause_before_next_poll(const TransitionWait& w) {
  if (deadline_passed(w)) return timeout_error(w);
  std::this_thread::sleep_until(next_poll_time(w));
  return Status::ok();
}

// The progress line and the blocking-thread blocks of one wait.
class WaitDisplay {
 public:
  WaitDisplay(const Context& ctx, const TransitionWait& w) : progress_(ctx), w_(w) {}

  // On a terminal every poll redraws the line; elsewhere a line is printed
  // when the counts change, or once a second.
  void show_progress(const TransitionStatus& st) {
    std::string counts = fmt::format("{} {}/{}/{}", direction_text(st), st.switched, st.threads, st.blocking.size());
    bool due = !last_progress_ || Clock::now() - *last_progress_ >= kBlockingEvery;
    if (!progress_.in_place() && counts == last_counts_ && !due) return;
    progress_.show(progress_text(st));
    last_counts_ = counts;
    last_progress_ = Clock::now();
  }

  // After kBlockingAfter: which threads block, and where; again when that
  // set changes, but at most every kBlockingEvery.
  void show_blocking(const TransitionStatus& st) {
    if (st.blocking.empty() || Clock::now() - w_.started < kBlockingAfter) return;
    std::vector<int> tids = blocking_tids(st.blocking);
    if (last_block_ && (tids == block_tids_ || Clock::now() - *last_block_ < kBlockingEvery)) return;
    progress_.print_block(fmt::format("uklp: {} '{}' is blocked by {} thread{} after {:.1f} s:\n{}",
                                      direction_text(st), st.patch, st.blocking.size(),
                                      st.blocking.size() == 1 ? "" : "s", static_cast<double>(st.elapsed_ms) / 1000.0,
                                      render_blocking(st.blocking)));
    block_tids_ = std::move(tids);
    last_block_ = Clock::now();
    last_progress_.reset();  // the block pushed the progress up: show it again
  }

  void clear() { progress_.clear(); }

 private:
  ProgressLine progress_;
  const TransitionWait& w_;
  std::string last_counts_;
  std::optional<Clock::time_point> last_progress_, last_block_;
  std::vector<int> block_tids_;
};

// How the transition ended (transition_outcome).
Status check_outcome(const Context& ctx, const TransitionWait& w, Exchange& ex) {
  ex.data.clear();
  Status s = exchange(ctx, w.pid, {"sys", "livepatch/" + w.patch + "/enabled"}, ex, {.deadline = w.deadline});
  if (!s && s.code() != ENOENT) return request_failure(w, s);
  return transition_outcome(w, s, ex.data);
}

}  // namespace

TransitionWait start_transition_wait(int pid, std::string patch, bool patching, double timeout) {
  return {pid, std::move(patch), patching, timeout, deadline_after(timeout), Clock::now()};
}

long waited_ms(const TransitionWait& w) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - w.started).count();
}

bool completed_at_once(const std::vector<std::string>& answer) {
  return std::find(answer.begin(), answer.end(), "transition=complete") != answer.end();
}

Status wait_for_transition(const Context& ctx, const TransitionWait& w, Exchange& ex, WaitReport& report) {
  report.waited_ms = waited_ms(w);
  if (completed_at_once(ex.data)) return Status::ok();
  WaitDisplay display(ctx, w);
  while (true) {
    UKLP_ASSIGN_OR_RETURN(std::optional<TransitionStatus> st, poll_status(ctx, w, ex));
    ++report.polls;
    report.waited_ms = waited_ms(w);
    if (!st || st->patch != w.patch) break;  // over: no transition, or another patch's
    report.attempts = st->attempts;
    report.blocking = st->blocking;
    display.show_blocking(*st);
    display.show_progress(*st);
    UKLP_TRY(pause_before_next_poll(w));
  }
  display.clear();
  return check_outcome(ctx, w, ex);
}

Clock::time_point next_poll_time(const TransitionWait& w) {
  auto next = Clock::now() + (Clock::now() - w.started < kFastPhase ? kFastPeriod : kSlowPeriod);
  if (w.deadline && *w.deadline < next) next = *w.deadline;
  return next;
}

// livepatch/NAME/enabled: 1 after patching, 0 or ENOENT (the patch left
// the tree) after unpatching.
Status transition_outcome(const TransitionWait& w, const Status& answer, const std::vector<std::string>& data) {
  if (!answer && answer.code() != ENOENT) return answer;
  std::string value = !answer || data.empty() ? "0" : data.front();
  if (value != "0" && value != "1")
    return error(EPROTO, fmt::format("unexpected value '{}' of livepatch/{}/enabled", value, w.patch));
  if ((value == "1") == w.patching) return Status::ok();
  if (w.patching)
    return error(ECANCELED, fmt::format("the patching transition of patch '{}' was reversed: the patch is "
                                        "disabled ('uklp disable' or a write of livepatch/{}/enabled)",
                                        w.patch, w.patch));
  return error(ECANCELED, fmt::format("the unpatching transition of patch '{}' was reversed: the patch is "
                                      "enabled again (a write of livepatch/{}/enabled)",
                                      w.patch, w.patch));
}

bool process_exited(int pid) {
  if (!check_process(pid)) return true;
  std::string state = state_of(pid);
  return state.starts_with("Z") || state.starts_with("X");
}

Status exited_error(const TransitionWait& w) {
  return error(ESRCH, fmt::format("process {} exited before the {} transition of patch '{}' finished", w.pid,
                                  wait_direction(w), w.patch));
}

Status timeout_error(const TransitionWait& w) {
  std::string reverse = w.patching ? fmt::format("'uklp disable {} {}'", w.pid, w.patch)
                                   : fmt::format("'uklp sys {} livepatch/{}/enabled 1'", w.pid, w.patch);
  return error(ETIMEDOUT, fmt::format("{} transition of patch '{}' still in progress after {:g} s; it goes on in "
                                      "process {}: see 'uklp status {}'; 'uklp sys {} livepatch/{}/force 1' "
                                      "forces it (unsafe), {} reverses it",
                                      wait_direction(w), w.patch, w.timeout, w.pid, w.pid, w.pid, w.patch, reverse));
}

int wait_exit_code(const TransitionWait& w, const Status& s) {
  return s.code() == ETIMEDOUT && w.timeout > 0 ? kExitTimeout : kExitFailure;
}

nlohmann::json wait_report_json(const WaitReport& report) {
  return {{"elapsed_ms", report.waited_ms},
          {"polls", report.polls},
          {"attempts", report.attempts ? nlohmann::json(*report.attempts) : nlohmann::json(nullptr)},
          {"blocking", blocking_json(report.blocking)}};
}

void add_wait_options(CLI::App* cmd, bool& no_wait, double& timeout, const char* no_wait_help) {
  cmd->add_flag("--no-wait", no_wait, no_wait_help);
  cmd->add_option("--timeout", timeout, "Stop waiting after SEC seconds (exit 3; the transition goes on)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SEC");
}

}  // namespace uklp::cli
