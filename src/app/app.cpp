#include "odbox/app/app.hpp"

#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/util/log.hpp"
#include "odbox/util/signals.hpp"
#include "odbox/version.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <spdlog/spdlog.h>

namespace odbox::app {
namespace {

using core::Config;

// Flags as given on the command line; applied over the config file, so a
// flag left out keeps the file's value.
struct Flags {
  std::string config_file;
  std::string basedir;
  std::vector<std::string> databases;
  std::string data_dir;
  std::string sessions_dir;
  std::string odoo_service;
  std::string log_level;
  std::string pg_dump, psql, rsync, systemctl, restic;
  std::string metrics_file;
  std::string marker_dir;
  int sessions_keep_days = -1;
  long long stop_timeout = -1;
  long long start_timeout = -1;
  long long lock_wait_timeout = -1;
  bool wait_lock = false;
  bool full_downtime = false;
  bool json = false;
  VerifyFlags verify;
  RestoreFlags restore;
  ExportFlags export_zip;
  StatusFlags status;
  OffsiteFlags offsite;
};

constexpr const char* k_description =
    "odbox-backup: backups of an Odoo server (PostgreSQL database + file store).\n"
    "  hot     dump the database and mirror the file store while Odoo runs\n"
    "  cold    stop Odoo briefly for a consistent backup, purge stale sessions,\n"
    "          and start Odoo again whatever happens\n"
    "  verify  check that the backups in the area are complete and restorable\n"
    "  restore put a backup back into PostgreSQL and the data dir\n"
    "  export  a zip of a backup for Odoo's database manager\n"
    "  purge-sessions  remove Odoo's stale session files (Odoo stopped)\n"
    "  status  last run and last success of each backup\n"
    "  offsite off-site generations through restic: push, snapshots, forget, check\n"
    "The backup area is <basedir>/odoo/: <db>.dump.sql, <db>.manifest.json,\n"
    "<db>.files.tsv, filestore/<db>/ and runs.jsonl.\n"
    "PostgreSQL is reached through the libpq environment (PGHOST, PGPORT,\n"
    "PGUSER, PGPASSFILE, ...) or postgres.conninfo in the config file.\n"
    "Exit codes: 0 ok, 1 failed (previous backup intact), 2 usage error,\n"
    "3 locked, 4 written but inconsistent, 5 Odoo not restarted,\n"
    "6 written but the off-site copy failed, 128+N signal.";

void add_global_options(CLI::App& app, Flags& f) {
  app.add_option("--config", f.config_file, "JSON config file (flags override it)")
      ->type_name("FILE");
  app.add_option("--basedir", f.basedir, "Backup base directory (default /backup)")
      ->type_name("DIR");
  app.add_option("--db", f.databases, "Odoo database to back up (repeatable)")
      ->type_name("NAME");
  app.add_option("--data-dir", f.data_dir, "Odoo data_dir, holding filestore/ and sessions/")
      ->type_name("DIR");
  app.add_option("--sessions-dir", f.sessions_dir, "Sessions directory (default DATA_DIR/sessions)")
      ->type_name("DIR");
  app.add_option("--odoo-service", f.odoo_service, "systemd unit of Odoo (default odoo.service)")
      ->type_name("UNIT");
  app.add_option("--log-level", f.log_level, "trace, debug, info (default), warn or error")
      ->type_name("LEVEL");
  app.add_option("--pg-dump", f.pg_dump, "pg_dump program (default: found on PATH)")
      ->type_name("PATH");
  app.add_option("--psql", f.psql, "psql program (default: found on PATH)")->type_name("PATH");
  app.add_option("--rsync", f.rsync, "rsync program (default: found on PATH)")->type_name("PATH");
  app.add_option("--systemctl", f.systemctl, "systemctl program (default: found on PATH)")
      ->type_name("PATH");
  app.add_option("--restic", f.restic, "restic program (default: found on PATH)")
      ->type_name("PATH");
  app.add_flag("--json", f.json, "Print the run's record as JSON on stdout");
}

void add_run_options(CLI::App& cmd, Flags& f) {
  cmd.add_flag("--wait-lock", f.wait_lock, "Wait for another run instead of exiting with 3");
  cmd.add_option("--metrics-file", f.metrics_file,
                 "Write Prometheus metrics here (node_exporter textfile collector)")
      ->type_name("PATH");
  cmd.add_option("--lock-wait-timeout", f.lock_wait_timeout,
                 "Seconds to wait for table locks before failing (default 600)")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
}

void add_cold_options(CLI::App& cmd, Flags& f) {
  cmd.add_flag("--full-downtime", f.full_downtime,
               "Keep Odoo stopped until the dump is finished too");
  cmd.add_option("--sessions-keep-days", f.sessions_keep_days,
                 "Keep session files newer than N days (default: purge all)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--stop-timeout", f.stop_timeout, "Seconds to wait for Odoo to stop (120)")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  cmd.add_option("--start-timeout", f.start_timeout, "Seconds to wait for Odoo to start (120)")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
}

void add_marker_option(CLI::App& cmd, Flags& f) {
  cmd.add_option("--marker-dir", f.marker_dir,
                 "Where cold runs note that they stopped Odoo (default /run/odbox-backup)")
      ->type_name("DIR");
}

Config build_config(const Flags& f) {
  Config config;
  if (!f.config_file.empty()) {
    core::load_config_file(f.config_file, config);
  }
  const auto set = [](auto& target, const std::string& value) {
    if (!value.empty()) {
      target = value;
    }
  };
  if (!f.basedir.empty()) {
    config.basedir = f.basedir;
  }
  if (!f.databases.empty()) {
    config.databases = f.databases;
  }
  if (!f.data_dir.empty()) {
    config.data_dir = f.data_dir;
  }
  if (!f.sessions_dir.empty()) {
    config.sessions_dir = f.sessions_dir;
  }
  set(config.odoo_service, f.odoo_service);
  set(config.log_level, f.log_level);
  set(config.tools.pg_dump, f.pg_dump);
  set(config.tools.psql, f.psql);
  set(config.tools.rsync, f.rsync);
  set(config.tools.systemctl, f.systemctl);
  set(config.tools.restic, f.restic);
  if (!f.metrics_file.empty()) {
    config.metrics_file = f.metrics_file;
  }
  if (!f.marker_dir.empty()) {
    config.cold.marker_dir = f.marker_dir;
  }
  if (f.sessions_keep_days >= 0) {
    config.cold.sessions_keep_days = f.sessions_keep_days;
  }
  if (f.stop_timeout > 0) {
    config.cold.stop_timeout = std::chrono::seconds(f.stop_timeout);
  }
  if (f.start_timeout > 0) {
    config.cold.start_timeout = std::chrono::seconds(f.start_timeout);
  }
  if (f.lock_wait_timeout >= 0) {
    config.lock_wait_timeout = std::chrono::seconds(f.lock_wait_timeout);
  }
  config.wait_lock = config.wait_lock || f.wait_lock;
  config.cold.full_downtime = config.cold.full_downtime || f.full_downtime;
  return config;
}

// One line for CLI11's parse errors, with the way out.
int usage_error(const std::string& message) {
  std::cerr << "odbox-backup: " << message << " (see odbox-backup --help)\n";
  return static_cast<int>(core::ExitCode::usage);
}

} // namespace

int run(int argc, char** argv) {
  CLI::App app(k_description, "odbox-backup");
  app.set_version_flag("--version", std::string("odbox-backup ") + k_version);
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the subcommand too
  Flags flags;
  add_global_options(app, flags);

  auto* hot = app.add_subcommand("hot", "Back up while Odoo runs (dump + file store mirror)");
  add_run_options(*hot, flags);
  auto* cold = app.add_subcommand(
      "cold", "Stop Odoo briefly for a consistent backup, purge sessions, restart Odoo");
  add_run_options(*cold, flags);
  add_cold_options(*cold, flags);
  add_marker_option(*cold, flags);
  auto* recover = app.add_subcommand(
      "cold-recover", "Start Odoo again if a killed cold run left it stopped (ExecStopPost=)");
  add_marker_option(*recover, flags);
  auto* verify = app.add_subcommand(
      "verify", "Check from the backup area alone that each backup is complete and restorable");
  verify->add_flag("--deep", flags.verify.deep,
                   "Also re-hash every mirrored file against its SHA-1 name");
  verify->add_flag("--restore-test", flags.verify.restore_test,
                   "Also load each dump into a scratch database (dropped afterwards)");
  auto* restore = app.add_subcommand(
      "restore", "Put a backup back: a new database (or --force over one) and its file store");
  restore->add_option("--target-db", flags.restore.target_db,
                      "Restore under this name (a copy gets a new database.uuid)")
      ->type_name("NEW");
  restore->add_flag("--force", flags.restore.force,
                    "Replace an existing database (Odoo is stopped around the swap)");
  add_marker_option(*restore, flags);
  add_restore_offsite_options(*restore, flags.restore);
  auto* export_cmd = app.add_subcommand(
      "export", "Write a zip of a backup that Odoo's database manager restores");
  export_cmd->add_option("--zip", flags.export_zip.zip, "The zip file to write")
      ->type_name("FILE");
  auto* purge = app.add_subcommand(
      "purge-sessions", "Remove Odoo's session files now, as cold does (stop Odoo first)");
  purge->add_option("--sessions-keep-days", flags.sessions_keep_days,
                    "Keep session files newer than N days (default: purge all)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  auto* status = app.add_subcommand(
      "status", "Last run and last success per database and kind, from runs.jsonl");
  status->add_option("--max-age", flags.status.max_age,
                     "Exit 4 when a database's last success is older (e.g. 26h)")
      ->type_name("DURATION");
  auto* offsite = add_offsite_command(app, flags.offsite);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }

