// client.h: talking to the runtime inside a target process over its control
// socket (lib/protocol.h): finding the socket of a PID, sending one request
// and dispatching the answer lines until the final `ok` or `error`.
//
// One request per connection. Closing the connection early (a deadline,
// Ctrl-C) never cancels the request in the target (lib/protocol.h), so a
// timed-out `load` leaves the patch loaded and in transition.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace uklp::cli {

// A process as the caller names it, and as it names its own socket.
struct Target {
  int pid = 0;     // in the caller's PID namespace (what the user typed)
  int ns_pid = 0;  // in the target's own namespace: "@uklp/<ns_pid>"
};

// Checks that PID exists and finds its socket name (proc.h).
Result<Target> find_target(int pid);

// Called for the answer lines before the final one; each may be empty.
struct AnswerHandlers {
  std::function<void(std::string_view)> log;       // "log\t..."
  std::function<void(std::string_view)> progress;  // "progress\t..."
  std::function<void(std::string_view)> data;      // "data\t..."
  bool* answered = nullptr;  // set to true once the final line (ok or error) is read
};

using Deadline = std::chrono::steady_clock::time_point;

// now + `seconds`; no deadline when `seconds` <= 0.
std::optional<Deadline> deadline_after(double seconds);

struct RequestOptions {
  int fd = -1;                      // passed with SCM_RIGHTS (load)
  // When the request was sent but no final line came by then: ETIMEDOUT.
  // (A connection not accepted by then, a stopped process: EAGAIN.)
  std::optional<Deadline> deadline;
};

// Sends `fields` as one request and reads the answer. The target's `error`
// line becomes the returned Status (its errno and message); transport
// failures get a message that names the process.
Status request(const Target& target, const std::vector<std::string>& fields,
               const AnswerHandlers& handlers, const RequestOptions& options = {});

// The control socket `sock` is connected to must belong to `t` itself
// (SO_PEERCRED: the process that listens on it): an abstract socket name
// can be taken by any local process, and one squatting @uklp/<pid> must not
// receive a patch module nor answer in the target's name. EPERM otherwise.
Status check_peer(const Target& t, int sock);

// The error of a failed connect(2) to `t`'s control socket, with the
// message users see ("does not run the uklp runtime", ...).
Status connect_error(const Target& t, int err);
// The error of a failed read of `t`'s answer: ETIMEDOUT for a deadline,
// EPROTO for a connection closed before the final line.
Status read_error(const Target& t, const Status& s);

// The payload of an "error" line, "ERRNO\tMESSAGE", as a Status. A
// malformed line is EPROTO.
Status parse_error_payload(std::string_view payload);
// Text from a target (its log, messages, data), made safe to print on the
// operator's terminal: control characters but TAB, DEL, C1 controls (U+0080
// to U+009F, CSI among them) and bytes that are not valid UTF-8 become
// \xNN, so a target cannot send escape sequences to the terminal.
std::string printable(std::string_view text);

// Splits an answer line into its kind and payload (after the first TAB).
std::pair<std::string_view, std::string_view> split_answer(std::string_view line);

}  // namespace uklp::cli
