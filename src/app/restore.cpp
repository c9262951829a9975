#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/restore.hpp"
#include "odbox/core/run_lock.hpp"

#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

int run_restore(const Config& config, const RestoreFlags& flags, ServiceControl& services) {
  if (config.databases.size() != 1) {
    throw UsageError("restore takes exactly one --db NAME (the backup to restore)");
  }
  if (!flags.from_offsite.empty()) {
    return run_restore_from_offsite(config, flags, services);
  }
  const BackupArea area(config.basedir);
  std::error_code ec;
  if (!std::filesystem::is_directory(area.root(), ec)) {
    throw UsageError("no backup area at " + area.root().string() + ": check --basedir");
  }
  // No backup may replace the dump while it is being read.
  const RunLock lock(area.lock_file(), "restore", config.wait_lock);
  const auto result = restore_backup(
      config, area,
      RestoreRequest{.database = config.databases.front(),
                     .target = flags.target_db,
                     .force = flags.force},
      services);
  spdlog::info("restored {} as database {} with {} files in {}{}{}", config.databases.front(),
               result.target, result.files,
               (config.data_dir / "filestore" / result.target).string(),
               result.replaced ? " (replaced the previous one)" : "",
               result.new_identity ? ", new database.uuid" : "");
  return 0;
}

} // namespace odbox::app
