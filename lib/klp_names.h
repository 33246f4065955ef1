// klp_names.h: the names of livepatch relocation sections and symbols.
//
// The one place where uklp-klp-convert (which writes the names) and the
// runtime's module loader (which parses them) agree on the grammar of
// docs/patch-format.md, after the kernel's module-elf-format.rst:
//
//   .klp.rela.<object>.<section>          a livepatch relocation section
//   .klp.sym.<object>.<symbol>,<sympos>   a livepatch symbol
//
// <object> is percent-escaped so that it contains no '.' and no ',':
// '%' -> %25, '.' -> %2E, ',' -> %2C, and every byte outside 0x21..0x7e ->
// %XX (upper-case hex); "libdemo.so.1" becomes "libdemo%2Eso%2E1" and
// "main" stays "main". Parsing is therefore unambiguous: the object ends at
// the first '.' after the prefix; a section name is the rest; a symbol name
// is everything up to the LAST ',' (so "foo.isra.0" and C++ names with
// commas survive) and the position is the decimal number after it.
//
// Constraints: pure functions, no global state; usable inside the runtime
// (allocates, so not from a signal handler).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "result.h"

namespace uklp::klp {

// Section flag of a livepatch relocation section (include/uapi/linux/elf.h).
inline constexpr uint64_t SHF_RELA_LIVEPATCH = 0x00100000;
// Section index of a livepatch symbol (include/uapi/linux/elf.h).
inline constexpr uint16_t SHN_LIVEPATCH = 0xff20;

inline constexpr std::string_view kRelaSectionPrefix = ".klp.rela.";
inline constexpr std::string_view kSymPrefix = ".klp.sym.";
// "<object>\t<build-id hex>\n" lines written by uklp-klp-convert.
inline constexpr std::string_view kTargetsSection = ".uklp.targets";
// "alias\tobject\tname\tsympos" NUL-separated strings from KLP_SYMPOS().
inline constexpr std::string_view kKlpSymsSection = ".uklp.klp_syms";
// The klp object name of the main program.
inline constexpr std::string_view kMainObject = "main";

struct RelaSectionName {
  std::string object;   // unescaped: "main", "libdemo.so.1"
  std::string section;  // as written: the target section's name without its leading '.'
};

struct KlpSymName {
  std::string object;   // unescaped
  std::string name;     // the symbol's name in that object
  unsigned long sympos = 0;
};

// Percent-escapes an object name (see the header comment).
std::string escape_object(std::string_view object);
// The inverse of escape_object(); EINVAL on a malformed escape, on a raw
// '.' or ',' and on an empty result.
Result<std::string> unescape_object(std::string_view escaped);

// ".klp.rela.<escaped obj>.<section without one leading '.'>"
std::string rela_section_name(std::string_view object, std::string_view section);
// ".klp.sym.<escaped obj>.<name>,<pos>"
std::string sym_name(std::string_view object, std::string_view name, unsigned long sympos);

// EINVAL with a message naming `name` when it does not follow the grammar.
Result<RelaSectionName> parse_rela_section_name(std::string_view name);
Result<KlpSymName> parse_sym_name(std::string_view name);

}  // namespace uklp::klp
