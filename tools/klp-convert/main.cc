// uklp-klp-convert: turns a linked patch module into a uklp patch module.
//
// A patch module is linked as an ordinary shared object (-fPIC -fno-plt,
// -shared -Wl,-z,now) whose references to the internal symbols of its
// targets (static functions and variables of the main program or of
// libraries) are left undefined. This tool binds those references the way
// the kernel's klp-convert does for a .ko: each becomes a klp relocation
// (.klp.rela.<obj>.<sec> against .klp.sym.<obj>.<name>,<sympos>) that the
// runtime resolves inside the target process, and the module records the
// build-id of every target in .uklp.targets. docs/patch-format.md is the
// specification; lib/klp_names.h holds the name grammar shared with the
// runtime.
//
// Pipeline (each step in its own file):
//   1. options             the command line
//   2. patch_module        IN.so; refuse anything already converted
//   3. target_objects      the target files, their symbols and build-ids
//   4. provided_symbols    what the libraries the patch needs export
//   5. klp_sym_annotations the KLP_SYMPOS() entries
//   6. plan                which relocations become klp relocations, and how
//   7. output              the converted bytes (no relayout)
//   8. output              written next to OUT.so, then renamed over it
//
// Errors: one line "uklp-klp-convert: error: ..." and exit status 1.
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "file_io.h"
#include "klp_names.h"
#include "klp_sym_annotations.h"
#include "options.h"
#include "output.h"
#include "patch_module.h"
#include "plan.h"
#include "provided_symbols.h"
#include "target_objects.h"

namespace {

using namespace uklp;
using namespace uklp::convert;

[[noreturn]] void fail(const Status& s) {
  // Conversion errors (EINVAL) explain themselves; system errors keep their errno text.
  std::string text = s.code() == EINVAL ? s.message() : s.describe();
  std::fprintf(stderr, "uklp-klp-convert: error: %s\n", text.c_str());
  std::exit(1);
}

void must(const Status& s) {
  if (!s.is_ok()) fail(s);
}

template <typename T>
T must(Result<T> r) {
  if (!r.is_ok()) fail(r.status());
  return std::move(r).value();
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::fprintf(stderr, "uklp-klp-convert: warning: %s\n", w.c_str());
}

// --verbose: one line per klp relocation.
void print_plan(const elf::ElfFile& patch, const Plan& plan) {
  for (const auto& r : plan.relocs) {
    const KlpSymbol& k = plan.symbols[r.symbol];
    unsigned type = ELF64_R_TYPE(r.original.r_info);
    std::string section = klp::rela_section_name(k.object, patch.sections()[r.target_section].name);
    std::printf("%s: 0x%llx R_X86_64_64 %s%+lld (was %s against '%s')\n", section.c_str(),
                static_cast<unsigned long long>(r.original.r_offset),
                klp::sym_name(k.object, k.name, k.sympos).c_str(),
                static_cast<long long>(type == R_X86_64_GLOB_DAT ? 0 : r.original.r_addend),
                reloc_type_name(type).c_str(), r.alias.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options = must(parse_options(argc, argv));                                // 1
  if (options.help) return std::fputs(usage(), stdout) < 0;
  PatchModule patch = must(open_patch_module(options.input));                      // 2
  std::vector<TargetObject> targets = must(open_targets(options.targets));         // 3
  must(check_required_targets(options.required_targets, targets));
  print_warnings(naming_warnings(targets));
  ProvidedSymbols provided = must(collect_provided_symbols(*patch.elf, options, targets));  // 4
  print_warnings(provided.warnings);
  Annotations annotations = must(read_annotations(*patch.elf));                     // 5
  Plan plan = must(plan_klp_relocations(*patch.elf, annotations, provided, targets));  // 6
  if (options.verbose) print_plan(*patch.elf, plan);
  std::vector<uint8_t> bytes = must(build_output(*patch.elf, plan, targets));      // 7
  must(write_file_atomically(options.output, bytes, patch.mode));                   // 8
  return 0;
}
