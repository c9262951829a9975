#include "odbox/core/errors.hpp"
#include "odbox/core/filestore/rsync_mirror.hpp"
#include "test_store.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace odbox::core;
using odbox::test::k_name_a;
using odbox::test::k_sha_a;
using odbox::test::read_text;
using odbox::test::ScratchDir;
using odbox::test::shell_script;
using odbox::test::write_text;

TEST(RsyncItem, ParsesRegularFilesAndUndoesEscapes) {
  auto item = parse_rsync_item(">f+++++++++ 3000000 ab/big");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first, "ab/big");
  EXPECT_EQ(item->second, 3000000U);
  item = parse_rsync_item(".f          100 cd/f2"); // up to date
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first, "cd/f2");
  EXPECT_EQ(item->second, 100U);
  item = parse_rsync_item(".f          1 cd/we ird\\#012name\\#134#012");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first, "cd/we ird\nname\\#012");
  item = parse_rsync_item(">f+++++++++ 7 a\\#9 b\\"); // not an escape: kept as is
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first, "a\\#9 b\\");
  EXPECT_FALSE(parse_rsync_item(".d          4096 ab/"));
  EXPECT_FALSE(parse_rsync_item("cL+++++++++ 5 link"));
  EXPECT_FALSE(parse_rsync_item("created directory /backup/odoo/filestore/odoo"));
  EXPECT_FALSE(parse_rsync_item(">f+++++++++ 12"));
  EXPECT_FALSE(parse_rsync_item(">f+++++++++ 12x name"));
  EXPECT_FALSE(parse_rsync_item(""));
}

namespace {

class MirrorStore : public ::testing::Test {
protected:
  // An rsync that keeps the list of files it is given (--files-from on
  // stdin, NUL-separated) in `handed_list`, then runs the real one.
  std::string recording_rsync() {
    return shell_script(dir.path() / "rsync-recording", "cat > '" + handed_list.string() +
                                                            "'\nexec rsync \"$@\" < '" +
                                                            handed_list.string() + "'")
        .string();
  }
  // What the recording rsync was handed, sorted; nothing if it did not run.
  std::vector<std::string> handed() {
    std::vector<std::string> out;
    const std::string list = read_text(handed_list);
    for (std::size_t start = 0; start < list.size();) {
      const auto end = list.find('\0', start);
      out.push_back(list.substr(start, end - start));
      start = end + 1;
    }
    std::sort(out.begin(), out.end());
    std::filesystem::remove(handed_list);
    return out;
  }
  ScratchDir dir;
  const std::filesystem::path live = dir.path() / "live";
  const std::filesystem::path mirror = dir.path() / "mirror";
  const std::filesystem::path handed_list = dir.path() / "handed";
};

} // namespace

TEST_F(MirrorStore, ListsEveryFileCopiedOrUpToDate) {
  write_text(live / k_name_a, "12345");
  write_text(live / "checklist/ab" / k_sha_a, "");
  write_text(live / "odd/new\nline \\#012", "123");
  std::filesystem::create_symlink("/etc/passwd", live / "ab/link");
  for (const char* round : {"first copy", "no-change rerun"}) {
    SCOPED_TRACE(round);
    MirrorListing listing;
    mirror_filestore(live, mirror, {.listing = &listing});
    EXPECT_EQ(listing.files(), 3U);
    EXPECT_EQ(listing.size_of(k_name_a), 5U);
    EXPECT_EQ(listing.size_of("checklist/ab/" + k_sha_a), 0U);
    EXPECT_EQ(listing.size_of("odd/new\nline \\#012"), 3U);
    EXPECT_FALSE(listing.size_of("ab/link"));
  }
  EXPECT_EQ(read_text(mirror / k_name_a), "12345");
  EXPECT_TRUE(std::filesystem::is_symlink(mirror / "ab/link"));
}

TEST_F(MirrorStore, HandsRsyncOnlyWhatTheQuickCheckFound) {
  write_text(live / "aa/same", "11");
  write_text(live / "bb/grown", "3");
  mirror_filestore(live, mirror, {.rsync = recording_rsync()});
  EXPECT_TRUE(
      handed().empty()); // no quick check without a mirror: rsync walks everything

  write_text(live / "bb/grown", "333");
  write_text(live / "dd/new", "4");
  write_text(mirror / "ee/gone_from_live", "5"); // the prune's business, not rsync's
  MirrorListing listing;
  mirror_filestore(live, mirror, {.rsync = recording_rsync(), .listing = &listing});
  EXPECT_EQ(handed(), (std::vector<std::string>{"bb/grown", "dd/new"}));
  EXPECT_EQ(std::filesystem::status(mirror / "dd").permissions(),
            std::filesystem::perms::owner_all); // a new directory, 0700 like the others
  for (const char* name : {"aa/same", "bb/grown", "dd/new"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(read_text(mirror / name), read_text(live / name));
    EXPECT_EQ(std::filesystem::last_write_time(mirror / name),
              std::filesystem::last_write_time(live / name));
    EXPECT_EQ(listing.size_of(name), std::filesystem::file_size(live / name));
  }
  EXPECT_EQ(listing.files(), 3U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "ee/gone_from_live"));

  // Nothing differs: rsync does not run (a failing one would throw).
  MirrorListing again;
  mirror_filestore(live, mirror,
                   {.rsync = shell_script(dir.path() / "rsync-fails", "exit 12").string(),
                    .listing = &again});
  EXPECT_EQ(again.files(), 3U);
  EXPECT_EQ(again.size_of("bb/grown"), 3U);
}

