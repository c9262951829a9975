#pragma once

#include "odbox/core/config.hpp"
#include "odbox/core/restore.hpp"
#include "odbox/core/service.hpp"

#include <filesystem>
#include <string>

namespace odbox::core {

struct OffsiteRestoreRequest {
  std::string snapshot = "latest"; // "latest" or a snapshot ID (a unique prefix will do)
  std::filesystem::path staging;   // empty: default_staging()
  RestoreRequest restore; // database, target, force: as for a restore from the area
};

// Beside the basedir: /backup -> /backup.offsite-restore.
[[nodiscard]] std::filesystem::path default_staging(const Config& config);

// `restore --from-offsite`: restic restores the generation into the staging
// directory (an area copy), verify checks it, and restore_backup() restores
// from that copy; the staging directory is removed on every path. Throws
// UsageError before anything is touched (a staging directory that overlaps
// the data dir or the backup area, or is not empty; no such generation of
// the database), Error(inconsistent) when the generation does not verify,
// RunError.
RestoreResult restore_from_offsite(const Config& config,
                                   const OffsiteRestoreRequest& request,
                                   ServiceControl& services);

} // namespace odbox::core
