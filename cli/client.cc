// client.cc: see client.h.
#include "client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include <fmt/core.h>

#include "proc.h"
#include "protocol.h"
#include "unique_fd.h"

namespace uklp::cli {
namespace {

Status connect_to(const Target& t, int sock) {
  socklen_t len = 0;
  sockaddr_un addr = protocol::address(t.ns_pid, &len);
  while (::connect(sock, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    if (errno != EINTR) return connect_error(t, errno);
  }
  return check_peer(t, sock);
}

// Bounds the next blocking call by the time left until `deadline`: reads
// by SO_RCVTIMEO; connect (a full backlog: a stopped process) and writes by
// SO_SNDTIMEO. Both then fail with EAGAIN.
Status arm_deadline(int sock, const std::optional<Deadline>& deadline) {
  if (!deadline) return Status::ok();
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(*deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return error(ETIMEDOUT, "no answer before the deadline");
  timeval tv{static_cast<time_t>(left.count() / 1000000), static_cast<suseconds_t>(left.count() % 1000000)};
  if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
    return error(errno, "cannot set a timeout on the control socket");
  return Status::ok();
}

void call(const std::function<void(std::string_view)>& fn, std::string_view payload) {
  if (fn) fn(payload);
}

// Reads answer lines until the final `ok` or `error`.
Status read_answer(const Target& t, int sock, const AnswerHandlers& h, const std::optional<Deadline>& deadline) {
  std::string buffer, line;
  while (true) {
    if (buffer.find('\n') == std::string::npos) UKLP_TRY(arm_deadline(sock, deadline));
    if (Status s = protocol::read_line(sock, buffer, line); !s) return read_error(t, s);
    auto [kind, raw] = split_answer(line);
    std::string payload = printable(raw);
    if ((kind == "ok" || kind == "error") && h.answered) *h.answered = true;
    if (kind == "ok") return Status::ok();
    if (kind == "error") return parse_error_payload(payload);
    if (kind == "log") call(h.log, payload);
    else if (kind == "progress") call(h.progress, payload);
    else if (kind == "data") call(h.data, payload);
    // Other kinds: newer runtimes may add some (lib/protocol.h); ignored.
  }
}

}  // namespace

Status check_peer(const Target& t, int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return error(errno, fmt::format("cannot tell who holds the control socket of process {}", t.pid));
  if (cred.pid == t.pid) return Status::ok();
  return error(EPERM, fmt::format("the control socket @uklp/{} is held by process {} (uid {}), not by process {}: "
                                  "refusing to talk to it",
                                  t.ns_pid, cred.pid, cred.uid, t.pid));
}

Status connect_error(const Target& t, int err) {
  // Not ETIMEDOUT, which means "sent, but no final answer in time".
  if (err == EAGAIN || err == EINPROGRESS)
    return error(EAGAIN, fmt::format("process {} did not accept the connection in time (is it stopped?)", t.pid));
  if (err == ECONNREFUSED || err == ENOENT) {
    std::string msg = fmt::format(
        "process {} does not run the uklp runtime (no control socket @uklp/{}); start it with "
        "'uklp run' or LD_PRELOAD=libuklp.so",
        t.pid, t.ns_pid);
    if (!in_our_net_namespace(t.pid))
      msg += fmt::format(", or run uklp in its network namespace (nsenter --net --target {})", t.pid);
    return error(err, msg);
  }
  return error(err, fmt::format("cannot connect to process {} (control socket @uklp/{})", t.pid, t.ns_pid));
}

Status read_error(const Target& t, const Status& s) {
  if (s.code() == EAGAIN || s.code() == EWOULDBLOCK || s.code() == ETIMEDOUT)
    return error(ETIMEDOUT, fmt::format("no answer from process {} before the deadline", t.pid));
  if (s.code() == ENODATA || s.code() == ECONNRESET || s.code() == EPROTO)
    return error(EPROTO, fmt::format("process {} closed the control connection without an answer "
                                     "(did it exit?)", t.pid));
  return error(s.code(), fmt::format("process {}: {}", t.pid, s.message()));
}

std::optional<Deadline> deadline_after(double seconds) {
  if (seconds <= 0) return std::nullopt;
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

Result<Target> find_target(int pid) {
  UKLP_ASSIGN_OR_RETURN(int ns_pid, ns_pid_of(pid));
  return Target{pid, ns_pid};
}

namespace {

// The code point of the UTF-8 sequence at `p` (`n` bytes left) and its
// length; length 0 if it is not a valid, shortest-form sequence.
std::pair<uint32_t, size_t> decode_utf8(const unsigned char* p, size_t n) {
  unsigned char c = p[0];
  size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
  if (len == 0 || len > n) return {0, 0};
  uint32_t cp = len == 1 ? c : c & (0x7f >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xc0) != 0x80) return {0, 0};
    cp = cp << 6 | (p[k] & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {0, 0};
  return {cp, len};
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    auto [cp, len] = decode_utf8(p + i, text.size() - i);
    bool control = (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f);
    if (len == 0 || control) {
      out += fmt::format("\\x{:02x}", p[i]);
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::pair<std::string_view, std::string_view> split_answer(std::string_view line) {
  size_t tab = line.find('\t');
  if (tab == std::string_view::npos) return {line, {}};
  return {line.substr(0, tab), line.substr(tab + 1)};
}

Status parse_error_payload(std::string_view payload) {
  auto [code_text, message] = split_answer(payload);
  int code = 0;
  auto [end, ec] = std::from_chars(code_text.data(), code_text.data() + code_text.size(), code);
  if (ec != std::errc() || end != code_text.data() + code_text.size() || code <= 0)
    return error(EPROTO, "malformed error answer from the runtime: '" + std::string(payload) + "'");
  if (message.empty()) message = "the runtime refused the request";
  return error(code, std::string(message));
}

Status request(const Target& target, const std::vector<std::string>& fields,
               const AnswerHandlers& handlers, const RequestOptions& options) {
  UKLP_ASSIGN_OR_RETURN(std::string line, protocol::join_fields(fields));
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return error(errno, "cannot create a socket");
  UKLP_TRY(arm_deadline(sock.get(), options.deadline));
  UKLP_TRY(connect_to(target, sock.get()));
  if (Status s = protocol::send_all(sock.get(), line + "\n", options.fd); !s) {
    // The runtime may have answered (EACCES) and closed before reading it all.
    Status answer = read_answer(target, sock.get(), handlers, options.deadline);
    if (!answer.is_ok() && answer.code() != EPROTO) return answer;
    return error(s.code(), fmt::format("cannot send the request to process {}", target.pid));
  }
  return read_answer(target, sock.get(), handlers, options.deadline);
}

}  // namespace uklp::cli
