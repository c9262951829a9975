#include "odbox/core/report.hpp"

#include "odbox/core/offsite/status.hpp"
#include "odbox/util/atomic_file.hpp"
#include "odbox/util/time.hpp"
#include "odbox/version.hpp"

#include <algorithm>
#include <sstream>
#include <spdlog/spdlog.h>

namespace odbox::core {

RunReport::RunReport(const BackupArea& area, std::string kind)
    : m_area(area), m_kind(std::move(kind)), m_started(std::chrono::system_clock::now()),
      m_start(std::chrono::steady_clock::now()) {}

void RunReport::succeeded(const Manifest& manifest) {
  m_entries.push_back({manifest.database, manifest.consistent() ? "ok" : "inconsistent", "",
                       manifest});
}

void RunReport::failed(const std::string& database, const std::string& error) {
  m_entries.push_back({database, "failed", error, std::nullopt});
}

void RunReport::failed_all(const std::vector<std::string>& databases,
                           const std::string& error) {
  for (const auto& db : databases) {
    const bool known = std::ranges::any_of(m_entries, [&](const Entry& e) {
      return e.database == db;
    });
    if (!known) {
      failed(db, error);
    }
  }
}

void RunReport::set_sessions(std::uint64_t files, std::uint64_t bytes) {
  m_sessions = std::pair{files, bytes};
}

int RunReport::exit_code() const {
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

nlohmann::json RunReport::finish(int exit_code,
                                 const std::optional<std::filesystem::path>& metrics_file) {
  nlohmann::json databases = nlohmann::json::array();
  for (const auto& e : m_entries) {
    nlohmann::json d = {{"database", e.database}, {"status", e.status}};
    if (!e.error.empty()) {
      d["error"] = e.error;
    }
    if (e.manifest) {
      d["dump_bytes"] = e.manifest->dump_bytes;
      d["dump_sha256"] = e.manifest->dump_sha256;
      d["referenced_files"] = e.manifest->referenced_files;
      d["missing_files"] = e.manifest->missing_count;
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
  if (m_downtime) {
    record["downtime_seconds"] = *m_downtime;
  }
  if (m_sessions) {
    record["sessions"] = {{"files_removed", m_sessions->first},
                          {"bytes_removed", m_sessions->second}};
  }
  if (m_offsite) {
    record["offsite"] = *m_offsite;
  }
  append_run_record(m_area.runs_log(), record);
  if (metrics_file) {
    write_metrics(*metrics_file, exit_code);
  }
  return record;
}

// Prometheus text format for node_exporter's textfile collector; written
// atomically so the collector never reads half a file.
void RunReport::write_metrics(const std::filesystem::path& file, int exit_code) const {
  std::ostringstream out;
  const auto now = std::chrono::duration<double>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto labels = [&](const std::string& db) {
    return "{kind=\"" + m_kind + "\",database=\"" + db + "\"}";
  };
  out << "# HELP odbox_backup_last_run_timestamp_seconds End of the last run.\n"
      << "# TYPE odbox_backup_last_run_timestamp_seconds gauge\n";
  for (const auto& e : m_entries) {
    out << "odbox_backup_last_run_timestamp_seconds" << labels(e.database) << " "
        << static_cast<long long>(now) << "\n";
  }
  out << "# HELP odbox_backup_last_success_timestamp_seconds End of the last run that "
         "wrote a backup (consistent or not).\n"
      << "# TYPE odbox_backup_last_success_timestamp_seconds gauge\n";
  for (const auto& e : m_entries) {
    if (e.manifest) {
      out << "odbox_backup_last_success_timestamp_seconds" << labels(e.database) << " "
          << static_cast<long long>(now) << "\n";
    }
  }
  out << "# HELP odbox_backup_exit_code Exit code of the last run.\n"
      << "# TYPE odbox_backup_exit_code gauge\n";
  for (const auto& e : m_entries) {
    out << "odbox_backup_exit_code" << labels(e.database) << " " << exit_code << "\n";
  }
  out << "# HELP odbox_backup_duration_seconds Duration of the last run.\n"
      << "# TYPE odbox_backup_duration_seconds gauge\n";
  for (const auto& e : m_entries) {
    out << "odbox_backup_duration_seconds" << labels(e.database) << " "
        << util::seconds_since(m_start) << "\n";
  }
  const auto per_manifest = [&](const char* name, const char* help, auto value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
    for (const auto& e : m_entries) {
      if (e.manifest) {
        out << name << labels(e.database) << " " << value(*e.manifest) << "\n";
      }
    }
  };
  per_manifest("odbox_backup_dump_bytes", "Size of the last dump.",
               [](const Manifest& m) { return m.dump_bytes; });
  per_manifest("odbox_backup_filestore_files", "Files in the file-store mirror.",
               [](const Manifest& m) { return m.filestore_files; });
  per_manifest("odbox_backup_missing_files", "Referenced files missing from the mirror.",
               [](const Manifest& m) { return m.missing_count; });
  if (m_downtime) {
    out << "# HELP odbox_backup_downtime_seconds Odoo downtime of the last cold run.\n"
        << "# TYPE odbox_backup_downtime_seconds gauge\n";
    for (const auto& e : m_entries) {
      out << "odbox_backup_downtime_seconds" << labels(e.database) << " " << *m_downtime
          << "\n";
    }
  }
  if (m_offsite) {
    out << offsite_metrics(m_area, *m_offsite);
  }
  // node_exporter runs as its own user: the metrics are world-readable.
  if (auto ok = util::write_file_atomic(file, out.str(), 0644); !ok) {
    spdlog::error("cannot write the metrics file: {}", ok.error().message());
  }
}

} // namespace odbox::core
