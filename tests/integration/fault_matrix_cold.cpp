// The fault matrix of cold: a signal in each phase (SIGKILL while Odoo is
// stopped followed by cold-recover, as the unit's ExecStopPost= runs it),
// pg_dump, rsync and PostgreSQL failing, Odoo failing to stop or to start,
// the lock held. Each row checks the whole contract (fault_contract.hpp) and
// the next run.

#include "fault_scene.hpp"

#include <csignal>
#include <gtest/gtest.h>

using namespace odbox::it;

namespace {

struct ColdPoint {
  const char* point;
  bool odoo_stopped; // Odoo is down while the run stands there
  bool committed;    // the new set is in place
};

// The phases of a cold run, as the test points between them.
constexpr ColdPoint k_cold_points[] = {
    {"presync.done", false, false},      {"cold.odoo_stopped", true, false},
    {"cold.sessions_done", true, false}, {"snapshot.opened", true, false},
    {"file_list.read", true, false},     {"sync.done", true, false},
    {"cold.odoo_started", false, false}, {"dump.started", false, false},
    {"settle.done", false, false},       {"commit.written", false, false},
    {"commit.published", false, true},   {"prune.deleting", false, true},
};

std::string row_name(const std::string& signal, const std::string& point) {
  std::string name = signal + "_at_" + point;
  std::ranges::replace(name, '.', '_');
  return name;
}

FaultRow signal_row(const std::string& prefix, const ColdPoint& at,
                    const char* signal_name, int sig) {
  FaultRow row{
      .name = row_name(prefix + signal_name, at.point), .point = at.point, .signal = sig};
  row.expect.exit_code = 128 + sig;
  row.expect.backup = at.committed ? Backup::either : Backup::previous;
  if (sig == SIGKILL) {
    // Nobody restarts Odoo but cold-recover.
    row.expect.recorded = false;
    row.expect.cleans_up = false;
    row.expect.odoo_left_down = at.odoo_stopped;
  } else {
    row.expect.errors = {"interrupted by signal " + std::to_string(sig)};
  }
  return row;
}

// SIGTERM, SIGINT and SIGHUP: Odoo is started again, then the run ends with
// 128+N and a line of its own. SIGKILL: no line, Odoo left as it stood.
std::vector<FaultRow> signal_rows() {
  const std::pair<const char*, int> signals[] = {
      {"sigterm", SIGTERM}, {"sigint", SIGINT}, {"sighup", SIGHUP}, {"sigkill", SIGKILL}};
  std::vector<FaultRow> rows;
  for (const auto& at : k_cold_points) {
    for (const auto& [name, sig] : signals) {
      rows.push_back(signal_row("", at, name, sig));
    }
  }
  // With --full-downtime Odoo stays down until the dump has settled.
  for (const ColdPoint at :
       {ColdPoint{"dump.started", true, false}, ColdPoint{"settle.done", true, false}}) {
    for (const auto& [name, sig] : {signals[0], signals[3]}) {
      auto row = signal_row("full_downtime_", at, name, sig);
      row.args = {"--full-downtime"};
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

Contract failed(std::vector<std::string> errors) {
  return {.exit_code = 1, .errors = std::move(errors)};
}

const Args k_rsync_hook{"--rsync", wrapper("rsync-hook").string()};
Env rsync_call_fails(int call) {
  return {"ODBOX_HOOK_COUNTER={SCRATCH}/rsync-calls",
          "ODBOX_HOOK_CALL=" + std::to_string(call), "ODBOX_HOOK_EXIT=23"};
}

void fail_stop(FaultScene& s) {
  s.systemctl_fault("fail-stop");
}
void hang_stop(FaultScene& s) {
  s.systemctl_fault("hang-stop");
}
void fail_start(FaultScene& s) {
  s.systemctl_fault("fail-start");
}
void no_systemctl_fault(FaultScene& s) {
  for (const char* fault : {"fail-stop", "hang-stop", "fail-start"}) {
    s.systemctl_fault(fault, false);
  }
}
void restart_postgres(FaultScene& s) {
  s.stop_postgres();
  s.start_postgres();
}
void terminate_snapshot(FaultScene& s) {
  s.terminate_snapshot_backend();
}
void hold_lock(FaultScene& s) {
  s.hold_lock("presync.done"); // Odoo still runs
}
void release_lock(FaultScene& s) {
  s.release_lock();
}

std::vector<FaultRow> other_rows() {
  const Args pg_dump_fault{"--pg-dump", wrapper("pg_dump-fault").string()};
  return {
      // Odoo does not stop, or does not start again.
      {.name = "stop_fails",
       .before = fail_stop,
       .after = no_systemctl_fault,
       .expect = failed({"systemctl stop odoo.service exited with status 1"})},
      {.name = "stop_hangs",
       .args = {"--stop-timeout", "1"},
       .before = hang_stop,
       .after = no_systemctl_fault,
       .expect = failed({"did not stop within 1 s"})},
      {.name = "start_fails",
       .before = fail_start,
       .after = no_systemctl_fault,
       .expect = {.exit_code = 5, .errors = {"ODOO IS DOWN"}, .odoo_left_down = true}},
      // pg_dump, once Odoo runs again
      {.name = "pg_dump_killed_mid_stream",
       .args = pg_dump_fault,
       .env = {"ODBOX_PG_DUMP_FAULT=killed"},
       .expect = failed({"pg_dump killed by signal 9"})},
      {.name = "pg_dump_prints_only_the_closing_line",
       .args = pg_dump_fault,
       .env = {"ODBOX_PG_DUMP_FAULT=closing-only"},
       .expect = failed({"does not start with its header"})},
      // rsync, while Odoo runs and while it is stopped
      {.name = "presync_rsync_fails",
       .args = k_rsync_hook,
       .env = rsync_call_fails(1),
       .expect = failed({"rsync exited with status 23"})},
      {.name = "delta_rsync_fails",
       .args = k_rsync_hook,
       .env = rsync_call_fails(2),
       .expect = failed({"rsync exited with status 23"})},
      // PostgreSQL
      {.name = "postgres_restarts_while_odoo_is_stopped",
       .point = "snapshot.opened",
       .at_point = restart_postgres,
       .expect = failed({""}),
       .needs = Needs::own_cluster},
      {.name = "snapshot_connection_ends_while_odoo_is_stopped",
       .point = "snapshot.opened",
       .at_point = terminate_snapshot,
       .expect = failed({""})},
      // Another run holds the lock.
      {.name = "lock_held",
       .before = hold_lock,
       .after = release_lock,
       .expect = {.exit_code = 3,
                  .errors = {"another odbox-backup run holds"},
                  .recorded = false}},
  };
}

std::vector<FaultRow> cold_rows() {
  auto rows = signal_rows();
  auto others = other_rows();
  rows.insert(rows.end(), others.begin(), others.end());
  return rows;
}

class ColdMatrix : public ::testing::TestWithParam<FaultRow> {};

} // namespace

TEST_P(ColdMatrix, KeepsTheContract) {
  run_fault_row(GetParam(), RunKind::cold);
}

INSTANTIATE_TEST_SUITE_P(Row, ColdMatrix, ::testing::ValuesIn(cold_rows()),
                         [](const auto& row_info) { return row_info.param.name; });
