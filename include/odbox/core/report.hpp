#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/manifest.hpp"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// The outcome of one run over its databases: appended to runs.jsonl,
// written as Prometheus metrics when asked, and turned into the exit code.
class RunReport {
public:
  RunReport(const BackupArea& area, std::string kind);

  void succeeded(const Manifest& manifest);
  void failed(const std::string& database, const std::string& error);
  // A failure that ends the run, for every database without an outcome yet.
  void failed_all(const std::vector<std::string>& databases, const std::string& error);
  void set_downtime(double seconds) { m_downtime = seconds; }
  void set_sessions(std::uint64_t files, std::uint64_t bytes);
  // The off-site push after the run (OffsitePushOutcome::to_json()).
  void set_offsite(nlohmann::json outcome) { m_offsite = std::move(outcome); }

  // 0, 4 (a backup is inconsistent) or 1 (a database failed); `override`
  // replaces it (signals, Odoo restart failure).
  [[nodiscard]] int exit_code() const;

  // Appends the run to runs.jsonl and writes the metrics file if given.
  // Returns the run record. Never throws (errors are logged).
  nlohmann::json finish(int exit_code, const std::optional<std::filesystem::path>& metrics_file);

private:
  struct Entry {
    std::string database;
    std::string status;  // ok | inconsistent | failed
    std::string error;
    std::optional<Manifest> manifest;
  };
  void write_metrics(const std::filesystem::path& file, int exit_code) const;

  const BackupArea& m_area;
  std::string m_kind;
  std::chrono::system_clock::time_point m_started;
  std::chrono::steady_clock::time_point m_start;
  std::vector<Entry> m_entries;
  std::optional<double> m_downtime;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> m_sessions;
  std::optional<nlohmann::json> m_offsite;
};

} // namespace odbox::core
