#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/config.hpp"
#include "odbox/core/service.hpp"

#include <string>

namespace odbox::core {

struct RestoreRequest {
  std::string database; // the backup to restore
  std::string target;   // the database to create (default: database)
  bool force = false;   // replace an existing target (Odoo stopped around it)
  // The area is a staged copy (restore --from-offsite): its mirror may be
  // moved into place instead of copied when on the data dir's file system.
  bool disposable_area = false;
};

struct RestoreResult {
  std::string target;
  std::uint64_t files = 0;
  bool replaced = false;
  bool new_identity = false; // database.uuid / secret regenerated (a copy)
};

// Puts a backup back: loads the dump (psql -v ON_ERROR_STOP=1) into a
// temporary database, copies the file-store mirror to a temporary directory
// beside <data_dir>/filestore/<target>, gives a copy a new database.uuid and
// database.secret, then renames both into place. On failure neither the
// target database nor its file store is left half-restored. Replacing an
// existing target needs `force`, and stops Odoo around the swap with the
// guarantees of cold (restarted on every path, exit 5 if it cannot be).
// Throws UsageError (refusals, bad names) or RunError.
RestoreResult restore_backup(const Config& config, const BackupArea& area,
                             const RestoreRequest& request, ServiceControl& services);

} // namespace odbox::core
