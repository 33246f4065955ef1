// file_io.h: writing files whole, for the tools (uklp-klp-convert's output,
// `uklp sign`): a module on disk is either the old one or the new one,
// never a partial file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "result.h"

namespace uklp {

// Writes all of `bytes` to `fd` (EINTR retried).
Status write_all(int fd, std::span<const uint8_t> bytes);

// Writes `bytes` to a temporary file next to `path`, with `mode`, flushes
// it to disk, then renames it over `path` (so `path` may be the file the
// bytes came from, and a failure leaves no partial file).
Status write_file_atomically(const std::string& path, std::span<const uint8_t> bytes, mode_t mode);

}  // namespace uklp
