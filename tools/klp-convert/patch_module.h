// patch_module.h: opening the linked patch module (IN.so) and refusing what
// cannot be converted: anything but an x86-64 ET_DYN with section headers,
// and a module that is already converted (it has .uklp.targets, a
// .klp.rela.* section or a SHN_LIVEPATCH symbol), since converting twice
// would bind the klp symbols a second time.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "elf_file.h"
#include "result.h"

namespace uklp::convert {

struct PatchModule {
  std::unique_ptr<elf::ElfFile> elf;
  mode_t mode = 0755;  // permission bits of IN.so, kept for OUT.so
};

Result<PatchModule> open_patch_module(const std::string& path);

}  // namespace uklp::convert
