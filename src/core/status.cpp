#include "odbox/core/status.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/time.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

// One line of the status table (the header's too).
constexpr const char* k_status_row = "%-20s %-5s %-25s %-13s %-25s %-14s %15s %8s %9s\n";

std::optional<double> age_of(const nlohmann::json& record) {
  const auto finished = util::parse_rfc3339(record.value("finished_at", ""));
  if (!finished) {
    return std::nullopt;
  }
  return std::chrono::duration<double>(std::chrono::system_clock::now() - *finished)
      .count();
}

std::string cell(const std::optional<nlohmann::json>& record, const char* key) {
  if (!record || !record->contains(key)) {
    return "-";
  }
  const auto& v = (*record)[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

} // namespace

std::vector<StatusEntry> read_status(const BackupArea& area,
                                     const std::vector<std::string>& databases) {
  std::ifstream in(area.runs_log());
  if (!in) {
    throw RunError("no run log " + area.runs_log().string() +
                   ": no backup ran in this area yet (check --basedir)");
  }
  std::map<std::pair<std::string, std::string>, StatusEntry> entries;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    nlohmann::json run;
    try {
      run = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      spdlog::warn("{}:{}: not JSON, skipped", area.runs_log().string(), number);
      continue;
    }
    const std::string kind = run.value("kind", "?");
    for (const auto& db : run.value("databases", nlohmann::json::array())) {
      const std::string name = db.value("database", "");
      if (!databases.empty() && std::ranges::find(databases, name) == databases.end()) {
        continue;
      }
      nlohmann::json record = db;
      for (const char* key :
           {"started_at", "finished_at", "exit_code", "downtime_seconds"}) {
        if (run.contains(key)) {
          record[key] = run[key];
        }
      }
      auto& entry = entries[{name, kind}];
      entry.database = name;
      entry.kind = kind;
      entry.last_run = record;
      const std::string status = db.value("status", "");
      if (status == "ok" || status == "inconsistent") {
        entry.last_success = record;
      }
    }
  }
  std::vector<StatusEntry> out;
  for (auto& [key, entry] : entries) {
    if (entry.last_success) {
      entry.age_seconds = age_of(*entry.last_success);
    }
    out.push_back(std::move(entry));
  }
  // Databases asked for but never backed up show up too.
  for (const auto& db : databases) {
    if (std::ranges::none_of(out,
                             [&](const StatusEntry& e) { return e.database == db; })) {
      out.push_back({db, "-", std::nullopt, std::nullopt, std::nullopt});
    }
  }
  return out;
}

std::string format_status(const std::vector<StatusEntry>& entries) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, k_status_row, "DATABASE", "KIND", "LAST RUN", "RESULT",
                "LAST SUCCESS", "AGE", "DUMP", "MISSING", "DOWNTIME");
  out += line;
  for (const auto& e : entries) {
    const std::string age =
        e.age_seconds
            ? util::format_duration(std::chrono::duration<double>(*e.age_seconds))
            : "never";
    std::string dump = "-";
    std::string downtime = "-";
    if (e.last_success) {
      dump = util::format_bytes(e.last_success->value("dump_bytes", std::uint64_t{0}));
      if (const auto mode = e.last_success->value("dump_compression", "none");
          mode != "none") {
        dump += " " + mode;
      }
      if (e.last_success->contains("downtime_seconds")) {
        downtime = util::format_duration(std::chrono::duration<double>(
            (*e.last_success)["downtime_seconds"].get<double>()));
      }
    }
    std::snprintf(line, sizeof line, k_status_row, e.database.c_str(), e.kind.c_str(),
                  cell(e.last_run, "finished_at").c_str(),
                  cell(e.last_run, "status").c_str(),
                  cell(e.last_success, "finished_at").c_str(), age.c_str(), dump.c_str(),
                  cell(e.last_success, "missing_files").c_str(), downtime.c_str());
    out += line;
    if (e.last_run && e.last_run->contains("error")) {
      out += "    last error: " + (*e.last_run)["error"].get<std::string>() + "\n";
    }
  }
  return out;
}

nlohmann::json status_json(const std::vector<StatusEntry>& entries) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries) {
    nlohmann::json j = {{"database", e.database}, {"kind", e.kind}};
    j["last_run"] = e.last_run ? *e.last_run : nlohmann::json();
    j["last_success"] = e.last_success ? *e.last_success : nlohmann::json();
    j["age_seconds"] = e.age_seconds ? nlohmann::json(*e.age_seconds) : nlohmann::json();
    out.push_back(std::move(j));
  }
  return out;
}

} // namespace odbox::core
