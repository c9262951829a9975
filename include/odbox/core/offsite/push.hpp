#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/config.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/offsite/restic.hpp"
#include "odbox/core/run_lock.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// The off-site copy of one database's committed backup.
struct DatabasePush {
  std::string database;
  std::string status; // ok | failed | skipped
  std::string error;
  std::string kind; // of the backup pushed
  bool consistent = true;
  std::string manifest_sha256;
  std::uint64_t dump_bytes = 0;
  std::optional<BackupSummary> summary; // restic's, when the snapshot was made
  std::string finished_at;
  double seconds = 0;
};

// The outcome of a push: per database, and how long it held the run lock.
struct OffsitePushOutcome {
  std::string repository; // redacted
  double lock_held_seconds = 0;
  std::vector<DatabasePush> databases;
  int interrupted_by = 0; // the signal that stopped the push

  [[nodiscard]] bool failed() const;
  // The exit code of a run that wrote backups (0 or 4) and then pushed
  // them: 6 when a push failed, 128+N when a signal stopped it. Other codes
  // are kept.
  [[nodiscard]] int exit_code(int run_code) const;
  // For runs.jsonl ("offsite"): no secret, the repository redacted.
  [[nodiscard]] nlohmann::json to_json() const;
};

// Whether runs of `kind` (hot, cold) push to the off-site repository.
[[nodiscard]] bool pushes_after(const Config& config, const std::string& kind);

// Preflight of a run that will push afterwards: restic found, the secret
// files safe, the environment file well formed. Throws UsageError (exit 2,
// nothing touched); does nothing when runs of `kind` do not push.
void offsite_preflight(const Config& config, const std::string& kind);

// Pushes what a run has just committed. Called with the run lock held: the
// views are brought up to date under it, then the lock is released (and
// stays released) and restic reads from the views. When another push holds
// the push lock, these databases are "skipped" at once: the run never
// waits for a push. Errors of a database's push, and a signal that stopped
// it, are in the outcome: it never throws (the run still records itself).
OffsitePushOutcome push_after_run(const Config& config, const BackupArea& area,
                                  const std::vector<Manifest>& committed, RunLock& lock);

// `offsite push`: the committed backup of each of `databases`. Throws
// UsageError before anything is touched (no area, no backup of a database,
// restic or its secrets unusable), Error(locked) when a run or another push
// holds the lock (unless config.wait_lock), Interrupted.
OffsitePushOutcome push_databases(const Config& config, const BackupArea& area,
                                  const std::vector<std::string>& databases);

// The tags of a database's snapshot, from its committed manifest.
[[nodiscard]] std::vector<std::string> snapshot_tags(const Manifest& manifest,
                                                     const std::string& manifest_sha256);

} // namespace odbox::core
