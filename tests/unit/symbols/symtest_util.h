// symtest_util.h: helpers shared by the symbols tests: temporary
// directories, loaded helper libraries and a map_files probe.
#pragma once

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "symbols.h"

namespace symtest {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "uklp-symbols-XXXXXX").string();
    path_ = mkdtemp(templ.data()) ? templ : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Copies `from` to `to`, creating the parent directories.
inline bool copy_to(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_directories(fs::path(to).parent_path(), ec);
  return fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec) && !ec;
}

// A library loaded with RTLD_LOCAL for the lifetime of the object.
class Library {
 public:
  explicit Library(const std::string& path) : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {}
  ~Library() { close(); }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  bool ok() const { return handle_ != nullptr; }
  void close() {
    if (handle_) dlclose(handle_);
    handle_ = nullptr;
  }
  uintptr_t symbol(const char* name) const {
    return handle_ ? reinterpret_cast<uintptr_t>(dlsym(handle_, name)) : 0;
  }
  // Calls the library's `void* getter(void)`.
  uintptr_t address_from(const char* getter) const {
    auto fn = reinterpret_cast<void* (*)()>(symbol(getter));
    return fn ? reinterpret_cast<uintptr_t>(fn()) : 0;
  }
  // The object that defines `exported` (copies of one library share names).
  uklp::Result<uklp::rt::LoadedObject> object(const char* exported) const {
    return uklp::rt::object_containing(symbol(exported));
  }

 private:
  void* handle_;
};

// A copy of the library `from`, called `name` in a fresh directory, loaded:
// an object of its own, so its table is read anew.
struct LoadedCopy {
  LoadedCopy(const std::string& from, const std::string& name)
      : copied(copy_to(from, dir / name)), lib(dir / name) {}
  bool ok() const { return copied && lib.ok(); }

  TempDir dir;  // first: the members below use it
  bool copied;
  Library lib;
};

// True when this process may open /proc/self/map_files entries (root, or
// CAP_SYS_ADMIN / CAP_CHECKPOINT_RESTORE).
inline bool map_files_readable() {
  std::ifstream maps("/proc/self/maps");
  std::string line, range;
  // The first file mapping (anonymous ones, like ASan's shadow, have none).
  while (std::getline(maps, line) && range.empty())
    if (line.find(" /") != std::string::npos) range = line.substr(0, line.find(' '));
  if (range.empty()) return false;
  // map_files names drop the zero padding of /proc/self/maps.
  size_t dash = range.find('-');
  auto unpad = [](std::string s) { return s.erase(0, std::min(s.find_first_not_of('0'), s.size() - 1)); };
  std::string name = unpad(range.substr(0, dash)) + "-" + unpad(range.substr(dash + 1));
  int fd = ::open(("/proc/self/map_files/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace symtest
