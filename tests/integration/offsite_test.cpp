// Off-site generations through real restic, into a local-path repository
// and a REST repository served by `rclone serve restic` on loopback.

#include "odbox/util/digest.hpp"
#include "offsite_support.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <thread>

using namespace odbox::it;

namespace {

enum class Backend { local, rest, rest_append_only };

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
  case Backend::local:
    return "LocalPath";
  case Backend::rest:
    return "RcloneRest";
  case Backend::rest_append_only:
    return "RcloneRestAppendOnly";
  }
  return "?";
}

// Where a test's generations go: a directory, or a server on loopback.
struct Repository {
  Repository(const OdooScratch& odoo, Backend backend) {
    if (backend == Backend::local) {
      dir = odoo.scratch() / "repo";
      location = dir.string();
      return;
    }
    server.emplace(odoo.scratch() / "rest", backend == Backend::rest_append_only);
    location = server->repository("odoo");
    dir = server->dir() / "odoo";
  }
  std::optional<ResticServer> server;
  std::string location;
  fs::path dir; // the repository's files
};

std::string sha256_of(const fs::path& file) {
  return odbox::util::file_digest(file.string(), odbox::util::Digest::Kind::sha256);
}

// Drops a database at the end of a test.
struct DropAtEnd {
  const OdooScratch& odoo;
  std::string db;
  ~DropAtEnd() { run({"dropdb", "--if-exists", db}, odoo.pg().env()); }
};

class OffsiteRoundTrip : public ::testing::TestWithParam<Backend> {};

} // namespace

