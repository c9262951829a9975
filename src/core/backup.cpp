#include "odbox/core/backup.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/log.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/time.hpp"
#include "odbox/version.hpp"

#include <future>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

std::string now_rfc3339() { return util::rfc3339(std::chrono::system_clock::now()); }

std::string require_tool(const std::string& name, const std::string& option,
                         const std::string& package) {
  auto path = util::find_executable(name);
  if (!path) {
    throw UsageError(name + " not found: install " + package + " or give its path with " +
                     option);
  }
  return *path;
}

std::string tool_version_line(const std::string& program) {
  util::SpawnSpec spec;
  spec.argv = {program, "--version"};
  auto run = util::run_capture(spec, {.timeout = std::chrono::seconds(30)});
  if (!run || !run->status.success()) {
    throw UsageError(program + " --version failed: is it really " + program + "?");
  }
  return util::last_line(run->out.substr(0, run->out.find('\n')));
}

// Installed modules and the Odoo series (from base's version, "17.0.1.3" ->
// "17.0"), read in the snapshot, for exports Odoo's database manager restores.
void read_odoo_modules(PgConnection& conn, Manifest& manifest) {
  const auto exists = conn.query("SELECT to_regclass('public.ir_module_module') IS NOT NULL");
  if (exists.at(0).at(0) != std::optional<std::string>("t")) {
    return;
  }
  for (const auto& row : conn.query("SELECT name, coalesce(latest_version, '') FROM "
                                    "ir_module_module WHERE state = 'installed'")) {
    const std::string name = row.at(0).value_or("");
    const std::string version = row.at(1).value_or("");
    manifest.odoo_modules[name] = version;
    if (name == "base") {
      const auto first = version.find('.');
      const auto second = first == std::string::npos ? first : version.find('.', first + 1);
      manifest.odoo_series = version.substr(0, second);
    }
  }
}

} // namespace

Tools preflight(const Config& config) {
  validate_config(config);
  Tools tools;
  tools.pg_dump = require_tool(config.tools.pg_dump, "--pg-dump", "postgresql-client");
  tools.rsync = require_tool(config.tools.rsync, "--rsync", "rsync");
  const std::string version_line = tool_version_line(tools.pg_dump);
  const int dump_major = pg_dump_major_version(version_line);
  if (dump_major == 0) {
    throw UsageError(tools.pg_dump + " does not look like pg_dump ('" + version_line +
                     "'): check --pg-dump");
  }
  if (const auto pos = version_line.find(')'); pos != std::string::npos) {
    const auto rest = version_line.substr(pos + 1);
    const auto start = rest.find_first_not_of(' ');
    tools.pg_dump_version = rest.substr(start, rest.find(' ', start) - start);
  }
  (void)conninfo_environment(config.conninfo);  // malformed conninfo: UsageError
  for (const auto& db : config.databases) {
    PgConnection conn(config.conninfo, db, "odbox-backup preflight");
    if (!has_ir_attachment(conn)) {
      throw UsageError("database '" + db +
                       "' has no ir_attachment table: it is not an Odoo database (check --db)");
    }
    const int server_major = conn.server_version() / 10000;
    if (dump_major < server_major) {
      throw UsageError(tools.pg_dump + " is version " + std::to_string(dump_major) +
                       " but the server runs " + conn.server_version_text() +
                       ": install postgresql-client-" + std::to_string(server_major) +
                       " and point --pg-dump at it");
    }
  }
  BackupArea(config.basedir).check_writable();
  return tools;
}

DatabaseBackup::DatabaseBackup(const Config& config, const BackupArea& area,
                               const Tools& tools, std::string database, std::string kind)
    : m_config(config), m_area(area), m_tools(tools), m_database(std::move(database)) {
  m_manifest.tool_version = k_version;
  m_manifest.kind = std::move(kind);
  m_manifest.database = m_database;
  m_manifest.started_at = now_rfc3339();
  m_manifest.pg_dump_version = tools.pg_dump_version;
  m_manifest.dump_file = m_area.dump(m_database).filename().string();
  m_manifest.references_file = m_area.references(m_database).filename().string();
}

DatabaseBackup::~DatabaseBackup() {
  if (m_dump) {
    m_dump->abort();
  }
}

std::filesystem::path DatabaseBackup::live_store() const {
  return m_config.data_dir / "filestore" / m_database;
}

void DatabaseBackup::timed(const std::string& phase, const std::function<void()>& step) {
  const auto start = std::chrono::steady_clock::now();
  step();
  const double seconds = util::seconds_since(start);
  const std::lock_guard lock(m_phases_mutex);
  m_manifest.phases[phase] += seconds;
}

void DatabaseBackup::presync() {
  timed("presync", [&] {
    spdlog::info("{}: copying the file store while Odoo runs", m_database);
    mirror_filestore(live_store(), m_area.mirror(m_database),
                     {.rsync = m_tools.rsync, .progress = util::stderr_is_terminal()});
  });
}

void DatabaseBackup::start() {
  open_snapshot();
  throw_if_interrupted();
  start_dump();
  read_file_list();
}

