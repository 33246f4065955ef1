// batch_thread_pool.cc: the thread-pool engine of batch_engine.h.
//
// `parallel` threads take the next job in pid order and run it to its end
// with the blocking client (client.h): request, sleep until the next poll,
// request... The calling thread only reports progress. A job's sleeps end
// at the deadline, where it times out like in the event loop.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "batch_engine.h"
#include "protocol.h"

namespace uklp::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kProgressEvery{50};

BatchReply blocking_request(const BatchJob& job, const BatchStep& step, const std::optional<Deadline>& deadline) {
  BatchReply r;
  AnswerHandlers h;
  h.log = [&](std::string_view l) { r.log.emplace_back(l); };
  h.data = [&](std::string_view l) { r.data.emplace_back(l); };
  h.answered = &r.answered;
  r.status = request(job.target(), protocol::split_fields(step.line), h, {.fd = step.fd, .deadline = deadline});
  return r;
}

class ThreadPool {
 public:
  ThreadPool(std::vector<BatchJob>& jobs, const EngineOptions& o) : jobs_(jobs), o_(o) {}

  void run() {
    std::vector<std::jthread> threads;
    for (size_t k = 0; k < std::min(o_.parallel, jobs_.size()); ++k) threads.emplace_back([this] { work(); });
    std::unique_lock lock(mutex_);
    while (done_ < jobs_.size()) {
      idle_.wait_for(lock, kProgressEvery);
      report_progress(lock);
    }
    report_progress(lock);
  }

 private:
  void work() {
    for (size_t i; (i = next_.fetch_add(1)) < jobs_.size();) {
      run_job(jobs_[i]);
      std::lock_guard lock(mutex_);
      ++done_;
      failed_ += jobs_[i].verdict() != Verdict::ok;
      idle_.notify_one();
    }
  }

  void run_job(BatchJob& job) {
    bool contacted = false;
    if (o_.deadline && Clock::now() >= *o_.deadline) return job.time_out(false);
    BatchStep step = job.start();
    while (!job.done()) {
      if (step.kind == BatchStep::Kind::send) {
        BatchReply r = blocking_request(job, step, o_.deadline);
        contacted = contacted || r.answered;
        step = job.on_reply(std::move(r));
        continue;
      }
      if (o_.deadline && step.until >= *o_.deadline) {
        std::this_thread::sleep_until(*o_.deadline);
        job.time_out(contacted);
        return;
      }
      std::this_thread::sleep_until(step.until);
      step = job.on_wake();
    }
  }

  void report_progress(std::unique_lock<std::mutex>&) {
    if (!o_.on_progress) return;
    BatchProgress p{jobs_.size(), done_, failed_, 0};
    o_.on_progress(p);  // in_transition: jobs_ belong to the workers here
  }

  std::vector<BatchJob>& jobs_;
  const EngineOptions& o_;
  std::atomic<size_t> next_{0};
  std::mutex mutex_;
  std::condition_variable idle_;
  size_t done_ = 0, failed_ = 0;
};

}  // namespace

void run_thread_pool(std::vector<BatchJob>& jobs, const EngineOptions& options) {
  EngineOptions o = options;
  o.parallel = std::max<size_t>(o.parallel, 1);
  ThreadPool(jobs, o).run();
}

}  // namespace uklp::cli
