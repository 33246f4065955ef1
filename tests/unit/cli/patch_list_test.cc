// patch_list_test.cc: the `list` answer as a patch > object > func tree
// (cli/patch_list.h), its JSON and its text.
#include "patch_list.h"

#include <gtest/gtest.h>

namespace uklp::cli {
namespace {

const std::vector<std::string> kLines = {
    "patch=livepatch_sample\tenabled=1\ttransition=0\treplace=0\tstack_order=1\tforced=0\tfile=/p/livepatch-sample.so",
    "object=main\tpatch=livepatch_sample\tpatched=1\tloaded=1",
    "func=answer,1\tobject=main\tpatch=livepatch_sample\told=0x401136\tnew=0x7f0000001000\tnop=0\tpatched=1",
    "func=helper,2\tobject=libdemo.so.1\tpatch=other\told=0x10\tnew=0x20",  // before its patch line
    "patch=other\tenabled=0\ttransition=1\treplace=1\tstack_order=2\tforced=0",
    "object=libgone.so\tpatch=other\tpatched=0\tloaded=0",
    "module=livepatch_sample\tfile=/p/livepatch-sample.so\tpatch=active\tforced=0",
    "module=old_fix\tfile=/p/old-fix.so\tpatch=none\tforced=1",
    "thread=12\tpatch_state=1",
};

TEST(Fields, Parse) {
  auto f = parse_fields("a=1\tb=x=y\tc=");
  ASSERT_TRUE(f.is_ok());
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ((*f)[1].second, "x=y");
  EXPECT_EQ(*find_field(*f, "c"), "");
  EXPECT_EQ(find_field(*f, "d"), nullptr);
  EXPECT_EQ(parse_fields("a=1\tnovalue").status().code(), EPROTO);
  EXPECT_EQ(parse_fields("=1").status().code(), EPROTO);
}

TEST(PatchList, GroupsByPatchAndObjectInAnyOrder) {
  auto list = build_patch_list(kLines);
  ASSERT_TRUE(list.is_ok()) << list.status().describe();
  ASSERT_EQ(list->patches.size(), 2u);
  EXPECT_EQ(list->patches[0].objects.at(0).funcs.size(), 1u);
  const auto& other = list->patches[1];
  EXPECT_EQ(*find_field(other.fields, "stack_order"), "2");
  EXPECT_EQ(other.objects.at(0).fields.front().second, "libdemo.so.1");
  EXPECT_EQ(list->modules.size(), 2u);
  EXPECT_EQ(list->other.size(), 1u);
}

TEST(PatchList, MalformedLinesAreProtocolErrors) {
  EXPECT_EQ(build_patch_list({"object=main\tpatched=1"}).status().code(), EPROTO);
  EXPECT_EQ(build_patch_list({"func=f,0\tpatch=p"}).status().code(), EPROTO);
}

TEST(PatchList, Json) {
  auto j = patch_list_json(*build_patch_list(kLines));
  const auto& p = j["patches"][0];
  EXPECT_EQ(p["patch"], "livepatch_sample");
  EXPECT_EQ(p["enabled"], true);
  EXPECT_EQ(p["transition"], false);
  EXPECT_EQ(p["stack_order"], 1);
  EXPECT_EQ(p["file"], "/p/livepatch-sample.so");
  EXPECT_EQ(p["objects"][0]["object"], "main");
  EXPECT_EQ(p["objects"][0]["patched"], true);
  EXPECT_FALSE(p["objects"][0].contains("patch"));
  EXPECT_EQ(p["objects"][0]["funcs"][0]["func"], "answer,1");
  EXPECT_EQ(p["objects"][0]["funcs"][0]["old"], "0x401136");
  EXPECT_EQ(j["modules"][1]["module"], "old_fix");
  EXPECT_EQ(j["modules"][1]["forced"], true);
  EXPECT_EQ(j["other"][0]["thread"], 12);
}

TEST(PatchList, FieldJsonKeepsNonCanonicalNumbersAsText) {
  EXPECT_EQ(field_json("x", "007"), "007");
  EXPECT_EQ(field_json("x", "-3"), -3);
  EXPECT_EQ(field_json("enabled", "2"), 2);
  EXPECT_EQ(field_json("x", ""), "");
}

TEST(PatchList, Text) {
  std::string text = render_patch_list(*build_patch_list(kLines));
  EXPECT_EQ(text,
            "livepatch_sample  enabled  stack_order=1  file=/p/livepatch-sample.so\n"
            "  main  patched\n"
            "    answer,1  0x401136 -> 0x7f0000001000\n"
            "other  disabling (in transition), replace  stack_order=2\n"
            "  libdemo.so.1  not patched\n"
            "    helper,2  0x10 -> 0x20\n"
            "  libgone.so  not loaded\n"
            "old_fix  disabled, module still loaded, forced  file=/p/old-fix.so\n"
            "thread=12  patch_state=1\n");
}

}  // namespace
}  // namespace uklp::cli
