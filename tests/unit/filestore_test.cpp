#include "odbox/core/filestore.hpp"
#include "test_dir.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

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

// A live store and its mirror, both holding aa/kept (1 byte).
class PruneStore : public ::testing::Test {
protected:
  void SetUp() override {
    write_text(live / "aa/kept", "1");
    write_text(mirror / "aa/kept", "1");
  }
  ScratchDir dir;
  const std::filesystem::path live = dir.path() / "live";
  const std::filesystem::path mirror = dir.path() / "mirror";
};

TEST_F(PruneStore, RemovesOnlyFilesGoneFromLiveAndUnreferenced) {
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

TEST_F(PruneStore, ScanDeletesNothingAndPruneCountsWhatItFinds) {
  write_text(mirror / "bb/gone_a", "22");
  write_text(mirror / "cc/gone_b", "333");
  const MirrorScan scan = scan_mirror(mirror, live);
  EXPECT_EQ(scan.files, 3U);
  EXPECT_EQ(scan.bytes, 6U);
  EXPECT_EQ(scan.gone.size(), 2U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "bb/gone_a"));
  EXPECT_TRUE(std::filesystem::exists(mirror / "cc/gone_b"));

  write_text(dir.path() / "refs.tsv", "aa/kept\t1\tx\n");
  const PrunePlan plan = plan_prune(scan, dir.path() / "refs.tsv");
  EXPECT_EQ(plan.doomed.size(), 2U);
  EXPECT_EQ(plan.files, 1U);
  EXPECT_EQ(plan.bytes, 1U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "bb/gone_a"));  // the plan deletes nothing

  std::filesystem::remove(mirror / "cc/gone_b");  // gone between the steps
  const auto result = apply_prune(plan, mirror);
  EXPECT_EQ(result.pruned, 1U);
  EXPECT_EQ(result.files, 1U);
  EXPECT_EQ(result.bytes, 1U);
  EXPECT_FALSE(std::filesystem::exists(mirror / "bb/gone_a"));
}

TEST_F(PruneStore, AFileThatCannotBeDeletedStaysCounted) {
  write_text(mirror / "bb/gone", "22");
  write_text(dir.path() / "refs.tsv", "aa/kept\t1\tx\n");
  const PrunePlan plan = plan_prune(scan_mirror(mirror, live), dir.path() / "refs.tsv");
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

namespace {
const std::string k_sha_a = "ab" + std::string(38, '1');  // "ab111...": an Odoo-style name
const std::string k_name_a = "ab/" + k_sha_a;
} // namespace

TEST(RsyncItem, ParsesRegularFilesAndUndoesEscapes) {
  auto item = parse_rsync_item(">f+++++++++ 3000000 ab/big");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first, "ab/big");
  EXPECT_EQ(item->second, 3000000U);
  item = parse_rsync_item(".f          100 cd/f2");  // up to date
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first, "cd/f2");
  EXPECT_EQ(item->second, 100U);
  item = parse_rsync_item(".f          1 cd/we ird\\#012name\\#134#012");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first, "cd/we ird\nname\\#012");
  item = parse_rsync_item(">f+++++++++ 7 a\\#9 b\\");  // not an escape: kept as is
  ASSERT_TRUE(item);
  EXPECT_EQ(item->first, "a\\#9 b\\");
  EXPECT_FALSE(parse_rsync_item(".d          4096 ab/"));
  EXPECT_FALSE(parse_rsync_item("cL+++++++++ 5 link"));
  EXPECT_FALSE(parse_rsync_item("created directory /backup/odoo/filestore/odoo"));
  EXPECT_FALSE(parse_rsync_item(">f+++++++++ 12"));
  EXPECT_FALSE(parse_rsync_item(">f+++++++++ 12x name"));
  EXPECT_FALSE(parse_rsync_item(""));
}

TEST(MirrorListing, FindsOdooNamesAndOtherNames) {
  MirrorListing listing;
  listing.add(k_name_a, 10);
  listing.add("checklist/ab/" + k_sha_a, 0);
  listing.add("AB/AB" + std::string(38, '1'), 11);  // upper case: not Odoo's form
  listing.add("cd/" + k_sha_a, 12);                 // directory is not the sha1's prefix
  listing.add("ab/ab" + std::string(37, '1') + "g", 13);  // not hex
  listing.seal();
  EXPECT_EQ(listing.files(), 5U);
  EXPECT_EQ(listing.size_of("ab/ab" + std::string(37, '1') + "g"), 13U);
  EXPECT_FALSE(listing.size_of("ab/ab" + std::string(37, '1') + "0"));
  EXPECT_EQ(listing.size_of(k_name_a), 10U);
  EXPECT_EQ(listing.size_of("checklist/ab/" + k_sha_a), 0U);
  EXPECT_EQ(listing.size_of("AB/AB" + std::string(38, '1')), 11U);
  EXPECT_EQ(listing.size_of("cd/" + k_sha_a), 12U);
  EXPECT_FALSE(listing.size_of("ab/ab" + std::string(38, '2')));
  EXPECT_FALSE(listing.size_of("ab/x"));
}

