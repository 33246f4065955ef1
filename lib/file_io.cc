// file_io.cc: see file_io.h.
#include "file_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace uklp {

Status write_all(int fd, std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return error(n < 0 ? errno : EIO, "write failed");
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Status write_file_atomically(const std::string& path, std::span<const uint8_t> bytes, mode_t mode) {
  std::string tmp = path + ".XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) return error(errno, "cannot create a temporary file next to '" + path + "'");
  Status st = write_all(fd, bytes);
  if (st.is_ok() && fchmod(fd, mode) != 0) st = error(errno, "fchmod failed");
  if (st.is_ok() && fsync(fd) != 0) st = error(errno, "fsync failed");
  if (::close(fd) != 0 && st.is_ok()) st = error(errno, "close failed");
  if (st.is_ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = error(errno, "rename failed");
  if (st.is_ok()) return st;
  ::unlink(tmp.c_str());
  return error(st.code(), "cannot write '" + path + "': " + st.message());
}

}  // namespace uklp
