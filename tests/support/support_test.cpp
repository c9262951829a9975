// Self-tests of the integration-test support: the throwaway cluster, the
// Odoo stand-in, fake-systemctl and the helpers of support.hpp.
#include "odbox_test/support.hpp"

#include <algorithm>
#include <csignal>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;
using namespace odbox_test;

namespace {

class SupportTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!PgEnv::available()) {
      GTEST_SKIP() << "no test cluster (ODBOX_PG_STATE)";
    }
    m_pg = PgEnv::load();
  }

  // A small database and data_dir, fresh for each test.
  fs::path init_small(const std::string& db) {
    const fs::path data = m_tmp / "data";
    standin_init(m_pg, db, data,
                 {"--attachments", "60", "--bulk-rows", "600", "--sessions", "20",
                  "--max-file-size", "8192"});
    return data;
  }

  PgEnv m_pg;
  TempDir m_tmp{"odbox-support-test"};
};

// A libpq session held by the test, e.g. to keep a lock like odbox-backup does.
class Session {
public:
  Session(const PgEnv& pg, const std::string& db) {
    const std::string conninfo =
        "host=" + pg.host + " port=" + pg.port + " user=" + pg.user + " dbname=" + db;
    m_conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(m_conn) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(m_conn);
      PQfinish(m_conn);
      throw std::runtime_error(message);
    }
  }
  ~Session() { PQfinish(m_conn); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void exec(const std::string& sql) {
    PGresult* result = PQexec(m_conn, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    const std::string message = PQresultErrorMessage(result);
    PQclear(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw std::runtime_error(message);
    }
  }

private:
  PGconn* m_conn = nullptr;
};

} // namespace

