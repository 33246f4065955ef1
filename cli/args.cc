// args.cc: see args.h.
#include "args.h"

#include <charconv>
#include <climits>

namespace uklp::cli {
namespace {

Result<long> parse_decimal(std::string_view text, long min, long max, std::string_view what) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    return error(EINVAL, "invalid " + std::string(what) + " '" + std::string(text) + "'");
  return value;
}

bool is_param_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

}  // namespace

Result<int> parse_pid(std::string_view text) {
  UKLP_ASSIGN_OR_RETURN(long pid, parse_decimal(text, 1, INT_MAX, "process id"));
  return static_cast<int>(pid);
}

Status check_param(std::string_view param) {
  size_t eq = param.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return error(EINVAL, "invalid module parameter '" + std::string(param) + "' (expected NAME=VALUE)");
  for (char c : param.substr(0, eq))
    if (!is_param_name_char(c))
      return error(EINVAL, "invalid module parameter name '" + std::string(param.substr(0, eq)) + "'");
  if (param.find_first_of("\t\n") != std::string_view::npos)
    return error(EINVAL, "module parameter '" + std::string(param.substr(0, eq)) +
                             "' has a tab or a newline in its value");
  return Status::ok();
}

Status check_attribute_path(std::string_view path) {
  auto invalid = [&](std::string_view why) {
    return error(EINVAL, "invalid attribute path '" + std::string(path) + "': " + std::string(why));
  };
  if (path.empty()) return invalid("empty");
  if (path.front() == '/') return invalid("it is relative to the tree, e.g. livepatch/PATCH/enabled");
  if (path.find_first_of("\t\n") != std::string_view::npos) return invalid("tab or newline");
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (part.empty() || part == "." || part == "..") return invalid("empty, '.' or '..' component");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::ok();
}

}  // namespace uklp::cli
