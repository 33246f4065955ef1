// unwind.cc: reliable .eh_frame CFI stack walking (the contract is unwind.h).
//
// Algorithm, one frame at a time (step_frame):
//  1. Object. The executable segment that holds the pc, from the table
//     built by UnwindTable::build(); a return address is looked up as
//     pc - 1 (the call may be the last instruction of its function), an
//     exact pc (the first, or one interrupted by a signal) as is.
//  2. Signal frame. A pc at glibc's __restore_rt (`mov $15,%rax; syscall`)
//     returns into the kernel's rt_sigreturn: after the handler's `ret`
//     popped pretcode, rsp points at the ucontext_t, whose gregs are the
//     caller's full register set and whose rip is exact.
//  3. CFI. Binary search of the object's .eh_frame_hdr table (find_fde),
//     the FDE and its CIE (parse_fde, parse_cie), the CIE's initial
//     instructions and the FDE's up to the pc (run_cfa), then the row
//     (apply_row): CFA, callee-saved registers, return address; the
//     caller's rsp is the CFA. A return-address rule "undefined" marks the
//     outermost frame: the walk is complete.
//
// Constraints.
//  - Freestanding (unwind_stack and everything below it): no allocation, no
//    lock, no libc call but memcpy/memset, no errno (CachedReader issues its
//    system call itself). Every byte of the target, unwind data included,
//    is read through the MemoryReader: an object may be dlclosed meanwhile.
//  - Stack: about 5 KiB at the deepest (gcc 12 -O2, -fstack-usage), most of
//    it the CfaState with its kMaxStates remembered rows; a signal handler
//    running it wants more than MINSIGSTKSZ.
//  - Every loop is bounded: CFA programs and DWARF expressions by their
//    length (each operation consumes a byte), LEB128 by 10 bytes, the
//    remembered states by kMaxStates, the walk by StackTrace::kMaxFrames,
//    the hdr search by 64 halvings. Expressions have no branches
//    (DW_OP_skip/bra are unsupported), so they run straight through.
//  - Non-reliable outcomes are statuses, never guesses: a caller-saved
//    register is unknown in a caller unless its CFI says where it is; a
//    return address of 0 is looked up like any other and gives
//    no_unwind_info at 0x0; a CFI frame whose CFA is not above its rsp
//    gives bad_cfi (the stack grows down; this also stops cycles).
#include "unwind.h"

#include <elf.h>
#include <link.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace uklp::rt::x86 {
namespace {

using S = UnwindStatus;

// DW_EH_PE_* pointer encodings (LSB 3.0, "DWARF Exception Header Encoding").
enum : uint8_t {
  kPeAbsptr = 0x00, kPeUleb128 = 0x01, kPeUdata2 = 0x02, kPeUdata4 = 0x03, kPeUdata8 = 0x04,
  kPeSleb128 = 0x09, kPeSdata2 = 0x0a, kPeSdata4 = 0x0b, kPeSdata8 = 0x0c,
  kPePcrel = 0x10, kPeDatarel = 0x30, kPeIndirect = 0x80, kPeOmit = 0xff,
};
// The only .eh_frame_hdr table encoding ld.bfd, gold and lld emit.
constexpr uint8_t kHdrTableEnc = kPeDatarel | kPeSdata4;
// Far above any real CIE/FDE; a larger length is corrupt data.
constexpr uint64_t kMaxEntryLength = 1u << 20;
// DW_CFA_remember_state nesting; GCC and glibc's assembly use 1 or 2.
constexpr int kMaxStates = 8;
constexpr int kExprStackSize = 16;

// A bounded view [pos, end) of the target's bytes, read through the
// MemoryReader a window at a time. The first failure sticks: later reads
// return 0, so a parser checks ok() once per step, not after every field.
class Cursor {
 public:
  Cursor(const MemoryReader& mem, uintptr_t pos, uintptr_t end) : mem_(mem), pos_(pos), end_(end) {}
  bool ok() const { return status_ == S::ok; }
  UnwindStatus status() const { return status_; }
  uintptr_t pos() const { return pos_; }
  bool at_end() const { return pos_ >= end_; }
  void fail(UnwindStatus s) {
    if (ok()) status_ = s;
  }
  void seek(uintptr_t pos) {
    if (pos < pos_ || pos > end_) fail(S::bad_cfi);
    else pos_ = pos;
  }
  uint8_t u8() { return uint8_t(fixed(1)); }
  uint64_t fixed(size_t n);  // little-endian, n <= 8
  uint64_t uleb();
  int64_t sleb();
  uint64_t deref(uintptr_t addr);  // 8 bytes anywhere (DW_OP_deref, indirect)

