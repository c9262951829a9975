// The fault matrix of hot: a signal in each phase, pg_dump, rsync and
// PostgreSQL failing, the disk full at each write of the commit, a read-only
// area, the lock held. Each row checks the whole contract
// (fault_contract.hpp) and the next run.

#include "fault_scene.hpp"

#include <csignal>
#include <gtest/gtest.h>

using namespace odbox::it;

namespace {

// The phases of a hot run, as the test points between them.
constexpr const char* k_hot_points[] = {
    "snapshot.opened", "dump.started",   "file_list.read",   "sync.done",
    "settle.done",     "commit.written", "commit.published", "prune.deleting",
};

bool committed_at(const std::string& point) {
  return point == "commit.published" || point == "prune.deleting";
}

std::string row_name(const std::string& signal, const std::string& point) {
  std::string name = signal + "_at_" + point;
  std::ranges::replace(name, '.', '_');
  return name;
}

// SIGTERM, SIGINT and SIGHUP end the run with 128+N and a line of its own;
// SIGKILL ends it at once: no line, its temporary files left for the next
// run. Once the commit has renamed the new set into place, that set stays.
std::vector<FaultRow> signal_rows() {
  const std::pair<const char*, int> signals[] = {
      {"sigterm", SIGTERM}, {"sigint", SIGINT}, {"sighup", SIGHUP}, {"sigkill", SIGKILL}};
  std::vector<FaultRow> rows;
  for (const char* point : k_hot_points) {
    for (const auto& [name, sig] : signals) {
      FaultRow row{.name = row_name(name, point), .point = point, .signal = sig};
      row.expect.exit_code = 128 + sig;
      row.expect.backup = committed_at(point) ? Backup::either : Backup::previous;
      if (sig == SIGKILL) {
        row.expect.recorded = false;
        row.expect.cleans_up = false;
      } else {
        row.expect.errors = {"interrupted by signal " + std::to_string(sig)};
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

const Args k_pg_dump_fault{"--pg-dump", wrapper("pg_dump-fault").string()};
const Args k_pg_dump_truncating{"--pg-dump", wrapper("pg_dump-truncating").string()};
// pg_dump waits for {SCRATCH}/release before it starts (the disk is filled
// in between).
const Args k_pg_dump_held{"--pg-dump", wrapper("pg_dump-slow").string()};
const Env k_held_env{"ODBOX_SLOW_UNTIL={SCRATCH}/release"};
const Args k_rsync_failing{"--rsync", wrapper("rsync-failing").string()};

// The phase, the file and the disk, in one line.
constexpr const char* k_zstd_dump_disk_full =
    "writing the dump failed: write && .dump.sql.zst.tmp. && No space left on device && "
    "the previous dump is kept unchanged";

Contract failed(std::vector<std::string> errors) {
  return {.exit_code = 1, .errors = std::move(errors)};
}

void fill_and_release(FaultScene& s) {
  s.fill_area();
  s.touch("release");
}
void fill(FaultScene& s) {
  s.fill_area();
}
void free_space(FaultScene& s) {
  s.free_area();
}
void fill_with_full_log_page(FaultScene& s) {
  s.pad_runs_log(4096); // the record needs a page of its own
}
void fill_with_log_across_pages(FaultScene& s) {
  s.pad_runs_log(4096 - 64); // the record's first bytes fit, the rest does not
}
void stop_postgres(FaultScene& s) {
  s.stop_postgres();
}
void start_postgres(FaultScene& s) {
  s.start_postgres();
}
void terminate_snapshot(FaultScene& s) {
  s.terminate_snapshot_backend();
}
void area_read_only(FaultScene& s) {
  s.mount_read_only(s.odoo().basedir());
}
void mirror_read_only(FaultScene& s) {
  s.mount_read_only(s.odoo().mirror());
}
void writable_again(FaultScene& s) {
  s.unmount_read_only();
}
void hold_lock(FaultScene& s) {
  s.hold_lock("snapshot.opened");
}
void release_lock(FaultScene& s) {
  s.release_lock();
}

std::vector<FaultRow> other_rows() {
  return {
      // pg_dump
      {.name = "pg_dump_killed_mid_stream",
       .args = k_pg_dump_fault,
       .env = {"ODBOX_PG_DUMP_FAULT=killed"},
       .expect = failed({"pg_dump killed by signal 9"})},
      {.name = "pg_dump_fails_after_a_complete_dump",
       .args = k_pg_dump_fault,
       .env = {"ODBOX_PG_DUMP_FAULT=exit-after"},
       .expect = failed({"pg_dump exited with status 1"})},
      {.name = "pg_dump_cut_mid_stream",
       .args = k_pg_dump_truncating,
       .env = {"ODBOX_TRUNCATE_BYTES=20000"},
       .expect = failed({"pg_dump exited with status"})},
      {.name = "pg_dump_truncated_claims_success",
       .args = k_pg_dump_truncating,
       .env = {"ODBOX_TRUNCATE_BYTES=20000", "ODBOX_TRUNCATE_EXIT=0"},
       .expect = failed({"lacks its completion line"})},
      {.name = "pg_dump_prints_only_the_closing_line",
       .args = k_pg_dump_fault,
       .env = {"ODBOX_PG_DUMP_FAULT=closing-only"},
       .expect = failed({"does not start with its header"})},
      {.name = "pg_dump_prints_only_its_header_and_closing_line",
       .args = k_pg_dump_fault,
       .env = {"ODBOX_PG_DUMP_FAULT=header-closing"},
       .expect = failed({"ir_attachment"})},
      {.name = "pg_dump_drops_the_attachment_rows",
       .args = k_pg_dump_fault,
       .env = {"ODBOX_PG_DUMP_FAULT=rows-dropped"},
       .expect = failed({"ir_attachment"})},
      // rsync
      {.name = "rsync_fails",
       .args = k_rsync_failing,
       .env = {"ODBOX_RSYNC_EXIT=23"},
       .expect = failed({"rsync exited with status 23"})},
      {.name = "rsync_killed",
       .args = k_rsync_failing,
       .env = {"ODBOX_RSYNC_SIGNAL=9"},
       .expect = failed({"rsync killed by signal 9"})},
      // PostgreSQL
      {.name = "postgres_stops_after_the_snapshot",
       .point = "snapshot.opened",
       .at_point = stop_postgres,
       .after = start_postgres,
       .expect = failed({""}),
       .needs = Needs::own_cluster},
      {.name = "snapshot_connection_ends_before_pg_dump",
       .point = "snapshot.opened",
       .at_point = terminate_snapshot,
       .expect = failed({""})},
      {.name = "snapshot_connection_ends_after_the_copy",
       .point = "sync.done",
       .at_point = terminate_snapshot,
       .expect = failed({""})},
      // The disk fills up at each write of the commit, in turn.
      {.name = "disk_full_writing_the_dump",
       .args = k_pg_dump_held,
       .env = k_held_env,
       .point = "file_list.read",
       .at_point = fill_and_release,
       .after = free_space,
       .expect = failed({"writing the dump failed"}),
       .needs = Needs::tmpfs_area},
      // The same with the dump compressed: the disk is full before pg_dump
      // writes its first byte, however small its compressed output.
      {.name = "disk_full_writing_the_zstd_dump_in_one_thread",
       .args = k_pg_dump_held,
       .mode = {"--compression", "zstd:3", "--compression-threads", "0"},
       .env = k_held_env,
       .point = "file_list.read",
       .at_point = fill_and_release,
       .after = free_space,
       .expect = failed({k_zstd_dump_disk_full}),
       .needs = Needs::tmpfs_area},
      {.name = "disk_full_writing_the_zstd_dump_with_workers",
       .args = k_pg_dump_held,
       .mode = {"--compression", "zstd:3", "--compression-threads", "2"},
       .env = k_held_env,
       .point = "file_list.read",
       .at_point = fill_and_release,
       .after = free_space,
       .expect = failed({k_zstd_dump_disk_full}),
       .needs = Needs::tmpfs_area},
      // Switching from plain to zstd: the plain dump stays, no .zst appears.
      {.name = "disk_full_writing_the_first_zstd_dump",
       .args = {"--pg-dump", wrapper("pg_dump-slow").string(), "--compression", "zstd"},
       .env = k_held_env,
       .point = "file_list.read",
       .at_point = fill_and_release,
       .after = free_space,
       .expect = failed({k_zstd_dump_disk_full}),
       .needs = Needs::tmpfs_area},
      {.name = "disk_full_writing_the_file_list",
       .args = k_pg_dump_held,
       .env = k_held_env,
       .point = "dump.started",
       .at_point = fill,
       .after = free_space,
       .expect = failed({"No space left on device"}),
       .needs = Needs::tmpfs_area},
      {.name = "disk_full_writing_the_manifest",
       .point = "settle.done",
       .at_point = fill,
       .after = free_space,
       .expect = failed({"cannot write the manifest"}),
       .needs = Needs::tmpfs_area},
      {.name = "disk_full_appending_to_runs_jsonl",
       .point = "commit.published",
       .before = fill_with_full_log_page,
       .at_point = fill,
       .after = free_space,
       .expect = {.exit_code = 1,
                  .backup = Backup::either,
                  .errors = {"cannot record the run"},
                  .recorded = false},
       .needs = Needs::tmpfs_area},
      {.name = "disk_full_halfway_through_the_runs_jsonl_line",
       .point = "commit.published",
       .before = fill_with_log_across_pages,
       .at_point = fill,
       .after = free_space,
       .expect = {.exit_code = 1,
                  .backup = Backup::either,
                  .errors = {"cannot record the run"},
                  .recorded = false},
       .needs = Needs::tmpfs_area},
      // A read-only area: found by preflight; a read-only mirror: rsync fails.
      {.name = "read_only_area",
       .before = area_read_only,
       .after = writable_again,
       .expect = {.exit_code = 2,
                  .errors = {"is on a read-only file system"},
                  .recorded = false},
       .needs = Needs::root},
      {.name = "read_only_mirror",
       .before = mirror_read_only,
       .after = writable_again,
       .expect = failed({"rsync exited with status"}),
       .needs = Needs::root},
      // Another run holds the lock.
      {.name = "lock_held",
       .before = hold_lock,
       .after = release_lock,
       .expect = {.exit_code = 3,
                  .errors = {"another odbox-backup run holds"},
                  .recorded = false}},
  };
}

std::vector<FaultRow> hot_rows() {
  auto rows = signal_rows();
  auto others = other_rows();
  rows.insert(rows.end(), others.begin(), others.end());
  return rows;
}

class HotMatrix : public ::testing::TestWithParam<FaultRow> {};

} // namespace

TEST_P(HotMatrix, KeepsTheContract) {
  run_fault_row(GetParam(), RunKind::hot);
}

INSTANTIATE_TEST_SUITE_P(Row, HotMatrix, ::testing::ValuesIn(hot_rows()),
                         [](const auto& row_info) { return row_info.param.name; });
