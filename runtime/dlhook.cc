// dlhook.cc: see dlhook.h.
#include "dlhook.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "core.h"
#include "log.h"
#include "text_poke.h"

extern "C" int __cxa_atexit(void (*fn)(void*), void* arg, void* dso_handle);
extern "C" void uklp_dl_debug_state_hook();

namespace uklp::rt {
namespace {

// glibc's way to fail the dlopen in progress (GLIBC_PRIVATE, stable since
// 2.3): it longjmps to the loader's handler, which unmaps the new objects.
using SignalError = void (*)(int errcode, const char* object, const char* occasion, const char* errstring);
SignalError g_signal_error = nullptr;
bool g_installed = false;
// A library went or was refused: the symbol tables read for it are dropped
// at the next consistent point, once it is off the list.
bool g_forget_pending = false;

// Set by the library's own __cxa_finalize when its destructors run. One per
// watched library instance, never freed: the atexit entry points at it.
struct LibMark {
  std::atomic<bool> fini_started{false};
};

struct Watched {
  const void* link_map;
  uintptr_t bias;
  LibMark* mark;
};

std::vector<Watched>& watched() {
  static auto* v = new std::vector<Watched>();
  return *v;
}

void on_fini(void* arg) { static_cast<LibMark*>(arg)->fini_started.store(true, std::memory_order_release); }

void unwatch(const void* link_map) {
  std::erase_if(watched(), [&](const Watched& w) { return w.link_map == link_map; });
}

// The length of the NOP (any prefix count, 90 or 0f 1f /0) or int3 at p.
size_t padding_insn_length(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n && (p[i] == 0x66 || p[i] == 0x2e)) ++i;
  if (i < n && (p[i] == 0x90 || (i == 0 && p[i] == 0xcc))) return i + 1;
  if (i + 2 >= n || p[i] != 0x0f || p[i + 1] != 0x1f) return 0;
  uint8_t modrm = p[i + 2];
  unsigned mod = modrm >> 6, rm = modrm & 7;
  if (mod == 3 || ((modrm >> 3) & 7) != 0) return 0;
  size_t len = i + 3 + (rm == 4 ? 1 : 0) + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
  if (mod == 0 && rm == 5) len += 4;
  return len <= n ? len : 0;
}

bool is_padding(const uint8_t* p, size_t n) {
  while (n) {
    size_t k = padding_insn_length(p, n);
    if (!k) return false;
    p += k;
    n -= k;
  }
  return true;
}

// A dynamic-section pointer: glibc adjusts most of them in place by the
// load bias, but not in every case.
uintptr_t dyn_ptr(const link_map* lm, uintptr_t v) { return v < lm->l_addr ? v + lm->l_addr : v; }

// The library's __dso_handle: its symbol if the symbol table has it (it is
// local), else the one R_X86_64_RELATIVE relocation that makes a word point
// at itself (crtbegin's `void *__dso_handle = &__dso_handle`). 0 if unsure.
uintptr_t find_dso_handle(const LoadedObject& lib, const link_map* lm) {
  if (auto sym = lookup_symbol(lib, "__dso_handle", 0)) return sym->address;
  uintptr_t rela = 0, size = 0;
  for (const ElfW(Dyn)* d = lm->l_ld; d && d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_RELA) rela = dyn_ptr(lm, d->d_un.d_ptr);
    if (d->d_tag == DT_RELASZ) size = d->d_un.d_val;
  }
  if (!rela || !size || rela < lib.start || rela + size > lib.end) return 0;
  uintptr_t found = 0;
  const auto* r = reinterpret_cast<const ElfW(Rela)*>(rela);
  for (size_t i = 0; i < size / sizeof *r; ++i) {
    if (ELF64_R_TYPE(r[i].r_info) != R_X86_64_RELATIVE || r[i].r_offset != uint64_t(r[i].r_addend)) continue;
    if (found) return 0;  // two candidates: not sure which
    found = lm->l_addr + r[i].r_offset;
  }
  return found;
}

// The link map of the object loaded at `bias` from `path`.
bool is_object(const link_map* lm, uintptr_t bias, const char* path) {
  return lm->l_addr == bias && lm->l_name && strcmp(lm->l_name, path) == 0;
}

struct FindArgs {
  uintptr_t bias;
  const char* path;
  const link_map* found;
};

// Walks the link maps under the loader's write lock (held while
// dl_iterate_phdr calls back), so that no dlclose unlinks one meanwhile.
int find_in_list(dl_phdr_info*, size_t, void* data) {
  auto* a = static_cast<FindArgs*>(data);
  for (const link_map* lm = _r_debug.r_map; lm; lm = lm->l_next)
    if (is_object(lm, a->bias, a->path)) a->found = lm;
  return 1;
}

bool listed(const std::vector<const link_map*>& maps, const void* lm) {
  return std::find(maps.begin(), maps.end(), lm) != maps.end();
}

// Why the dlopen in progress must fail; plain storage, so that nothing is
// left to destroy in the frames that _dl_signal_error jumps over.
struct Refusal {
  int err = 0;
  char object[256];
  char message[1024];
};

