// odbox-backup hot against a real PostgreSQL 15, pg_dump, psql and rsync.

#include "harness.hpp"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>

using namespace odbox::it;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777U;
}

// Relative path -> content of every regular file under `dir`.
std::map<std::string, std::string> tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) {
    return out;
  }
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      out[e.path().lexically_relative(dir).string()] = read_file(e.path());
    }
  }
  return out;
}

// Whether process `pid` is blocked waiting for a file lock ("N: -> FLOCK
// ADVISORY WRITE <pid> ..." in /proc/locks).
bool waits_for_a_lock(pid_t pid) {
  std::istringstream lines(read_file("/proc/locks"));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string id, arrow, kind, mode, access, holder;
    if (words >> id >> arrow >> kind >> mode >> access >> holder && arrow == "->" &&
        holder == std::to_string(pid)) {
      return true;
    }
  }
  return false;
}

std::vector<fs::path> temporaries(const fs::path& area) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(area)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) {
      out.push_back(e.path());
    }
  }
  return out;
}

} // namespace

TEST(Hot, RoundTripRestoresEveryTableAndFile) {
  OdooScratch odoo;
  const auto source = odoo.digests(odoo.db());
  const auto out = odoo.backup({"hot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;

  // Every table restores with the same content.
  EXPECT_EQ(odoo.restore_digests(odoo.dump()), source);
  EXPECT_GE(source.size(), 6U);

  // The mirror equals the live store, file by file.
  EXPECT_EQ(tree(odoo.mirror()), tree(odoo.live_store()));
  const auto referenced = odoo.referenced_files(odoo.db());
  ASSERT_FALSE(referenced.empty());
  for (const auto& f : referenced) {
    EXPECT_TRUE(fs::is_regular_file(odoo.mirror() / f)) << f;
  }

  const auto m = odoo.manifest();
  EXPECT_EQ(m["kind"], "hot");
  EXPECT_EQ(m["database"], odoo.db());
  EXPECT_EQ(m["consistent"], true);
  EXPECT_EQ(m["filestore"]["missing_count"], 0);
  EXPECT_EQ(m["filestore"]["referenced"], referenced.size());
  EXPECT_EQ(m["dump"]["bytes"], fs::file_size(odoo.dump()));
  const auto sha = run({"sha256sum", odoo.dump().string()}).out.substr(0, 64);
  EXPECT_EQ(m["dump"]["sha256"], sha);
  EXPECT_EQ(m["postgresql"]["server_version"].get<std::string>().substr(0, 3), "15.");
  const auto runs = odoo.runs();
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0]["exit_code"], 0);
  EXPECT_EQ(runs[0]["databases"][0]["status"], "ok");
  // The referenced-file list is kept in the area.
  EXPECT_TRUE(fs::is_regular_file(odoo.area() / (odoo.db() + ".files.tsv")));
}

