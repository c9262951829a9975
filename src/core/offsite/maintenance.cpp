#include "odbox/core/offsite/maintenance.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/generations.hpp"
#include "odbox/core/offsite/view.hpp"
#include "odbox/util/time.hpp"

#include <set>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace odbox::core {
namespace {

std::vector<std::string> keep_options(const OffsiteKeep& keep) {
  std::vector<std::string> args;
  const std::pair<const char*, int> rules[] = {
      {"--keep-last", keep.last},       {"--keep-hourly", keep.hourly},
      {"--keep-daily", keep.daily},     {"--keep-weekly", keep.weekly},
      {"--keep-monthly", keep.monthly}, {"--keep-yearly", keep.yearly}};
  for (const auto& [option, count] : rules) {
    if (count > 0) {
      args.insert(args.end(), {option, std::to_string(count)});
    }
  }
  return args;
}

// restic forget --json: a list of groups, each with "keep" and "remove".
ForgetGroup count_forgotten(const std::string& json_text, ForgetGroup group) {
  const auto parsed = nlohmann::json::parse(json_text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    throw RunError("restic forget --json printed no JSON list");
  }
  for (const auto& g : parsed) {
    const auto count = [&](const char* key) {
      return g.contains(key) && g[key].is_array() ? g[key].size() : std::size_t{0};
    };
    group.kept += count("keep");
    group.removed += count("remove");
  }
  return group;
}

// A scratch directory removed with its contents on every path.
class ScratchDir {
public:
  explicit ScratchDir(std::filesystem::path path) : m_path(std::move(path)) {
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
    std::filesystem::permissions(m_path, std::filesystem::perms::owner_all);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

std::filesystem::path scratch_for_check(const BackupArea& area) {
  const std::string name = "check." + std::to_string(::getpid());
  std::error_code ec;
  if (std::filesystem::is_directory(area.root(), ec)) {
    ensure_private_dir(offsite_dir(area));
    return offsite_dir(area) / name;
  }
  return std::filesystem::temp_directory_path() / ("odbox-offsite-" + name);
}

// restic check: problems when it found errors, RunError when it could not run.
void check_repository(const Restic& restic, const std::string& subset,
                      OffsiteCheckResult& result) {
  Restic::Call call{.args = {"check"}, .working_dir = {}, .on_json_line = {}};
  if (!subset.empty()) {
    call.args.push_back("--read-data-subset=" + subset);
  }
  const auto run = restic.run(call);
  if (run.status.success()) {
    spdlog::info("restic check{}: no errors were found",
                 subset.empty() ? "" : " --read-data-subset=" + subset);
    return;
  }
  const std::string text = run.out + "\n" + run.err;
  if (restic.classify(run) != ResticFailure::other ||
      text.find("repository contains errors") == std::string::npos) {
    throw RunError(restic.failure_message("check", run));
  }
  std::size_t listed = 0;
  std::size_t start = 0;
  while (start < text.size() && listed < 20) {
    auto end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end;
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.find("error") != std::string::npos && !line.starts_with("Fatal:")) {
      result.problems.push_back("restic check: " + restic.scrub(line));
      ++listed;
    }
  }
  if (listed == 0) {
    result.problems.emplace_back("restic check: the repository contains errors");
  }
}

} // namespace

nlohmann::json ForgetResult::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& g : groups) {
    list.push_back({{"database", g.database},
                    {"kind", g.kind},
                    {"kept", g.kept},
                    {"removed", g.removed}});
  }
  return {{"groups", list}, {"pruned", pruned}};
}

nlohmann::json OffsiteCheckResult::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    list.push_back({{"database", r.database},
                    {"snapshot_id", snapshots.at(i)},
                    {"sound", r.problems.empty()},
                    {"problems", r.problems},
                    {"files_hashed", r.files_hashed},
                    {"restore_tested", r.restore_tested}});
  }
  return {{"sound", problems.empty()}, {"problems", problems}, {"databases", list}};
}

