// runtime_path.h: where `uklp run` finds libuklp.so, and how it adds it to
// LD_PRELOAD.
//
// Search order: $UKLP_RUNTIME (must exist); <dir of /proc/self/exe>/../lib/
// libuklp.so (the build tree and an installed prefix both have bin/ and
// lib/ side by side); the install libdir chosen at configure time. The path
// is made absolute, since the target may change its directory before the
// dynamic loader of a child process reads LD_PRELOAD.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "result.h"

namespace uklp::cli {

inline constexpr std::string_view kRuntimeFileName = "libuklp.so";

// The absolute path of the runtime to preload (see above). ENOENT names
// every place that was tried.
Result<std::string> find_runtime();

// LD_PRELOAD with `runtime` first and the entries of `existing` after it
// (colon-separated; the loader also accepts spaces there). An existing
// entry equal to `runtime` is dropped, so the runtime is loaded once.
std::string prepend_preload(std::string_view runtime, const std::optional<std::string_view>& existing);

// `path` made absolute against the current directory (not resolving links).
std::string absolute_path(std::string_view path);

}  // namespace uklp::cli
