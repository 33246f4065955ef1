// batch_event_loop.cc: the event-loop engine of batch_engine.h.
//
// Every job is in one of four places: queued (a request to send, waiting
// for a slot), in flight (its socket is in the epoll set), asleep (in the
// timer heap until its next poll) or done. One loop turn: fill free slots
// from the queue, wait for socket events or the earliest timer, read what
// arrived, wake the jobs whose time has come.
//
// A connection to an abstract Unix socket completes or fails inside
// connect(2), except when the listener's backlog is full (EAGAIN): that
// job is retried 1 ms later. A request line is a few hundred bytes and
// fits the socket buffer, so the send normally completes at once; a
// partial send waits for EPOLLOUT. The descriptor travels with the first
// byte (SCM_RIGHTS), as in protocol::send_all.
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <deque>
#include <queue>

#include <fmt/core.h>

#include "batch_engine.h"
#include "client.h"
#include "protocol.h"
#include "unique_fd.h"

namespace uklp::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kConnectRetry{1};
constexpr milliseconds kProgressEvery{50};
constexpr size_t kReadChunk = 16384;

// One request on the wire.
struct Flight {
  UniqueFd sock;
  std::string out;  // the request line and '\n'
  size_t sent = 0;
  int pass_fd = -1;
  std::string in;   // bytes read and not yet parsed into lines
  BatchReply reply;
  Status send_error;
};

