// batch_engine.h: running many BatchJobs (batch_job.h) at once.
//
// Two engines, measured against each other by benchmarks/many.py
// (docs/design.md, "Patching many processes"):
//
//   event loop  one thread, non-blocking sockets and epoll: up to
//               `parallel` requests in flight, every other job queued or
//               asleep until its next `status` poll (a timer heap). The
//               default: it needs no thread per process and costs the
//               fewest context switches on a 2-CPU machine that the
//               targets themselves keep busy.
//   threads     `parallel` threads, each running one job at a time with
//               the blocking client (client.h). Kept for the comparison
//               (`--engine threads`, not documented for users).
//
// The module's descriptor is the same for every job (opened and checked
// once); each request passes it again with SCM_RIGHTS. Progress is
// reported to `on_progress` at most every 50 ms and once at the end, from
// the calling thread.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "batch_job.h"
#include "client.h"

namespace uklp::cli {

struct BatchProgress {
  size_t total = 0, done = 0, failed = 0, in_transition = 0;
};

struct EngineOptions {
  size_t parallel = 64;              // requests (event loop) or threads in flight
  std::optional<Deadline> deadline;  // every job not done by then times out
  std::function<void(const BatchProgress&)> on_progress;
};

void run_event_loop(std::vector<BatchJob>& jobs, const EngineOptions& options);
void run_thread_pool(std::vector<BatchJob>& jobs, const EngineOptions& options);

// Raises the soft limit of open descriptors towards the hard one, so that
// `parallel` sockets fit; returns how many requests may be in flight.
size_t descriptor_budget(size_t parallel);

}  // namespace uklp::cli
