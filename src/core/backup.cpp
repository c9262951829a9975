#include "odbox/core/backup.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/log.hpp"
#include "odbox/util/test_point.hpp"
#include "odbox/util/time.hpp"
#include "odbox/version.hpp"

#include <future>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

std::string now_rfc3339() {
  return util::rfc3339(std::chrono::system_clock::now());
}

// Installed modules and the Odoo series (from base's version, "17.0.1.3" ->
// "17.0"), read in the snapshot, for exports Odoo's database manager restores.
void read_odoo_modules(PgConnection& conn, Manifest& manifest) {
  const auto exists =
      conn.query("SELECT to_regclass('public.ir_module_module') IS NOT NULL");
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
      const auto second =
          first == std::string::npos ? first : version.find('.', first + 1);
      manifest.odoo_series = version.substr(0, second);
    }
  }
}

} // namespace

DatabaseBackup::DatabaseBackup(const Config& config, const BackupArea& area,
                               const Tools& tools, std::string database, std::string kind)
    : m_config(config), m_area(area), m_tools(tools), m_database(std::move(database)) {
  m_manifest.tool_version = k_version;
  m_manifest.kind = std::move(kind);
  m_manifest.database = m_database;
  m_manifest.pg_dump_version = tools.pg_dump_version;
  m_manifest.dump_file =
      m_area.dump(m_database, m_config.compression.method).filename().string();
  m_manifest.dump_compression = m_config.compression.name();
  m_manifest.references_file = m_area.references(m_database).filename().string();
}

DatabaseBackup::~DatabaseBackup() {
  if (m_dump) {
    m_dump->abort();
  }
}

void DatabaseBackup::timed(const std::string& phase, const std::function<void()>& step) {
  const auto start = std::chrono::steady_clock::now();
  step();
  const double seconds = util::seconds_since(start);
  const std::lock_guard lock(m_phases_mutex);
  m_manifest.phases[phase] += seconds;
}

void DatabaseBackup::begin() {
  if (m_manifest.started_at.empty()) {
    m_manifest.started_at = now_rfc3339();
  }
}

void DatabaseBackup::presync() {
  begin();
  timed("presync", [&] {
    spdlog::info("{}: copying the file store while Odoo runs", m_database);
    mirror_filestore(m_config.live_store(m_database), m_area.mirror(m_database),
                     {.rsync = m_tools.rsync, .progress = util::stderr_is_terminal()});
  });
  util::test_point("presync.done");
}

void DatabaseBackup::open_snapshot() {
  begin();
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
  util::test_point("snapshot.opened");
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
      .target = m_area.dump(m_database, m_config.compression.method),
      .compression = m_config.compression,
  });
  util::test_point("dump.started");
}

void DatabaseBackup::read_file_list() {
  timed("file_list", [&] {
    auto list = read_references(m_snapshot->connection(), m_area.references(m_database));
    m_references.emplace(std::move(list.file));
    m_manifest.referenced_files = list.summary.lines;
    m_manifest.references_sha256 = list.summary.sha256;
    // What the dump's ir_attachment block must hold, counted in the same
    // snapshot (ONLY: pg_dump's COPY of the table leaves out inheriting ones).
    const auto rows =
        m_snapshot->connection().query("SELECT count(*) FROM ONLY public.ir_attachment");
    m_manifest.snapshot_attachment_rows = std::stoull(rows.at(0).at(0).value_or("0"));
    spdlog::info("{}: the database references {} files", m_database, list.summary.lines);
  });
  util::test_point("file_list.read");
}

void DatabaseBackup::sync(bool listed) {
  throw_if_interrupted();
  timed("sync", [&] {
    // The dump shows its own progress line in its thread; rsync stays quiet.
    m_listing.reset();
    if (listed) {
      m_listing.emplace();
    }
    mirror_filestore(m_config.live_store(m_database), m_area.mirror(m_database),
                     {.rsync = m_tools.rsync, .progress = false, .listing = listing()});
  });
  util::test_point("sync.done");
}

void DatabaseBackup::wait_for_dump() {
  const DumpOutcome& outcome = m_dump->wait();
  m_manifest.dump_bytes = outcome.bytes;
  m_manifest.dump_sha256 = outcome.sha256;
  m_manifest.dump_plain_bytes = outcome.plain_bytes;
  m_manifest.dump_plain_sha256 = outcome.plain_sha256;
  m_manifest.dump_seconds = outcome.seconds;
  throw_if_interrupted();
  if (!outcome.complete) {
    throw RunError(outcome.error + "; the previous dump is kept unchanged");
  }
  m_manifest.dump_attachment_rows = outcome.attachment_rows;
  if (outcome.attachment_rows != m_manifest.snapshot_attachment_rows) {
    throw RunError("the dump's ir_attachment data holds " +
                   (outcome.attachment_rows
                        ? std::to_string(*outcome.attachment_rows) + " rows"
                        : std::string("no rows at all")) +
                   " where the snapshot has " +
                   std::to_string(m_manifest.snapshot_attachment_rows.value_or(0)) +
                   ": the dump is incomplete; the previous dump is kept unchanged");
  }
  m_snapshot->finish();
  spdlog::info("{}: dump complete, {} in {}", m_database,
               util::format_bytes(outcome.bytes),
               util::format_duration(std::chrono::duration<double>(outcome.seconds)));
}

