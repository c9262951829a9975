#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/config.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace odbox::core {

struct VerifyOptions {
  bool deep = false;         // re-hash every mirrored file against its SHA-1 name
  bool restore_test = false; // load the dump into a scratch database
  std::string psql = "psql";
  std::string conninfo;
};

// What verify found for one database.
struct VerifyReport {
  std::string database;
  std::vector<std::string> problems; // empty: sound
  std::uint64_t dump_bytes = 0;
  std::uint64_t files_checked = 0;
  std::uint64_t files_hashed = 0;
  bool restore_tested = false;
};

// Checks one database's backup from the area alone (no live Odoo needed):
// manifest, dump present and complete with the recorded SHA-256, every
// referenced file in the mirror with its size; optionally the content of
// every mirrored file and a test restore (the scratch database is dropped
// on every path). Problems are collected, not thrown; throws RunError only
// when the check itself cannot run (e.g. PostgreSQL unreachable for
// --restore-test).
VerifyReport verify_backup(const BackupArea& area, const std::string& database,
                           const VerifyOptions& options);

// The databases that have a manifest in the area.
std::vector<std::string> databases_in_area(const BackupArea& area);

} // namespace odbox::core
