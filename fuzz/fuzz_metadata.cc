// fuzz_metadata.cc: the text formats inside a patch module, on arbitrary
// bytes: klp names (lib/klp_names.h), .modinfo and .uklp.targets as the
// runtime's loader reads them (lib/module_info.h) and as the CLI shows them
// (cli/patch_module.h, with .uklp.klp_syms).
//
// Besides "no crash", the grammar's promises are checked: escape_object()
// and unescape_object() are inverses; a name that parses is rebuilt by
// sym_name() / rela_section_name() into one that parses to the same
// parts; every modinfo entry and target line comes from the input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "klp_names.h"
#include "module_info.h"
#include "patch_module.h"
#include "fuzz_check.h"

namespace {

namespace klp = uklp::klp;

void object_names(std::string_view text) {
  std::string escaped = klp::escape_object(text);
  FUZZ_CHECK(escaped.find_first_of(".,") == std::string::npos);
  auto back = klp::unescape_object(escaped);
  FUZZ_CHECK(text.empty() ? !back : back && *back == text);
  if (auto u = klp::unescape_object(text); u) FUZZ_CHECK(!u->empty());
}

void sym_names(std::string_view text) {
  auto parsed = klp::parse_sym_name(text);
  if (!parsed) return;
  auto again = klp::parse_sym_name(klp::sym_name(parsed->object, parsed->name, parsed->sympos));
  FUZZ_CHECK(again && again->object == parsed->object && again->name == parsed->name &&
             again->sympos == parsed->sympos);
}

void rela_names(std::string_view text) {
  auto parsed = klp::parse_rela_section_name(text);
  if (!parsed) return;
  auto again = klp::parse_rela_section_name(klp::rela_section_name(parsed->object, "." + parsed->section));
  FUZZ_CHECK(again && again->object == parsed->object && again->section == parsed->section);
}

void runtime_metadata(std::string_view text) {
  for (const auto& [tag, value] : klp::parse_modinfo(text))
    FUZZ_CHECK(text.find(tag + "=" + value) != std::string_view::npos);
  for (std::string_view line : klp::target_lines(text)) {
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    auto t = klp::parse_target_line(line);
    FUZZ_CHECK(!t == (line.find('\t') == std::string_view::npos));
    if (t) FUZZ_CHECK(t->object + "\t" + t->build_id == line);
  }
}

void cli_metadata(std::string_view text) {
  auto modinfo = uklp::cli::parse_modinfo(text);
  for (const auto& e : modinfo) (void)uklp::cli::param_description(modinfo, e.tag);
  (void)uklp::cli::parse_targets(text);
  (void)uklp::cli::parse_sympos(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  object_names(text);
  sym_names(text);
  rela_names(text);
  runtime_metadata(text);
  cli_metadata(text);
  return 0;
}