TEST_F(MirrorStore, AFileGoneBetweenQuickCheckAndRsyncIsNoError) {
  write_text(live / "aa/kept", "1");
  mirror_filestore(live, mirror, {});
  write_text(live / "bb/new", "22");
  write_text(live / "bb/vanishing", "333");
  // Odoo's garbage collection removes a file after the check listed it.
  const auto rsync =
      shell_script(dir.path() / "rsync-after-gc",
                   "rm -f '" + (live / "bb/vanishing").string() + "'\nexec rsync \"$@\"");
  MirrorListing listing;
  mirror_filestore(live, mirror, {.rsync = rsync.string(), .listing = &listing});
  EXPECT_EQ(read_text(mirror / "bb/new"), "22");
  EXPECT_FALSE(std::filesystem::exists(mirror / "bb/vanishing"));
  EXPECT_EQ(listing.size_of("bb/new"), 2U);
  EXPECT_FALSE(listing.size_of("bb/vanishing"));
  EXPECT_EQ(listing.size_of("aa/kept"), 1U);
}

TEST_F(MirrorStore, VanishedFilesLeaveTheListingEmpty) {
  write_text(live / "aa/file", "1");
  MirrorListing listing;
  listing.add("stale/entry", 1);
  mirror_filestore(
      live, mirror,
      {.rsync = shell_script(dir.path() / "rsync-24", "rsync \"$@\"\nexit 24").string(),
       .listing = &listing});
  EXPECT_EQ(listing.files(), 0U);
  EXPECT_EQ(read_text(mirror / "aa/file"), "1");
}

TEST_F(MirrorStore, AFailingRsyncThrowsWithItsLastLine) {
  write_text(live / "aa/file", "1");
  const auto rsync = shell_script(dir.path() / "rsync-broken",
                                  "echo 'rsync: disk on fire' >&2\nexit 11");
  try {
    mirror_filestore(live, mirror, {.rsync = rsync.string()});
    FAIL() << "no exception";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("disk on fire"), std::string::npos) << e.what();
  }
}

TEST_F(MirrorStore, QuickCheckSeesANewOwner) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to change a file's owner";
  }
  write_text(live / "aa/file", "1");
  mirror_filestore(live, mirror, {});
  ASSERT_EQ(::chown((live / "aa/file").c_str(), 1, 1), 0); // size and mtime unchanged
  mirror_filestore(live, mirror, {.rsync = recording_rsync()});
  EXPECT_EQ(handed(), std::vector<std::string>{"aa/file"});
  struct stat st {};
  ASSERT_EQ(::stat((mirror / "aa/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1U);
  EXPECT_EQ(st.st_gid, 1U);
}

TEST_F(MirrorStore, AMissingLiveStoreIsAnEmptyStore) {
  MirrorListing listing;
  mirror_filestore(live, mirror,
                   {.rsync = shell_script(dir.path() / "rsync-fails", "exit 12").string(),
                    .listing = &listing});
  EXPECT_FALSE(std::filesystem::exists(mirror));
  EXPECT_EQ(listing.files(), 0U);
}

// A live store that cannot be looked up is an error, not an empty store.
namespace {

struct LookupCase {
  const char* label;
  std::filesystem::path (*make)(
      const std::filesystem::path& dir); // the live store's path
  const char* error;
};

std::filesystem::path below_a_file(const std::filesystem::path& dir) {
  write_text(dir / "data", "not a directory");
  return dir / "data/filestore/db";
}
std::filesystem::path in_a_symlink_loop(const std::filesystem::path& dir) {
  std::filesystem::create_symlink("loop", dir / "loop");
  return dir / "loop/db";
}

class MirrorLiveLookup : public ::testing::TestWithParam<LookupCase> {};

} // namespace

TEST_P(MirrorLiveLookup, ThrowsNamingTheStoreAndTheError) {
  ScratchDir dir;
  const auto live = GetParam().make(dir.path());
  try {
    mirror_filestore(live, dir.path() / "mirror", {});
    FAIL() << "no exception";
  } catch (const RunError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("stat " + live.string()), std::string::npos) << what;
    EXPECT_NE(what.find(GetParam().error), std::string::npos) << what;
    EXPECT_EQ(what.find("does not exist"), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "mirror"));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, MirrorLiveLookup,
    ::testing::Values(LookupCase{"below_a_file", below_a_file, "Not a directory"},
                      LookupCase{"in_a_symlink_loop", in_a_symlink_loop,
                                 "Too many levels of symbolic links"}),
    [](const auto& row) { return std::string(row.param.label); });
