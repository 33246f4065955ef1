// args.h: validation of command-line arguments, before anything is sent.
//
// The control protocol cannot carry TAB or newline in a field
// (lib/protocol.h), so values holding them are refused here with EINVAL,
// with a message that names the argument.
#pragma once

#include <string>
#include <string_view>

#include "result.h"

namespace uklp::cli {

// A process id: decimal, 1 .. INT_MAX.
Result<int> parse_pid(std::string_view text);
// A module parameter "NAME=VALUE": NAME non-empty, made of [A-Za-z0-9_.-]
// (like the kernel's parameter names; '-' and '_' are the same there).
Status check_param(std::string_view param);
// A sysfs-like attribute path relative to the tree's root, e.g.
// "livepatch/livepatch_sample/enabled": non-empty, no leading '/', no
// empty, "." or ".." components.
Status check_attribute_path(std::string_view path);

}  // namespace uklp::cli
