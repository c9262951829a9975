#include "odbox/core/errors.hpp"
#include "odbox/core/filestore/prune.hpp"
#include "test_store.hpp"

#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace odbox::core;
using odbox::test::k_name_a;
using odbox::test::ScratchDir;
using odbox::test::write_text;

namespace {

// A live store and its mirror, both holding aa/kept (1 byte).
class PruneStore : public ::testing::Test {
protected:
  void SetUp() override {
    write_text(live / "aa/kept", "1");
    write_text(mirror / "aa/kept", "1");
  }
  // The file list of the new dump.
  std::filesystem::path references(const std::string& lines) {
    write_text(refs, lines);
    return refs;
  }
  // The scan, the plan and the deletion, as a run does them.
  PruneResult prune(const MirrorListing* listing = nullptr) {
    return apply_prune(plan_prune(scan_mirror(mirror, live, listing), refs), mirror);
  }
  ScratchDir dir;
  const std::filesystem::path live = dir.path() / "live";
  const std::filesystem::path mirror = dir.path() / "mirror";
  const std::filesystem::path refs = dir.path() / "refs.tsv";
};

} // namespace

TEST_F(PruneStore, RemovesOnlyFilesGoneFromLiveAndUnreferenced) {
  write_text(mirror / "bb/gone_referenced", "22");
  write_text(mirror / "cc/gone_unreferenced", "333");
  references("aa/kept\t1\tx\nbb/gone_referenced\t2\ty\n");
  const auto result = prune();
  EXPECT_EQ(result.pruned, 1U);
  EXPECT_EQ(result.files, 2U);
  EXPECT_EQ(result.bytes, 3U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "aa/kept"));
  EXPECT_TRUE(std::filesystem::exists(mirror / "bb/gone_referenced"));
  EXPECT_FALSE(std::filesystem::exists(mirror / "cc/gone_unreferenced"));
}

TEST_F(PruneStore, ScanDeletesNothingAndPruneCountsWhatItFinds) {
  write_text(mirror / "bb/gone_a", "22");
  write_text(mirror / "cc/gone_b", "333");
  const MirrorScan scan = scan_mirror(mirror, live);
  EXPECT_EQ(scan.files, 3U);
  EXPECT_EQ(scan.bytes, 6U);
  EXPECT_EQ(scan.gone.size(), 2U);
  EXPECT_FALSE(scan.live_unreadable);
  EXPECT_TRUE(std::filesystem::exists(mirror / "bb/gone_a"));
  EXPECT_TRUE(std::filesystem::exists(mirror / "cc/gone_b"));

  const PrunePlan plan = plan_prune(scan, references("aa/kept\t1\tx\n"));
  EXPECT_EQ(plan.doomed.size(), 2U);
  EXPECT_EQ(plan.files, 1U);
  EXPECT_EQ(plan.bytes, 1U);
  EXPECT_FALSE(plan.not_pruned_because);
  EXPECT_EQ(plan.lost_from_live_count, 0U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "bb/gone_a")); // the plan deletes nothing

  std::filesystem::remove(mirror / "cc/gone_b"); // gone between the steps
  const auto result = apply_prune(plan, mirror);
  EXPECT_EQ(result.pruned, 1U);
  EXPECT_EQ(result.files, 1U);
  EXPECT_EQ(result.bytes, 1U);
  EXPECT_FALSE(std::filesystem::exists(mirror / "bb/gone_a"));
}

TEST_F(PruneStore, AFileThatCannotBeDeletedStaysCounted) {
  write_text(mirror / "bb/gone", "22");
  const PrunePlan plan =
      plan_prune(scan_mirror(mirror, live), references("aa/kept\t1\tx\n"));
  ASSERT_EQ(plan.doomed.size(), 1U);
  EXPECT_EQ(plan.files, 1U);
  // Now a directory stands there: unlink fails (EISDIR), nothing is deleted.
  std::filesystem::remove(mirror / "bb/gone");
  std::filesystem::create_directory(mirror / "bb/gone");
  const auto result = apply_prune(plan, mirror);
  EXPECT_EQ(result.pruned, 0U);
  EXPECT_EQ(result.files, 2U);
  EXPECT_EQ(result.bytes, 3U);
  EXPECT_TRUE(std::filesystem::is_directory(mirror / "bb/gone"));
}

