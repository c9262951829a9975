#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/config.hpp"

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// The off-site side of one database, from the "offsite" entries of
// runs.jsonl (pushes after hot/cold runs and `offsite push` runs).
struct OffsiteStatus {
  std::string database;
  std::optional<nlohmann::json> last_push;    // its entry, plus "run_kind"
  std::optional<nlohmann::json> last_success; // idem, status ok
  std::optional<double> age_seconds;          // since the last successful push
  std::optional<std::size_t> generations;     // in the repository, when it could be read
};

// `databases` limits the report (empty: every database pushed). Returns
// nothing when runs.jsonl is absent.
std::vector<OffsiteStatus> read_offsite_status(const BackupArea& area,
                                               const std::vector<std::string>& databases);

// Fills in the number of generations per database (one `restic snapshots`);
// when the repository cannot be read, logs a warning and leaves them unknown.
void count_generations(const Config& config, const BackupArea& area,
                       std::vector<OffsiteStatus>& entries);

// The off-site table of `status`, after the backups' table.
std::string format_offsite_status(const std::vector<OffsiteStatus>& entries);
// Entries of `status --json`: {"database", "kind": "offsite", "last_run",
// "last_success", "age_seconds", "generations"}.
nlohmann::json offsite_status_json(const std::vector<OffsiteStatus>& entries);

// For `status --max-age`: logs each database whose last successful push is
// older than `max_age_seconds` (or that never pushed); returns 4 if any, else 0.
int check_offsite_age(const std::vector<OffsiteStatus>& entries, double max_age_seconds,
                      const std::string& max_age_text);

// Prometheus lines for the databases of a push `outcome` (to_json()):
// odbox_backup_offsite_last_success_timestamp_seconds,
// odbox_backup_offsite_bytes_added and odbox_backup_offsite_last_push_ok.
// The last success comes from runs.jsonl, so a failed push keeps the
// timestamp of the one before.
std::string offsite_metrics(const BackupArea& area, const nlohmann::json& outcome);

} // namespace odbox::core