// One call of _dl_debug_state, with the loader's lock held.
void on_debug_state(Refusal* refusal) {
  std::lock_guard lock(klp_mutex());
  const int state = _r_debug.r_state;
  if (state == r_debug::RT_DELETE) {
    // Destructors have run; the objects are still mapped.
    std::vector<const void*> going;
    for (const Watched& w : watched())
      if (w.mark->fini_started.load(std::memory_order_acquire)) going.push_back(w.link_map);
    for (const void* lm : going) {
      klp_module_going(lm);
      unwatch(lm);
      g_forget_pending = true;
    }
    return;
  }
  if (state != r_debug::RT_CONSISTENT) return;
  std::vector<const link_map*> maps;
  for (const link_map* lm = _r_debug.r_map; lm; lm = lm->l_next) maps.push_back(lm);
  bool gone = false;
  for (const void* lm : patched_libraries()) {
    if (listed(maps, lm)) continue;
    klp_module_going(lm);  // unmapped without being seen going (failed dlopen, no __dso_handle)
    gone = true;
  }
  std::erase_if(watched(), [&](const Watched& w) { return !listed(maps, w.link_map); });
  if (gone || g_forget_pending) forget_unloaded_objects();
  g_forget_pending = false;
  if (!library_objects_waiting()) return;
  for (const LoadedObject& lib : loaded_objects()) {
    if (lib.is_main) continue;
    const link_map* lm = nullptr;
    for (const link_map* m : maps)
      if (is_object(m, lib.bias, lib.path.c_str())) lm = m;
    if (!lm) continue;
    Status s = klp_module_coming(lib, lm);
    if (!s) {
      g_forget_pending = true;
      refusal->err = s.code() ? s.code() : EINVAL;
      snprintf(refusal->object, sizeof refusal->object, "%s", lm->l_name);
      snprintf(refusal->message, sizeof refusal->message, "uklp: %s", s.message().c_str());
      return;
    }
  }
}

}  // namespace

Status dl_hook_install() {
  if (g_installed) return Status::ok();
  auto* brk = reinterpret_cast<const uint8_t*>(_r_debug.r_brk);
  if (!brk) return error(ENOTSUP, "the dynamic linker has no debugger interface (r_debug.r_brk is 0)");
  // Bytes 1..13 are overwritten; they must be padding no thread executes.
  constexpr size_t kAlign = 16;
  if (uintptr_t(brk) % kAlign || brk[0] != 0xc3 || !is_padding(brk + 1, kAlign - 1))
    return error(ENOTSUP, "glibc's _dl_debug_state is not a lone `ret` followed by padding (bytes " +
                              hex_bytes(brk, kAlign) + ")");
  // Not under the loader's lock yet (the hook is not installed): dlsym may take it.
  g_signal_error = reinterpret_cast<SignalError>(dlsym(RTLD_DEFAULT, "_dl_signal_error"));
  if (!g_signal_error) return error(ENOTSUP, "glibc's _dl_signal_error was not found");
  uint8_t code[14] = {0xff, 0x25, 0, 0, 0, 0};  // jmp *0(%rip), then the address
  uintptr_t target = reinterpret_cast<uintptr_t>(&uklp_dl_debug_state_hook);
  std::memcpy(code + 6, &target, sizeof target);
  const auto at = reinterpret_cast<uintptr_t>(brk);
  UKLP_TRY(text_poke(at + 1, {code + 1, sizeof code - 1}));  // the padding: not executed
  UKLP_TRY(text_poke(at, {code, 1}));                         // `ret` -> `jmp`: one byte
  g_installed = true;
  return Status::ok();
}

const void* dl_link_map_of(const LoadedObject& lib) {
  FindArgs a{lib.bias, lib.path.c_str(), nullptr};
  dl_iterate_phdr(find_in_list, &a);
  return a.found;
}

void dl_watch_library(const LoadedObject& lib, const void* lm) {
  for (const Watched& w : watched())
    if (w.link_map == lm && w.bias == lib.bias) return;
  auto* mark = new LibMark();
  uintptr_t dso = find_dso_handle(lib, static_cast<const link_map*>(lm));
  if (dso) {
    __cxa_atexit(on_fini, mark, reinterpret_cast<void*>(dso));
  } else {
    klp_log(Level::info, "no __dso_handle in '%s': its patches are reverted only after it is unmapped",
            lib.name.c_str());
  }
  watched().push_back({lm, lib.bias, mark});
}

}  // namespace uklp::rt

// Jumped to instead of glibc's _dl_debug_state(), with the loader's lock
// held. The C++ work ends before _dl_signal_error() jumps out of here.
extern "C" __attribute__((visibility("hidden"), used)) void uklp_dl_debug_state_hook() {
  uklp::rt::Refusal refusal;
  uklp::rt::on_debug_state(&refusal);
  if (refusal.err) uklp::rt::g_signal_error(refusal.err, refusal.object, nullptr, refusal.message);
}