void DatabaseBackup::check_mirror() {
  const CheckResult check = check_references(m_references->temp_path(),
                                             m_area.mirror(m_database), 1000, listing());
  m_manifest.missing_count = check.missing_count;
  m_manifest.missing = check.missing;
  if (!m_manifest.consistent()) {
    spdlog::warn("{}: {} referenced files are missing from the mirror, e.g. {}",
                 m_database, check.missing_count, check.missing.front());
  }
}

void DatabaseBackup::settle() {
  // The mirror no longer changes: the prune's walk of the whole mirror,
  // which deletes nothing, runs while the dump ends and the check runs. The
  // future's destructor waits for it on every way out.
  std::future<MirrorScan> scan = std::async(std::launch::async, [this] {
    MirrorScan found;
    timed("prune_scan", [&] {
      found = scan_mirror(m_area.mirror(m_database), m_config.live_store(m_database),
                          listing());
    });
    return found;
  });
  timed("dump_wait", [&] { wait_for_dump(); });
  timed("check", [&] { check_mirror(); });
  // What the prune will delete is settled against the new file list before
  // anything is committed, so that the manifest says what the mirror holds
  // once pruned.
  timed("prune", [&] { m_prune = plan_prune(scan.get(), m_references->temp_path()); });
  m_manifest.pruned_files = m_prune->doomed.size();
  m_manifest.filestore_files = m_prune->files;
  m_manifest.filestore_bytes = m_prune->bytes;
  m_manifest.not_pruned_because = m_prune->not_pruned_because;
  m_manifest.lost_from_live_count = m_prune->lost_from_live_count;
  m_manifest.lost_from_live = m_prune->lost_from_live;
  if (m_prune->not_pruned_because) {
    spdlog::warn("{}: the mirror is not pruned this run: {}", m_database,
                 *m_prune->not_pruned_because);
  }
  if (m_prune->lost_from_live_count > 0) {
    spdlog::warn("{}: {} files the database references are gone from the live file store "
                 "{} (the backup holds them; Odoo cannot serve them), e.g. {}",
                 m_database, m_prune->lost_from_live_count,
                 m_config.live_store(m_database).string(),
                 m_prune->lost_from_live.front());
  }
  util::test_point("settle.done");
}

Manifest DatabaseBackup::commit(const RunFacts& facts) {
  if (!m_prune) {
    throw RunError("internal: commit before settle");
  }
  m_manifest.downtime_seconds = facts.downtime_seconds;
  m_manifest.sessions = facts.sessions;
  if (facts.sessions) {
    m_manifest.phases["purge"] = facts.sessions->seconds;
  }
  m_manifest.finished_at = now_rfc3339();
  auto manifest = util::AtomicFile::create(m_area.manifest(m_database));
  if (!manifest) {
    throw RunError("cannot create the manifest: " + manifest.error().message());
  }
  if (auto ok = manifest->write(m_manifest.to_json().dump(2) + "\n"); !ok) {
    throw RunError("cannot write the manifest: " + ok.error().message());
  }
  util::test_point("commit.written");
  throw_if_interrupted(); // a signal so far keeps the previous set
  // Every new file is on disk before the first rename, and the manifest,
  // which ties the file list and the dump together, is renamed last: a
  // failure leaves either the previous set or the new one.
  if (auto ok =
          util::commit_together({&*m_references, &m_dump->complete_file(), &*manifest});
      !ok) {
    throw RunError("cannot commit the backup: " + ok.error().message());
  }
  remove_other_mode_dump(m_area, m_database, m_config.compression.method);
  util::test_point("commit.published");
  // Only now does the prune delete anything: a run killed while deleting
  // leaves a dump and a manifest that match, and a few files more in the
  // mirror, which the next run prunes.
  if (!m_prune->doomed.empty()) {
    const auto start = std::chrono::steady_clock::now();
    const auto pruned = apply_prune(*m_prune, m_area.mirror(m_database));
    spdlog::info(
        "{}: pruned {} files gone from the live store in {}", m_database, pruned.pruned,
        util::format_duration(std::chrono::duration<double>(util::seconds_since(start))));
  }
  return m_manifest;
}

} // namespace odbox::core
