// odbox-backup cold with Odoo (the stand-in) run as a service through a
// systemctl stand-in that really starts and stops it.

#include "harness.hpp"

#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <thread>

using namespace odbox::it;

namespace {

// "dump_start <t>" / "dump_end <t>" lines written by wrappers/pg_dump-hook.
std::map<std::string, double> read_times(const fs::path& file) {
  std::map<std::string, double> out;
  std::istringstream in(read_file(file));
  std::string key;
  double t = 0;
  while (in >> key >> t) {
    out[key] = t;
  }
  return out;
}

double call_time(const std::vector<std::pair<double, std::string>>& calls,
                 const std::string& call, int nth = 1) {
  for (const auto& [t, c] : calls) {
    if (c == call && --nth == 0) {
      return t;
    }
  }
  return -1;
}

void wait_for_file(const fs::path& file) {
  ASSERT_TRUE(wait_until([&] { return fs::exists(file); }, std::chrono::minutes(2)))
      << file;
}

// A pg_dump-hook command that waits (up to 60 s) until the stand-in, started
// again by the run, has created an attachment: the dump then runs after
// Odoo wrote.
std::string wait_for_a_create_after_the_restart(const fs::path& events) {
  return "for i in $(seq 1200); do awk '/\"event\":\"start\"/ {s++} s >= 2 && "
         "/\"event\":\"create\"/ {f = 1} END {exit !f}' '" +
         events.string() + "' && break; sleep 0.05; done";
}

double unix_now() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

TEST(Cold, ConsistentBackupWhileOdooWritesAndOdooRunsAgain) {
  OdooScratch odoo(
      OdooScratch::Options{.attachments = 200, .bulk_rows = 50000, .sessions = 300});
  odoo.install_odoo_service();
  std::this_thread::sleep_for(std::chrono::milliseconds(700)); // Odoo writes meanwhile
  const auto digests_file = odoo.scratch() / "snapshot-digests";
  const auto out = odoo.cold({"--pg-dump", wrapper("pg_dump-snapshot-digests").string()},
                             {"ODBOX_DIGESTS_OUT=" + digests_file.string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(odoo.odoo_active());

  // The dump is the state at the stop: it restores to the snapshot's content ...
  const auto at_snapshot = parse_digests(read_file(digests_file));
  EXPECT_EQ(odoo.restore_digests(odoo.dump()), at_snapshot);
  // ... and every file it references is in the mirror.
  const auto m = odoo.manifest();
  EXPECT_EQ(m["kind"], "cold");
  EXPECT_EQ(m["filestore"]["missing_count"], 0);
  for (const auto& f : odoo.referenced_files(odoo.db() + "_r0")) {
    EXPECT_TRUE(fs::is_regular_file(odoo.mirror() / f)) << f;
  }
  // Sessions were purged while Odoo was down, downtime and phases recorded.
  EXPECT_GE(m["sessions"]["files_removed"].get<int>(), 300);
  EXPECT_GT(m["downtime_seconds"].get<double>(), 0.0);
  for (const char* phase : {"presync", "snapshot", "file_list", "sync", "purge"}) {
    EXPECT_TRUE(m["phases"].contains(phase)) << phase;
  }
  EXPECT_FALSE(fs::exists(odoo.marker_dir() / "odoo.service.stopped"));
  EXPECT_EQ(odoo.runs().back()["downtime_seconds"], m["downtime_seconds"]);
}

TEST(Cold, OdooIsDownOnlyUntilTheSnapshotAndDeltaAreTaken) {
  OdooScratch odoo;
  odoo.install_odoo_service();
  const auto times = odoo.scratch() / "times";
  // pg_dump starts after Odoo, from the snapshot taken while Odoo was down.
  // It waits until Odoo has written, then dumps, and lingers 2 s after.
  const double before_run = unix_now();
  const auto out = odoo.cold(
      {"--pg-dump", wrapper("pg_dump-hook").string()},
      {"ODBOX_TIMES=" + times.string(),
       "ODBOX_HOOK_BEFORE=" + wait_for_a_create_after_the_restart(odoo.events_file()),
       "ODBOX_HOOK_AFTER=sleep 2"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto calls = odoo.service_calls();
  const auto t = read_times(times);
  const double stop = call_time(calls, "stop odoo.service");
  const double start = call_time(calls, "start odoo.service", 2); // 1st: set-up
  ASSERT_GT(stop, 0);
  ASSERT_GT(start, 0);
  EXPECT_LT(stop, start);
  EXPECT_LT(start, t.at("dump_start")); // Odoo does not wait for pg_dump
  // The downtime holds the stop and the start calls and ends before pg_dump
  // starts (the run asks for the stop after it began).
  const auto m = odoo.manifest();
  const double downtime = m["downtime_seconds"].get<double>();
  EXPECT_GT(downtime, start - stop);
  EXPECT_LT(downtime, t.at("dump_start") - before_run);

  // The stand-in wrote nothing while it was stopped.
  double stopped_at = 0;
  double started_at = 0;
  long first_id_after_start = 0;
  for (const auto& e : odoo.events()) {
    if (e["event"] == "stop") {
      stopped_at = e["t"].get<double>();
    } else if (e["event"] == "start" && stopped_at > 0) {
      started_at = e["t"].get<double>();
    } else if (stopped_at > 0 && started_at == 0) {
      ADD_FAILURE() << "event while stopped: " << e.dump();
    } else if (started_at > 0 && e["event"] == "create" && first_id_after_start == 0) {
      first_id_after_start = e["id"].get<long>();
    }
  }
  EXPECT_GT(started_at, stopped_at);
  // What Odoo wrote after it started again is not in the dump.
  ASSERT_GT(first_id_after_start, 0) << "Odoo created nothing while pg_dump ran";
  (void)odoo.restore_digests(odoo.dump());
  const auto restored = odoo.db() + "_r0";
  const long dumped_max_id =
      std::stol(odoo.sql_in(restored, "SELECT max(id) FROM ir_attachment"));
  EXPECT_LT(dumped_max_id, first_id_after_start);
  EXPECT_EQ(m["filestore"]["missing_count"], 0);
}

TEST(Cold, FullDowntimeKeepsOdooStoppedUntilTheEnd) {
  OdooScratch odoo;
  odoo.install_odoo_service();
  const auto times = odoo.scratch() / "times";
  const auto out =
      odoo.cold({"--full-downtime", "--pg-dump", wrapper("pg_dump-hook").string()},
                {"ODBOX_TIMES=" + times.string(), "ODBOX_HOOK_AFTER=sleep 1"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto t = read_times(times);
  EXPECT_GT(call_time(odoo.service_calls(), "start odoo.service", 2), t.at("dump_end"));
  EXPECT_GT(odoo.manifest()["downtime_seconds"].get<double>(), 1.0);
  EXPECT_TRUE(odoo.odoo_active());
}

TEST(Cold, InactiveOdooStaysInactive) {
  OdooScratch odoo;
  odoo.install_odoo_service(false);
  const auto out = odoo.cold();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(odoo.odoo_active());
  EXPECT_TRUE(odoo.service_calls().empty());
  EXPECT_FALSE(odoo.manifest().contains("downtime_seconds"));
}

TEST(Cold, UnknownUnitIsAUsageError) {
  OdooScratch odoo;
  odoo.install_odoo_service(false);
  const auto out = odoo.cold({"--odoo-service", "odoo17.service"});
  EXPECT_EQ(out.exit_code, 2) << out.err;
  EXPECT_NE(out.err.find("odoo17.service is not known"), std::string::npos) << out.err;
  EXPECT_FALSE(fs::exists(odoo.basedir()));
}

TEST(Cold, PurgeNeverLeavesTheSessionsDirectory) {
  OdooScratch odoo;
  odoo.install_odoo_service();
  const auto sessions = odoo.data_dir() / "sessions";
  const auto outside = odoo.scratch() / "outside";
  fs::create_directories(outside / "dir");
  std::ofstream(outside / "keep.txt") << "precious";
  std::ofstream(outside / "dir" / "keep2.txt") << "precious";
  fs::create_symlink(outside / "keep.txt", sessions / "link-to-file");
  fs::create_symlink(outside / "dir", sessions / "ab");
  const auto out = odoo.cold();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(outside / "keep.txt"), "precious");
  EXPECT_EQ(read_file(outside / "dir" / "keep2.txt"), "precious");
  // The links went aside with the directory and only their names were
  // removed; the fresh directory holds none of them.
  EXPECT_FALSE(fs::is_symlink(sessions / "link-to-file"));
  EXPECT_TRUE(fs::is_directory(sessions));
  EXPECT_EQ(odoo.manifest()["sessions"]["method"], "aside");
}

// ---- faults: exit code, Odoo running again, previous backup intact

class ColdFault : public ::testing::Test {
protected:
  void SetUp() override {
    odoo.install_odoo_service();
    const auto out = odoo.cold();
    ASSERT_EQ(out.exit_code, 0) << out.err;
    previous_dump = read_file(odoo.dump());
    previous_manifest = read_file(odoo.manifest_path());
    fs::remove(odoo.systemctl_dir() / "calls.log");
    odoo.write_unreferenced_file(); // the presync runs rsync (call 1)
  }
  void expect_intact_and_running() {
    EXPECT_TRUE(odoo.odoo_active());
    EXPECT_TRUE(read_file(odoo.dump()) == previous_dump) << "the previous dump changed";
    EXPECT_TRUE(read_file(odoo.manifest_path()) == previous_manifest)
        << "the manifest changed";
    EXPECT_FALSE(fs::exists(odoo.marker_dir() / "odoo.service.stopped"));
    for (const auto& e : fs::directory_iterator(odoo.area())) {
      EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos)
          << e.path();
    }
  }
  // Runs cold in the background with `env`, waits for `ready`, sends `sig`.
  int cold_with_signal(const std::vector<std::string>& extra,
                       std::vector<std::string> env, const fs::path& ready, int sig) {
    std::vector<std::string> args{"--systemctl", fake_systemctl(), "cold", "--marker-dir",
                                  odoo.marker_dir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    env.push_back(odoo.systemctl_env().front());
    auto child = odoo.spawn_backup(args, env);
    wait_for_file(ready);
    ::kill(child.pid(), sig);
    const auto status = child.wait();
    return status.signal != 0 ? 128 + status.signal : status.code;
  }
  std::vector<std::string> rsync_hook(int call, const std::string& cmd,
                                      const std::string& exit_code = "") {
    std::vector<std::string> env{
        "ODBOX_HOOK_COUNTER=" + (odoo.scratch() / "rsync-calls").string(),
        "ODBOX_HOOK_CALL=" + std::to_string(call), "ODBOX_HOOK_CMD=" + cmd};
    if (!exit_code.empty()) {
      env.push_back("ODBOX_HOOK_EXIT=" + exit_code);
    }
    return env;
  }
  OdooScratch odoo;
  std::string previous_dump;
  std::string previous_manifest;
};

TEST_F(ColdFault, PgDumpFails) {
  const auto out = odoo.cold({"--pg-dump", wrapper("pg_dump-truncating").string()},
                             {"ODBOX_TRUNCATE_BYTES=20000"});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  expect_intact_and_running();
}

TEST_F(ColdFault, DeltaRsyncFailsWhileOdooIsStopped) {
  const auto out =
      odoo.cold({"--rsync", wrapper("rsync-hook").string()}, rsync_hook(2, "", "23"));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("rsync exited with status 23"), std::string::npos) << out.err;
  EXPECT_EQ(call_time(odoo.service_calls(), "stop odoo.service") > 0, true);
  expect_intact_and_running();
}

TEST_F(ColdFault, PostgresqlConnectionDiesAfterTheSnapshot) {
  // The snapshot's connection is terminated: pg_dump cannot import it. Only
  // this database's: the fault matrix runs beside it in the same cluster.
  const std::string kill_snapshot =
      "psql -X -q -d \"$DB\" -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'odbox-backup snapshot' AND datname = "
      "current_database()\" >/dev/null";
  const auto out = odoo.cold({"--pg-dump", wrapper("pg_dump-hook").string()},
                             {"ODBOX_HOOK_BEFORE=" + kill_snapshot});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  expect_intact_and_running();
}

TEST_F(ColdFault, StopTimeout) {
  std::ofstream(odoo.systemctl_dir() / "hang-stop");
  const auto out = odoo.cold({"--stop-timeout", "2"});
  fs::remove(odoo.systemctl_dir() / "hang-stop");
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("did not stop within 2 s"), std::string::npos) << out.err;
  expect_intact_and_running();
}

TEST_F(ColdFault, StartFailureIsExitFiveAndTheLoudestMessage) {
  const auto fail_start = odoo.systemctl_dir() / "fail-start";
  const auto out = odoo.cold({"--rsync", wrapper("rsync-hook").string()},
                             rsync_hook(2, "touch '" + fail_start.string() + "'"));
  EXPECT_EQ(out.exit_code, 5) << out.err;
  EXPECT_NE(out.err.find("<2>ODOO IS DOWN"), std::string::npos) << out.err;
  EXPECT_FALSE(odoo.odoo_active());
  // The marker stays for cold-recover, which starts Odoo once it can.
  EXPECT_TRUE(fs::exists(odoo.marker_dir() / "odoo.service.stopped"));
  fs::remove(fail_start);
  const auto recover = odoo.backup({"--systemctl", fake_systemctl(), "cold-recover",
                                    "--marker-dir", odoo.marker_dir().string()},
                                   odoo.systemctl_env());
  EXPECT_EQ(recover.exit_code, 0) << recover.err;
  EXPECT_TRUE(odoo.odoo_active());
}

TEST_F(ColdFault, SigtermDuringPresync) {
  const auto ready = odoo.scratch() / "ready";
  const int code = cold_with_signal(
      {"--rsync", wrapper("rsync-hook").string()},
      rsync_hook(1, "touch '" + ready.string() + "'; sleep 30"), ready, SIGTERM);
  EXPECT_EQ(code, 128 + SIGTERM);
  EXPECT_TRUE(odoo.service_calls().empty()); // never stopped
  expect_intact_and_running();
}

TEST_F(ColdFault, SigtermWhileOdooIsStopped) {
  const auto ready = odoo.scratch() / "ready";
  const int code = cold_with_signal(
      {"--rsync", wrapper("rsync-hook").string()},
      rsync_hook(2, "touch '" + ready.string() + "'; sleep 30"), ready, SIGTERM);
  EXPECT_EQ(code, 128 + SIGTERM);
  EXPECT_GT(call_time(odoo.service_calls(), "start odoo.service"), 0);
  expect_intact_and_running();
}

TEST_F(ColdFault, SigintWhileDumping) {
  const auto ready = odoo.scratch() / "ready";
  const int code = cold_with_signal(
      {"--pg-dump", wrapper("pg_dump-hook").string()},
      {"ODBOX_HOOK_AFTER=touch '" + ready.string() + "'; sleep 30"}, ready, SIGINT);
  EXPECT_EQ(code, 128 + SIGINT);
  expect_intact_and_running();
  EXPECT_EQ(odoo.runs().back()["exit_code"], 128 + SIGINT);
}

TEST_F(ColdFault, SigkillThenColdRecoverStartsOdoo) {
  const auto ready = odoo.scratch() / "ready";
  const int code = cold_with_signal(
      {"--rsync", wrapper("rsync-hook").string()},
      rsync_hook(2, "touch '" + ready.string() + "'; sleep 30"), ready, SIGKILL);
  EXPECT_EQ(code, 128 + SIGKILL);
  EXPECT_FALSE(odoo.odoo_active()); // nobody could start it
  EXPECT_TRUE(fs::exists(odoo.marker_dir() / "odoo.service.stopped"));
  const auto recover = odoo.backup({"--systemctl", fake_systemctl(), "cold-recover",
                                    "--marker-dir", odoo.marker_dir().string()},
                                   odoo.systemctl_env());
  EXPECT_EQ(recover.exit_code, 0) << recover.err;
  EXPECT_NE(recover.err.find("did not start it again"), std::string::npos) << recover.err;
  EXPECT_TRUE(odoo.odoo_active());
  EXPECT_TRUE(read_file(odoo.dump()) == previous_dump) << "the previous dump changed";
  EXPECT_FALSE(fs::exists(odoo.marker_dir() / "odoo.service.stopped"));
  // The killed run's temporary files are removed by the next run.
  const auto next = odoo.cold();
  EXPECT_EQ(next.exit_code, 0) << next.err;
  EXPECT_NE(next.err.find("left by an interrupted run"), std::string::npos) << next.err;
  for (const auto& e : fs::directory_iterator(odoo.area())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}
