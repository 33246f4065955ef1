// protocol.h: the control protocol between the `uklp` CLI and the runtime.
//
// Transport: a Unix stream socket in the abstract namespace, named
// "\0uklp/<pid>" with <pid> as the target sees itself (its own PID
// namespace). The runtime accepts a peer only if its SO_PEERCRED uid is the
// process's own uid or root (EACCES otherwise).
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
// Commands (fields after the command name):
//   load     NAME FILE [KEY=VALUE...]   FILE is the path shown in messages
//   disable  NAME
//   unload   NAME
//   list                                 data: one "key=value ..." line per patch
//   sys      PATH [VALUE]                read (data: value) or write one attribute
//   tree                                 data: every attribute path "PATH=VALUE"
//   dmesg                                data: the runtime log
//   info                                 data: "key=value" lines about the runtime
#pragma once

#include <sys/un.h>

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
// Reads one '\n'-terminated line (without the '\n') into `line`, using
// `buffer` to keep bytes read past it. Returns ENODATA at a clean EOF.
// When `fd` is non-null, a descriptor passed with SCM_RIGHTS is stored there.
Status read_line(int sock, std::string& buffer, std::string& line, int* fd = nullptr);

}  // namespace uklp::protocol
