#pragma once

#include "odbox/app/commands.hpp"
#include "odbox/core/area.hpp"
#include "odbox/core/backup.hpp"
#include "odbox/core/report.hpp"
#include "odbox/core/run_lock.hpp"

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace odbox::app {

using Backups = std::vector<std::unique_ptr<core::DatabaseSteps>>;

// What hot and cold share around their own sequence: the backup area and
// its lock, the run's report, one loop over the databases, and the run's
// record and exit code. Every run that took the lock records itself exactly
// once (runs.jsonl), whatever happens in its sequence.
class BackupRun {
public:
  // Creates the area (0700) and takes its lock (exit 3 when another run
  // holds it, unless config.wait_lock), then removes what a killed run left.
  // Preflight comes before. Throws Error; nothing is recorded then.
  BackupRun(const core::Config& config, const std::string& kind);

  [[nodiscard]] const core::Config& config() const noexcept { return m_config; }
  [[nodiscard]] const core::BackupArea& area() const noexcept { return m_area; }
  [[nodiscard]] core::RunReport& report() noexcept { return m_report; }

  // Calls `work` for each backup that has no outcome yet, in order. A
  // database that fails is logged and recorded, its steps dropped at once
  // (pg_dump stopped, temporary files removed), and the next goes on; an
  // interruption or a failed restart of Odoo ends the run (end()). With
  // After::release the steps of a database are dropped when its work is done.
  enum class After { keep, release };
  void each(Backups& backups, const std::function<void(core::DatabaseSteps&)>& work,
            After after);
  // Ends the run on `error`: logged once (the loudest way for a failed
  // restart of Odoo), recorded for every database without an outcome.
  void end(const std::exception& error);

  // Runs `sequence` (ending the run on whatever escapes it), pushes what it
  // committed off site when offsite.push_after names this kind (the run
  // lock is released for the push), then records the run (runs.jsonl, the
  // metrics file, the record on stdout with --json) and returns its exit
  // code.
  int run(const CommonOptions& common, const std::function<void()>& sequence);

private:
  void push_off_site();

  const core::Config& m_config;
  core::BackupArea m_area;
  core::RunLock m_lock;
  core::RunReport m_report;
};

// The real steps of every configured database, for a run of `kind`.
Backups make_backups(const core::Config& config, const core::BackupArea& area,
                     const core::Tools& tools, const std::string& kind);

} // namespace odbox::app
