#pragma once

#include "odbox/core/area.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace odbox::core {

struct ExportResult {
  std::uint64_t bytes = 0;
  std::uint64_t files = 0;
};

// Writes a zip that Odoo's database manager restores: dump.sql,
// manifest.json (Odoo's fields) and filestore/<xx>/<sha1>, streamed from the
// backup area into `zip` (atomically: a temporary file renamed at the end).
// Throws UsageError when the area has no backup of `database`, RunError on
// I/O errors.
ExportResult export_odoo_zip(const BackupArea& area, const std::string& database,
                             const std::filesystem::path& zip);

} // namespace odbox::core
