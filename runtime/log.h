// log.h: the runtime log, the process's dmesg.
//
// Lines are kept in a bounded in-memory ring (the oldest lines are dropped
// past 2 MiB), read with `uklp dmesg PID`, optionally mirrored to the file
// named by UKLP_LOG_FILE and to stderr when UKLP_LOG=stderr. Each line reads
// like the kernel's: "[   12.345678] livepatch: enabling patch 'x'", the
// timestamp in seconds since the runtime started. Lines logged while the
// control thread serves a request are also streamed to that request's
// client (see control.cc).
//
// Constraints: takes a mutex and allocates; never call it from a signal
// handler or while another thread is stopped.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace uklp::rt {

enum class Level { emerg = 0, alert, crit, err, warning, notice, info, debug };

void log_line(Level level, const std::string& text);
// printf-style; the "livepatch: " prefix is added by klp_log.
void klp_log(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vprintf(Level level, const char* fmt, va_list ap);
std::vector<std::string> log_snapshot();
// Memory as "c3 66 2e 0f ..." (n bytes at p), for messages.
std::string hex_bytes(const void* p, size_t n);
// Starts the log's clock (timestamps count from here); called at start-up.
void log_init();

// fork(): the log's lock is taken around it, so the child never inherits
// it held by a thread that does not exist there.
void log_atfork_prepare();
void log_atfork_parent();
void log_atfork_child();

// While a sink is installed, every new line is also passed to it.
using LogSink = std::function<void(const std::string&)>;
void set_log_sink(LogSink sink);

}  // namespace uklp::rt
