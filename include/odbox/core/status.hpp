#pragma once

#include "odbox/core/area.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// The last run and last success of one database and kind, from runs.jsonl
// and the manifests.
struct StatusEntry {
  std::string database;
  std::string kind;
  std::optional<nlohmann::json> last_run; // the run record's database entry + run fields
  std::optional<nlohmann::json> last_success; // idem, status ok or inconsistent
  std::optional<double> age_seconds;          // since the last success
};

// Reads the area (runs.jsonl streamed line by line). `databases` limits the
// report (empty: every database seen). Throws RunError if the area is missing.
std::vector<StatusEntry> read_status(const BackupArea& area,
                                     const std::vector<std::string>& databases);

// Human-readable table.
std::string format_status(const std::vector<StatusEntry>& entries);
nlohmann::json status_json(const std::vector<StatusEntry>& entries);

} // namespace odbox::core
