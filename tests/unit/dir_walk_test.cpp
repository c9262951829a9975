#include "odbox/util/dir_walk.hpp"
#include "test_dir.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace odbox::util;
using odbox::test::ScratchDir;
using odbox::test::write_text;

namespace {

UniqueFd open_or_fail(const std::filesystem::path& dir) {
  auto fd = open_directory(AT_FDCWD, dir.c_str());
  EXPECT_TRUE(fd) << dir << ": " << (fd ? "" : fd.error().message());
  return fd ? std::move(*fd) : UniqueFd();
}

// Every entry `reader` gives for `dir`: name -> type.
std::map<std::string, FileType> read_all(DirReader& reader, int dir) {
  std::map<std::string, FileType> out;
  reader.start(dir);
  DirEntry entry;
  for (;;) {
    auto more = reader.next(entry);
    EXPECT_TRUE(more) << (more ? "" : more.error().message());
    if (!more || !*more) {
      break;
    }
    EXPECT_TRUE(out.emplace(entry.name, entry.type).second) << "twice: " << entry.name;
  }
  EXPECT_TRUE(reader.at_end());
  return out;
}

} // namespace

TEST(DirReader, ReadsEveryEntryWithItsTypeOverManyBuffers) {
  ScratchDir dir;
  constexpr int k_files = 500;
  for (int i = 0; i < k_files; ++i) {
    write_text(dir.path() / ("file-" + std::to_string(i)), "");
  }
  std::filesystem::create_directory(dir.path() / "sub");
  std::filesystem::create_symlink("file-0", dir.path() / "link");
  ASSERT_EQ(::mkfifo((dir.path() / "fifo").c_str(), 0600), 0);
  const UniqueFd fd = open_or_fail(dir.path());
  DirReader reader(1024); // a few entries a call: many refills
  const auto entries = read_all(reader, fd.get());
  EXPECT_EQ(entries.size(), k_files + 3U);
  EXPECT_FALSE(entries.contains("."));
  EXPECT_FALSE(entries.contains(".."));
  // The file system of the scratch directory gives d_type; resolve_type
  // covers the others.
  EXPECT_EQ(entries.at("file-499"), FileType::regular);
  EXPECT_EQ(entries.at("sub"), FileType::directory);
  EXPECT_EQ(entries.at("link"), FileType::symlink);
  EXPECT_EQ(entries.at("fifo"), FileType::other);
}

TEST(DirReader, GivesInodeNumbersAndServesDirectoriesInTurn) {
  ScratchDir dir;
  write_text(dir.path() / "a/one", "1");
  write_text(dir.path() / "b/two", "2");
  DirReader reader;
  for (const char* sub : {"a", "b", "a"}) {
    SCOPED_TRACE(sub);
    const UniqueFd fd = open_or_fail(dir.path() / sub);
    reader.start(fd.get());
    DirEntry entry;
    auto more = reader.next(entry);
    ASSERT_TRUE(more && *more);
    struct stat st {};
    ASSERT_EQ(::fstatat(fd.get(), entry.name.data(), &st, AT_SYMLINK_NOFOLLOW), 0);
    EXPECT_EQ(entry.ino, st.st_ino);
    EXPECT_EQ(entry.name, std::string(sub) == "a" ? "one" : "two");
    more = reader.next(entry);
    ASSERT_TRUE(more);
    EXPECT_FALSE(*more);
  }
}

TEST(DirReader, AFileIsNoDirectoryToRead) {
  ScratchDir dir;
  write_text(dir.path() / "file", "x");
  const UniqueFd fd(::open((dir.path() / "file").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  DirReader reader;
  reader.start(fd.get());
  DirEntry entry;
  const auto more = reader.next(entry);
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().call, "getdents64");
  EXPECT_EQ(more.error().err, ENOTDIR);
}

// One case of open_directory: what stands at the name, and what comes of it.
struct OpenCase {
  const char* label;
  void (*make)(const std::filesystem::path& at);
  bool follow_symlink;
  int expected_errno; // 0: opened
};

void make_dir(const std::filesystem::path& at) {
  std::filesystem::create_directory(at);
}
void make_file(const std::filesystem::path& at) {
  write_text(at, "x");
}
void make_dir_link(const std::filesystem::path& at) {
  std::filesystem::create_directory(at.parent_path() / "target");
  std::filesystem::create_directory_symlink(at.parent_path() / "target", at);
}
void make_dangling_link(const std::filesystem::path& at) {
  std::filesystem::create_symlink(at.parent_path() / "nowhere", at);
}
void make_nothing(const std::filesystem::path&) {}

class OpenDirectory : public ::testing::TestWithParam<OpenCase> {};

TEST_P(OpenDirectory, OpensOnlyADirectoryAndFollowsNoSymlinkUnlessAsked) {
  ScratchDir dir;
  const auto at = dir.path() / "entry";
  GetParam().make(at);
  const UniqueFd parent = open_or_fail(dir.path());
  const auto fd = open_directory(parent.get(), "entry", GetParam().follow_symlink);
  if (GetParam().expected_errno == 0) {
    ASSERT_TRUE(fd) << fd.error().message();
    EXPECT_TRUE(fd->valid());
    EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
  } else {
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.error().err, GetParam().expected_errno) << fd.error().message();
    EXPECT_EQ(fd.error().call, "openat");
    EXPECT_EQ(fd.error().path, "entry");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OpenDirectory,
    ::testing::Values(OpenCase{"directory", make_dir, false, 0},
                      OpenCase{"file", make_file, false, ENOTDIR},
                      OpenCase{"symlink_to_directory", make_dir_link, false, ENOTDIR},
                      OpenCase{"symlink_followed", make_dir_link, true, 0},
                      OpenCase{"dangling_symlink", make_dangling_link, false, ENOTDIR},
                      OpenCase{"dangling_symlink_followed", make_dangling_link, true,
                               ENOENT},
                      OpenCase{"nothing", make_nothing, false, ENOENT}),
    [](const auto& row) { return std::string(row.param.label); });

TEST(ResolveType, StatsOnlyWhenTheFileSystemGaveNoType) {
  ScratchDir dir;
  write_text(dir.path() / "file", "x");
  std::filesystem::create_directory(dir.path() / "sub");
  std::filesystem::create_symlink("sub", dir.path() / "link");
  const UniqueFd fd = open_or_fail(dir.path());
  const auto type_of = [&](const char* name, FileType given) {
    const auto type = resolve_type(fd.get(), DirEntry{name, 0, given});
    EXPECT_TRUE(type) << name;
    return type ? *type : FileType::unknown;
  };
  EXPECT_EQ(type_of("file", FileType::unknown), FileType::regular);
  EXPECT_EQ(type_of("sub", FileType::unknown), FileType::directory);
  EXPECT_EQ(type_of("link", FileType::unknown), FileType::symlink);     // not followed
  EXPECT_EQ(type_of("file", FileType::directory), FileType::directory); // d_type trusted
  const auto gone = resolve_type(fd.get(), DirEntry{"gone", 0, FileType::unknown});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().err, ENOENT);
  EXPECT_EQ(gone.error().path, "gone");
}

