#include "odbox/core/offsite/push.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/view.hpp"
#include "odbox/util/digest.hpp"
#include "odbox/util/time.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

using Clock = std::chrono::steady_clock;

struct PreparedPush {
  std::string database;
  std::filesystem::path dir;
  Manifest manifest;
  std::string manifest_sha256;
};

DatabasePush outcome_for(const std::string& database, const std::string& status,
                         const std::string& error) {
  DatabasePush d;
  d.database = database;
  d.status = status;
  d.error = error;
  d.finished_at = util::rfc3339(std::chrono::system_clock::now());
  return d;
}

// Databases of `databases` without an outcome yet get this one.
void settle_rest(OffsitePushOutcome& outcome, const std::vector<std::string>& databases,
                 const std::string& status, const std::string& error) {
  for (const auto& db : databases) {
    const bool known = std::ranges::any_of(
        outcome.databases, [&](const DatabasePush& d) { return d.database == db; });
    if (!known) {
      if (status == "failed") {
        spdlog::error("{}: off-site push failed: {}", db, error);
      } else {
        spdlog::warn("{}: off-site push {}: {}", db, status, error);
      }
      outcome.databases.push_back(outcome_for(db, status, error));
    }
  }
}

// Under the run lock: each database's view brought up to date with its
// committed backup. A database whose view fails gets a failed outcome.
std::vector<PreparedPush> prepare_views(const BackupArea& area,
                                        const std::vector<std::string>& databases,
                                        OffsitePushOutcome& outcome) {
  const auto start = Clock::now();
  std::vector<PreparedPush> prepared;
  for (const auto& db : databases) {
    try {
      const auto manifest = read_manifest(area.manifest(db));
      if (!manifest) {
        throw RunError("no committed backup of " + db + " in " + area.root().string());
      }
      PushView view(area, db);
      const ViewStats stats = view.sync(*manifest);
      const auto linked_manifest = view.dir() / "odoo" / area.manifest(db).filename();
      prepared.push_back(
          {db, view.dir(), *manifest,
           util::file_digest(linked_manifest.string(), util::Digest::Kind::sha256)});
      spdlog::debug("{}: off-site view: {} linked, {} unchanged, {} removed", db,
                    stats.linked, stats.kept, stats.removed);
    } catch (const Interrupted&) {
      throw;
    } catch (const std::exception& e) {
      settle_rest(outcome, {db}, "failed", e.what());
    }
  }
  outcome.lock_held_seconds += util::seconds_since(start);
  return prepared;
}

DatabasePush push_one(const Restic& restic, const PreparedPush& push) {
  DatabasePush d = outcome_for(push.database, "ok", "");
  d.kind = push.manifest.kind;
  d.consistent = push.manifest.consistent();
  d.manifest_sha256 = push.manifest_sha256;
  d.dump_bytes = push.manifest.dump_bytes;
  const auto start = Clock::now();
  try {
    spdlog::info("{}: pushing the {} backup finished at {} to {}", push.database, d.kind,
                 push.manifest.finished_at, restic.repository());
    d.summary = restic.backup(
        push.dir, snapshot_tags(push.manifest, push.manifest_sha256), push.database);
    spdlog::info(
        "{}: off site as snapshot {}: {} files, {} added to the repository ({} "
        "read) in {}",
        push.database, d.summary->snapshot_id, d.summary->files,
        util::format_bytes(d.summary->bytes_added), util::format_bytes(d.summary->bytes),
        util::format_duration(std::chrono::duration<double>(util::seconds_since(start))));
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    d.status = "failed";
    d.error = e.what();
    spdlog::error("{}: off-site push failed: {}", push.database, d.error);
  }
  d.seconds = util::seconds_since(start);
  d.finished_at = util::rfc3339(std::chrono::system_clock::now());
  return d;
}

void log_lock_held(const OffsitePushOutcome& outcome) {
  spdlog::info(
      "off-site views made in {} under the run lock (released now)",
      util::format_duration(std::chrono::duration<double>(outcome.lock_held_seconds)));
}

} // namespace

bool OffsitePushOutcome::failed() const {
  return std::ranges::any_of(databases,
                             [](const DatabasePush& d) { return d.status == "failed"; });
}

int OffsitePushOutcome::exit_code(int run_code) const {
  if (interrupted_by != 0 && (run_code == 0 || run_code == 4)) {
    return 128 + interrupted_by;
  }
  const bool written =
      run_code == 0 || run_code == static_cast<int>(ExitCode::inconsistent);
  return written && failed() ? static_cast<int>(ExitCode::offsite_failed) : run_code;
}

