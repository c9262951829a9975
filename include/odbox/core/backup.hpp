#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/config.hpp"
#include "odbox/core/dump.hpp"
#include "odbox/core/filestore.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/preflight.hpp"
#include "odbox/core/snapshot.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace odbox::core {

// One database's backup, in the steps that hot and cold sequence
// differently (cold stops Odoo between presync() and open_snapshot(), and
// starts it again before start_dump()).
//   presync()        copy the file store while Odoo runs (cold)
//   start()          open_snapshot(), start_dump(), read_file_list()
//   open_snapshot()  the snapshot transaction: every table locked, the
//                    snapshot exported (held until finish())
//   start_dump()     pg_dump --snapshot streaming into the area
//   read_file_list() the referenced-file list, read in the snapshot
//   sync(listed)     copy the file store (no deletion); may run in another
//                    thread beside read_file_list() or start_dump(). Listed,
//                    rsync reports every file, which spares the check and
//                    the prune a stat per file, at some cost to the rsync
//   finish()         wait for pg_dump, check the referenced files, commit the
//                    dump, the file list and the manifest, prune the mirror
// Until finish() commits, the previous backup is untouched; destroying an
// unfinished DatabaseBackup stops pg_dump and removes its temporary files.
class DatabaseBackup {
public:
  DatabaseBackup(const Config& config, const BackupArea& area, const Tools& tools,
                 std::string database, std::string kind);
  ~DatabaseBackup();
  DatabaseBackup(const DatabaseBackup&) = delete;
  DatabaseBackup& operator=(const DatabaseBackup&) = delete;

  void presync();
  void start();
  void open_snapshot();
  void start_dump();
  void read_file_list();
  void sync(bool listed = true);
  // Throws RunError if the dump failed. The returned manifest is written;
  // manifest.consistent() tells whether referenced files are missing.
  Manifest finish();

  [[nodiscard]] const std::string& database() const noexcept { return m_database; }
  [[nodiscard]] Manifest& manifest() noexcept { return m_manifest; }

private:
  void timed(const std::string& phase, const std::function<void()>& step);
  [[nodiscard]] std::filesystem::path live_store() const;

  const Config& m_config;
  const BackupArea& m_area;
  const Tools& m_tools;
  std::string m_database;
  Manifest m_manifest;
  std::mutex m_phases_mutex;  // sync() may time its phase in another thread
  std::unique_ptr<SnapshotTransaction> m_snapshot;
  std::unique_ptr<DumpStream> m_dump;
  std::optional<util::AtomicFile> m_references;
  // What a listed sync's rsync reported, for the check and the prune; empty
  // when the sync was not listed (they stat each file then).
  std::optional<MirrorListing> m_listing;
  [[nodiscard]] MirrorListing* listing() { return m_listing ? &*m_listing : nullptr; }
};

} // namespace odbox::core
