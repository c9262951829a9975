#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/config.hpp"
#include "odbox/core/dump.hpp"
#include "odbox/core/filestore.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/preflight.hpp"
#include "odbox/core/run_facts.hpp"
#include "odbox/core/snapshot.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace odbox::core {

// One database's backup, in the steps that hot and cold sequence
// differently. The steps, in the order a run calls them:
//   presync()        copy the file store while Odoo runs (cold)
//   open_snapshot()  the snapshot transaction: every table locked, the
//                    snapshot exported (held until settle())
//   start_dump()     pg_dump --snapshot streaming into a temporary file
//   read_file_list() the referenced-file list, read in the snapshot
//   sync(listed)     copy the file store (no deletion); may run in another
//                    thread beside read_file_list() or start_dump(). Listed,
//                    rsync reports every file, which spares the check and
//                    the prune a stat per file, at some cost to the rsync
//   settle()         wait for pg_dump, end the snapshot, check the
//                    referenced files, plan the prune; writes nothing
//   commit(facts)    the file list, the dump and the manifest (written once,
//                    with the run's facts) committed together, then the prune
// Cold stops Odoo between presync() and open_snapshot() and starts it again
// after sync() (or, with --full-downtime, after settle()).
// Until commit() the previous backup is untouched; destroying an unfinished
// backup stops pg_dump and removes its temporary files. Every step throws
// RunError (Interrupted on a termination signal).
// An interface, so that the order in which hot and cold call the steps, and
// what they do when one fails, can be tested without PostgreSQL.
class DatabaseSteps {
public:
  virtual ~DatabaseSteps() = default;
  [[nodiscard]] virtual const std::string& database() const = 0;
  virtual void presync() = 0;
  virtual void open_snapshot() = 0;
  virtual void start_dump() = 0;
  virtual void read_file_list() = 0;
  virtual void sync(bool listed) = 0;
  virtual void settle() = 0;
  // Returns the committed manifest; manifest.consistent() tells whether
  // referenced files are missing from the mirror.
  virtual Manifest commit(const RunFacts& facts) = 0;
};

// The real steps, against PostgreSQL, pg_dump, rsync and the backup area.
class DatabaseBackup final : public DatabaseSteps {
public:
  DatabaseBackup(const Config& config, const BackupArea& area, const Tools& tools,
                 std::string database, std::string kind);
  ~DatabaseBackup() override;
  DatabaseBackup(const DatabaseBackup&) = delete;
  DatabaseBackup& operator=(const DatabaseBackup&) = delete;

  [[nodiscard]] const std::string& database() const override { return m_database; }
  void presync() override;
  void open_snapshot() override;
  void start_dump() override;
  void read_file_list() override;
  void sync(bool listed) override;
  void settle() override;
  Manifest commit(const RunFacts& facts) override;

private:
  void begin(); // the backup of this database starts (started_at)
  void timed(const std::string& phase, const std::function<void()>& step);
  [[nodiscard]] MirrorListing* listing() { return m_listing ? &*m_listing : nullptr; }
  void wait_for_dump();
  void check_mirror();

  const Config& m_config;
  const BackupArea& m_area;
  const Tools& m_tools;
  std::string m_database;
  Manifest m_manifest;       // filled step by step, written once by commit()
  std::mutex m_phases_mutex; // sync() may time its phase in another thread
  std::unique_ptr<SnapshotTransaction> m_snapshot;
  std::unique_ptr<DumpStream> m_dump;
  std::optional<util::AtomicFile> m_references;
  // What a listed sync's rsync reported, for the check and the prune; empty
  // when the sync was not listed (they stat each file then).
  std::optional<MirrorListing> m_listing;
  std::optional<PrunePlan> m_prune; // settled, applied after the commit
};

} // namespace odbox::core
