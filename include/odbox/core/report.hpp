#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/offsite/push.hpp"
#include "odbox/core/run_facts.hpp"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// The outcome of one backup run over its databases, and the one owner of
// the run's facts (downtime, sessions) and of its exit code. finish()
// appends it to runs.jsonl, writes the Prometheus metrics when asked, and
// returns the exit code.
class RunReport {
public:
  RunReport(const BackupArea& area, std::string kind);

  [[nodiscard]] const std::string& kind() const noexcept { return m_kind; }
  [[nodiscard]] const RunFacts& facts() const noexcept { return m_facts; }
  // Did a termination signal end the run?
  [[nodiscard]] bool interrupted() const noexcept { return m_signal != 0; }
  void set_downtime(double seconds) { m_facts.downtime_seconds = seconds; }
  void set_sessions(const SessionsPurged& purged) { m_facts.sessions = purged; }
  // The off-site push after the run: recorded, and it decides exit 6.
  void set_offsite(OffsitePushOutcome outcome) { m_offsite = std::move(outcome); }
  // The manifests committed so far, in order.
  [[nodiscard]] std::vector<Manifest> committed_manifests() const;

  // One outcome per database: a committed backup, or a failure.
  void committed(const Manifest& manifest);
  void failed(const std::string& database, const std::string& error);
  // Has the database an outcome already (it failed earlier in the run)?
  [[nodiscard]] bool has_outcome(const std::string& database) const;
  // A failure that ends the run: every database without an outcome yet
  // gets `error`. An Interrupted error also decides the exit code (128+N),
  // and so does a failed restart of Odoo (exit 5), which outranks it.
  void ended(const std::vector<std::string>& databases, const Error& error);

  // restart failed (5) > signal (128+N) > a database failed (1) >
  // off-site push failed after backups were written (6) > inconsistent (4) > 0.
  [[nodiscard]] int exit_code() const;

  // Appends the run's record to runs.jsonl and writes the metrics file if
  // given. Returns the run's exit code: exit_code(), or 1 in place of 0
  // when the record could not be written (a run nobody can see did not
  // succeed). Never throws; errors are logged.
  int finish(const std::optional<std::filesystem::path>& metrics_file);
  // The record finish() appended (empty before).
  [[nodiscard]] const nlohmann::json& record() const noexcept { return m_record; }

private:
  struct Entry {
    std::string database;
    std::string status; // ok | inconsistent | failed
    std::string error;
    std::optional<Manifest> manifest;
  };
  [[nodiscard]] nlohmann::json make_record(int exit_code) const;
  [[nodiscard]] int local_exit_code() const; // before the off-site push

  const BackupArea& m_area;
  std::string m_kind;
  std::chrono::system_clock::time_point m_started;
  std::chrono::steady_clock::time_point m_start;
  std::vector<Entry> m_entries;
  RunFacts m_facts;
  int m_signal = 0;
  bool m_restart_failed = false;
  nlohmann::json m_record;
  std::optional<OffsitePushOutcome> m_offsite;
};

} // namespace odbox::core
