// protocol.h: the control protocol between the `uklp` CLI and the runtime.
//
// Transport: a Unix stream socket in the abstract namespace, named
// "\0uklp/<pid>" with <pid> as the target sees itself (its own PID
// namespace). The runtime accepts a peer only if its SO_PEERCRED uid is the
// process's own uid or root (EACCES otherwise, and a log line); the CLI
// talks only to a socket whose listening end (SO_PEERCRED) is the target
// process (docs/security.md).
//
// One request per connection. The request is one line of fields separated
// by TAB and ended by '\n'; the first field is the command. `load` passes
// the patch module's descriptor with SCM_RIGHTS on the request's first
// byte. Fields may not contain TAB or '\n' (the CLI refuses such values).
//
// The response is a sequence of lines, each "kind\tpayload":
//   log\t<line>        a runtime log line produced while serving the request
//   progress\t<text>   progress of a transition in flight
//   data\t<text>       the command's output, one line each
//   ok                 success; the last line
//   error\t<errno>\t<message>  failure (positive errno); the last line
//
// The client may close the connection at any time (a --timeout, Ctrl-C).
// That never cancels, reverses or rolls back the request: the runtime
// finishes it and discards the rest of the answer (write with MSG_NOSIGNAL).
// Unknown response kinds are ignored by the CLI, so new kinds can be added.
//
// Commands (fields after the command name; the CLI in cli/ sends exactly
// these, see docs/cli.md):
//   load     NAME FILE FLAGS [KEY=VALUE...]
//            NAME: the patch name the CLI derived from the file name like the
//            kernel derives a module name ("livepatch-sample.so" ->
//            "livepatch_sample"). FILE: the absolute path, only shown in
//            messages; the module is the descriptor passed with SCM_RIGHTS
//            (opened O_RDONLY|O_CLOEXEC). FLAGS: "wait" answers `ok` once the
//            transition has finished, "nowait" once it has started (send
//            progress lines while waiting). KEY=VALUE: module parameters.
//            On success one data line `patch=active` (module_init enabled
//            a patch: its transition has started) or `patch=none` (the
//            module loaded without enabling one: there is nothing to wait for),
//            then `transition=complete` if the request's first attempt
//            completed the transition (the patch is enabled, not in transition).
//   disable  NAME [FLAGS]              the kernel's `echo 0 > enabled`; FLAGS
//                                      as for load, absent means "wait"
//                                      (the CLI always sends it); answered with
//                                      `transition=complete` if the first attempt
//                                      completed the unpatching
//   unload   NAME                      the kernel's rmmod
//   list                               data lines of TAB-separated key=value
//                                      fields, keyed by their first field:
//     patch=NAME  enabled=0|1  transition=0|1  replace=0|1  stack_order=N  forced=0|1  file=PATH
//     object=OBJ  patch=NAME  patched=0|1          (OBJ "main" for the program)
//     func=OLD_NAME,SYMPOS  object=OBJ  patch=NAME  old=0xADDR  new=0xADDR
//            any order (the CLI groups by the patch= and object= fields);
//            extra keys and other first keys are allowed and shown as-is
//   sys      PATH [VALUE]              read (one data line: the value, without
//                                      the sysfs "\n") or write one attribute;
//                                      PATH as under /sys: "livepatch/P/enabled",
//                                      "module/P/parameters/X", "task/TID/patch_state"
//   tree                               data: every attribute path "PATH=VALUE"
//   dmesg                              data: the runtime log, one line each
//   info                               data: "key=value" lines about the runtime
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace uklp::protocol {

// The abstract socket address of process `pid` (sun_path[0] == '\0').
sockaddr_un address(int pid, socklen_t* len);

// Splits a line at TABs.
std::vector<std::string> split_fields(std::string_view line);
// Joins fields with TABs; fails (EINVAL) if a field holds TAB or newline.
Result<std::string> join_fields(const std::vector<std::string>& fields);

// Writes all of `data`; when fd >= 0 it travels with the first byte (SCM_RIGHTS).
Status send_all(int sock, std::string_view data, int fd = -1);
// One sendmsg(2) of `data` (MSG_NOSIGNAL | `flags`), with `fd` attached
// when fd >= 0: a part of send_all for callers with non-blocking sockets.
// Returns what sendmsg returned (errno set on -1).
ssize_t send_chunk(int sock, std::string_view data, int fd, int flags = 0);
// Reads one '\n'-terminated line (without the '\n') into `line`, using
// `buffer` to keep bytes read past it. Returns ENODATA at a clean EOF,
// EPROTO at an EOF mid-line, EMSGSIZE past 1 MiB without a newline, and
// ETIMEDOUT when `deadline` (if any) passes first: a bound on the whole
// line, where SO_RCVTIMEO bounds each read (a peer sending a byte at a time
// never meets it). When `fd` is non-null, the first descriptor passed with
// SCM_RIGHTS is stored there; every other descriptor received is closed.
Status read_line(int sock, std::string& buffer, std::string& line, int* fd = nullptr,
                 std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

}  // namespace uklp::protocol
