#include "odbox/core/area.hpp"
#include "odbox/core/errors.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace odbox::core;

namespace {
unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}
} // namespace

TEST(BackupArea, LayoutOfTheSpec) {
  BackupArea area("/backup");
  EXPECT_EQ(area.dump("odoo"), "/backup/odoo/odoo.dump.sql");
  EXPECT_EQ(area.manifest("odoo"), "/backup/odoo/odoo.manifest.json");
  EXPECT_EQ(area.mirror("odoo"), "/backup/odoo/filestore/odoo");
  EXPECT_EQ(area.runs_log(), "/backup/odoo/runs.jsonl");
}

TEST(BackupArea, PrepareCreatesPrivateDirectories) {
  odbox::test::ScratchDir dir;
  BackupArea area(dir.path() / "a" / "backup");
  area.check_writable();
  area.prepare();
  EXPECT_EQ(mode_of(area.basedir()), 0700U);
  EXPECT_EQ(mode_of(area.root()), 0700U);
  EXPECT_EQ(mode_of(area.root() / "filestore"), 0700U);
}

TEST(BackupArea, WiderModesAreNarrowed) {
  odbox::test::ScratchDir dir;
  BackupArea area(dir.path() / "backup");
  std::filesystem::create_directories(area.root());
  ::chmod(area.basedir().c_str(), 0755);
  ::chmod(area.root().c_str(), 0777);
  area.prepare();
  EXPECT_EQ(mode_of(area.basedir()), 0700U);
  EXPECT_EQ(mode_of(area.root()), 0700U);
}

TEST(BackupArea, FileInTheWayIsNotWritable) {
  odbox::test::ScratchDir dir;
  odbox::test::write_text(dir.path() / "file", "x");
  EXPECT_THROW(BackupArea(dir.path() / "file").check_writable(), UsageError);
  EXPECT_THROW(BackupArea(dir.path() / "file" / "sub").check_writable(), UsageError);
}

TEST(BackupArea, StaleTemporariesAreRemoved) {
  odbox::test::ScratchDir dir;
  BackupArea area(dir.path());
  area.prepare();
  odbox::test::write_text(area.root() / ".odoo.dump.sql.tmp.123.0", "partial");
  odbox::test::write_text(area.root() / "odoo.dump.sql", "good");
  EXPECT_EQ(area.remove_stale_temporaries(), 1);
  EXPECT_TRUE(std::filesystem::exists(area.root() / "odoo.dump.sql"));
  EXPECT_FALSE(std::filesystem::exists(area.root() / ".odoo.dump.sql.tmp.123.0"));
}