 private:
  bool fill(size_t n);
  const MemoryReader& mem_;
  uintptr_t pos_, end_;
  uintptr_t win_base_ = 0;
  size_t win_len_ = 0;
  uint8_t win_[64];
  UnwindStatus status_ = S::ok;
};

// Makes [pos_, pos_ + n) available in the window. A whole window may
// cross into an unmapped page the entry does not reach: then only n bytes.
bool Cursor::fill(size_t n) {
  if (!ok()) return false;
  if (pos_ > end_ || n > end_ - pos_) {
    fail(S::bad_cfi);
    return false;
  }
  if (pos_ >= win_base_ && pos_ - win_base_ + n <= win_len_) return true;
  size_t len = std::min(sizeof win_, size_t(end_ - pos_));
  if (!mem_(pos_, win_, len)) {
    len = n;
    if (!mem_(pos_, win_, len)) {
      win_len_ = 0;
      fail(S::unreadable_memory);
      return false;
    }
  }
  win_base_ = pos_;
  win_len_ = len;
  return true;
}

uint64_t Cursor::fixed(size_t n) {
  if (!fill(n)) return 0;
  uint64_t v = 0;
  const uint8_t* p = win_ + (pos_ - win_base_);
  for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
  pos_ += n;
  return v;
}

uint64_t Cursor::uleb() {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    uint8_t b = u8();
    if (shift < 64) v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  fail(S::bad_cfi);
  return 0;
}

int64_t Cursor::sleb() {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    uint8_t b = u8();
    if (shift < 64) v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (shift + 7 < 64 && (b & 0x40)) v |= ~uint64_t(0) << (shift + 7);
      return int64_t(v);
    }
  }
  fail(S::bad_cfi);
  return 0;
}

uint64_t Cursor::deref(uintptr_t addr) {
  uint64_t v = 0;
  if (ok() && !mem_(addr, &v, sizeof v)) fail(S::unreadable_memory);
  return v;
}

// The value part of a DW_EH_PE encoding (its low 4 bits).
uint64_t read_format(Cursor& c, uint8_t enc) {
  switch (enc & 0x0f) {
    case kPeAbsptr:
    case kPeUdata8:
    case kPeSdata8: return c.fixed(8);
    case kPeUleb128: return c.uleb();
    case kPeSleb128: return uint64_t(c.sleb());
    case kPeUdata2: return c.fixed(2);
    case kPeSdata2: return uint64_t(int64_t(int16_t(c.fixed(2))));
    case kPeUdata4: return c.fixed(4);
    case kPeSdata4: return uint64_t(int64_t(int32_t(c.fixed(4))));
    default: c.fail(S::bad_cfi); return 0;
  }
}

// A whole encoded pointer; `datarel` is the .eh_frame_hdr (0: not allowed).
uint64_t read_encoded(Cursor& c, uint8_t enc, uintptr_t datarel) {
  if (enc == kPeOmit) {
    c.fail(S::bad_cfi);
    return 0;
  }
  uintptr_t field = c.pos();
  uint64_t v = read_format(c, enc);
  switch (enc & 0x70) {
    case 0: break;
    case kPePcrel: v += field; break;
    case kPeDatarel:
      if (datarel == 0) c.fail(S::unsupported_cfi);
      v += datarel;
      break;
    default: c.fail(S::unsupported_cfi); break;  // textrel, funcrel, aligned
  }
  return (enc & kPeIndirect) ? c.deref(v) : v;
}

// ---- .eh_frame_hdr ----------------------------------------------------