TEST_F(PruneStore, ListedFilesAreKeptWithoutLookingAtTheLiveStore) {
  write_text(mirror / k_name_a, "12345"); // listed: rsync saw it in the live store
  write_text(mirror / "checklist/cc/gone", "333");
  write_text(mirror / "dd/gone_referenced", "22");
  write_text(dir.path() / "outside/file", "x");
  std::filesystem::create_directory_symlink(dir.path() / "outside", mirror / "linked");
  MirrorListing listing;
  listing.add(k_name_a, 5);
  listing.seal();
  references("dd/gone_referenced\t2\ty\n");
  const auto result = prune(&listing);
  EXPECT_EQ(result.pruned, 1U);
  EXPECT_EQ(result.files, 3U);
  EXPECT_EQ(result.bytes, 1U + 5U + 2U);
  EXPECT_TRUE(std::filesystem::exists(mirror / k_name_a));
  EXPECT_TRUE(std::filesystem::exists(mirror / "aa/kept"));
  EXPECT_TRUE(std::filesystem::exists(mirror / "dd/gone_referenced"));
  EXPECT_FALSE(std::filesystem::exists(mirror / "checklist/cc/gone"));
  EXPECT_TRUE(
      std::filesystem::exists(dir.path() / "outside/file")); // symlink not followed
}

TEST_F(PruneStore, AMirrorThatCannotBeReadThrows) {
  std::filesystem::remove_all(mirror);
  write_text(mirror, "a file where the mirror belongs");
  EXPECT_THROW((void)scan_mirror(mirror, live), RunError);
  std::filesystem::remove(mirror);
  EXPECT_EQ(scan_mirror(mirror, live).files, 0U); // no mirror yet: nothing to prune
}

// Referenced files gone from the live store but kept in the mirror: the
// backup holds them, the live Odoo has lost them.
TEST_F(PruneStore, CountsAndNamesTheReferencedFilesLostFromTheLiveStore) {
  std::string lines = "aa/kept\t1\tx\n";
  for (int i = 0; i < 5; ++i) {
    const std::string name = "bb/lost" + std::to_string(i);
    write_text(mirror / name, "22");
    lines += name + "\t2\ty\n";
  }
  write_text(mirror / "cc/gone_unreferenced", "333");
  lines += "dd/never_stored\t1\tz\n"; // missing from both: the check's business
  const PrunePlan plan = plan_prune(scan_mirror(mirror, live), references(lines), 3);
  EXPECT_EQ(plan.lost_from_live_count, 5U);
  EXPECT_EQ(plan.lost_from_live,
            (std::vector<std::string>{"bb/lost0", "bb/lost1", "bb/lost2"}));
  ASSERT_EQ(plan.doomed.size(), 1U);
  EXPECT_EQ(plan.doomed[0].first, "cc/gone_unreferenced");
  EXPECT_FALSE(plan.not_pruned_because);
}

TEST_F(PruneStore, AListedFileIsNotLost) {
  // Gone since rsync listed it: the next run's scan tells.
  std::filesystem::remove(live / "aa/kept");
  MirrorListing listing;
  listing.add("aa/kept", 1);
  listing.seal();
  const PrunePlan plan =
      plan_prune(scan_mirror(mirror, live, &listing), references("aa/kept\t1\tx\n"));
  EXPECT_EQ(plan.lost_from_live_count, 0U);
  EXPECT_TRUE(plan.lost_from_live.empty());
}

TEST_F(PruneStore, AMissingLiveStoreLosesEveryReferencedFileAndPrunesNothing) {
  std::filesystem::remove_all(live);
  write_text(mirror / "bb/referenced", "22");
  write_text(mirror / "cc/unreferenced", "333");
  references("aa/kept\t1\tx\nbb/referenced\t2\ty\ndd/never_stored\t1\tz\n");
  const PrunePlan plan = plan_prune(scan_mirror(mirror, live), refs);
  EXPECT_EQ(plan.lost_from_live_count, 2U); // dd/never_stored: missing, not lost
  EXPECT_EQ(plan.lost_from_live, (std::vector<std::string>{"aa/kept", "bb/referenced"}));
  EXPECT_TRUE(plan.doomed.empty());
  ASSERT_TRUE(plan.not_pruned_because);
  EXPECT_NE(plan.not_pruned_because->find(live.string() + " does not exist"),
            std::string::npos)
      << *plan.not_pruned_because;
  EXPECT_EQ(plan.files, 3U);
  EXPECT_EQ(apply_prune(plan, mirror).pruned, 0U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "cc/unreferenced"));
}

