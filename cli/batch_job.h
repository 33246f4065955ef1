// batch_job.h: what a batch command (`uklp load|disable|unload` with
// --pid or --all-of) does to one process, as a state machine that performs
// no I/O of its own on the control socket.
//
// The work per process is the single-process command's: the request
// (`load` with the module's descriptor, `disable`, `unload`), then, unless
// --no-wait, the wait for the end of the transition (transition_wait.h),
// with one request less in the common case: a first `list` says both
// whether the transition is over and how it ended (livepatch/NAME/enabled);
// only a transition still in progress is followed by `status` polls and a
// read of livepatch/NAME/enabled, as for one process. (Per process and
// request, the CLI and the runtime spend some 40 us of CPU on the
// connection alone; 100 processes share 2 CPUs with their targets.) Here
// that sequence is a job that tells its engine (batch_engine.h) what to do
// next: send a request, sleep until a time, or nothing (done). The engine
// multiplexes hundreds of jobs over a few threads or one event loop, so
// waiting on one process never delays another, and one process failing
// never stops the others.
//
// Every job ends with a verdict:
//   ok             the command did what it says (patched, disabled, unloaded)
//   refused        the runtime answered an error: the patch is in
//                  transition, already loaded, ... (its errno and message)
//   not patchable  the process has no runtime (no control socket), or, for
//                  `load`, the runtime refused a patch that cannot apply to
//                  this process: errno EINVAL, ENOEXEC, ENOENT, ENODEV or
//                  ESTALE (a function without a pad, a symbol not found,
//                  another build of the program, ...)
//   failed         the process exited, was stopped, closed the connection
//                  without an answer, or the transition was reversed
//   timed out      --timeout elapsed; the transition goes on in the process
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client.h"
#include "result.h"
#include "transition_wait.h"

namespace uklp::cli {

enum class BatchCommand { load, disable, unload };

// What the command does to every process; shared by all its jobs.
struct BatchOperation {
  BatchCommand command = BatchCommand::load;
  std::string patch;                 // the patch name
  std::vector<std::string> request;  // the first request's fields
  int module_fd = -1;                // load: passed with the request (SCM_RIGHTS)
  bool wait = false;                 // follow the transition to its end
  double timeout = 0;                // --timeout, for messages; 0: none
  std::optional<Deadline> deadline;  // of the whole command
};

enum class Verdict { ok, refused, not_patchable, failed, timed_out };

// The answer to one request.
struct BatchReply {
  Status status;
  bool answered = false;  // the runtime sent its final line (ok or error)
  std::vector<std::string> log, data;
};

// What a job wants next.
struct BatchStep {
  enum class Kind { send, sleep, done } kind = Kind::done;
  std::string line;  // send: the request line, without '\n'
  int fd = -1;       // send: a descriptor to pass with it
  std::chrono::steady_clock::time_point until;  // sleep
};

class BatchJob {
 public:
  BatchJob(const BatchOperation& op, int pid);

  // The first step: the request, or done when the process is gone or
  // stopped (it could not answer).
  BatchStep start();
  // After a send step, with its answer.
  BatchStep on_reply(BatchReply reply);
  // After a sleep step.
  BatchStep on_wake();
  // The deadline passed before the job was done. `contacted`: the first
  // request was sent (the runtime may be acting on it).
  void time_out(bool contacted);

  bool done() const { return phase_ == Phase::done; }
  const Target& target() const { return target_; }
  int pid() const { return target_.pid; }
  // The process's comm, read by start(); "?" before, or if it was gone.
  const std::string& comm() const { return comm_; }
  Verdict verdict() const { return verdict_; }
  // The success text ("patched", "disabled", ...), or the failure.
  const std::string& result() const { return result_; }
  const Status& status() const { return status_; }
  const std::vector<std::string>& log() const { return log_; }
  bool waited() const { return waited_; }
  const WaitReport& report() const { return report_; }
  // Its last `status` poll saw the transition still in progress.
  bool in_transition() const { return in_transition_; }

 private:
  enum class Phase { first, check, poll, outcome, grace, done };

  BatchStep send(const std::vector<std::string>& fields, int fd = -1);
  BatchStep after_first(const BatchReply& r);
  BatchStep after_check(const BatchReply& r);
  BatchStep after_poll(const BatchReply& r);
  BatchStep after_outcome(const BatchReply& r);
  BatchStep request_failed(const Status& s);
  BatchStep succeed(std::string what);
  BatchStep fail(Verdict v, Status s);
  Verdict first_failure(const BatchReply& r) const;

  const BatchOperation& op_;
  Target target_;
  std::string comm_ = "?";
  Phase phase_ = Phase::first;
  TransitionWait wait_;
  Verdict verdict_ = Verdict::failed;
  std::string result_;
  Status status_;
  std::vector<std::string> log_;
  bool waited_ = false, in_transition_ = false;
  WaitReport report_;
  Status grace_status_;  // the failure a grace period may turn into ESRCH
  std::chrono::steady_clock::time_point grace_end_;
};

// "ok", "refused", "not patchable", "failed", "timed out".
std::string verdict_name(Verdict v);

}  // namespace uklp::cli
