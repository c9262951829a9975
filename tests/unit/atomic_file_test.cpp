#include "odbox/util/atomic_file.hpp"
#include "test_dir.hpp"

#include <algorithm>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <system_error>
#include <unistd.h>
#include <vector>

using odbox::test::read_text;
using odbox::test::ScratchDir;
using odbox::test::write_text;
using odbox::util::AtomicFile;
using odbox::util::commit_together;
using odbox::util::UniqueFd;

namespace {
std::size_t entries(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                std::filesystem::directory_iterator()));
}

// Pages of `path` in the page cache (mincore over a mapping, which reads nothing).
std::size_t cached_pages(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  const auto size = std::filesystem::file_size(path);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "mmap");
  }
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  const int rc = ::mincore(map, size, resident.data());
  ::munmap(map, size);
  if (rc != 0) {
    throw std::system_error(errno, std::generic_category(), "mincore");
  }
  return static_cast<std::size_t>(std::count_if(
      resident.begin(), resident.end(), [](unsigned char c) { return (c & 1U) != 0; }));
}
} // namespace

TEST(AtomicFile, TargetUntouchedUntilCommit) {
  ScratchDir dir;
  const auto target = dir.path() / "dump.sql";
  odbox::test::write_text(target, "old");
  {
    auto file = AtomicFile::create(target);
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->write("new content"));
    EXPECT_EQ(odbox::test::read_text(target), "old");
    ASSERT_TRUE(file->commit());
  }
  EXPECT_EQ(odbox::test::read_text(target), "new content");
  EXPECT_EQ(entries(dir.path()), 1U);
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
}

TEST(AtomicFile, DiscardedWithoutCommitLeavesOldContentAndNoTemporary) {
  ScratchDir dir;
  const auto target = dir.path() / "dump.sql";
  odbox::test::write_text(target, "old");
  {
    auto file = AtomicFile::create(target);
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->write("partial"));
    EXPECT_EQ(entries(dir.path()), 2U);
  }
  EXPECT_EQ(odbox::test::read_text(target), "old");
  EXPECT_EQ(entries(dir.path()), 1U);
}

TEST(AtomicFile, LargeStreamWithCacheDropping) {
  ScratchDir dir;
  const auto target = dir.path() / "big";
  auto file = AtomicFile::create(target, {.drop_cache = true});
  ASSERT_TRUE(file);
  const std::string chunk(1 << 20, 'x');
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(file->write(chunk));
  }
  EXPECT_EQ(file->size(), 20U << 20U);
  ASSERT_TRUE(file->commit());
  EXPECT_EQ(std::filesystem::file_size(target), 20U << 20U);
}

TEST(AtomicFile, CacheDroppingKeepsUnevenWritesExactAndNoneOfThemCached) {
  ScratchDir dir;
  struct statfs fs {};
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) {
    GTEST_SKIP() << "on tmpfs the page cache is where the file lives";
  }
  const auto target = dir.path() / "big";
  auto file = AtomicFile::create(target, {.drop_cache = true});
  ASSERT_TRUE(file);
  std::string expected;
  for (std::size_t i = 0; expected.size() < (20U << 20U); ++i) {
    // 1 byte to 1 MiB, seldom a whole number of pages
    const std::string piece((i * 7919U) % (1U << 20U) + 1,
                            static_cast<char>('a' + i % 26));
    ASSERT_TRUE(file->write(piece));
    expected += piece;
  }
  EXPECT_EQ(file->size(), expected.size());
  ASSERT_TRUE(file->commit());
  EXPECT_EQ(cached_pages(target), 0U);
  EXPECT_EQ(read_text(target), expected);
}

TEST(AtomicFile, TempPrefixIdentifiesLeftovers) {
  ScratchDir dir;
  const auto target = dir.path() / "odoo.dump.sql";
  auto file = AtomicFile::create(target);
  ASSERT_TRUE(file);
  EXPECT_TRUE(
      file->temp_path().filename().string().starts_with(AtomicFile::temp_prefix(target)));
}

TEST(AtomicFile, CreateFailsInMissingDirectory) {
  ScratchDir dir;
  auto file = AtomicFile::create(dir.path() / "missing" / "x");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().call, "open");
  EXPECT_NE(file.error().message().find("No such file"), std::string::npos);
}

TEST(AtomicFile, CommitTogetherRenamesInOrderOnlyWhenAllAreDurable) {
  ScratchDir dir;
  write_text(dir.path() / "list", "old list");
  write_text(dir.path() / "manifest", "old manifest");
  auto list = AtomicFile::create(dir.path() / "list");
  auto manifest = AtomicFile::create(dir.path() / "manifest");
  ASSERT_TRUE(list && manifest);
  ASSERT_TRUE(list->write("new list"));
  ASSERT_TRUE(manifest->write("new manifest"));
  ASSERT_TRUE(commit_together({&*list, &*manifest}));
  EXPECT_EQ(read_text(dir.path() / "list"), "new list");
  EXPECT_EQ(read_text(dir.path() / "manifest"), "new manifest");
}

TEST(AtomicFile, CommitTogetherStopsAtTheFirstFailedRename) {
  ScratchDir dir;
  write_text(dir.path() / "a" / "first", "old first");
  write_text(dir.path() / "b" / "last", "old last");
  auto first = AtomicFile::create(dir.path() / "a" / "first");
  auto last = AtomicFile::create(dir.path() / "b" / "last");
  ASSERT_TRUE(first && last);
  ASSERT_TRUE(first->write("new first"));
  ASSERT_TRUE(last->write("new last"));
  // The first file's temporary vanishes: its rename fails, and the last
  // file, which ties the set together, is never renamed.
  std::filesystem::remove(first->temp_path());
  const auto ok = commit_together({&*first, &*last});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().call, "rename");
  EXPECT_EQ(read_text(dir.path() / "a" / "first"), "old first");
  EXPECT_EQ(read_text(dir.path() / "b" / "last"), "old last");
}
