// dlhook.h: libraries that come and go while patches are active (the
// kernel's klp_module_coming / klp_module_going), seen through the dynamic
// linker's debugger interface.
//
// glibc calls _dl_debug_state() (r_debug.r_brk) at fixed points of every
// dlopen and dlclose, holding its load lock:
//   - RT_CONSISTENT in dlopen: the new objects are mapped and listed, but
//     not yet relocated (no IRELATIVE resolver has run) nor initialized.
//     A patch for one of them is applied here (core.h klp_module_coming),
//     and if that fails, the dlopen fails: the hook raises the loader's
//     own error (_dl_signal_error), so dlopen returns NULL, dlerror() says
//     why, and glibc unmaps the new objects without running their code.
//   - RT_DELETE in dlclose: the objects being removed have run their
//     destructors and are still mapped. Which ones they are is not public;
//     uklp learns it from a __cxa_atexit entry it registers for each
//     library it patches, with that library's __dso_handle, which the
//     library's own destructor code (__cxa_finalize) runs last.
//   - RT_CONSISTENT after dlclose (or after a failed dlopen): a patched
//     library that is gone without being seen at RT_DELETE (no
//     __dso_handle found, or its dlopen failed) is reverted then.
// The hook is a 14-byte `jmp *` written over _dl_debug_state's `ret` and
// the alignment padding after it; uklp installs it at the first patch and
// refuses (with a warning, libraries loaded later then stay unpatched) when
// that function is not a lone `ret` followed by NOP padding.
//
// Lock order: the dynamic linker's load lock, then the klp mutex. So the
// control thread never calls dlopen, dlclose or dlsym with the klp mutex
// held (loader.cc releases it around them).
#pragma once

#include <cstdint>
#include <string>

#include "result.h"
#include "symbols.h"

namespace uklp::rt {

// Installs the hook. Idempotent; called with the klp mutex held when a
// patch is enabled.
Status dl_hook_install();

// The dynamic linker's handle (link_map) of a loaded library, found by its
// load bias and path; nullptr if not listed.
const void* dl_link_map_of(const LoadedObject& lib);

// Notices the unload of `lib` (a library a patch now has an object for)
// after its destructors. Idempotent per link_map.
void dl_watch_library(const LoadedObject& lib, const void* link_map);

}  // namespace uklp::rt
