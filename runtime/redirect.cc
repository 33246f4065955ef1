// redirect.cc: see redirect.h.
//
// Arming a site (the first func pushed):
//   1. allocate its slot within 2 GiB of the pad and store the target;
//   2. write the pad's `jmp *slot(%rip)` (no thread executes the pad yet);
//   3. switch the two entry NOPs to `jmp pad` with text_poke.h's int3
//      protocol (a thread that traps meanwhile resumes at the pad), for
//      all of an object's sites at once (switch_entries).
// Retargeting is one release store to the slot. Disarming (the last func
// popped) points the slot at the original body, then puts the entry NOPs
// back with the same protocol. The pad keeps its jump, so a late int3 trap
// still lands on a valid path. Site records live as long as their object:
// a library being unmapped takes its sites along (forget_object), without
// a write to its code; slots are never freed.
#include "redirect.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>

#include "log.h"
#include "symbols.h"
#include "task.h"
#include "text_poke.h"

namespace uklp::rt {
namespace {

std::map<uintptr_t, Site*>& sites() {
  static auto* m = new std::map<uintptr_t, Site*>();
  return *m;
}

// Slots: 8-byte cells on pages mapped within 2 GiB of the pads using them.
struct SlotPage {
  uintptr_t base = 0;
  size_t used = 0;
};
constexpr size_t kPage = 4096;
constexpr size_t kSlotsPerPage = kPage / sizeof(uint64_t);
constexpr int64_t kReach = (int64_t{1} << 31) - 2 * kPage;

std::vector<SlotPage>& slot_pages() {
  static auto* v = new std::vector<SlotPage>();
  return *v;
}

bool within_reach(uintptr_t from, uintptr_t to) {
  int64_t d = int64_t(to) - int64_t(from);
  return d > -kReach && d < kReach;
}

Result<uintptr_t> map_page_near(uintptr_t near) {
  uintptr_t origin = near & ~(uintptr_t(1 << 20) - 1);
  for (int64_t step = 1; step < 2000; ++step) {
    for (int dir : {-1, 1}) {
      uintptr_t hint = origin + uintptr_t(dir * step * int64_t(1 << 20));
      void* p = mmap(reinterpret_cast<void*>(hint), kPage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p == MAP_FAILED) continue;
      if (within_reach(near, uintptr_t(p))) return uintptr_t(p);
      munmap(p, kPage);
    }
  }
  return error(ENOMEM, "no free memory within 2 GiB of the function to hold its jump slot");
}

Result<std::atomic<uintptr_t>*> alloc_slot(uintptr_t pad) {
  for (auto& pg : slot_pages()) {
    if (pg.used < kSlotsPerPage && within_reach(pad, pg.base))
      return reinterpret_cast<std::atomic<uintptr_t>*>(pg.base + 8 * pg.used++);
  }
  UKLP_ASSIGN_OR_RETURN(uintptr_t base, map_page_near(pad));
  slot_pages().push_back({base, 1});
  return reinterpret_cast<std::atomic<uintptr_t>*>(base);
}

Result<Site*> create_site(Func* func, const std::string& object_name) {
  UKLP_ASSIGN_OR_RETURN(LoadedObject obj, object_containing(func->old_addr));
  if (!has_patchable_pad(obj, func->old_addr)) {
    klp_log(Level::err, "failed to find location for function '%s'", func->old_name.c_str());
    return error(EINVAL, "function '" + func->old_name + "' in object '" + object_name +
                             "' has no patchable entry; compile it with -fpatchable-function-entry=16,14");
  }
  x86::Entry e;
  if (x86::classify_entry(func->old_addr, &e) != x86::EntryState::pristine) {
    klp_log(Level::err, "failed to register ftrace handler for function '%s' (%d)", func->old_name.c_str(), -EBUSY);
    return error(EBUSY, "the entry of function '" + func->old_name + "' in object '" + object_name +
                            "' was changed by something else (a debugger breakpoint, a uprobe or another "
                            "hooking tool?): pad and entry bytes are " +
                            hex_bytes(reinterpret_cast<const void*>(func->old_addr - x86::kPadSize), x86::kPadSize + 6));
  }
  UKLP_TRY(text_init());
  UKLP_ASSIGN_OR_RETURN(auto* slot, alloc_slot(e.pad));
  slot->store(e.continuation(), std::memory_order_release);
  std::vector<uint8_t> jump = e.pad_jump(uintptr_t(slot));
  if (jump.empty()) return error(ENOMEM, "jump slot out of reach");
  if (e.hop) UKLP_TRY(data_poke(e.hop, e.hop_jump()));
  UKLP_TRY(text_poke(e.pad, jump));
  auto* site = new Site();
  site->entry = func->old_addr;
  site->pad = e;
  site->slot = slot;
  sites()[func->old_addr] = site;
  return site;
}

// One entry to change: its two bytes become `to`.
struct EntrySwitch {
  Site* site;
  std::array<uint8_t, 2> to;
};

// While patch_object / unpatch_object run, entry changes are collected here
// and made together (switch_entries); otherwise at once.
std::vector<EntrySwitch>* g_batch = nullptr;

// The int3 protocol for many entries at once, as the kernel's
// text_poke_bp_batch: every first byte to int3, one sync; every second
// byte, one sync; every first byte, one sync. A thread between GCC's two
// NOPs runs the new second byte, `clc`, or the old NOP: no thread needs
// moving (insn.h). Threads that block SIGTRAP are held stopped meanwhile,
// and nothing is allocated while they are.
Status switch_entries(std::span<const EntrySwitch> v) {
  if (v.empty()) return Status::ok();
  const uint8_t int3 = x86::kInt3;
  ThreadHold hold;  // released on return, once every entry is whole again
  std::vector<ThreadCheck> held;
  UKLP_TRY(hold_sigtrap_blockers(hold, held));
  for (const EntrySwitch& e : v) UKLP_TRY(add_trap_redirect(e.site->pad.nops, e.site->pad.pad));
  size_t trapped = 0;
  // Back to the bytes as they were, when a step fails half-way.
  auto undo = [&](Status s) {
    for (size_t i = 0; i < trapped; ++i) (void)data_poke(v[i].site->pad.nops, {&v[i].site->pad.original[0], 1});
    sync_cores();
    return s;
  };
  for (; trapped < v.size(); ++trapped)
    if (Status s = data_poke(v[trapped].site->pad.nops, {&int3, 1}); !s) return undo(s);
  sync_cores();
  for (const EntrySwitch& e : v) UKLP_TRY(data_poke(e.site->pad.nops + 1, {&e.to[1], 1}));
  sync_cores();
  for (const EntrySwitch& e : v) UKLP_TRY(data_poke(e.site->pad.nops, {&e.to[0], 1}));
  sync_cores();
  return Status::ok();
}

Status switch_entry(Site* site, std::array<uint8_t, 2> to) {
  if (g_batch) {
    g_batch->push_back({site, to});
    return Status::ok();
  }
  EntrySwitch one{site, to};
  return switch_entries({&one, 1});
}

// Collects the entry changes of one object's funcs (see g_batch).
class EntryBatch {
 public:
  EntryBatch() { g_batch = &switches_; }
  ~EntryBatch() { g_batch = nullptr; }
  EntryBatch(const EntryBatch&) = delete;
  EntryBatch& operator=(const EntryBatch&) = delete;
  // Makes the changes collected so far.
  Status flush() {
    g_batch = nullptr;
    return switch_entries(switches_);
  }
  const std::vector<EntrySwitch>& switches() const { return switches_; }

