// Bad off-site input: exit 2, one line naming the problem and the fix, and
// nothing touched (no area, no repository, no file changed).

#include "offsite_support.hpp"

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>

using namespace odbox::it;

namespace {

struct BadOffsiteInput {
  std::string name;
  nlohmann::json offsite;        // laid over the valid offsite object
  std::vector<std::string> args; // after --config FILE; {SCRATCH} {DATA} replaced
  std::string expected;          // part of the error line
  std::string prepare = "";      // what to set up first (see prepare())
};

void PrintTo(const BadOffsiteInput& c, std::ostream* os) {
  *os << c.name;
}

std::string substitute(std::string s, const OdooScratch& odoo) {
  const std::pair<std::string, std::string> vars[] = {
      {"{SCRATCH}", odoo.scratch().string()}, {"{DATA}", odoo.data_dir().string()}};
  for (const auto& [key, value] : vars) {
    for (auto pos = s.find(key); pos != std::string::npos; pos = s.find(key)) {
      s.replace(pos, key.size(), value);
    }
  }
  return s;
}

nlohmann::json substitute(nlohmann::json j, const OdooScratch& odoo) {
  if (j.is_string()) {
    return substitute(j.get<std::string>(), odoo);
  }
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) {
      v = substitute(v, odoo);
    }
  }
  return j;
}

std::map<std::string, std::string> snapshot_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out[e.path().string()] = e.is_regular_file() ? read_file(e.path()) : "<dir>";
  }
  return out;
}

void prepare(const std::string& what, const OdooScratch& odoo,
             const OffsiteSetup& offsite) {
  if (what == "empty area") {
    fs::create_directories(odoo.area());
  } else if (what == "password 0644") {
    fs::permissions(offsite.password_file(),
                    fs::perms::owner_read | fs::perms::owner_write |
                        fs::perms::group_read | fs::perms::others_read);
  } else if (what == "environment 0640") {
    fs::permissions(offsite.environment_file(), fs::perms::owner_read |
                                                    fs::perms::owner_write |
                                                    fs::perms::group_read);
  } else if (what == "environment malformed") {
    std::ofstream(offsite.environment_file(), std::ios::app)
        << "this line has no equals sign\n";
  } else if (what == "environment sets the password") {
    std::ofstream(offsite.environment_file(), std::ios::app) << "RESTIC_PASSWORD=x\n";
  } else if (what == "staging not empty") {
    fs::create_directories(odoo.scratch() / "staging");
    std::ofstream(odoo.scratch() / "staging" / "keep-me") << "x\n";
  }
}

class OffsiteBadInput : public ::testing::TestWithParam<BadOffsiteInput> {};

} // namespace

TEST_P(OffsiteBadInput, ExitTwoWithOneLineAndNothingTouched) {
  const auto& c = GetParam();
  OdooScratch odoo;
  OffsiteSetup offsite(odoo, (odoo.scratch() / "repo").string());
  offsite.write_config(substitute(c.offsite, odoo));
  prepare(c.prepare, odoo, offsite);
  std::vector<std::string> args = {"--db",       odoo.db(),
                                   "--data-dir", odoo.data_dir().string(),
                                   "--basedir",  odoo.basedir().string()};
  for (const auto& a : c.args) {
    args.push_back(substitute(a, odoo));
  }
  const auto before = snapshot_of(odoo.scratch());
  const auto out = odoo.raw(offsite.args(args));
  EXPECT_EQ(out.exit_code, 2) << out.err;
  EXPECT_NE(out.err.find(c.expected), std::string::npos) << out.err;
  EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << out.err;
  expect_no_secret(out.out + out.err, offsite.secrets(), "the error");
  EXPECT_FALSE(fs::exists(odoo.scratch() / "repo"));
  EXPECT_EQ(snapshot_of(odoo.scratch()), before);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OffsiteBadInput,
    ::testing::Values(
        BadOffsiteInput{"UnknownKey",
                        {{"repo", "x"}},
                        {"offsite", "snapshots"},
                        "'offsite.repo' is not a known setting"},
        BadOffsiteInput{"NoRepository",
                        {{"repository", ""}},
                        {"offsite", "snapshots"},
                        "'offsite.repository' is missing"},
        BadOffsiteInput{"RelativePasswordFile",
                        {{"password_file", "restic.pass"}},
                        {"hot"},
                        "'offsite.password_file' must be an absolute path"},
        BadOffsiteInput{"MissingPasswordFile",
                        {{"password_file", "{SCRATCH}/none.pass"}},
                        {"hot"},
                        "install -m 600 /dev/null"},
        BadOffsiteInput{
            "WorldReadablePasswordFile", {}, {"hot"}, "chmod 600", "password 0644"},
        BadOffsiteInput{"GroupReadableEnvironmentFile",
                        {},
                        {"offsite", "snapshots"},
                        "chmod 600",
                        "environment 0640"},
        BadOffsiteInput{"MalformedEnvironmentLine",
                        {},
                        {"hot"},
                        "line 4: not a KEY=VALUE line",
                        "environment malformed"},
        BadOffsiteInput{"EnvironmentSetsThePassword",
                        {},
                        {"offsite", "snapshots"},
                        "RESTIC_PASSWORD comes from the offsite object",
                        "environment sets the password"},
        BadOffsiteInput{
            "KeepAllZero",
            {{"keep", {{"last", 0}, {"daily", 0}, {"weekly", 0}, {"monthly", 0}}}},
            {"offsite", "forget"},
            "keeps nothing"},
        BadOffsiteInput{"KeepLastZero",
                        {{"keep", {{"last", 0}}}},
                        {"offsite", "forget"},
                        "'offsite.keep.last' must be at least 1"},
        BadOffsiteInput{"UnknownPushAfterKind",
                        {{"push_after", {"hot", "warm"}}},
                        {"hot"},
                        "holds 'warm'"},
        BadOffsiteInput{"PushWithNoArea", {}, {"offsite", "push"}, "no backup area"},
        BadOffsiteInput{"PushWithNoBackupInTheArea",
                        {},
                        {"offsite", "push"},
                        "no backup of",
                        "empty area"},
        BadOffsiteInput{"ResticNotFound",
                        {},
                        {"--restic", "/nonexistent/restic", "offsite", "snapshots"},
                        "not found: install restic"},
        BadOffsiteInput{"StagingInsideTheDataDir",
                        {},
                        {"restore", "--from-offsite", "--target-db", "copy", "--staging",
                         "{DATA}/staging"},
                        "overlaps the Odoo data directory"},
        BadOffsiteInput{"StagingNotEmpty",
                        {},
                        {"restore", "--from-offsite", "latest", "--target-db", "copy",
                         "--staging", "{SCRATCH}/staging"},
                        "exists and is not empty",
                        "staging not empty"},
        BadOffsiteInput{"OffsiteWithoutSubcommand", {}, {"offsite"}, "subcommand"}),
    [](const auto& row) { return row.param.name; });

TEST(OffsiteConfig, NoOffsiteObjectIsExitTwo) {
  OdooScratch odoo;
  const auto out = odoo.backup({"offsite", "snapshots"});
  EXPECT_EQ(out.exit_code, 2) << out.err;
  EXPECT_NE(out.err.find("no \"offsite\" object"), std::string::npos) << out.err;
}
