#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/config.hpp"
#include "odbox/core/offsite/restic.hpp"
#include "odbox/core/verify.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace odbox::core {

// What `offsite forget` did to one database and kind.
struct ForgetGroup {
  std::string database;
  std::string kind;
  std::size_t kept = 0;
  std::size_t removed = 0;
};

struct ForgetResult {
  std::vector<ForgetGroup> groups;
  bool pruned = false;
  [[nodiscard]] nlohmann::json to_json() const;
};

// Applies settings().keep to the generations of each database and kind on
// its own (restic forget), then prunes once if any was forgotten. Stale
// locks are removed first. `databases` limits it (empty: every database in
// the repository). Throws RunError naming restic's failure (an append-only
// server refuses: the message says to run it from a trusted machine).
ForgetResult forget_generations(const Restic& restic,
                                const std::vector<std::string>& databases);

struct OffsiteCheckOptions {
  std::string read_data_subset;       // restic check --read-data-subset (empty: none)
  bool restore_test = false;          // also load each restored dump
  std::vector<std::string> databases; // empty: every database in the repository
};

struct OffsiteCheckResult {
  std::vector<std::string> problems;  // empty: sound
  std::vector<VerifyReport> reports;  // per database, of its newest generation
  std::vector<std::string> snapshots; // the snapshots restored, per report
  [[nodiscard]] nlohmann::json to_json() const;
};

// `restic check`, then the newest generation of each database restored
// into a scratch directory and checked by verify --deep (and loaded with
// restore_test). Problems are collected; throws RunError when a check
// cannot run at all (repository unreachable, wrong password).
OffsiteCheckResult check_offsite(const Config& config, const BackupArea& area,
                                 const Restic& restic,
                                 const OffsiteCheckOptions& options);

// `restic restore SNAPSHOT --target DIR` (DIR/odoo/ is then an area).
void restore_generation(const Restic& restic, const std::string& snapshot,
                        const std::filesystem::path& target);

} // namespace odbox::core
