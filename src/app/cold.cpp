#include "odbox/app/commands.hpp"
#include "odbox/app/sequences.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/push.hpp"
#include "odbox/core/preflight.hpp"
#include "odbox/core/sessions_aside.hpp"
#include "odbox/util/test_point.hpp"
#include "odbox/util/time.hpp"

#include <CLI/CLI.hpp>
#include <future>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

void add_cold_options(CLI::App& cmd, CommandLine& line) {
  SettingFlags& flags = line.settings;
  add_run_options(cmd, flags);
  cmd.add_flag("--full-downtime", flags.full_downtime,
               "keep Odoo stopped until the dump is finished too");
  add_sessions_keep_days_option(cmd, flags);
  cmd.add_option("--stop-timeout", flags.stop_timeout,
                 "how long Odoo may take to stop (" + range_help(k_stop_timeout_range) +
                     "; default 120)")
      ->type_name("SECONDS")
      ->check(in_range(k_stop_timeout_range));
  cmd.add_option("--start-timeout", flags.start_timeout,
                 "how long Odoo may take to start (" + range_help(k_start_timeout_range) +
                     "; default 120)")
      ->type_name("SECONDS")
      ->check(in_range(k_start_timeout_range));
  add_marker_option(cmd, flags);
}

void add_cold_recover_options(CLI::App& cmd, CommandLine& line) {
  add_marker_option(cmd, line.settings);
}

namespace {

void for_all(Backups& backups, void (DatabaseSteps::*step)()) {
  for (auto& backup : backups) {
    ((*backup).*step)();
  }
  throw_if_interrupted();
}

// Stops Odoo if it runs; a cold run never starts an Odoo that was stopped.
void stop_odoo(OdooStoppedGuard& odoo, bool was_active, const Config& config) {
  if (!was_active) {
    spdlog::info("{} is not running: it stays stopped", config.odoo_service);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  odoo.stop(config.cold.stop_timeout);
  spdlog::info(
      "{} stopped in {}", config.odoo_service,
      util::format_duration(std::chrono::duration<double>(util::seconds_since(start))));
  throw_if_interrupted();
}

// Starts Odoo if this run stopped it: the downtime ends here. Throws
// Error(restart_failed) if it does not start.
void start_odoo(OdooStoppedGuard& odoo, bool was_active, RunReport& report) {
  if (!was_active) {
    return;
  }
  try {
    odoo.restart();
  } catch (const Error&) {
    report.set_downtime(odoo.downtime_seconds());
    throw;
  }
  report.set_downtime(odoo.downtime_seconds());
  spdlog::info(
      "Odoo was down for {}",
      util::format_duration(std::chrono::duration<double>(odoo.downtime_seconds())));
}

// The delta rsync needs Odoo stopped, the file lists only the snapshot: both
// at once. Unlisted, the rsync is quicker; the check and the prune then stat
// each file, after Odoo is back.
void sync_beside_file_lists(Backups& backups) {
  auto syncs = std::async(std::launch::async, [&] {
    for (auto& backup : backups) {
      backup->sync(/*listed=*/false);
    }
  });
  for_all(backups,
          &DatabaseSteps::read_file_list); // a throw: ~future waits for the rsyncs
  syncs.get();
}

// The part of the cold sequence that needs Odoo stopped, up to its restart
// (without --full-downtime) and to the start of the dumps, which pg_dump
// takes from the snapshots while Odoo serves users: started earlier, they
// would slow down the delta rsync that Odoo waits for.
void stopped_window(OdooStoppedGuard& odoo, bool was_active, BackupRun& run,
                    SessionsCleanup& sessions, Backups& backups) {
  const Config& config = run.config();
  stop_odoo(odoo, was_active, config);
  util::test_point("cold.odoo_stopped");
  sessions.while_stopped();
  util::test_point("cold.sessions_done");
  for_all(backups, &DatabaseSteps::open_snapshot);
  if (config.cold.full_downtime) {
    for_all(backups, &DatabaseSteps::start_dump);
  }
  sync_beside_file_lists(backups);
  if (!config.cold.full_downtime) {
    start_odoo(odoo, was_active, run.report());
    util::test_point("cold.odoo_started");
    sessions.after_restart();
    for_all(backups, &DatabaseSteps::start_dump);
  }
}

} // namespace

void cold_sequence(BackupRun& run, ServiceControl& services, SessionsCleanup& sessions,
                   Backups& backups) {
  const Config& config = run.config();
  OdooStoppedGuard odoo(services, config.odoo_service, config.cold.marker_dir,
                        config.cold.start_timeout);
  const bool was_active = services.is_active(config.odoo_service);
  try {
    for_all(backups, &DatabaseSteps::presync); // Odoo runs: most bytes move now
    sessions.before_stop();
    stopped_window(odoo, was_active, run, sessions, backups);
    run.each(
        backups, [](DatabaseSteps& backup) { backup.settle(); }, BackupRun::After::keep);
    if (config.cold.full_downtime && odoo.stopped()) {
      start_odoo(odoo, was_active, run.report());
      sessions.after_restart();
    }
  } catch (const std::exception& e) {
    run.end(e);
    backups.clear(); // pg_dump stopped, temporary files removed
  }
  // Odoo first, whatever happened: a failed start outranks the failure
  // that led here.
  try {
    if (odoo.stopped()) {
      start_odoo(odoo, was_active, run.report());
      sessions.after_restart(); // what was moved aside is deleted now
    }
  } catch (const Error& e) {
    run.end(e);
    backups.clear();
  }
  run.report().set_sessions(sessions.finish());
  run.each(
      backups,
      [&](DatabaseSteps& backup) {
        throw_if_interrupted(); // taken while finish() waited for the session purge
        run.report().committed(backup.commit(run.report().facts()));
      },
      BackupRun::After::release);
}

int run_cold(const Config& config, const CommonOptions& common,
             ServiceControl& services) {
  const Tools tools = preflight(config, RunKind::cold);
  offsite_preflight(config, "cold");
  if (!services.exists(config.odoo_service)) {
    throw UsageError(
        "service " + config.odoo_service +
        " is not known to systemd: check --odoo-service (systemctl list-units "
        "'odoo*')");
  }
  BackupRun run(config, "cold");
  Backups backups = make_backups(config, run.area(), tools, "cold");
  const auto sessions = make_sessions_cleanup(config);
  return run.run(common, [&] { cold_sequence(run, services, *sessions, backups); });
}

namespace {

// A run killed between its two renames left no sessions directory: Odoo
// gets one like the old, whatever else fails (Odoo makes its own otherwise).
void restore_sessions_dir_before_start(const Config& config) {
  if (!config.sessions_dir && config.data_dir.empty()) {
    return;
  }
  try {
    (void)restore_sessions_dir(config.sessions());
  } catch (const std::exception& e) {
    spdlog::warn("sessions: {}; Odoo makes its own", e.what());
  }
}

} // namespace

int run_cold_recover(const Config& config, ServiceControl& services) {
  (void)require_program(config.tools.systemctl, "--systemctl", "systemd");
  restore_sessions_dir_before_start(config);
  const int started =
      recover_stopped_units(services, config.cold.marker_dir, config.cold.start_timeout);
  if (started == 0) {
    spdlog::info("nothing to recover: no cold run left Odoo stopped");
  }
  return 0;
}

} // namespace odbox::app
