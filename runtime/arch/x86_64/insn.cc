// insn.cc: see insn.h.
#include "insn.h"

#include <cstring>

namespace uklp::rt::x86 {
namespace {

bool fits_int8(int64_t v) { return v >= INT8_MIN && v <= INT8_MAX; }
bool fits_int32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

}  // namespace

EntryState classify_entry(uintptr_t entry, Entry* out) {
  const auto* pad = reinterpret_cast<const uint8_t*>(entry - kPadSize);
  for (size_t i = 0; i < kPadSize; ++i)
    if (pad[i] != 0x90) return EntryState::foreign;
  uintptr_t nops = entry;
  if (std::memcmp(reinterpret_cast<const void*>(entry), kEndbr64.data(), kEndbr64.size()) == 0)
    nops += kEndbr64.size();
  const auto* p = reinterpret_cast<const uint8_t*>(nops);
  Entry e;
  e.nops = nops;
  if (nops == entry) {
    e.pad = entry - 6;
  } else {
    e.pad = entry - kPadSize;
    e.hop = entry - 2;
  }
  e.original = {p[0], p[1]};
  if (p[0] == 0x90 && p[1] == 0x90) {
    e.kind = EntryKind::gcc_nop_nop;
  } else if (p[0] == 0x66 && p[1] == 0x90) {
    e.kind = EntryKind::clang_xchg;
  } else {
    return EntryState::foreign;
  }
  *out = e;
  return EntryState::pristine;
}

std::vector<uint8_t> Entry::pad_jump(uintptr_t slot) const {
  Writer w(pad);
  if (!w.put_jmp_rip_indirect(slot)) return {};
  return w.bytes();
}

std::array<uint8_t, 2> Entry::hop_jump() const {
  Writer w(hop);
  (void)w.put_jmp_rel8(pad);  // 14 bytes back: always in reach
  return {w.bytes()[0], w.bytes()[1]};
}

void Writer::put32(uint32_t v) {
  for (int i = 0; i < 4; ++i) put8(uint8_t(v >> (8 * i)));
}

bool Writer::put_jmp_rel8(uintptr_t target) {
  int64_t rel = int64_t(target) - int64_t(pc() + 2);
  if (!fits_int8(rel)) return false;
  put8(0xeb);
  put8(uint8_t(int8_t(rel)));
  return true;
}

bool Writer::put_jmp_rip_indirect(uintptr_t slot) {
  int64_t rel = int64_t(slot) - int64_t(pc() + 6);
  if (!fits_int32(rel)) return false;
  put8(0xff);
  put8(0x25);
  put32(uint32_t(int32_t(rel)));
  return true;
}

bool Writer::put_jmp_rel32(uintptr_t target) {
  int64_t rel = int64_t(target) - int64_t(pc() + 5);
  if (!fits_int32(rel)) return false;
  put8(0xe9);
  put32(uint32_t(int32_t(rel)));
  return true;
}

// 64 <opcode> 3c 25 disp32: cmpl $imm, %fs:disp32 (ModRM /7, SIB: no base, no index)
void Writer::put_cmp_fs_prefix(uint8_t opcode, int32_t disp) {
  put8(0x64);
  put8(opcode);
  put8(0x3c);
  put8(0x25);
  put32(uint32_t(disp));
}

void Writer::put_cmp_fs_imm8(int32_t disp, int8_t imm) {
  put_cmp_fs_prefix(0x83, disp);
  put8(uint8_t(imm));
}

void Writer::put_cmp_fs_imm32(int32_t disp, int32_t imm) {
  put_cmp_fs_prefix(0x81, disp);
  put32(uint32_t(imm));
}

void Writer::put_jne_rel8(int8_t rel) {
  put8(0x75);
  put8(uint8_t(rel));
}

void Writer::put_je_rel8(int8_t rel) {
  put8(0x74);
  put8(uint8_t(rel));
}

void Writer::put_u64(uint64_t v) {
  put32(uint32_t(v));
  put32(uint32_t(v >> 32));
}

void Writer::pad_to(size_t size, uint8_t fill) {
  while (buf_.size() < size) put8(fill);
}

std::vector<uint8_t> transition_stub(uintptr_t at, int32_t tls_offset, int32_t match_word,
                                     uintptr_t match_target, uintptr_t miss_target) {
  constexpr size_t kMiss = 32, kMatch = 40;
  Writer w(at);
  w.put_cmp_fs_imm32(tls_offset, match_word);
  static_assert(stub_restartable_at(12) && stub_restartable_at(14) && stub_restartable_at(20));
  w.put_je_rel8(6);                           // +12
  (void)w.put_jmp_rip_indirect(at + kMiss);   // +14; always in reach: same block
  (void)w.put_jmp_rip_indirect(at + kMatch);  // +20
  w.pad_to(kMiss, kInt3);
  w.put_u64(miss_target);
  w.put_u64(match_target);
  return w.bytes();
}

}  // namespace uklp::rt::x86
