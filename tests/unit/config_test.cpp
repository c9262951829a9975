#include "odbox/core/config.hpp"
#include "odbox/core/errors.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>

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
  EXPECT_NE(usage_message(c).find("--basedir must be an absolute path"),
            std::string::npos);
  c = valid_config(dir);
  c.data_dir = "var/lib/odoo";
  EXPECT_NE(usage_message(c).find("--data-dir must be an absolute path"),
            std::string::npos);
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
  std::filesystem::create_directories(*c.sessions_dir);
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
    EXPECT_NE(std::string(e.what()).find("'basedir' must be a string"),
              std::string::npos);
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

namespace {

struct BadFile {
  std::string name;
  std::string json;
  std::string expected; // part of the one-line message
};

std::string load_error(const std::filesystem::path& file) {
  Config c;
  try {
    odbox::core::load_config_file(file, c);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

class ConfigFile : public ::testing::TestWithParam<BadFile> {};

} // namespace

TEST_P(ConfigFile, IsRefusedNamingTheKeyAndTheFix) {
  ScratchDir dir;
  const auto file = dir.path() / "c.json";
  write_text(file, GetParam().json);
  const std::string message = load_error(file);
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Rows, ConfigFile,
    ::testing::Values(
        BadFile{"empty_basedir", R"({"basedir": ""})",
                "'basedir' is empty: give a value"},
        BadFile{"blank_data_dir", R"({"data_dir": "  "})", "'data_dir' is empty"},
        BadFile{"empty_database", R"({"databases": ["odoo", ""]})",
                "'databases' is empty"},
        BadFile{"blank_sessions_dir", R"({"sessions_dir": "\t"})",
                "'sessions_dir' is empty"},
        BadFile{"empty_metrics_file", R"({"metrics_file": ""})",
                "'metrics_file' is empty"},
        BadFile{"empty_odoo_service", R"({"odoo_service": " "})",
                "'odoo_service' is empty"},
        BadFile{"empty_log_level", R"({"log_level": ""})", "'log_level' is empty"},
        BadFile{"empty_tool", R"({"tools": {"pg_dump": ""}})",
                "'tools.pg_dump' is empty"},
        BadFile{"empty_conninfo", R"({"postgres": {"conninfo": ""}})",
                "'postgres.conninfo' is empty"},
        BadFile{"empty_marker_dir", R"({"cold": {"marker_dir": ""}})",
                "'cold.marker_dir' is empty"},
        BadFile{
            "huge_float_timeout", R"({"lock_wait_timeout_seconds": 1e300})",
            "'lock_wait_timeout_seconds' must be a whole number of seconds from 0 (no "
            "limit) to 86400, not 1e+300"},
        BadFile{"timeout_beyond_uint64",
                R"({"lock_wait_timeout_seconds": 99999999999999999999})",
                "'lock_wait_timeout_seconds' must be a whole number"},
        BadFile{"timeout_uint64_max",
                R"({"lock_wait_timeout_seconds": 18446744073709551615})",
                "not 18446744073709551615"},
        BadFile{"timeout_above_range", R"({"lock_wait_timeout_seconds": 86401})",
                "not 86401"},
        BadFile{"negative_timeout", R"({"lock_wait_timeout_seconds": -1})", "not -1"},
        BadFile{"fractional_timeout", R"({"lock_wait_timeout_seconds": 2.5})", "not 2.5"},
        BadFile{"timeout_as_string", R"({"lock_wait_timeout_seconds": "600"})",
                "not \"600\""},
        BadFile{"timeout_as_bool", R"({"lock_wait_timeout_seconds": true})", "not true"},
        BadFile{"zero_stop_timeout", R"({"cold": {"stop_timeout_seconds": 0}})",
                "'cold.stop_timeout_seconds' must be a whole number of seconds from 1 to "
                "3600"},
        BadFile{"long_start_timeout", R"({"cold": {"start_timeout_seconds": 3601}})",
                "'cold.start_timeout_seconds' must be"},
        BadFile{
            "negative_keep_days", R"({"cold": {"sessions_keep_days": -1}})",
            "'cold.sessions_keep_days' must be a whole number of days from 0 (purge all) "
            "to 3650"},
        BadFile{"float_keep_days", R"({"cold": {"sessions_keep_days": 1e3}})",
                "not 1000.0"},
        BadFile{"unknown_key", R"({"basdir": "/x"})", "'basdir' is not a known setting"},
        BadFile{"unknown_nested_key", R"({"cold": {"stop_timeout": 3}})",
                "'cold.stop_timeout' is not a known setting"},
        BadFile{"not_an_object", R"(["basedir"])", "must be a JSON object"},
        BadFile{"wrong_type", R"({"databases": "odoo"})",
                "'databases' must be a list of strings"},
        BadFile{"not_json", "{ not json", "is not valid JSON"},
        BadFile{"invalid_utf8", "{\"basedir\": \"/b\xff\"}", "is not valid JSON"}),
    [](const auto& row) { return row.param.name; });

TEST(Config, InvalidUtf8InTheFileIsNotQuotedRaw) {
  ScratchDir dir;
  const auto file = dir.path() / "c.json";
  write_text(file, "{\"basedir\": \"/b\xff\"}");
  const std::string message = load_error(file);
  EXPECT_EQ(message.find('\xff'), std::string::npos) << message;
}

TEST(Config, ConfigFileThatIsADirectoryIsNamedAsSuch) {
  ScratchDir dir;
  EXPECT_NE(load_error(dir.path()).find("is a directory: give the path of the JSON file"),
            std::string::npos);
  EXPECT_NE(load_error(dir.path() / "none.json").find("cannot read config file"),
            std::string::npos);
}

TEST(Config, NumbersInRangeAreRead) {
  ScratchDir dir;
  const auto file = dir.path() / "c.json";
  write_text(file,
             R"({"lock_wait_timeout_seconds": 0, "cold": {"sessions_keep_days": 3650,
    "stop_timeout_seconds": 3600, "start_timeout_seconds": 1}})");
  Config c;
  odbox::core::load_config_file(file, c);
  EXPECT_EQ(c.lock_wait_timeout.count(), 0);
  EXPECT_EQ(c.cold.sessions_keep_days, 3650);
  EXPECT_EQ(c.cold.sessions_keep_age(), std::chrono::seconds(3650LL * 86400));
  EXPECT_EQ(c.cold.stop_timeout.count(), 3600);
  EXPECT_EQ(c.cold.start_timeout.count(), 1);
}

