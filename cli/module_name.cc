// module_name.cc: see module_name.h.
#include "module_name.h"

#include <algorithm>

namespace uklp::cli {

Result<std::string> patch_name_from_path(std::string_view path) {
  std::string_view base = path;
  if (size_t slash = base.rfind('/'); slash != std::string_view::npos) base.remove_prefix(slash + 1);
  if (size_t v = base.find(".so."); v != std::string_view::npos) {
    base = base.substr(0, v);
  } else if (base.ends_with(".so")) {
    base.remove_suffix(3);
  }
  std::string name(base);
  std::replace(name.begin(), name.end(), '-', '_');
  if (name.empty())
    return error(EINVAL, "cannot derive a patch name from the file name '" + std::string(path) + "'");
  if (name.size() >= kModuleNameLen)
    return error(ENAMETOOLONG, "patch name '" + name + "' (from the file name) is longer than " +
                                   std::to_string(kModuleNameLen - 1) + " characters");
  return name;
}

}  // namespace uklp::cli
