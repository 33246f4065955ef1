// log.cc: see log.h.
#include "log.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

#include "uklp/livepatch.h"

namespace uklp::rt {
namespace {

constexpr size_t kMaxBytes = 2u << 20;

struct LogState {
  std::mutex mu;
  std::deque<std::string> lines;
  size_t bytes = 0;
  LogSink sink;
  int file_fd = -2;  // -2: not opened yet; -1: none
  bool to_stderr = false;
  timespec start{};
};

LogState& state() {
  static LogState* s = [] {
    auto* st = new LogState();  // never destroyed: the log outlives static destructors
    // The system call rather than libc's clock_gettime() (the vDSO, same
    // clock): this runs in every process at start-up, and a program that
    // never reads the clock would map a 64 KiB block of libc's code for it
    // (fault-around; docs/design.md, "Resident memory").
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &st->start);
    const char* mode = getenv("UKLP_LOG");
    st->to_stderr = mode && strcmp(mode, "stderr") == 0;
    return st;
  }();
  return *s;
}

std::string timestamp(const timespec& start) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  double t = double(now.tv_sec - start.tv_sec) + double(now.tv_nsec - start.tv_nsec) / 1e9;
  char buf[32];
  snprintf(buf, sizeof buf, "[%12.6f] ", t);
  return buf;
}

void write_fully(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += size_t(n);
  }
}

}  // namespace

void log_line(Level, const std::string& text) {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  std::string line = timestamp(s.start) + text;
  if (s.file_fd == -2) {
    const char* path = getenv("UKLP_LOG_FILE");
    s.file_fd = path && *path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
  }
  if (s.file_fd >= 0) write_fully(s.file_fd, line + "\n");
  if (s.to_stderr) write_fully(2, line + "\n");
  s.bytes += line.size();
  s.lines.push_back(line);
  while (s.bytes > kMaxBytes && !s.lines.empty()) {
    s.bytes -= s.lines.front().size();
    s.lines.pop_front();
  }
  if (s.sink) s.sink(line);
}

void log_vprintf(Level level, const char* fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  size_t n = strlen(buf);
  while (n && buf[n - 1] == '\n') buf[--n] = 0;
  log_line(level, buf);
}

void klp_log(Level level, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_line(level, std::string("livepatch: ") + buf);
}

std::vector<std::string> log_snapshot() {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  return {s.lines.begin(), s.lines.end()};
}

void log_init() { (void)state(); }

void set_log_sink(LogSink sink) {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  s.sink = std::move(sink);
}

void log_atfork_prepare() { state().mu.lock(); }
void log_atfork_parent() { state().mu.unlock(); }
void log_atfork_child() { state().mu.unlock(); }

std::string hex_bytes(const void* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; ++i) {
    snprintf(b, sizeof b, "%s%02x", i ? " " : "", static_cast<const unsigned char*>(p)[i]);
    s += b;
  }
  return s;
}

}  // namespace uklp::rt

// The C ABI behind pr_*() in patch modules.
extern "C" UKLP_EXPORT int uklp_printk(int level, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  uklp::rt::log_vprintf(static_cast<uklp::rt::Level>(level < 0 || level > 7 ? 6 : level), fmt, ap);
  va_end(ap);
  return 0;
}
