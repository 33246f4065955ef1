// insn.h: the x86-64 instructions uklp writes, through a typed writer, and
// the recognition of patchable function entries.
//
// A function compiled with -fpatchable-function-entry=16,14 has 14 NOP
// bytes before its symbol E (the pad) and two NOP bytes N at its entry,
// after an optional endbr64 (N = E, or E+4): GCC 12 emits `90 90`, clang 14
// `66 90`. An armed site:
//
//   no endbr64:  E-14: 90 x 8
//                E-6:  ff 25 rel32   jmp *slot(%rip)   slot: 8 bytes within 2 GiB
//                E:    eb f8         jmp E-6
//   endbr64:     E-14: ff 25 rel32   jmp *slot(%rip)
//                E-8:  90 x 6
//                E-2:  eb f2         jmp E-14
//                E:    f3 0f 1e fa   endbr64
//                E+4:  eb f8         jmp E-2
//
// The entry's jump is always `eb f8`, whose second byte alone is `clc`: a
// thread that had run GCC's first NOP when the jump was written runs
// `clc` instead of the second NOP and goes on into the body (flags are
// dead at a function's entry, and both are one-byte instructions), so no
// thread ever has to be moved off a second NOP.
//
// The slot lives in runtime-owned memory, so retargeting a site is one
// aligned 8-byte store and never touches code (see redirect.cc).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace uklp::rt::x86 {

inline constexpr size_t kPadSize = 14;
inline constexpr uint8_t kInt3 = 0xcc;
inline constexpr std::array<uint8_t, 4> kEndbr64 = {0xf3, 0x0f, 0x1e, 0xfa};

enum class EntryKind { gcc_nop_nop, clang_xchg };  // 90 90 / 66 90

inline constexpr uint8_t kEntryJumpRel = 0xf8;  // `clc`, on its own

struct Entry {
  uintptr_t pad = 0;   // where the pad's `jmp *slot(%rip)` goes: E - 6, or E - 14 after endbr64
  uintptr_t hop = 0;   // after endbr64, E - 2: the `jmp` from the entry's target to `pad`; else 0
  uintptr_t nops = 0;  // address of the two entry NOP bytes
  EntryKind kind{};
  std::array<uint8_t, 2> original{};
  uintptr_t first() const { return hop ? pad : pad - 8; }  // E - 14, the pad's first byte
  uintptr_t jump_target() const { return nops + 2 + int8_t(kEntryJumpRel); }  // pad, or hop
  uintptr_t continuation() const { return nops + 2; }  // the original body
  // The bytes written before the entry, at `pad` and at `hop`.
  std::vector<uint8_t> pad_jump(uintptr_t slot) const;
  std::array<uint8_t, 2> hop_jump() const;
};

enum class EntryState { pristine, foreign };

// Classifies the bytes at function entry `entry` (and its pad). `pristine`
// fills `out`; `foreign` means something else changed them.
EntryState classify_entry(uintptr_t entry, Entry* out);

// A byte buffer with typed emitters; tested byte for byte.
class Writer {
 public:
  explicit Writer(uintptr_t pc) : pc_(pc) {}
  uintptr_t pc() const { return pc_ + buf_.size(); }
  const std::vector<uint8_t>& bytes() const { return buf_; }
  // jmp rel8 to `target`; false if out of range.
  bool put_jmp_rel8(uintptr_t target);
  // jmp *disp32(%rip) through the 8-byte slot at `slot`; false if out of range.
  bool put_jmp_rip_indirect(uintptr_t slot);
  // jmp rel32 to `target`; false if out of range.
  bool put_jmp_rel32(uintptr_t target);
  // cmpl $imm8, %fs:disp32
  void put_cmp_fs_imm8(int32_t disp, int8_t imm);
  // cmpl $imm32, %fs:disp32
  void put_cmp_fs_imm32(int32_t disp, int32_t imm);
  // jne / je rel8 (forward).
  void put_jne_rel8(int8_t rel);
  void put_je_rel8(int8_t rel);
  void put_u64(uint64_t v);
  void pad_to(size_t size, uint8_t fill);
  void put_bytes(std::span<const uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }

 private:
  void put8(uint8_t b) { buf_.push_back(b); }
  void put_cmp_fs_prefix(uint8_t opcode, int32_t disp);
  void put32(uint32_t v);
  uintptr_t pc_;
  std::vector<uint8_t> buf_;
};

// The transition stub of a site (the per-thread half of the kernel's
// klp_ftrace_handler): while the top func of a site is in transition, the
// site's slot points here, and the calling thread's patch-state word
// (runtime/task.h) picks the implementation:
//
//   +0   64 81 3c 25 off32 imm32   cmpl $match_word, %fs:off
//   +12  74 06                      je   +20
//   +14  ff 25 rel32                jmp  *miss(%rip)
//   +20  ff 25 rel32                jmp  *match(%rip)
//   +26  cc x 6
//   +32  miss:  .quad miss_target
//   +40  match: .quad match_target
//
// Flags are clobbered, which a call allows; no register is. The stub is
// written once, before any slot points at it, and never changed.
inline constexpr size_t kStubSize = 48;
// Where its match word (the cmpl's imm32) lies in a stub.
inline constexpr size_t kStubMatchWord = 8;
// A thread stopped at `offset` in a stub has done nothing yet but its test
// (flags): set back to the stub's first byte, it tests its word again.
constexpr bool stub_restartable_at(size_t offset) { return offset == 12 || offset == 14 || offset == 20; }
std::vector<uint8_t> transition_stub(uintptr_t at, int32_t tls_offset, int32_t match_word,
                                     uintptr_t match_target, uintptr_t miss_target);

}  // namespace uklp::rt::x86
