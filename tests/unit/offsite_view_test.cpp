#include "odbox/core/area.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/offsite/view.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

using odbox::core::BackupArea;
using odbox::core::Manifest;
using odbox::core::PushView;
using odbox::test::ScratchDir;
using odbox::test::write_text;
namespace fs = std::filesystem;

namespace {

ino_t inode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_ino;
}

struct Area {
  ScratchDir dir;
  BackupArea area{dir.path()};
  Manifest manifest;
  Area() {
    manifest.database = "odoo";
    manifest.dump_file = "odoo.dump.sql";
    manifest.references_file = "odoo.files.tsv";
    write_text(area.dump("odoo"), "dump 1\n");
    write_text(area.manifest("odoo"), "{}\n");
    write_text(area.references("odoo"), "list\n");
    write_text(area.mirror("odoo") / "ab" / "ab01", "file 1\n");
    write_text(area.mirror("odoo") / "cd" / "cd02", "file 2\n");
    write_text(area.mirror("other") / "ef" / "ef03", "another database's\n");
    write_text(area.runs_log(), "{}\n");
  }
};

} // namespace

TEST(PushView, LinksExactlyTheCommittedBackup) {
  Area a;
  PushView view(a.area, "odoo");
  const auto stats = view.sync(a.manifest);
  const auto root = view.dir() / "odoo";
  for (const auto& rel : {"odoo.dump.sql", "odoo.manifest.json", "odoo.files.tsv",
                          "filestore/odoo/ab/ab01", "filestore/odoo/cd/cd02"}) {
    EXPECT_EQ(inode_of(root / rel), inode_of(a.area.root() / rel)) << rel;
  }
  EXPECT_FALSE(fs::exists(root / "runs.jsonl"));
  EXPECT_FALSE(fs::exists(root / "filestore" / "other"));
  EXPECT_FALSE(fs::exists(root / ".offsite"));
  EXPECT_EQ(stats.linked, 5U);
}

TEST(PushView, FollowsTheAreaAndKeepsUnchangedLinks) {
  Area a;
  PushView view(a.area, "odoo");
  (void)view.sync(a.manifest);
  const auto root = view.dir() / "odoo";
  const auto kept_inode = inode_of(root / "filestore/odoo/ab/ab01");
  struct stat before {};
  ASSERT_EQ(::lstat((root / "filestore/odoo/ab/ab01").c_str(), &before), 0);

  // A new dump (renamed into place), a file pruned, a file added.
  write_text(a.area.root() / ".new-dump", "dump 2\n");
  fs::rename(a.area.root() / ".new-dump", a.area.dump("odoo"));
  fs::remove(a.area.mirror("odoo") / "cd" / "cd02");
  write_text(a.area.mirror("odoo") / "gh" / "gh04", "file 4\n");
  const auto stats = view.sync(a.manifest);

  EXPECT_EQ(odbox::test::read_text(root / "odoo.dump.sql"), "dump 2\n");
  EXPECT_FALSE(fs::exists(root / "filestore/odoo/cd/cd02"));
  EXPECT_TRUE(fs::exists(root / "filestore/odoo/gh/gh04"));
  EXPECT_EQ(inode_of(root / "filestore/odoo/ab/ab01"), kept_inode);
  struct stat after {};
  ASSERT_EQ(::lstat((root / "filestore/odoo/ab/ab01").c_str(), &after), 0);
  EXPECT_EQ(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec)
      << "an unchanged link is not touched";
  EXPECT_EQ(stats.linked, 2U); // the dump and gh04
  EXPECT_EQ(stats.kept, 3U);   // manifest, file list, ab01
  // Directories carry the area's mtimes, so restic stores the same trees.
  struct stat src {};
  struct stat dst {};
  ASSERT_EQ(::stat(a.area.mirror("odoo").c_str(), &src), 0);
  ASSERT_EQ(::stat((root / "filestore/odoo").c_str(), &dst), 0);
  EXPECT_EQ(src.st_mtim.tv_sec, dst.st_mtim.tv_sec);
  EXPECT_EQ(src.st_mtim.tv_nsec, dst.st_mtim.tv_nsec);
}

TEST(PushView, RefusesAManifestThatPointsOutsideTheArea) {
  Area a;
  a.manifest.dump_file = "../../etc/passwd";
  PushView view(a.area, "odoo");
  EXPECT_THROW((void)view.sync(a.manifest), odbox::core::RunError);
}
