#include "odbox/core/verify.hpp"

#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/preflight.hpp"
#include "odbox/util/time.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

void add_verify_options(CLI::App& cmd, CommandLine& line) {
  cmd.add_flag("--deep", line.verify.deep,
               "also re-hash every mirrored file against its name");
  cmd.add_flag("--restore-test", line.verify.restore_test,
               "also load each dump into a scratch database (then dropped)");
}

int run_verify(const Config& config, const CommonOptions& common,
               const VerifyFlags& flags) {
  for (const auto& db : config.databases) {
    validate_database_name(db);
  }
  if (flags.restore_test) {
    (void)require_program(config.tools.psql, "--psql", "postgresql-client");
  }
  const BackupArea area(config.basedir);
  area.require_existing();
  const auto databases =
      config.databases.empty() ? databases_in_area(area) : config.databases;
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
                   flags.deep
                       ? ", " + std::to_string(report.files_hashed) + " files re-hashed"
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

} // namespace odbox::app
