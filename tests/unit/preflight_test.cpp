#include "odbox/core/area.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/preflight.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace odbox::core;
using odbox::test::ScratchDir;
using odbox::test::write_text;

namespace fs = std::filesystem;

namespace {

std::string usage_message(const std::function<void()>& step) {
  try {
    step();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

Config valid_config(const ScratchDir& dir) {
  Config c;
  c.basedir = dir.path() / "backup";
  c.data_dir = dir.path() / "odoo";
  fs::create_directories(c.data_dir);
  c.databases = {"odoo"};
  return c;
}

void make_executable(const fs::path& file) {
  write_text(file, "#!/bin/sh\n");
  ::chmod(file.c_str(), 0755);
}

} // namespace

TEST(PgDumpVersion, ParsesMajorAndVersion) {
  const auto v =
      parse_pg_dump_version("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 15);
  EXPECT_EQ(v->text, "15.20");
  const auto old = parse_pg_dump_version("pg_dump (PostgreSQL) 9.6.24");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->major, 9);
  EXPECT_EQ(old->text, "9.6.24");
  EXPECT_EQ(parse_pg_dump_version("pg_dump (PostgreSQL) 17beta1")->text, "17beta1");
  for (const char* other : {"rsync version 3.2.7", "psql (PostgreSQL) 15.20", "",
                            "pg_dump (PostgreSQL) 99999999999999999999"}) {
    EXPECT_EQ(parse_pg_dump_version(other), std::nullopt) << other;
  }
}

TEST(RequireProgram, SaysWhatIsWrongWithAPath) {
  ScratchDir dir;
  make_executable(dir.path() / "tool");
  EXPECT_EQ(require_program((dir.path() / "tool").string(), "--pg-dump", "pkg"),
            (dir.path() / "tool").string());
  EXPECT_NE(usage_message([&] {
              require_program(dir.path().string(), "--pg-dump", "pkg");
            }).find("--pg-dump " + dir.path().string() + " is a directory"),
            std::string::npos);
  write_text(dir.path() / "plain", "x");
  EXPECT_NE(usage_message([&] {
              require_program((dir.path() / "plain").string(), "--rsync", "rsync");
            }).find("is not an executable file"),
            std::string::npos);
  EXPECT_NE(usage_message([&] {
              require_program((dir.path() / "none").string(), "--rsync", "rsync");
            }).find("not found: install rsync or give its path with --rsync"),
            std::string::npos);
  EXPECT_NE(usage_message([&] {
              require_program("odbox-no-such-program", "--psql", "postgresql-client");
            }).find("not found: install postgresql-client"),
            std::string::npos);
}

TEST(FollowBasedirLink, FollowsARootOwnedLinkOnce) {
  ScratchDir dir;
  fs::create_directories(dir.path() / "disk" / "backup");
  fs::create_directory_symlink(dir.path() / "disk" / "backup", dir.path() / "backup");
  Config c = valid_config(dir);
  follow_basedir_link(c);
  EXPECT_EQ(c.basedir, fs::canonical(dir.path() / "disk" / "backup"));
  // A real directory is left as given.
  Config plain = valid_config(dir);
  plain.basedir = dir.path() / "disk";
  follow_basedir_link(plain);
  EXPECT_EQ(plain.basedir, dir.path() / "disk");
}

TEST(FollowBasedirLink, RefusesALinkToNowhere) {
  ScratchDir dir;
  fs::create_directory_symlink(dir.path() / "unmounted" / "backup",
                               dir.path() / "backup");
  Config c = valid_config(dir);
  const auto message = usage_message([&] { follow_basedir_link(c); });
  EXPECT_NE(message.find("which does not exist: mount the backup disk"),
            std::string::npos)
      << message;
  EXPECT_EQ(c.basedir, dir.path() / "backup");
}

TEST(FollowBasedirLink, RefusesALinkOwnedBySomeoneElse) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "giving a link away needs root";
  }
  ScratchDir dir;
  fs::create_directories(dir.path() / "disk");
  fs::create_directory_symlink(dir.path() / "disk", dir.path() / "backup");
  ASSERT_EQ(::lchown((dir.path() / "backup").c_str(), 65534, 65534), 0);
  Config c = valid_config(dir);
  const auto message = usage_message([&] { follow_basedir_link(c); });
  EXPECT_NE(message.find("owned by uid 65534, not root: refusing to follow it"),
            std::string::npos)
      << message;
}