TEST_P(OffsiteRoundTrip, TheFirstGenerationRestoresAsANewDatabase) {
  OdooScratch odoo;
  const Repository repo(odoo, GetParam());
  const OffsiteSetup offsite(odoo, repo.location);

  // Generation 1, taken while Odoo writes: its tables as of the snapshot.
  odoo.start_load();
  const auto digests_file = odoo.scratch() / "digests-1";
  auto out = odoo.backup(
      offsite.args({"--pg-dump", wrapper("pg_dump-snapshot-digests").string(), "hot"}),
      {"ODBOX_DIGESTS_OUT=" + digests_file.string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto first = parse_digests(read_file(digests_file));
  ASSERT_GE(first.size(), 6U);
  const auto first_manifest_sha = sha256_of(odoo.manifest_path());
  const auto first_push = last_push(odoo, odoo.db());
  ASSERT_EQ(first_push["status"], "ok") << first_push.dump();

  // Odoo goes on writing; generation 2.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  out = odoo.backup(offsite.args({"hot"}));
  odoo.stop_load();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto second_push = last_push(odoo, odoo.db());
  ASSERT_EQ(second_push["status"], "ok") << second_push.dump();
  EXPECT_NE(odoo.digests(odoo.db()), first)
      << "Odoo wrote nothing between the generations";

  const auto snapshots = offsite.snapshots();
  ASSERT_EQ(snapshots.size(), 2U);
  const auto& oldest = snapshots.front();
  EXPECT_EQ(oldest["short_id"], first_push["snapshot_id"]);
  EXPECT_EQ(tag_of(oldest, "db"), odoo.db());
  EXPECT_EQ(tag_of(oldest, "kind"), "hot");
  EXPECT_EQ(tag_of(oldest, "consistent"), "true");
  EXPECT_EQ(tag_of(oldest, "manifest"), first_manifest_sha);
  EXPECT_NE(std::ranges::find(oldest["tags"], "odbox"), oldest["tags"].end());

  // The first generation, restored as a new database.
  const std::string copy = odoo.db() + "_first";
  const DropAtEnd drop{odoo, copy};
  const auto staging = odoo.scratch() / "staging";
  out = odoo.backup(offsite.args({"restore", "--from-offsite",
                                  first_push["snapshot_id"].get<std::string>(),
                                  "--target-db", copy, "--staging", staging.string()}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(fs::exists(staging)) << "the staging directory is removed";
  expect_copy_of(odoo, copy, first);

  // And the newest generation checks as an area copy.
  out = odoo.backup(offsite.args({"offsite", "check", "--read-data-subset", "100%"}));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("is sound"), std::string::npos) << out.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, OffsiteRoundTrip,
                         ::testing::Values(Backend::local, Backend::rest), backend_name);

// A generation pushed with a zstd dump comes back from off site after the
// area has gone back to a plain dump: the restore reads the dump the
// generation's own manifest names.
TEST(Offsite, ACompressedGenerationRestoresAfterTheAreaWentBackToPlain) {
  OdooScratch odoo;
  const OffsiteSetup offsite(odoo, (odoo.scratch() / "repo").string());
  auto out = odoo.backup(offsite.args({"hot", "--compression", "zstd:3"}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto compressed = last_push(odoo, odoo.db());
  ASSERT_EQ(compressed["status"], "ok") << compressed.dump();
  const auto packed_digests = odoo.digests(odoo.db());
  const auto area = odoo.manifest_path().parent_path();
  ASSERT_TRUE(fs::exists(area / (odoo.db() + ".dump.sql.zst")));

  odoo.sql("UPDATE res_partner SET name = name || ' (later)'");
  out = odoo.backup(offsite.args({"hot", "--compression", "none"}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  ASSERT_FALSE(fs::exists(area / (odoo.db() + ".dump.sql.zst")));
  ASSERT_TRUE(fs::exists(area / (odoo.db() + ".dump.sql")));
  ASSERT_NE(odoo.digests(odoo.db()), packed_digests);

  const std::string copy = odoo.db() + "_zstd";
  const DropAtEnd drop{odoo, copy};
  out = odoo.backup(offsite.args(
      {"restore", "--from-offsite", compressed["snapshot_id"].get<std::string>(),
       "--target-db", copy, "--staging", (odoo.scratch() / "staging").string()}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  expect_copy_of(odoo, copy, packed_digests);
}

TEST(Offsite, DedupNoChangePushAndOnePercentOfAttachments) {
  OdooScratch odoo(OdooScratch::Options{.attachments = 20, .bulk_rows = 200});
  const auto ids = add_attachments(odoo, 400, 256 * 1024);
  const Repository repo(odoo, Backend::local);
  const OffsiteSetup offsite(odoo, repo.location);
  // Dumps of unchanged data are then byte for byte the same (see the wrapper).
  const std::string pg_dump = wrapper("pg_dump-fixed-restrict-key").string();

  auto out = odoo.backup(offsite.args({"--pg-dump", pg_dump, "hot"}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto first = last_push(odoo, odoo.db());
  const auto area_bytes = first["bytes"].get<std::uint64_t>();
  ASSERT_GT(area_bytes, 100U << 20U);

  // A second push, nothing changed.
  out = odoo.backup(offsite.args({"offsite", "push"}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto unchanged = last_push(odoo, odoo.db())["bytes_added"].get<std::uint64_t>();
  EXPECT_LT(unchanged, area_bytes / 100);

  // A hot run with nothing changed, and its push.
  out = odoo.backup(offsite.args({"--pg-dump", pg_dump, "hot"}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto rerun = last_push(odoo, odoo.db())["bytes_added"].get<std::uint64_t>();
  EXPECT_LT(rerun, area_bytes / 100);

  // 1 % of the attachments change (4 of 420): about their bytes are added.
  std::uint64_t changed = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    changed += replace_attachment(odoo, ids.at(i * 97));
  }
  out = odoo.backup(offsite.args({"--pg-dump", pg_dump, "hot"}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto after_change =
      last_push(odoo, odoo.db())["bytes_added"].get<std::uint64_t>();
  EXPECT_GE(after_change, changed);
  EXPECT_LE(after_change, changed * 3 / 2);
  std::cout << "dedup: area " << area_bytes << " bytes; first push added "
            << first["bytes_added"] << "; no-change push " << unchanged
            << "; no-change hot + push " << rerun << "; " << changed
            << " bytes of attachments changed, push added " << after_change << "\n";
  RecordProperty("area_bytes", std::to_string(area_bytes));
  RecordProperty("no_change_push_added", std::to_string(unchanged));
  RecordProperty("no_change_hot_push_added", std::to_string(rerun));
  RecordProperty("changed_bytes", std::to_string(changed));
  RecordProperty("changed_push_added", std::to_string(after_change));
}

TEST(Offsite, AMarkerInARowAppearsInNoFileOfTheRepository) {
  OdooScratch odoo;
  const Repository repo(odoo, Backend::local);
  const OffsiteSetup offsite(odoo, repo.location);
  const std::string marker = "ODBOX-ENCRYPTION-MARKER-7f3a9c";
  odoo.sql("UPDATE res_partner SET name = '" + marker +
           "' WHERE id = (SELECT min(id) FROM "
           "res_partner)");
  const auto out = odoo.backup(offsite.args({"hot"}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  ASSERT_NE(read_file(odoo.dump()).find(marker), std::string::npos)
      << "the marker was pushed";
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(repo.dir)) {
    if (e.is_regular_file()) {
      ++files;
      EXPECT_EQ(read_file(e.path()).find(marker), std::string::npos) << e.path();
      expect_no_secret(read_file(e.path()), offsite.secrets(), e.path().string());
    }
  }
  EXPECT_GT(files, 5U);
  // Repository format 2: compressed.
  const auto config = offsite.restic({"cat", "config"});
  ASSERT_EQ(config.exit_code, 0) << config.err;
  EXPECT_EQ(nlohmann::json::parse(config.out)["version"], 2);
}

TEST(Offsite, ForgetKeepsExactlyWhatKeepSaysAndNeverTheNewest) {
  OdooScratch odoo;
  const Repository repo(odoo, Backend::local);
  OffsiteSetup offsite(odoo, repo.location);
  offsite.write_config(
      {{"keep", {{"last", 2}, {"daily", 3}, {"weekly", 0}, {"monthly", 2}}}});
  offsite.init_repository();
  const auto data = odoo.scratch() / "generation";
  fs::create_directories(data / "odoo");
  std::ofstream(data / "odoo" / "x.dump.sql") << "-- a generation\n";
  const auto make = [&](const std::string& db, const std::string& kind,
                        const std::string& t) {
    const auto out = run({"restic", "backup", "-q", "--time", t, "--tag",
                          "odbox,db=" + db + ",kind=" + kind + ",consistent=true",
                          (data / "odoo").string()},
                         offsite.restic_env());
    ASSERT_EQ(out.exit_code, 0) << out.err;
  };
  const std::vector<std::string> hot = {
      "2026-09-15 10:00:00", "2026-10-15 10:00:00", "2026-11-01 10:00:00",
      "2026-11-01 12:00:00", "2026-11-02 10:00:00", "2026-11-03 09:00:00",
      "2026-11-03 18:00:00", "2026-11-10 10:00:00", "2026-11-20 10:00:00",
      "2026-11-20 11:00:00", "2026-11-20 12:00:00"};
  const std::vector<std::string> cold = {"2026-10-29 02:00:00", "2026-11-05 02:00:00",
                                         "2026-11-12 02:00:00", "2026-11-19 02:00:00",
                                         "2026-11-26 02:00:00"};
  for (const auto& t : hot) {
    make(odoo.db(), "hot", t);
  }
  for (const auto& t : cold) {
    make(odoo.db(), "cold", t);
  }
  make("other_db", "hot", "2026-01-01 10:00:00");

  const auto out = odoo.raw(offsite.args({"--json", "offsite", "forget"}), {"TZ=UTC"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::map<std::string, std::vector<std::string>> kept;
  for (const auto& s : offsite.snapshots()) {
    kept[tag_of(s, "db") + "/" + tag_of(s, "kind")].push_back(
        s["time"].get<std::string>().substr(0, 16));
  }
  // last 2, the newest of each of the 3 newest days, of each of the 2 newest months.
  EXPECT_EQ(kept[odoo.db() + "/hot"],
            (std::vector<std::string>{"2026-10-15T10:00", "2026-11-03T18:00",
                                      "2026-11-10T10:00", "2026-11-20T11:00",
                                      "2026-11-20T12:00"}));
  EXPECT_EQ(kept[odoo.db() + "/cold"],
            (std::vector<std::string>{"2026-10-29T02:00", "2026-11-12T02:00",
                                      "2026-11-19T02:00", "2026-11-26T02:00"}));
  EXPECT_EQ(kept["other_db/hot"], std::vector<std::string>{"2026-01-01T10:00"});
  const auto result = nlohmann::json::parse(out.out);
  EXPECT_EQ(result["pruned"], true);
  // The repository is sound after the prune.
  EXPECT_EQ(offsite.restic({"check"}).exit_code, 0);
}

TEST(Offsite, AppendOnlyServerTakesPushesAndRefusesForgetCleanly) {
  OdooScratch odoo;
  const Repository repo(odoo, Backend::rest_append_only);
  OffsiteSetup offsite(odoo, repo.location);
  offsite.write_config({{"keep", {{"last", 1}}}});
  for (int i = 0; i < 2; ++i) {
    const auto out = odoo.backup(offsite.args({"hot"}));
    ASSERT_EQ(out.exit_code, 0) << out.err;
    ASSERT_EQ(last_push(odoo, odoo.db())["status"], "ok");
  }
  ASSERT_EQ(offsite.snapshots().size(), 2U);
  const auto out = odoo.backup(offsite.args({"offsite", "forget"}));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("append-only"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("trusted machine"), std::string::npos) << out.err;
  EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << out.err;
  EXPECT_EQ(offsite.snapshots().size(), 2U) << "nothing was deleted";
  // The generations there still check.
  const auto check = odoo.backup(offsite.args({"offsite", "check"}));
  EXPECT_EQ(check.exit_code, 0) << check.err;
}
