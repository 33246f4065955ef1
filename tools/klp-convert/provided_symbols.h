// provided_symbols.h: the symbols a patch module gets from ordinary dynamic
// linking, which therefore must NOT become klp relocations.
//
// They are the exports (defined GLOBAL/WEAK/UNIQUE symbols of `.dynsym`) of
//   - the DT_NEEDED libraries of the patch module (libc.so.6, libstdc++, ...),
//     searched like ld.so would for a build machine: a --target with that
//     name (object name, DT_SONAME or file name), the patch's DT_RPATH /
//     DT_RUNPATH ($ORIGIN expanded), the directory of libuklp.so, then the
//     system directories (/lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu,
//     /lib64, /usr/lib64, /lib, /usr/lib, /usr/local/lib);
//   - the runtime libuklp.so, always present in a patched process because it
//     is preloaded: --libuklp PATH, else ../lib/libuklp.so next to the tool,
//     plus the C API of include/uklp/livepatch.h by name (so a module
//     converts correctly even before the runtime is built).
// A DT_NEEDED library that cannot be found is reported as a warning and
// ignored.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "elf_file.h"
#include "options.h"
#include "result.h"
#include "target_objects.h"

namespace uklp::convert {

class ProvidedSymbols {
 public:
  // The library that exports `name`, or nullptr.
  const std::string* provider(std::string_view name) const;
  void add(std::string_view name, const std::string& library);
  std::vector<std::string> warnings;

 private:
  std::unordered_map<std::string, std::string> by_name_;
};

Result<ProvidedSymbols> collect_provided_symbols(const elf::ElfFile& patch, const Options& options,
                                                 const std::vector<TargetObject>& targets);

}  // namespace uklp::convert
