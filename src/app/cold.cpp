#include "odbox/app/commands.hpp"
#include "odbox/core/backup.hpp"
#include "odbox/core/offsite/push.hpp"
#include "odbox/core/report.hpp"
#include "odbox/core/run_lock.hpp"
#include "odbox/core/session_purge.hpp"
#include "odbox/util/time.hpp"

#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

namespace {

// The part of a cold run during which Odoo may be stopped. Odoo is started
// again on every path out of here (restart() or the guard's destructor).
void stopped_phase(const Config& config, std::vector<std::unique_ptr<DatabaseBackup>>& backups,
                   OdooStoppedGuard& guard, bool was_active, RunReport& report) {
  for (auto& b : backups) {
    b->presync();
  }
  if (was_active) {
    const auto start = std::chrono::steady_clock::now();
    guard.stop(config.cold.stop_timeout);
    spdlog::info("{} stopped in {}", config.odoo_service,
                 util::format_duration(std::chrono::duration<double>(util::seconds_since(start))));
  } else {
    spdlog::info("{} is not running: it stays stopped", config.odoo_service);
  }
  throw_if_interrupted();

  PurgeOptions purge{.dir = config.sessions(), .keep_newer = std::nullopt};
  if (config.cold.sessions_keep_days) {
    purge.keep_newer = std::chrono::seconds(*config.cold.sessions_keep_days * 86400LL);
  }
  const auto purge_start = std::chrono::steady_clock::now();
  const PurgeResult purged = purge_sessions(purge);
  const double purge_seconds = util::seconds_since(purge_start);
  spdlog::info("purged {} session files ({}) from {} in {}", purged.files_removed,
               util::format_bytes(purged.bytes_removed), purge.dir.string(),
               util::format_duration(std::chrono::duration<double>(purge_seconds)));
  report.set_sessions(purged.files_removed, purged.bytes_removed);
  for (auto& b : backups) {
    b->manifest().sessions_removed = purged.files_removed;
    b->manifest().sessions_bytes_removed = purged.bytes_removed;
    b->manifest().phases["purge"] = purge_seconds;
  }
  throw_if_interrupted();

  for (auto& b : backups) {
    b->open_snapshot();
  }
  throw_if_interrupted();
  if (config.cold.full_downtime) {
    for (auto& b : backups) {
      b->start_dump();
    }
  }
  // The delta rsync needs Odoo stopped, the file lists only the snapshot:
  // both at once. pg_dump needs neither and starts after Odoo (run_cold),
  // so that it does not slow down the rsync that Odoo waits for. Unlisted,
  // the rsync is quicker; the check and the prune then stat each file, after
  // Odoo is back.
  auto syncs = std::async(std::launch::async, [&] {
    for (auto& b : backups) {
      b->sync(config.cold.full_downtime);
    }
  });
  for (auto& b : backups) {
    b->read_file_list();  // on a throw, syncs' destructor waits for the rsyncs
  }
  syncs.get();
}

} // namespace

int run_cold(const Config& config, const CommonOptions& common, ServiceControl& services) {
  const Tools tools = preflight(config);
  offsite_preflight(config, "cold");
  if (!services.exists(config.odoo_service)) {
    throw UsageError("service " + config.odoo_service +
                     " is not known to systemd: check --odoo-service (systemctl list-units "
                     "'odoo*')");
  }
  const BackupArea area(config.basedir);
  area.prepare();
  RunLock lock(area.lock_file(), "cold", config.wait_lock);
  area.remove_stale_temporaries();

  RunReport report(area, "cold");
  const bool was_active = services.is_active(config.odoo_service);
  std::vector<std::unique_ptr<DatabaseBackup>> backups;
  for (const auto& db : config.databases) {
    backups.push_back(std::make_unique<DatabaseBackup>(config, area, tools, db, "cold"));
  }
  OdooStoppedGuard guard(services, config.odoo_service, config.cold.marker_dir,
                         config.cold.start_timeout);

  const auto record_and_exit = [&](int code) {
    const auto record = report.finish(code, config.metrics_file);
    if (common.json) {
      std::cout << record.dump(2) << std::endl;
    }
    return code;
  };

  try {
    stopped_phase(config, backups, guard, was_active, report);
    if (!config.cold.full_downtime) {
      guard.restart();
    }
    for (auto& b : backups) {
      b->start_dump();  // from the snapshot taken while Odoo was stopped
    }
  } catch (const std::exception& e) {
    // Odoo first: a failed restart outranks the failure that led here.
    std::optional<Error> restart_error;
    try {
      guard.restart();
    } catch (const Error& failed_restart) {
      restart_error = failed_restart;
    }
    backups.clear();  // stop the dumps, drop their temporary files
    if (was_active) {
      report.set_downtime(guard.downtime_seconds());
    }
    report.failed_all(config.databases, e.what());
    if (restart_error) {
      record_and_exit(static_cast<int>(restart_error->code()));
      throw *restart_error;
    }
    const auto* error = dynamic_cast<const Error*>(&e);
    record_and_exit(static_cast<int>(error != nullptr ? error->code() : ExitCode::failed));
    throw;
  }

  int signal_code = 0;
  std::vector<Manifest> committed;
  for (auto& b : backups) {
    if (was_active && !config.cold.full_downtime) {
      b->manifest().downtime_seconds = guard.downtime_seconds();
    }
    try {
      committed.push_back(b->finish());
      report.succeeded(committed.back());
    } catch (const Interrupted& e) {
      signal_code = static_cast<int>(e.code());
      report.failed_all(config.databases, e.what());
      break;
    } catch (const std::exception& e) {
      spdlog::error("{}: {}", b->database(), e.what());
      report.failed(b->database(), e.what());
    }
  }
  backups.clear();
  if (config.cold.full_downtime) {
    try {
      guard.restart();
    } catch (const Error& restart_error) {
      report.set_downtime(guard.downtime_seconds());
      record_and_exit(static_cast<int>(restart_error.code()));
      throw;
    }
    for (const auto& db : config.databases) {
      if (auto manifest = read_manifest(area.manifest(db)); manifest && was_active) {
        manifest->downtime_seconds = guard.downtime_seconds();
        write_manifest(area.manifest(db), *manifest);
      }
    }
  }
  if (was_active) {
    report.set_downtime(guard.downtime_seconds());
    spdlog::info("Odoo was down for {}",
                 util::format_duration(std::chrono::duration<double>(guard.downtime_seconds())));
  }
  int code = signal_code != 0 ? signal_code : report.exit_code();
  // Off site: what this run committed, Odoo running again (the run lock is
  // released inside).
  if (signal_code == 0 && !committed.empty() && pushes_after(config, "cold")) {
    const auto pushed = push_after_run(config, area, committed, lock);
    report.set_offsite(pushed.to_json());
    code = pushed.exit_code(code);
  }
  return record_and_exit(code);
}

int run_cold_recover(const Config& config, ServiceControl& services) {
  const int started = recover_stopped_units(services, config.cold.marker_dir,
                                            config.cold.start_timeout);
  if (started == 0) {
    spdlog::info("nothing to recover: no cold run left Odoo stopped");
  }
  return 0;
}

} // namespace odbox::app