TEST(Hot, AreaIsPrivate) {
  OdooScratch odoo;
  fs::create_directories(odoo.basedir());
  ::chmod(odoo.basedir().c_str(), 0755);
  const auto out = odoo.backup({"hot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("set to 0700"), std::string::npos) << out.err;
  EXPECT_EQ(mode_of(odoo.basedir()), 0700U);
  EXPECT_EQ(mode_of(odoo.area()), 0700U);
  for (const auto& name :
       {odoo.dump(), odoo.manifest_path(), odoo.area() / "runs.jsonl"}) {
    EXPECT_EQ(mode_of(name), 0600U) << name;
  }
  for (const auto& e : fs::recursive_directory_iterator(odoo.mirror())) {
    EXPECT_EQ(mode_of(e.path()), e.is_directory() ? 0700U : 0600U) << e.path();
  }
}

TEST(Hot, LogLinesCarrySyslogPriorities) {
  OdooScratch odoo;
  const auto out = odoo.backup({"hot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::istringstream lines(out.err);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ASSERT_TRUE(line.starts_with("<6>") || line.starts_with("<4>") ||
                line.starts_with("<7>"))
        << line;
    ++count;
  }
  EXPECT_GT(count, 2);
}

TEST(Hot, JsonRecordOnStdout) {
  OdooScratch odoo;
  const auto out = odoo.backup({"--json", "hot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto record = nlohmann::json::parse(out.out);
  EXPECT_EQ(record["kind"], "hot");
  EXPECT_EQ(record["databases"][0]["database"], odoo.db());
  EXPECT_EQ(record, odoo.runs().back());
}

TEST(Hot, SecondRunPrunesOnlyUnreferencedFilesGoneFromTheStore) {
  OdooScratch odoo;
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  // Odoo deletes an attachment and its GC unlinks the file.
  const auto files = odoo.referenced_files(odoo.db());
  const std::string victim = files.front();
  odoo.sql("DELETE FROM ir_attachment WHERE store_fname = '" + victim + "'");
  fs::remove(odoo.live_store() / victim);
  // A file that left the live store while rows still reference it.
  const std::string still_referenced = files.back();
  fs::remove(odoo.live_store() / still_referenced);

  const auto out = odoo.backup({"hot"});
  // The second file is missing from the live store but the mirror has it
  // from the first run: the backup is consistent.
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(fs::exists(odoo.mirror() / victim));
  EXPECT_TRUE(fs::exists(odoo.mirror() / still_referenced));
  EXPECT_EQ(odoo.manifest()["filestore"]["pruned"], 1);
  EXPECT_EQ(odoo.runs().size(), 2U);
  // The live Odoo lost a file its database references: said, not hidden.
  EXPECT_EQ(odoo.manifest()["filestore"]["lost_from_live_count"], 1);
  EXPECT_EQ(odoo.manifest()["filestore"]["lost_from_live"],
            nlohmann::json::array({still_referenced}));
  EXPECT_EQ(odoo.runs().back()["databases"][0]["lost_from_live_files"], 1);
  EXPECT_NE(out.err.find("gone from the live file store"), std::string::npos) << out.err;
}

// A live store that is not there (a data dir whose mount is missing, say)
// must not empty the mirror: nothing is pruned, and every file the database
// references is reported as lost from the live store.
TEST(Hot, MissingLiveStorePrunesNothingAndReportsEveryFileLost) {
  OdooScratch odoo;
  odoo.write_unreferenced_file();
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  const auto before = odbox_test::tree_digest(odoo.mirror());
  fs::rename(odoo.live_store(), odoo.scratch() / "store-elsewhere");
  const auto metrics = odoo.scratch() / "odbox.prom";

  const auto out = odoo.backup({"hot", "--metrics-file", metrics.string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(odbox_test::tree_digest(odoo.mirror()), before);
  const auto m = odoo.manifest();
  EXPECT_EQ(m["filestore"]["pruned"], 0);
  EXPECT_TRUE(m["filestore"].contains("not_pruned_because")) << m.dump(2);
  EXPECT_EQ(m["filestore"]["lost_from_live_count"],
            odoo.referenced_files(odoo.db()).size());
  EXPECT_NE(out.err.find("not pruned this run"), std::string::npos) << out.err;
  EXPECT_NE(read_file(metrics).find(
                "odbox_backup_lost_from_live_files{kind=\"hot\",database=\"" + odoo.db() +
                "\"} " + std::to_string(odoo.referenced_files(odoo.db()).size())),
            std::string::npos)
      << read_file(metrics);
}

TEST(Hot, SecondRunCopiesWhatOdooWroteAndRestoresLikeTheFirst) {
  OdooScratch odoo;
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  // Odoo adds, deduplicates, rolls back and garbage-collects attachments.
  odoo.start_load({"--gc-every", "3", "--interval-ms", "5"});
  ASSERT_TRUE(odoo.wait_for_events("gc", 2));
  odoo.stop_load();
  const auto before = tree(odoo.mirror());
  ASSERT_NE(tree(odoo.live_store()), before) << "the load changed no file";

  const auto out = odoo.backup({"--log-level", "debug", "hot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  // The quick check ran and handed rsync only part of the store.
  EXPECT_NE(out.err.find(" files up to date, "), std::string::npos) << out.err;
  EXPECT_EQ(odoo.manifest()["filestore"]["missing_count"], 0);
  EXPECT_EQ(tree(odoo.mirror()), tree(odoo.live_store()));
  EXPECT_EQ(odoo.restore_digests(odoo.dump()), odoo.digests(odoo.db()));
}

TEST(Hot, ReportsExactlyTheFilesAGcRemovedBeforeTheCopy) {
  OdooScratch odoo;
  const auto files = odoo.referenced_files(odoo.db());
  ASSERT_GE(files.size(), 5U);
  const std::vector<std::string> gone{files[1], files[3], files[4]};
  const auto list = odoo.scratch() / "gc-files";
  std::ofstream(list) << gone[0] << "\n" << gone[1] << "\n" << gone[2] << "\n";

  const auto out = odoo.backup({"--rsync", wrapper("rsync-gc-race").string(), "hot"},
                               {"ODBOX_GC_FILES=" + list.string()});
  EXPECT_EQ(out.exit_code, 4) << out.err;
  const auto m = odoo.manifest();
  EXPECT_EQ(m["consistent"], false);
  EXPECT_EQ(m["filestore"]["missing_count"], 3);
  auto missing = m["filestore"]["missing"].get<std::vector<std::string>>();
  std::ranges::sort(missing);
  auto expected = gone;
  std::ranges::sort(expected);
  EXPECT_EQ(missing, expected);
  EXPECT_NE(out.err.find("missing from the mirror"), std::string::npos);
  // The dump itself is written and restores.
  EXPECT_EQ(odoo.restore_digests(odoo.dump()).size(), odoo.digests(odoo.db()).size());
  EXPECT_EQ(odoo.runs().back()["databases"][0]["status"], "inconsistent");
}

TEST(Hot, UnderLoadTheDumpIsTheSnapshotAndTheGcIsHeldOff) {
  OdooScratch odoo(OdooScratch::Options{.attachments = 300, .bulk_rows = 150000});
  odoo.start_load({"--gc-every", "1", "--interval-ms", "5"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto digests_file = odoo.scratch() / "snapshot-digests";
  const auto out =
      odoo.backup({"--pg-dump", wrapper("pg_dump-snapshot-digests").string(), "hot"},
                  {"ODBOX_DIGESTS_OUT=" + digests_file.string()});
  // Odoo goes on after the backup: its partner updates (every 5th step)
  // move the live database away from the snapshot.
  const auto events_so_far = odoo.events();
  const auto created = std::ranges::count_if(
      events_so_far, [](const nlohmann::json& e) { return e["event"] == "create"; });
  ASSERT_TRUE(odoo.wait_for_events("create", static_cast<std::size_t>(created) + 10));
  odoo.stop_load();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(odoo.manifest()["filestore"]["missing_count"], 0);

  // The restored dump equals the source as of the snapshot, table by table.
  const auto at_snapshot = parse_digests(read_file(digests_file));
  ASSERT_GE(at_snapshot.size(), 6U);
  EXPECT_EQ(odoo.restore_digests(odoo.dump()), at_snapshot);
  // ... while the live database moved on.
  EXPECT_NE(odoo.digests(odoo.db()), at_snapshot);

  // Every file the restored database references is in the mirror.
  const auto restored_db = odoo.db() + "_r0";
  for (const auto& f : odoo.referenced_files(restored_db)) {
    EXPECT_TRUE(fs::is_regular_file(odoo.mirror() / f)) << f;
  }
  // The stand-in's GC tried during the backup and was held off.
  const auto events = read_file(odoo.events_file());
  EXPECT_NE(events.find("\"gc_skipped\""), std::string::npos);
}

TEST(Hot, SeveralDatabasesInOneRun) {
  OdooScratch first;
  OdooScratch second(OdooScratch::Options{.attachments = 40, .bulk_rows = 2000}, "_b");
  // The second database's file store lives in the same data dir.
  fs::rename(second.live_store(), first.live_store().parent_path() / second.db());
  const auto out =
      first.raw({"--basedir", first.basedir().string(), "--db", first.db(), "--db",
                 second.db(), "--data-dir", first.data_dir().string(), "hot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(first.restore_digests(first.dump()), first.digests(first.db()));
  const auto second_dump = first.area() / (second.db() + ".dump.sql");
  EXPECT_EQ(first.restore_digests(second_dump), first.digests(second.db()));
  EXPECT_EQ(tree(first.area() / "filestore" / second.db()),
            tree(first.data_dir() / "filestore" / second.db()));
  const auto runs = first.runs();
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0]["databases"].size(), 2U);
}

TEST(Hot, StaleTemporaryFilesOfAKilledRunAreRemoved) {
  OdooScratch odoo;
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  const auto stale = odoo.area() / ("." + odoo.db() + ".dump.sql.tmp.99999.0");
  std::ofstream(stale) << "half a dump";
  const auto out = odoo.backup({"hot"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(temporaries(odoo.area()).empty());
}

// ---- failure paths: exit 1, the previous dump byte-identical, no temporary left

class HotFailure : public ::testing::Test {
protected:
  void SetUp() override {
    const auto out = odoo.backup({"hot"});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    previous_dump = read_file(odoo.dump());
    previous_manifest = read_file(odoo.manifest_path());
    // Odoo changes something so that a new dump would differ, and writes a
    // file, so that the mirror runs rsync.
    odoo.sql("UPDATE res_partner SET name = name || ' (changed)' WHERE id % 7 = 0");
    odoo.write_unreferenced_file();
  }
  void expect_previous_backup_intact() {
    EXPECT_TRUE(read_file(odoo.dump()) == previous_dump) << "the previous dump changed";
    EXPECT_TRUE(read_file(odoo.manifest_path()) == previous_manifest)
        << "the manifest changed";
    EXPECT_TRUE(temporaries(odoo.area()).empty());
    EXPECT_EQ(odoo.runs().back()["exit_code"], 1);
    EXPECT_EQ(odoo.runs().back()["databases"][0]["status"], "failed");
  }
  OdooScratch odoo;
  std::string previous_dump;
  std::string previous_manifest;
};

TEST_F(HotFailure, PgDumpKilledMidStream) {
  const auto out =
      odoo.backup({"--pg-dump", wrapper("pg_dump-truncating").string(), "hot"},
                  {"ODBOX_TRUNCATE_BYTES=50000"});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("pg_dump exited with status"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("previous dump is kept"), std::string::npos) << out.err;
  // Named once, by the loop over the databases.
  EXPECT_NE(out.err.find(odoo.db() + ": pg_dump exited"), std::string::npos) << out.err;
  EXPECT_EQ(out.err.find(odoo.db() + ": " + odoo.db() + ": "), std::string::npos)
      << out.err;
  expect_previous_backup_intact();
}

TEST_F(HotFailure, TruncatedDumpThatClaimsSuccess) {
  const auto out =
      odoo.backup({"--pg-dump", wrapper("pg_dump-truncating").string(), "hot"},
                  {"ODBOX_TRUNCATE_BYTES=50000", "ODBOX_TRUNCATE_EXIT=0"});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("lacks its completion line"), std::string::npos) << out.err;
  expect_previous_backup_intact();
}

// A dump that looks whole but lacks a row of ir_attachment is caught by
// counting the block's rows against the snapshot's.
TEST_F(HotFailure, DumpMissingAnAttachmentRow) {
  const auto out =
      odoo.backup({"--pg-dump", wrapper("pg_dump-dropping-a-row").string(), "hot"});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("ir_attachment data holds"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("the dump is incomplete"), std::string::npos) << out.err;
  expect_previous_backup_intact();
}

TEST_F(HotFailure, RsyncFails) {
  const auto out = odoo.backup({"--rsync", wrapper("rsync-failing").string(), "hot"},
                               {"ODBOX_RSYNC_EXIT=23"});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("rsync exited with status 23"), std::string::npos) << out.err;
  expect_previous_backup_intact();
}

TEST_F(HotFailure, PostgresUnreachable) {
  const auto out = odoo.backup({"hot"}, {"PGPORT=1", "PGHOST=127.0.0.1"});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("cannot connect to PostgreSQL"), std::string::npos) << out.err;
  EXPECT_TRUE(read_file(odoo.dump()) == previous_dump) << "the previous dump changed";
  EXPECT_EQ(odoo.runs().size(), 1U); // preflight: not a run
}

TEST_F(HotFailure, SigtermDuringTheDump) {
  // A slow pg_dump keeps the run in its dump phase; SIGTERM then ends it.
  const auto started = odoo.scratch() / "started";
  auto child = odoo.spawn_backup(
      {"--pg-dump", wrapper("pg_dump-slow").string(), "hot"},
      {"ODBOX_STARTED_FILE=" + started.string(), "ODBOX_SLOW_SECONDS=20"});
  ASSERT_TRUE(wait_until([&] { return fs::exists(started); }, std::chrono::minutes(2)));
  ::kill(child.pid(), SIGTERM);
  const auto status = child.wait();
  EXPECT_EQ(status.code, 128 + SIGTERM);
  EXPECT_TRUE(read_file(odoo.dump()) == previous_dump) << "the previous dump changed";
  EXPECT_TRUE(temporaries(odoo.area()).empty());
  EXPECT_EQ(odoo.runs().back()["exit_code"], 128 + SIGTERM);
}

// The mirror's files gone from the live store are deleted only after the new
// dump and its manifest are committed: a run killed while deleting them
// leaves a dump and a manifest that match, and the next run deletes the rest.
TEST(Hot, KilledWhilePruningLeavesADumpAndAManifestThatMatch) {
  OdooScratch odoo;
  const auto first = odoo.backup({"hot"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string first_manifest = read_file(odoo.manifest_path());
  // Files Odoo's GC removed: in the mirror, not in the live store, not
  // referenced.
  constexpr std::size_t k_gone = 5;
  const fs::path gone = odoo.mirror() / "zy";
  fs::create_directories(gone);
  for (std::size_t i = 0; i < k_gone; ++i) {
    std::ofstream(gone / ("gone" + std::to_string(i))) << "x";
  }
  odoo.sql("UPDATE res_partner SET name = name || ' (changed)' WHERE id % 7 = 0");

  // The run stops itself right after the prune deleted its first file.
  auto child = odoo.spawn_backup({"hot"}, stop_at("prune.deleting"));
  const bool stopped = wait_until_stopped(child.pid(), std::chrono::minutes(2));
  ::kill(child.pid(), SIGKILL);
  const auto status = child.wait();
  ASSERT_TRUE(stopped) << "the run did not reach the prune (exit " << status.code << ")";
  ASSERT_EQ(status.signal, SIGKILL);
  const auto left = static_cast<std::size_t>(
      std::distance(fs::directory_iterator(gone), fs::directory_iterator{}));
  ASSERT_EQ(left, k_gone - 1);

  EXPECT_TRUE(read_file(odoo.manifest_path()) != first_manifest)
      << "the new manifest is missing";
  const auto verify = odoo.backup({"verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  const auto next = odoo.backup({"hot"});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(odoo.manifest()["filestore"]["pruned"].get<std::size_t>(), left);
  EXPECT_TRUE(fs::is_empty(gone));
}

TEST(Hot, RsyncVanishedFilesAreNormal) {
  OdooScratch odoo;
  const auto out = odoo.backup({"--rsync", wrapper("rsync-failing").string(), "hot"},
                               {"ODBOX_RSYNC_EXIT=24", "ODBOX_RSYNC_RUN_REAL=1"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("vanished"), std::string::npos) << out.err;
}

TEST(Hot, SecondRunExitsThreeWhileTheFirstHoldsTheLock) {
  OdooScratch odoo;
  const auto started = odoo.scratch() / "started";
  const auto release = odoo.scratch() / "release";
  // The first run holds the lock until the test releases its pg_dump.
  auto first = odoo.spawn_backup(
      {"--pg-dump", wrapper("pg_dump-slow").string(), "hot"},
      {"ODBOX_STARTED_FILE=" + started.string(), "ODBOX_SLOW_UNTIL=" + release.string()});
  ASSERT_TRUE(wait_until([&] { return fs::exists(started); }, std::chrono::minutes(2)));
  const auto second = odoo.backup({"hot"});
  EXPECT_EQ(second.exit_code, 3) << second.err;
  EXPECT_NE(second.err.find("another odbox-backup run holds"), std::string::npos);
  EXPECT_NE(second.err.find("pid " + std::to_string(first.pid()) + ", hot"),
            std::string::npos)
      << second.err;
  // --wait-lock queues behind it instead: it blocks in flock(2), where
  // /proc/locks shows it as a waiter, until the first run ends.
  auto queued = odoo.spawn_backup({"hot", "--wait-lock"});
  EXPECT_TRUE(wait_until([&] { return waits_for_a_lock(queued.pid()); },
                         std::chrono::minutes(2)));
  odbox_test::write_file(release, "");
  EXPECT_EQ(first.wait().code, 0);
  EXPECT_EQ(queued.wait().code, 0);
  EXPECT_EQ(odoo.runs().size(), 2U);
}
