#include "odbox/core/metrics.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/status.hpp"
#include "odbox/core/status.hpp"
#include "odbox/util/atomic_file.hpp"
#include "odbox/util/time.hpp"

#include <map>
#include <sstream>

namespace odbox::core {
namespace {

std::optional<long long> epoch_seconds(const nlohmann::json& object, const char* key) {
  const auto time = util::parse_rfc3339(object.value(key, ""));
  if (!time) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(time->time_since_epoch())
      .count();
}

bool is_success(const nlohmann::json& database) {
  const std::string status = database.value("status", "");
  return status == "ok" || status == "inconsistent";
}

// The last success of each database of `kind` before this run, from runs.jsonl.
std::map<std::string, long long> earlier_successes(const BackupArea& area,
                                                   const std::string& kind) {
  std::map<std::string, long long> out;
  try {
    for (const auto& entry : read_status(area, {})) {
      if (entry.kind == kind && entry.last_success) {
        if (const auto at = epoch_seconds(*entry.last_success, "finished_at")) {
          out[entry.database] = *at;
        }
      }
    }
  } catch (const Error&) {
    // No run log yet: no earlier success to carry over.
  }
  return out;
}

class MetricsText {
public:
  explicit MetricsText(const nlohmann::json& record)
      : m_record(record), m_kind(record.value("kind", "")) {}

  // One gauge: its help line, then one sample per database that has a value.
  template <typename Value>
  void gauge(const char* name, const char* help, const Value& value_of) {
    m_out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
    for (const auto& db : m_record.at("databases")) {
      if (const std::optional<std::string> value = value_of(db)) {
        m_out << name << "{kind=\"" << m_kind << "\",database=\""
              << db.value("database", "") << "\"} " << *value << "\n";
      }
    }
  }

  [[nodiscard]] std::string text() const { return m_out.str(); }

private:
  const nlohmann::json& m_record;
  std::string m_kind;
  std::ostringstream m_out;
};

// A value of the database's entry in the record, when it has one.
auto field(const char* key) {
  return [key](const nlohmann::json& db) -> std::optional<std::string> {
    if (!db.contains(key)) {
      return std::nullopt;
    }
    return db[key].dump();
  };
}

// The cold run's session purge, apart from the downtime.
void add_session_gauges(MetricsText& metrics, const nlohmann::json& sessions) {
  const auto value = [&sessions](const char* key) {
    return [&sessions, key](const nlohmann::json&) -> std::optional<std::string> {
      if (!sessions.contains(key)) {
        return std::nullopt;
      }
      return sessions[key].dump();
    };
  };
  const auto flag = [](bool set) {
    return [set](const nlohmann::json&) {
      return std::optional<std::string>(set ? "1" : "0");
    };
  };
  metrics.gauge("odbox_backup_sessions_removed_files",
                "Session files the last cold run deleted.", value("files_removed"));
  metrics.gauge("odbox_backup_sessions_removed_bytes",
                "Bytes of the session files the last cold run deleted.",
                value("bytes_removed"));
  metrics.gauge("odbox_backup_sessions_purge_seconds",
                "Time the last cold run spent deleting session files, mostly with Odoo "
                "running.",
                value("seconds"));
  metrics.gauge("odbox_backup_sessions_downtime_seconds",
                "Part of the last cold run's downtime spent on the session files.",
                value("while_stopped_seconds"));
  metrics.gauge(
      "odbox_backup_sessions_purged_in_place",
      "1 when the last cold run deleted the session files with Odoo stopped, as "
      "the sessions directory could not be moved aside.",
      flag(sessions.value("method", "") == "in_place"));
  metrics.gauge("odbox_backup_sessions_purge_complete",
                "0 when the last cold run's session purge was interrupted or failed (the "
                "next run goes on with it).",
                flag(sessions.value("complete", true)));
}

} // namespace

std::expected<void, std::string> write_metrics(const std::filesystem::path& file,
                                               const nlohmann::json& record,
                                               const BackupArea& area) {
  const auto finished = epoch_seconds(record, "finished_at").value_or(0);
  const auto earlier = earlier_successes(area, record.value("kind", ""));
  const auto run_value = [&](const char* key) {
    return [&record, key](const nlohmann::json&) -> std::optional<std::string> {
      if (!record.contains(key)) {
        return std::nullopt;
      }
      return record[key].dump();
    };
  };
  MetricsText metrics(record);
  metrics.gauge(
      "odbox_backup_last_run_timestamp_seconds", "End of the last run.",
      [&](const nlohmann::json&) { return std::optional(std::to_string(finished)); });
  metrics.gauge("odbox_backup_last_success_timestamp_seconds",
                "End of the last run that wrote a backup (consistent or not).",
                [&](const nlohmann::json& db) -> std::optional<std::string> {
                  if (is_success(db)) {
                    return std::to_string(finished);
                  }
                  const auto it = earlier.find(db.value("database", ""));
                  return it == earlier.end() ? std::nullopt
                                             : std::optional(std::to_string(it->second));
                });
  metrics.gauge("odbox_backup_exit_code", "Exit code of the last run.",
                run_value("exit_code"));
  metrics.gauge("odbox_backup_duration_seconds", "Duration of the last run.",
                run_value("duration_seconds"));
  metrics.gauge("odbox_backup_dump_bytes", "Size of the last dump.", field("dump_bytes"));
  metrics.gauge("odbox_backup_filestore_files", "Files in the file-store mirror.",
                field("filestore_files"));
  metrics.gauge("odbox_backup_missing_files", "Referenced files missing from the mirror.",
                field("missing_files"));
  metrics.gauge("odbox_backup_lost_from_live_files",
                "Referenced files gone from the live file store (the backup holds them).",
                field("lost_from_live_files"));
  if (record.contains("downtime_seconds")) {
    metrics.gauge("odbox_backup_downtime_seconds", "Odoo downtime of the last cold run.",
                  run_value("downtime_seconds"));
  }
  if (record.contains("sessions")) {
    add_session_gauges(metrics, record["sessions"]);
  }
  std::string text = metrics.text();
  if (record.contains("offsite")) {
    text += offsite_metrics(area, record);
  }
  // node_exporter runs as its own user: the metrics are world-readable.
  if (auto ok = util::write_file_atomic(file, text, 0644); !ok) {
    return std::unexpected(ok.error().message());
  }
  return {};
}

} // namespace odbox::core
