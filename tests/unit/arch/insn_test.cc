// insn_test.cc: the instruction writer emits exactly the expected bytes,
// and entry classification tells pristine GCC/clang/endbr64 entries from
// entries something else has changed.
#include "arch/x86_64/insn.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <vector>

namespace uklp::rt::x86 {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(Writer, JmpRel8BackToPad) {
  Writer w(0x1000e);
  ASSERT_TRUE(w.put_jmp_rel8(0x10000));
  EXPECT_EQ(w.bytes(), (Bytes{0xeb, 0xf0}));
}

TEST(Writer, JmpRel8AfterEndbr) {
  Writer w(0x10012);
  ASSERT_TRUE(w.put_jmp_rel8(0x10000));
  EXPECT_EQ(w.bytes(), (Bytes{0xeb, 0xec}));
}

TEST(Writer, JmpRel8OutOfRange) {
  Writer w(0x10000);
  EXPECT_FALSE(w.put_jmp_rel8(0x10000 + 200));
  EXPECT_TRUE(w.bytes().empty());
}

TEST(Writer, JmpRipIndirect) {
  Writer w(0x400000);
  ASSERT_TRUE(w.put_jmp_rip_indirect(0x400000 + 6 + 0x1234));
  EXPECT_EQ(w.bytes(), (Bytes{0xff, 0x25, 0x34, 0x12, 0x00, 0x00}));
  Writer back(0x400000);
  ASSERT_TRUE(back.put_jmp_rip_indirect(0x400000 + 6 - 0x10));
  EXPECT_EQ(back.bytes(), (Bytes{0xff, 0x25, 0xf0, 0xff, 0xff, 0xff}));
}

TEST(Writer, JmpRipIndirectOutOfRange) {
  Writer w(0x7f0000000000);
  EXPECT_FALSE(w.put_jmp_rip_indirect(0x1000));
}

TEST(Writer, JmpRel32AndCmpFs) {
  Writer w(0x1000);
  ASSERT_TRUE(w.put_jmp_rel32(0x1000 + 5 + 0x100));
  w.put_cmp_fs_imm8(-0x40, 1);
  w.put_jne_rel8(6);
  EXPECT_EQ(w.bytes(), (Bytes{0xe9, 0x00, 0x01, 0x00, 0x00, 0x64, 0x83, 0x3c, 0x25, 0xc0, 0xff, 0xff, 0xff,
                              0x01, 0x75, 0x06}));
}

// A fake function image: 14 pad bytes, then the entry bytes.
struct Image {
  uint8_t bytes[64];
  explicit Image(const Bytes& entry) {
    memset(bytes, 0x90, 14);
    memset(bytes + 14, 0xc3, sizeof bytes - 14);
    memcpy(bytes + 14, entry.data(), entry.size());
  }
  uintptr_t entry() const { return reinterpret_cast<uintptr_t>(bytes + 14); }
};

TEST(ClassifyEntry, GccNopNop) {
  Image img({0x90, 0x90, 0x8d});
  Entry e;
  ASSERT_EQ(classify_entry(img.entry(), &e), EntryState::pristine);
  EXPECT_EQ(e.kind, EntryKind::gcc_nop_nop);
  EXPECT_EQ(e.pad, img.entry() - 6);  // the jump through the slot ends at the entry
  EXPECT_EQ(e.hop, 0u);
  EXPECT_EQ(e.first(), img.entry() - 14);
  EXPECT_EQ(e.nops, img.entry());
  EXPECT_EQ(e.jump_target(), e.pad);
  EXPECT_EQ(e.continuation(), img.entry() + 2);
}

// The entry's jump is `eb f8`: alone, its second byte is `clc`, harmless
// for a thread that had run GCC's first NOP (insn.h).
TEST(ClassifyEntry, EntryJumpSecondByteIsClc) {
  for (const Bytes& entry : {Bytes{0x90, 0x90}, Bytes{0xf3, 0x0f, 0x1e, 0xfa, 0x90, 0x90}}) {
    Image img(entry);
    Entry e;
    ASSERT_EQ(classify_entry(img.entry(), &e), EntryState::pristine);
    Writer w(e.nops);
    ASSERT_TRUE(w.put_jmp_rel8(e.jump_target()));
    EXPECT_EQ(w.bytes(), (Bytes{0xeb, 0xf8}));
  }
}

TEST(ClassifyEntry, PadJumpEndsAtTheEntry) {
  Image img({0x90, 0x90});
  Entry e;
  ASSERT_EQ(classify_entry(img.entry(), &e), EntryState::pristine);
  uintptr_t slot = img.entry() + 0x1000;
  Bytes jump = e.pad_jump(slot);
  ASSERT_EQ(jump.size(), 6u);
  EXPECT_EQ(e.pad + jump.size(), img.entry());
  int32_t rel = 0;
  memcpy(&rel, jump.data() + 2, 4);
  EXPECT_EQ(jump[0], 0xff);
  EXPECT_EQ(jump[1], 0x25);
  EXPECT_EQ(img.entry() + uintptr_t(int64_t(rel)), slot);
}

TEST(ClassifyEntry, ClangXchg) {
  Image img({0x66, 0x90});
  Entry e;
  ASSERT_EQ(classify_entry(img.entry(), &e), EntryState::pristine);
  EXPECT_EQ(e.kind, EntryKind::clang_xchg);
  EXPECT_EQ(e.original, (std::array<uint8_t, 2>{0x66, 0x90}));
}

TEST(ClassifyEntry, Endbr64) {
  Image img({0xf3, 0x0f, 0x1e, 0xfa, 0x90, 0x90});
  Entry e;
  ASSERT_EQ(classify_entry(img.entry(), &e), EntryState::pristine);
  EXPECT_EQ(e.nops, img.entry() + 4);
  EXPECT_EQ(e.continuation(), img.entry() + 6);
  // entry + 4 -> hop (entry - 2) -> pad (entry - 14)
  EXPECT_EQ(e.pad, img.entry() - 14);
  EXPECT_EQ(e.hop, img.entry() - 2);
  EXPECT_EQ(e.jump_target(), e.hop);
  EXPECT_EQ(e.hop_jump(), (std::array<uint8_t, 2>{0xeb, 0xf2}));
  EXPECT_EQ(e.first(), img.entry() - 14);
}

TEST(ClassifyEntry, BreakpointIsForeign) {
  Image img({0xcc, 0x90});
  Entry e;
  EXPECT_EQ(classify_entry(img.entry(), &e), EntryState::foreign);
}

TEST(ClassifyEntry, ChangedPadIsForeign) {
  Image img({0x90, 0x90});
  img.bytes[3] = 0xe9;
  Entry e;
  EXPECT_EQ(classify_entry(img.entry(), &e), EntryState::foreign);
}

TEST(ClassifyEntry, HookJumpIsForeign) {
  Image img({0xe9, 0x00, 0x00, 0x00, 0x00});
  Entry e;
  EXPECT_EQ(classify_entry(img.entry(), &e), EntryState::foreign);
}


// ---- the transition stub ----

TEST(TransitionStub, Bytes) {
  Bytes b = transition_stub(0x1000, -0x40, 7, 0x2000, 0x3000);
  Bytes expected = {0x64, 0x81, 0x3c, 0x25, 0xc0, 0xff, 0xff, 0xff, 0x07, 0x00, 0x00, 0x00,  // cmpl $7,%fs:-0x40
                    0x74, 0x06,                                                              // je +6
                    0xff, 0x25, 0x0c, 0x00, 0x00, 0x00,                                      // jmp *miss
                    0xff, 0x25, 0x0e, 0x00, 0x00, 0x00,                                      // jmp *match
                    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
                    0x00, 0x30, 0, 0, 0, 0, 0, 0,                                            // miss
                    0x00, 0x20, 0, 0, 0, 0, 0, 0};                                           // match
  EXPECT_EQ(b, expected);
  EXPECT_EQ(b.size(), kStubSize);
}

__thread int32_t stub_word __attribute__((tls_model("initial-exec")));
__attribute__((noinline)) int matched() { return 1; }
__attribute__((noinline)) int missed() { return 2; }

// The stub, executed: it picks by the calling thread's word.
TEST(TransitionStub, SelectsByTheThreadsWord) {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  uintptr_t tp;
  asm("mov %%fs:0, %0" : "=r"(tp));
  auto offset = int32_t(reinterpret_cast<uintptr_t>(&stub_word) - tp);
  Bytes b = transition_stub(uintptr_t(page), offset, 5, uintptr_t(&matched), uintptr_t(&missed));
  std::memcpy(page, b.data(), b.size());
  auto call = reinterpret_cast<int (*)()>(page);
  stub_word = 5;
  EXPECT_EQ(call(), 1);
  stub_word = 4;
  EXPECT_EQ(call(), 2);
  stub_word = 0;
  EXPECT_EQ(call(), 2);
  munmap(page, 4096);
}

}  // namespace
}  // namespace uklp::rt::x86
