#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/config.hpp"
#include "odbox/util/process.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace odbox::core {

// What a restic command printed and how it ended.
struct ResticRun {
  util::ExitStatus status;
  std::string out; // stdout, unless handed line by line to Call::on_json_line
  std::string err; // the tail of stderr
};

// Why a restic command failed, as far as its messages tell (restic 0.14 has
// no distinct exit codes for these).
enum class ResticFailure {
  none,
  missing_repository,
  wrong_password,
  unreachable,
  delete_refused, // an append-only server
  locked,
  killed,
  other,
};

// The summary line of `restic backup --json`.
struct BackupSummary {
  std::string snapshot_id;
  std::uint64_t files_new = 0;
  std::uint64_t files_changed = 0;
  std::uint64_t files_unmodified = 0;
  std::uint64_t files = 0;       // total_files_processed
  std::uint64_t bytes = 0;       // total_bytes_processed
  std::uint64_t bytes_added = 0; // data_added: what the repository grew by
  double seconds = 0;
  static BackupSummary from_json(const nlohmann::json& summary);
  [[nodiscard]] nlohmann::json to_json() const;
};

// The line of restic's stderr that says what went wrong: its "Fatal:" line,
// else the last line that is a sentence (not a frame of a Go stack trace).
[[nodiscard]] std::string restic_error_line(const std::string& err);

// restic as a child process. The repository, the password file and the
// backend credentials reach it through its environment only: argv holds
// options, tags and paths, never a secret, and every message taken from
// restic is scrubbed of the secrets before it is logged or recorded.
class Restic {
public:
  struct Call {
    std::vector<std::string> args;
    std::string working_dir;
    // restic --json: each JSON line of stdout, as it arrives.
    std::function<void(const nlohmann::json&)> on_json_line;
  };

  // Throws UsageError: no offsite object, restic not found, a secret file
  // unsafe, a malformed environment file. The cache goes below the area's
  // .offsite/ when the area exists.
  Restic(const Config& config, const BackupArea& area);

  // Runs restic to its end. Throws RunError if it cannot be started, and
  // Interrupted when a termination signal arrives (restic is stopped).
  [[nodiscard]] ResticRun run(const Call& call) const;
  // run(), and throws RunError with failure_message() unless restic exited 0.
  ResticRun run_checked(const Call& call, const std::string& doing) const;

  [[nodiscard]] ResticFailure classify(const ResticRun& run) const;
  // One line naming the cause and the fix; `doing` names the command
  // ("backup of odoo", "forget").
  [[nodiscard]] std::string failure_message(const std::string& doing,
                                            const ResticRun& run) const;
  // `text` with every secret (password, credential values) replaced by ***.
  [[nodiscard]] std::string scrub(std::string text) const;

  [[nodiscard]] const OffsiteSettings& settings() const noexcept { return m_settings; }
  // The repository for messages (user info password redacted).
  [[nodiscard]] const std::string& repository() const noexcept { return m_repository; }

  // `restic backup --json` of the directory `odoo` below `dir`, so that the
  // snapshot is laid out like an area. Creates a missing repository when
  // settings().init is set. Throws RunError (the summary of an incomplete
  // snapshot, exit 3, is reported as an error too).
  BackupSummary backup(const std::filesystem::path& dir,
                       const std::vector<std::string>& tags,
                       const std::string& label) const;
  // Removes stale locks only (those of dead restic processes).
  void unlock() const;

private:
  std::string m_program;
  OffsiteSettings m_settings;
  std::string m_repository;
  std::vector<std::string> m_env;
  std::vector<std::string> m_secrets;
};

} // namespace odbox::core
