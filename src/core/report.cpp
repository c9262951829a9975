#include "odbox/core/report.hpp"

#include "odbox/core/metrics.hpp"
#include "odbox/util/time.hpp"
#include "odbox/version.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace odbox::core {

RunReport::RunReport(const BackupArea& area, std::string kind)
    : m_area(area), m_kind(std::move(kind)), m_started(std::chrono::system_clock::now()),
      m_start(std::chrono::steady_clock::now()) {}

void RunReport::committed(const Manifest& manifest) {
  m_entries.push_back(
      {manifest.database, manifest.consistent() ? "ok" : "inconsistent", "", manifest});
}

void RunReport::failed(const std::string& database, const std::string& error) {
  m_entries.push_back({database, "failed", error, std::nullopt});
}

bool RunReport::has_outcome(const std::string& database) const {
  return std::ranges::any_of(m_entries,
                             [&](const Entry& e) { return e.database == database; });
}

void RunReport::ended(const std::vector<std::string>& databases, const Error& error) {
  for (const auto& db : databases) {
    if (!has_outcome(db)) {
      failed(db, error.what());
    }
  }
  if (const auto* interrupted = dynamic_cast<const Interrupted*>(&error)) {
    m_signal = m_signal != 0 ? m_signal : interrupted->signal();
  }
  if (error.code() == ExitCode::restart_failed) {
    m_restart_failed = true;
  }
}

std::vector<Manifest> RunReport::committed_manifests() const {
  std::vector<Manifest> out;
  for (const auto& e : m_entries) {
    if (e.manifest) {
      out.push_back(*e.manifest);
    }
  }
  return out;
}

int RunReport::exit_code() const {
  const int code = local_exit_code();
  return m_offsite ? m_offsite->exit_code(code) : code;
}

int RunReport::local_exit_code() const {
  if (m_restart_failed) {
    return static_cast<int>(ExitCode::restart_failed);
  }
  if (m_signal != 0) {
    return 128 + m_signal;
  }
  int code = 0;
  for (const auto& e : m_entries) {
    if (e.status == "failed") {
      return static_cast<int>(ExitCode::failed);
    }
    if (e.status == "inconsistent") {
      code = static_cast<int>(ExitCode::inconsistent);
    }
  }
  return code;
}

nlohmann::json RunReport::make_record(int exit_code) const {
  nlohmann::json databases = nlohmann::json::array();
  for (const auto& e : m_entries) {
    nlohmann::json d = {{"database", e.database}, {"status", e.status}};
    if (!e.error.empty()) {
      d["error"] = e.error;
    }
    if (e.manifest) {
      d["dump_bytes"] = e.manifest->dump_bytes;
      d["dump_sha256"] = e.manifest->dump_sha256;
      d["dump_compression"] = e.manifest->dump_compression;
      d["dump_plain_bytes"] = e.manifest->dump_plain_bytes;
      d["referenced_files"] = e.manifest->referenced_files;
      d["missing_files"] = e.manifest->missing_count;
      d["lost_from_live_files"] = e.manifest->lost_from_live_count;
      d["filestore_files"] = e.manifest->filestore_files;
      d["filestore_bytes"] = e.manifest->filestore_bytes;
    }
    databases.push_back(std::move(d));
  }
  nlohmann::json record = {
      {"kind", m_kind},
      {"started_at", util::rfc3339(m_started)},
      {"finished_at", util::rfc3339(std::chrono::system_clock::now())},
      {"duration_seconds", util::seconds_since(m_start)},
      {"exit_code", exit_code},
      {"databases", databases},
      {"tool_version", k_version},
  };
  if (m_facts.downtime_seconds) {
    record["downtime_seconds"] = *m_facts.downtime_seconds;
  }
  if (m_facts.sessions) {
    record["sessions"] = sessions_to_json(*m_facts.sessions);
  }
  if (m_offsite) {
    record["offsite"] = m_offsite->to_json();
  }
  return record;
}

int RunReport::finish(const std::optional<std::filesystem::path>& metrics_file) {
  int code = exit_code();
  m_record = make_record(code);
  if (metrics_file) {
    if (auto ok = write_metrics(*metrics_file, m_record, m_area); !ok) {
      spdlog::error("cannot write the metrics file {}: {} (check --metrics-file)",
                    metrics_file->string(), ok.error());
      if (code == 0) {
        code = static_cast<int>(ExitCode::failed);
        m_record["exit_code"] = code;
      }
      m_record["error"] = "cannot write the metrics file: " + ok.error();
    }
  }
  if (auto ok = append_run_record(m_area.runs_log(), m_record); !ok) {
    spdlog::error("cannot record the run in {}: {}", m_area.runs_log().string(),
                  ok.error());
    if (code == 0) {
      code = static_cast<int>(ExitCode::failed);
    }
  }
  return code;
}

} // namespace odbox::core
