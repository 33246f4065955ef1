// output.h: writing the converted patch module (docs/patch-format.md).
//
// Algorithm: no relayout. IN.so is copied byte for byte; the dynamic
// relocations of the plan are rewritten in place as R_X86_64_NONE (symbol 0,
// addend 0, same r_offset: glibc's ld.so skips them, so the GOT slot stays
// NULL until the runtime fills it); then appended at the end of the file,
// each aligned: the new .symtab (old entries + one .klp.sym.* symbol per
// distinct (object, name, sympos)), the new .strtab, one .klp.rela.<obj>.<sec>
// section per (object, section containing r_offset), .uklp.targets, a new
// .shstrtab and a new section header table. Old sections keep their indices
// (links and sh_info of the loaded sections stay valid); the replaced
// .symtab/.strtab/.shstrtab keep their old bytes, which nothing refers to.
//
// Constraints: the program headers and every loaded byte except the
// rewritten relocation entries are unchanged, so the module maps exactly as
// linked. The runtime reads the appended sections from the file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "elf_file.h"
#include "plan.h"
#include "result.h"
#include "target_objects.h"

namespace uklp::convert {

Result<std::vector<uint8_t>> build_output(const elf::ElfFile& patch, const Plan& plan,
                                          const std::vector<TargetObject>& targets);

// "<object>\t<build-id>\n" per target: the contents of .uklp.targets.
std::string targets_text(const std::vector<TargetObject>& targets);

}  // namespace uklp::convert
