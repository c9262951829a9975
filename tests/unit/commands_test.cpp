#include "odbox/app/commands.hpp"
#include "test_dir.hpp"

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>
#include <set>

using namespace odbox::app;

namespace {

// The command line of `args` through the options of hot, as app::run
// registers them; the CLI11 error message if it is refused.
std::string parse_hot(CommandLine& line, std::vector<std::string> args) {
  CLI::App app("test", "odbox-backup");
  app.fallthrough();
  add_global_options(app, line.settings, line.common);
  add_hot_options(*app.add_subcommand("hot", ""), line);
  refuse_blank_values(app);
  std::ranges::reverse(args); // CLI11 takes them last to first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(Commands, OneRowPerCommandWithHelpAndBothSteps) {
  std::set<std::string_view> names;
  for (const Command& command : commands()) {
    EXPECT_TRUE(names.insert(command.name).second) << command.name;
    EXPECT_FALSE(command.help.empty()) << command.name;
    EXPECT_LE(command.help.size(), 60U) << command.name << ": one short line in --help";
    EXPECT_NE(command.add_options, nullptr) << command.name;
    EXPECT_NE(command.run, nullptr) << command.name;
  }
  EXPECT_EQ(names, (std::set<std::string_view>{"hot", "cold", "cold-recover", "verify",
                                               "restore", "export", "purge-sessions",
                                               "status", "offsite"}));
}

TEST(Commands, EmptyOrBlankValuesAreRefusedAtParse) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--basedir", "", "hot"},
                                             {"--db", "odoo", "--db", " ", "hot"},
                                             {"hot", "--metrics-file", "\t"},
                                             {"--pg-dump", " \t ", "hot"}}) {
    CommandLine line;
    const std::string message = parse_hot(line, args);
    EXPECT_NE(message.find("the value is empty or blank"), std::string::npos)
        << args.front() << ": " << message;
  }
}

TEST(Commands, AnOptionWithoutItsValueIsRefused) {
  CommandLine line;
  EXPECT_NE(parse_hot(line, {"hot", "--basedir="}), "");
}

TEST(Commands, NumbersAreWholeAndInRange) {
  for (const std::string bad :
       {"99999999999999999999", "1e300", "-1", "86401", "0x10", "10s"}) {
    CommandLine line;
    EXPECT_NE(parse_hot(line, {"hot", "--lock-wait-timeout", bad})
                  .find("is not a whole number of seconds from 0 (no limit) to 86400"),
              std::string::npos)
        << bad;
  }
  CommandLine line;
  EXPECT_EQ(parse_hot(line, {"hot", "--lock-wait-timeout", "86400"}), "");
  EXPECT_EQ(line.settings.lock_wait_timeout, 86400);
}

TEST(Commands, FlagsOverrideTheConfigFileOnlyWhenGiven) {
  odbox::test::ScratchDir dir;
  const auto file = dir.path() / "c.json";
  odbox::test::write_text(file, R"({"basedir": "/srv/backup", "databases": ["a"],
    "lock_wait_timeout_seconds": 30, "cold": {"sessions_keep_days": 7}})");
  CommandLine line;
  ASSERT_EQ(parse_hot(line, {"--config", file.string(), "--db", "b", "hot"}), "");
  const auto config = build_config(line.settings);
  EXPECT_EQ(config.basedir, "/srv/backup");
  EXPECT_EQ(config.databases, std::vector<std::string>{"b"});
  EXPECT_EQ(config.lock_wait_timeout.count(), 30);
  EXPECT_EQ(config.cold.sessions_keep_days, 7);
  EXPECT_FALSE(config.sessions_dir);
  EXPECT_FALSE(config.metrics_file);
}
