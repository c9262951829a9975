#include "odbox/app/backup_run.hpp"

#include "odbox/core/offsite/push.hpp"
#include "odbox/util/signals.hpp"

#include <iostream>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

namespace {

BackupArea prepared_area(const Config& config) {
  BackupArea area(config.basedir);
  area.prepare();
  return area;
}

} // namespace

BackupRun::BackupRun(const Config& config, const std::string& kind)
    : m_config(config), m_area(prepared_area(config)),
      m_lock(m_area.lock_file(), kind, config.wait_lock), m_report(m_area, kind) {
  m_area.remove_stale_temporaries();
}

void BackupRun::each(Backups& backups, const std::function<void(DatabaseSteps&)>& work,
                     After after) {
  for (auto& backup : backups) {
    if (!backup || m_report.has_outcome(backup->database())) {
      continue;
    }
    const std::string db = backup->database();
    try {
      work(*backup);
      if (after == After::release) {
        backup.reset();
      }
      continue;
    } catch (const Interrupted& e) {
      end(e);
    } catch (const Error& e) {
      if (e.code() == ExitCode::restart_failed) {
        end(e);
      } else {
        spdlog::error("{}: {}", db, e.what());
        m_report.failed(db, e.what());
      }
    } catch (const std::exception& e) {
      spdlog::error("{}: internal error: {} (please report it)", db, e.what());
      m_report.failed(db, std::string("internal error: ") + e.what());
    }
    backup.reset();
  }
}

void BackupRun::end(const std::exception& error) {
  const auto* known = dynamic_cast<const Error*>(&error);
  if (known == nullptr) {
    spdlog::error("internal error: {} (please report it)", error.what());
    m_report.ended(m_config.databases,
                   RunError(std::string("internal error: ") + error.what()));
    return;
  }
  if (known->code() == ExitCode::restart_failed) {
    spdlog::critical("{}", known->what());
  } else if (dynamic_cast<const Interrupted*>(known) != nullptr) {
    spdlog::error("{}: the previous backups are intact", known->what());
  } else {
    spdlog::error("{}", known->what());
  }
  m_report.ended(m_config.databases, *known);
}

int BackupRun::run(const CommonOptions& common, const std::function<void()>& sequence) {
  try {
    sequence();
  } catch (const std::exception& e) {
    end(e);
  }
  // A signal that came after the last step that looks for one (the last
  // prune, say) ends the run all the same, with 128+N: what it committed stays.
  if (const int sig = util::pending_signal(); sig != 0 && !m_report.interrupted()) {
    spdlog::error("interrupted by signal {} at the end of the run: the backups it "
                  "committed stay",
                  sig);
    m_report.ended(m_config.databases, Interrupted(sig));
  }
  push_off_site();
  const int code = m_report.finish(m_config.metrics_file);
  if (common.json) {
    std::cout << m_report.record().dump(2) << std::endl;
  }
  return code;
}

void BackupRun::push_off_site() {
  // Never after an interruption: the run is to end now. A run that wrote
  // nothing has nothing new to push: the area's backup is off site already.
  const auto committed = m_report.committed_manifests();
  if (m_report.interrupted() || committed.empty() ||
      !pushes_after(m_config, m_report.kind())) {
    return;
  }
  m_report.set_offsite(push_after_run(m_config, m_area, committed, m_lock));
}

Backups make_backups(const Config& config, const BackupArea& area, const Tools& tools,
                     const std::string& kind) {
  Backups backups;
  for (const auto& db : config.databases) {
    backups.push_back(std::make_unique<DatabaseBackup>(config, area, tools, db, kind));
  }
  return backups;
}

} // namespace odbox::app
