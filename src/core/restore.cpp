#include "odbox/core/restore.hpp"

#include "odbox/core/dump.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/pg.hpp"
#include "odbox/core/scratch_database.hpp"
#include "odbox/core/snapshot.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/time.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::core {
namespace {

bool database_exists(PgConnection& admin, const std::string& name) {
  return !admin
              .query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = " +
                     quote_literal(name))
              .empty();
}

// A directory being filled under a temporary name; removed unless released.
class StagedDirectory {
public:
  explicit StagedDirectory(std::filesystem::path path) : m_path(std::move(path)) {}
  ~StagedDirectory() {
    if (!m_released) {
      std::error_code ec;
      std::filesystem::remove_all(m_path, ec);
    }
  }
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;
  void release() { m_released = true; }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
  bool m_released = false;
};

// A disposable mirror (a staged copy of the area) moved into `target`, with
// the owner and modes a copy would get. False, and nothing moved, when the
// two are on different file systems.
bool move_filestore(const std::filesystem::path& mirror,
                    const std::filesystem::path& target, const struct stat& owner) {
  if (::rename(mirror.c_str(), target.c_str()) != 0) {
    if (errno == EXDEV) {
      return false;
    }
    throw RunError(
        util::sys_error("rename", mirror.string() + " -> " + target.string()).message());
  }
  const auto settle = [&](const std::filesystem::path& p, bool directory) {
    if (::lchown(p.c_str(), owner.st_uid, owner.st_gid) != 0 ||
        ::chmod(p.c_str(), directory ? 0700 : 0600) != 0) {
      throw RunError(util::sys_error("chown/chmod", p.string()).message());
    }
  };
  settle(target, true);
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(target, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) {
      (void)::lchown(it->path().c_str(), owner.st_uid, owner.st_gid);
    } else {
      settle(it->path(), it->is_directory(ec));
    }
  }
  if (ec) {
    throw RunError("cannot walk " + target.string() + ": " + ec.message());
  }
  return true;
}

// Puts the mirror into `target` with the owner of the data dir's file store:
// moved when `disposable` and on the same file system, else copied.
std::uint64_t copy_filestore(const Config& config, const std::filesystem::path& mirror,
                             const std::filesystem::path& target, bool disposable) {
  struct stat owner {};
  const auto filestore = target.parent_path();
  if (::stat(filestore.c_str(), &owner) != 0) {
    ::stat(config.data_dir.c_str(), &owner);
  }
  if (!disposable || !move_filestore(mirror, target, owner)) {
    const auto rsync = util::find_executable(config.tools.rsync);
    if (!rsync) {
      throw UsageError(config.tools.rsync + " not found: install rsync or use --rsync");
    }
    util::SpawnSpec spec;
    spec.argv = {*rsync,
                 "--archive",
                 "--chmod=D0700,F0600",
                 "--chown=" + std::to_string(owner.st_uid) + ":" +
                     std::to_string(owner.st_gid),
                 mirror.string() + "/",
                 target.string() + "/"};
    spec.capture_stdout = false;
    auto run = util::run_capture(spec);
    if (!run) {
      throw RunError("cannot run rsync: " + run.error().message());
    }
    throw_if_interrupted();
    if (!run->status.success()) {
      throw RunError("copying the file store failed: rsync " + run->status.describe() +
                     ": " + util::last_line(run->err));
    }
  }
  std::uint64_t files = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(target, ec)) {
    files += e.is_regular_file(ec) ? 1U : 0U;
  }
  return files;
}

// The manifest of the backup to restore, after the request's names and
// the data dir were checked and the dump was found.
Manifest checked_backup(const Config& config, const BackupArea& area,
                        const RestoreRequest& request, const std::string& target) {
  validate_database_name(request.database);
  validate_database_name(target);
  if (config.data_dir.empty() || !config.data_dir.is_absolute()) {
    throw UsageError("restore needs --data-dir (absolute): the file store goes to "
                     "<data_dir>/filestore/<target>");
  }
  auto manifest = read_manifest(area.manifest(request.database));
  if (!manifest) {
    throw UsageError("no backup of '" + request.database + "' in " +
                     area.root().string() + " (no manifest): check --db and --basedir");
  }
  const auto dump = area.root() / manifest->dump_file;
  if (std::ifstream probe(dump); !probe) {
    throw RunError("the dump " + dump.string() + " is missing: run verify");
  }
  return std::move(*manifest);
}

