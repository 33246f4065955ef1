// module_info_test.cc: lib/module_info.h, the patch-module metadata as the
// runtime's loader reads it, and the bounds of its writes into a module.
#include "module_info.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace {

using namespace uklp::klp;

TEST(ModuleInfo, Modinfo) {
  static constexpr char raw[] = "livepatch=Y\0license=GPL\0noequals\0\0parm=a:b=c\0last=";
  auto m = parse_modinfo(std::string_view(raw, sizeof raw - 1));
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], (std::pair<std::string, std::string>{"livepatch", "Y"}));
  EXPECT_EQ(m[2], (std::pair<std::string, std::string>{"parm", "a:b=c"}));
  EXPECT_EQ(m[3], (std::pair<std::string, std::string>{"last", ""}));
  EXPECT_TRUE(parse_modinfo("").empty());
}

TEST(ModuleInfo, TargetLines) {
  auto lines = target_lines("main\tabc\n\nlib.so.1\tdef");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "");  // kept: the loader refuses it
  EXPECT_EQ(lines[2], "lib.so.1\tdef");
  EXPECT_EQ(target_lines("main\tabc\n").size(), 1u);
  auto t = parse_target_line("lib.so.1\tdef\tx");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->object, "lib.so.1");
  EXPECT_EQ(t->build_id, "def\tx");
  EXPECT_FALSE(parse_target_line("main"));
  EXPECT_FALSE(parse_target_line(""));
}

Elf64_Phdr load(uint64_t vaddr, uint64_t memsz) {
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_vaddr = vaddr;
  ph.p_memsz = memsz;
  return ph;
}

TEST(ModuleInfo, InLoadSegment) {
  std::vector<Elf64_Phdr> phdrs = {load(0, 0x1000), load(0x3000, 0x100)};
  EXPECT_TRUE(in_load_segment(phdrs, 0, 8));
  EXPECT_TRUE(in_load_segment(phdrs, 0xff8, 8));
  EXPECT_FALSE(in_load_segment(phdrs, 0xffc, 8));  // straddles the end
  EXPECT_TRUE(in_load_segment(phdrs, 0x30f8, 8));
  EXPECT_FALSE(in_load_segment(phdrs, 0x2000, 8));
  EXPECT_FALSE(in_load_segment(phdrs, 0x3000, 0x101));
  phdrs[1].p_type = PT_NOTE;
  EXPECT_FALSE(in_load_segment(phdrs, 0x3000, 8));
}

// The loader's old check, offset + 8 <= p_vaddr + p_memsz, let an offset
// near 2^64 pass: the sum wrapped, and the write landed below the module.
TEST(ModuleInfo, InLoadSegmentDoesNotWrap) {
  std::vector<Elf64_Phdr> phdrs = {load(0, 0x1000)};
  EXPECT_FALSE(in_load_segment(phdrs, UINT64_MAX - 3, 8));
  EXPECT_FALSE(in_load_segment(phdrs, UINT64_MAX - 7, 8));
  phdrs = {load(UINT64_MAX - 0xf, 0x100)};  // p_vaddr + p_memsz wraps too
  EXPECT_TRUE(in_load_segment(phdrs, UINT64_MAX - 7, 8));
  EXPECT_FALSE(in_load_segment(phdrs, 0x10, 8));
}

}  // namespace
