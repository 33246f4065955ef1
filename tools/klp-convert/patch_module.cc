// patch_module.cc: see patch_module.h.
#include "patch_module.h"

#include <sys/stat.h>

#include <cerrno>

#include "klp_names.h"

namespace uklp::convert {
namespace {

bool has_klp_symbol(const elf::ElfFile& elf) {
  bool found = false;
  (void)elf.for_each_symbol(SHT_SYMTAB, [&](const elf::Symbol& s) {
    found = s.sym.st_shndx == klp::SHN_LIVEPATCH;
    return !found;
  });
  return found;
}

bool is_converted(const elf::ElfFile& elf) {
  for (const auto& s : elf.sections())
    if (s.name == klp::kTargetsSection || s.name.starts_with(klp::kRelaSectionPrefix) ||
        (s.hdr.sh_flags & klp::SHF_RELA_LIVEPATCH))
      return true;
  return has_klp_symbol(elf);
}

}  // namespace

Result<PatchModule> open_patch_module(const std::string& path) {
  PatchModule m;
  UKLP_ASSIGN_OR_RETURN(m.elf, elf::ElfFile::open_path(path));
  if (m.elf->header().e_type != ET_DYN)
    return error(EINVAL, "'" + path + "' is not a shared object; link patch modules with -shared");
  if (m.elf->sections().empty()) return error(EINVAL, "'" + path + "' has no section headers");
  if (is_converted(*m.elf))
    return error(EINVAL, "'" + path + "' is already converted (it has " + std::string(klp::kTargetsSection) +
                             " or klp relocations); convert the module as linked");
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) m.mode = st.st_mode & 07777;
  m.mode |= (m.mode & 0444) >> 2;  // executable wherever readable, like a linker's output
  return m;
}

}  // namespace uklp::convert
