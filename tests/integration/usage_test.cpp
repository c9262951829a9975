// Bad input: a one-line error naming the problem and the fix, exit 2, and
// nothing created or changed.

#include "harness.hpp"

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>

using namespace odbox::it;

namespace {

struct BadInput {
  std::string name;
  std::vector<std::string> args;  // {BASEDIR} {DATA} {DB} {SCRATCH} are replaced
  std::string expected;           // part of the error line
};

std::string substitute(std::string s, const OdooScratch& odoo) {
  const std::pair<std::string, std::string> vars[] = {
      {"{BASEDIR}", odoo.basedir().string()},
      {"{DATA}", odoo.data_dir().string()},
      {"{DB}", odoo.db()},
      {"{SCRATCH}", odoo.scratch().string()}};
  for (const auto& [key, value] : vars) {
    for (auto pos = s.find(key); pos != std::string::npos; pos = s.find(key)) {
      s.replace(pos, key.size(), value);
    }
  }
  return s;
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out.push_back(e.path().string());
  }
  std::ranges::sort(out);
  return out;
}

} // namespace

TEST(BadInput, ExitTwoWithOneLineAndNothingTouched) {
  OdooScratch odoo;
  std::ofstream(odoo.scratch() / "broken.json") << "{\"basedir\": \"/x\",";
  std::ofstream(odoo.scratch() / "typo.json") << R"({"basdir": "/x"})";
  odoo.sql("SELECT 1");  // the database exists
  const auto plain = run({"createdb", odoo.db() + "_plain"}, odoo.pg().env());
  ASSERT_EQ(plain.exit_code, 0) << plain.err;

  const std::vector<BadInput> cases = {
      {"relative basedir", {"--basedir", "backup", "--db", "{DB}", "--data-dir", "{DATA}", "hot"},
       "--basedir must be an absolute path"},
      {"relative data dir", {"--basedir", "{BASEDIR}", "--db", "{DB}", "--data-dir", "odoo", "hot"},
       "--data-dir must be an absolute path"},
      {"basedir inside data dir",
       {"--basedir", "{DATA}/backup", "--db", "{DB}", "--data-dir", "{DATA}", "hot"},
       "is inside the Odoo data directory"},
      {"data dir inside basedir",
       {"--basedir", "{SCRATCH}", "--db", "{DB}", "--data-dir", "{DATA}", "hot"},
       "is inside the backup area"},
      {"database with slash",
       {"--basedir", "{BASEDIR}", "--db", "a/b", "--data-dir", "{DATA}", "hot"},
       "invalid database name 'a/b'"},
      {"database dot dot",
       {"--basedir", "{BASEDIR}", "--db", "..", "--data-dir", "{DATA}", "hot"},
       "invalid database name '..'"},
      {"database leading dash",
       {"--basedir", "{BASEDIR}", "--db=-x", "--data-dir", "{DATA}", "hot"},
       "invalid database name '-x'"},
      {"missing data dir",
       {"--basedir", "{BASEDIR}", "--db", "{DB}", "--data-dir", "{SCRATCH}/nope", "hot"},
       "does not exist: check --data-dir"},
      {"unknown option", {"--basedir", "{BASEDIR}", "--frobnicate", "hot"}, "--frobnicate"},
      {"no subcommand", {"--basedir", "{BASEDIR}"}, "subcommand"},
      {"invalid json config", {"--config", "{SCRATCH}/broken.json", "hot"}, "is not valid JSON"},
      {"unknown config key", {"--config", "{SCRATCH}/typo.json", "hot"},
       "'basdir' is not a known setting"},
      {"missing config file", {"--config", "{SCRATCH}/none.json", "hot"}, "cannot read config file"},
      {"no database", {"--basedir", "{BASEDIR}", "--data-dir", "{DATA}", "hot"}, "no database given"},
      {"database does not exist",
       {"--basedir", "{BASEDIR}", "--db", "{DB}_nope", "--data-dir", "{DATA}", "hot"},
       "does not exist on the PostgreSQL server"},
      {"not an Odoo database",
       {"--basedir", "{BASEDIR}", "--db", "{DB}_plain", "--data-dir", "{DATA}", "hot"},
       "not an Odoo database"},
      {"pg_dump not found",
       {"--basedir", "{BASEDIR}", "--db", "{DB}", "--data-dir", "{DATA}", "--pg-dump",
        "/nonexistent/pg_dump", "hot"},
       "not found: install postgresql-client"},
      {"rsync not found",
       {"--basedir", "{BASEDIR}", "--db", "{DB}", "--data-dir", "{DATA}", "--rsync",
        "/nonexistent/rsync", "hot"},
       "not found: install rsync"},
      {"bad log level",
       {"--basedir", "{BASEDIR}", "--db", "{DB}", "--data-dir", "{DATA}", "--log-level", "loud",
        "hot"},
       "unknown log level"},
      {"negative keep days",
       {"--basedir", "{BASEDIR}", "--db", "{DB}", "--data-dir", "{DATA}", "cold",
        "--sessions-keep-days", "-3"},
       "--sessions-keep-days"},
  };
  const auto before = entries_of(odoo.scratch());
  for (const auto& c : cases) {
    std::vector<std::string> args;
    for (const auto& a : c.args) {
      args.push_back(substitute(a, odoo));
    }
    const auto out = odoo.raw(args);
    EXPECT_EQ(out.exit_code, 2) << c.name << ": " << out.err;
    EXPECT_NE(out.err.find(c.expected), std::string::npos) << c.name << ": " << out.err;
    // One line, no stack of messages.
    EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << c.name << ": " << out.err;
    EXPECT_FALSE(fs::exists(odoo.basedir())) << c.name;
  }
  EXPECT_EQ(entries_of(odoo.scratch()), before);
  run({"dropdb", odoo.db() + "_plain"}, odoo.pg().env());
}

TEST(BadInput, HelpAndVersion) {
  OdooScratch odoo;
  const auto help = odoo.raw({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* word : {"hot", "cold", "cold-recover", "--basedir", "--db", "--data-dir",
                           "--pg-dump", "Exit codes"}) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word;
  }
  const auto hot_help = odoo.raw({"hot", "--help"});
  EXPECT_EQ(hot_help.exit_code, 0);
  EXPECT_NE(hot_help.out.find("--wait-lock"), std::string::npos);
  const auto version = odoo.raw({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("odbox-backup ", 0), 0U);
}
