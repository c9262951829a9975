#pragma once

#include "odbox/core/config.hpp"
#include "odbox/core/service.hpp"

#include <string>

namespace CLI {
class App;
}

namespace odbox::app {

// Options shared by the commands (beyond the Config).
struct CommonOptions {
  bool json = false;  // print the run record as JSON on stdout
};

struct VerifyFlags {
  bool deep = false;
  bool restore_test = false;
};

struct RestoreFlags {
  std::string target_db;
  bool force = false;
  std::string from_offsite;  // "latest" or a snapshot ID; empty: from the area
  std::string staging;       // --staging DIR of --from-offsite
};

struct ExportFlags {
  std::string zip;
};

struct StatusFlags {
  std::string max_age;  // e.g. "26h"; empty: no limit
};

struct OffsiteFlags {
  std::string action;  // push | snapshots | forget | check
  bool wait_lock = false;
  std::string read_data_subset;
  bool restore_test = false;
};

// Each subcommand sequences the core steps and returns its exit code;
// errors propagate as core::Error to app::run().
int run_hot(const core::Config& config, const CommonOptions& common);
int run_cold(const core::Config& config, const CommonOptions& common,
             core::ServiceControl& services);
int run_cold_recover(const core::Config& config, core::ServiceControl& services);
// Exit 0 sound, 4 problems (each logged), 1 could not run.
int run_verify(const core::Config& config, const CommonOptions& common, const VerifyFlags& flags);
int run_restore(const core::Config& config, const RestoreFlags& flags,
                core::ServiceControl& services);
int run_export(const core::Config& config, const ExportFlags& flags);
// The session purge of cold on its own (run it while Odoo is stopped).
int run_purge_sessions(const core::Config& config);
// Exit 0, or 4 when --max-age is given and a database's last success is older.
int run_status(const core::Config& config, const CommonOptions& common, const StatusFlags& flags);

// `offsite push|snapshots|forget|check` (src/app/offsite.cpp).
CLI::App* add_offsite_command(CLI::App& app, OffsiteFlags& flags);
void add_restore_offsite_options(CLI::App& restore, RestoreFlags& flags);
// push: 0, or 6 when a push failed; check: 0 sound, 4 problems.
int run_offsite(const core::Config& config, const CommonOptions& common,
                const OffsiteFlags& flags);
int run_restore_from_offsite(const core::Config& config, const RestoreFlags& flags,
                             core::ServiceControl& services);

} // namespace odbox::app
