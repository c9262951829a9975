#include "odbox/app/commands.hpp"
#include "odbox/core/backup.hpp"
#include "odbox/core/offsite/push.hpp"
#include "odbox/core/report.hpp"
#include "odbox/core/run_lock.hpp"

#include <iostream>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

int run_hot(const Config& config, const CommonOptions& common) {
  const Tools tools = preflight(config);
  offsite_preflight(config, "hot");
  const BackupArea area(config.basedir);
  area.prepare();
  RunLock lock(area.lock_file(), "hot", config.wait_lock);
  area.remove_stale_temporaries();

  RunReport report(area, "hot");
  std::vector<Manifest> committed;
  int signal_code = 0;
  for (const auto& db : config.databases) {
    try {
      spdlog::info("{}: hot backup into {}", db, area.root().string());
      DatabaseBackup backup(config, area, tools, db, "hot");
      backup.start();
      backup.sync();
      committed.push_back(backup.finish());
      report.succeeded(committed.back());
    } catch (const Interrupted& e) {
      report.failed_all(config.databases, e.what());
      signal_code = static_cast<int>(e.code());
      break;
    } catch (const std::exception& e) {
      spdlog::error("{}: {}", db, e.what());
      report.failed(db, e.what());
    }
  }
  int code = signal_code != 0 ? signal_code : report.exit_code();
  // Off site: what this run committed (the run lock is released inside).
  if (signal_code == 0 && !committed.empty() && pushes_after(config, "hot")) {
    const auto pushed = push_after_run(config, area, committed, lock);
    report.set_offsite(pushed.to_json());
    code = pushed.exit_code(code);
  }
  const auto record = report.finish(code, config.metrics_file);
  if (common.json) {
    std::cout << record.dump(2) << std::endl;
  }
  if (signal_code != 0) {
    spdlog::error("interrupted: the previous backups are intact");
  }
  return code;
}

} // namespace odbox::app
