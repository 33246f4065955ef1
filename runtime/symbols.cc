// symbols.cc: the kallsyms of a process (the contract is symbols.h).
//
// Algorithm.
//  1. Objects. dl_iterate_phdr() gives each object's load bias and program
//     headers; the PT_LOAD ranges, the build-id (PT_NOTE) and DT_SONAME
//     (PT_DYNAMIC) are read from memory, so listing objects opens no file.
//  2. Tables. The first lookup in an object opens its file (the mapped inode
//     through /proc/self/map_files, else its path; the build-id must match),
//     picks the symbol table (.symtab, else separate debug info, else
//     .dynsym) and builds an ObjectTable: the counted symbols in table order,
//     a hash index of their names for sympos, and the sorted pad addresses
//     of __patchable_function_entries read from memory (already relocated).
//     The name index is a bucket sort by name hash (one pass to count, one
//     to place: no string is compared while indexing), stable, so a bucket,
//     and the entries of one name within it, stay in table order. The index
//     sorted by address, which only symbol_at() needs, is built at the first
//     symbol_at() in the object. Issue 5 wants 1000 names of an object with
//     100,000 symbols in under 10 ms, first lookup included: sorting the
//     names (by memcmp; mangled C++ names share long prefixes) took about
//     55 % of 31-42 ms, sorting the addresses 18 %. With the hash index and
//     the lazy address index it took 11-12 ms on a loaded machine, and with
//     the entries reserved at once instead of grown (copies, page faults)
//     3-5 ms, mostly reading the entries through elf::ElfFile
//     (benchmarks/symbol_lookup.cc; docs/design.md, "Issue 5 targets").
//     Tables are cached by (start, build-id, path) and keep their file
//     mapped, so names are views into it and nothing is copied per symbol.
//  3. Lookup. klp_find_object_symbol(): the matches of the name's bucket, in
//     table order; sympos 0 wants exactly one, N takes the N-th.
//
// Constraints.
//  - Runs inside the target, built with -fno-exceptions: every failure is a
//    Status; nothing here throws.
//  - One mutex guards the state, the tables included: symbol_at() (the
//    control thread symbolizing stacks, control.cc) builds a table's
//    address index under it, so no other call sees one half built. Lock
//    order: it, then the loader's lock taken by dl_iterate_phdr(); the
//    callback takes no lock of ours.
//  - Memory of a loaded object is read only inside one of its readable
//    PT_LOAD ranges, so a lying file (section addresses) cannot fault us.
//  - lookup_symbol() and has_patchable_pad() trust a cached table until
//    forget_unloaded_objects(): re-checking the object list would cost a
//    dl_iterate_phdr per lookup. symbol_at() takes addresses from anywhere
//    (stacks), so it always resolves them against the live object list.
#include "symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <climits>
#include <compare>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <utility>

#include "elf_file.h"

