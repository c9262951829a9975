#include "odbox/core/export.hpp"

#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/run_lock.hpp"
#include "odbox/util/time.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

void add_export_options(CLI::App& cmd, CommandLine& line) {
  cmd.add_option("--zip", line.export_zip.zip, "the zip file to write")
      ->type_name("FILE");
}

int run_export(const Config& config, const ExportFlags& flags) {
  if (config.databases.size() != 1) {
    throw UsageError("export takes exactly one --db NAME");
  }
  if (!flags.zip) {
    throw UsageError("export needs --zip FILE (where to write the archive)");
  }
  validate_database_name(config.databases.front());
  const BackupArea area(config.basedir);
  area.require_existing();
  const auto zip = std::filesystem::absolute(*flags.zip);
  std::error_code ec;
  if (!std::filesystem::is_directory(zip.parent_path(), ec)) {
    throw UsageError("cannot write " + zip.string() + ": " + zip.parent_path().string() +
                     " is not a directory");
  }
  const RunLock lock(area.lock_file(), "export", config.wait_lock);
  const auto result = export_odoo_zip(area, config.databases.front(), zip);
  spdlog::info("wrote {} ({}, dump.sql + manifest.json + {} file-store files)",
               zip.string(), util::format_bytes(result.bytes), result.files);
  return 0;
}

} // namespace odbox::app
