// verify, restore, status, export and metrics on real backups.

#include "harness.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <thread>

using namespace odbox::it;

namespace {

void flip_byte(const fs::path& file, std::uintmax_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x20));
}

class Verify : public ::testing::Test {
protected:
  void SetUp() override {
    const auto out = odoo.backup({"hot"});
    ASSERT_EQ(out.exit_code, 0) << out.err;
  }
  RunOutput verify(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--basedir", odoo.basedir().string(), "verify"};
    args.insert(args.end(), extra.begin(), extra.end());
    return odoo.raw(args);
  }
  OdooScratch odoo;
};

} // namespace

TEST_F(Verify, SoundBackupPassesEveryCheck) {
  const auto out = verify({"--deep", "--restore-test"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("test restore passed"), std::string::npos) << out.err;
  // The scratch database is gone.
  EXPECT_EQ(
      odoo.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'odbox_verify_%'"),
      "0\n");
}

TEST_F(Verify, TruncatedDump) {
  fs::resize_file(odoo.dump(), fs::file_size(odoo.dump()) / 2);
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("truncated"), std::string::npos) << out.err;
}

TEST_F(Verify, FlippedByteInTheDump) {
  flip_byte(odoo.dump(), fs::file_size(odoo.dump()) / 3);
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("SHA-256"), std::string::npos) << out.err;
}

TEST_F(Verify, MissingMirrorFile) {
  const auto files = odoo.referenced_files(odoo.db());
  fs::remove(odoo.mirror() / files.front());
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("missing from the mirror: " + files.front()), std::string::npos)
      << out.err;
}

TEST_F(Verify, CorruptedMirrorFileNeedsDeep) {
  const auto files = odoo.referenced_files(odoo.db());
  const auto victim = odoo.mirror() / files.back();
  ASSERT_GT(fs::file_size(victim), 0U);
  flip_byte(victim, 0);
  EXPECT_EQ(verify().exit_code, 0); // same size: only the content check sees it
  const auto out = verify({"--deep"});
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("corrupted file"), std::string::npos) << out.err;
}

TEST_F(Verify, DumpThatDoesNotLoad) {
  // Valid ending, valid checksum in the manifest, but SQL that fails.
  auto text = read_file(odoo.dump());
  const auto pos = text.find("CREATE TABLE");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 12, "CREATE TABEL");
  std::ofstream(odoo.dump(), std::ios::binary | std::ios::trunc) << text;
  auto manifest = odoo.manifest();
  manifest["dump"]["sha256"] = run({"sha256sum", odoo.dump().string()}).out.substr(0, 64);
  manifest["dump"]["bytes"] = fs::file_size(odoo.dump());
  std::ofstream(odoo.manifest_path(), std::ios::trunc) << manifest.dump(2);
  EXPECT_EQ(verify().exit_code, 0);
  const auto out = verify({"--restore-test"});
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("the dump does not load"), std::string::npos) << out.err;
  EXPECT_EQ(
      odoo.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'odbox_verify_%'"),
      "0\n");
}

// The manifest rewritten to match whatever the dump file now holds, as a
// careless hand (or a bug) would leave it.
void rewrite_manifest_for_dump(OdooScratch& odoo) {
  auto manifest = odoo.manifest();
  manifest["dump"]["sha256"] = run({"sha256sum", odoo.dump().string()}).out.substr(0, 64);
  manifest["dump"]["bytes"] = fs::file_size(odoo.dump());
  std::ofstream(odoo.manifest_path(), std::ios::trunc) << manifest.dump(2);
}

TEST_F(Verify, RecordsTheFileListAndTheAttachmentRows) {
  const auto m = odoo.manifest();
  const auto list = odoo.area() / (odoo.db() + ".files.tsv");
  EXPECT_EQ(m["filestore"]["references_sha256"],
            run({"sha256sum", list.string()}).out.substr(0, 64));
  EXPECT_EQ(m["filestore"]["referenced"], odbox_test::read_lines(list).size());
  const auto rows = std::stoull(odoo.sql("SELECT count(*) FROM ir_attachment"));
  EXPECT_EQ(m["ir_attachment_rows"]["dump"], rows);
  EXPECT_EQ(m["ir_attachment_rows"]["snapshot"], rows);
}

TEST_F(Verify, OnlyTheClosingLineIsNoDump) {
  std::ofstream(odoo.dump(), std::ios::binary | std::ios::trunc)
      << "--\n-- PostgreSQL database dump complete\n--\n\n";
  rewrite_manifest_for_dump(odoo);
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("does not start with pg_dump's header"), std::string::npos)
      << out.err;
  EXPECT_NE(out.err.find("ir_attachment data holds no rows"), std::string::npos)
      << out.err;
}

