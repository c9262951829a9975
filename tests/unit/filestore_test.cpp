#include "odbox/core/filestore.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

using namespace odbox::core;
using odbox::test::ScratchDir;
using odbox::test::write_text;

TEST(ReferenceLine, ParsesCopyTextFormat) {
  auto ref = parse_reference_line("ab/ab12\t14\tab12");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->store_fname, "ab/ab12");
  EXPECT_EQ(ref->size, 14U);
  EXPECT_EQ(ref->checksum, "ab12");
  ref = parse_reference_line("a\\tb/c\t\\N\t\\N");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->store_fname, "a\tb/c");
  EXPECT_FALSE(ref->size);
  EXPECT_EQ(ref->checksum, "");
  EXPECT_FALSE(parse_reference_line("no tabs here"));
}

TEST(StoreName, OnlyRelativePathsInsideTheStore) {
  EXPECT_TRUE(is_safe_store_name("ab/abcdef"));
  EXPECT_TRUE(is_safe_store_name("abc/abcdef"));
  EXPECT_FALSE(is_safe_store_name("/etc/passwd"));
  EXPECT_FALSE(is_safe_store_name("../x"));
  EXPECT_FALSE(is_safe_store_name("ab/../../x"));
  EXPECT_FALSE(is_safe_store_name("ab//x"));
  EXPECT_FALSE(is_safe_store_name(""));
}

TEST(CheckReferences, ListsMissingAndWrongSizedFiles) {
  ScratchDir dir;
  const auto mirror = dir.path() / "mirror";
  write_text(mirror / "aa/aa1", "12345");
  write_text(mirror / "bb/bb1", "123");
  const auto refs = dir.path() / "refs.tsv";
  write_text(refs, "aa/aa1\t5\taa1\nbb/bb1\t4\tbb1\ncc/cc1\t1\tcc1\n../etc\t1\tx\n");
  const auto result = check_references(refs, mirror);
  EXPECT_EQ(result.referenced, 4U);
  EXPECT_EQ(result.missing_count, 3U);
  ASSERT_EQ(result.missing.size(), 3U);
  EXPECT_EQ(result.missing[0], "bb/bb1 (size 3, expected 4)");
  EXPECT_EQ(result.missing[1], "cc/cc1");
  EXPECT_NE(result.missing[2].find("unsafe"), std::string::npos);
}

TEST(CheckReferences, ListIsCappedButCountIsNot) {
  ScratchDir dir;
  std::string refs;
  for (int i = 0; i < 50; ++i) {
    refs += "xx/f" + std::to_string(i) + "\t1\tc\n";
  }
  write_text(dir.path() / "refs.tsv", refs);
  const auto result = check_references(dir.path() / "refs.tsv", dir.path() / "none", 10);
  EXPECT_EQ(result.missing_count, 50U);
  EXPECT_EQ(result.missing.size(), 10U);
}

TEST(PruneMirror, RemovesOnlyFilesGoneFromLiveAndUnreferenced) {
  ScratchDir dir;
  const auto live = dir.path() / "live";
  const auto mirror = dir.path() / "mirror";
  write_text(live / "aa/kept", "1");
  write_text(mirror / "aa/kept", "1");
  write_text(mirror / "bb/gone_referenced", "22");
  write_text(mirror / "cc/gone_unreferenced", "333");
  const auto refs = dir.path() / "refs.tsv";
  write_text(refs, "aa/kept\t1\tx\nbb/gone_referenced\t2\ty\n");
  const auto result = prune_mirror(mirror, live, refs);
  EXPECT_EQ(result.pruned, 1U);
  EXPECT_EQ(result.files, 2U);
  EXPECT_EQ(result.bytes, 3U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "aa/kept"));
  EXPECT_TRUE(std::filesystem::exists(mirror / "bb/gone_referenced"));
  EXPECT_FALSE(std::filesystem::exists(mirror / "cc/gone_unreferenced"));
}

TEST(PruneMirror, MissingLiveStoreKeepsReferencedFiles) {
  ScratchDir dir;
  const auto mirror = dir.path() / "mirror";
  write_text(mirror / "aa/ref", "1");
  write_text(mirror / "aa/unref", "1");
  write_text(dir.path() / "refs.tsv", "aa/ref\t1\tx\n");
  const auto result = prune_mirror(mirror, dir.path() / "no-live", dir.path() / "refs.tsv");
  EXPECT_EQ(result.pruned, 1U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "aa/ref"));
}
