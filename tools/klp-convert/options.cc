// options.cc: see options.h. Accepts "--opt VALUE" and "--opt=VALUE".
#include "options.h"

#include <cerrno>
#include <set>
#include <string_view>

namespace uklp::convert {
namespace {

Status usage_error(const std::string& why) {
  return error(EINVAL, why + " (try --help)");
}

Result<TargetSpec> parse_target(std::string_view value) {
  size_t eq = value.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == value.size())
    return usage_error("--target wants OBJECT=PATH, got '" + std::string(value) + "'");
  TargetSpec t{std::string(value.substr(0, eq)), std::string(value.substr(eq + 1))};
  if (t.object.find_first_of(std::string_view("\t\n\0", 3)) != std::string::npos)
    return usage_error("object name '" + t.object + "' contains a TAB or newline");
  return t;
}

std::vector<std::string> split_commas(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

// Splits "--opt=value" into its parts; `value` is empty when there is no '='.
std::pair<std::string_view, std::string_view> split_inline(std::string_view arg, bool* has_value) {
  size_t eq = arg.find('=');
  *has_value = arg.starts_with("--") && eq != std::string_view::npos;
  if (!*has_value) return {arg, {}};
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

Status apply_option(Options& o, std::string_view name, std::string_view value) {
  if (name == "--target") {
    auto t = parse_target(value);
    if (!t) return t.status();
    o.targets.push_back(std::move(*t));
  } else if (name == "--require-targets") {
    for (auto& obj : split_commas(value)) o.required_targets.push_back(std::move(obj));
  } else if (name == "--libuklp") {
    o.libuklp = std::string(value);
  } else {
    return usage_error("unknown option '" + std::string(name) + "'");
  }
  return Status::ok();
}

Status check_complete(const Options& o, const std::vector<std::string>& positional) {
  if (positional.size() != 2) return usage_error("expected IN.so and OUT.so");
  if (o.targets.empty()) return usage_error("at least one --target OBJECT=PATH is required");
  std::set<std::string> seen;
  for (const auto& t : o.targets)
    if (!seen.insert(t.object).second) return usage_error("object '" + t.object + "' given twice");
  return Status::ok();
}

}  // namespace

const char* usage() {
  return "usage: uklp-klp-convert --target main=PATH [--target LIBNAME=PATH ...]\n"
         "                        [--require-targets OBJ,...] [--libuklp PATH] [--verbose]\n"
         "                        IN.so OUT.so\n"
         "\n"
         "Turns the references of a linked patch module to the internal symbols of\n"
         "its targets into klp relocations and binds it to the targets' build-ids\n"
         "(docs/patch-format.md). IN.so and OUT.so may be the same file.\n";
}

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    bool has_value = false;
    auto [name, value] = split_inline(arg, &has_value);
    if (name == "--help" || name == "-h") {
      o.help = true;
      return o;
    }
    if (name == "--verbose" || name == "-v") {
      o.verbose = true;
    } else if (name.starts_with("-") && name.size() > 1) {
      if (!has_value) {
        if (i + 1 >= argc) return usage_error("option '" + std::string(name) + "' needs a value");
        value = argv[++i];
      }
      UKLP_TRY(apply_option(o, name, value));
    } else {
      positional.emplace_back(arg);
    }
  }
  UKLP_TRY(check_complete(o, positional));
  o.input = positional[0];
  o.output = positional[1];
  return o;
}

}  // namespace uklp::convert
