#pragma once

#include "odbox/app/options.hpp"
#include "odbox/core/config.hpp"
#include "odbox/core/service.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace odbox::app {

// The flags of the commands that have their own (beyond settings).
struct VerifyFlags {
  bool deep = false;
  bool restore_test = false;
};

struct RestoreFlags {
  std::optional<std::string> target_db; // default: the backup's own name
  bool force = false;
  std::optional<std::string> from_offsite; // "latest" or a snapshot ID
  std::optional<std::string> staging;      // where --from-offsite stages the generation
};

struct ExportFlags {
  std::optional<std::string> zip;
};

struct StatusFlags {
  std::optional<std::string> max_age; // e.g. "26h"; none: no limit
};

struct OffsiteFlags {
  std::string action; // push | snapshots | forget | check
  bool wait_lock = false;
  std::string read_data_subset;
  bool restore_test = false;
};

// Everything the command line gave, filled in by the parse: the settings
// (applied over the config file), the output options, and each command's
// own flags.
struct CommandLine {
  SettingFlags settings;
  CommonOptions common;
  VerifyFlags verify;
  RestoreFlags restore;
  ExportFlags export_zip;
  StatusFlags status;
  OffsiteFlags offsite;
};

// One subcommand, as ninja's kTools[]: its name and one line of help for
// `odbox-backup --help`, the registration of its flags on its CLI11
// subcommand, and its run, which gets the Config (defaults, then the config
// file, then the flags) and returns the exit code. Errors propagate as
// core::Error to app::run(), the one place that catches them.
struct Command {
  std::string_view name;
  std::string_view help;
  void (*add_options)(CLI::App& cmd, CommandLine& line);
  int (*run)(core::Config& config, const CommandLine& line);
};

// Every subcommand, in the order of --help.
[[nodiscard]] std::span<const Command> commands();

// What each command file provides: the registration of its flags, and the
// run that sequences the core steps.
void add_hot_options(CLI::App& cmd, CommandLine& line);
int run_hot(const core::Config& config, const CommonOptions& common);

void add_cold_options(CLI::App& cmd, CommandLine& line);
int run_cold(const core::Config& config, const CommonOptions& common,
             core::ServiceControl& services);

void add_cold_recover_options(CLI::App& cmd, CommandLine& line);
int run_cold_recover(const core::Config& config, core::ServiceControl& services);

void add_verify_options(CLI::App& cmd, CommandLine& line);
// Exit 0 sound, 4 problems (each logged), 1 could not run.
int run_verify(const core::Config& config, const CommonOptions& common,
               const VerifyFlags& flags);

void add_restore_options(CLI::App& cmd, CommandLine& line);
int run_restore(const core::Config& config, const RestoreFlags& flags,
                core::ServiceControl& services);
// restore --from-offsite (src/app/offsite.cpp).
void add_restore_offsite_options(CLI::App& cmd, RestoreFlags& flags);
int run_restore_from_offsite(const core::Config& config, const RestoreFlags& flags,
                             core::ServiceControl& services);

void add_export_options(CLI::App& cmd, CommandLine& line);
int run_export(const core::Config& config, const ExportFlags& flags);

// The session purge of cold on its own (run it while Odoo is stopped).
void add_purge_sessions_options(CLI::App& cmd, CommandLine& line);
int run_purge_sessions(const core::Config& config);

void add_status_options(CLI::App& cmd, CommandLine& line);
// Exit 0, or 4 when --max-age is given and a database's last success is older.
int run_status(const core::Config& config, const CommonOptions& common,
               const StatusFlags& flags);

// `offsite push|snapshots|forget|check`. push: 0, or 6 when a push failed;
// check: 0 sound, 4 problems.
void add_offsite_options(CLI::App& cmd, CommandLine& line);
int run_offsite(const core::Config& config, const CommonOptions& common,
                const OffsiteFlags& flags);

} // namespace odbox::app
