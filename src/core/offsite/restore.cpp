#include "odbox/core/offsite/restore.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/offsite/restic.hpp"
#include "odbox/core/run_lock.hpp"
#include "odbox/core/verify.hpp"
#include "odbox/util/time.hpp"

#include <optional>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

namespace fs = std::filesystem;

fs::path normalized(const fs::path& p) {
  std::error_code ec;
  auto canonical = fs::weakly_canonical(p, ec);
  auto out = (ec ? p : canonical).lexically_normal();
  if (out.has_parent_path() && out.filename().empty()) {
    out = out.parent_path();
  }
  return out;
}

bool inside(const fs::path& inner, const fs::path& outer) {
  const auto rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != "..";
}

void check_staging(const Config& config, const fs::path& staging) {
  if (!staging.is_absolute()) {
    throw UsageError("--staging must be an absolute path, not '" + staging.string() +
                     "'");
  }
  const auto s = normalized(staging);
  const std::pair<fs::path, const char*> others[] = {
      {normalized(config.data_dir), "the Odoo data directory"},
      {normalized(BackupArea(config.basedir).root()), "the backup area"}};
  for (const auto& [other, what] : others) {
    if (inside(s, other) || inside(other, s)) {
      throw UsageError("the staging directory " + staging.string() + " overlaps " + what +
                       " " + other.string() + ": choose another --staging");
    }
  }
  std::error_code ec;
  if (fs::exists(staging, ec) &&
      !(fs::is_directory(staging, ec) && fs::is_empty(staging, ec))) {
    throw UsageError(
        "the staging directory " + staging.string() +
        " exists and is not empty (it is removed after the restore): remove it "
        "or choose another --staging");
  }
}

// The staging directory, removed with its contents on every path.
class Staging {
public:
  explicit Staging(fs::path path) : m_path(std::move(path)) {
    fs::create_directories(m_path);
    fs::permissions(m_path, fs::perms::owner_all);
  }
  ~Staging() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  [[nodiscard]] const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

// restic restores the generation into `target`; "latest" is the newest
// generation of `database`. Returns the manifest it holds.
Manifest restore_into(const Restic& restic, const std::string& database,
                      const std::string& wanted, const fs::path& target) {
  Restic::Call call{.args = {"restore", wanted, "--target", target.string()},
                    .working_dir = {},
                    .on_json_line = {}};
  if (wanted == "latest") {
    call.args.insert(call.args.end(), {"--tag", "odbox,db=" + database});
  }
  const auto start = std::chrono::steady_clock::now();
  const auto run = restic.run(call);
  if (run.err.find("no snapshot found") != std::string::npos) {
    throw UsageError("no off-site generation of '" + database + "' in " +
                     restic.repository() +
                     ": check --db, or push one first (offsite push)");
  }
  if (run.err.find("no matching ID found") != std::string::npos) {
    throw UsageError("no off-site generation " + wanted + " in " + restic.repository() +
                     ": see offsite snapshots --db " + database);
  }
  if (!run.status.success()) {
    throw RunError(restic.failure_message("restore of " + wanted, run));
  }
  const BackupArea copy(target);
  const auto manifest = read_manifest(copy.manifest(database));
  if (!manifest) {
    const auto held = databases_in_area(copy);
    throw UsageError(
        "the off-site generation " + wanted + " holds " +
        (held.empty() ? std::string("no backup") : "database '" + held.front() + "'") +
        ", not '" + database + "': see offsite snapshots");
  }
  spdlog::info(
      "{}: restored the {} generation {} (backup finished at {}) from {} in {}", database,
      manifest->kind, wanted, manifest->finished_at, restic.repository(),
      util::format_duration(std::chrono::duration<double>(util::seconds_since(start))));
  return *manifest;
}

} // namespace

fs::path default_staging(const Config& config) {
  const auto base = normalized(config.basedir);
  return base.parent_path() / (base.filename().string() + ".offsite-restore");
}

RestoreResult restore_from_offsite(const Config& config,
                                   const OffsiteRestoreRequest& request,
                                   ServiceControl& services) {
  const std::string& db = request.restore.database;
  validate_database_name(db);
  if (!request.restore.target.empty()) {
    validate_database_name(request.restore.target);
  }
  if (config.data_dir.empty() || !config.data_dir.is_absolute()) {
    throw UsageError("restore needs --data-dir (absolute): the file store goes to "
                     "<data_dir>/filestore/<target>");
  }
  const fs::path staging =
      request.staging.empty() ? default_staging(config) : request.staging;
  check_staging(config, staging);
  const BackupArea area(config.basedir);
  const Restic restic(config, area);
  const std::string wanted = request.snapshot.empty() ? "latest" : request.snapshot;
  const Staging staged(staging);
  const Manifest manifest = restore_into(restic, db, wanted, staged.path());
  const BackupArea copy(staged.path());
  const auto report = verify_backup(copy, db, VerifyOptions{});
  for (const auto& problem : report.problems) {
    spdlog::error("{} (generation {}): {}", db, wanted, problem);
  }
  if (!report.problems.empty()) {
    throw Error(ExitCode::inconsistent,
                "the off-site generation " + wanted + " of " + db + " does not verify (" +
                    report.problems.front() +
                    "): restore another one (offsite snapshots), nothing was changed");
  }
  spdlog::info("{}: generation {} verified: dump {} and {} referenced files", db, wanted,
               util::format_bytes(manifest.dump_bytes), report.files_checked);
  // Replacing a live database stops Odoo: not while a cold run does.
  std::optional<RunLock> lock;
  std::error_code ec;
  if (request.restore.force && fs::is_directory(area.root(), ec)) {
    lock.emplace(area.lock_file(), "restore", config.wait_lock);
  }
  RestoreRequest restore = request.restore;
  restore.disposable_area = true;
  return restore_backup(config, copy, restore, services);
}

} // namespace odbox::core