nlohmann::json OffsitePushOutcome::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : databases) {
    nlohmann::json j = {{"database", d.database},
                        {"status", d.status},
                        {"finished_at", d.finished_at},
                        {"seconds", d.seconds}};
    if (!d.error.empty()) {
      j["error"] = d.error;
    }
    if (!d.kind.empty()) {
      j["kind"] = d.kind;
      j["consistent"] = d.consistent;
      j["manifest_sha256"] = d.manifest_sha256;
      j["dump_bytes"] = d.dump_bytes;
    }
    if (d.summary) {
      j.update(d.summary->to_json());
    }
    list.push_back(std::move(j));
  }
  return {{"repository", repository},
          {"lock_held_seconds", lock_held_seconds},
          {"databases", list}};
}

bool pushes_after(const Config& config, const std::string& kind) {
  return config.offsite && config.offsite->pushes_after(kind);
}

void offsite_preflight(const Config& config, const std::string& kind) {
  if (pushes_after(config, kind)) {
    (void)Restic(config, BackupArea(config.basedir));
  }
}

std::vector<std::string> snapshot_tags(const Manifest& manifest,
                                       const std::string& manifest_sha256) {
  return {"odbox",
          "db=" + manifest.database,
          "kind=" + manifest.kind,
          std::string("consistent=") + (manifest.consistent() ? "true" : "false"),
          "manifest=" + manifest_sha256,
          "dump_bytes=" + std::to_string(manifest.dump_bytes)};
}

OffsitePushOutcome push_after_run(const Config& config, const BackupArea& area,
                                  const std::vector<Manifest>& committed, RunLock& lock) {
  OffsitePushOutcome outcome;
  std::vector<std::string> databases;
  for (const auto& m : committed) {
    databases.push_back(m.database);
  }
  if (!config.offsite || databases.empty()) {
    lock.release();
    return outcome;
  }
  outcome.repository = redacted_repository(config.offsite->repository);
  try {
    const Restic restic(config, area);
    PushLock push_lock(area);
    if (!push_lock.try_lock()) {
      lock.release();
      settle_rest(outcome, databases, "skipped",
                  "another off-site push holds " + push_lock.file().string() + " (" +
                      push_lock.holder() + "): a later push takes the newest backup");
      return outcome;
    }
    auto prepared = prepare_views(area, databases, outcome);
    lock.release();
    log_lock_held(outcome);
    for (const auto& push : prepared) {
      outcome.databases.push_back(push_one(restic, push));
    }
  } catch (const Interrupted& e) {
    outcome.interrupted_by = e.signal();
    settle_rest(outcome, databases, "failed", e.what());
  } catch (const std::exception& e) {
    settle_rest(outcome, databases, "failed", e.what());
  }
  lock.release();
  return outcome;
}

OffsitePushOutcome push_databases(const Config& config, const BackupArea& area,
                                  const std::vector<std::string>& databases) {
  std::error_code ec;
  if (!std::filesystem::is_directory(area.root(), ec)) {
    throw UsageError("no backup area at " + area.root().string() +
                     ": check --basedir (offsite push sends committed backups)");
  }
  for (const auto& db : databases) {
    validate_database_name(db);
    if (!read_manifest(area.manifest(db))) {
      throw UsageError("no backup of '" + db + "' in " + area.root().string() +
                       ": run hot or cold first (offsite push sends committed backups)");
    }
  }
  const Restic restic(config, area);
  OffsitePushOutcome outcome;
  outcome.repository = restic.repository();
  PushLock push_lock(area);
  if (!push_lock.try_lock()) {
    if (!config.wait_lock) {
      throw Error(ExitCode::locked, "another off-site push holds " +
                                        push_lock.file().string() + " (" +
                                        push_lock.holder() +
                                        "): let it finish, or pass --wait-lock to queue");
    }
    spdlog::info("waiting for another off-site push ({})", push_lock.holder());
    push_lock.lock();
  }
  RunLock run_lock(area.lock_file(), "offsite push", config.wait_lock);
  auto prepared = prepare_views(area, databases, outcome);
  run_lock.release();
  log_lock_held(outcome);
  for (const auto& push : prepared) {
    outcome.databases.push_back(push_one(restic, push));
  }
  return outcome;
}

} // namespace odbox::core