TEST(Config, ValuesOutOfRangeAreRefusedWhereverTheyCameFrom) {
  ScratchDir dir;
  Config c = valid_config(dir);
  c.lock_wait_timeout = std::chrono::seconds(99999);
  EXPECT_NE(usage_message(c).find("--lock-wait-timeout is 99999"), std::string::npos);
  c = valid_config(dir);
  c.cold.stop_timeout = std::chrono::seconds(0);
  EXPECT_NE(usage_message(c).find("--stop-timeout is 0"), std::string::npos);
  c = valid_config(dir);
  c.cold.sessions_keep_days = -2;
  EXPECT_NE(usage_message(c).find("--sessions-keep-days is -2"), std::string::npos);
}

TEST(Config, AnExplicitSessionsDirMustExist) {
  ScratchDir dir;
  Config c = valid_config(dir);
  c.sessions_dir = c.data_dir / "nope";
  EXPECT_NE(usage_message(c).find("does not exist: point --sessions-dir"),
            std::string::npos);
  // The default one may be missing: Odoo makes it when the first user logs in.
  c.sessions_dir.reset();
  EXPECT_EQ(usage_message(c), "");
}

TEST(Config, DataDirThatIsAFileIsNamedAsSuch) {
  ScratchDir dir;
  Config c = valid_config(dir);
  write_text(dir.path() / "file", "x");
  c.data_dir = dir.path() / "file";
  EXPECT_NE(usage_message(c).find("is not a directory: check --data-dir"),
            std::string::npos);
}

TEST(Config, ARefusedDatabaseNameIsPrintedEscaped) {
  try {
    odbox::core::validate_database_name("caf\xe9\n");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'caf\\xe9\\x0a'"), std::string::npos) << message;
    EXPECT_NE(message.find("the character '\\xe9'"), std::string::npos) << message;
    EXPECT_EQ(message.find('\xe9'), std::string::npos) << message;
  }
}

TEST(Config, LiveStoreLayout) {
  Config c;
  c.data_dir = "/var/lib/odoo";
  EXPECT_EQ(c.live_stores(), "/var/lib/odoo/filestore");
  EXPECT_EQ(c.live_store("prod"), "/var/lib/odoo/filestore/prod");
  EXPECT_EQ(c.cold.sessions_keep_age(), std::nullopt);
}

TEST(SettingRange, ParsesWholeNumbersInRangeOnly) {
  const auto& range = odbox::core::k_lock_wait_timeout_range;
  EXPECT_EQ(range.parse("0"), 0);
  EXPECT_EQ(range.parse("86400"), 86400);
  for (const char* bad :
       {"86401", "-1", "1e300", "99999999999999999999", "0x10", " 5", ""}) {
    EXPECT_EQ(range.parse(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(range.describe(), "a whole number of seconds from 0 (no limit) to 86400");
  EXPECT_EQ(odbox::core::k_stop_timeout_range.describe(),
            "a whole number of seconds from 1 to 3600");
}

// Without --compression-threads a run on one or two CPUs compresses in the
// dump's thread; the CPUs are those its affinity allows.
TEST(Config, CompressionWorkersFollowTheRunsCpus) {
  cpu_set_t saved;
  ASSERT_EQ(::sched_getaffinity(0, sizeof saved, &saved), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &saved)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  const int on_one = odbox::core::DumpCompression{}.threads;
  ASSERT_EQ(::sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(on_one, 0);
  EXPECT_EQ(odbox::core::DumpCompression{}.threads, CPU_COUNT(&saved) > 2 ? 1 : 0);
}