TEST(CheckSessionsDir, RefusesALinkOrAFileAndAMissingExplicitOne) {
  ScratchDir dir;
  Config c = valid_config(dir);
  EXPECT_EQ(usage_message([&] { check_sessions_dir(c); }), ""); // default, not made yet
  fs::create_directories(dir.path() / "elsewhere");
  fs::create_directory_symlink(dir.path() / "elsewhere", c.data_dir / "sessions");
  EXPECT_NE(usage_message([&] {
              check_sessions_dir(c);
            }).find("is a symbolic link: refusing to follow it"),
            std::string::npos);
  c.sessions_dir = dir.path() / "file";
  write_text(*c.sessions_dir, "x");
  EXPECT_NE(usage_message([&] { check_sessions_dir(c); }).find("is not a directory"),
            std::string::npos);
  c.sessions_dir = dir.path() / "none";
  EXPECT_NE(usage_message([&] { check_sessions_dir(c); }).find("does not exist"),
            std::string::npos);
  c.sessions_dir = dir.path() / "elsewhere";
  EXPECT_EQ(usage_message([&] { check_sessions_dir(c); }), "");
}

// The checks below come before PostgreSQL in the preflight, so they run
// here without a server; each leaves the scratch directory as it was.
TEST(Preflight, MetricsFileDirectoryMustBeThere) {
  ScratchDir dir;
  Config c = valid_config(dir);
  c.metrics_file = dir.path() / "textfile" / "odbox.prom";
  EXPECT_NE(
      usage_message([&] {
        preflight(c, RunKind::hot);
      }).find("its directory " + (dir.path() / "textfile").string() + " does not exist"),
      std::string::npos);
  fs::create_directories(*c.metrics_file);
  EXPECT_NE(usage_message([&] { preflight(c, RunKind::hot); }).find("it is a directory"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(c.basedir));
}

TEST(Preflight, ColdNeedsSystemctlAndARealSessionsDir) {
  ScratchDir dir;
  Config c = valid_config(dir);
  c.tools.systemctl = (dir.path() / "bin").string();
  fs::create_directories(dir.path() / "bin");
  EXPECT_NE(usage_message([&] {
              preflight(c, RunKind::cold);
            }).find("--systemctl " + c.tools.systemctl + " is a directory"),
            std::string::npos);
  fs::create_directories(dir.path() / "elsewhere");
  fs::create_directory_symlink(dir.path() / "elsewhere", c.data_dir / "sessions");
  EXPECT_NE(
      usage_message([&] { preflight(c, RunKind::cold); }).find("is a symbolic link"),
      std::string::npos);
}

TEST(Preflight, SymbolicLinksInTheAreaAreRefusedBeforeAnyChange) {
  ScratchDir dir;
  Config c = valid_config(dir);
  fs::create_directories(c.basedir);
  ::chmod(c.basedir.c_str(), 0755);
  fs::create_directories(dir.path() / "other");
  fs::create_directory_symlink(dir.path() / "other", c.basedir / "odoo");
  EXPECT_NE(usage_message([&] {
              preflight(c, RunKind::hot);
            }).find((c.basedir / "odoo").string() + " is a symbolic link"),
            std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(c.basedir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755U); // not narrowed to 0700: nothing touched

  fs::remove(c.basedir / "odoo");
  fs::create_directories(c.basedir / "odoo" / "filestore");
  fs::create_directory_symlink(dir.path() / "other",
                               c.basedir / "odoo" / "filestore" / "odoo");
  EXPECT_NE(usage_message([&] { preflight(c, RunKind::hot); }).find("is a symbolic link"),
            std::string::npos);
}
