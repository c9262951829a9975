// The order in which hot and cold call the steps of each database, and what
// they do when one step fails, over fakes: steps that log what they are
// asked to do, a service manager and a session cleanup that log too. The
// backup area and its runs.jsonl are real, in a scratch directory.

#include "odbox/app/sequences.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/util/signals.hpp"
#include "test_dir.hpp"

#include <algorithm>
#include <csignal>
#include <gtest/gtest.h>
#include <mutex>
#include <sstream>

using namespace odbox::core;
using namespace odbox::app;
using odbox::test::ScratchDir;

namespace {

// Every event of a run, in the order it happened (sync runs in a thread).
class EventLog {
public:
  void add(const std::string& event) {
    const std::lock_guard lock(m_mutex);
    m_events.push_back(event);
  }
  [[nodiscard]] std::vector<std::string> events() const {
    const std::lock_guard lock(m_mutex);
    return m_events;
  }
  [[nodiscard]] bool has(const std::string& event) const {
    const auto all = events();
    return std::ranges::find(all, event) != all.end();
  }
  // Position of `event`; the test fails when it never happened.
  [[nodiscard]] std::ptrdiff_t at(const std::string& event) const {
    const auto all = events();
    const auto it = std::ranges::find(all, event);
    EXPECT_NE(it, all.end()) << event << " never happened in: " << text();
    return it - all.begin();
  }
  [[nodiscard]] std::string text() const {
    std::ostringstream out;
    for (const auto& e : events()) {
      out << e << "; ";
    }
    return out.str();
  }

private:
  mutable std::mutex m_mutex;
  std::vector<std::string> m_events;
};

// Where a fake fails: "<step> <db>" or "stop"/"start"; Interrupted(SIGTERM)
// when `signal`, an exception of no known kind when `foreign`.
struct Fault {
  std::string at;
  bool signal = false;
  bool foreign = false;
  bool start_fails = false; // besides `at`: Odoo does not start again either
};

[[noreturn]] void fail(const Fault& fault) {
  if (fault.signal) {
    throw Interrupted(SIGTERM);
  }
  if (fault.foreign) {
    throw std::runtime_error("bad_alloc-like surprise at " + fault.at);
  }
  throw RunError(fault.at + " failed");
}

class FakeSteps final : public DatabaseSteps {
public:
  FakeSteps(std::string db, EventLog& log, const Fault& fault)
      : m_db(std::move(db)), m_log(log), m_fault(fault) {}
  [[nodiscard]] const std::string& database() const override { return m_db; }
  void presync() override { step("presync"); }
  void open_snapshot() override { step("open_snapshot"); }
  void start_dump() override { step("start_dump"); }
  void read_file_list() override { step("read_file_list"); }
  void sync(bool listed) override { step(listed ? "sync(listed)" : "sync"); }
  void settle() override { step("settle"); }
  Manifest commit(const RunFacts& facts) override {
    step("commit");
    Manifest m;
    m.database = m_db;
    m.downtime_seconds = facts.downtime_seconds;
    return m;
  }

private:
  void step(const std::string& name) {
    const std::string event = name + " " + m_db;
    m_log.add(event);
    if (m_fault.at == event) {
      fail(m_fault);
    }
  }
  std::string m_db;
  EventLog& m_log;
  const Fault& m_fault;
};

class FakeServices final : public ServiceControl {
public:
  FakeServices(EventLog& log, const Fault& fault) : m_log(log), m_fault(fault) {}
  bool exists(const std::string&) override { return true; }
  bool is_active(const std::string&) override { return active; }
  void stop(const std::string&, std::chrono::seconds) override {
    m_log.add("stop odoo");
    if (m_fault.at == "stop") {
      fail(m_fault);
    }
    active = false;
  }
  void start(const std::string&, std::chrono::seconds) override {
    m_log.add("start odoo");
    if (m_fault.at == "start" || m_fault.start_fails) {
      fail(m_fault);
    }
    active = true;
  }
  bool active = true;

private:
  EventLog& m_log;
  const Fault& m_fault;
};

class FakeSessions final : public SessionsCleanup {
public:
  FakeSessions(EventLog& log, const Fault& fault) : m_log(log), m_fault(fault) {}
  void before_stop() override { step("sessions.before_stop"); }
  void while_stopped() override { step("sessions.while_stopped"); }
  void after_restart() override { step("sessions.after_restart"); }
  SessionsPurged finish() override {
    m_log.add("sessions.finish");
    if (m_fault.at == "sessions.finish" && m_fault.signal) {
      // As the real cleanup does: the signal stopped the background purge,
      // finish() says so and leaves the signal pending.
      EXPECT_TRUE(odbox::util::install_termination_handlers());
      ::raise(SIGTERM);
      SessionsPurged interrupted;
      interrupted.files_removed = 3;
      interrupted.method = "aside";
      interrupted.complete = false;
      return interrupted;
    }
    if (m_fault.at == "sessions.finish") {
      fail(m_fault);
    }
    SessionsPurged purged;
    purged.files_removed = 7;
    purged.bytes_removed = 700;
    purged.seconds = 0.5;
    return purged;
  }

private:
  void step(const std::string& event) {
    m_log.add(event);
    if (m_fault.at == event) {
      fail(m_fault);
    }
  }
  EventLog& m_log;
  const Fault& m_fault;
};

// A run over databases "a" and "b" in a scratch backup area.
class SequenceTest : public ::testing::Test {
protected:
  SequenceTest() {
    m_config.basedir = m_dir.path() / "backup";
    m_config.data_dir = m_dir.path() / "odoo";
    m_config.databases = {"a", "b"};
    m_config.cold.marker_dir = m_dir.path() / "run";
  }
  ~SequenceTest() override {
    odbox::util::clear_pending_signal(); // a fake may have raised one
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGHUP, SIG_DFL);
  }

