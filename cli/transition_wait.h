// transition_wait.h: waiting for the end of a patching or unpatching
// transition, the CLI's half of the kernel's per-thread consistency model.
//
// The runtime answers `load` and `disable` as soon as the transition has
// started (after a first attempt); the transition then goes on inside the
// target, retried in the background (runtime/transition.cc) until every
// thread has switched. Waiting is the CLI's job: it polls the `status`
// request (transition_status.h), every 10 ms for the first 100 ms (most
// transitions end at one of the first attempts, a few ms apart), then
// every 100 ms (the runtime's own retry period by then), until no
// transition of the patch is in progress.
//
// "No longer in transition" does not say how the transition ended: someone
// may have reversed it (`uklp disable` during a patching transition, a
// write of livepatch/NAME/enabled). So the end is checked by reading
// livepatch/NAME/enabled: 1 after patching, 0 or no such patch (ENOENT: a
// disabled patch leaves the tree) after unpatching; else ECANCELED.
//
// While waiting: the progress line on stderr (output.h); after 1 s, the
// blocking threads with their stacks as a block, again when the set of
// blocking threads changes, at most once a second. A deadline (--timeout)
// ends the wait with ETIMEDOUT; the transition goes on in the target.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "client.h"
#include "result.h"
#include "session.h"
#include "transition_status.h"

namespace uklp::cli {

struct TransitionWait {
  int pid = 0;
  std::string patch;
  bool patching = true;  // load: true; disable: false
  double timeout = 0;    // seconds, for messages; 0: no limit
  std::optional<Deadline> deadline;
  std::chrono::steady_clock::time_point started;  // when the request was sent
};

// A wait for `patch` in `pid` that starts now, bounded by `timeout` seconds.
TransitionWait start_transition_wait(int pid, std::string patch, bool patching, double timeout);
// Milliseconds since the wait's request was sent.
long waited_ms(const TransitionWait& w);

// The options of the commands that start a transition (load, disable):
// --no-wait (described by `no_wait_help`) and --timeout SEC.
void add_wait_options(CLI::App* cmd, bool& no_wait, double& timeout, const char* no_wait_help);

// What the wait saw, for the JSON result.
struct WaitReport {
  long waited_ms = 0;                    // from the request to the end of the wait
  int polls = 0;                         // `status` requests sent
  std::optional<long> attempts;          // the runtime's count at the last poll that saw the transition
  std::vector<BlockingThread> blocking;  // the blocking threads seen last
};

// The runtime adds the data line `transition=complete` to its answer to
// `load` and `disable` when the request's own first attempt completed the
// transition, in the wanted state (most idle processes): nothing to wait for.
bool completed_at_once(const std::vector<std::string>& answer);

// Polls until the transition of w.patch is over and checks that it ended
// in the wanted state (at once when `ex` holds an answer that says so). Runtime log lines go to `ex` (session.h). Fails with
// ETIMEDOUT at the deadline (timeout_error), ECANCELED when the transition
// was reversed, ESRCH when the process exited.
Status wait_for_transition(const Context& ctx, const TransitionWait& w, Exchange& ex, WaitReport& report);

// The pieces of the wait, for callers that drive many waits at once
// (batch_job.h) instead of blocking in wait_for_transition():
//
// When the next `status` poll is due: 10 ms after now during the first
// 100 ms of the wait, then 100 ms; never past the deadline.
std::chrono::steady_clock::time_point next_poll_time(const TransitionWait& w);
// How the transition ended, from the answer to `sys livepatch/NAME/enabled`
// (`answer`: its status, `data`: its data lines): OK, ECANCELED (reversed),
// EPROTO (a value other than 0 or 1); a failed request other than ENOENT
// is returned as it is.
Status transition_outcome(const TransitionWait& w, const Status& answer, const std::vector<std::string>& data);
// True when `pid` is gone or a zombie: its runtime will not answer again.
bool process_exited(int pid);
// ESRCH: the process exited before the transition finished.
Status exited_error(const TransitionWait& w);

// ETIMEDOUT: the transition goes on in the process; how to follow, force
// or reverse it.
Status timeout_error(const TransitionWait& w);
// kExitTimeout for a --timeout that elapsed, else kExitFailure.
int wait_exit_code(const TransitionWait& w, const Status& s);

// {"elapsed_ms", "polls", "attempts" (null if no poll saw the transition), "blocking"}
nlohmann::json wait_report_json(const WaitReport& report);

}  // namespace uklp::cli
