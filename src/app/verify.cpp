#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/status.hpp"
#include "odbox/core/status.hpp"
#include "odbox/core/verify.hpp"
#include "odbox/util/time.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

int run_verify(const Config& config, const CommonOptions& common, const VerifyFlags& flags) {
  for (const auto& db : config.databases) {
    validate_database_name(db);
  }
  const BackupArea area(config.basedir);
  std::error_code ec;
  if (!std::filesystem::is_directory(area.root(), ec)) {
    throw UsageError("no backup area at " + area.root().string() + ": check --basedir");
  }
  const auto databases = config.databases.empty() ? databases_in_area(area) : config.databases;
  if (databases.empty()) {
    throw RunError("no backup in " + area.root().string() + " (no *.manifest.json)");
  }
  const VerifyOptions options{.deep = flags.deep,
                              .restore_test = flags.restore_test,
                              .psql = config.tools.psql,
                              .conninfo = config.conninfo};
  nlohmann::json reports = nlohmann::json::array();
  bool sound = true;
  for (const auto& db : databases) {
    const auto report = verify_backup(area, db, options);
    for (const auto& problem : report.problems) {
      spdlog::error("{}: {}", db, problem);
    }
    if (report.problems.empty()) {
      spdlog::info("{}: sound — dump {} checked, {} referenced files present{}{}", db,
                   util::format_bytes(report.dump_bytes), report.files_checked,
                   flags.deep ? ", " + std::to_string(report.files_hashed) + " files re-hashed"
                              : "",
                   report.restore_tested ? ", test restore passed" : "");
    }
    sound = sound && report.problems.empty();
    reports.push_back({{"database", db},
                       {"sound", report.problems.empty()},
                       {"problems", report.problems},
                       {"dump_bytes", report.dump_bytes},
                       {"files_checked", report.files_checked},
                       {"files_hashed", report.files_hashed},
                       {"restore_tested", report.restore_tested}});
  }
  if (common.json) {
    std::cout << reports.dump(2) << std::endl;
  }
  return sound ? 0 : static_cast<int>(ExitCode::inconsistent);
}

int run_status(const Config& config, const CommonOptions& common, const StatusFlags& flags) {
  const BackupArea area(config.basedir);
  std::optional<std::chrono::seconds> max_age;
  if (!flags.max_age.empty()) {
    max_age = util::parse_duration(flags.max_age);
    if (!max_age) {
      throw UsageError("--max-age '" + flags.max_age +
                       "' is not a duration (e.g. 26h, 90min, 2d)");
    }
  }
  const auto entries = read_status(area, config.databases);
  std::vector<OffsiteStatus> offsite;
  if (config.offsite) {
    // Every database backed up here has an off-site side, pushed or not.
    std::vector<std::string> databases = config.databases;
    for (const auto& e : entries) {
      if (std::ranges::find(databases, e.database) == databases.end()) {
        databases.push_back(e.database);
      }
    }
    offsite = read_offsite_status(area, databases);
    count_generations(config, area, offsite);
  }
  if (common.json) {
    auto all = status_json(entries);
    for (auto& e : offsite_status_json(offsite)) {
      all.push_back(std::move(e));
    }
    std::cout << all.dump(2) << std::endl;
  } else {
    std::cout << format_status(entries) << format_offsite_status(offsite);
  }
  if (!max_age) {
    return 0;
  }
  // Per database: the newest success of any kind must be recent enough.
  std::map<std::string, std::optional<double>> newest;
  for (const auto& e : entries) {
    auto& best = newest[e.database];
    if (e.age_seconds && (!best || *e.age_seconds < *best)) {
      best = e.age_seconds;
    }
  }
  int code = 0;
  for (const auto& [db, age] : newest) {
    if (!age || *age > static_cast<double>(max_age->count())) {
      spdlog::error("{}: last successful backup {} (more than {} ago)", db,
                    age ? util::format_duration(std::chrono::duration<double>(*age)) + " ago"
                        : "never",
                    flags.max_age);
      code = static_cast<int>(ExitCode::inconsistent);
    }
  }
  if (config.offsite) {
    const auto seconds = static_cast<double>(max_age->count());
    code = std::max(code, check_offsite_age(offsite, seconds, flags.max_age));
  }
  return code;
}

} // namespace odbox::app
