// symbols.h: the kallsyms of a process. The loaded objects (the main
// program and every shared library) and their symbol tables.
//
// Objects come from dl_iterate_phdr(). The main program is named "main";
// a library is named by its DT_SONAME, else the base name of its path; a
// klp_object name matches either (the first such object in load order when
// several do). The runtime itself, the vDSO and loaded patch modules are not
// patch targets and are left out (when the runtime is compiled into the main
// program, as in unit tests, the main program stays). symbol_at() alone sees
// every object, so that patch modules, the runtime and the vDSO symbolize.
//
// Symbols are read from the file that is actually mapped: first
// /proc/self/map_files/<range> (the mapped inode, even when the path was
// replaced or deleted, as a package upgrade does), else the path. The table
// is `.symtab` if the file has one, else separate debug info (the build-id
// path /usr/lib/debug/.build-id/xx/yyyy.debug, then `.gnu_debuglink` in the
// object's directory, its .debug/ subdirectory and /usr/lib/debug/<dir>/),
// else `.dynsym`. Whatever is read must carry the loaded object's build-id
// (read from its PT_NOTE in memory); a mismatch is an error, never a guess.
// An object without a build-id cannot be checked: its first readable file is
// trusted, and a debuglink file is checked by its CRC32 only. The environment
// variable UKLP_DEBUG_DIR (colon-separated, read once at first use) replaces
// /usr/lib/debug as the root of the debug-info searches.
//
// Lookup follows klp_find_object_symbol(): symbols are counted in symbol
// table index order among defined FUNC, OBJECT, IFUNC, TLS and NOTYPE
// symbols with the exact name; sympos 0 requires exactly one, N takes the
// N-th. Every failure is EINVAL (ENOENT when the object is not loaded) and
// the message names the object and, for ambiguity, the candidates. A match
// whose st_value is 0 is "not found", like a kallsyms address of 0.
// Addresses are st_value + load bias, except for STT_TLS symbols (the offset
// in the object's TLS block) and SHN_ABS symbols (st_value as is).
//
// Each object's table is parsed once and cached by (start, build-id, path);
// its names are indexed by hash at once, its addresses (for symbol_at()) at
// the first symbol_at() in the object.
// lookup_symbol() and has_patchable_pad() trust the LoadedObject they are
// given and its cached table until forget_unloaded_objects() runs, so call
// it once an object is unloaded; symbol_at() always checks the live list.
//
// Thread safety: all functions take an internal mutex; they allocate and
// must not run while another thread is stopped in a signal handler. Lock
// order: this mutex, then the dynamic loader's (dl_iterate_phdr); do not
// call these functions from a dl_iterate_phdr callback.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace uklp::rt {

inline constexpr std::string_view kMainObjectName = "main";

struct LoadedObject {
  std::string name;       // "main", or the soname / base name
  std::string soname;     // DT_SONAME ("" if none)
  std::string path;       // as the dynamic linker knows it ("" for main: /proc/self/exe)
  uintptr_t bias = 0;     // load bias (link_map l_addr)
  uintptr_t start = 0;    // lowest mapped address of its PT_LOAD segments
  uintptr_t end = 0;      // one past the highest
  std::string build_id;   // hex, from the PT_NOTE in memory; "" if none
  bool is_main = false;
  // True when `klp_name` (NULL or "main" for the main program) names it.
  bool matches(const char* klp_name) const;
};

struct SymbolInfo {
  std::string name;
  uintptr_t address = 0;  // runtime address (bias applied)
  uint64_t size = 0;
  unsigned char type = 0; // STT_*
  bool local = false;
  std::string object;     // name of the object that defines it ("main", soname, ...)
};

// A snapshot of the loaded objects, in dl_iterate_phdr order (main first).
std::vector<LoadedObject> loaded_objects();
// The loaded object called `klp_name` (NULL or "main": the main program).
Result<LoadedObject> find_object(const char* klp_name);
// The loaded object whose mappings contain `addr`.
Result<LoadedObject> object_containing(uintptr_t addr);

// Looks `name` up in object `obj` by the kernel's sympos rules.
Result<SymbolInfo> lookup_symbol(const LoadedObject& obj, std::string_view name,
                                 unsigned long sympos);
// The symbol containing `addr` in any loaded object (for sizes, messages and
// symbolized stacks): "name+0xoff/0xsize [object]" style data. Only FUNC,
// IFUNC and OBJECT symbols; one of size 0 contains only its own address.
// ENOENT when no object or no symbol contains `addr`.
Result<SymbolInfo> symbol_at(uintptr_t addr);

// True when the function entry `entry` has a patchable pad: its object's
// __patchable_function_entries (read from memory, so already relocated)
// lists entry - 14.
bool has_patchable_pad(const LoadedObject& obj, uintptr_t entry);

// Excludes a mapped file (a patch module) from the objects above.
void hide_object(uintptr_t any_address_inside);
void unhide_object(uintptr_t any_address_inside);

// Drops cached tables of objects that are no longer loaded, and hidden
// addresses that no loaded object contains any more.
void forget_unloaded_objects();

// For unit tests only.
namespace for_testing {
// Simulates a process that may not open /proc/self/map_files (no
// CAP_SYS_ADMIN / CAP_CHECKPOINT_RESTORE): only the path is tried.
void set_map_files_enabled(bool enabled);
// Number of cached object tables.
size_t cached_table_count();
// Number of those whose address index is built: symbol_at() builds it at
// its first use in the object, lookup_symbol() never does.
size_t address_indexed_table_count();
}  // namespace for_testing

}  // namespace uklp::rt