// The FDE whose initial location is the last one <= pc, from the hdr's
// sorted table (version, eh_frame_ptr_enc, fde_count_enc, table_enc,
// eh_frame_ptr, fde_count, then fde_count (initial_loc, fde) pairs).
UnwindStatus find_fde(const MemoryReader& mem, uintptr_t hdr, uintptr_t pc, uintptr_t* fde) {
  uint8_t head[4];
  if (!mem(hdr, head, sizeof head)) return S::unreadable_memory;
  if (head[0] != 1 || head[2] == kPeOmit || head[3] != kHdrTableEnc) return S::no_unwind_info;
  Cursor c(mem, hdr + 4, hdr + 4 + 2 * 10);  // two encoded values
  (void)read_encoded(c, head[1], hdr);       // eh_frame_ptr: not needed
  uint64_t count = read_encoded(c, head[2], hdr);
  if (c.status() == S::unreadable_memory) return S::unreadable_memory;
  if (!c.ok() || count == 0 || count > (uint64_t(1) << 32)) return S::no_unwind_info;
  uintptr_t table = c.pos();
  uint64_t lo = 0, hi = count;  // invariant: entries below lo start <= pc
  while (lo < hi) {               // at most 33 halvings
    uint64_t mid = lo + (hi - lo) / 2;
    int32_t loc;
    if (!mem(table + mid * 8, &loc, sizeof loc)) return S::unreadable_memory;
    if (hdr + int64_t(loc) <= pc) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return S::no_unwind_info;
  int32_t off;
  if (!mem(table + (lo - 1) * 8 + 4, &off, sizeof off)) return S::unreadable_memory;
  *fde = hdr + int64_t(off);
  return S::ok;
}

// ---- CIE and FDE ------------------------------------------------------

struct Cie {
  uint64_t code_align = 1;
  int64_t data_align = 0;
  uint8_t fde_enc = kPeAbsptr;
  bool has_z = false;
  uintptr_t insns = 0, end = 0;  // the initial instructions
};

struct Fde {
  Cie cie;
  uintptr_t pc_begin = 0, pc_end = 0;
  uintptr_t insns = 0, end = 0;
};

// The length field of a CIE/FDE at addr: its body [*body, *end), and
// whether it is the 64-bit format (8-byte CIE id/pointer).
UnwindStatus read_entry(const MemoryReader& mem, uintptr_t addr, uintptr_t* body, uintptr_t* end, bool* wide) {
  uint32_t len32;
  if (!mem(addr, &len32, sizeof len32)) return S::unreadable_memory;
  uint64_t len = len32;
  *body = addr + 4;
  *wide = len32 == 0xffffffffu;
  if (*wide) {
    if (!mem(addr + 4, &len, sizeof len)) return S::unreadable_memory;
    *body = addr + 12;
  }
  if (len == 0 || len > kMaxEntryLength) return S::bad_cfi;  // 0: the terminator
  *end = *body + len;
  return S::ok;
}

// The augmentation data of a "z" CIE: R (FDE encoding), P (personality,
// skipped), L (LSDA encoding, skipped), S (signal frame: its pcs are exact,
// which only the trampoline check of step_frame relies on here). Unknown
// letters end the parse; the length says where the data ends.
void parse_augmentation(Cursor& c, const char* aug, Cie* cie) {
  uint64_t len = c.uleb();
  uintptr_t data_end = c.pos() + len;
  for (const char* a = aug + 1; *a && c.ok(); ++a) {
    if (*a == 'R') {
      cie->fde_enc = c.u8();
    } else if (*a == 'P') {
      uint8_t enc = c.u8();
      (void)read_format(c, enc);
    } else if (*a == 'L') {
      (void)c.u8();
    } else if (*a != 'S') {
      break;
    }
  }
  c.seek(data_end);
}

UnwindStatus parse_cie(const MemoryReader& mem, uintptr_t addr, Cie* cie) {
  uintptr_t body, end;
  bool wide;
  if (S s = read_entry(mem, addr, &body, &end, &wide); s != S::ok) return s;
  Cursor c(mem, body, end);
  if (c.fixed(wide ? 8 : 4) != 0) return c.ok() ? S::bad_cfi : c.status();  // CIE id
  uint8_t version = c.u8();
  if (c.ok() && version != 1 && version != 3) return S::bad_cfi;
  char aug[8] = {};
  for (size_t i = 0; c.ok(); ++i) {
    if (i == sizeof aug) return S::unsupported_cfi;
    if ((aug[i] = char(c.u8())) == 0) break;
  }
  cie->code_align = c.uleb();
  cie->data_align = c.sleb();
  uint64_t ra = version == 1 ? c.u8() : c.uleb();
  if (c.ok() && ra != kRip) return S::unsupported_cfi;
  cie->has_z = aug[0] == 'z';
  if (cie->has_z) parse_augmentation(c, aug, cie);
  else if (aug[0] != 0) return S::unsupported_cfi;  // "eh" and older forms
  cie->insns = c.pos();
  cie->end = end;
  return c.status();
}

// The FDE at addr, its CIE, and its pc range (pc_begin with the CIE's
// pointer encoding, pc_range with the value part only).
UnwindStatus parse_fde(const MemoryReader& mem, uintptr_t addr, Fde* fde) {
  uintptr_t body, end;
  bool wide;
  if (S s = read_entry(mem, addr, &body, &end, &wide); s != S::ok) return s;
  Cursor c(mem, body, end);
  uint64_t cie_ptr = c.fixed(wide ? 8 : 4);  // back from this field
  if (!c.ok()) return c.status();
  if (cie_ptr == 0) return S::bad_cfi;  // a CIE, not an FDE
  if (S s = parse_cie(mem, body - cie_ptr, &fde->cie); s != S::ok) return s;
  fde->pc_begin = read_encoded(c, fde->cie.fde_enc, 0);
  fde->pc_end = fde->pc_begin + read_format(c, fde->cie.fde_enc);
  if (fde->cie.has_z) {
    uint64_t len = c.uleb();
    c.seek(c.pos() + len);
  }
  fde->insns = c.pos();
  fde->end = end;
  return c.status();
}

// ---- The CFA program ----------------------------------------------------

// How to find a register of the caller (DWARF 5, 6.4.1 "register rules").
enum class Rule : uint8_t {
  same_value,      // the default: unchanged (callee-saved registers only)
  undefined,       // not recoverable; for the return address: outermost
  offset,          // saved at CFA + value
  val_offset,      // is CFA + value
  reg,             // in register `value`
  expression,      // saved at the address computed by the expression
  val_expression,  // is the value computed by the expression
};

struct RegRule {
  Rule rule = Rule::same_value;
  uint32_t len = 0;  // expression length; the expression is at `value`
  int64_t value = 0;
};

struct CfaRule {
  bool is_expr = false;
  uint8_t reg = kRsp;
  uint32_t len = 0;
  int64_t value = 0;  // the offset, or the expression's address
};

struct Row {
  CfaRule cfa;
  RegRule regs[kNumRegs];
};

struct CfaState {
  Row row;
  Row initial;  // after the CIE's instructions, for DW_CFA_restore
  Row saved[kMaxStates];
  int depth = 0;
  uintptr_t loc = 0;     // the address the row describes so far
  uintptr_t target = 0;  // the pc being unwound (pc - 1 for a return address)
  uint8_t fde_enc = kPeAbsptr;
  uint64_t code_align = 1;
  int64_t data_align = 0;
};

// A factored offset; wraps instead of overflowing on corrupt data.
int64_t scaled(uint64_t v, int64_t factor) { return int64_t(v * uint64_t(factor)); }

// Rules for registers the walk does not track (vector registers, ...)
// are parsed and dropped into this sink.
RegRule* rule_for(CfaState& s, uint64_t reg, RegRule* sink) {
  return reg < kNumRegs ? &s.row.regs[reg] : sink;
}

// An expression block: its address and length, skipped over.
void read_block(Cursor& c, uintptr_t* addr, uint32_t* len) {
  uint64_t n = c.uleb();
  *addr = c.pos();
  *len = uint32_t(n);
  if (n > UINT32_MAX) c.fail(S::bad_cfi);
  else c.seek(c.pos() + n);
}

// Advances the location; false once it is past the target (the row wanted
// is complete: stop before the next instruction).
bool advance(CfaState& s, uint64_t delta) {
  s.loc += delta * s.code_align;
  return s.loc <= s.target;
}

void set_rule(CfaState& s, uint64_t reg, Rule rule, int64_t value, RegRule* sink) {
  RegRule* r = rule_for(s, reg, sink);
  *r = {rule, 0, value};
}

void def_cfa(Cursor& c, CfaState& s, uint64_t reg, int64_t offset) {
  if (reg >= kNumRegs) c.fail(S::unsupported_cfi);
  s.row.cfa = {false, uint8_t(reg), 0, offset};
}

void def_cfa_offset(Cursor& c, CfaState& s, int64_t offset) {
  if (s.row.cfa.is_expr) c.fail(S::bad_cfi);
  s.row.cfa.value = offset;
}

void remember_state(Cursor& c, CfaState& s) {
  if (s.depth == kMaxStates) return c.fail(S::unsupported_cfi);
  s.saved[s.depth++] = s.row;
}

void restore_state(Cursor& c, CfaState& s) {
  if (s.depth == 0) return c.fail(S::bad_cfi);
  s.row = s.saved[--s.depth];
}

void restore(CfaState& s, uint64_t reg, RegRule* sink) {
  *rule_for(s, reg, sink) = reg < kNumRegs ? s.initial.regs[reg] : RegRule{};
}

// DW_CFA_register: a caller register held in an untracked one is lost.
void set_register_rule(CfaState& s, uint64_t reg, uint64_t from, RegRule* sink) {
  if (from < kNumRegs) set_rule(s, reg, Rule::reg, int64_t(from), sink);
  else set_rule(s, reg, Rule::undefined, 0, sink);
}

void set_expression_rule(Cursor& c, CfaState& s, uint64_t reg, Rule rule, RegRule* sink) {
  uintptr_t addr;
  uint32_t len;
  read_block(c, &addr, &len);
  *rule_for(s, reg, sink) = {rule, len, int64_t(addr)};
}

void def_cfa_expression(Cursor& c, CfaState& s) {
  uintptr_t addr;
  uint32_t len;
  read_block(c, &addr, &len);
  s.row.cfa = {true, 0, len, int64_t(addr)};
}

// The instructions with an extended opcode (the primary ones are in
// run_cfa). Returns false when the row is complete.
bool run_extended(Cursor& c, CfaState& s, uint8_t op, RegRule* sink) {
  const int64_t da = s.data_align;
  switch (op) {
    case 0x00: break;                                              // nop
    case 0x01: {                                                   // set_loc
      uint64_t loc = read_encoded(c, s.fde_enc, 0);
      if (loc < s.loc) c.fail(S::bad_cfi);
      s.loc = loc;
      return s.loc <= s.target;
    }
    case 0x02: return advance(s, c.fixed(1));                      // advance_loc1
    case 0x03: return advance(s, c.fixed(2));                      // advance_loc2
    case 0x04: return advance(s, c.fixed(4));                      // advance_loc4
    case 0x05: { uint64_t r = c.uleb(); set_rule(s, r, Rule::offset, scaled(c.uleb(), da), sink); break; }
    case 0x06: restore(s, c.uleb(), sink); break;                  // restore_extended
    case 0x07: set_rule(s, c.uleb(), Rule::undefined, 0, sink); break;
    case 0x08: set_rule(s, c.uleb(), Rule::same_value, 0, sink); break;
    case 0x09: { uint64_t r = c.uleb(); set_register_rule(s, r, c.uleb(), sink); break; }
    case 0x0a: remember_state(c, s); break;
    case 0x0b: restore_state(c, s); break;
    case 0x0c: { uint64_t r = c.uleb(); def_cfa(c, s, r, int64_t(c.uleb())); break; }
    case 0x0d: def_cfa(c, s, c.uleb(), s.row.cfa.is_expr ? 0 : s.row.cfa.value); break;
    case 0x0e: def_cfa_offset(c, s, int64_t(c.uleb())); break;
    case 0x0f: def_cfa_expression(c, s); break;
    case 0x10: { uint64_t r = c.uleb(); set_expression_rule(c, s, r, Rule::expression, sink); break; }
    case 0x11: { uint64_t r = c.uleb(); set_rule(s, r, Rule::offset, scaled(uint64_t(c.sleb()), da), sink); break; }
    case 0x12: { uint64_t r = c.uleb(); def_cfa(c, s, r, scaled(uint64_t(c.sleb()), da)); break; }
    case 0x13: def_cfa_offset(c, s, scaled(uint64_t(c.sleb()), da)); break;
    case 0x14: { uint64_t r = c.uleb(); set_rule(s, r, Rule::val_offset, scaled(c.uleb(), da), sink); break; }
    case 0x15: { uint64_t r = c.uleb(); set_rule(s, r, Rule::val_offset, scaled(uint64_t(c.sleb()), da), sink); break; }
    case 0x16: { uint64_t r = c.uleb(); set_expression_rule(c, s, r, Rule::val_expression, sink); break; }
    case 0x2e: (void)c.uleb(); break;                              // GNU_args_size
    case 0x2f: { uint64_t r = c.uleb(); set_rule(s, r, Rule::offset, scaled(0 - c.uleb(), da), sink); break; }
    default: c.fail(S::unsupported_cfi); break;  // GNU_window_save, vendor ops
  }
  return true;
}

// Runs the instructions in [c.pos, end) until the location passes the
// target. Each instruction consumes at least one byte: bounded by the entry.
UnwindStatus run_cfa(Cursor& c, CfaState& s) {
  RegRule sink;
  while (c.ok() && !c.at_end()) {
    uint8_t op = c.u8();
    uint8_t low = op & 0x3f;
    bool more = true;
    switch (op >> 6) {
      case 1: more = advance(s, low); break;                                          // advance_loc
      case 2: set_rule(s, low, Rule::offset, scaled(c.uleb(), s.data_align), &sink); break;
      case 3: restore(s, low, &sink); break;
      default: more = run_extended(c, s, op, &sink); break;
    }
    if (!more) break;
  }
  if (s.row.cfa.is_expr == false && s.row.cfa.reg >= kNumRegs) c.fail(S::bad_cfi);
  return c.status();
}

// The row of `fde` at `target`: the CIE's initial instructions, then the
// FDE's up to the target.
UnwindStatus compute_row(const MemoryReader& mem, const Fde& fde, uintptr_t target, CfaState* s) {
  s->loc = fde.pc_begin;
  s->target = target;
  s->fde_enc = fde.cie.fde_enc;
  s->code_align = fde.cie.code_align;
  s->data_align = fde.cie.data_align;
  Cursor cie(mem, fde.cie.insns, fde.cie.end);
  if (S st = run_cfa(cie, *s); st != S::ok) return st;
  s->initial = s->row;
  s->depth = 0;
  s->loc = fde.pc_begin;
  Cursor insns(mem, fde.insns, fde.end);
  return run_cfa(insns, *s);
}

// ---- DWARF expressions ------------------------------------------------

struct ExprStack {
  uint64_t v[kExprStackSize];
  int n = 0;
};

bool push(Cursor& c, ExprStack& st, uint64_t value) {
  if (st.n == kExprStackSize) {
    c.fail(S::unsupported_cfi);
    return false;
  }
  st.v[st.n++] = value;
  return true;
}

uint64_t pop(Cursor& c, ExprStack& st) {
  if (st.n == 0) {
    c.fail(S::bad_cfi);
    return 0;
  }
  return st.v[--st.n];
}

uint64_t reg_value(Cursor& c, const Regs& regs, uint64_t reg) {
  if (reg >= kNumRegs || !regs.has(int(reg))) {
    c.fail(S::unsupported_cfi);
    return 0;
  }
  return regs.r[reg];
}

// The binary operators: a is the second entry, b the top. False: not one.
bool binary_op(uint8_t op, uint64_t a, uint64_t b, uint64_t* r) {
  switch (op) {
    case 0x1a: *r = a & b; return true;                               // and
    case 0x1c: *r = a - b; return true;                               // minus
    case 0x1e: *r = a * b; return true;                               // mul
    case 0x21: *r = a | b; return true;                               // or
    case 0x22: *r = a + b; return true;                               // plus
    case 0x24: *r = b < 64 ? a << b : 0; return true;                 // shl
    case 0x25: *r = b < 64 ? a >> b : 0; return true;                 // shr
    case 0x26: *r = uint64_t(int64_t(a) >> (b < 64 ? b : 63)); return true;  // shra
    case 0x27: *r = a ^ b; return true;                               // xor
    case 0x29: *r = a == b; return true;                              // eq
    case 0x2a: *r = int64_t(a) >= int64_t(b); return true;            // ge
    case 0x2b: *r = int64_t(a) > int64_t(b); return true;             // gt
    case 0x2c: *r = int64_t(a) <= int64_t(b); return true;            // le
    case 0x2d: *r = int64_t(a) < int64_t(b); return true;             // lt
    case 0x2e: *r = a != b; return true;                              // ne
    default: return false;
  }
}

// The operations that push a value read from the expression. False: not one.
bool constant_op(Cursor& c, uint8_t op, const Regs& regs, uint64_t* v) {
  if (op >= 0x30 && op <= 0x4f) *v = op - 0x30;                       // lit0..lit31
  else if (op >= 0x70 && op <= 0x80) *v = reg_value(c, regs, op - 0x70) + uint64_t(c.sleb());  // breg0..16
  else if (op == 0x92) { uint64_t r = c.uleb(); *v = reg_value(c, regs, r) + uint64_t(c.sleb()); }  // bregx
  else if (op == 0x03 || op == 0x0e || op == 0x0f) *v = c.fixed(8);  // addr, const8u/s
  else if (op == 0x08) *v = c.fixed(1);
  else if (op == 0x09) *v = uint64_t(int64_t(int8_t(c.fixed(1))));
  else if (op == 0x0a) *v = c.fixed(2);
  else if (op == 0x0b) *v = uint64_t(int64_t(int16_t(c.fixed(2))));
  else if (op == 0x0c) *v = c.fixed(4);
  else if (op == 0x0d) *v = uint64_t(int64_t(int32_t(c.fixed(4))));
  else if (op == 0x10) *v = c.uleb();
  else if (op == 0x11) *v = uint64_t(c.sleb());
  else return false;
  return true;
}

// The stack operations and those of one operand. False: not one.
bool stack_op(Cursor& c, uint8_t op, ExprStack& st) {
  switch (op) {
    case 0x06: return push(c, st, c.deref(pop(c, st)));              // deref
    case 0x12: { uint64_t a = pop(c, st); return push(c, st, a) && push(c, st, a); }  // dup
    case 0x13: (void)pop(c, st); return true;                        // drop
    case 0x14: {                                                     // over
      uint64_t b = pop(c, st), a = pop(c, st);
      return push(c, st, a) && push(c, st, b) && push(c, st, a);
    }
    case 0x16: {                                                     // swap
      uint64_t b = pop(c, st), a = pop(c, st);
      return push(c, st, b) && push(c, st, a);
    }
    case 0x1f: return push(c, st, -pop(c, st));                      // neg
    case 0x20: return push(c, st, ~pop(c, st));                      // not
    case 0x23: return push(c, st, pop(c, st) + c.uleb());            // plus_uconst
    case 0x96: return true;                                          // nop
    default: return false;
  }
}

// Evaluates the expression [addr, addr + len) with `initial` pushed first
// (the CFA, for a register rule) or nothing (a CFA rule). No branches:
// DW_OP_skip/bra and the rarer operators are unsupported_cfi.
UnwindStatus eval_expr(const MemoryReader& mem, uintptr_t addr, uint32_t len, const Regs& regs,
                       const uint64_t* initial, uint64_t* out) {
  Cursor c(mem, addr, addr + len);
  ExprStack st;
  if (initial) push(c, st, *initial);
  while (c.ok() && !c.at_end()) {
    uint8_t op = c.u8();
    uint64_t v;
    if (constant_op(c, op, regs, &v)) {
      push(c, st, v);
    } else if (binary_op(op, 0, 0, &v)) {
      uint64_t b = pop(c, st), a = pop(c, st);
      (void)binary_op(op, a, b, &v);
      push(c, st, v);
    } else if (!stack_op(c, op, st)) {
      c.fail(S::unsupported_cfi);
    }
  }
  *out = pop(c, st);
  return c.status();
}

// ---- Applying a row -----------------------------------------------------

bool callee_saved(int reg) {
  return reg == kRbx || reg == kRbp || (reg >= kR12 && reg <= kR15);
}

UnwindStatus eval_cfa(const MemoryReader& mem, const CfaRule& rule, const Regs& cur, uint64_t* cfa) {
  if (rule.is_expr) return eval_expr(mem, uintptr_t(rule.value), rule.len, cur, nullptr, cfa);
  if (!cur.has(rule.reg)) return S::unsupported_cfi;
  *cfa = cur.r[rule.reg] + uint64_t(rule.value);
  return S::ok;
}

// Sets the caller's `reg` from its rule; leaves it unknown when the rule
// does not recover it.
UnwindStatus restore_reg(const MemoryReader& mem, const RegRule& rule, int reg, const Regs& cur, uint64_t cfa,
                         Regs* caller) {
  uint64_t v = 0;
  switch (rule.rule) {
    case Rule::same_value:
      if (callee_saved(reg) && cur.has(reg)) caller->set(reg, cur.r[reg]);
      return S::ok;
    case Rule::undefined: return S::ok;
    case Rule::offset: v = cfa + uint64_t(rule.value); break;
    case Rule::val_offset: caller->set(reg, cfa + uint64_t(rule.value)); return S::ok;
    case Rule::reg:
      if (cur.has(int(rule.value))) caller->set(reg, cur.r[rule.value]);
      return S::ok;
    case Rule::expression:
    case Rule::val_expression:
      if (S s = eval_expr(mem, uintptr_t(rule.value), rule.len, cur, &cfa, &v); s != S::ok) return s;
      if (rule.rule == Rule::val_expression) {
        caller->set(reg, v);
        return S::ok;
      }
      break;
  }
  uint64_t saved;
  if (!mem(uintptr_t(v), &saved, sizeof saved)) return S::unreadable_memory;
  caller->set(reg, saved);
  return S::ok;
}

// The caller's registers from the row; *outermost when the return
// address is undefined (then *caller is left alone).
UnwindStatus apply_row(const MemoryReader& mem, const Row& row, const Regs& cur, Regs* caller, bool* outermost) {
  if (row.regs[kRip].rule == Rule::undefined) {
    *outermost = true;
    return S::ok;
  }
  if (row.regs[kRip].rule == Rule::same_value) return S::bad_cfi;  // would loop
  uint64_t cfa;
  if (S s = eval_cfa(mem, row.cfa, cur, &cfa); s != S::ok) return s;
  Regs out;
  for (int reg = 0; reg < kNumRegs; ++reg)
    if (S s = restore_reg(mem, row.regs[reg], reg, cur, cfa, &out); s != S::ok) return s;
  if (row.regs[kRsp].rule == Rule::same_value) out.set(kRsp, cfa);  // the CFA is the caller's rsp
  if (!out.has(kRip) || !out.has(kRsp)) return S::unsupported_cfi;
  *caller = out;
  return S::ok;
}

// ---- Frames ---------------------------------------------------------------

struct Frame {
  Regs regs;
  bool exact = true;  // pc is not a return address: look it up as is
};

// glibc's __restore_rt: mov $SYS_rt_sigreturn,%rax; syscall.
constexpr uint8_t kSigreturn[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

UnwindStatus is_sigreturn(const MemoryReader& mem, uintptr_t pc, bool* yes) {
  uint8_t code[sizeof kSigreturn];
  if (!mem(pc, code, sizeof code)) return S::unreadable_memory;
  *yes = std::memcmp(code, kSigreturn, sizeof code) == 0;
  return S::ok;
}

// DWARF register number -> index in mcontext_t.gregs.
constexpr int kGregOf[kNumRegs] = {
    REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP, REG_R8,
    REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP,
};

// The interrupted registers, from the ucontext_t at rsp (struct
// rt_sigframe, its pretcode popped by the handler's return).
UnwindStatus unwind_sigreturn(const MemoryReader& mem, const Regs& cur, Regs* caller) {
  constexpr size_t kGregs = offsetof(ucontext_t, uc_mcontext) + offsetof(mcontext_t, gregs);
  greg_t gregs[NGREG];
  if (!mem(uintptr_t(cur.r[kRsp] + kGregs), gregs, sizeof gregs)) return S::unreadable_memory;
  Regs out;
  for (int reg = 0; reg < kNumRegs; ++reg) out.set(reg, uint64_t(gregs[kGregOf[reg]]));
  *caller = out;
  return S::ok;
}

UnwindStatus step_cfi(const MemoryReader& mem, uintptr_t hdr, uintptr_t lookup, const Regs& cur, Regs* caller,
                      bool* outermost) {
  uintptr_t fde_addr;
  if (S s = find_fde(mem, hdr, lookup, &fde_addr); s != S::ok) return s;
  Fde fde;
  if (S s = parse_fde(mem, fde_addr, &fde); s != S::ok) return s;
  if (lookup < fde.pc_begin || lookup >= fde.pc_end) return S::no_unwind_info;
  CfaState state;
  if (S s = compute_row(mem, fde, lookup, &state); s != S::ok) return s;
  if (S s = apply_row(mem, state.row, cur, caller, outermost); s != S::ok || *outermost) return s;
  if (caller->r[kRsp] <= cur.r[kRsp]) return S::bad_cfi;  // must move up the stack
  return S::ok;
}

// Replaces *f by its caller's frame, or sets *outermost.
UnwindStatus step_frame(const UnwindTable& table, const MemoryReader& mem, Frame* f, bool* outermost) {
  uintptr_t pc = f->regs.r[kRip];
  uintptr_t lookup = f->exact ? pc : pc - 1;
  const UnwindObject* obj = table.find(lookup);
  if (!obj || !obj->eh_frame_hdr) return S::no_unwind_info;
  bool sigreturn = false;
  if (S s = is_sigreturn(mem, pc, &sigreturn); s != S::ok) return s;
  Frame caller;
  caller.exact = sigreturn;
  S s = sigreturn ? unwind_sigreturn(mem, f->regs, &caller.regs)
                  : step_cfi(mem, obj->eh_frame_hdr, lookup, f->regs, &caller.regs, outermost);
  if (s == S::ok && !*outermost) *f = caller;
  return s;
}

// ---- CachedReader's system call --------------------------------------------

// process_vm_readv(pid, local, nlocal, remote, 1, 0) without libc: no errno.
long raw_process_vm_readv(pid_t pid, const iovec* local, long nlocal, const iovec* remote) {
  long ret;
  __asm__ volatile(
      "mov %[remote], %%r10\n\t"
      "mov $1, %%r8d\n\t"     // riovcnt
      "xor %%r9d, %%r9d\n\t"  // flags
      "syscall"
      : "=a"(ret)
      : "0"(long(SYS_process_vm_readv)), "D"(long(pid)), "S"(local), "d"(nlocal), [remote] "r"(remote)
      : "rcx", "r8", "r9", "r10", "r11", "memory");
  return ret;
}

struct Objects {
  std::vector<UnwindObject> exec;
  std::vector<std::pair<uintptr_t, uintptr_t>> read_only;
};

int add_object(dl_phdr_info* info, size_t, void* data) {
  auto* all = static_cast<Objects*>(data);
  auto* objects = &all->exec;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) || ph.p_memsz == 0) continue;
    uintptr_t start = (info->dlpi_addr + ph.p_vaddr) & ~uintptr_t(4095);
    uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + 4095) & ~uintptr_t(4095);
    all->read_only.emplace_back(start, end);
  }
  uintptr_t hdr = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME) hdr = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    objects->push_back({start, start + ph.p_memsz, hdr});
  }
  return 0;
}

}  // namespace

