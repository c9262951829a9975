#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/offsite/generations.hpp"
#include "odbox/core/offsite/maintenance.hpp"
#include "odbox/core/offsite/push.hpp"
#include "odbox/core/offsite/restore.hpp"
#include "odbox/core/verify.hpp"
#include "odbox/util/time.hpp"
#include "odbox/version.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

namespace {

std::vector<std::string> databases_to_push(const Config& config, const BackupArea& area) {
  if (!config.databases.empty()) {
    return config.databases;
  }
  auto databases = databases_in_area(area);
  if (databases.empty()) {
    throw UsageError("no backup in " + area.root().string() +
                     " to push: run hot or cold first, or check --basedir");
  }
  return databases;
}

int push(const Config& config, const CommonOptions& common, const OffsiteFlags& flags) {
  Config settings = config;
  settings.wait_lock = settings.wait_lock || flags.wait_lock;
  const BackupArea area(config.basedir);
  const auto started = std::chrono::system_clock::now();
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = push_databases(settings, area, databases_to_push(config, area));
  const int code = outcome.failed() ? static_cast<int>(ExitCode::offsite_failed) : 0;
  const nlohmann::json record = {
      {"kind", "offsite"},
      {"started_at", util::rfc3339(started)},
      {"finished_at", util::rfc3339(std::chrono::system_clock::now())},
      {"duration_seconds", util::seconds_since(start)},
      {"exit_code", code},
      {"offsite", outcome.to_json()},
      {"tool_version", k_version},
  };
  if (auto ok = append_run_record(area.runs_log(), record); !ok) {
    spdlog::error("cannot record the push in {}: {}", area.runs_log().string(),
                  ok.error());
    return code == 0 ? static_cast<int>(ExitCode::failed) : code;
  }
  if (common.json) {
    std::cout << record.dump(2) << std::endl;
  }
  return code;
}

int snapshots(const Config& config, const CommonOptions& common) {
  const Restic restic(config, BackupArea(config.basedir));
  const auto generations = list_generations(restic, config.databases);
  if (common.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& g : generations) {
      list.push_back(g.to_json());
    }
    std::cout << list.dump(2) << std::endl;
  } else {
    std::cout << format_generations(generations);
  }
  return 0;
}

int forget(const Config& config, const CommonOptions& common) {
  const Restic restic(config, BackupArea(config.basedir));
  const auto result = forget_generations(restic, config.databases);
  if (common.json) {
    std::cout << result.to_json().dump(2) << std::endl;
  }
  return 0;
}

int check(const Config& config, const CommonOptions& common, const OffsiteFlags& flags) {
  const BackupArea area(config.basedir);
  const Restic restic(config, area);
  const auto result =
      check_offsite(config, area, restic,
                    OffsiteCheckOptions{.read_data_subset = flags.read_data_subset,
                                        .restore_test = flags.restore_test,
                                        .databases = config.databases});
  for (const auto& problem : result.problems) {
    spdlog::error("{}", problem);
  }
  if (common.json) {
    std::cout << result.to_json().dump(2) << std::endl;
  }
  return result.problems.empty() ? 0 : static_cast<int>(ExitCode::inconsistent);
}

} // namespace

void add_offsite_options(CLI::App& cmd, CommandLine& line) {
  OffsiteFlags& flags = line.offsite;
  CLI::App* offsite = &cmd;
  offsite->require_subcommand(1);
  const auto action = [&flags](const char* name) {
    return [&flags, name] { flags.action = name; };
  };
  auto* push_cmd = offsite->add_subcommand(
      "push", "Send each database's committed backup to the restic repository");
  push_cmd->add_flag("--wait-lock", flags.wait_lock,
                     "Wait for a running backup or push instead of exiting with 3");
  push_cmd->callback(action("push"));
  offsite
      ->add_subcommand("snapshots",
                       "List the off-site generations (time, kind, dump, ID)")
      ->callback(action("snapshots"));
  offsite
      ->add_subcommand("forget",
                       "Apply offsite.keep to each database and kind, then prune")
      ->callback(action("forget"));
  auto* check_cmd = offsite->add_subcommand(
      "check", "restic check, then verify --deep of each newest generation");
  check_cmd
      ->add_option("--read-data-subset", flags.read_data_subset,
                   "Also read this part of the data (restic: n/t, x%, or a size)")
      ->type_name("SPEC");
  check_cmd->add_flag("--restore-test", flags.restore_test,
                      "Also load each restored dump into a scratch database");
  check_cmd->callback(action("check"));
}

void add_restore_offsite_options(CLI::App& restore, RestoreFlags& flags) {
  restore
      .add_option("--from-offsite", flags.from_offsite,
                  "An off-site generation: latest, or an ID from offsite snapshots")
      ->expected(0, 1)
      ->default_str("latest")
      ->type_name("[latest|ID]");
  restore
      .add_option("--staging", flags.staging,
                  "Where --from-offsite stages it (default BASEDIR.offsite-restore)")
      ->type_name("DIR");
}

int run_offsite(const Config& config, const CommonOptions& common,
                const OffsiteFlags& flags) {
  for (const auto& db : config.databases) {
    validate_database_name(db);
  }
  if (flags.action == "push") {
    return push(config, common, flags);
  }
  if (flags.action == "snapshots") {
    return snapshots(config, common);
  }
  if (flags.action == "forget") {
    return forget(config, common);
  }
  if (flags.action == "check") {
    return check(config, common, flags);
  }
  throw UsageError("offsite needs a subcommand: push, snapshots, forget or check");
}

int run_restore_from_offsite(const Config& config, const RestoreFlags& flags,
                             ServiceControl& services) {
  const auto result = restore_from_offsite(
      config,
      OffsiteRestoreRequest{.snapshot = flags.from_offsite.value_or("latest"),
                            .staging = flags.staging.value_or(""),
                            .restore =
                                RestoreRequest{.database = config.databases.front(),
                                               .target = flags.target_db.value_or(""),
                                               .force = flags.force}},
      services);
  spdlog::info("restored {} from off site as database {} with {} files in {}{}{}",
               config.databases.front(), result.target, result.files,
               config.live_store(result.target).string(),
               result.replaced ? " (replaced the previous one)" : "",
               result.new_identity ? ", new database.uuid" : "");
  return 0;
}

} // namespace odbox::app
