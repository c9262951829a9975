#include "odbox/core/restore.hpp"

#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/preflight.hpp"
#include "odbox/core/run_lock.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

void add_restore_options(CLI::App& cmd, CommandLine& line) {
  cmd.add_option("--target-db", line.restore.target_db,
                 "restore under this name (a copy gets a new database.uuid)")
      ->type_name("NEW");
  cmd.add_flag("--force", line.restore.force,
               "replace an existing database (Odoo stopped for the swap)");
  add_marker_option(cmd, line.settings);
  add_restore_offsite_options(cmd, line.restore);
}

int run_restore(const Config& config, const RestoreFlags& flags,
                ServiceControl& services) {
  if (config.databases.size() != 1) {
    throw UsageError("restore takes exactly one --db NAME (the backup to restore)");
  }
  (void)require_program(config.tools.psql, "--psql", "postgresql-client");
  if (flags.force) {
    (void)require_program(config.tools.systemctl, "--systemctl", "systemd");
  }
  if (flags.from_offsite) {
    return run_restore_from_offsite(config, flags, services);
  }
  const BackupArea area(config.basedir);
  area.require_existing();
  // No backup may replace the dump while it is being read.
  const RunLock lock(area.lock_file(), "restore", config.wait_lock);
  const auto result =
      restore_backup(config, area,
                     RestoreRequest{.database = config.databases.front(),
                                    .target = flags.target_db.value_or(""),
                                    .force = flags.force},
                     services);
  spdlog::info("restored {} as database {} with {} files in {}{}{}",
               config.databases.front(), result.target, result.files,
               config.live_store(result.target).string(),
               result.replaced ? " (replaced the previous one)" : "",
               result.new_identity ? ", new database.uuid" : "");
  return 0;
}

} // namespace odbox::app