const char* unwind_status_name(UnwindStatus s) {
  switch (s) {
    case S::ok: return "ok";
    case S::no_unwind_info: return "no unwind info";
    case S::unsupported_cfi: return "unsupported CFI";
    case S::bad_cfi: return "malformed CFI";
    case S::unreadable_memory: return "unreadable memory";
    case S::too_deep: return "too many frames";
  }
  return "unknown unwind status";
}

// ---- CachedReader ---------------------------------------------------------

const CachedReader::Page* CachedReader::page_for(uintptr_t base) {
  Page* victim = &pages_[0];
  for (Page& p : pages_) {
    if (p.valid && p.base == base) {
      p.age = ++clock_;
      return &p;
    }
    if (!p.valid || (victim->valid && p.age < victim->age)) victim = &p;
  }
  iovec local = {victim->bytes, kPage};
  iovec remote = {reinterpret_cast<void*>(base), kPage};
  victim->valid = raw_process_vm_readv(pid_, &local, 1, &remote) == long(kPage);
  victim->base = base;
  victim->age = ++clock_;
  return victim->valid ? victim : nullptr;
}

void CachedReader::reset_keeping(const UnwindTable& table) {
  for (auto& p : pages_) p.valid = p.valid && table.read_only_page(p.base);
}

void CachedReader::prefetch(uintptr_t addr, int count) {
  uintptr_t base = addr & ~uintptr_t(kPage - 1);
  count = std::min(count, kPages / 2);  // leave room for the pages read besides
  Page* slots[kPages];
  iovec local[kPages];
  for (int k = 0; k < count; ++k) {
    uintptr_t page = base + uintptr_t(k) * kPage;
    Page* victim = nullptr;
    for (Page& p : pages_) {
      if (p.valid && p.base == page) p.valid = false;  // read again below
      bool taken = std::find(slots, slots + k, &p) != slots + k;
      if (!taken && (!victim || (victim->valid && (!p.valid || p.age < victim->age)))) victim = &p;
    }
    slots[k] = victim;
    local[k] = {victim->bytes, kPage};
  }
  iovec remote = {reinterpret_cast<void*>(base), kPage * size_t(count)};
  long got = raw_process_vm_readv(pid_, local, count, &remote);
  for (int k = 0; k < count; ++k) {
    slots[k]->base = base + uintptr_t(k) * kPage;
    slots[k]->valid = got >= long(kPage) * (k + 1);
    slots[k]->age = ++clock_;
  }
}

