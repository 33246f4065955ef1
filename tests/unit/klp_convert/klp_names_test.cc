// klp_names_test: the .klp.rela./.klp.sym. name grammar (lib/klp_names.h):
// escaping of object names and round trips through the parsers, including
// the names that make the grammar subtle (dots, commas, '%', "foo.isra.0").
#include "klp_names.h"

#include <gtest/gtest.h>

namespace uklp::klp {
namespace {

TEST(KlpNames, EscapesDotsCommasPercentAndNonPrintables) {
  EXPECT_EQ(escape_object("main"), "main");
  EXPECT_EQ(escape_object("libdemo.so.1"), "libdemo%2Eso%2E1");
  EXPECT_EQ(escape_object("a,b"), "a%2Cb");
  EXPECT_EQ(escape_object("100%"), "100%25");
  EXPECT_EQ(escape_object("sp ace\t\x7f\xff"), "sp%20ace%09%7F%FF");
  EXPECT_EQ(escape_object("lib-x_y+z.so"), "lib-x_y+z%2Eso");
}

TEST(KlpNames, UnescapeInvertsEscape) {
  for (std::string s : {"main", "libdemo.so.1", "a,b.c%d", "%%..,,", "x\x01y\xff", "libstdc++.so.6"}) {
    auto r = unescape_object(escape_object(s));
    ASSERT_TRUE(r) << s << ": " << r.status().message();
    EXPECT_EQ(*r, s);
  }
}

TEST(KlpNames, UnescapeRejectsMalformedNames) {
  EXPECT_FALSE(unescape_object(""));
  EXPECT_FALSE(unescape_object("lib.so"));   // raw '.'
  EXPECT_FALSE(unescape_object("a,b"));      // raw ','
  EXPECT_FALSE(unescape_object("a%2"));      // truncated escape
  EXPECT_FALSE(unescape_object("a%G0"));     // not hex
  EXPECT_FALSE(unescape_object("%"));
  EXPECT_EQ(*unescape_object("a%2eb"), "a.b");  // lower-case hex is accepted
}

TEST(KlpNames, RelaSectionNames) {
  EXPECT_EQ(rela_section_name("main", ".got"), ".klp.rela.main.got");
  EXPECT_EQ(rela_section_name("libdemo.so.1", ".data.rel.ro"), ".klp.rela.libdemo%2Eso%2E1.data.rel.ro");
  auto r = parse_rela_section_name(".klp.rela.libdemo%2Eso%2E1.data.rel.ro");
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(r->object, "libdemo.so.1");
  EXPECT_EQ(r->section, "data.rel.ro");
}

TEST(KlpNames, RelaSectionNameRejectsMalformedNames) {
  EXPECT_FALSE(parse_rela_section_name(".rela.dyn"));
  EXPECT_FALSE(parse_rela_section_name(".klp.rela.main"));    // no section
  EXPECT_FALSE(parse_rela_section_name(".klp.rela.main."));   // empty section
  EXPECT_FALSE(parse_rela_section_name(".klp.rela..got"));    // empty object
  EXPECT_FALSE(parse_rela_section_name(".klp.rela.a%zz.got"));
}

TEST(KlpNames, SymbolNames) {
  EXPECT_EQ(sym_name("main", "helper", 2), ".klp.sym.main.helper,2");
  EXPECT_EQ(sym_name("libdemo.so.1", "foo.isra.0", 0), ".klp.sym.libdemo%2Eso%2E1.foo.isra.0,0");
}

TEST(KlpNames, SymbolNamesRoundTrip) {
  struct Case {
    std::string object, name;
    unsigned long pos;
  } cases[] = {
      {"main", "helper", 0},
      {"main", "foo.isra.0", 3},
      {"libdemo.so.1", "_ZN1a1bEv", 1},
      {"libdemo.so.1", "f(int, int)", 2},  // commas in the name: the LAST ',' counts
      {"a,b.c%", "x,y.z", 18446744073709551615ul},
      {"main", ",", 7},
  };
  for (const auto& c : cases) {
    auto r = parse_sym_name(sym_name(c.object, c.name, c.pos));
    ASSERT_TRUE(r) << sym_name(c.object, c.name, c.pos) << ": " << r.status().message();
    EXPECT_EQ(r->object, c.object);
    EXPECT_EQ(r->name, c.name);
    EXPECT_EQ(r->sympos, c.pos);
  }
}

TEST(KlpNames, SymbolNameRejectsMalformedNames) {
  EXPECT_FALSE(parse_sym_name("helper"));
  EXPECT_FALSE(parse_sym_name(".klp.sym.main.helper"));       // no position
  EXPECT_FALSE(parse_sym_name(".klp.sym.main.helper,"));      // empty position
  EXPECT_FALSE(parse_sym_name(".klp.sym.main.helper,-1"));
  EXPECT_FALSE(parse_sym_name(".klp.sym.main.helper,1x"));
  EXPECT_FALSE(parse_sym_name(".klp.sym.main.,1"));           // empty name
  EXPECT_FALSE(parse_sym_name(".klp.sym.main,1"));            // no object separator
  EXPECT_FALSE(parse_sym_name(".klp.sym.main.helper,99999999999999999999"));  // overflow
  auto r = parse_sym_name(".klp.sym.vmlinux.printk,0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->object, "vmlinux");
  EXPECT_EQ(r->name, "printk");
}

TEST(KlpNames, Constants) {
  EXPECT_EQ(SHF_RELA_LIVEPATCH, 0x00100000u);
  EXPECT_EQ(SHN_LIVEPATCH, 0xff20u);
}

}  // namespace
}  // namespace uklp::klp