TEST_F(PruneStore, AMissingLiveStoreBesideAnEmptyMirrorIsNothingToSay) {
  std::filesystem::remove_all(live);
  std::filesystem::remove(mirror / "aa/kept");
  const PrunePlan plan = plan_prune(scan_mirror(mirror, live), references(""));
  EXPECT_FALSE(plan.not_pruned_because);
  EXPECT_EQ(plan.files, 0U);
}

// A live store that cannot be read holds the prune back: one row a way it
// fails. `make` breaks the live store (the mirror holds aa/kept, bb/x,
// cc/gone, none of them referenced) and says what the reason names.
struct UnreadableCase {
  const char* label;
  std::string (*make)(const std::filesystem::path& live);
  bool needs_non_root = false; // root reads a directory of mode 000
};

std::string live_missing(const std::filesystem::path& live) {
  std::filesystem::remove_all(live);
  return "does not exist";
}
std::string live_is_a_file(const std::filesystem::path& live) {
  std::filesystem::remove_all(live);
  write_text(live, "not a directory");
  return "cannot open the live store " + live.string() + ": Not a directory";
}
std::string live_is_a_dangling_symlink(const std::filesystem::path& live) {
  std::filesystem::remove_all(live);
  std::filesystem::create_symlink(live.parent_path() / "unmounted/filestore", live);
  return "does not exist";
}
std::string subdirectory_is_a_file(const std::filesystem::path& live) {
  write_text(live / "bb", "a file where a directory was");
  return "cannot stat " + (live / "bb/x").string() + ": Not a directory";
}
std::string subdirectory_is_a_symlink_loop(const std::filesystem::path& live) {
  std::filesystem::create_symlink("bb", live / "bb");
  return "cannot stat " + (live / "bb/x").string() +
         ": Too many levels of symbolic links";
}
std::string subdirectory_closed(const std::filesystem::path& live) {
  std::filesystem::create_directory(live / "bb");
  ::chmod((live / "bb").c_str(), 0);
  return "cannot stat " + (live / "bb/x").string() + ": Permission denied";
}
std::string live_closed(const std::filesystem::path& live) {
  ::chmod(live.c_str(), 0);
  return "cannot open the live store " + live.string() + ": Permission denied";
}

class PruneLiveUnreadable : public ::testing::TestWithParam<UnreadableCase> {};

TEST_P(PruneLiveUnreadable, DeletesNothingAndSaysWhy) {
  if (GetParam().needs_non_root && ::geteuid() == 0) {
    GTEST_SKIP() << "root reads a directory of mode 000";
  }
  ScratchDir dir;
  const auto live = dir.path() / "live";
  const auto mirror = dir.path() / "mirror";
  write_text(live / "aa/kept", "1");
  for (const char* name : {"aa/kept", "bb/x", "cc/gone"}) {
    write_text(mirror / name, "22");
  }
  write_text(dir.path() / "refs.tsv", "");
  const std::string reason = GetParam().make(live);
  const MirrorScan scan = scan_mirror(mirror, live);
  const PrunePlan plan = plan_prune(scan, dir.path() / "refs.tsv");
  const PruneResult result = apply_prune(plan, mirror);
  ::chmod(live.c_str(), 0700);
  ::chmod((live / "bb").c_str(), 0700);
  ASSERT_TRUE(plan.not_pruned_because);
  EXPECT_NE(plan.not_pruned_because->find(reason), std::string::npos)
      << *plan.not_pruned_because;
  EXPECT_TRUE(plan.doomed.empty());
  EXPECT_EQ(plan.files, 3U);
  EXPECT_EQ(plan.bytes, 6U);
  EXPECT_EQ(result.pruned, 0U);
  EXPECT_EQ(result.files, 3U);
  for (const char* name : {"aa/kept", "bb/x", "cc/gone"}) {
    EXPECT_TRUE(std::filesystem::exists(mirror / name)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PruneLiveUnreadable,
    ::testing::Values(
        UnreadableCase{"live_missing", live_missing},
        UnreadableCase{"live_is_a_file", live_is_a_file},
        UnreadableCase{"live_is_a_dangling_symlink", live_is_a_dangling_symlink},
        UnreadableCase{"subdirectory_is_a_file", subdirectory_is_a_file},
        UnreadableCase{"subdirectory_is_a_symlink_loop", subdirectory_is_a_symlink_loop},
        UnreadableCase{"subdirectory_closed", subdirectory_closed, true},
        UnreadableCase{"live_closed", live_closed, true}),
    [](const auto& row) { return std::string(row.param.label); });
