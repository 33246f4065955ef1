// module_name.h: a patch module's name, derived from its file name the way
// the kernel's build derives a module name (scripts/Makefile.lib: the base
// name without its suffix, '-' replaced by '_'), so that
// "livepatch-sample.so" is patch "livepatch_sample".
//
// The runtime uses this name as it is sent (lib/protocol.h `load NAME`);
// `uklp info` shows the same derivation.
#pragma once

#include <string>
#include <string_view>

#include "result.h"

namespace uklp::cli {

// The kernel's MODULE_NAME_LEN (include/uklp/livepatch.h): names must be
// shorter, since struct module keeps a NUL-terminated copy.
inline constexpr size_t kModuleNameLen = 56;

// Base name; cut at the first ".so." (a versioned "x.so.1"), else strip a
// final ".so"; '-' becomes '_'. EINVAL when nothing is left,
// ENAMETOOLONG when the name does not fit in MODULE_NAME_LEN.
Result<std::string> patch_name_from_path(std::string_view path);

}  // namespace uklp::cli
