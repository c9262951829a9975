#pragma once

// The contract of a run that meets a fault, checked whole by every row of
// the fault matrix (fault_matrix_hot.cpp, fault_matrix_cold.cpp):
//   - the exit code;
//   - the previous dump (.dump.sql or .dump.sql.zst, whichever mode it was
//     in), file list and manifest byte-identical, or, where
//     the run may succeed, a new set that is complete and verifies;
//   - no temporary file in the area or the mirror right after the run
//     (unless it was killed by SIGKILL), and none after the next run;
//   - every file the committed file list names in the mirror, at its size;
//   - Odoo in its prior state (cold): running, as many starts as stops, no
//     marker; where it cannot be (exit 5, SIGKILL), down with its marker
//     kept, and `cold-recover` then starts it and removes the marker;
//   - exactly one runs.jsonl line, with that exit code (none for exit 2 and
//     3, nor after SIGKILL);
//   - the error lines (<3> and above) on stderr: one clear line, printable,
//     naming the problem (none after SIGKILL).
// Then the next run, free of the fault, removes what was left, exits 0,
// records itself, and its backup verifies and restores to its snapshot.

#include "harness.hpp"

#include <functional>
#include <string>
#include <vector>

namespace odbox::it {

using Args = std::vector<std::string>;
using Env = std::vector<std::string>;

enum class RunKind { hot, cold };

enum class Backup {
  previous, // the previous set byte-identical
  either,   // the previous set, or a new one that is complete and verifies
};

struct Contract {
  int exit_code = 1;
  Backup backup = Backup::previous;
  // A part of each error line the run prints, in order; empty: none. Parts
  // joined with " && " must all be in that line, in that order.
  std::vector<std::string> errors{};
  bool recorded = true;        // one runs.jsonl line, with exit_code
  bool cleans_up = true;       // no temporary file right after the run
  bool odoo_left_down = false; // cold: Odoo down, its marker kept
};

// What a faulted run must leave as it was.
struct Before {
  std::string dump; // <db>.dump.sql
  std::string zst;  // <db>.dump.sql.zst
  std::string files;
  std::string manifest;
  std::size_t runs = 0;
  std::size_t service_calls = 0;
  bool odoo_active = false;
};

struct Outcome {
  int exit_code = -1; // 128+N when killed by signal N
  std::string err;    // stderr
};

[[nodiscard]] Before take_before(const OdooScratch& odoo);

// The command line and environment of a run of `kind` (cold with the fake
// systemctl and the scratch marker directory), `extra` appended.
[[nodiscard]] Args run_args(const OdooScratch& odoo, RunKind kind,
                            const Args& extra = {});
[[nodiscard]] Env run_env(const OdooScratch& odoo, RunKind kind, const Env& extra = {});

// Runs it to its end.
[[nodiscard]] Outcome run_through(const OdooScratch& odoo, RunKind kind,
                                  const Args& extra, const Env& env);

// A run started in the background that stops itself at test point `point`
// (include/odbox/util/test_point.hpp), its stderr kept in a file. A
// `launcher` (e.g. setpriv and its options) runs the tool, in the same
// process.
class StoppedRun {
public:
  StoppedRun(const OdooScratch& odoo, RunKind kind, const Args& extra, const Env& env,
             const std::string& point, const Args& launcher = {});
  // Whether it stopped at the point (false: it ended first, or took over 2 min).
  [[nodiscard]] bool reached() const { return m_reached; }
  // Sends `signal` (0: none) and lets it go on; waits for its end.
  Outcome resume(int signal);
  // What it has written on stderr so far.
  [[nodiscard]] std::string err() const;

private:
  fs::path m_err_file;
  util::Child m_child;
  bool m_reached = false;
};

// Every clause of the contract, after the faulted run (cold-recover excluded:
// see recover_odoo()).
void expect_contract(const OdooScratch& odoo, RunKind kind, const Before& before,
                     const Outcome& outcome, const Contract& contract);

// Runs `cold-recover` as the unit's ExecStopPost= would: Odoo runs again and
// the marker is gone.
void expect_cold_recover_starts_odoo(const OdooScratch& odoo);

// The next run, free of the fault and in the row's compression `mode`
// (e.g. --compression zstd): exit 0, nothing left behind, one line, a backup
// that verifies and restores to the database as of its snapshot.
void expect_next_run_clean(OdooScratch& odoo, RunKind kind, const Args& mode = {});

// The error lines (<0> to <3>) of a run's stderr.
[[nodiscard]] std::vector<std::string> error_lines(const std::string& err);

} // namespace odbox::it
