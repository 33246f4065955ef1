// klp_sym_annotations.h: the KLP_SYMPOS() entries of a patch module.
//
// KLP_SYMPOS(alias, "object", "name", N) (include/uklp/livepatch.h) puts the
// string "alias\tobject\tname\tN" into section .uklp.klp_syms; the linker
// concatenates them, each ended by its NUL. Each says: references to the
// undefined symbol `alias` resolve to the N-th occurrence of `name` in
// `object` ("main" = the main program; N = 0: the unique occurrence).
//
// Constraints: four TAB-separated non-empty fields, N decimal; the same
// alias may appear more than once (a header included by several files)
// only with the same meaning.
#pragma once

#include <map>
#include <string>

#include "elf_file.h"
#include "result.h"

namespace uklp::convert {

struct Annotation {
  std::string object;
  std::string name;
  unsigned long sympos = 0;
  bool operator==(const Annotation&) const = default;
};

// Keyed by alias; empty when the module has no .uklp.klp_syms.
using Annotations = std::map<std::string, Annotation, std::less<>>;

Result<Annotations> read_annotations(const elf::ElfFile& patch);

}  // namespace uklp::convert
