// protocol.cc: see protocol.h.
#include "protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace uklp::protocol {

sockaddr_un address(int pid, socklen_t* len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string name = "uklp/" + std::to_string(pid);
  std::memcpy(a.sun_path + 1, name.data(), name.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return a;
}

std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    out.emplace_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return out;
}

Result<std::string> join_fields(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].find_first_of("\t\n") != std::string::npos)
      return error(EINVAL, "argument '" + fields[i] + "' contains a tab or a newline");
    if (i) out += '\t';
    out += fields[i];
  }
  return out;
}

ssize_t send_chunk(int sock, std::string_view data, int fd, int flags) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return sendmsg(sock, &msg, MSG_NOSIGNAL | flags);
}

Status send_all(int sock, std::string_view data, int fd) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send_chunk(sock, data.substr(done), done == 0 ? fd : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return error(errno, "cannot write to the control socket");
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

namespace {

// Keeps the first descriptor of an SCM_RIGHTS message in *fd (when fd is
// non-null and empty) and closes the others: a message may carry several,
// two of which fit in the control buffer of one (CMSG_SPACE rounds it up).
void take_descriptors(msghdr& msg, int* fd) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
      if (fd && *fd < 0) {
        *fd = passed;
      } else {
        ::close(passed);
      }
    }
  }
}

// Waits until `sock` is readable or `deadline` has passed (ETIMEDOUT).
Status wait_readable(int sock, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{sock, POLLIN, 0};
    int ready = left.count() > 0 ? poll(&p, 1, int(left.count())) : 0;
    if (ready > 0) return Status::ok();
    if (ready == 0) return error(ETIMEDOUT, "no complete request on the control socket in time");
    if (errno != EINTR) return error(errno, "cannot wait for the control socket");
  }
}

}  // namespace

Status read_line(int sock, std::string& buffer, std::string& line, int* fd,
                 std::optional<std::chrono::steady_clock::time_point> deadline) {
  while (true) {
    size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      line.assign(buffer, 0, nl);
      buffer.erase(0, nl + 1);
      return Status::ok();
    }
    if (deadline) UKLP_TRY(wait_readable(sock, *deadline));
    char chunk[4096];
    iovec iov{chunk, sizeof chunk};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return error(errno, "cannot read from the control socket");
    }
    take_descriptors(msg, fd);
    if (n == 0) {
      if (!buffer.empty()) return error(EPROTO, "truncated message on the control socket");
      return error(ENODATA, "the control socket was closed");
    }
    if (buffer.size() + static_cast<size_t>(n) > (1u << 20))
      return error(EMSGSIZE, "line too long on the control socket");
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace uklp::protocol