// A copy beside the original must not share its identity: a new
// database.uuid and database.secret, and today as its creation date.
void give_new_identity(const std::string& conninfo, const std::string& database) {
  PgConnection conn(conninfo, database, "odbox-backup restore");
  const auto has_parameters =
      conn.query("SELECT to_regclass('public.ir_config_parameter') IS NOT NULL");
  if (has_parameters.at(0).at(0) != std::optional<std::string>("t")) {
    throw RunError("the dump has no ir_config_parameter table: not an Odoo database");
  }
  conn.exec("UPDATE ir_config_parameter SET value = gen_random_uuid()::text "
            "WHERE key = 'database.uuid'");
  conn.exec("UPDATE ir_config_parameter SET value = gen_random_uuid()::text "
            "WHERE key = 'database.secret'");
  conn.exec("UPDATE ir_config_parameter SET value = to_char(now() AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD HH24:MI:SS') WHERE key = 'database.create_date'");
}

// Puts the staged file store in place of `target_store`, the old one (if
// any) renamed aside first and then removed.
void swap_file_store(StagedDirectory& staged_store,
                     const std::filesystem::path& target_store,
                     const std::filesystem::path& replaced) {
  std::error_code ec;
  if (std::filesystem::exists(target_store, ec)) {
    std::filesystem::rename(target_store, replaced);
    std::filesystem::remove_all(replaced, ec);
  }
  std::filesystem::rename(staged_store.path(), target_store);
  staged_store.release();
}

} // namespace

RestoreResult restore_backup(const Config& config, const BackupArea& area,
                             const RestoreRequest& request, ServiceControl& services) {
  const std::string target = request.target.empty() ? request.database : request.target;
  const Manifest manifest = checked_backup(config, area, request, target);
  PgConnection admin(config.conninfo, "postgres", "odbox-backup restore");
  const bool exists = database_exists(admin, target);
  if (exists && !request.force) {
    throw UsageError(
        "database '" + target +
        "' exists: restore under another name with "
        "--target-db NEW, or replace it with --force (Odoo is stopped meanwhile)");
  }
  const std::string suffix = std::to_string(::getpid());
  const std::string staged_name =
      (target.size() > 40 ? target.substr(0, 40) : target) + "_odbox_restore_" + suffix;
  spdlog::info("restoring {} into a staging database {}", request.database, staged_name);

  std::filesystem::create_directories(config.live_stores());
  StagedDirectory staged_store(config.live_stores() /
                               ("." + target + ".odbox-restore-" + suffix));
  // The file store is copied while the dump loads: the two share nothing
  // until the swap. On a failure the future waits for the copy before the
  // staged directory goes.
  auto copied = std::async(std::launch::async, [&] {
    return copy_filestore(config, area.mirror(request.database), staged_store.path(),
                          request.disposable_area);
  });
  ScratchDatabase staged(config.conninfo, staged_name, manifest.database_owner);
  load_sql_dump(config.tools.psql, config.conninfo, area.root() / manifest.dump_file,
                compression_method(manifest.dump_compression), staged.name());
  RestoreResult result;
  result.target = target;
  if (target != request.database) {
    give_new_identity(config.conninfo, staged.name());
    result.new_identity = true;
  }
  result.files = copied.get();
  throw_if_interrupted();

  // The swap. Replacing a live database stops Odoo around it.
  std::optional<OdooStoppedGuard> guard;
  if (exists) {
    if (services.exists(config.odoo_service) && services.is_active(config.odoo_service)) {
      guard.emplace(services, config.odoo_service, config.cold.marker_dir,
                    config.cold.start_timeout);
      guard->stop(config.cold.stop_timeout);
    }
    admin.exec("DROP DATABASE " + quote_identifier(target) + " WITH (FORCE)");
    result.replaced = true;
  }
  admin.exec("ALTER DATABASE " + quote_identifier(staged.name()) + " RENAME TO " +
             quote_identifier(target));
  staged.keep();
  swap_file_store(staged_store, config.live_store(target),
                  config.live_stores() / ("." + target + ".odbox-replaced-" + suffix));
  if (guard) {
    guard->restart();
  }
  return result;
}

} // namespace odbox::core
