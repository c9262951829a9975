// Bad input: exit 2 with one error line that names the problem and the fix,
// and nothing touched: no file or directory created, no mode changed, no
// marker, no runs.jsonl, and for cold, Odoo neither stopped nor started.
// One row per bad input (bad_inputs.cpp: paths, names, config files, tools,
// numbers).

#include "bad_inputs.hpp"
#include "harness.hpp"
#include "odbox/util/text.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/stat.h>

using namespace odbox::it;

namespace {

// Everything under `dir` with its type, mode, owner, size and link target.
// What a running Odoo writes is left out: below the directories in
// `churn` (they are listed themselves, without their size) and the files
// in `skipped`.
std::vector<std::string> listing(const fs::path& dir,
                                 const std::vector<fs::path>& churn = {},
                                 const std::vector<fs::path>& skipped = {}) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir);
       it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& path = it->path();
    struct stat st {};
    if (std::ranges::find(skipped, path) != skipped.end() ||
        ::lstat(path.c_str(), &st) != 0) {
      continue;
    }
    const bool odoos = std::ranges::find(churn, path) != churn.end();
    std::ostringstream entry;
    entry << path.string() << " mode=" << std::oct << st.st_mode << std::dec
          << " uid=" << st.st_uid;
    if (S_ISREG(st.st_mode) && !odoos) {
      entry << " size=" << st.st_size;
    } else if (S_ISLNK(st.st_mode)) {
      entry << " -> " << fs::read_symlink(path).string();
    }
    out.push_back(entry.str());
    if (odoos) {
      it.disable_recursion_pending();
    }
  }
  std::ranges::sort(out);
  return out;
}

// The lines of stderr that are not info or debug log lines.
std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("<6>") && !line.starts_with("<7>")) {
      out.push_back(line);
    }
  }
  return out;
}

} // namespace

namespace odbox::it {
// gtest names the row in its messages.
void PrintTo(const BadInput& row, std::ostream* os) {
  *os << row.name;
}
} // namespace odbox::it

namespace {

class Usage : public ::testing::TestWithParam<BadInput> {};

} // namespace
TEST_P(Usage, ExitTwoWithOneErrorLineAndNothingTouched) {
  const BadInput& row = GetParam();
  OdooScratch odoo(
      OdooScratch::Options{.attachments = 4, .bulk_rows = 10, .sessions = 5});
  if (row.setup != nullptr) {
    row.setup(odoo);
  }
  std::vector<fs::path> churn; // what Odoo and the systemctl stand-in write meanwhile
  if (row.odoo == Odoo::service) {
    odoo.install_odoo_service();
    churn = {odoo.systemctl_dir(), odoo.live_store(),
             fs::canonical(odoo.data_dir() / "sessions")};
  }
  const std::vector<fs::path> skipped{odoo.events_file()};
  const auto before = listing(odoo.scratch(), churn, skipped);
  const auto calls_before = odoo.service_calls();

  Args args;
  for (const auto& a : row.args) {
    args.push_back(substitute(a, odoo));
  }
  const auto out = odoo.raw(args, odoo.systemctl_env());

  EXPECT_EQ(out.exit_code, 2) << out.err;
  const auto errors = error_lines(out.err);
  ASSERT_EQ(errors.size(), 1U) << "one error line, no stack of messages:\n" << out.err;
  EXPECT_NE(errors.front().find(substitute(row.expected, odoo)), std::string::npos)
      << errors.front();
  EXPECT_EQ(odbox::util::printable(errors.front()), errors.front())
      << "a raw byte in the log";
  EXPECT_EQ(listing(odoo.scratch(), churn, skipped), before)
      << "something was created or changed";
  EXPECT_FALSE(fs::exists(odoo.marker_dir())) << "a marker was written";
  EXPECT_FALSE(fs::exists(odoo.area() / "runs.jsonl"));
  if (row.odoo == Odoo::service) {
    EXPECT_EQ(odoo.service_calls(), calls_before) << "Odoo was stopped or started";
    EXPECT_TRUE(odoo.odoo_active());
  }
  if (row.teardown != nullptr) {
    row.teardown(odoo);
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, Usage,
                         ::testing::ValuesIn(bad_inputs().begin(), bad_inputs().end()),
                         [](const auto& row) { return row.param.name; });

TEST(Usage, HelpShowsEveryCommandOptionDefaultAndExitCode) {
  OdooScratch odoo(OdooScratch::Options{.attachments = 1, .bulk_rows = 1, .sessions = 0});
  const auto help = odoo.raw({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* word :
       {"hot", "cold", "cold-recover", "verify", "restore", "export", "purge-sessions",
        "status", "--basedir DIR", "(default: /backup)", "--db", "--data-dir",
        "--pg-dump", "Exit codes: 0 ok", "3 another run",
        "5 Odoo could not be restarted"}) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word;
  }
  const auto cold_help = odoo.raw({"cold", "--help"});
  EXPECT_EQ(cold_help.exit_code, 0);
  for (const char* word : {"--wait-lock", "--lock-wait-timeout SECONDS",
                           "(0-86400, 0: no limit; default 600)", "--stop-timeout",
                           "(1-3600; default 120)", "--sessions-keep-days DAYS",
                           "--marker-dir DIR", "global options", "Exit codes"}) {
    EXPECT_NE(cold_help.out.find(word), std::string::npos) << word;
  }
  // One line per option: no validator names appended, nothing wrapped.
  EXPECT_EQ(cold_help.out.find(":NONNEGATIVE"), std::string::npos);
  std::istringstream lines(help.out + cold_help.out);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 92U) << line;
  }
  const auto version = odoo.raw({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("odbox-backup ", 0), 0U);
}

TEST(Usage, RootOwnedBasedirLinkIsFollowedAndLogged) {
  OdooScratch odoo(
      OdooScratch::Options{.attachments = 4, .bulk_rows = 10, .sessions = 0});
  const auto disk = odoo.scratch() / "disk";
  fs::create_directories(disk);
  fs::create_directory_symlink(disk, odoo.basedir());
  const auto out = odoo.backup({"hot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("--basedir " + odoo.basedir().string() +
                         " is a symbolic link: using " + fs::canonical(disk).string()),
            std::string::npos)
      << out.err;
  EXPECT_TRUE(fs::is_symlink(odoo.basedir()));
  EXPECT_TRUE(fs::is_regular_file(disk / "odoo" / (odoo.db() + ".dump.sql")));
  EXPECT_EQ(odoo.restore_digests(disk / "odoo" / (odoo.db() + ".dump.sql")),
            odoo.digests(odoo.db()));
}