  int run_cold() {
    BackupRun run(m_config, "cold");
    Backups backups = make_fakes();
    return run.run({}, [&] { cold_sequence(run, m_services, m_sessions, backups); });
  }

  int run_hot() {
    BackupRun run(m_config, "hot");
    Backups backups = make_fakes();
    return run.run({}, [&] { hot_sequence(run, backups); });
  }

  [[nodiscard]] std::vector<nlohmann::json> records() const {
    std::vector<nlohmann::json> out;
    std::istringstream lines(
        odbox::test::read_text(m_config.basedir / "odoo" / "runs.jsonl"));
    std::string line;
    while (std::getline(lines, line)) {
      out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

  // database -> status in the run's one record.
  [[nodiscard]] std::map<std::string, std::string> statuses() const {
    std::map<std::string, std::string> out;
    const auto runs = records();
    for (const auto& db : runs.at(0).at("databases")) {
      out[db.at("database")] = db.at("status");
    }
    return out;
  }

  ScratchDir m_dir;
  Config m_config;
  EventLog m_log;
  Fault m_fault;
  FakeServices m_services{m_log, m_fault};
  FakeSessions m_sessions{m_log, m_fault};

private:
  Backups make_fakes() {
    Backups backups;
    for (const auto& db : m_config.databases) {
      backups.push_back(std::make_unique<FakeSteps>(db, m_log, m_fault));
    }
    return backups;
  }
};

} // namespace

TEST_F(SequenceTest, ColdFollowsTheSpecSequence) {
  ASSERT_EQ(run_cold(), 0) << m_log.text();
  const auto& log = m_log;
  // Odoo runs: the presyncs and the old sessions.
  EXPECT_LT(log.at("presync b"), log.at("sessions.before_stop"));
  EXPECT_LT(log.at("sessions.before_stop"), log.at("stop odoo"));
  // Odoo stopped: sessions aside, the snapshots, file lists and delta syncs.
  EXPECT_LT(log.at("stop odoo"), log.at("sessions.while_stopped"));
  EXPECT_LT(log.at("sessions.while_stopped"), log.at("open_snapshot a"));
  for (const auto* step : {"sync a", "sync b", "read_file_list a", "read_file_list b"}) {
    EXPECT_LT(log.at("open_snapshot b"), log.at(step)) << step;
    EXPECT_LT(log.at(step), log.at("start odoo")) << step;
  }
  // Odoo runs again: the dumps come from the snapshots, then settle, commit.
  EXPECT_LT(log.at("start odoo"), log.at("sessions.after_restart"));
  EXPECT_LT(log.at("start odoo"), log.at("start_dump a"));
  EXPECT_LT(log.at("start_dump b"), log.at("settle a"));
  EXPECT_LT(log.at("settle b"), log.at("sessions.finish"));
  EXPECT_LT(log.at("sessions.finish"), log.at("commit a"));
  EXPECT_LT(log.at("commit a"), log.at("commit b"));
  EXPECT_TRUE(m_services.active);

  const auto runs = records();
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0]["exit_code"], 0);
  EXPECT_TRUE(runs[0].contains("downtime_seconds"));
  EXPECT_EQ(runs[0]["sessions"]["files_removed"], 7);
  EXPECT_EQ(statuses(), (std::map<std::string, std::string>{{"a", "ok"}, {"b", "ok"}}));
}

