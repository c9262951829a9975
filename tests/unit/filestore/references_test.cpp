#include "odbox/core/errors.hpp"
#include "odbox/core/filestore/references.hpp"
#include "test_store.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace odbox::core;
using odbox::test::ScratchDir;
using odbox::test::write_text;

namespace {

std::vector<ReferencedFile> read_back(const std::filesystem::path& file) {
  std::vector<ReferencedFile> out;
  for_each_reference(file, [&](const ReferencedFile& ref) { out.push_back(ref); });
  return out;
}

} // namespace

TEST(ForEachReference, UndoesCopyTextFormatAndSkipsMalformedLines) {
  ScratchDir dir;
  const auto file = dir.path() / "refs.tsv";
  write_text(file, "ab/ab12\t14\tab12\n"
                   "no tabs here\n"
                   "a\\tb/c\\\\d\\ne\t\\N\t\\N\n"
                   "\n"
                   "cd/cd34\tnot-a-number\tcd34"); // the last line has no newline
  const auto refs = read_back(file);
  ASSERT_EQ(refs.size(), 3U);
  EXPECT_EQ(refs[0].store_fname, "ab/ab12");
  EXPECT_EQ(refs[0].size, 14U);
  EXPECT_EQ(refs[0].checksum, "ab12");
  EXPECT_EQ(refs[1].store_fname, "a\tb/c\\d\ne");
  EXPECT_FALSE(refs[1].size);
  EXPECT_EQ(refs[1].checksum, "");
  EXPECT_EQ(refs[2].store_fname, "cd/cd34");
  EXPECT_FALSE(refs[2].size);
  EXPECT_EQ(refs[2].checksum, "cd34");
}

TEST(ForEachReference, ReadsLinesLongerThanOneReadAndManyLines) {
  ScratchDir dir;
  const auto file = dir.path() / "refs.tsv";
  const std::string long_name = "ab/" + std::string(100'000, 'x');
  std::string text = long_name + "\t1\tc\n";
  for (unsigned n = 0; n < 20'000; ++n) {
    text += odbox::test::store_name(n) + "\t" + std::to_string(n) + "\tc\n";
  }
  write_text(file, text);
  const auto refs = read_back(file);
  ASSERT_EQ(refs.size(), 20'001U);
  EXPECT_EQ(refs[0].store_fname, long_name);
  EXPECT_EQ(refs[20'000].store_fname, odbox::test::store_name(19'999));
  EXPECT_EQ(refs[20'000].size, 19'999U);
}

TEST(ForEachReference, AFileListThatCannotBeReadThrows) {
  ScratchDir dir;
  try {
    read_back(dir.path() / "absent.tsv");
    FAIL() << "no exception";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.tsv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_back(dir.path()), RunError); // a directory: read fails (EISDIR)
}

TEST(StoreName, OnlyRelativePathsInsideTheStore) {
  EXPECT_TRUE(is_safe_store_name("ab/abcdef"));
  EXPECT_TRUE(is_safe_store_name("abc/abcdef"));
  EXPECT_FALSE(is_safe_store_name("/etc/passwd"));
  EXPECT_FALSE(is_safe_store_name("../x"));
  EXPECT_FALSE(is_safe_store_name("ab/../../x"));
  EXPECT_FALSE(is_safe_store_name("ab/./x"));
  EXPECT_FALSE(is_safe_store_name("ab//x"));
  EXPECT_FALSE(is_safe_store_name("ab/"));
  EXPECT_FALSE(is_safe_store_name(std::string("ab/x\0y", 6)));
  EXPECT_FALSE(is_safe_store_name(""));
}
