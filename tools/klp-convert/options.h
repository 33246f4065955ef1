// options.h: the command line of uklp-klp-convert.
//
//   uklp-klp-convert --target main=PATH [--target LIBNAME=PATH ...]
//                    [--require-targets OBJ,...] [--libuklp PATH] [--verbose]
//                    IN.so OUT.so
//
// Constraints: object names are non-empty and contain no TAB, newline or
// NUL (they become lines of .uklp.targets); each object is given once.
#pragma once

#include <string>
#include <vector>

#include "result.h"

namespace uklp::convert {

struct TargetSpec {
  std::string object;  // "main" or a library name ("libdemo.so.1")
  std::string path;    // the file the patch is built against
};

struct Options {
  std::vector<TargetSpec> targets;
  std::vector<std::string> required_targets;  // --require-targets
  std::string libuklp;                        // --libuklp; "" = next to the tool
  std::string input;
  std::string output;
  bool verbose = false;
  bool help = false;
};

Result<Options> parse_options(int argc, char** argv);
const char* usage();

}  // namespace uklp::convert