TEST(SupportFiles, TempDirTreeDigestAndLines) {
  fs::path path;
  {
    const TempDir dir;
    path = dir.path();
    write_file(dir / "a/b.txt", "hello\nworld");
    EXPECT_EQ(read_lines(dir / "a/b.txt"), (std::vector<std::string>{"hello", "world"}));
    fs::create_symlink("b.txt", dir / "a/link");
    const auto digest = tree_digest(dir.path());
    ASSERT_EQ(digest.size(), 2U);
    EXPECT_EQ(digest.at("a/b.txt"), "7db827c10afc1719863502cf95397731b23b8bae");
    EXPECT_EQ(digest.at("a/link"), "symlink:b.txt");
    EXPECT_EQ(count_files(dir.path()), 1U);
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(SupportRun, CapturesOutputStatusAndTimeout) {
  const RunOutput output = run({"sh", "-c", "echo out; echo err >&2; exit 3"}, {"X=1"});
  EXPECT_EQ(output.exit_code, 3);
  EXPECT_EQ(output.out, "out\n");
  EXPECT_EQ(output.err, "err\n");
  EXPECT_EQ(run({"sh", "-c", "echo $X"}, {"X=42"}).out, "42\n");
  const RunOutput slow = run({"sleep", "10"}, {}, std::chrono::seconds(1));
  EXPECT_TRUE(slow.timed_out);
}

TEST(SupportTestPoints, WaitUntilStoppedSeesAStopAndLeavesTheChildWaitable) {
  EXPECT_EQ(stop_at("prune.deleting"),
            (std::vector<std::string>{"ODBOX_TEST_STOP_AT=prune.deleting"}));
  odbox::util::SpawnSpec stops;
  stops.argv = {"sh", "-c", "kill -STOP $$; exit 7"};
  auto stopping = odbox::util::spawn(stops);
  ASSERT_TRUE(stopping);
  ASSERT_TRUE(wait_until_stopped(stopping->pid(), 30s));
  ::kill(stopping->pid(), SIGCONT);
  EXPECT_EQ(stopping->wait().code, 7);

  odbox::util::SpawnSpec exits;
  exits.argv = {"sh", "-c", "exit 3"};
  auto exiting = odbox::util::spawn(exits);
  ASSERT_TRUE(exiting);
  EXPECT_FALSE(wait_until_stopped(exiting->pid(), 30s));
  EXPECT_EQ(exiting->wait().code, 3); // still waitable
}

TEST_F(SupportTest, InitBuildsAnOdooLikeDatabaseAndStore) {
  const fs::path data = init_small("support_init");
  EXPECT_EQ(psql_value(m_pg, "support_init",
                       "SELECT latest_version FROM ir_module_module WHERE name = 'base'"),
            "17.0.1.3");
  EXPECT_EQ(psql_value(m_pg, "support_init", "SELECT count(*) FROM ir_attachment"), "60");
  const auto referenced = referenced_files(m_pg, "support_init");
  ASSERT_FALSE(referenced.empty());
  const auto files = tree_digest(data / "filestore/support_init");
  for (const std::string& name : referenced) {
    ASSERT_TRUE(files.contains(name)) << name;
    EXPECT_EQ(files.at(name), name.substr(name.find('/') + 1)); // named by its sha1
  }
  // Two garbage files await GC in the checklist, one orphan escaped it.
  EXPECT_EQ(count_files(data / "filestore/support_init/checklist"), 2U);
  EXPECT_EQ(files.size(), referenced.size() + 3U + 2U);
  const RunOutput expected = standin(m_pg, {"expected-files", "--db", "support_init"});
  ASSERT_EQ(expected.exit_code, 0) << expected.describe();
  std::string joined;
  for (const std::string& name : referenced) {
    joined += name + "\n";
  }
  EXPECT_EQ(expected.out, joined);
  EXPECT_EQ(count_files(data / "sessions"), 20U + 2U); // layout both: 2 temp files
  const RunOutput verify = standin(
      m_pg, {"verify", "--db", "support_init", "--data-dir", data.string(), "--deep"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  drop_database(m_pg, "support_init");
  EXPECT_FALSE(database_exists(m_pg, "support_init"));
}

TEST_F(SupportTest, DumpRestoresToIdenticalTables) {
  init_small("support_dump");
  const fs::path dump = m_tmp / "dump.sql";
  const RunOutput dumped =
      run({"pg_dump", "-f", dump.string(), "support_dump"}, m_pg.env());
  ASSERT_EQ(dumped.exit_code, 0) << dumped.describe();
  drop_database(m_pg, "support_dump_copy");
  restore_dump(m_pg, dump, "support_dump_copy");
  const auto source = table_digests(m_pg, "support_dump");
  EXPECT_EQ(source.size(), 6U);
  EXPECT_TRUE(source.at("res_partner").starts_with("rows=60 "));
  EXPECT_EQ(table_digests(m_pg, "support_dump_copy"), source);
  EXPECT_EQ(sequence_values(m_pg, "support_dump_copy"),
            sequence_values(m_pg, "support_dump"));
  psql(m_pg, "support_dump", "UPDATE res_partner SET phone = 'changed' WHERE id = 1");
  EXPECT_NE(table_digests(m_pg, "support_dump_copy").at("res_partner"),
            table_digests(m_pg, "support_dump").at("res_partner"));
  EXPECT_THROW(restore_dump(m_pg, dump, "support_dump_copy"), std::runtime_error);
  drop_database(m_pg, "support_dump_copy");
  drop_database(m_pg, "support_dump");
}

TEST_F(SupportTest, RunningStandinWritesCollectsAndStopsAtOnce) {
  const fs::path data = init_small("support_run");
  StandinProcess odoo(m_pg, {.db = "support_run",
                             .data_dir = data,
                             .events = {},
                             .log = {},
                             .extra_args = {"--gc-every", "3", "--interval-ms", "5"}});
  ASSERT_TRUE(
      wait_until([&] { return events_named(odoo.events(), "gc").size() >= 2; }, 20s));
  const RunOutput stopped = odoo.stop();
  EXPECT_EQ(stopped.exit_code, 0) << stopped.describe();
  EXPECT_NE(stopped.out.find("stopped"), std::string::npos) << stopped.out;
  const auto events = odoo.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().event, "start");
  EXPECT_EQ(events.back().event, "stop");
  EXPECT_FALSE(events_named(events, "create").empty());
  // Stopped means stopped: nothing changes any more.
  const auto store = tree_digest(data / "filestore/support_run");
  const auto tables = table_digests(m_pg, "support_run");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(tree_digest(data / "filestore/support_run"), store);
  EXPECT_EQ(table_digests(m_pg, "support_run"), tables);
  // The GC never removes a referenced file.
  const RunOutput verify =
      standin(m_pg, {"verify", "--db", "support_run", "--data-dir", data.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  drop_database(m_pg, "support_run");
}

TEST_F(SupportTest, GcIsSkippedWhileABackupHoldsRowExclusive) {
  const fs::path data = init_small("support_gc");
  const std::vector<std::string> gc{"gc",         "--db",        "support_gc",
                                    "--data-dir", data.string(), "--gc-lock-timeout-ms",
                                    "300"};
  {
    Session backup(m_pg, "support_gc");
    backup.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
    backup.exec("LOCK ir_attachment IN ROW EXCLUSIVE MODE");
    const RunOutput skipped = standin(m_pg, gc);
    EXPECT_EQ(skipped.exit_code, 3) << skipped.describe();
    EXPECT_EQ(count_files(data / "filestore/support_gc/checklist"), 2U);
  }
  const RunOutput collected = standin(m_pg, gc);
  EXPECT_EQ(collected.exit_code, 0) << collected.describe();
  EXPECT_EQ(collected.out, "2\n");
  EXPECT_EQ(count_files(data / "filestore/support_gc/checklist"), 0U);
  drop_database(m_pg, "support_gc");
}

TEST_F(SupportTest, FakeSystemctlStartsAndStopsTheStandin) {
  const fs::path data = init_small("support_unit");
  FakeSystemctl systemd(m_tmp / "systemd");
  const fs::path events = m_tmp / "events.jsonl";
  systemd.define_standin_unit("odoo.service", m_pg, "support_unit", data, events);

  EXPECT_EQ(systemd.state("odoo.service"), "inactive");
  EXPECT_EQ(systemd.systemctl({"is-active", "odoo.service"}).exit_code, 3);
  EXPECT_EQ(systemd.systemctl({"show", "-p", "LoadState", "--value", "odoo.service"}).out,
            "loaded\n");
  EXPECT_EQ(
      systemd.systemctl({"show", "--property=LoadState", "--value", "nope.service"}).out,
      "not-found\n");
  EXPECT_EQ(systemd.systemctl({"start", "nope.service"}).exit_code, 5);

  ASSERT_EQ(systemd.systemctl({"start", "odoo.service"}).exit_code, 0);
  EXPECT_TRUE(systemd.is_active("odoo.service"));
  ASSERT_TRUE(wait_until(
      [&] { return !events_named(read_events(events), "create").empty(); }, 20s));
  const auto pid = systemd.main_pid("odoo.service");
  ASSERT_TRUE(pid.has_value());
  EXPECT_EQ(read_events(events).front().data.value("pid", 0), *pid);

  const RunOutput stop = systemd.systemctl({"stop", "odoo.service"});
  EXPECT_EQ(stop.exit_code, 0) << stop.describe();
  EXPECT_EQ(systemd.state("odoo.service"), "inactive");
  EXPECT_EQ(read_events(events).back().event, "stop");
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(*pid)));

  systemd.set_fault(FakeSystemctl::Fault::fail_start);
  const RunOutput failed = systemd.systemctl({"start", "odoo.service"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("Job for odoo.service failed"), std::string::npos);
  EXPECT_EQ(systemd.state("odoo.service"), "failed");
  systemd.set_fault(FakeSystemctl::Fault::fail_start, false);
  systemd.fail_next_starts(1);
  EXPECT_EQ(systemd.systemctl({"start", "odoo.service"}).exit_code, 1);
  EXPECT_EQ(systemd.systemctl({"start", "odoo.service"}).exit_code, 0);
  EXPECT_TRUE(systemd.is_active("odoo.service"));

  systemd.set_fault(FakeSystemctl::Fault::hang_stop);
  const RunOutput hung = run({FakeSystemctl::program().string(), "stop", "odoo.service"},
                             systemd.env(), std::chrono::seconds(1));
  EXPECT_TRUE(hung.timed_out);
  EXPECT_TRUE(systemd.is_active("odoo.service"));
  systemd.set_fault(FakeSystemctl::Fault::hang_stop, false);
  systemd.set_fault(FakeSystemctl::Fault::fail_stop);
  EXPECT_EQ(systemd.systemctl({"stop", "odoo.service"}).exit_code, 1);
  EXPECT_TRUE(systemd.is_active("odoo.service"));
  systemd.set_fault(FakeSystemctl::Fault::fail_stop, false);
  EXPECT_EQ(systemd.systemctl({"stop", "odoo.service"}).exit_code, 0);

  const auto starts = systemd.calls_of("start");
  ASSERT_EQ(starts.size(), 5U);
  EXPECT_EQ(starts.back().args, (std::vector<std::string>{"start", "odoo.service"}));
  EXPECT_EQ(systemd.calls_of("stop").size(), 4U);
  drop_database(m_pg, "support_unit");
}