 private:
  std::vector<EntrySwitch> switches_;
};

Status arm(Site* site, bool fresh) {
  x86::Writer w(site->pad.nops);
  if (!w.put_jmp_rel8(site->pad.jump_target()) || w.bytes()[1] != x86::kEntryJumpRel)
    return error(EINVAL, "pad out of reach");
  std::array<uint8_t, 2> jmp{w.bytes()[0], w.bytes()[1]};
  if (fresh)
    UKLP_TRY(text_poke(site->pad.nops, jmp));
  else
    UKLP_TRY(switch_entry(site, jmp));
  site->armed = true;
  return Status::ok();
}

void disarm(Site* site) {
  site->slot->store(site->pad.continuation(), std::memory_order_release);
  Status s = switch_entry(site, site->pad.original);
  if (!s) klp_log(Level::warning, "cannot restore the entry of function at 0x%" PRIxPTR ": %s", site->entry,
                  s.describe().c_str());
  site->armed = false;
}

// Transition stubs: kStubSize-byte blocks on read+exec pages, written
// through /proc/self/mem before any slot points at them. A stub is used
// for one transition of one site and never reused: a thread preempted
// inside one may resume at any later time (see docs/design.md).
std::vector<uintptr_t>& stub_page_list() {
  static auto* v = new std::vector<uintptr_t>();
  return *v;
}

Result<uintptr_t> alloc_stub() {
  static size_t used = kPage;
  if (used + x86::kStubSize > kPage) {
    void* p = mmap(nullptr, kPage, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return error(ENOMEM, "cannot map a page for transition stubs");
    stub_page_list().push_back(uintptr_t(p));
    used = 0;
  }
  uintptr_t at = stub_page_list().back() + used;
  used += x86::kStubSize;
  return at;
}

uintptr_t func_target(const Site* site, const Func* f) {
  return !f || f->nop ? site->pad.continuation() : f->new_addr;
}

// klp_ftrace_handler: only the top's transition flag matters. Outside a
// transition the slot holds the top func itself; during one, a stub that
// picks the top or the func below it by the calling thread's state.
Result<uintptr_t> select_target(Site* site) {
  if (site->stack.empty()) return site->pad.continuation();
  const Func* top = site->stack.back();
  if (!top->transition) return func_target(site, top);
  const Func* below = site->stack.size() > 1 ? site->stack[site->stack.size() - 2] : nullptr;
  TaskEpoch e = task_epoch();
  // The stub tests for the one state an unswitched thread cannot have (its
  // word is of an older generation, or 0): the transition's original target.
  bool patching = e.initial == KLP_TRANSITION_UNPATCHED;
  int32_t match_word = task_word(e.gen, patching ? KLP_TRANSITION_PATCHED : KLP_TRANSITION_UNPATCHED);
  uintptr_t match = func_target(site, patching ? top : below);
  uintptr_t miss = func_target(site, patching ? below : top);
  if (site->stub && site->stub_gen == e.gen && site->stub_match == match && site->stub_miss == miss)
    return site->stub;
  UKLP_ASSIGN_OR_RETURN(uintptr_t at, alloc_stub());
  auto code = x86::transition_stub(at, int32_t(task_word_tls_offset()), match_word, match, miss);
  UKLP_TRY(text_poke(at, code));  // complete before the slot's release store publishes it
  site->stub = at;
  site->stub_gen = e.gen;
  site->stub_match = match;
  site->stub_miss = miss;
  return at;
}

}  // namespace

Status site_update(Site* site) {
  UKLP_ASSIGN_OR_RETURN(uintptr_t target, select_target(site));
  site->slot->store(target, std::memory_order_release);  // pairs with the pad's `jmp *slot`
  return Status::ok();
}

namespace {

// Where no caller can undo anything: a stub that cannot be allocated is
// logged, and the slot keeps its previous target.
void site_update_or_log(Site* site) {
  if (Status s = site_update(site); !s)
    klp_log(Level::err, "cannot update the function at 0x%" PRIxPTR ": %s", site->entry, s.describe().c_str());
}

}  // namespace

void sites_update_all() {
  for (auto& [addr, site] : sites()) site_update_or_log(site);
}

std::vector<std::pair<uintptr_t, uintptr_t>> stub_pages() {
  std::vector<std::pair<uintptr_t, uintptr_t>> v;
  for (uintptr_t p : stub_page_list()) v.emplace_back(p, p + kPage);
  return v;
}

namespace {

// A disarmed site outlives its patches, and so may outlive its library: a
// library unloaded while no patch was active on it leaves the record of
// a pad that a new mapping at the same address no longer has. Its pad must
// still jump through its slot (the caller's function is mapped there).
bool pad_is_ours(const Site* site) {
  const x86::Entry& e = site->pad;
  std::vector<uint8_t> jump = e.pad_jump(uintptr_t(site->slot));
  if (jump.empty() || std::memcmp(reinterpret_cast<const void*>(e.pad), jump.data(), jump.size()) != 0) return false;
  return !e.hop || std::memcmp(reinterpret_cast<const void*>(e.hop), e.hop_jump().data(), 2) == 0;
}

}  // namespace

std::vector<std::pair<uintptr_t, uintptr_t>> site_entry_ranges() {
  std::vector<std::pair<uintptr_t, uintptr_t>> v;
  for (auto& [addr, site] : sites())
    if (site->armed) v.emplace_back(site->pad.first(), site->pad.continuation());
  return v;
}

Status site_push_func(Func* func, const std::string& object_name, bool fresh) {
  auto it = sites().find(func->old_addr);
  Site* site = nullptr;
  if (it != sites().end() && !it->second->armed && !pad_is_ours(it->second)) {
    delete it->second;
    sites().erase(it);
    it = sites().end();
  }
  if (it != sites().end()) {
    site = it->second;
  } else {
    UKLP_ASSIGN_OR_RETURN(site, create_site(func, object_name));
  }
  site->stack.push_back(func);
  func->site = site;
  Status updated = site_update(site);
  if (!updated) {
    site->stack.pop_back();
    func->site = nullptr;
    (void)site_update(site);
    return updated;
  }
  if (!site->armed) {
    Status s = arm(site, fresh);
    if (!s) {
      site->stack.pop_back();
      func->site = nullptr;
      (void)site_update(site);
      return s;
    }
  }
  func->patched = true;
  return Status::ok();
}

void site_pop_func(Func* func) {
  Site* site = func->site;
  if (!site) return;
  for (auto it = site->stack.begin(); it != site->stack.end(); ++it) {
    if (*it == func) {
      site->stack.erase(it);
      break;
    }
  }
  func->patched = false;
  func->site = nullptr;
  if (site->stack.empty()) {
    if (site->armed) disarm(site);
  } else {
    site_update_or_log(site);
  }
}

Status patch_object(Object* obj, bool fresh) {
  Status s = Status::ok();
  {
    EntryBatch batch;  // every entry of the object switched at once
    for (auto& func : obj->funcs) {
      s = site_push_func(func.get(), obj->name, fresh);
      if (!s) break;
    }
    Status flushed = batch.flush();
    if (!flushed) {
      for (const EntrySwitch& e : batch.switches()) e.site->armed = false;  // their entries are untouched
      if (s) s = flushed;
    }
  }
  if (!s) {
    unpatch_object(obj);
    return s;
  }
  obj->patched = true;
  return Status::ok();
}

void forget_object(Object* obj) {
  for (auto& func : obj->funcs) {
    Site* site = func->site;
    if (!func->patched || !site) continue;
    std::erase(site->stack, func.get());
    func->patched = false;
    func->site = nullptr;
    if (site->stack.empty()) {
      // The slot stays: the pad jumps through it until the library is unmapped.
      sites().erase(site->entry);
      delete site;
    } else {
      site_update_or_log(site);
    }
  }
  obj->patched = false;
}

void unpatch_object(Object* obj, bool nops_only) {
  EntryBatch batch;
  for (auto& func : obj->funcs)
    if (func->patched && (func->nop || !nops_only)) site_pop_func(func.get());
  if (Status s = batch.flush(); !s)
    klp_log(Level::warning, "cannot restore the entries of object '%s': %s", obj->name.c_str(), s.describe().c_str());
  if (obj->dynamic || !nops_only) obj->patched = false;
}

}  // namespace uklp::rt