TEST_F(SequenceTest, FullDowntimeStartsOdooOnlyAfterEveryDumpSettled) {
  m_config.cold.full_downtime = true;
  ASSERT_EQ(run_cold(), 0) << m_log.text();
  EXPECT_LT(m_log.at("open_snapshot b"), m_log.at("start_dump a"));
  EXPECT_LT(m_log.at("start_dump b"), m_log.at("sync a"));
  EXPECT_LT(m_log.at("settle b"), m_log.at("start odoo"));
  EXPECT_LT(m_log.at("start odoo"), m_log.at("sessions.after_restart"));
  // The downtime is known when the manifests are written: they are written once.
  EXPECT_LT(m_log.at("start odoo"), m_log.at("commit a"));
  EXPECT_TRUE(records().at(0).contains("downtime_seconds"));
}

TEST_F(SequenceTest, AnOdooThatWasStoppedStaysStopped) {
  m_services.active = false;
  ASSERT_EQ(run_cold(), 0) << m_log.text();
  EXPECT_FALSE(m_log.has("stop odoo"));
  EXPECT_FALSE(m_log.has("start odoo"));
  EXPECT_FALSE(m_services.active);
  EXPECT_FALSE(records().at(0).contains("downtime_seconds"));
  EXPECT_TRUE(m_log.has("commit b"));
}

// One row per fault: where it strikes, and what the whole run must show.
struct ColdSequenceFaultRow {
  std::string name;
  Fault fault;
  int exit_code;
  std::map<std::string, std::string> statuses; // in the run's one record
  bool odoo_stopped_by_the_run;                // a stop was asked for
};

class ColdSequenceFault : public SequenceTest,
                          public ::testing::WithParamInterface<ColdSequenceFaultRow> {};

TEST_P(ColdSequenceFault, OdooRunsAgainAndTheRunRecordsItselfOnce) {
  const ColdSequenceFaultRow& row = GetParam();
  m_fault = row.fault;
  EXPECT_EQ(run_cold(), row.exit_code) << m_log.text();
  const auto runs = records();
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0]["exit_code"], row.exit_code);
  EXPECT_EQ(statuses(), row.statuses);
  EXPECT_EQ(m_log.has("stop odoo"), row.odoo_stopped_by_the_run) << m_log.text();
  if (row.odoo_stopped_by_the_run) {
    // Odoo first: started (or tried) before the session cleanup ends and
    // the run records itself, with the downtime in the record.
    EXPECT_LT(m_log.at("start odoo"), m_log.at("sessions.finish")) << m_log.text();
    EXPECT_TRUE(runs[0].contains("downtime_seconds"));
    EXPECT_EQ(m_services.active, row.exit_code != 5);
    // What was moved aside is deleted once Odoo runs again, also on a
    // failed run's way out; not when Odoo could not be started.
    if (row.exit_code == 5) {
      EXPECT_FALSE(m_log.has("sessions.after_restart")) << m_log.text();
    } else {
      EXPECT_LT(m_log.at("start odoo"), m_log.at("sessions.after_restart"));
      EXPECT_LT(m_log.at("sessions.after_restart"), m_log.at("sessions.finish"));
    }
    // Odoo is started before anything of a failed run is recorded as done.
    if (m_log.has("commit a")) {
      EXPECT_LT(m_log.at("start odoo"), m_log.at("commit a"));
    }
  } else {
    EXPECT_TRUE(m_services.active);
  }
  // The session cleanup always ends before the run records itself.
  EXPECT_TRUE(m_log.has("sessions.finish")) << m_log.text();
}

const std::map<std::string, std::string> k_both_failed{{"a", "failed"}, {"b", "failed"}};