namespace uklp::rt {
namespace {

// -fpatchable-function-entry=16,14: the pad starts 14 bytes before the entry
// and __patchable_function_entries records that first pad byte.
constexpr uintptr_t kPadBytesBeforeEntry = 14;
// An ambiguity message lists at most this many candidates.
constexpr size_t kMaxListedCandidates = 16;
constexpr const char* kDefaultDebugRoot = "/usr/lib/debug";

// ------------------------------------------------------------ small helpers

std::string hex(uint64_t v, bool prefix = true) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  return (prefix ? "0x" : "") + std::string(buf, r.ptr);
}

uintptr_t page_size() {
  static const uintptr_t size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return size;
}
uintptr_t page_down(uintptr_t a) { return a & ~(page_size() - 1); }
uintptr_t page_up(uintptr_t a) { return page_down(a + page_size() - 1); }

std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view dir_name(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

// The whole of a small (proc) file. Plain read(): a proc file is produced
// per read call, so one pass with a large buffer sees a consistent list.
Result<std::string> read_text_file(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error(errno, std::string("cannot open '") + path + "'");
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      if (n < 0) return error(e, std::string("cannot read '") + path + "'");
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

// ----------------------------------------------------------------- objects

struct Segment {
  uintptr_t start = 0;  // runtime address of p_vaddr
  uintptr_t end = 0;    // start + p_memsz
  uint64_t file_offset = 0;
  bool readable = false;
};

// One entry of dl_iterate_phdr(), with what the filters need.
struct ObjectRecord {
  LoadedObject obj;
  std::vector<Segment> loads;  // PT_LOAD, in program header order
  bool is_vdso = false;
  bool is_runtime = false;
  bool hidden = false;

  bool visible() const { return !is_vdso && !is_runtime && !hidden; }
  bool contains(uintptr_t a) const { return a >= obj.start && a < obj.end; }
  // [addr, addr + len) lies inside one readable PT_LOAD.
  bool readable(uintptr_t addr, uint64_t len) const {
    for (const auto& s : loads)
      if (s.readable && addr >= s.start && addr <= s.end && len <= s.end - addr) return true;
    return false;
  }
};

std::vector<Segment> load_segments(const dl_phdr_info& info) {
  std::vector<Segment> out;
  for (unsigned i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t start = info.dlpi_addr + ph.p_vaddr;
    out.push_back({start, start + ph.p_memsz, ph.p_offset, (ph.p_flags & PF_R) != 0});
  }
  return out;
}

void set_range(ObjectRecord& r) {
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (const auto& s : r.loads) {
    lo = std::min(lo, s.start);
    hi = std::max(hi, s.end);
  }
  r.obj.start = page_down(lo);
  r.obj.end = page_up(hi);
}

std::string build_id_in_memory(const dl_phdr_info& info, const ObjectRecord& r) {
  for (unsigned i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    uintptr_t addr = info.dlpi_addr + ph.p_vaddr;
    if (ph.p_type != PT_NOTE || !r.readable(addr, ph.p_filesz)) continue;
    std::string id = elf::build_id_from_notes(
        {reinterpret_cast<const uint8_t*>(addr), ph.p_filesz}, ph.p_align);
    if (!id.empty()) return id;
  }
  return {};
}

// A NUL-terminated string at `addr`, at most `max` bytes, inside the object.
std::string string_in_memory(const ObjectRecord& r, uintptr_t addr, uint64_t max) {
  if (!r.readable(addr, max)) return {};
  const char* s = reinterpret_cast<const char*>(addr);
  const void* nul = std::memchr(s, 0, max);
  return nul ? std::string(s, static_cast<const char*>(nul)) : std::string();
}

// DT_SONAME from the PT_DYNAMIC in memory.
std::string soname_in_memory(const dl_phdr_info& info, const ObjectRecord& r) {
  for (unsigned i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    uintptr_t addr = info.dlpi_addr + ph.p_vaddr;
    if (ph.p_type != PT_DYNAMIC || !r.readable(addr, ph.p_memsz)) continue;
    const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(addr);
    uint64_t soname = UINT64_MAX, strtab = 0, strsz = 0;
    for (size_t k = 0; k < ph.p_memsz / sizeof(ElfW(Dyn)) && dyn[k].d_tag != DT_NULL; ++k) {
      if (dyn[k].d_tag == DT_SONAME) soname = dyn[k].d_un.d_val;
      if (dyn[k].d_tag == DT_STRTAB) strtab = dyn[k].d_un.d_ptr;
      if (dyn[k].d_tag == DT_STRSZ) strsz = dyn[k].d_un.d_val;
    }
    if (soname >= strsz || strtab == 0) return {};
    // glibc relocates DT_STRTAB in place when the dynamic section is
    // writable; the vDSO's and read-only ones keep the link-time value.
    if (!r.readable(strtab, strsz)) strtab += info.dlpi_addr;
    return string_in_memory(r, strtab + soname, strsz - soname);
  }
  return {};
}

std::string display_name(const LoadedObject& o) {
  if (o.is_main) return std::string(kMainObjectName);
  if (!o.soname.empty()) return o.soname;
  return std::string(base_name(o.path));
}

struct Collector {
  std::vector<ObjectRecord> records;
  bool first = true;
};

// dl_iterate_phdr callback: runs under the loader's lock, takes none of ours.
int collect_object(dl_phdr_info* info, size_t, void* data) {
  auto* c = static_cast<Collector*>(data);
  ObjectRecord r;
  r.obj.is_main = std::exchange(c->first, false);  // the main program is always reported first
  r.obj.bias = info->dlpi_addr;
  r.loads = load_segments(*info);
  if (r.loads.empty()) return 0;  // nothing mapped, nothing to look up
  set_range(r);
  r.obj.build_id = build_id_in_memory(*info, r);
  r.obj.soname = soname_in_memory(*info, r);
  if (!r.obj.is_main && info->dlpi_name) r.obj.path = info->dlpi_name;
  r.obj.name = display_name(r.obj);
  c->records.push_back(std::move(r));
  return 0;
}

// ------------------------------------------------------------------- state

struct ObjectTable;

// The path is part of the key because an object without a build-id would
// otherwise be known by its address alone.
struct TableKey {
  uintptr_t start = 0;
  std::string build_id;
  std::string path;
  auto operator<=>(const TableKey&) const = default;
};

TableKey key_of(const LoadedObject& o) { return {o.start, o.build_id, o.path}; }

struct State {
  std::mutex mu;
  std::vector<uintptr_t> hidden;  // addresses inside hidden objects
  std::map<TableKey, std::unique_ptr<ObjectTable>> tables;
  std::optional<std::vector<std::string>> debug_roots;
  bool map_files_enabled = true;
};

// Never destroyed: a thread may still look symbols up while the process exits.
State& state() {
  static State* s = new State();
  return *s;
}

std::vector<ObjectRecord> enumerate_objects(const State& s) {
  Collector c;
  dl_iterate_phdr(collect_object, &c);
  const uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
  // Any function of this file tells which object is the runtime.
  const uintptr_t self = reinterpret_cast<uintptr_t>(&enumerate_objects);
  for (auto& r : c.records) {
    r.is_vdso = vdso != 0 && r.contains(vdso);
    r.is_runtime = !r.obj.is_main && r.contains(self);
    r.hidden = std::any_of(s.hidden.begin(), s.hidden.end(), [&](uintptr_t a) { return r.contains(a); });
  }
  return std::move(c.records);
}

const ObjectRecord* record_at(const std::vector<ObjectRecord>& records, const TableKey& key) {
  for (const auto& r : records)
    if (key_of(r.obj) == key) return &r;
  return nullptr;
}

const ObjectRecord* record_containing(const std::vector<ObjectRecord>& records, uintptr_t addr) {
  for (const auto& r : records)
    if (r.contains(addr)) return &r;
  return nullptr;
}

Status not_loaded(const std::string& name) {
  return error(ENOENT, "object '" + name + "' is not loaded");
}

// UKLP_DEBUG_DIR, read once: tests point it at a temporary tree.
const std::vector<std::string>& debug_roots(State& s) {
  if (s.debug_roots) return *s.debug_roots;
  std::vector<std::string> roots;
  const char* env = getenv("UKLP_DEBUG_DIR");
  std::string_view rest = env ? env : "";
  while (!rest.empty()) {
    size_t colon = std::min(rest.find(':'), rest.size());
    if (colon > 0) roots.emplace_back(rest.substr(0, colon));
    rest.remove_prefix(std::min(colon + 1, rest.size()));
  }
  if (roots.empty()) roots.emplace_back(kDefaultDebugRoot);
  s.debug_roots = std::move(roots);
  return *s.debug_roots;
}

// ------------------------------------------------------- the object's file

struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  uint64_t offset = 0;
};

// One line of /proc/self/maps: "start-end perms offset dev inode path",
// the numbers in hex.
std::optional<Mapping> parse_maps_line(std::string_view line) {
  Mapping m;
  const char* e = line.data() + line.size();
  auto a = std::from_chars(line.data(), e, m.start, 16);
  if (a.ec != std::errc() || a.ptr == e || *a.ptr != '-') return std::nullopt;
  auto b = std::from_chars(a.ptr + 1, e, m.end, 16);
  if (b.ec != std::errc() || b.ptr == e || *b.ptr != ' ') return std::nullopt;
  const char* perms_end = std::find(b.ptr + 1, e, ' ');
  if (perms_end == e) return std::nullopt;
  auto c = std::from_chars(perms_end + 1, e, m.offset, 16);
  if (c.ec != std::errc()) return std::nullopt;
  return m;
}

// /proc/self/map_files/<range> of the mapping that holds the object's first
// PT_LOAD (the one at file offset 0 for ordinary objects).
Result<std::string> map_files_path(const ObjectRecord& r) {
  const Segment& first = r.loads.front();
  const uintptr_t want_start = page_down(first.start);
  const uint64_t want_offset = first.file_offset & ~uint64_t{page_size() - 1};
  UKLP_ASSIGN_OR_RETURN(std::string maps, read_text_file("/proc/self/maps"));
  std::string_view rest = maps;
  while (!rest.empty()) {
    size_t nl = std::min(rest.find('\n'), rest.size());
    auto m = parse_maps_line(rest.substr(0, nl));
    rest.remove_prefix(std::min(nl + 1, rest.size()));
    if (!m || m->start != want_start || m->offset != want_offset) continue;
    // map_files names use %lx: no zero padding, unlike /proc/self/maps.
    return "/proc/self/map_files/" + hex(m->start, false) + "-" + hex(m->end, false);
  }
  return error(ENOENT, "no mapping of it at " + hex(want_start) + " in /proc/self/maps");
}

// ESTALE marks "another build of the file" for describe_*_failure() below.
Result<std::unique_ptr<elf::ElfFile>> open_checked(const std::string& path, const LoadedObject& obj) {
  UKLP_ASSIGN_OR_RETURN(auto file, elf::ElfFile::open_path(path));
  if (obj.build_id.empty()) return file;  // nothing to compare: trusted, see symbols.h
  std::string id = file->build_id();
  if (id != obj.build_id)
    return error(ESTALE, "build-id " + (id.empty() ? std::string("none") : id) + " != " + obj.build_id);
  return file;
}

std::string describe_path_failure(const Status& s, const std::string& path) {
  if (s.code() == ESTALE) return "its file was replaced on disk (" + s.message() + ")";
  if (s.code() == ENOENT) return "its file '" + path + "' was deleted or renamed";
  return s.describe();
}

std::string describe_map_files_failure(const Status& s) {
  if (s.code() == ESTALE) return "its mapped file has another build too (" + s.message() + ")";
  if (s.code() == EPERM || s.code() == EACCES || s.code() == ENOENT)
    return std::string("/proc/self/map_files is not accessible (") + std::strerror(s.code()) + ")";
  return s.describe();
}

// The vDSO has no file: its image in memory is a complete ELF file.
Result<std::unique_ptr<elf::ElfFile>> open_vdso_image(const ObjectRecord& r) {
  return elf::ElfFile::from_bytes(
      {reinterpret_cast<const uint8_t*>(r.obj.start), r.obj.end - r.obj.start}, "[vdso]");
}

// The file the object was loaded from: map_files (the mapped inode even if
// the path was replaced or deleted), then the path. Both must carry the
// object's build-id.
Result<std::unique_ptr<elf::ElfFile>> open_object_file(const ObjectRecord& r, bool use_map_files) {
  if (r.is_vdso) return open_vdso_image(r);
  Status map_files_failure = error(EPERM, "disabled");
  if (use_map_files) {
    auto path = map_files_path(r);
    auto file = path ? open_checked(*path, r.obj) : Result<std::unique_ptr<elf::ElfFile>>(path.status());
    if (file) return file;
    map_files_failure = file.status();
  }
  const std::string path = r.obj.is_main ? "/proc/self/exe" : r.obj.path;
  auto file = open_checked(path, r.obj);
  if (file) return file;
  return error(EINVAL, "cannot read the symbols of '" + r.obj.name + "': " +
                           describe_path_failure(file.status(), path) + " and " +
                           describe_map_files_failure(map_files_failure));
}

// ------------------------------------------------------ separate debug info

// A debug file is accepted when it has a .symtab and is the object's: the
// same build-id when both have one, else the CRC32 of its debuglink.
std::unique_ptr<elf::ElfFile> open_debug_candidate(const std::string& path, const std::string& build_id,
                                                   std::optional<uint32_t> crc) {
  auto f = elf::ElfFile::open_path(path);
  if (!f || !(*f)->has_symtab()) return nullptr;
  std::string id = (*f)->build_id();
  bool same = (!build_id.empty() && !id.empty())
                  ? id == build_id
                  : (crc && elf::gnu_debuglink_crc32((*f)->bytes()) == *crc);
  if (!same) return nullptr;
  return std::move(*f);
}

// The directory of the object's file, absolute, for the debuglink search.
std::string object_dir(const ObjectRecord& r) {
  std::string path = r.obj.path;
  if (r.obj.is_main) {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    path = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    constexpr std::string_view kDeleted = " (deleted)";
    if (path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
  }
  std::string dir(dir_name(path));
  if (dir.empty() || dir[0] == '/') return dir;
  char* real = realpath(dir.c_str(), nullptr);  // dlopen("./x.so") keeps the relative name
  if (!real) return {};
  std::string out = real;
  free(real);
  return out;
}

// /usr/lib/debug/.build-id/ab/cdef....debug, then .gnu_debuglink in the
// object's directory, its .debug/ and /usr/lib/debug/<dir>/ (gdb's order).
std::unique_ptr<elf::ElfFile> find_debug_file(const ObjectRecord& r, const elf::ElfFile& object_file,
                                              const std::vector<std::string>& roots) {
  const std::string& id = r.obj.build_id;
  if (id.size() > 2)
    for (const auto& root : roots)
      if (auto f = open_debug_candidate(root + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug",
                                        id, std::nullopt))
        return f;
  auto link = object_file.debuglink();
  std::string dir = object_dir(r);
  if (!link || link->first.empty() || dir.empty()) return nullptr;
  if (dir == "/") dir.clear();
  std::vector<std::string> candidates = {dir + "/" + link->first, dir + "/.debug/" + link->first};
  for (const auto& root : roots) candidates.push_back(root + dir + "/" + link->first);
  for (const auto& path : candidates)
    if (auto f = open_debug_candidate(path, id, link->second)) return f;
  return nullptr;
}

// ------------------------------------------------------------------ tables

struct SymbolEntry {
  std::string_view name;  // into ObjectTable::file
  uintptr_t address = 0;
  uint64_t size = 0;
  uint32_t index = 0;  // in its symbol table
  unsigned char type = 0;
  bool local = false;
  bool zero_value = false;  // st_value 0: "not found" by the kernel's rule
};

struct ObjectTable {
  std::string object_name;
  bool dynsym_only = false;
  std::unique_ptr<elf::ElfFile> file;  // the symbol file, kept mapped for the names
  std::vector<SymbolEntry> entries;    // table order
  std::vector<uint32_t> by_name;       // entries by bucket of their name's hash, table order within one
  std::vector<uint32_t> name_buckets;  // bucket b: by_name[name_buckets[b] .. name_buckets[b + 1])
  // Built by the first symbol_at() in the object (index_by_address()).
  bool address_indexed = false;
  std::vector<uint32_t> by_address;    // FUNC/IFUNC/OBJECT entries sorted by address
  std::vector<uintptr_t> max_end;      // max end of by_address[0..i], bounds symbol_at's scan
  std::vector<uintptr_t> pads;         // sorted first pad bytes (entry - 14)
};

// The types klp_find_object_symbol() counts (kallsyms has no SECTION/FILE).
bool counted_type(unsigned char t) {
  return t == STT_FUNC || t == STT_OBJECT || t == STT_GNU_IFUNC || t == STT_TLS || t == STT_NOTYPE;
}

// The types symbol_at() returns: code and data with an extent.
bool addressed_type(unsigned char t) { return t == STT_FUNC || t == STT_OBJECT || t == STT_GNU_IFUNC; }

uintptr_t runtime_address(const elf::Symbol& s, uintptr_t bias) {
  if (s.type() == STT_TLS || s.sym.st_shndx == SHN_ABS) return s.sym.st_value;
  return s.sym.st_value + bias;
}

// The number of symbols in the table of `section_type` (bounded by the file
// size: parse() checks the extent of every section that has bytes).
size_t symbol_count(const elf::ElfFile& f, unsigned section_type) {
  for (const auto& sec : f.sections())
    if (sec.hdr.sh_type == section_type) return sec.hdr.sh_size / sizeof(Elf64_Sym);
  return 0;
}

Status read_entries(ObjectTable& t, unsigned section_type, uintptr_t bias) {
  // Reserved at once: growing by doubling copied the entries and faulted in
  // twice their memory (100,000 symbols: 4 MB of entries).
  t.entries.reserve(symbol_count(*t.file, section_type));
  Status s = t.file->for_each_symbol(section_type, [&](const elf::Symbol& sym) {
    if (!sym.defined() || sym.name.empty() || !counted_type(sym.type())) return true;
    t.entries.push_back({sym.name, runtime_address(sym, bias), sym.sym.st_size, sym.index, sym.type(),
                         sym.bind() == STB_LOCAL, sym.sym.st_value == 0 && sym.type() != STT_TLS});
    return true;
  });
  if (!s) return error(EINVAL, "cannot read the symbols of '" + t.object_name + "': " + s.message());
  return Status::ok();
}

// The bucket of `name` among `buckets` (a power of two).
size_t name_bucket(std::string_view name, size_t buckets) {
  return std::hash<std::string_view>{}(name) & (buckets - 1);
}

// A counting sort of the entries by the bucket of their name: count each
// bucket's entries, turn the counts into bucket ends, then place the entries
// from the last one down, each just below its bucket's end. Equal names share
// a bucket and keep table order in it, which is what sympos counts. The
// bucket count is the power of two at or above the entry count: at most one
// entry per bucket on average, 4 bytes per bucket.
void index_by_name(ObjectTable& t) {
  const size_t n = t.entries.size();
  const size_t buckets = std::bit_ceil(std::max<size_t>(n, 1));
  std::vector<uint32_t> bucket_of(n);  // the hashes are computed once
  t.name_buckets.assign(buckets + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    bucket_of[i] = static_cast<uint32_t>(name_bucket(t.entries[i].name, buckets));
    ++t.name_buckets[bucket_of[i]];
  }
  std::partial_sum(t.name_buckets.begin(), t.name_buckets.end(), t.name_buckets.begin());
  t.by_name.resize(n);
  for (size_t i = n; i-- > 0;) t.by_name[--t.name_buckets[bucket_of[i]]] = static_cast<uint32_t>(i);
  // Now name_buckets[b] is the start of bucket b and name_buckets[buckets], n.
}

// The entries symbol_at() returns as (address, table index), sorted. Pairs
// side by side: comparing through the entries, 40 bytes apart, misses the
// cache (100,000 symbols on a loaded 2-vCPU machine: a first symbol_at() of
// 13 ms against 16-25 ms).
std::vector<std::pair<uintptr_t, uint32_t>> sorted_by_address(const ObjectTable& t) {
  std::vector<std::pair<uintptr_t, uint32_t>> order;
  order.reserve(t.entries.size());
  for (uint32_t i = 0; i < t.entries.size(); ++i) {
    const SymbolEntry& e = t.entries[i];
    if (addressed_type(e.type) && !e.zero_value) order.emplace_back(e.address, i);
  }
  std::sort(order.begin(), order.end());
  return order;
}

// At the first symbol_at() in the object, under State::mu like every use of
// a table: patching looks names up and never needs it.
void index_by_address(ObjectTable& t) {
  if (t.address_indexed) return;
  t.address_indexed = true;
  auto order = sorted_by_address(t);
  t.by_address.reserve(order.size());
  t.max_end.reserve(order.size());
  uintptr_t max_end = 0;
  for (auto [address, i] : order) {
    const SymbolEntry& e = t.entries[i];
    uintptr_t end = e.size > UINTPTR_MAX - address ? UINTPTR_MAX : address + e.size;
    max_end = std::max(max_end, end);
    t.by_address.push_back(i);
    t.max_end.push_back(max_end);
  }
}

// The pads listed by __patchable_function_entries, read from memory where
// the dynamic linker relocates them (R_X86_64_RELATIVE in a PIC object).
std::vector<uintptr_t> read_pads(const elf::ElfFile& object_file, const ObjectRecord& r) {
  std::vector<uintptr_t> pads;
  for (const auto& s : object_file.sections()) {
    if (s.name != "__patchable_function_entries" || !(s.hdr.sh_flags & SHF_ALLOC)) continue;
    uintptr_t addr = r.obj.bias + s.hdr.sh_addr;
    if (s.hdr.sh_size % sizeof(uintptr_t) != 0 || !r.readable(addr, s.hdr.sh_size)) continue;
    size_t old = pads.size();
    pads.resize(old + s.hdr.sh_size / sizeof(uintptr_t));
    std::memcpy(pads.data() + old, reinterpret_cast<const void*>(addr), s.hdr.sh_size);
    // A library that is being loaded (dlhook.h) is not relocated yet: its
    // entries still hold link-time addresses.
    for (size_t i = old; i < pads.size(); ++i)
      if (r.obj.bias && !r.contains(pads[i]) && r.contains(pads[i] + r.obj.bias)) pads[i] += r.obj.bias;
  }
  std::sort(pads.begin(), pads.end());
  pads.erase(std::unique(pads.begin(), pads.end()), pads.end());
  return pads;
}

// .symtab, else separate debug info, else .dynsym.
Status read_symbols(ObjectTable& t, const ObjectRecord& r, std::unique_ptr<elf::ElfFile> object_file,
                    const std::vector<std::string>& roots) {
  unsigned type = SHT_SYMTAB;
  if (object_file->has_symtab()) {
    t.file = std::move(object_file);
  } else if (auto debug = r.is_vdso ? nullptr : find_debug_file(r, *object_file, roots)) {
    t.file = std::move(debug);
  } else {
    t.file = std::move(object_file);
    t.dynsym_only = true;
    type = SHT_DYNSYM;
  }
  return read_entries(t, type, r.obj.bias);
}

Result<std::unique_ptr<ObjectTable>> load_table(const ObjectRecord& r, const std::vector<std::string>& roots,
                                                bool use_map_files) {
  UKLP_ASSIGN_OR_RETURN(auto object_file, open_object_file(r, use_map_files));
  auto t = std::make_unique<ObjectTable>();
  t->object_name = r.obj.name;
  t->pads = read_pads(*object_file, r);
  UKLP_TRY(read_symbols(*t, r, std::move(object_file), roots));
  index_by_name(*t);
  return t;
}

Result<ObjectTable*> table_for_record(State& s, const ObjectRecord& r) {
  TableKey key = key_of(r.obj);
  auto it = s.tables.find(key);
  if (it != s.tables.end()) return it->second.get();
  UKLP_ASSIGN_OR_RETURN(auto t, load_table(r, debug_roots(s), s.map_files_enabled));
  ObjectTable* p = t.get();
  s.tables.emplace(std::move(key), std::move(t));
  return p;
}

// The cached table of `obj`, else a new one if `obj` is still loaded.
Result<const ObjectTable*> table_for(State& s, const LoadedObject& obj) {
  auto it = s.tables.find(key_of(obj));
  if (it != s.tables.end()) return it->second.get();
  auto records = enumerate_objects(s);
  const ObjectRecord* r = record_at(records, key_of(obj));
  if (!r) return not_loaded(obj.name);
  UKLP_ASSIGN_OR_RETURN(const ObjectTable* t, table_for_record(s, *r));
  return t;
}

// ------------------------------------------------------------------ lookup

// The entries named `name`, in table order (sympos 1, 2, ...).
std::vector<uint32_t> entries_named(const ObjectTable& t, std::string_view name) {
  size_t b = name_bucket(name, t.name_buckets.size() - 1);
  std::vector<uint32_t> out;
  for (uint32_t k = t.name_buckets[b]; k < t.name_buckets[b + 1]; ++k)
    if (t.entries[t.by_name[k]].name == name) out.push_back(t.by_name[k]);
  return out;
}

SymbolInfo to_info(const ObjectTable& t, const SymbolEntry& e) {
  return {std::string(e.name), e.address, e.size, e.type, e.local, t.object_name};
}

Status not_found(const ObjectTable& t, std::string_view name) {
  std::string msg = "symbol '" + std::string(name) + "' not found in symbol table of object '" +
                    t.object_name + "'";
  if (t.dynsym_only) msg += " (it has no .symtab and no separate debug info was found: only .dynsym)";
  return error(EINVAL, msg);
}

Status ambiguous(const ObjectTable& t, std::string_view name, std::span<const uint32_t> matches) {
  std::string msg = "unresolvable ambiguity for symbol '" + std::string(name) + "' in object '" +
                    t.object_name + "': " + std::to_string(matches.size()) + " candidates: ";
  for (size_t i = 0; i < matches.size() && i < kMaxListedCandidates; ++i) {
    const SymbolEntry& e = t.entries[matches[i]];
    msg += (i ? ", " : "") + std::string(name) + " at " + hex(e.address) + " size " + hex(e.size);
  }
  if (matches.size() > kMaxListedCandidates)
    msg += ", and " + std::to_string(matches.size() - kMaxListedCandidates) + " more";
  msg += "; use old_sympos 1.." + std::to_string(matches.size());
  return error(EINVAL, msg);
}

Status position_missing(const ObjectTable& t, std::string_view name, unsigned long sympos, size_t count) {
  return error(EINVAL, "symbol position " + std::to_string(sympos) + " for symbol '" + std::string(name) +
                           "' in object '" + t.object_name + "' not found (" + std::to_string(count) +
                           (count == 1 ? " occurrence)" : " occurrences)"));
}

// klp_find_object_symbol()'s verdict (kernel-implementation-notes.md 2.4).
Result<SymbolInfo> resolve(const ObjectTable& t, std::string_view name, unsigned long sympos) {
  std::vector<uint32_t> matches = entries_named(t, name);
  if (matches.empty()) return not_found(t, name);
  if (sympos == 0 && matches.size() > 1) return ambiguous(t, name, matches);
  if (sympos > matches.size()) return position_missing(t, name, sympos, matches.size());
  const SymbolEntry& e = t.entries[matches[sympos ? sympos - 1 : 0]];
  if (e.zero_value) return not_found(t, name);
  return to_info(t, e);
}

bool covers(const SymbolEntry& e, uintptr_t addr) {
  return e.size == 0 ? addr == e.address : addr >= e.address && addr - e.address < e.size;
}

// Among symbols covering one address: the innermost, then sized, then
// global (an alias is usually the public name), then the first in the table.
bool better(const SymbolEntry& a, const SymbolEntry& b) {
  if (a.address != b.address) return a.address > b.address;
  if ((a.size != 0) != (b.size != 0)) return a.size != 0;
  if (a.local != b.local) return !a.local;
  return a.index < b.index;
}

const SymbolEntry* entry_containing(const ObjectTable& t, uintptr_t addr) {
  auto it = std::upper_bound(t.by_address.begin(), t.by_address.end(), addr,
                             [&](uintptr_t a, uint32_t i) { return a < t.entries[i].address; });
  const SymbolEntry* best = nullptr;
  for (size_t k = static_cast<size_t>(it - t.by_address.begin()); k-- > 0;) {
    const SymbolEntry& e = t.entries[t.by_address[k]];
    // Below k nothing ends after addr: no symbol further down can cover it.
    if (e.address != addr && t.max_end[k] <= addr) break;
    if (covers(e, addr) && (!best || better(e, *best))) best = &e;
  }
  return best;
}

}  // namespace

// ------------------------------------------------------------- public API

bool LoadedObject::matches(const char* klp_name) const {
  if (!klp_name || kMainObjectName == klp_name) return is_main;
  if (*klp_name == '\0') return false;
  return (!soname.empty() && soname == klp_name) || (!path.empty() && base_name(path) == klp_name);
}

std::vector<LoadedObject> loaded_objects() {
  State& s = state();
  std::lock_guard lock(s.mu);
  std::vector<LoadedObject> out;
  for (auto& r : enumerate_objects(s))
    if (r.visible()) out.push_back(std::move(r.obj));
  return out;
}

Result<LoadedObject> find_object(const char* klp_name) {
  State& s = state();
  std::lock_guard lock(s.mu);
  for (auto& r : enumerate_objects(s))
    if (r.visible() && r.obj.matches(klp_name)) return std::move(r.obj);
  return not_loaded(klp_name ? klp_name : std::string(kMainObjectName));
}

Result<LoadedObject> object_containing(uintptr_t addr) {
  State& s = state();
  std::lock_guard lock(s.mu);
  for (auto& r : enumerate_objects(s))
    if (r.visible() && r.contains(addr)) return std::move(r.obj);
  return error(ENOENT, "no patchable object contains address " + hex(addr));
}

Result<SymbolInfo> lookup_symbol(const LoadedObject& obj, std::string_view name, unsigned long sympos) {
  State& s = state();
  std::lock_guard lock(s.mu);
  UKLP_ASSIGN_OR_RETURN(const ObjectTable* t, table_for(s, obj));
  return resolve(*t, name, sympos);
}

Result<SymbolInfo> symbol_at(uintptr_t addr) {
  State& s = state();
  std::lock_guard lock(s.mu);
  // The live list, not a cached range: another library may have been mapped
  // where an unloaded one was (the table key tells them apart).
  auto records = enumerate_objects(s);
  const ObjectRecord* r = record_containing(records, addr);
  if (!r) return error(ENOENT, "no loaded object contains address " + hex(addr));
  UKLP_ASSIGN_OR_RETURN(ObjectTable* t, table_for_record(s, *r));
  index_by_address(*t);
  const SymbolEntry* e = entry_containing(*t, addr);
  if (!e) return error(ENOENT, "no symbol of object '" + t->object_name + "' contains address " + hex(addr));
  return to_info(*t, *e);
}

bool has_patchable_pad(const LoadedObject& obj, uintptr_t entry) {
  State& s = state();
  std::lock_guard lock(s.mu);
  auto t = table_for(s, obj);
  if (!t || entry < kPadBytesBeforeEntry) return false;
  return std::binary_search((*t)->pads.begin(), (*t)->pads.end(), entry - kPadBytesBeforeEntry);
}

void hide_object(uintptr_t any_address_inside) {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (std::find(s.hidden.begin(), s.hidden.end(), any_address_inside) == s.hidden.end())
    s.hidden.push_back(any_address_inside);
}

void unhide_object(uintptr_t any_address_inside) {
  State& s = state();
  std::lock_guard lock(s.mu);
  auto records = enumerate_objects(s);
  const ObjectRecord* r = record_containing(records, any_address_inside);
  std::erase_if(s.hidden, [&](uintptr_t a) { return a == any_address_inside || (r && r->contains(a)); });
}

void forget_unloaded_objects() {
  State& s = state();
  std::lock_guard lock(s.mu);
  auto records = enumerate_objects(s);
  std::erase_if(s.tables, [&](const auto& kv) { return !record_at(records, kv.first); });
  std::erase_if(s.hidden, [&](uintptr_t a) { return !record_containing(records, a); });
}

namespace for_testing {

void set_map_files_enabled(bool enabled) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.map_files_enabled = enabled;
}

size_t cached_table_count() {
  State& s = state();
  std::lock_guard lock(s.mu);
  return s.tables.size();
}

size_t address_indexed_table_count() {
  State& s = state();
  std::lock_guard lock(s.mu);
  return static_cast<size_t>(std::count_if(s.tables.begin(), s.tables.end(),
                                           [](const auto& kv) { return kv.second->address_indexed; }));
}

}  // namespace for_testing
}  // namespace uklp::rt
