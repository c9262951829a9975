#include "odbox/core/errors.hpp"
#include "odbox/core/filestore/check.hpp"
#include "test_store.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace odbox::core;
using odbox::test::k_name_a;
using odbox::test::ScratchDir;
using odbox::test::write_text;

TEST(CheckReferences, ListsMissingAndWrongSizedFiles) {
  ScratchDir dir;
  const auto mirror = dir.path() / "mirror";
  write_text(mirror / "aa/aa1", "12345");
  write_text(mirror / "bb/bb1", "123");
  std::filesystem::create_directories(mirror / "dd/dd1"); // a directory, not a file
  const auto refs = dir.path() / "refs.tsv";
  write_text(refs, "aa/aa1\t5\taa1\nbb/bb1\t4\tbb1\ncc/cc1\t1\tcc1\ndd/dd1\t\\N\tx\n"
                   "../etc\t1\tx\n");
  const auto result = check_references(refs, mirror);
  EXPECT_EQ(result.referenced, 5U);
  EXPECT_EQ(result.missing_count, 4U);
  ASSERT_EQ(result.missing.size(), 4U);
  EXPECT_EQ(result.missing[0], "bb/bb1 (size 3, expected 4)");
  EXPECT_EQ(result.missing[1], "cc/cc1");
  EXPECT_EQ(result.missing[2], "dd/dd1");
  EXPECT_EQ(result.missing[3], "../etc (unsafe name, not checked)");
}

TEST(CheckReferences, ListIsCappedButCountIsNot) {
  ScratchDir dir;
  std::string refs;
  for (int i = 0; i < 50; ++i) {
    refs += "xx/f" + std::to_string(i) + "\t1\tc\n";
  }
  write_text(dir.path() / "refs.tsv", refs);
  const auto result = check_references(dir.path() / "refs.tsv", dir.path() / "none", 10);
  EXPECT_EQ(result.referenced, 50U);
  EXPECT_EQ(result.missing_count, 50U);
  EXPECT_EQ(result.missing.size(), 10U);
}

TEST(CheckReferences, TakesListedSizesAndStatsTheRest) {
  ScratchDir dir;
  const auto mirror = dir.path() / "mirror";
  write_text(mirror / k_name_a, "12345");
  write_text(mirror / "bb/bb1", "123"); // kept from an earlier run, not listed
  MirrorListing listing;
  listing.add(k_name_a, 5);
  listing.seal();
  const auto refs = dir.path() / "refs.tsv";
  write_text(refs, k_name_a + "\t5\tx\nbb/bb1\t4\ty\ncc/cc1\t1\tz\n");
  const auto result = check_references(refs, mirror, 10, &listing);
  EXPECT_EQ(result.referenced, 3U);
  ASSERT_EQ(result.missing.size(), 2U);
  EXPECT_EQ(result.missing[0], "bb/bb1 (size 3, expected 4)");
  EXPECT_EQ(result.missing[1], "cc/cc1");
}

TEST(CheckReferences, SaysWhenTheMirrorCouldNotTell) {
  ScratchDir dir;
  const auto mirror = dir.path() / "mirror";
  write_text(mirror / "aa", "a file where a directory belongs");
  std::filesystem::create_directories(mirror);
  std::filesystem::create_symlink("bb", mirror / "bb"); // a loop
  write_text(dir.path() / "refs.tsv", "aa/aa1\t1\tx\nbb/bb1\t1\ty\n");
  const auto result = check_references(dir.path() / "refs.tsv", mirror);
  ASSERT_EQ(result.missing.size(), 2U);
  EXPECT_EQ(result.missing[0], "aa/aa1"); // ENOTDIR: not there
  EXPECT_EQ(result.missing[1], "bb/bb1 (fstatat: Too many levels of symbolic links)");
}

TEST(CheckReferences, AMirrorThatIsNoDirectoryHoldsNothing) {
  ScratchDir dir;
  write_text(dir.path() / "mirror", "a file, not a directory");
  write_text(dir.path() / "refs.tsv", "aa/aa1\t1\tx\n");
  const auto result = check_references(dir.path() / "refs.tsv", dir.path() / "mirror");
  EXPECT_EQ(result.missing_count, 1U);
  EXPECT_EQ(result.missing, std::vector<std::string>{"aa/aa1"});
}

TEST(CheckReferences, AMirrorThatCannotBeOpenedThrows) {
  ScratchDir dir;
  std::filesystem::create_symlink("mirror", dir.path() / "mirror"); // a loop
  write_text(dir.path() / "refs.tsv", "aa/aa1\t1\tx\n");
  try {
    (void)check_references(dir.path() / "refs.tsv", dir.path() / "mirror");
    FAIL() << "no exception";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("open " + (dir.path() / "mirror").string()),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("Too many levels of symbolic links"),
              std::string::npos)
        << e.what();
  }
}
