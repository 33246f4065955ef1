// fuzz_protocol.cc: the control protocol's framing and fields
// (lib/protocol.h) on arbitrary bytes, through a real socket pair: what
// the runtime's control thread reads from a client (runtime/control.cc,
// serve) and the CLI reads from a runtime (cli/client.cc, read_answer).
//
// Input: one flags byte, then the byte stream. The stream is sent in
// chunks whose sizes come from the stream's own bytes, with a descriptor
// attached (SCM_RIGHTS) to the first chunk and, if asked, to later ones,
// which read_line must close. Checked: the lines read, each with its '\n',
// are exactly the stream's complete lines; the end is ENODATA after a
// complete line and EPROTO after a partial one; no descriptor leaks;
// join_fields(split_fields(line)) == line.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol.h"
#include "fuzz_check.h"

namespace {

namespace protocol = uklp::protocol;

// The socket pair's buffer holds all of it: the stream is written before
// it is read, by this one thread.
constexpr size_t kMaxStream = 64 * 1024;

// The lowest free descriptor number: the same before and after an input
// unless one leaked.
int lowest_free_fd() {
  int fd = dup(0);
  close(fd);
  return fd;
}

void send_stream(int sock, std::string_view stream, uint8_t flags) {
  int passed = open("/dev/null", O_RDONLY | O_CLOEXEC);
  size_t done = 0;
  for (size_t k = 0; done < stream.size(); ++k) {
    // At most about 64 chunks: each one costs the buffer far more than its bytes.
    size_t chunk = static_cast<uint8_t>(stream[k % stream.size()]) % 97 + 1 + stream.size() / 64;
    bool attach = done == 0 || ((flags & 2) && k % 3 == 1);
    ssize_t n = protocol::send_chunk(sock, stream.substr(done, chunk), attach ? passed : -1);
    FUZZ_CHECK(n > 0);
    done += static_cast<size_t>(n);
  }
  close(passed);
  shutdown(sock, SHUT_WR);
}

void check_fields(const std::string& line) {
  auto fields = protocol::split_fields(line);
  FUZZ_CHECK(!fields.empty());
  auto joined = protocol::join_fields(fields);
  FUZZ_CHECK(joined && *joined == line);
}

void read_stream(int sock, std::string_view stream, bool want_fd) {
  std::string buffer, line;
  int fd = -1;
  size_t consumed = 0;
  while (true) {
    uklp::Status s = protocol::read_line(sock, buffer, line, want_fd ? &fd : nullptr);
    if (!s) {
      bool partial = consumed < stream.size();
      FUZZ_CHECK(s.code() == (partial ? EPROTO : ENODATA));
      break;
    }
    FUZZ_CHECK(stream.substr(consumed, line.size() + 1) == line + "\n");
    consumed += line.size() + 1;
    check_fields(line);
  }
  FUZZ_CHECK(!want_fd || stream.empty() || fd >= 0);
  if (fd >= 0) close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size - 1 > kMaxStream) return 0;
  uint8_t flags = data[0];
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  int before = lowest_free_fd();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  int buf = 4 * kMaxStream;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  send_stream(sv[0], stream, flags);
  read_stream(sv[1], stream, flags & 1);
  close(sv[0]);
  close(sv[1]);
  FUZZ_CHECK(lowest_free_fd() == before);
  return 0;
}
