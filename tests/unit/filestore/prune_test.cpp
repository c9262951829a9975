#include "odbox/core/errors.hpp"
#include "odbox/core/filestore/prune.hpp"
#include "test_store.hpp"

#include <gtest/gtest.h>
#include <string>
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
  EXPECT_TRUE(std::filesystem::exists(mirror / "bb/gone_a"));
  EXPECT_TRUE(std::filesystem::exists(mirror / "cc/gone_b"));

  const PrunePlan plan = plan_prune(scan, references("aa/kept\t1\tx\n"));
  EXPECT_EQ(plan.doomed.size(), 2U);
  EXPECT_EQ(plan.files, 1U);
  EXPECT_EQ(plan.bytes, 1U);
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

TEST_F(PruneStore, MissingLiveStoreKeepsReferencedFiles) {
  std::filesystem::remove_all(live);
  write_text(mirror / "aa/unref", "1");
  references("aa/kept\t1\tx\n");
  const auto result = prune();
  EXPECT_EQ(result.pruned, 1U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "aa/kept"));
  EXPECT_FALSE(std::filesystem::exists(mirror / "aa/unref"));
}
