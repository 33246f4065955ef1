// module_info.h: the metadata of a patch module as the runtime's loader
// reads it (runtime/loader.cc): .modinfo, .uklp.targets, and the bounds of
// the module's loaded image that the loader's own writes and reads must
// stay in.
//
// Pure functions of a section's bytes or of the program headers, shared by
// the loader, its unit tests (tests/unit/elf/module_info_test.cc) and the
// fuzzers (fuzz/). The CLI's `uklp info` (cli/patch_module.cc) shows the
// same sections with parsers of its own that keep what the loader skips.
#pragma once

#include <elf.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uklp::klp {

// The "tag=value" strings of .modinfo (NUL-separated, as MODULE_INFO()
// writes them), in order; strings without '=' are skipped.
std::vector<std::pair<std::string, std::string>> parse_modinfo(std::string_view section);

// One line of .uklp.targets, "<object>\t<build-id hex>" (lib/klp_names.h).
struct TargetLine {
  std::string object;
  std::string build_id;  // everything after the first TAB
};
// nullopt when the line has no TAB.
std::optional<TargetLine> parse_target_line(std::string_view line);
// The lines of .uklp.targets, split at '\n'; a last line without '\n'
// counts, and empty lines are kept (the loader refuses them).
std::vector<std::string_view> target_lines(std::string_view section);

// Whether [addr, addr + size) lies inside the memory image (p_vaddr,
// p_memsz) of one PT_LOAD segment. Link-time addresses from the file: no
// sum may wrap, so that a value near 2^64 cannot pass for a small one.
bool in_load_segment(std::span<const Elf64_Phdr> phdrs, uint64_t addr, uint64_t size);

}  // namespace uklp::klp