  util::install_termination_handlers();
  util::setup_logging("info");
  try {
    const Config config = build_config(flags);
    try {
      util::setup_logging(config.log_level);
    } catch (const std::invalid_argument& e) {
      throw core::UsageError(e.what());
    }
    const CommonOptions common{.json = flags.json};
    core::Systemctl systemctl(config.tools.systemctl);
    if (hot->parsed()) {
      return run_hot(config, common);
    }
    if (cold->parsed()) {
      return run_cold(config, common, systemctl);
    }
    if (verify->parsed()) {
      return run_verify(config, common, flags.verify);
    }
    if (restore->parsed()) {
      return run_restore(config, flags.restore, systemctl);
    }
    if (export_cmd->parsed()) {
      return run_export(config, flags.export_zip);
    }
    if (purge->parsed()) {
      return run_purge_sessions(config);
    }
    if (status->parsed()) {
      return run_status(config, common, flags.status);
    }
    if (offsite->parsed()) {
      return run_offsite(config, common, flags.offsite);
    }
    return run_cold_recover(config, systemctl);
  } catch (const core::Error& e) {
    if (e.code() == core::ExitCode::restart_failed) {
      spdlog::critical("{}", e.what());
    } else {
      spdlog::error("{}", e.what());
    }
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    spdlog::error("internal error: {} (please report it)", e.what());
    return static_cast<int>(core::ExitCode::failed);
  }
}

} // namespace odbox::app