namespace {

// Every regular file walk_regular_files visits below `top`, sorted.
std::vector<std::string> walk(const std::filesystem::path& top, int max_depth = 16) {
  const UniqueFd fd = open_or_fail(top);
  std::vector<std::string> seen;
  const auto walked =
      walk_regular_files(fd.get(), max_depth, [&](const WalkedFile& file) {
        struct stat st {};
        EXPECT_EQ(::fstatat(file.dir, file.name, &st, AT_SYMLINK_NOFOLLOW), 0)
            << file.rel;
        EXPECT_TRUE(std::string_view(file.rel).ends_with(file.name));
        EXPECT_EQ(file.rel.data()[file.rel.size()], '\0');
        seen.emplace_back(file.rel);
        return SysResult<void>{};
      });
  EXPECT_TRUE(walked) << (walked ? "" : walked.error().message());
  std::sort(seen.begin(), seen.end());
  return seen;
}

} // namespace

TEST(WalkRegularFiles, VisitsRegularFilesAndFollowsNoSymlink) {
  ScratchDir dir;
  const auto top = dir.path() / "top";
  write_text(top / "aa/aa1", "1");
  write_text(top / "aa/aa2", "2");
  write_text(top / "checklist/bb/bb1", "3");
  write_text(top / "flat", "4");
  write_text(dir.path() / "outside/secret", "5");
  std::filesystem::create_directory_symlink(dir.path() / "outside", top / "linked_dir");
  std::filesystem::create_symlink(dir.path() / "outside/secret", top / "aa/linked_file");
  ASSERT_EQ(::mkfifo((top / "aa/fifo").c_str(), 0600), 0);
  EXPECT_EQ(walk(top),
            (std::vector<std::string>{"aa/aa1", "aa/aa2", "checklist/bb/bb1", "flat"}));
}

TEST(WalkRegularFiles, LeavesOutDirectoriesBelowTheDepthLimit) {
  ScratchDir dir;
  write_text(dir.path() / "top/0", "");
  write_text(dir.path() / "top/a/1", "");
  write_text(dir.path() / "top/a/b/2", "");
  write_text(dir.path() / "top/a/b/c/3", "");
  EXPECT_EQ(walk(dir.path() / "top", 2), (std::vector<std::string>{"0", "a/1", "a/b/2"}));
  EXPECT_EQ(walk(dir.path() / "top", 0), (std::vector<std::string>{"0"}));
}

TEST(WalkRegularFiles, AVisitorFailureStopsTheWalk) {
  ScratchDir dir;
  for (int i = 0; i < 5; ++i) {
    write_text(dir.path() / "top/aa" / std::to_string(i), "");
  }
  const UniqueFd fd = open_or_fail(dir.path() / "top");
  int visits = 0;
  const auto walked = walk_regular_files(fd.get(), 16, [&](const WalkedFile& file) {
    ++visits;
    errno = EIO;
    return SysResult<void>(std::unexpected(sys_error("visit", std::string(file.rel))));
  });
  ASSERT_FALSE(walked);
  EXPECT_EQ(visits, 1);
  EXPECT_EQ(walked.error().call, "visit");
  EXPECT_EQ(walked.error().err, EIO);
}

TEST(WalkRegularFiles, NamesTheSubdirectoryItCannotOpen) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root opens a directory of mode 000";
  }
  ScratchDir dir;
  write_text(dir.path() / "top/aa/closed/file", "");
  ASSERT_EQ(::chmod((dir.path() / "top/aa/closed").c_str(), 0), 0);
  const UniqueFd fd = open_or_fail(dir.path() / "top");
  const auto walked = walk_regular_files(
      fd.get(), 16, [](const WalkedFile&) { return SysResult<void>{}; });
  ::chmod((dir.path() / "top/aa/closed").c_str(), 0700);
  ASSERT_FALSE(walked);
  EXPECT_EQ(walked.error().err, EACCES);
  EXPECT_EQ(walked.error().path, "aa/closed");
}
