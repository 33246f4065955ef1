// runtime_path.cc: see runtime_path.h.
#include "runtime_path.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#ifndef UKLP_INSTALL_LIBDIR
#define UKLP_INSTALL_LIBDIR "/usr/local/lib"
#endif

namespace uklp::cli {
namespace {

bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// <dir of /proc/self/exe>/../lib/libuklp.so, or "" when /proc/self/exe is unreadable.
std::string next_to_executable() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return (exe.parent_path().parent_path() / "lib" / kRuntimeFileName).lexically_normal().string();
}

}  // namespace

std::string absolute_path(std::string_view path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(std::filesystem::path(path), ec);
  return ec ? std::string(path) : abs.lexically_normal().string();
}

Result<std::string> find_runtime() {
  if (const char* env = std::getenv("UKLP_RUNTIME"); env && *env) {
    if (!is_file(env)) return error(ENOENT, "runtime '" + std::string(env) + "' (from UKLP_RUNTIME) not found");
    return absolute_path(env);
  }
  std::string beside = next_to_executable();
  if (!beside.empty() && is_file(beside)) return beside;
  std::string installed = std::string(UKLP_INSTALL_LIBDIR) + "/" + std::string(kRuntimeFileName);
  if (is_file(installed)) return installed;
  return error(ENOENT, "cannot find the runtime " + std::string(kRuntimeFileName) + " (tried " +
                           (beside.empty() ? "" : beside + " and ") + installed +
                           "); set UKLP_RUNTIME to its path");
}

std::string prepend_preload(std::string_view runtime, const std::optional<std::string_view>& existing) {
  std::string out(runtime);
  if (!existing) return out;
  std::string_view rest = *existing;
  while (!rest.empty()) {
    size_t sep = rest.find_first_of(": ");
    std::string_view entry = rest.substr(0, sep);
    if (!entry.empty() && entry != runtime) {
      out += ':';
      out += entry;
    }
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + 1);
  }
  return out;
}

}  // namespace uklp::cli
