// plan.h: deciding which dynamic relocations of a patch module become klp
// relocations, and to which symbol of which target object each resolves.
//
// Algorithm, for every entry of every dynamic relocation section (those
// linked to .dynsym: .rela.dyn, .rela.plt) whose symbol is undefined in the
// patch module:
//   1. named by KLP_SYMPOS            -> klp symbol (object, name, sympos)
//   2. exported by a library the patch needs (ProvidedSymbols)
//                                     -> left to the dynamic linker
//   3. defined in exactly one target, once -> klp symbol (object, name, 0)
//      defined several times/in several targets -> error: use KLP_SYMPOS
//   4. nowhere: a weak reference is left alone (__gmon_start__, ...);
//      anything else is an error.
// A klp relocation must be R_X86_64_GLOB_DAT or R_X86_64_64 (a GOT slot or an
// absolute data pointer); JUMP_SLOT means the module was built without
// -fno-plt. Every KLP_SYMPOS entry is checked against its target file, with
// the sympos rules of the runtime (target_objects.h).
//
// Constraints: the plan only reads; output.h writes.
#pragma once

#include <elf.h>

#include <string>
#include <vector>

#include "elf_file.h"
#include "klp_sym_annotations.h"
#include "provided_symbols.h"
#include "target_objects.h"

namespace uklp::convert {

// One .klp.sym.<object>.<name>,<sympos> symbol.
struct KlpSymbol {
  std::string object;
  std::string name;
  unsigned long sympos = 0;
  unsigned char type = STT_NOTYPE;  // STT_FUNC, STT_OBJECT or STT_NOTYPE, as in the target
};

// One dynamic relocation that becomes a klp relocation.
struct KlpReloc {
  unsigned rela_section = 0;    // the dynamic relocation section (index in IN)
  size_t entry = 0;             // the entry's index in it
  Elf64_Rela original{};
  std::string alias;            // the undefined symbol's name in the patch module
  size_t symbol = 0;            // index into Plan::symbols
  unsigned target_section = 0;  // the section of IN that contains r_offset
};

struct Plan {
  std::vector<KlpSymbol> symbols;
  std::vector<KlpReloc> relocs;
};

Result<Plan> plan_klp_relocations(const elf::ElfFile& patch, const Annotations& annotations,
                                  const ProvidedSymbols& provided, const std::vector<TargetObject>& targets);

// "R_X86_64_GLOB_DAT", or "relocation type N".
std::string reloc_type_name(unsigned type);

}  // namespace uklp::convert