void DatabaseBackup::open_snapshot() {
  timed("snapshot", [&] {
    m_snapshot = std::make_unique<SnapshotTransaction>(m_config.conninfo, m_database,
                                                       m_config.lock_wait_timeout);
    m_manifest.snapshot_at = now_rfc3339();
    m_manifest.server_version = m_snapshot->connection().server_version_text();
    const auto owner = m_snapshot->connection().query(
        "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database "
        "WHERE datname = current_database()");
    m_manifest.database_owner = owner.at(0).at(0).value_or("");
    read_odoo_modules(m_snapshot->connection(), m_manifest);
    spdlog::info("{}: snapshot {} exported, {} tables locked", m_database,
                 m_snapshot->snapshot_id(), m_snapshot->locked_tables());
  });
}

void DatabaseBackup::start_dump() {
  if (m_dump) {
    return;
  }
  m_dump = std::make_unique<DumpStream>(DumpRequest{
      .pg_dump = m_tools.pg_dump,
      .env = conninfo_environment(m_config.conninfo),
      .database = m_database,
      .snapshot_id = m_snapshot->snapshot_id(),
      .lock_wait_timeout = m_config.lock_wait_timeout,
      .target = m_area.dump(m_database),
  });
}

void DatabaseBackup::read_file_list() {
  timed("file_list", [&] {
    auto [file, count] = read_references(m_snapshot->connection(), m_area.references(m_database));
    m_references.emplace(std::move(file));
    m_manifest.referenced_files = count;
    spdlog::info("{}: the database references {} files", m_database, count);
  });
}

void DatabaseBackup::sync(bool listed) {
  throw_if_interrupted();
  timed("sync", [&] {
    // The dump shows its own progress line in its thread; rsync stays quiet.
    m_listing.reset();
    if (listed) {
      m_listing.emplace();
    }
    mirror_filestore(live_store(), m_area.mirror(m_database),
                     {.rsync = m_tools.rsync, .progress = false, .listing = listing()});
  });
}

Manifest DatabaseBackup::finish() {
  // The mirror no longer changes: the prune's first pass (a walk of the whole
  // mirror, which deletes nothing) runs while the dump ends and the check
  // runs. The future's destructor waits for it on every way out.
  std::future<MirrorScan> scan = std::async(std::launch::async, [this] {
    MirrorScan found;
    timed("prune_scan", [&] {
      found = scan_mirror(m_area.mirror(m_database), live_store(), listing());
    });
    return found;
  });
  timed("dump_wait", [&] { m_dump->wait(); });
  const DumpOutcome& outcome = m_dump->wait();
  m_manifest.dump_bytes = outcome.bytes;
  m_manifest.dump_sha256 = outcome.sha256;
  m_manifest.dump_seconds = outcome.seconds;
  throw_if_interrupted();
  if (!outcome.complete) {
    throw RunError(m_database + ": " + outcome.error +
                   "; the previous dump is kept unchanged");
  }
  m_snapshot->finish();
  spdlog::info("{}: dump complete, {} in {}", m_database, util::format_bytes(outcome.bytes),
               util::format_duration(std::chrono::duration<double>(outcome.seconds)));

  CheckResult check;
  timed("check", [&] {
    check = check_references(m_references->temp_path(), m_area.mirror(m_database), 1000,
                             listing());
  });
  m_manifest.missing_count = check.missing_count;
  m_manifest.missing = check.missing;

  // What the prune will delete is settled against the new file list before
  // anything is committed, so the manifest written with the dump already
  // says what the mirror holds once pruned.
  PrunePlan plan;
  timed("prune", [&] {
    plan = plan_prune(scan.get(), m_references->temp_path());
    if (plan.not_pruned_because) {
      spdlog::warn("{}: the mirror is not pruned this run: {}", m_database,
                   *plan.not_pruned_because);
    }
    m_manifest.pruned_files = plan.doomed.size();
    m_manifest.filestore_files = plan.files;
    m_manifest.filestore_bytes = plan.bytes;
  });

  // Commit: the file list, then the dump, then the manifest that ties them.
  // Only then does the prune delete anything: a run killed while deleting
  // leaves a dump and a manifest that match, and a few files more in the
  // mirror, which the next run prunes.
  if (auto ok = m_references->commit(); !ok) {
    throw RunError("cannot commit the file list: " + ok.error().message());
  }
  m_dump->commit();
  m_manifest.finished_at = now_rfc3339();
  write_manifest(m_area.manifest(m_database), m_manifest);
  if (!plan.doomed.empty()) {
    timed("prune", [&] {
      const auto pruned = apply_prune(plan, m_area.mirror(m_database));
      m_manifest.pruned_files = pruned.pruned;
      m_manifest.filestore_files = pruned.files;
      m_manifest.filestore_bytes = pruned.bytes;
    });
    // The prune's time, and any file it could not delete. The backup is
    // committed either way: a failure here only keeps the first manifest.
    m_manifest.finished_at = now_rfc3339();
    try {
      write_manifest(m_area.manifest(m_database), m_manifest);
    } catch (const RunError& e) {
      spdlog::warn("{}: {}; the manifest written before the prune stands", m_database, e.what());
    }
  }
  if (!m_manifest.consistent()) {
    spdlog::warn("{}: {} referenced files are missing from the mirror, e.g. {}", m_database,
                 check.missing_count, check.missing.front());
  }
  return m_manifest;
}

} // namespace odbox::core