bool CachedReader::read(uintptr_t addr, void* out, size_t n) {
  auto* dst = static_cast<uint8_t*>(out);
  while (n > 0) {  // one page per round
    uintptr_t base = addr & ~uintptr_t(kPage - 1);
    size_t off = addr - base;
    size_t chunk = std::min(n, kPage - off);
    const Page* p = page_for(base);
    if (!p) return false;
    std::memcpy(dst, p->bytes + off, chunk);
    dst += chunk;
    addr += chunk;
    n -= chunk;
  }
  return true;
}

// ---- UnwindTable ------------------------------------------------------------

Status UnwindTable::build() {
  Objects all;
  dl_iterate_phdr(add_object, &all);
  if (all.exec.empty()) return error(ENOENT, "dl_iterate_phdr found no executable segment");
  std::sort(all.exec.begin(), all.exec.end(),
            [](const UnwindObject& a, const UnwindObject& b) { return a.start < b.start; });
  std::sort(all.read_only.begin(), all.read_only.end());
  objects_ = std::move(all.exec);
  read_only_ = std::move(all.read_only);
  return Status::ok();
}

bool UnwindTable::read_only_page(uintptr_t base) const {
  auto it = std::upper_bound(read_only_.begin(), read_only_.end(), std::pair<uintptr_t, uintptr_t>{base, UINTPTR_MAX});
  return it != read_only_.begin() && base + 4096 <= std::prev(it)->second;
}

