// fuzz_patch_module.cc: the offline readers of a patch module on arbitrary
// bytes: the CLI's (cli/patch_module.h: `uklp info` and the checks of
// `uklp load`) and uklp-klp-convert's (tools/klp-convert/: the KLP_SYMPOS
// annotations, the target object's symbol index, the relocation plan and
// the output writer).
//
// The input is read as the patch module and, through a memfd, as its
// target ("main"), so that the tool's target reader sees the same bytes
// and a plan can find its symbols there. When a plan succeeds, the output
// must again be an ELF file that lib/elf_file.h accepts: the tool writes
// only what it can read back.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "elf_file.h"
#include "klp-convert/klp_sym_annotations.h"
#include "klp-convert/output.h"
#include "klp-convert/patch_module.h"
#include "klp-convert/plan.h"
#include "klp-convert/provided_symbols.h"
#include "klp-convert/target_objects.h"
#include "patch_module.h"

namespace {

using uklp::elf::ElfFile;

// The input as a file (TargetObject::open takes a path): one memfd for the
// whole run, rewritten for each input.
std::string as_file(const uint8_t* data, size_t size) {
  static int fd = memfd_create("fuzz-target", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  return "/proc/self/fd/" + std::to_string(fd);
}

void read_as_cli(const ElfFile& elf) {
  (void)uklp::cli::check_shared_object(elf);
  auto info = uklp::cli::read_patch_module(elf);
  if (!info) return;
  for (const auto& p : info->params) (void)uklp::cli::param_description(info->modinfo, p.name);
}

// main.cc of uklp-klp-convert: the module as the tool opens it, the
// input again as its target.
void convert(const uint8_t* data, size_t size) {
  auto module = uklp::convert::open_patch_module(as_file(data, size));
  if (!module) return;
  const ElfFile& patch = *module->elf;
  auto annotations = uklp::convert::read_annotations(patch);
  if (!annotations) return;
  std::vector<uklp::convert::TargetObject> targets;
  auto target = uklp::convert::TargetObject::open({"main", as_file(data, size)});
  if (target) targets.push_back(std::move(*target));
  uklp::convert::ProvidedSymbols provided;  // no libraries: every undefined name is the target's
  auto plan = uklp::convert::plan_klp_relocations(patch, *annotations, provided, targets);
  if (!plan) return;
  auto out = uklp::convert::build_output(patch, *plan, targets);
  if (!out) return;
  auto reread = ElfFile::from_bytes(*out, "fuzz-out.so");
  if (!reread) {
    std::fprintf(stderr, "fuzz_patch_module: the converted output does not parse: %s\n",
                 reread.status().describe().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto elf = ElfFile::from_bytes({data, size}, "fuzz.so");
  if (!elf) return 0;
  read_as_cli(**elf);
  convert(data, size);
  return 0;
}
