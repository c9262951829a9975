#include "odbox/core/export.hpp"

#include "odbox/core/config.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/util/atomic_file.hpp"
#include "odbox/util/progress.hpp"
#include "odbox/util/zip_writer.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

// manifest.json as Odoo's dump_db() writes it.
nlohmann::json odoo_manifest(const Manifest& m) {
  nlohmann::json version_info = nlohmann::json::array();
  int major = 0;
  int minor = 0;
  if (std::sscanf(m.odoo_series.c_str(), "%d.%d", &major, &minor) == 2) {
    version_info = {major, minor, 0, "final", 0, ""};
  }
  int pg_major = 0;
  std::sscanf(m.server_version.c_str(), "%d", &pg_major);
  return {{"odoo_dump", "1"},
          {"db_name", m.database},
          {"version", m.odoo_series},
          {"version_info", version_info},
          {"major_version", m.odoo_series},
          {"pg_version", std::to_string(pg_major) + ".0"},
          {"modules", m.odoo_modules}};
}

// The zip's dump.sql is always the plain SQL Odoo loads: a compressed dump
// is decompressed into the zip as it is written.
void add_dump(util::ZipWriter& writer, const std::filesystem::path& dump,
              DumpCompression::Method method) {
  if (method == DumpCompression::Method::none) {
    writer.add_file("dump.sql", dump.string());
    return;
  }
  std::error_code ec;
  const auto written = std::filesystem::last_write_time(dump, ec);
  const auto mtime =
      ec ? std::time(nullptr)
         : std::chrono::system_clock::to_time_t(std::chrono::file_clock::to_sys(written));
  writer.add_stream("dump.sql", mtime,
                    [&](const auto& sink) { (void)read_dump_file(dump, method, sink); });
}

} // namespace

ExportResult export_odoo_zip(const BackupArea& area, const std::string& database,
                             const std::filesystem::path& zip) {
  validate_database_name(database);
  const auto manifest = read_manifest(area.manifest(database));
  if (!manifest) {
    throw UsageError("no backup of '" + database + "' in " + area.root().string() +
                     ": check --db and --basedir");
  }
  auto file = util::AtomicFile::create(zip, {.drop_cache = true, .mode = 0600});
  if (!file) {
    throw RunError("cannot create " + zip.string() + ": " + file.error().message());
  }
  util::Progress progress("export " + database);
  util::ZipWriter writer([&](const void* data, std::size_t size) -> std::string {
    throw_if_interrupted();
    if (auto ok = file->write(data, size); !ok) {
      return ok.error().message();
    }
    progress.update(file->size());
    return {};
  });
  ExportResult result;
  try {
    add_dump(writer, area.root() / manifest->dump_file,
             compression_method(manifest->dump_compression));
    writer.add_bytes("manifest.json", odoo_manifest(*manifest).dump(4));
    const auto mirror = area.mirror(database);
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(mirror, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
        files.push_back(it->path().lexically_relative(mirror));
      }
    }
    std::ranges::sort(files);
    for (const auto& rel : files) {
      writer.add_file("filestore/" + rel.string(), (mirror / rel).string());
      ++result.files;
    }
    writer.finish();
  } catch (const Interrupted&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw RunError(std::string("export failed: ") + e.what());
  }
  progress.finish();
  if (auto ok = file->commit(); !ok) {
    throw RunError("cannot commit " + zip.string() + ": " + ok.error().message());
  }
  result.bytes = writer.bytes_written();
  return result;
}

} // namespace odbox::core