namespace {

// An Odoo store name ("ab/ab01...") made from `n`; distinct for distinct n.
std::string store_name(unsigned n) {
  char sha[41];
  std::snprintf(sha, sizeof sha, "%08x%032x", n * 2654435761U, n);
  return std::string(sha, 2) + "/" + sha;
}

} // namespace

TEST(MirrorListing, HintedLookupsAgreeInAnyOrder) {
  MirrorListing listing;
  std::vector<std::string> names;
  for (unsigned n = 0; n < 2000; ++n) {
    names.push_back(store_name(n));
    if (n % 3 != 0) {  // every third one is not in the listing
      listing.add(names.back(), n + 1);
    }
  }
  listing.seal();
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> reversed(sorted.rbegin(), sorted.rend());
  for (const auto* order : {&sorted, &reversed, &names}) {
    std::size_t hint = 0;
    std::size_t found = 0;
    for (const std::string& name : *order) {
      const auto hinted = listing.size_of(name, hint);
      EXPECT_EQ(hinted, listing.size_of(name)) << name;
      found += hinted.has_value() ? 1U : 0U;
    }
    EXPECT_EQ(found, 2000U - 667U);
  }
  std::size_t hint = 5000;  // past the end
  EXPECT_EQ(listing.size_of(store_name(1), hint), 2U);
  EXPECT_FALSE(listing.size_of(store_name(0), hint));
}

TEST(MirrorFilestore, ListsEveryFileCopiedOrUpToDate) {
  ScratchDir dir;
  const auto live = dir.path() / "live";
  const auto mirror = dir.path() / "mirror";
  write_text(live / k_name_a, "12345");
  write_text(live / "checklist/ab" / k_sha_a, "");
  write_text(live / "odd/new\nline \\#012", "123");
  std::filesystem::create_symlink("/etc/passwd", live / "ab/link");
  for (const char* round : {"first copy", "no-change rerun"}) {
    SCOPED_TRACE(round);
    MirrorListing listing;
    const auto result = mirror_filestore(live, mirror, {.listing = &listing});
    EXPECT_FALSE(result.vanished);
    EXPECT_EQ(listing.files(), 3U);
    EXPECT_EQ(listing.size_of(k_name_a), 5U);
    EXPECT_EQ(listing.size_of("checklist/ab/" + k_sha_a), 0U);
    EXPECT_EQ(listing.size_of("odd/new\nline \\#012"), 3U);
    EXPECT_FALSE(listing.size_of("ab/link"));
  }
  EXPECT_EQ(odbox::test::read_text(mirror / k_name_a), "12345");
}

namespace {

void set_mtime(const std::filesystem::path& file, std::filesystem::file_time_type when) {
  std::filesystem::last_write_time(file, when);
}

std::filesystem::path shell_script(const std::filesystem::path& file, const std::string& body) {
  write_text(file, "#!/bin/sh\n" + body + "\n");
  std::filesystem::permissions(file, std::filesystem::perms::owner_all);
  return file;
}

} // namespace

