#pragma once

// A row of the fault matrix and the scene it plays in: a small scratch Odoo
// (its own cluster when the row stops PostgreSQL, Odoo as a service for
// cold), a backup area holding a good previous backup (on a small tmpfs when
// the row fills the disk), and the faults a row brings about. run_fault_row()
// plays a row and checks the whole contract (fault_contract.hpp).

#include "fault_contract.hpp"

#include <memory>
#include <optional>
#include <string>

namespace odbox::it {

class FaultScene;
using SceneStep = void (*)(FaultScene&);

enum class Needs {
  nothing,
  own_cluster, // a PostgreSQL cluster of the row's own, which it may stop
  tmpfs_area,  // the basedir on a small tmpfs (root)
  root,        // mounts (root)
};

struct FaultRow {
  std::string name{};
  Args args{}; // added to the run's command line; "{SCRATCH}" is the scratch directory
  // Added to every run of the row (the previous backup, the faulted run and
  // the next): the dump's compression, e.g. {"--compression", "zstd"}.
  Args mode{};
  Env env{};                    // added to its environment; "{SCRATCH}" as in args
  std::string point{};          // the test point the run stops at; empty: it runs through
  int signal = 0;               // sent there (0: none)
  SceneStep before = nullptr;   // after the previous backup, before the run
  SceneStep at_point = nullptr; // while the run is stopped at `point`
  SceneStep after = nullptr;    // once checked: undoes the fault before the next run
  Contract expect{};
  Needs needs = Needs::nothing;
  // What the row waits for, when the contract does not hold yet on this
  // branch: the row is skipped with this reason.
  const char* waits_for = nullptr;
};

class FaultScene {
public:
  FaultScene(const FaultRow& row, RunKind kind);
  ~FaultScene();
  FaultScene(const FaultScene&) = delete;
  FaultScene& operator=(const FaultScene&) = delete;

  [[nodiscard]] OdooScratch& odoo() { return *m_odoo; }
  [[nodiscard]] RunKind kind() const { return m_kind; }
  // `text` with "{SCRATCH}" replaced.
  [[nodiscard]] std::string substitute(std::string text) const;
  // scratch()/name: a flag file for the wrappers (ODBOX_SLOW_UNTIL, ...).
  [[nodiscard]] fs::path flag(const std::string& name) const;
  void touch(const std::string& name) const;

  // Fills the tmpfs area up to its last byte (Needs::tmpfs_area), and frees it.
  void fill_area();
  void free_area();
  // runs.jsonl padded with blanks after its last record to `size` bytes.
  void pad_runs_log(std::size_t size) const;
  // Mounts the area (or the mirror) read-only over itself, and unmounts it.
  void mount_read_only(const fs::path& dir);
  void unmount_read_only();
  // Stops and starts the row's own cluster (Needs::own_cluster).
  void stop_postgres();
  void start_postgres();
  // Ends the backends of the run's snapshot connection (pg_terminate_backend).
  void terminate_snapshot_backend() const;
  // Another run of the same kind, stopped at `point` while it holds the lock,
  // and its release (it then completes).
  void hold_lock(const std::string& point);
  void release_lock();
  // A fault file of the fake systemctl: fail-start, fail-stop, hang-stop.
  void systemctl_fault(const std::string& name, bool on = true) const;

private:
  class Cluster;
  class Mount;
  RunKind m_kind;
  std::unique_ptr<Cluster> m_cluster;
  std::unique_ptr<OdooScratch> m_odoo;
  std::unique_ptr<Mount> m_tmpfs;
  std::unique_ptr<Mount> m_read_only;
  std::optional<StoppedRun> m_holder;
};

// Plays `row` in a scene of its own and checks the contract, cold-recover
// where Odoo was left down, and the next run.
void run_fault_row(const FaultRow& row, RunKind kind);

// gtest names the row in its messages.
void PrintTo(const FaultRow& row, std::ostream* os);

} // namespace odbox::it
