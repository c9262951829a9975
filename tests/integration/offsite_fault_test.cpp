// Off-site pushes when things go wrong, and what runs, status and metrics
// say about them: with real restic, a local-path repository or a REST
// server on loopback.

#include "offsite_support.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <thread>

using namespace odbox::it;

namespace {

std::size_t lines_of(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Waits (bounded) until `file` exists.
bool wait_for(const fs::path& file) {
  for (int i = 0; i < 1200; ++i) {
    if (fs::exists(file)) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

} // namespace

TEST(OffsiteFault, ResticMissingIsExitTwoAtPreflight) {
  OdooScratch odoo;
  const OffsiteSetup offsite(odoo, (odoo.scratch() / "repo").string());
  const auto out = odoo.backup(offsite.args({"--restic", "/nonexistent/restic", "hot"}));
  EXPECT_EQ(out.exit_code, 2) << out.err;
  EXPECT_NE(out.err.find("not found: install restic"), std::string::npos) << out.err;
  EXPECT_EQ(lines_of(out.err), 1U) << out.err;
  EXPECT_FALSE(fs::exists(odoo.basedir()));
  EXPECT_FALSE(fs::exists(odoo.scratch() / "repo"));
}

TEST(OffsiteFault, ServerStoppedIsExitSixWithTheLocalBackupIntact) {
  OdooScratch odoo;
  ResticServer server(odoo.scratch() / "rest", false);
  const OffsiteSetup offsite(odoo, server.repository());
  ASSERT_EQ(odoo.backup(offsite.args({"hot"})).exit_code, 0);
  const auto first_dump = odoo.manifest()["dump"]["sha256"];

  server.stop();
  odoo.sql(
      "UPDATE res_partner SET name = name || ' (moved)' WHERE id = (SELECT min(id) FROM "
      "res_partner)");
  auto out = odoo.backup(offsite.args({"hot"}));
  EXPECT_EQ(out.exit_code, 6) << out.err;
  EXPECT_NE(out.err.find("cannot reach the restic repository"), std::string::npos)
      << out.err;
  const auto failed = last_push(odoo, odoo.db());
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(odoo.runs().back()["exit_code"], 6);
  // The new backup is written and sound.
  EXPECT_NE(odoo.manifest()["dump"]["sha256"], first_dump);
  EXPECT_EQ(odoo.raw({"--basedir", odoo.basedir().string(), "verify"}).exit_code, 0);

  // status shows the failure, and --max-age the age of the last good push.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const auto status = odoo.backup(offsite.args({"status"}));
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("OFF SITE"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("failed"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("last push error: cannot reach"), std::string::npos)
      << status.out;
  EXPECT_NE(status.err.find("generations not counted"), std::string::npos) << status.err;
  const auto old = odoo.backup(offsite.args({"status", "--max-age", "1s"}));
  EXPECT_EQ(old.exit_code, 4) << old.err;
  EXPECT_NE(old.err.find("last successful off-site push"), std::string::npos) << old.err;

  // Back up again: the next push sends the new backup.
  server.start();
  out = odoo.backup(offsite.args({"offsite", "push"}));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(last_push(odoo, odoo.db())["status"], "ok");
  EXPECT_EQ(odoo.runs().back()["kind"], "offsite");
  EXPECT_EQ(odoo.backup(offsite.args({"status", "--max-age", "1h"})).exit_code, 0);
}

TEST(OffsiteFault, WrongPasswordFailsThePushAndTheListing) {
  OdooScratch odoo;
  OffsiteSetup offsite(odoo, (odoo.scratch() / "repo").string());
  offsite.init_repository();
  const auto wrong = odoo.scratch() / "wrong.pass";
  std::ofstream(wrong) << "not-the-password\n";
  fs::permissions(wrong, fs::perms::owner_read | fs::perms::owner_write);
  offsite.write_config({{"password_file", wrong.string()}});
  auto out = odoo.backup(offsite.args({"hot"}));
  EXPECT_EQ(out.exit_code, 6) << out.err;
  EXPECT_NE(out.err.find("wrong password or no key found"), std::string::npos) << out.err;
  EXPECT_EQ(odoo.raw({"--basedir", odoo.basedir().string(), "verify"}).exit_code, 0);
  out = odoo.backup(offsite.args({"offsite", "snapshots"}));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("check offsite.password_file"), std::string::npos) << out.err;
  EXPECT_EQ(lines_of(out.err), 1U) << out.err;
}

TEST(OffsiteFault, ResticKilledMidPushLeavesASoundRepositoryAndTheNextPushWorks) {
  OdooScratch odoo(OdooScratch::Options{.attachments = 20, .bulk_rows = 200});
  add_attachments(odoo, 48, 256 * 1024); // 12 MiB: more than a pack file
  const auto repo = odoo.scratch() / "repo";
  const OffsiteSetup offsite(odoo, repo.string());
  offsite.init_repository();
  const auto argv_log = odoo.scratch() / "restic-argv.log";
  const std::vector<std::string> env = {"ODBOX_RESTIC_ARGV_LOG=" + argv_log.string(),
                                        "ODBOX_LOGGED_RESTIC=" +
                                            wrapper("restic-killed-mid-push").string()};
  auto out = odoo.backup(
      offsite.args({"--restic", wrapper("restic-argv-log").string(), "hot"}), env);
  EXPECT_EQ(out.exit_code, 6) << out.err;
  EXPECT_NE(out.err.find("killed by signal 9"), std::string::npos) << out.err;
  // It was killed mid-push: data written, no snapshot.
  std::size_t packs = 0;
  for (const auto& e : fs::recursive_directory_iterator(repo / "data")) {
    packs += e.is_regular_file() ? 1U : 0U;
  }
  EXPECT_GT(packs, 0U);
  EXPECT_TRUE(offsite.snapshots().empty());
  // Its stale lock was removed with `restic unlock`, never --remove-all.
  const auto calls = read_file(argv_log);
  EXPECT_NE(calls.find("\nunlock\n"), std::string::npos) << calls;
  EXPECT_EQ(calls.find("--remove-all"), std::string::npos) << calls;
  EXPECT_TRUE(fs::is_empty(repo / "locks"));
  const auto check = offsite.restic({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("no errors were found"), std::string::npos) << check.out;

  out = odoo.backup(offsite.args({"offsite", "push"}));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(offsite.snapshots().size(), 1U);
  EXPECT_EQ(offsite.restic({"check"}).exit_code, 0);
}

TEST(OffsiteFault, AHotRunDuringAPushIsNotHeldUp) {
  OdooScratch odoo;
  const OffsiteSetup offsite(odoo, (odoo.scratch() / "repo").string());
  ASSERT_EQ(odoo.backup(offsite.args({"hot"})).exit_code, 0);
  const auto first_manifest = read_file(odoo.manifest_path());

  // A push held open with its views made and the run lock released.
  const auto started = odoo.scratch() / "restic-started";
  const auto go = odoo.scratch() / "restic-go";
  const std::vector<std::string> env = {"ODBOX_RESTIC_STARTED=" + started.string(),
                                        "ODBOX_RESTIC_GO=" + go.string()};
  auto push = odoo.spawn_backup(
      offsite.args({"--restic", wrapper("restic-paused").string(), "offsite", "push"}),
      env);
  ASSERT_TRUE(wait_for(started));

  // A hot run meanwhile (no --wait-lock: a held run lock would be exit 3).
  odoo.sql(
      "UPDATE res_partner SET name = name || ' (new)' WHERE id = (SELECT min(id) FROM "
      "res_partner)");
  const auto hot = odoo.backup(offsite.args({"hot"}));
  EXPECT_EQ(hot.exit_code, 0) << hot.err;
  EXPECT_EQ(last_push(odoo, odoo.db())["status"], "skipped")
      << "the run never waits for a push";
  EXPECT_NE(read_file(odoo.manifest_path()), first_manifest);

  std::ofstream(go) << "go\n";
  EXPECT_EQ(push.wait().code, 0);
  // The held push sent the backup it started with, not the newer one.
  auto snapshots = offsite.snapshots();
  ASSERT_EQ(snapshots.size(), 2U); // the first hot run's, and the held push's
  const auto held = offsite.restic({"dump", snapshots.back()["id"].get<std::string>(),
                                    "/odoo/" + odoo.db() + ".manifest.json"});
  ASSERT_EQ(held.exit_code, 0) << held.err;
  EXPECT_EQ(held.out, first_manifest);

  // The next push sends the newer one.
  ASSERT_EQ(odoo.backup(offsite.args({"offsite", "push"})).exit_code, 0);
  snapshots = offsite.snapshots();
  ASSERT_EQ(snapshots.size(), 3U);
  const auto newest = offsite.restic({"dump", snapshots.back()["id"].get<std::string>(),
                                      "/odoo/" + odoo.db() + ".manifest.json"});
  EXPECT_EQ(newest.out, read_file(odoo.manifest_path()));
}

TEST(OffsitePushAfter, ColdPushesOnceOdooRunsAndAFailedRunPushesNothing) {
  OdooScratch odoo;
  odoo.install_odoo_service();
  const OffsiteSetup offsite(odoo, (odoo.scratch() / "repo").string());
  auto out = odoo.cold(offsite.args({}));
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(odoo.odoo_active());
  ASSERT_EQ(offsite.snapshots().size(), 1U);
  EXPECT_EQ(tag_of(offsite.snapshots().front(), "kind"), "cold");
  // The push starts after Odoo is started again.
  const auto log_start = out.err.find("pushing the cold backup");
  ASSERT_NE(log_start, std::string::npos) << out.err;

  odoo.write_unreferenced_file();
  out = odoo.backup(offsite.args({"--rsync", wrapper("rsync-failing").string(), "hot"}));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_EQ(out.err.find("pushing"), std::string::npos) << out.err;
  EXPECT_EQ(offsite.snapshots().size(), 1U);
  EXPECT_FALSE(odoo.runs().back().contains("offsite"));
}

TEST(OffsiteSecrets, NoSecretInArgvOutputRecordsMetricsOrFiles) {
  OdooScratch odoo;
  ResticServer server(odoo.scratch() / "rest", false);
  OffsiteSetup offsite(odoo, server.repository());
  const auto metrics = odoo.scratch() / "odbox.prom";
  offsite.write_config({}, {{"metrics_file", metrics.string()}});
  const auto argv_log = odoo.scratch() / "restic-argv.log";
  const std::vector<std::string> env = {"ODBOX_RESTIC_ARGV_LOG=" + argv_log.string()};
  const auto with_log = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--restic", wrapper("restic-argv-log").string()});
    return odoo.backup(offsite.args(args), env);
  };
  std::vector<RunOutput> outputs;

  outputs.push_back(with_log({"--json", "hot"}));
  ASSERT_EQ(outputs.back().exit_code, 0) << outputs.back().err;
  const auto record = nlohmann::json::parse(outputs.back().out);
  const auto& pushed = record["offsite"]["databases"].at(0);
  EXPECT_EQ(pushed["status"], "ok");
  const std::string id = pushed["snapshot_id"];
  EXPECT_EQ(id.size(), 8U);
  EXPECT_GT(pushed["bytes_added"].get<std::uint64_t>(), 0U);
  EXPECT_GT(pushed["files"].get<std::uint64_t>(), 50U);
  EXPECT_TRUE(record["offsite"]["lock_held_seconds"].is_number());

  outputs.push_back(with_log({"status"}));
  EXPECT_NE(outputs.back().out.find(id), std::string::npos) << outputs.back().out;
  outputs.push_back(with_log({"--json", "status"}));
  const auto status = nlohmann::json::parse(outputs.back().out);
  const auto entry =
      std::ranges::find_if(status, [](const auto& e) { return e["kind"] == "offsite"; });
  ASSERT_NE(entry, status.end()) << status.dump();
  EXPECT_EQ((*entry)["generations"], 1);
  EXPECT_EQ((*entry)["last_success"]["snapshot_id"], id);

  const std::string label = "{database=\"" + odoo.db() + "\"}";
  const auto text = read_file(metrics);
  EXPECT_NE(
      text.find("odbox_backup_offsite_last_success_timestamp_seconds" + label + " "),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("odbox_backup_offsite_bytes_added" + label + " " +
                      std::to_string(pushed["bytes_added"].get<std::uint64_t>()) + "\n"),
            std::string::npos)
      << text;

  outputs.push_back(with_log({"--json", "offsite", "snapshots"}));
  const auto generations = nlohmann::json::parse(outputs.back().out);
  ASSERT_EQ(generations.size(), 1U);
  EXPECT_EQ(generations[0]["short_id"], id);
  EXPECT_EQ(generations[0]["kind"], "hot");
  EXPECT_EQ(generations[0]["consistent"], true);
  EXPECT_EQ(generations[0]["dump_bytes"], odoo.manifest()["dump"]["bytes"]);
  outputs.push_back(with_log({"offsite", "check"}));
  EXPECT_EQ(outputs.back().exit_code, 0) << outputs.back().err;

  // The credentials of environment_file reached restic, through its environment.
  const auto calls = read_file(argv_log);
  EXPECT_NE(calls.find("backup --json"), std::string::npos) << calls;
  EXPECT_NE(calls.find("environment has ODBOX_TEST_TOKEN"), std::string::npos) << calls;
  expect_no_secret(calls, offsite.secrets(), "restic's argv");
  for (const auto& o : outputs) {
    expect_no_secret(o.out + o.err, offsite.secrets(), "the tool's output");
  }
  expect_no_secret_in_tree(odoo.scratch(), offsite.secrets(),
                           {offsite.password_file(), offsite.environment_file()});
}
