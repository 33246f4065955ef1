// batch_job.cc: see batch_job.h.
#include "batch_job.h"

#include <algorithm>

#include <fmt/core.h>

#include "patch_list.h"
#include "proc.h"
#include "protocol.h"

namespace uklp::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// As transition_wait.cc: an exiting process closes its control socket
// before it becomes a zombie; give it this long to get there.
constexpr milliseconds kExitGrace{100};
constexpr milliseconds kExitCheck{10};

// Errors of `load` that say the patch cannot apply to this process as it
// is, rather than "not now" (EBUSY, EEXIST, ...): see batch_job.h.
bool cannot_apply(int code) {
  return code == EINVAL || code == ENOEXEC || code == ENOENT || code == ENODEV || code == ESTALE;
}

BatchStep sleep_until(Clock::time_point t) { return {.kind = BatchStep::Kind::sleep, .until = t}; }

bool deadline_passed(const std::optional<Deadline>& d) { return d && Clock::now() >= *d; }

struct PatchState {
  bool listed = false, enabled = false, in_transition = false;
};

// The patch= line of `patch` in a `list` answer (patch_list.h).
Result<PatchState> patch_state(const std::vector<std::string>& data, const std::string& patch) {
  for (const auto& line : data) {
    if (!line.starts_with("patch=")) continue;
    UKLP_ASSIGN_OR_RETURN(Fields f, parse_fields(line));
    if (f.front().second != patch) continue;
    const std::string* enabled = find_field(f, "enabled");
    const std::string* transition = find_field(f, "transition");
    if (!enabled || !transition) return error(EPROTO, "malformed patch line '" + line + "' in the list answer");
    return PatchState{true, *enabled == "1", *transition == "1"};
  }
  return PatchState{};
}

// connect_error()'s meaning, short enough for a line of the summary.
Status no_runtime_error(const Target& t, const Status& s) {
  std::string msg = fmt::format("no uklp runtime (no control socket @uklp/{})", t.ns_pid);
  if (!in_our_net_namespace(t.pid))
    msg += fmt::format(", or another network namespace (nsenter --net --target {})", t.pid);
  return error(s.code(), msg);
}

}  // namespace

std::string verdict_name(Verdict v) {
  switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::refused: return "refused";
    case Verdict::not_patchable: return "not patchable";
    case Verdict::failed: return "failed";
    case Verdict::timed_out: return "timed out";
  }
  return "?";
}

BatchJob::BatchJob(const BatchOperation& op, int pid) : op_(op), target_{pid, pid} {}

BatchStep BatchJob::start() {
  auto st = read_process_status(target_.pid);
  if (!st) return fail(Verdict::failed, st.status());
  target_.ns_pid = st->ns_pid;
  comm_ = st->name;
  // Only a job-control stop: "t (tracing stop)" may be the runtime's own
  // tracer checking a thread, which ends in microseconds.
  if (st->state.starts_with("T"))
    return fail(Verdict::failed, error(EAGAIN, fmt::format("process {} is stopped ({}): it cannot answer until "
                                                           "it is continued (SIGCONT)",
                                                           target_.pid, st->state)));
  wait_ = {target_.pid, op_.patch, op_.command == BatchCommand::load, op_.timeout, op_.deadline, Clock::now()};
  return send(op_.request, op_.module_fd);
}

BatchStep BatchJob::on_reply(BatchReply reply) {
  log_.insert(log_.end(), reply.log.begin(), reply.log.end());
  switch (phase_) {
    case Phase::first: return after_first(reply);
    case Phase::check: return after_check(reply);
    case Phase::poll: return after_poll(reply);
    case Phase::outcome: return after_outcome(reply);
    case Phase::grace:
    case Phase::done: break;
  }
  return {};
}

BatchStep BatchJob::on_wake() {
  if (phase_ == Phase::grace) {
    if (process_exited(target_.pid)) return fail(Verdict::failed, exited_error(wait_));
    if (Clock::now() >= grace_end_) return fail(Verdict::failed, grace_status_);
    return sleep_until(Clock::now() + kExitCheck);
  }
  if (deadline_passed(op_.deadline)) return fail(Verdict::timed_out, timeout_error(wait_));
  return send({"status"});
}

void BatchJob::time_out(bool contacted) {
  if (done()) return;
  if (!contacted)
    fail(Verdict::failed, error(ETIMEDOUT, fmt::format("process {} was not contacted before the deadline "
                                                       "(--timeout {:g})",
                                                       target_.pid, op_.timeout)));
  else
    fail(Verdict::timed_out, timeout_error(wait_));
}

BatchStep BatchJob::send(const std::vector<std::string>& fields, int fd) {
  auto line = protocol::join_fields(fields);
  if (!line) return fail(Verdict::failed, line.status());
  return {.kind = BatchStep::Kind::send, .line = std::move(*line), .fd = fd};
}

