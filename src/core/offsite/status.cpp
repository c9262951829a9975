#include "odbox/core/offsite/status.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/generations.hpp"
#include "odbox/core/offsite/restic.hpp"
#include "odbox/util/time.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <spdlog/spdlog.h>
#include <sstream>

namespace odbox::core {
namespace {

std::optional<double> age_of(const nlohmann::json& push) {
  const auto finished = util::parse_rfc3339(push.value("finished_at", ""));
  if (!finished) {
    return std::nullopt;
  }
  return std::chrono::duration<double>(std::chrono::system_clock::now() - *finished)
      .count();
}

std::string text_of(const std::optional<nlohmann::json>& push, const char* key) {
  if (!push || !push->contains(key)) {
    return "-";
  }
  const auto& v = (*push)[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string row(const std::array<std::string, 8>& c) {
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %-25s %-8s %-9s %10s %-25s %-14s %11s\n",
                c[0].c_str(), c[1].c_str(), c[2].c_str(), c[3].c_str(), c[4].c_str(),
                c[5].c_str(), c[6].c_str(), c[7].c_str());
  return line;
}

} // namespace

std::vector<OffsiteStatus>
read_offsite_status(const BackupArea& area, const std::vector<std::string>& databases) {
  std::map<std::string, OffsiteStatus> by_database;
  for (const auto& db : databases) {
    by_database[db].database = db;
  }
  std::ifstream in(area.runs_log());
  std::string line;
  while (std::getline(in, line)) {
    const auto run = nlohmann::json::parse(line, nullptr, false);
    if (run.is_discarded() || !run.contains("offsite") || !run["offsite"].is_object()) {
      continue;
    }
    for (const auto& push : run["offsite"].value("databases", nlohmann::json::array())) {
      const std::string db = push.value("database", "");
      if (db.empty() ||
          (!databases.empty() && std::ranges::find(databases, db) == databases.end())) {
        continue;
      }
      nlohmann::json record = push;
      record["run_kind"] = run.value("kind", "");
      auto& entry = by_database[db];
      entry.database = db;
      entry.last_push = record;
      if (push.value("status", "") == "ok") {
        entry.last_success = record;
      }
    }
  }
  std::vector<OffsiteStatus> out;
  for (auto& [db, entry] : by_database) {
    if (entry.last_success) {
      entry.age_seconds = age_of(*entry.last_success);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

void count_generations(const Config& config, const BackupArea& area,
                       std::vector<OffsiteStatus>& entries) {
  if (entries.empty()) {
    return;
  }
  try {
    const Restic restic(config, area);
    const auto generations = list_generations(restic, {});
    for (auto& e : entries) {
      e.generations = static_cast<std::size_t>(std::ranges::count_if(
          generations, [&](const Generation& g) { return g.database == e.database; }));
    }
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    spdlog::warn("off-site generations not counted: {}", e.what());
  }
}

std::string format_offsite_status(const std::vector<OffsiteStatus>& entries) {
  if (entries.empty()) {
    return "";
  }
  std::string out = "\n" + row({"OFF SITE", "LAST PUSH", "RESULT", "SNAPSHOT", "ADDED",
                                "LAST SUCCESS", "AGE", "GENERATIONS"});
  for (const auto& e : entries) {
    const std::string age =
        e.age_seconds
            ? util::format_duration(std::chrono::duration<double>(*e.age_seconds))
            : "never";
    const std::string added =
        e.last_push && e.last_push->contains("bytes_added")
            ? util::format_bytes((*e.last_push)["bytes_added"].get<std::uint64_t>())
            : "-";
    const std::string generations = e.generations ? std::to_string(*e.generations) : "?";
    out += row({e.database, text_of(e.last_push, "finished_at"),
                text_of(e.last_push, "status"), text_of(e.last_push, "snapshot_id"),
                added, text_of(e.last_success, "finished_at"), age, generations});
    if (e.last_push && e.last_push->contains("error")) {
      out += "    last push error: " + (*e.last_push)["error"].get<std::string>() + "\n";
    }
  }
  return out;
}

nlohmann::json offsite_status_json(const std::vector<OffsiteStatus>& entries) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries) {
    out.push_back({{"database", e.database},
                   {"kind", "offsite"},
                   {"last_run", e.last_push ? *e.last_push : nlohmann::json()},
                   {"last_success", e.last_success ? *e.last_success : nlohmann::json()},
                   {"age_seconds",
                    e.age_seconds ? nlohmann::json(*e.age_seconds) : nlohmann::json()},
                   {"generations",
                    e.generations ? nlohmann::json(*e.generations) : nlohmann::json()}});
  }
  return out;
}

int check_offsite_age(const std::vector<OffsiteStatus>& entries, double max_age_seconds,
                      const std::string& max_age_text) {
  int code = 0;
  for (const auto& e : entries) {
    if (!e.age_seconds || *e.age_seconds > max_age_seconds) {
      spdlog::error("{}: last successful off-site push {} (more than {} ago)", e.database,
                    e.age_seconds ? util::format_duration(
                                        std::chrono::duration<double>(*e.age_seconds)) +
                                        " ago"
                                  : "never",
                    max_age_text);
      code = static_cast<int>(ExitCode::inconsistent);
    }
  }
  return code;
}

std::string offsite_metrics(const BackupArea& area, const nlohmann::json& outcome) {
  std::vector<std::string> databases;
  for (const auto& d : outcome.value("databases", nlohmann::json::array())) {
    databases.push_back(d.value("database", ""));
  }
  if (databases.empty()) {
    return "";
  }
  const auto entries = read_offsite_status(area, databases);
  std::ostringstream out;
  const auto labels = [](const std::string& db) { return "{database=\"" + db + "\"}"; };
  out << "# HELP odbox_backup_offsite_last_success_timestamp_seconds End of the last "
         "successful off-site push.\n"
      << "# TYPE odbox_backup_offsite_last_success_timestamp_seconds gauge\n";
  for (const auto& e : entries) {
    const auto when = e.last_success
                          ? util::parse_rfc3339(e.last_success->value("finished_at", ""))
                          : std::nullopt;
    if (when) {
      out << "odbox_backup_offsite_last_success_timestamp_seconds" << labels(e.database)
          << " "
          << std::chrono::duration_cast<std::chrono::seconds>(when->time_since_epoch())
                 .count()
          << "\n";
    }
  }
  out << "# HELP odbox_backup_offsite_bytes_added Bytes the last successful push added "
         "to "
         "the repository.\n"
      << "# TYPE odbox_backup_offsite_bytes_added gauge\n";
  for (const auto& e : entries) {
    if (e.last_success) {
      out << "odbox_backup_offsite_bytes_added" << labels(e.database) << " "
          << e.last_success->value("bytes_added", std::uint64_t{0}) << "\n";
    }
  }
  out << "# HELP odbox_backup_offsite_last_push_ok 1 when the last off-site push "
         "succeeded.\n"
      << "# TYPE odbox_backup_offsite_last_push_ok gauge\n";
  for (const auto& e : entries) {
    if (e.last_push) {
      out << "odbox_backup_offsite_last_push_ok" << labels(e.database) << " "
          << (e.last_push->value("status", "") == "ok" ? 1 : 0) << "\n";
    }
  }
  return out.str();
}

} // namespace odbox::core
