#include "odbox/core/config.hpp"
#include "odbox/core/errors.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

using odbox::core::Config;
using odbox::core::UsageError;
using odbox::test::ScratchDir;
using odbox::test::write_text;

namespace {

Config valid_config(const ScratchDir& dir) {
  Config c;
  c.basedir = dir.path() / "backup";
  c.data_dir = dir.path() / "odoo";
  std::filesystem::create_directories(c.data_dir);
  c.databases = {"odoo"};
  return c;
}

std::string usage_message(const Config& c) {
  try {
    odbox::core::validate_config(c);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(Config, ValidConfigPasses) {
  ScratchDir dir;
  EXPECT_NO_THROW(odbox::core::validate_config(valid_config(dir)));
}

TEST(Config, DatabaseNamesThatCouldEscapeTheAreaAreRefused) {
  for (const std::string bad : {"a/b", "..", "x..y", "-x", ".hidden", "", "a b", "a;b"}) {
    EXPECT_THROW(odbox::core::validate_database_name(bad), UsageError) << bad;
  }
  for (const std::string good : {"odoo", "odoo_martel_14", "prod-17.0", "A1"}) {
    EXPECT_NO_THROW(odbox::core::validate_database_name(good)) << good;
  }
  EXPECT_THROW(odbox::core::validate_database_name(std::string(64, 'a')), UsageError);
}

TEST(Config, RelativePathsAreRefusedWithTheFix) {
  ScratchDir dir;
  Config c = valid_config(dir);
  c.basedir = "backup";
  EXPECT_NE(usage_message(c).find("--basedir must be an absolute path"), std::string::npos);
  c = valid_config(dir);
  c.data_dir = "var/lib/odoo";
  EXPECT_NE(usage_message(c).find("--data-dir must be an absolute path"), std::string::npos);
}

TEST(Config, OverlappingAreaAndDataDirAreRefused) {
  ScratchDir dir;
  Config c = valid_config(dir);
  c.basedir = c.data_dir / "backup";
  EXPECT_NE(usage_message(c).find("inside the Odoo data directory"), std::string::npos);
  c = valid_config(dir);
  c.basedir = dir.path();
  EXPECT_NE(usage_message(c).find("inside the backup area"), std::string::npos);
  // Lexical tricks do not hide the overlap.
  c = valid_config(dir);
  c.basedir = c.data_dir / "x" / ".." / "backup";
  EXPECT_NE(usage_message(c).find("inside the Odoo data directory"), std::string::npos);
}

TEST(Config, SessionsDirMustNotCoverBackupsOrFileStore) {
  ScratchDir dir;
  Config c = valid_config(dir);
  c.sessions_dir = dir.path();
  EXPECT_NE(usage_message(c).find("overlaps"), std::string::npos);
  c.sessions_dir = c.data_dir / "filestore";
  EXPECT_NE(usage_message(c).find("overlaps"), std::string::npos);
  c.sessions_dir = c.data_dir / "sessions";
  EXPECT_EQ(usage_message(c), "");
}

TEST(Config, MissingDataDirAndDuplicateDatabases) {
  ScratchDir dir;
  Config c = valid_config(dir);
  c.data_dir = dir.path() / "nope";
  EXPECT_NE(usage_message(c).find("does not exist"), std::string::npos);
  c = valid_config(dir);
  c.databases = {"a", "a"};
  EXPECT_NE(usage_message(c).find("given twice"), std::string::npos);
  c.databases = {};
  EXPECT_NE(usage_message(c).find("no database given"), std::string::npos);
}

TEST(Config, FileValuesAreRead) {
  ScratchDir dir;
  const auto file = dir.path() / "c.json";
  write_text(file, R"({"basedir": "/srv/backup", "databases": ["a", "b"],
    "data_dir": "/var/lib/odoo", "postgres": {"conninfo": "host=/run/postgresql"},
    "tools": {"rsync": "/opt/rsync"}, "lock_wait_timeout_seconds": 30,
    "cold": {"full_downtime": true, "sessions_keep_days": 7, "stop_timeout_seconds": 9}})");
  Config c;
  odbox::core::load_config_file(file, c);
  EXPECT_EQ(c.basedir, "/srv/backup");
  EXPECT_EQ(c.databases, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.conninfo, "host=/run/postgresql");
  EXPECT_EQ(c.tools.rsync, "/opt/rsync");
  EXPECT_EQ(c.tools.pg_dump, "pg_dump");
  EXPECT_EQ(c.lock_wait_timeout.count(), 30);
  EXPECT_TRUE(c.cold.full_downtime);
  EXPECT_EQ(c.cold.sessions_keep_days, 7);
  EXPECT_EQ(c.cold.stop_timeout.count(), 9);
  EXPECT_EQ(c.sessions(), "/var/lib/odoo/sessions");
}

TEST(Config, FileErrorsNameTheKey) {
  ScratchDir dir;
  const auto file = dir.path() / "c.json";
  Config c;
  write_text(file, R"({"basedir": 3})");
  try {
    odbox::core::load_config_file(file, c);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'basedir' must be a string"), std::string::npos);
  }
  write_text(file, R"({"basdir": "/x"})");
  EXPECT_THROW(odbox::core::load_config_file(file, c), UsageError);
  write_text(file, R"({"cold": {"stop_timeout_seconds": -1}})");
  EXPECT_THROW(odbox::core::load_config_file(file, c), UsageError);
  write_text(file, "{ not json");
  try {
    odbox::core::load_config_file(file, c);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("is not valid JSON"), std::string::npos);
  }
  EXPECT_THROW(odbox::core::load_config_file(dir.path() / "missing.json", c), UsageError);
}
