// proc.h: what `uklp` reads from /proc about target processes.
//
// PID namespaces: the control socket is named after the pid the target sees
// itself as (lib/protocol.h), which differs from the caller's view when the
// target runs in a child PID namespace (a container). The last value of the
// NSpid line of /proc/PID/status is that innermost pid.
//
// Abstract Unix sockets belong to a network namespace: the CLI can reach a
// target's socket only from the target's network namespace.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace uklp::cli {

// ESRCH "no such process PID" unless /proc/PID exists.
Status check_process(int pid);

// What /proc/PID/status says of a process, read once.
struct ProcessStatus {
  int ns_pid = 0;     // the innermost NSpid (see above)
  std::string name;   // the Name: value, its comm
  std::string state;  // the State: value, e.g. "S (sleeping)"
};
Result<ProcessStatus> read_process_status(int pid);
// The value of field `key` ("State", "Name") of a /proc/PID/status text;
// "" without one.
std::string status_field(std::string_view status_text, std::string_view key);
// The innermost pid from a /proc/PID/status text; `fallback` without NSpid.
int parse_nspid(std::string_view status_text, int fallback);
// The pid PID sees itself as (see above).
Result<int> ns_pid_of(int pid);
// /proc/PID/comm without its newline; "?" when unreadable.
std::string comm_of(int pid);
// The State: value of /proc/PID/status, e.g. "S (sleeping)", "t (tracing
// stop)"; "" when unreadable.
std::string state_of(int pid);
// True for "T (stopped)" and "t (tracing stop)": such a process accepts
// connections but cannot answer until it continues.
bool is_stopped_state(std::string_view state);
// False only when both namespaces are readable and differ.
bool in_our_net_namespace(int pid);

// A listening control socket "@uklp/N" found in /proc/net/unix.
struct ControlSocket {
  int ns_pid = 0;           // N: the name's pid, as the target sees itself
  unsigned long inode = 0;  // the socket's inode, to find its process
  bool operator==(const ControlSocket&) const = default;
};
// Parses /proc/net/unix text: listening stream sockets named @uklp/<digits>,
// one per pid.
std::vector<ControlSocket> parse_control_sockets(std::string_view proc_net_unix);
Result<std::vector<ControlSocket>> list_control_sockets();
// Every pid in /proc (processes, not threads), in ascending order.
std::vector<int> list_pids();
// The target of /proc/PID/exe without a " (deleted)" suffix; "" when it
// cannot be read (a kernel thread, a zombie, another user's process).
std::string exe_of(int pid);
// The files /proc/PID/maps lists (each once, " (deleted)" removed); empty
// when it cannot be read.
std::vector<std::string> mapped_files(int pid);
// The path column of a /proc/PID/maps text, as above.
std::vector<std::string> parse_mapped_files(std::string_view maps_text);

// True when /proc/PID/fd holds socket `inode` (false if unreadable).
bool owns_socket(int pid, unsigned long inode);
// Socket inode -> pid, from the /proc/*/fd links we may read (our own
// processes, or all as root: the runtime only serves those anyway).
std::map<unsigned long, int> socket_owners();

}  // namespace uklp::cli
