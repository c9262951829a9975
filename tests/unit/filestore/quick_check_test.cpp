#include "odbox/core/filestore/quick_check.hpp"
#include "odbox/core/filestore/references.hpp"
#include "odbox/core/filestore/rsync_mirror.hpp"
#include "test_store.hpp"

#include <algorithm>
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace odbox::core;
using odbox::test::ScratchDir;
using odbox::test::write_text;

namespace {

// The paths the plan hands to rsync, sorted.
std::vector<std::string> changed_paths(const QuickCheckPlan& plan) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start < plan.changed.size();) {
    const auto end = plan.changed.find('\0', start);
    out.push_back(plan.changed.substr(start, end - start));
    start = end + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A live store and its mirror, made equal by a first mirroring.
class QuickCheckStore : public ::testing::Test {
protected:
  void mirror_once() { mirror_filestore(live, mirror, {}); }
  QuickCheckPlan check(bool want_listing = true) {
    auto plan = quick_check(live, mirror, want_listing);
    EXPECT_TRUE(plan) << plan.error();
    return plan ? std::move(*plan) : QuickCheckPlan{};
  }
  ScratchDir dir;
  const std::filesystem::path live = dir.path() / "live";
  const std::filesystem::path mirror = dir.path() / "mirror";
};

} // namespace

TEST_F(QuickCheckStore, HandsRsyncOnlyWhatDiffers) {
  write_text(live / "aa/same", "11");
  write_text(live / "aa/touched", "22");
  write_text(live / "bb/grown", "3");
  mirror_once();
  std::filesystem::last_write_time(live / "aa/touched",
                                   std::filesystem::last_write_time(live / "aa/touched") -
                                       std::chrono::hours(1));
  write_text(live / "bb/grown", "333");
  write_text(live / "dd/new", "4");
  write_text(live / "dd/new\nline", "55");
  std::filesystem::create_symlink("same", live / "aa/link");
  write_text(mirror / "ee/gone_from_live", "5"); // the prune's business, not rsync's
  QuickCheckPlan plan = check();
  EXPECT_EQ(changed_paths(plan),
            (std::vector<std::string>{"aa/link", "aa/touched", "bb/grown", "dd/new",
                                      "dd/new\nline"}));
  EXPECT_EQ(plan.changed_count, 5U);
  EXPECT_EQ(plan.unchanged_count, 1U);
  plan.unchanged.seal();
  EXPECT_EQ(plan.unchanged.files(), 1U);
  EXPECT_EQ(plan.unchanged.size_of("aa/same"), 2U);

  mirror_once();
  plan = check(/*want_listing=*/false);
  EXPECT_EQ(changed_paths(plan),
            std::vector<std::string>{"aa/link"}); // rsync decides, always
  EXPECT_EQ(plan.unchanged_count, 5U);
  EXPECT_EQ(plan.unchanged.files(), 0U);
}

TEST_F(QuickCheckStore, SharesManyDirectoriesOutToItsThreads) {
  for (unsigned n = 0; n < 600; ++n) {
    write_text(live / odbox::test::store_name(n), "x");
  }
  mirror_once();
  std::vector<std::string> grown;
  for (unsigned n = 0; n < 600; n += 7) {
    grown.push_back(odbox::test::store_name(n));
    write_text(live / grown.back(), "xy");
  }
  std::sort(grown.begin(), grown.end());
  QuickCheckPlan plan = check();
  EXPECT_EQ(changed_paths(plan), grown);
  EXPECT_EQ(plan.unchanged_count, 600U - grown.size());
  plan.unchanged.seal();
  EXPECT_EQ(plan.unchanged.files(), 600U - grown.size());
  EXPECT_EQ(plan.unchanged.size_of(odbox::test::store_name(1)), 1U);
}

TEST_F(QuickCheckStore, FollowsTheStoreItselfButNoSymlinkBelowIt) {
  write_text(dir.path() / "real/aa/file", "1");
  write_text(dir.path() / "elsewhere/secret", "2");
  std::filesystem::create_directory_symlink(dir.path() / "real", live);
  mirror_once();
  std::filesystem::create_directory_symlink(dir.path() / "elsewhere",
                                            dir.path() / "real/bb");
  const QuickCheckPlan plan = check();
  EXPECT_EQ(changed_paths(plan), std::vector<std::string>{"bb"});
  EXPECT_EQ(plan.unchanged_count, 1U);
}

TEST_F(QuickCheckStore, SeesANewOwner) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to change a file's owner";
  }
  write_text(live / "aa/file", "1");
  mirror_once();
  ASSERT_EQ(::chown((live / "aa/file").c_str(), 1, 1), 0); // size and mtime unchanged
  EXPECT_EQ(changed_paths(check()), std::vector<std::string>{"aa/file"});
}

// Why the quick check gives up, one row a reason; rsync then compares everything.
struct GiveUpCase {
  const char* label;
  void (*make)(const std::filesystem::path& live, const std::filesystem::path& mirror);
  const char* reason; // part of the reason given
  bool needs_non_root = false;
};

void no_mirror(const std::filesystem::path& live, const std::filesystem::path&) {
  write_text(live / "aa/file", "1");
}
void no_live_store(const std::filesystem::path&, const std::filesystem::path& mirror) {
  write_text(mirror / "aa/file", "1");
}
void too_deep(const std::filesystem::path& live, const std::filesystem::path& mirror) {
  std::filesystem::path deep = live;
  for (int level = 0; level <= k_max_store_depth; ++level) {
    deep /= "d";
  }
  write_text(deep / "file", "1");
  std::filesystem::create_directories(mirror);
}
void closed_subdirectory(const std::filesystem::path& live,
                         const std::filesystem::path& mirror) {
  write_text(live / "aa/file", "1");
  std::filesystem::create_directories(mirror);
  ::chmod((live / "aa").c_str(), 0);
}

class QuickCheckGivesUp : public ::testing::TestWithParam<GiveUpCase> {};

TEST_P(QuickCheckGivesUp, SaysWhy) {
  if (GetParam().needs_non_root && ::geteuid() == 0) {
    GTEST_SKIP() << "root reads a directory of mode 000";
  }
  ScratchDir dir;
  const auto live = dir.path() / "live";
  const auto mirror = dir.path() / "mirror";
  GetParam().make(live, mirror);
  const auto plan = quick_check(live, mirror, true);
  ::chmod((live / "aa").c_str(), 0700);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().find(GetParam().reason), std::string::npos) << plan.error();
}

INSTANTIATE_TEST_SUITE_P(
    Reasons, QuickCheckGivesUp,
    ::testing::Values(GiveUpCase{"no_mirror", no_mirror, "no mirror to compare with"},
                      GiveUpCase{"no_live_store", no_live_store, "cannot open"},
                      GiveUpCase{"too_deep", too_deep, "levels below the store"},
                      GiveUpCase{"closed_subdirectory", closed_subdirectory,
                                 "Permission denied", true}),
    [](const auto& row) { return std::string(row.param.label); });
