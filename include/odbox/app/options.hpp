#pragma once

#include "odbox/core/config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
class Validator;
} // namespace CLI

namespace odbox::app {

// Output options every command takes (beyond the Config).
struct CommonOptions {
  bool json = false; // print the run record as JSON on stdout
};

// The flags that override a setting of the config file. Each is set only
// when given, so that a flag left out keeps the file's value; an empty or
// blank value is refused when the command line is parsed.
struct SettingFlags {
  std::optional<std::string> config_file;
  std::optional<std::string> basedir;
  std::vector<std::string> databases;
  std::optional<std::string> data_dir;
  std::optional<std::string> sessions_dir;
  std::optional<std::string> odoo_service;
  std::optional<std::string> log_level;
  std::optional<std::string> pg_dump, psql, rsync, systemctl, restic;
  // hot and cold
  bool wait_lock = false;
  std::optional<std::string> metrics_file;
  std::optional<long long> lock_wait_timeout;
  std::optional<std::string> compression;
  std::optional<long long> compression_threads;
  // cold; the marker directory and the session age are shared with other commands
  bool full_downtime = false;
  std::optional<long long> sessions_keep_days;
  std::optional<long long> stop_timeout;
  std::optional<long long> start_timeout;
  std::optional<std::string> marker_dir;
};

// The Config of a run: the built-in defaults, then the config file, then
// the flags. Throws UsageError (config file errors).
core::Config build_config(const SettingFlags& flags);

// The global options, accepted before and after the command.
void add_global_options(CLI::App& app, SettingFlags& flags, CommonOptions& common);
// The options shared by several commands.
void add_run_options(CLI::App& cmd, SettingFlags& flags); // hot, cold
void add_sessions_keep_days_option(CLI::App& cmd, SettingFlags& flags);
void add_marker_option(CLI::App& cmd, SettingFlags& flags);

// Makes every option of `app` and of its subcommands that takes a value
// refuse an empty or blank one (`--basedir ""` must not mean /backup).
void refuse_blank_values(CLI::App& app);

// A range in --help: "0-86400, 0: no limit".
[[nodiscard]] std::string range_help(const core::SettingRange& range);

// A CLI11 check that the value is a whole decimal number in `range` (no
// "1e3", "0x10" or overflow), leaving the type name in --help alone.
CLI::Validator in_range(const core::SettingRange& range);

} // namespace odbox::app