ForgetResult forget_generations(const Restic& restic,
                                const std::vector<std::string>& databases) {
  restic.unlock();
  std::set<std::pair<std::string, std::string>> groups;
  for (const auto& g : list_generations(restic, databases)) {
    if (g.kind.empty()) {
      spdlog::warn("snapshot {} of {} has no kind= tag: left alone", g.short_id,
                   g.database);
      continue;
    }
    groups.emplace(g.database, g.kind);
  }
  ForgetResult result;
  for (const auto& [db, kind] : groups) {
    Restic::Call call{.args = {"forget", "--json", "--tag",
                               "odbox,db=" + db + ",kind=" + kind, "--group-by", ""},
                      .working_dir = {},
                      .on_json_line = {}};
    const auto rules = keep_options(restic.settings().keep);
    call.args.insert(call.args.end(), rules.begin(), rules.end());
    const auto run = restic.run_checked(call, "forget of " + db + " (" + kind + ")");
    result.groups.push_back(count_forgotten(run.out, ForgetGroup{db, kind, 0, 0}));
    spdlog::info("{} ({}): {} generations kept, {} forgotten", db, kind,
                 result.groups.back().kept, result.groups.back().removed);
  }
  const bool any =
      std::ranges::any_of(result.groups, [](const auto& g) { return g.removed > 0; });
  if (any) {
    const auto start = std::chrono::steady_clock::now();
    restic.run_checked(
        Restic::Call{.args = {"prune"}, .working_dir = {}, .on_json_line = {}}, "prune");
    result.pruned = true;
    spdlog::info(
        "restic prune done in {}",
        util::format_duration(std::chrono::duration<double>(util::seconds_since(start))));
  }
  return result;
}

void restore_generation(const Restic& restic, const std::string& snapshot,
                        const std::filesystem::path& target) {
  const auto start = std::chrono::steady_clock::now();
  restic.run_checked(
      Restic::Call{.args = {"restore", snapshot, "--target", target.string()},
                   .working_dir = {},
                   .on_json_line = {}},
      "restore of snapshot " + snapshot);
  spdlog::info(
      "restored snapshot {} into {} in {}", snapshot, target.string(),
      util::format_duration(std::chrono::duration<double>(util::seconds_since(start))));
}

OffsiteCheckResult check_offsite(const Config& config, const BackupArea& area,
                                 const Restic& restic,
                                 const OffsiteCheckOptions& options) {
  OffsiteCheckResult result;
  restic.unlock();
  check_repository(restic, options.read_data_subset, result);
  const auto generations = list_generations(restic, options.databases);
  std::vector<std::string> databases = options.databases;
  if (databases.empty()) {
    for (const auto& g : generations) {
      if (std::ranges::find(databases, g.database) == databases.end()) {
        databases.push_back(g.database);
      }
    }
  }
  const VerifyOptions verify{.deep = true,
                             .restore_test = options.restore_test,
                             .psql = config.tools.psql,
                             .conninfo = config.conninfo};
  for (const auto& db : databases) {
    const auto newest = newest_generation(generations, db);
    if (!newest) {
      result.problems.push_back(db + ": no off-site generation in " +
                                restic.repository());
      continue;
    }
    const ScratchDir scratch(scratch_for_check(area));
    restore_generation(restic, newest->id, scratch.path());
    auto report = verify_backup(BackupArea(scratch.path()), db, verify);
    for (const auto& problem : report.problems) {
      result.problems.push_back(db + " (snapshot " + newest->short_id + "): " + problem);
    }
    if (report.problems.empty()) {
      spdlog::info("{}: snapshot {} of {} is sound: {} files re-hashed{}", db,
                   newest->short_id, newest->time, report.files_hashed,
                   report.restore_tested ? ", test restore passed" : "");
    }
    result.reports.push_back(std::move(report));
    result.snapshots.push_back(newest->short_id);
  }
  return result;
}

} // namespace odbox::core