// The answer to the command's own request: the transition has started.
BatchStep BatchJob::after_first(const BatchReply& r) {
  if (!r.status) {
    if (r.status.code() == ETIMEDOUT && !r.answered && op_.timeout > 0)
      return fail(Verdict::timed_out, timeout_error(wait_));
    Verdict v = first_failure(r);
    return fail(v, v == Verdict::not_patchable && !r.answered ? no_runtime_error(target_, r.status) : r.status);
  }
  if (op_.command == BatchCommand::unload) return succeed("unloaded");
  bool load = op_.command == BatchCommand::load;
  if (load && std::find(r.data.begin(), r.data.end(), "patch=none") != r.data.end())
    return succeed("loaded, no patch enabled");
  if (!op_.wait) return succeed(load ? "transition started" : "unpatching started");
  waited_ = true;
  if (completed_at_once(r.data)) {
    report_.waited_ms = waited_ms(wait_);
    return succeed(load ? "patched" : "disabled");
  }
  phase_ = Phase::check;
  return send({"list"});
}

// The first look after the request: `list` says both whether the patch is
// still in transition and, if not, how it ended, in one request where
// `status` and `sys` take two; most transitions of idle processes are over
// by then. A transition still in progress is followed with `status`
// polls, which also say what blocks it.
BatchStep BatchJob::after_check(const BatchReply& r) {
  if (!r.status) return request_failed(r.status);
  ++report_.polls;
  report_.waited_ms = waited_ms(wait_);
  auto state = patch_state(r.data, op_.patch);
  if (!state) return fail(Verdict::failed, state.status());
  if (state->in_transition) {
    in_transition_ = true;
    phase_ = Phase::poll;
    return sleep_until(next_poll_time(wait_));
  }
  Status answer = state->listed ? Status::ok() : error(ENOENT, "no such patch '" + op_.patch + "'");
  std::vector<std::string> enabled = {state->enabled ? "1" : "0"};
  if (Status s = transition_outcome(wait_, answer, enabled); !s) return fail(Verdict::failed, s);
  return succeed(op_.command == BatchCommand::load ? "patched" : "disabled");
}

BatchStep BatchJob::after_poll(const BatchReply& r) {
  if (!r.status) return request_failed(r.status);
  ++report_.polls;
  report_.waited_ms = waited_ms(wait_);
  auto st = parse_transition_status(r.data);
  if (!st) return fail(Verdict::failed, st.status());
  in_transition_ = *st && (*st)->patch == op_.patch;
  if (!in_transition_) {  // over: no transition, or another patch's
    phase_ = Phase::outcome;
    return send({"sys", "livepatch/" + op_.patch + "/enabled"});
  }
  report_.attempts = (*st)->attempts;
  report_.blocking = (*st)->blocking;
  return sleep_until(next_poll_time(wait_));
}

BatchStep BatchJob::after_outcome(const BatchReply& r) {
  if (!r.status && r.status.code() != ENOENT) return request_failed(r.status);
  if (Status s = transition_outcome(wait_, r.status, r.data); !s) return fail(Verdict::failed, s);
  return succeed(op_.command == BatchCommand::load ? "patched" : "disabled");
}

// A request of the wait failed: the deadline, or maybe the process exited.
BatchStep BatchJob::request_failed(const Status& s) {
  bool timed_out = s.code() == ETIMEDOUT || (s.code() == EAGAIN && deadline_passed(op_.deadline));
  if (timed_out && op_.timeout > 0) return fail(Verdict::timed_out, timeout_error(wait_));
  if (process_exited(target_.pid)) return fail(Verdict::failed, exited_error(wait_));
  phase_ = Phase::grace;
  grace_status_ = s;
  grace_end_ = Clock::now() + kExitGrace;
  return sleep_until(Clock::now() + kExitCheck);
}

Verdict BatchJob::first_failure(const BatchReply& r) const {
  int code = r.status.code();
  if (!r.answered) return code == ECONNREFUSED || code == ENOENT ? Verdict::not_patchable : Verdict::failed;
  if (op_.command == BatchCommand::load && cannot_apply(code)) return Verdict::not_patchable;
  return Verdict::refused;
}

BatchStep BatchJob::succeed(std::string what) {
  phase_ = Phase::done;
  verdict_ = Verdict::ok;
  result_ = std::move(what);
  in_transition_ = false;
  return {};
}

BatchStep BatchJob::fail(Verdict v, Status s) {
  phase_ = Phase::done;
  verdict_ = v;
  status_ = std::move(s);
  result_ = verdict_name(v);
  in_transition_ = false;
  return {};
}

}  // namespace uklp::cli