const UnwindObject* UnwindTable::find(uintptr_t pc) const {
  auto it = std::upper_bound(objects_.begin(), objects_.end(), pc,
                             [](uintptr_t v, const UnwindObject& o) { return v < o.start; });
  if (it == objects_.begin()) return nullptr;
  --it;
  return pc < it->end ? &*it : nullptr;
}

// ---- The walk ---------------------------------------------------------------

void unwind_stack(const UnwindTable& table, const Regs& regs, const MemoryReader& mem, StackTrace* out) {
  out->n = 0;
  out->status = S::ok;
  out->failed_pc = regs.r[kRip];
  if (!regs.has(kRip) || !regs.has(kRsp)) {
    out->status = S::unsupported_cfi;
    return;
  }
  Frame f;
  f.regs = regs;
  for (;;) {  // at most kMaxFrames rounds
    uintptr_t pc = f.regs.r[kRip];
    out->failed_pc = pc;
    if (out->n == StackTrace::kMaxFrames) {
      out->status = S::too_deep;
      return;
    }
    out->pcs[out->n] = pc;
    out->exact[out->n] = f.exact;
    out->n++;
    bool outermost = false;
    out->status = step_frame(table, mem, &f, &outermost);
    if (out->status != S::ok) return;
    if (outermost) break;
  }
  out->failed_pc = 0;
}

}  // namespace uklp::rt::x86