TEST_F(Verify, DumpWithoutItsAttachmentRows) {
  // A dump cut to its header and its closing lines: it parses, it is not whole.
  const auto text = read_file(odoo.dump());
  const auto copy = text.find("COPY public.ir_attachment ");
  ASSERT_NE(copy, std::string::npos);
  const auto end = text.find("\n\\.\n", copy);
  ASSERT_NE(end, std::string::npos);
  std::ofstream(odoo.dump(), std::ios::binary | std::ios::trunc)
      << text.substr(0, copy) << text.substr(end + 4);
  rewrite_manifest_for_dump(odoo);
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("ir_attachment data holds no rows"), std::string::npos)
      << out.err;
}

TEST_F(Verify, FileListWithALineAndItsFileGone) {
  const auto list = odoo.area() / (odoo.db() + ".files.tsv");
  auto lines = odbox_test::read_lines(list);
  ASSERT_GE(lines.size(), 2U);
  const auto victim = lines.front().substr(0, lines.front().find('\t'));
  lines.erase(lines.begin());
  std::string text;
  for (const auto& line : lines) {
    text += line + "\n";
  }
  odbox_test::write_file(list, text);
  fs::remove(odoo.mirror() / victim);
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("it was changed"), std::string::npos) << out.err;
}

TEST_F(Verify, EmptiedFileList) {
  odbox_test::write_file(odoo.area() / (odoo.db() + ".files.tsv"), "");
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("it was changed"), std::string::npos) << out.err;
}

TEST_F(Verify, EditedReferencedCount) {
  auto manifest = odoo.manifest();
  manifest["filestore"]["referenced"] =
      manifest["filestore"]["referenced"].get<int>() - 1;
  std::ofstream(odoo.manifest_path(), std::ios::trunc) << manifest.dump(2);
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("it was changed"), std::string::npos) << out.err;
}

TEST_F(Verify, ManifestThatIsNotJsonIsAProblemFound) {
  odbox_test::write_file(odoo.manifest_path(), "{\"kind\": \"hot\",");
  const auto out = verify();
  EXPECT_EQ(out.exit_code, 4) << out.err;
  EXPECT_NE(out.err.find("is malformed"), std::string::npos) << out.err;
}

