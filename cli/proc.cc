// proc.cc: see proc.h.
#include "proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>
#include <sstream>

namespace uklp::cli {
namespace {

// Plain read(2): a batch command reads small /proc files of every
// process it considers, and an ifstream costs several times more.
bool read_text(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  int err = errno;
  ::close(fd);
  errno = err;
  return n == 0;
}

constexpr std::string_view kDeleted = " (deleted)";

std::string without_deleted(std::string path) {
  if (path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
  return path;
}

bool parse_int(std::string_view s, long& value, int base = 10) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string readlink_str(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// One /proc/net/unix line: "Num RefCount Protocol Flags Type St Inode [Path]".
bool parse_unix_line(std::string_view line, ControlSocket& out) {
  constexpr long kAcceptCon = 0x10000;  // __SO_ACCEPTCON: a listening socket
  constexpr long kStream = 1;           // SOCK_STREAM
  constexpr std::string_view kPrefix = "@uklp/";
  auto f = split_ws(line);
  long flags = 0, type = 0, inode = 0, pid = 0;
  if (f.size() < 8 || !f[7].starts_with(kPrefix)) return false;
  if (!parse_int(f[3], flags, 16) || !parse_int(f[4], type, 16) || !parse_int(f[6], inode)) return false;
  if (!(flags & kAcceptCon) || type != kStream) return false;
  if (!parse_int(f[7].substr(kPrefix.size()), pid) || pid <= 0 || pid > INT32_MAX) return false;
  out = {static_cast<int>(pid), static_cast<unsigned long>(inode)};
  return true;
}

// Adds the socket inodes in /proc/PID/fd to `owners`.
void scan_fds(int pid, std::map<unsigned long, int>& owners) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string target = readlink_str(dir + "/" + e->d_name);
    long inode = 0;
    if (target.starts_with("socket:[") && target.ends_with("]") &&
        parse_int(std::string_view(target).substr(8, target.size() - 9), inode))
      owners.emplace(static_cast<unsigned long>(inode), pid);
  }
  closedir(d);
}

}  // namespace

Status check_process(int pid) {
  struct stat st {};
  if (::stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0)
    return error(ESRCH, "no such process " + std::to_string(pid));
  return Status::ok();
}

int parse_nspid(std::string_view status_text, int fallback) {
  std::istringstream in{std::string(status_text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("NSpid:")) continue;
    auto f = split_ws(std::string_view(line).substr(6));
    long pid = 0;
    if (!f.empty() && parse_int(f.back(), pid) && pid > 0 && pid <= INT32_MAX) return static_cast<int>(pid);
  }
  return fallback;
}

std::string status_field(std::string_view status_text, std::string_view key) {
  std::string head = std::string(key) + ":";
  size_t at = status_text.starts_with(head) ? 0 : status_text.find("\n" + head);
  if (at == std::string_view::npos) return {};
  std::string_view rest = status_text.substr(at + (at ? 1 : 0) + head.size());
  rest = rest.substr(0, rest.find('\n'));
  size_t start = rest.find_first_not_of(" \t");
  return start == std::string_view::npos ? std::string() : std::string(rest.substr(start));
}

Result<ProcessStatus> read_process_status(int pid) {
  std::string text;
  if (!read_text("/proc/" + std::to_string(pid) + "/status", text)) {
    if (errno == ENOENT || errno == ESRCH) return error(ESRCH, "no such process " + std::to_string(pid));
    return error(errno ? errno : ESRCH, "cannot read /proc/" + std::to_string(pid) + "/status");
  }
  return ProcessStatus{parse_nspid(text, pid), status_field(text, "Name"), status_field(text, "State")};
}

Result<int> ns_pid_of(int pid) {
  UKLP_ASSIGN_OR_RETURN(ProcessStatus st, read_process_status(pid));
  return st.ns_pid;
}

std::string comm_of(int pid) {
  std::string text;
  if (!read_text("/proc/" + std::to_string(pid) + "/comm", text)) return "?";
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string state_of(int pid) {
  std::string text;
  if (!read_text("/proc/" + std::to_string(pid) + "/status", text)) return {};
  return status_field(text, "State");
}

bool is_stopped_state(std::string_view state) { return state.starts_with("T") || state.starts_with("t"); }

bool in_our_net_namespace(int pid) {
  std::string ours = readlink_str("/proc/self/ns/net");
  std::string theirs = readlink_str("/proc/" + std::to_string(pid) + "/ns/net");
  return ours.empty() || theirs.empty() || ours == theirs;
}

std::vector<ControlSocket> parse_control_sockets(std::string_view text) {
  std::vector<ControlSocket> out;
  std::set<int> seen;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    ControlSocket s;
    if (parse_unix_line(line, s) && seen.insert(s.ns_pid).second) out.push_back(s);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

Result<std::vector<ControlSocket>> list_control_sockets() {
  std::string text;
  if (!read_text("/proc/net/unix", text)) return error(errno ? errno : ENOENT, "cannot read /proc/net/unix");
  return parse_control_sockets(text);
}

std::vector<int> list_pids() {
  std::vector<int> pids;
  DIR* d = opendir("/proc");
  if (!d) return pids;
  while (dirent* e = readdir(d)) {
    long pid = 0;
    if (parse_int(e->d_name, pid) && pid > 0 && pid <= INT32_MAX) pids.push_back(static_cast<int>(pid));
  }
  closedir(d);
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::string exe_of(int pid) { return without_deleted(readlink_str("/proc/" + std::to_string(pid) + "/exe")); }

std::vector<std::string> parse_mapped_files(std::string_view maps_text) {
  // "start-end perms offset dev inode   PATH": the path is what follows the
  // sixth field's blanks; it may itself hold blanks.
  std::vector<std::string> files;
  std::set<std::string_view> seen;
  size_t start = 0;
  while (start < maps_text.size()) {
    size_t nl = maps_text.find('\n', start);
    std::string_view line = maps_text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    start = nl == std::string_view::npos ? maps_text.size() : nl + 1;
    size_t slash = line.find('/');
    if (slash == std::string_view::npos || split_ws(line.substr(0, slash)).size() != 5) continue;
    std::string_view path = line.substr(slash);
    if (seen.insert(path).second) files.push_back(without_deleted(std::string(path)));
  }
  return files;
}

std::vector<std::string> mapped_files(int pid) {
  std::string text;
  if (!read_text("/proc/" + std::to_string(pid) + "/maps", text)) return {};
  return parse_mapped_files(text);
}

bool owns_socket(int pid, unsigned long inode) {
  std::map<unsigned long, int> owners;
  scan_fds(pid, owners);
  return owners.count(inode) != 0;
}

std::map<unsigned long, int> socket_owners() {
  std::map<unsigned long, int> owners;
  DIR* d = opendir("/proc");
  if (!d) return owners;
  while (dirent* e = readdir(d)) {
    long pid = 0;
    if (parse_int(e->d_name, pid) && pid > 0 && pid <= INT32_MAX) scan_fds(static_cast<int>(pid), owners);
  }
  closedir(d);
  return owners;
}

}  // namespace uklp::cli