// Sends what is left of `f.out`; EAGAIN leaves the rest for EPOLLOUT.
Status send_some(Flight& f) {
  while (f.sent < f.out.size()) {
    int fd = f.sent == 0 ? f.pass_fd : -1;  // with the first byte, as protocol::send_all
    ssize_t n = protocol::send_chunk(f.sock.get(), std::string_view(f.out).substr(f.sent), fd, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Status::ok();
    if (n < 0) return error(errno, "cannot write to the control socket");
    f.sent += static_cast<size_t>(n);
  }
  return Status::ok();
}

// Takes the complete lines of `f.in` into `f.reply`; true at the final one.
bool take_lines(Flight& f) {
  size_t start = 0;
  bool final = false;
  for (size_t nl; !final && (nl = f.in.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto [kind, raw] = split_answer(std::string_view(f.in).substr(start, nl - start));
    std::string payload = printable(raw);
    if (kind == "ok" || kind == "error") {
      f.reply.status = kind == "ok" ? Status::ok() : parse_error_payload(payload);
      f.reply.answered = final = true;
    } else if (kind == "log") {
      f.reply.log.emplace_back(payload);
    } else if (kind == "data") {
      f.reply.data.emplace_back(payload);
    }  // progress lines and unknown kinds: nothing to show per process
  }
  f.in.erase(0, start);
  return final;
}

class EventLoop {
 public:
  EventLoop(std::vector<BatchJob>& jobs, const EngineOptions& o)
      : jobs_(jobs), o_(o), steps_(jobs.size()), flights_(jobs.size()), contacted_(jobs.size()),
        retry_(jobs.size()), ep_(::epoll_create1(EPOLL_CLOEXEC)) {
    for (size_t i = 0; i < jobs.size(); ++i) queue_.push_back(i);  // start() when a slot is free
    started_.assign(jobs.size(), false);
  }

  void run() {
    while (done_ < jobs_.size()) {
      fill_slots();                      // queued requests while there is room
      if (done_ == jobs_.size()) break;
      wait_for_events();                 // answers arriving, sends completing
      wake_sleepers();                   // polls and retries that are due
      if (deadline_passed()) time_out_all();
      report_progress(false);
    }
    report_progress(true);
  }

 private:
  void fill_slots() {
    while (in_flight_ < o_.parallel && !queue_.empty()) {
      size_t i = queue_.front();
      queue_.pop_front();
      if (!started_[i]) {
        started_[i] = true;
        dispatch(i, jobs_[i].start());
      } else {
        launch(i);
      }
    }
  }

  void dispatch(size_t i, BatchStep step) {
    switch (step.kind) {
      case BatchStep::Kind::done: return finish(i);
      case BatchStep::Kind::sleep: return sleepers_.push({step.until, i});
      case BatchStep::Kind::send:
        steps_[i] = std::move(step);
        if (in_flight_ < o_.parallel) return launch(i);
        queue_.push_back(i);
    }
  }

  void launch(size_t i) {
    Flight& f = flights_[i];
    f = Flight{};
    f.sock = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (f.sock.get() < 0) return complete(i, {.status = error(errno, "cannot create a socket")}, false);
    socklen_t len = 0;
    sockaddr_un addr = protocol::address(jobs_[i].target().ns_pid, &len);
    int rc;
    while ((rc = ::connect(f.sock.get(), reinterpret_cast<const sockaddr*>(&addr), len)) != 0 && errno == EINTR) {
    }
    if (rc != 0 && errno == EAGAIN) {  // the backlog is full: try again soon
      f.sock.reset();
      retry_[i] = true;
      return sleepers_.push({Clock::now() + kConnectRetry, i});
    }
    if (rc != 0) return complete(i, {.status = connect_error(jobs_[i].target(), errno)}, false);
    if (Status s = check_peer(jobs_[i].target(), f.sock.get()); !s) return complete(i, {.status = s}, false);
    f.out = steps_[i].line + "\n";
    f.pass_fd = steps_[i].fd;
    ++in_flight_;
    f.send_error = send_some(f);
    if (f.send_error.is_ok() && f.sent == f.out.size()) contacted_[i] = true;
    epoll_event ev{.events = EPOLLIN | (f.sent < f.out.size() ? EPOLLOUT : 0u), .data = {.u64 = i}};
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, f.sock.get(), &ev) != 0)
      return complete(i, {.status = error(errno, "epoll_ctl")}, true);
  }

  void wait_for_events() {
    epoll_event events[64];
    int n = ::epoll_wait(ep_.get(), events, 64, timeout_ms());
    for (int k = 0; k < n; ++k) on_event(static_cast<size_t>(events[k].data.u64), events[k].events);
  }

  int timeout_ms() const {
    auto until = Clock::now() + kProgressEvery;
    if (!sleepers_.empty()) until = std::min(until, sleepers_.top().first);
    if (o_.deadline) until = std::min(until, *o_.deadline);
    auto ms = std::chrono::ceil<milliseconds>(until - Clock::now()).count();
    return static_cast<int>(std::max<long>(ms, 0));
  }

  void on_event(size_t i, uint32_t events) {
    Flight& f = flights_[i];
    if (f.sock.get() < 0) return;
    if ((events & EPOLLOUT) && f.send_error.is_ok() && f.sent < f.out.size()) {
      f.send_error = send_some(f);
      if (f.sent == f.out.size()) {
        contacted_[i] = true;
        epoll_event ev{.events = EPOLLIN, .data = {.u64 = i}};
        ::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, f.sock.get(), &ev);
      }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_answer(i);
  }

  void read_answer(size_t i) {
    Flight& f = flights_[i];
    char buf[kReadChunk];
    while (true) {
      ssize_t n = ::recv(f.sock.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n > 0) {
        f.in.append(buf, static_cast<size_t>(n));
        if (take_lines(f)) return complete(i, std::move(f.reply), true);
        continue;
      }
      // EOF or a reset before the final line.
      Status s = n == 0 ? error(ENODATA, "closed") : error(errno, "cannot read from the control socket");
      if (!f.send_error.is_ok())
        f.reply.status = error(f.send_error.code(),
                               fmt::format("cannot send the request to process {}", jobs_[i].pid()));
      else
        f.reply.status = read_error(jobs_[i].target(), s);
      return complete(i, std::move(f.reply), true);
    }
  }

  void complete(size_t i, BatchReply reply, bool was_in_flight) {
    if (was_in_flight) --in_flight_;
    flights_[i] = Flight{};  // closes the socket, which leaves the epoll set
    dispatch(i, jobs_[i].on_reply(std::move(reply)));
  }

  void wake_sleepers() {
    while (!sleepers_.empty() && sleepers_.top().first <= Clock::now()) {
      size_t i = sleepers_.top().second;
      sleepers_.pop();
      if (jobs_[i].done()) continue;
      if (retry_[i]) {
        retry_[i] = false;
        queue_.push_back(i);
        continue;
      }
      dispatch(i, jobs_[i].on_wake());
    }
  }

  bool deadline_passed() const { return o_.deadline && Clock::now() >= *o_.deadline; }

  void time_out_all() {
    for (size_t i = 0; i < jobs_.size(); ++i) {
      if (jobs_[i].done()) continue;
      flights_[i] = Flight{};
      jobs_[i].time_out(contacted_[i]);
      finish(i);
    }
    queue_.clear();
    in_flight_ = 0;
  }

  void finish(size_t i) {
    ++done_;
    if (jobs_[i].verdict() != Verdict::ok) ++failed_;
  }

  void report_progress(bool last) {
    if (!o_.on_progress || (!last && Clock::now() < next_progress_)) return;
    next_progress_ = Clock::now() + kProgressEvery;
    BatchProgress p{jobs_.size(), done_, failed_, 0};
    for (const auto& j : jobs_) p.in_transition += j.in_transition();
    o_.on_progress(p);
  }

  using Timer = std::pair<Clock::time_point, size_t>;

  std::vector<BatchJob>& jobs_;
  const EngineOptions& o_;
  std::vector<BatchStep> steps_;   // the send step of each job waiting for a slot
  std::vector<Flight> flights_;
  std::vector<bool> contacted_;    // the job's first request went out whole
  std::vector<bool> retry_;        // asleep only because connect() said EAGAIN
  std::vector<bool> started_;
  std::deque<size_t> queue_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> sleepers_;
  UniqueFd ep_;
  size_t in_flight_ = 0, done_ = 0, failed_ = 0;
  Clock::time_point next_progress_;
};

}  // namespace

void run_event_loop(std::vector<BatchJob>& jobs, const EngineOptions& options) {
  EngineOptions o = options;
  o.parallel = descriptor_budget(std::max<size_t>(o.parallel, 1));
  EventLoop(jobs, o).run();
}

size_t descriptor_budget(size_t parallel) {
  constexpr rlim_t kReserve = 32;  // stdio, the module, epoll, what libraries open
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return std::min<size_t>(parallel, 64);
  rlim_t want = parallel + kReserve;
  if (r.rlim_cur < want && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = std::min(want, r.rlim_max);
    (void)::setrlimit(RLIMIT_NOFILE, &r);
    (void)::getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur > kReserve ? std::min<size_t>(parallel, r.rlim_cur - kReserve) : 1;
}

}  // namespace uklp::cli