TEST_F(Verify, CopyOfTheAreaElsewhereVerifiesClean) {
  const auto copy = odoo.scratch() / "copy";
  ASSERT_EQ(run({"cp", "-a", odoo.basedir().string(), copy.string()}).exit_code, 0);
  fs::remove_all(odoo.basedir());
  const auto out = odoo.raw({"--basedir", copy.string(), "verify", "--deep"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
}

TEST(Restore, CopyUnderANewNameRoundTrips) {
  OdooScratch odoo;
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  const auto source = odoo.digests(odoo.db());
  const std::string copy = odoo.db() + "_copy";
  const auto out = odoo.backup({"restore", "--target-db", copy});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  expect_copy_of(odoo, copy, source);
  const auto uuid = [&](const std::string& db) {
    return run({"psql", "-X", "-At", "-d", db, "-c",
                "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'"},
               odoo.pg().env())
        .out;
  };
  EXPECT_NE(uuid(copy), uuid(odoo.db()));
  run({"dropdb", copy}, odoo.pg().env());
}

TEST(Restore, RefusesAnExistingDatabaseWithoutForce) {
  OdooScratch odoo;
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  const auto out = odoo.backup({"restore"});
  EXPECT_EQ(out.exit_code, 2) << out.err;
  EXPECT_NE(out.err.find("--force"), std::string::npos) << out.err;
}

TEST(Restore, ForceReplacesWithOdooStoppedAroundTheSwap) {
  OdooScratch odoo;
  odoo.install_odoo_service();
  ASSERT_EQ(odoo.cold().exit_code, 0);
  // A change after the backup: the restore takes it away.
  odoo.sql("CREATE TABLE after_backup (x int)");
  const auto out = odoo.backup({"--systemctl", fake_systemctl(), "restore", "--force",
                                "--marker-dir", odoo.marker_dir().string()},
                               odoo.systemctl_env());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(odoo.odoo_active());
  const auto calls = odoo.service_calls();
  ASSERT_GE(calls.size(), 2U);
  EXPECT_EQ(calls[calls.size() - 2].second, "stop odoo.service");
  EXPECT_EQ(calls.back().second, "start odoo.service");
  EXPECT_EQ(odoo.sql("SELECT to_regclass('after_backup') IS NULL"), "t\n");
}

TEST(Restore, FailureLeavesNoTargetDatabaseNorFileStore) {
  OdooScratch odoo;
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  // Break the dump half-way: the load fails under ON_ERROR_STOP.
  auto text = read_file(odoo.dump());
  const auto pos = text.find("COPY public.res_partner");
  ASSERT_NE(pos, std::string::npos);
  text.insert(pos, "SELECT no_such_function();\n");
  std::ofstream(odoo.dump(), std::ios::binary | std::ios::trunc) << text;
  const std::string copy = odoo.db() + "_broken";
  const auto out = odoo.backup({"restore", "--target-db", copy});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("does not load"), std::string::npos) << out.err;
  EXPECT_EQ(
      odoo.sql("SELECT count(*) FROM pg_database WHERE datname LIKE '" + copy + "%'"),
      "0\n");
  for (const auto& e : fs::directory_iterator(odoo.data_dir() / "filestore")) {
    EXPECT_EQ(e.path().filename().string().find(copy), std::string::npos) << e.path();
  }
}

TEST(Status, ReportsRunsAndMaxAge) {
  OdooScratch odoo;
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  odoo.write_unreferenced_file();
  ASSERT_EQ(odoo.backup({"--rsync", wrapper("rsync-failing").string(), "hot"}).exit_code,
            1);
  const auto text = odoo.raw({"--basedir", odoo.basedir().string(), "status"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(odoo.db()), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("failed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("last error"), std::string::npos) << text.out;
  const auto json = odoo.raw({"--basedir", odoo.basedir().string(), "--json", "status"});
  const auto status = nlohmann::json::parse(json.out);
  ASSERT_EQ(status.size(), 1U);
  EXPECT_EQ(status[0]["last_run"]["status"], "failed");
  EXPECT_EQ(status[0]["last_success"]["status"], "ok");
  EXPECT_EQ(odoo.raw({"--basedir", odoo.basedir().string(), "status", "--max-age", "1h"})
                .exit_code,
            0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const auto old =
      odoo.raw({"--basedir", odoo.basedir().string(), "status", "--max-age", "1s"});
  EXPECT_EQ(old.exit_code, 4) << old.err;
  EXPECT_EQ(
      odoo.raw({"--basedir", odoo.basedir().string(), "status", "--max-age", "soon"})
          .exit_code,
      2);
}

TEST(Metrics, WrittenAtomicallyForTheTextfileCollector) {
  OdooScratch odoo;
  const auto metrics = odoo.scratch() / "odbox.prom";
  ASSERT_EQ(odoo.backup({"hot", "--metrics-file", metrics.string()}).exit_code, 0);
  const auto text = read_file(metrics);
  const std::string label = "{kind=\"hot\",database=\"" + odoo.db() + "\"}";
  for (const char* name :
       {"odbox_backup_last_success_timestamp_seconds", "odbox_backup_exit_code",
        "odbox_backup_dump_bytes", "odbox_backup_missing_files",
        "odbox_backup_duration_seconds"}) {
    EXPECT_NE(text.find(std::string(name) + label), std::string::npos) << name << "\n"
                                                                       << text;
  }
  EXPECT_NE(text.find("odbox_backup_exit_code" + label + " 0"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(metrics.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0644U);
  // A failed run is visible too.
  odoo.write_unreferenced_file();
  ASSERT_EQ(odoo.backup({"--rsync", wrapper("rsync-failing").string(), "hot",
                         "--metrics-file", metrics.string()})
                .exit_code,
            1);
  EXPECT_NE(read_file(metrics).find("odbox_backup_exit_code" + label + " 1"),
            std::string::npos);
}

TEST(Export, ZipForOdoosDatabaseManager) {
  OdooScratch odoo;
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  const auto zip = odoo.scratch() / "odoo.zip";
  const auto out = odoo.backup({"export", "--zip", zip.string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto listing = run({"unzip", "-Z1", zip.string()});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_NE(listing.out.find("dump.sql\n"), std::string::npos);
  EXPECT_NE(listing.out.find("manifest.json\n"), std::string::npos);
  for (const auto& f : odoo.referenced_files(odoo.db())) {
    EXPECT_NE(listing.out.find("filestore/" + f + "\n"), std::string::npos) << f;
  }
  const auto manifest =
      nlohmann::json::parse(run({"unzip", "-p", zip.string(), "manifest.json"}).out);
  EXPECT_EQ(manifest["odoo_dump"], "1");
  EXPECT_EQ(manifest["db_name"], odoo.db());
  EXPECT_EQ(manifest["pg_version"], "15.0");
  EXPECT_TRUE(manifest["modules"].contains("base"));
  // Its dump.sql restores with psql.
  const auto extracted = odoo.scratch() / "extracted";
  ASSERT_EQ(run({"unzip", "-q", zip.string(), "-d", extracted.string()}).exit_code, 0);
  EXPECT_EQ(odoo.restore_digests(extracted / "dump.sql"), odoo.digests(odoo.db()));
  EXPECT_TRUE(read_file(extracted / "dump.sql") == read_file(odoo.dump()));
}