INSTANTIATE_TEST_SUITE_P(
    Rows, ColdSequenceFault,
    ::testing::Values(
        ColdSequenceFaultRow{
            "PresyncFails", {.at = "presync a"}, 1, k_both_failed, false},
        ColdSequenceFaultRow{"SigtermDuringPresync",
                             {.at = "presync b", .signal = true},
                             143,
                             k_both_failed,
                             false},
        ColdSequenceFaultRow{"StopFails", {.at = "stop"}, 1, k_both_failed, true},
        ColdSequenceFaultRow{"SessionsFailWhileStopped",
                             {.at = "sessions.while_stopped"},
                             1,
                             k_both_failed,
                             true},
        ColdSequenceFaultRow{"SessionsFailBeforeTheStop",
                             {.at = "sessions.before_stop"},
                             1,
                             k_both_failed,
                             false},
        ColdSequenceFaultRow{
            "SnapshotFails", {.at = "open_snapshot b"}, 1, k_both_failed, true},
        ColdSequenceFaultRow{"SigtermWhileStopped",
                             {.at = "open_snapshot a", .signal = true},
                             143,
                             k_both_failed,
                             true},
        ColdSequenceFaultRow{
            "FileListFails", {.at = "read_file_list a"}, 1, k_both_failed, true},
        ColdSequenceFaultRow{"DeltaSyncFails", {.at = "sync b"}, 1, k_both_failed, true},
        ColdSequenceFaultRow{"StartFails", {.at = "start"}, 5, k_both_failed, true},
        ColdSequenceFaultRow{"SnapshotFailsThenStartFails",
                             {.at = "open_snapshot a", .start_fails = true},
                             5,
                             k_both_failed,
                             true},
        ColdSequenceFaultRow{
            "SigtermWhileStoppedThenStartFails",
            {.at = "read_file_list b", .signal = true, .start_fails = true},
            5,
            k_both_failed,
            true},
        ColdSequenceFaultRow{"SessionsFailAfterTheRestart",
                             {.at = "sessions.after_restart"},
                             1,
                             k_both_failed,
                             true},
        ColdSequenceFaultRow{
            "DumpStartFails", {.at = "start_dump a"}, 1, k_both_failed, true},
        ColdSequenceFaultRow{
            "OneDumpFails", {.at = "settle a"}, 1, {{"a", "failed"}, {"b", "ok"}}, true},
        ColdSequenceFaultRow{"SigtermWhileDumping",
                             {.at = "settle a", .signal = true},
                             143,
                             k_both_failed,
                             true},
        ColdSequenceFaultRow{"SigtermWhileTheSessionsArePurged",
                             {.at = "sessions.finish", .signal = true},
                             143,
                             k_both_failed,
                             true},
        ColdSequenceFaultRow{
            "SessionsFinishFails", {.at = "sessions.finish"}, 1, k_both_failed, true},
        ColdSequenceFaultRow{"OneCommitFails",
                             {.at = "commit a"},
                             1,
                             {{"a", "failed"}, {"b", "ok"}},
                             true},
        ColdSequenceFaultRow{"SigtermWhileCommitting",
                             {.at = "commit a", .signal = true},
                             143,
                             k_both_failed,
                             true},
        ColdSequenceFaultRow{"ASurpriseInASecondDump",
                             {.at = "settle b", .foreign = true},
                             1,
                             {{"a", "ok"}, {"b", "failed"}},
                             true}),
    [](const auto& row) { return row.param.name; });

TEST_F(SequenceTest, ASignalDuringTheSessionPurgeEndsTheRunWithItsFacts) {
  m_fault = {.at = "sessions.finish", .signal = true};
  EXPECT_EQ(run_cold(), 143) << m_log.text();
  EXPECT_FALSE(m_log.has("commit a")) << m_log.text();
  EXPECT_TRUE(m_services.active);
  const auto runs = records();
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0]["sessions"]["files_removed"], 3);
  EXPECT_EQ(runs[0]["sessions"]["complete"], false);
  EXPECT_EQ(statuses(), k_both_failed);
}

TEST_F(SequenceTest, FullDowntimeFaultStillStartsOdooBeforeTheRecord) {
  m_config.cold.full_downtime = true;
  m_fault = {.at = "settle a", .signal = true};
  EXPECT_EQ(run_cold(), 143);
  EXPECT_LT(m_log.at("settle a"), m_log.at("start odoo"));
  EXPECT_FALSE(m_log.has("commit b"));
  EXPECT_TRUE(m_services.active);
  ASSERT_EQ(records().size(), 1U);
}

TEST_F(SequenceTest, HotBacksUpEachDatabaseInTurn) {
  ASSERT_EQ(run_hot(), 0);
  const auto& log = m_log;
  EXPECT_LT(log.at("open_snapshot a"), log.at("start_dump a"));
  EXPECT_LT(log.at("start_dump a"), log.at("read_file_list a"));
  EXPECT_LT(log.at("read_file_list a"), log.at("sync(listed) a"));
  EXPECT_LT(log.at("sync(listed) a"), log.at("settle a"));
  EXPECT_LT(log.at("settle a"), log.at("commit a"));
  EXPECT_LT(log.at("commit a"), log.at("open_snapshot b"));
  EXPECT_FALSE(log.has("stop odoo"));
  EXPECT_EQ(records().size(), 1U);
}

TEST_F(SequenceTest, HotGoesOnAfterOneDatabaseFails) {
  m_fault = {.at = "sync(listed) a"};
  EXPECT_EQ(run_hot(), 1);
  EXPECT_TRUE(m_log.has("commit b"));
  EXPECT_EQ(statuses(),
            (std::map<std::string, std::string>{{"a", "failed"}, {"b", "ok"}}));
  EXPECT_EQ(records().at(0)["databases"][0]["error"], "sync(listed) a failed");
}

TEST_F(SequenceTest, HotStopsAtASignal) {
  m_fault = {.at = "settle a", .signal = true};
  EXPECT_EQ(run_hot(), 143);
  EXPECT_FALSE(m_log.has("open_snapshot b"));
  EXPECT_EQ(statuses(), k_both_failed);
  EXPECT_EQ(records().at(0)["exit_code"], 143);
}
