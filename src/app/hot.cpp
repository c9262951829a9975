#include "odbox/app/commands.hpp"
#include "odbox/core/backup.hpp"
#include "odbox/core/report.hpp"
#include "odbox/core/run_lock.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

void add_hot_options(CLI::App& cmd, CommandLine& line) {
  add_run_options(cmd, line.settings);
}

int run_hot(const Config& config, const CommonOptions& common) {
  const Tools tools = preflight(config, RunKind::hot);
  const BackupArea area(config.basedir);
  area.prepare();
  const RunLock lock(area.lock_file(), "hot", config.wait_lock);
  area.remove_stale_temporaries();

  RunReport report(area, "hot");
  int signal_code = 0;
  for (const auto& db : config.databases) {
    try {
      spdlog::info("{}: hot backup into {}", db, area.root().string());
      DatabaseBackup backup(config, area, tools, db, "hot");
      backup.start();
      backup.sync();
      report.succeeded(backup.finish());
    } catch (const Interrupted& e) {
      report.failed_all(config.databases, e.what());
      signal_code = static_cast<int>(e.code());
      break;
    } catch (const std::exception& e) {
      spdlog::error("{}: {}", db, e.what());
      report.failed(db, e.what());
    }
  }
  const int code = signal_code != 0 ? signal_code : report.exit_code();
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