TEST(MirrorFilestore, QuickCheckHandsRsyncOnlyWhatDiffers) {
  ScratchDir dir;
  const auto live = dir.path() / "live";
  const auto mirror = dir.path() / "mirror";
  write_text(live / "aa/same", "11");
  write_text(live / "aa/touched", "22");
  write_text(live / "bb/grown", "3");
  const auto first = mirror_filestore(live, mirror, {});
  EXPECT_FALSE(first.quick_checked);  // no mirror yet: rsync compares everything

  set_mtime(live / "aa/touched",
            std::filesystem::last_write_time(live / "aa/touched") - std::chrono::hours(1));
  write_text(live / "bb/grown", "333");
  write_text(live / "dd/new", "4");
  write_text(live / "dd/new\nline", "55");
  write_text(mirror / "ee/gone_from_live", "5");  // the prune's business, not rsync's
  MirrorListing listing;
  const auto second = mirror_filestore(live, mirror, {.listing = &listing});
  EXPECT_TRUE(second.quick_checked);
  EXPECT_EQ(second.unchanged, 1U);
  EXPECT_EQ(second.handed, 4U);
  EXPECT_EQ(std::filesystem::status(mirror / "dd").permissions(),
            std::filesystem::perms::owner_all);  // a new directory, 0700 like the others
  for (const char* name : {"aa/same", "aa/touched", "bb/grown", "dd/new", "dd/new\nline"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(odbox::test::read_text(mirror / name), odbox::test::read_text(live / name));
    EXPECT_EQ(std::filesystem::last_write_time(mirror / name),
              std::filesystem::last_write_time(live / name));
    EXPECT_EQ(listing.size_of(name), std::filesystem::file_size(live / name));
  }
  EXPECT_EQ(listing.files(), 5U);
  EXPECT_TRUE(std::filesystem::exists(mirror / "ee/gone_from_live"));

  // Nothing differs: rsync does not run (a failing one would throw).
  MirrorListing again;
  const auto third = mirror_filestore(
      live, mirror, {.rsync = shell_script(dir.path() / "rsync-fails", "exit 12").string(),
                     .listing = &again});
  EXPECT_EQ(third.handed, 0U);
  EXPECT_EQ(third.unchanged, 5U);
  EXPECT_EQ(again.files(), 5U);
  EXPECT_EQ(again.size_of("bb/grown"), 3U);
}

TEST(MirrorFilestore, AFileGoneBetweenQuickCheckAndRsyncIsNoError) {
  ScratchDir dir;
  const auto live = dir.path() / "live";
  const auto mirror = dir.path() / "mirror";
  write_text(live / "aa/kept", "1");
  (void)mirror_filestore(live, mirror, {});
  write_text(live / "bb/new", "22");
  write_text(live / "bb/vanishing", "333");
  // Odoo's garbage collection removes a file after the check listed it.
  const auto rsync = shell_script(dir.path() / "rsync-after-gc",
                                  "rm -f '" + (live / "bb/vanishing").string() +
                                      "'\nexec rsync \"$@\"");
  MirrorListing listing;
  const auto result = mirror_filestore(live, mirror, {.rsync = rsync.string(), .listing = &listing});
  EXPECT_TRUE(result.quick_checked);
  EXPECT_EQ(result.handed, 2U);
  EXPECT_EQ(odbox::test::read_text(mirror / "bb/new"), "22");
  EXPECT_FALSE(std::filesystem::exists(mirror / "bb/vanishing"));
  EXPECT_EQ(listing.size_of("bb/new"), 2U);
  EXPECT_FALSE(listing.size_of("bb/vanishing"));
  EXPECT_EQ(listing.size_of("aa/kept"), 1U);
}

TEST(MirrorFilestore, QuickCheckSeesANewOwner) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to change a file's owner";
  }
  ScratchDir dir;
  const auto live = dir.path() / "live";
  const auto mirror = dir.path() / "mirror";
  write_text(live / "aa/file", "1");
  (void)mirror_filestore(live, mirror, {});
  ASSERT_EQ(::chown((live / "aa/file").c_str(), 1, 1), 0);  // size and mtime unchanged
  const auto result = mirror_filestore(live, mirror, {});
  EXPECT_EQ(result.handed, 1U);
  struct stat st {};
  ASSERT_EQ(::stat((mirror / "aa/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1U);
  EXPECT_EQ(st.st_gid, 1U);
}

TEST(CheckReferences, TakesListedSizesAndStatsTheRest) {
  ScratchDir dir;
  const auto mirror = dir.path() / "mirror";
  write_text(mirror / k_name_a, "12345");
  write_text(mirror / "bb/bb1", "123");  // kept from an earlier run, not listed
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

TEST(PruneMirror, ListedFilesAreKeptWithoutLookingAtTheLiveStore) {
  ScratchDir dir;
  const auto live = dir.path() / "live";
  const auto mirror = dir.path() / "mirror";
  write_text(live / "aa/unlisted_live", "1");
  write_text(mirror / "aa/unlisted_live", "1");
  write_text(mirror / k_name_a, "12345");  // listed: rsync saw it in the live store
  write_text(mirror / "checklist/cc/gone", "333");
  write_text(mirror / "dd/gone_referenced", "22");
  write_text(dir.path() / "outside/file", "x");
  std::filesystem::create_directory_symlink(dir.path() / "outside", mirror / "linked");
  MirrorListing listing;
  listing.add(k_name_a, 5);
  listing.seal();
  write_text(dir.path() / "refs.tsv", "dd/gone_referenced\t2\ty\n");
  const auto result = prune_mirror(mirror, live, dir.path() / "refs.tsv", &listing);
  EXPECT_EQ(result.pruned, 1U);
  EXPECT_EQ(result.files, 3U);
  EXPECT_EQ(result.bytes, 1U + 5U + 2U);
  EXPECT_TRUE(std::filesystem::exists(mirror / k_name_a));
  EXPECT_TRUE(std::filesystem::exists(mirror / "aa/unlisted_live"));
  EXPECT_TRUE(std::filesystem::exists(mirror / "dd/gone_referenced"));
  EXPECT_FALSE(std::filesystem::exists(mirror / "checklist/cc/gone"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "outside/file"));  // symlink not followed
}
