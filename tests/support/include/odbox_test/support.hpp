#pragma once

// Helpers for integration tests that drive the real odbox-backup binary
// against a throwaway PostgreSQL cluster (tests/support/pg-cluster), the Odoo
// stand-in (odoo-standin) and the systemctl stand-in (fake-systemctl).
// Failures throw std::runtime_error (or std::system_error) with a message
// that names the command or path, so a test fails with a readable reason.

#include "odbox/util/process.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace odbox_test {

using namespace std::chrono_literals;

// ---------------------------------------------------------------- environment

// The test environment: ODBOX_BIN, ODBOX_STANDIN, ODBOX_FAKE_SYSTEMCTL,
// ODBOX_SUPPORT_DIR, ODBOX_SOURCE_DIR and ODBOX_PG_STATE come from the
// environment when set, else from defaults compiled in for this build tree
// (gtest_discover_tests cannot pass several variables through ENVIRONMENT).

// The variable's value, else its build-tree default, else nothing.
[[nodiscard]] std::optional<std::string> test_env(const char* name);
// test_env(name); throws when there is neither.
[[nodiscard]] std::string required_env(const char* name);
// setenv() of every default that is not already set, so that code reading
// getenv() (and child processes) see them. Call it once, e.g. from main() or
// a ::testing::Environment.
void export_default_environment();
// Paths: $ODBOX_BIN, $ODBOX_STANDIN, $ODBOX_FAKE_SYSTEMCTL, $ODBOX_SUPPORT_DIR.
[[nodiscard]] std::filesystem::path odbox_bin();
[[nodiscard]] std::filesystem::path standin_bin();
[[nodiscard]] std::filesystem::path fake_systemctl_bin();
[[nodiscard]] std::filesystem::path support_dir();

// The throwaway cluster started by `pg-cluster start $ODBOX_PG_STATE`.
struct PgEnv {
  std::string host; // unix socket directory
  std::string port;
  std::string user;
  std::string host_tcp; // "127.0.0.1"

  // Reads $ODBOX_PG_STATE/env; throws when the variable or the file is missing.
  static PgEnv load();
  // The same from the state directory of another cluster (pg-cluster start DIR).
  static PgEnv load(const std::filesystem::path& state_dir);
  // True when load() would succeed (for GTEST_SKIP outside CTest).
  [[nodiscard]] static bool available();
  // {"PGHOST=<socket dir>", "PGPORT=...", "PGUSER=..."} for child processes.
  [[nodiscard]] std::vector<std::string> env() const;
  // The same over TCP: {"PGHOST=127.0.0.1", "PGPORT=...", "PGUSER=..."}.
  [[nodiscard]] std::vector<std::string> tcp_env() const;
};

// ---------------------------------------------------------------- files

// A fresh directory (mkdtemp under $TMPDIR or /tmp), removed with everything
// in it on destruction, unless $ODBOX_TEST_KEEP is set (then its path is
// printed on stderr). Move-only.
class TempDir {
public:
  explicit TempDir(std::string_view prefix = "odbox-test");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }
  // path() / name.
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const {
    return m_path / name;
  }

private:
  std::filesystem::path m_path;
};

// Relative path (generic, "ab/abc...") -> lower-case sha1 hex of every
// regular file under `dir`, recursively; symbolic links are not followed and
// appear as "symlink:<target>". An absent directory gives an empty map.
[[nodiscard]] std::map<std::string, std::string>
tree_digest(const std::filesystem::path& dir);
// Number of regular files under `dir` (recursive; 0 when absent).
[[nodiscard]] std::size_t count_files(const std::filesystem::path& dir);
// Whole file; throws std::system_error when it cannot be read.
[[nodiscard]] std::string read_file(const std::filesystem::path& path);
// Lines without their '\n' (a last line without '\n' is kept); throws like read_file.
[[nodiscard]] std::vector<std::string> read_lines(const std::filesystem::path& path);
// Creates or truncates `path` (parents created) with `content`; throws.
void write_file(const std::filesystem::path& path, std::string_view content);

// Polls `predicate` every `interval` until it returns true (true) or
// `timeout` passes (false).
bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = 20ms);

// ---------------------------------------------------------------- processes

struct RunOutput {
  int exit_code = -1; // exit status, -1 when killed by a signal
  int signal = 0;     // the signal that killed it, else 0
  std::string out;
  std::string err;
  bool timed_out = false; // killed because the timeout passed

  // "exit 1; stderr: <last lines>" for assertion messages.
  [[nodiscard]] std::string describe() const;
};

// Runs argv (no shell; argv[0] looked up on PATH) with our environment plus
// `extra_env` ("NAME=value", replacing), stdin /dev/null, capturing stdout
// and stderr; kills its process group when `timeout` passes. Throws only when
// the program cannot be started.
RunOutput run(std::vector<std::string> argv, std::vector<std::string> extra_env = {},
              std::chrono::seconds timeout = 300s);

// Concatenates environment lists: env_list(pg.env(), {"X=1"}).
[[nodiscard]] std::vector<std::string>
env_list(std::initializer_list<std::vector<std::string>> parts);

// ---------------------------------------------------------------- test points

// {"ODBOX_TEST_STOP_AT=<point>"}: the environment that makes odbox-backup stop
// itself with SIGSTOP the first time it passes test point `point`
// (include/odbox/util/test_point.hpp lists the points).
[[nodiscard]] std::vector<std::string> stop_at(std::string_view point);
// Waits until child `pid` of this process is stopped by a signal (true), or
// has ended or `timeout` passed (false). The child stays waitable either way
// (WNOWAIT): kill it or SIGCONT it, then wait for it as usual.
[[nodiscard]] bool wait_until_stopped(pid_t pid, std::chrono::milliseconds timeout);

// ---------------------------------------------------------------- PostgreSQL

// Runs `psql -X -q -A -t -v ON_ERROR_STOP=1 -d db -c sql` (psql from
// $ODBOX_PSQL, else /usr/bin/psql); returns stdout (rows as "a|b" lines).
// Throws std::runtime_error with psql's stderr on failure.
std::string psql(const PgEnv& pg, const std::string& db, const std::string& sql);
// psql() without the trailing newline(s): for one value.
std::string psql_value(const PgEnv& pg, const std::string& db, const std::string& sql);
// Whether database `db` exists.
[[nodiscard]] bool database_exists(const PgEnv& pg, const std::string& db);
// DROP DATABASE IF EXISTS ... WITH (FORCE).
void drop_database(const PgEnv& pg, const std::string& db);
// CREATE DATABASE new_db, then `psql -v ON_ERROR_STOP=1 -f dump` into it;
// throws with psql's stderr on any error (the database may be left behind).
void restore_dump(const PgEnv& pg, const std::filesystem::path& dump,
                  const std::string& new_db);
// Table name -> "rows=<count> md5=<md5 of the rows' text, sorted (C collation)>"
// for every table of schema public, by $ODBOX_SUPPORT_DIR/table-digests.sql
// (which a pg_dump wrapper also runs inside the backup's snapshot).
[[nodiscard]] std::map<std::string, std::string> table_digests(const PgEnv& pg,
                                                               const std::string& db);
// The same map from that script's output ("name|rows=... md5=..." lines).
[[nodiscard]] std::map<std::string, std::string>
parse_table_digests(const std::string& text);
// Sequence name -> its last_value ("null" before the first nextval) for every
// sequence of schema public.
[[nodiscard]] std::map<std::string, std::string> sequence_values(const PgEnv& pg,
                                                                 const std::string& db);
// The store_fname values referenced by ir_attachment, sorted and distinct.
[[nodiscard]] std::vector<std::string> referenced_files(const PgEnv& pg,
                                                        const std::string& db);
// Quotes an SQL identifier ("a""b").
[[nodiscard]] std::string quote_ident(std::string_view name);

// ---------------------------------------------------------------- Odoo stand-in

// Runs `odoo-standin args...` with the cluster's environment.
RunOutput standin(const PgEnv& pg, std::vector<std::string> args,
                  std::chrono::seconds timeout = 300s);
// `odoo-standin init --db db --data-dir data_dir extra...`; throws on failure.
void standin_init(const PgEnv& pg, const std::string& db,
                  const std::filesystem::path& data_dir,
                  const std::vector<std::string>& extra = {});

// One line of the stand-in's --events file.
struct StandinEvent {
  double t = 0;        // unix time, seconds
  std::string event;   // start, stop, create, rollback, delete, replace, gc, gc_skipped
  nlohmann::json data; // the whole line
};
// Parses an events file (absent file: no events); throws on a malformed line.
[[nodiscard]] std::vector<StandinEvent> read_events(const std::filesystem::path& path);
// Events named `name` only.
[[nodiscard]] std::vector<StandinEvent>
events_named(const std::vector<StandinEvent>& events, std::string_view name);

struct StandinOptions {
  std::string db;
  std::filesystem::path data_dir;
  // Defaults: <data_dir>/../standin-events.jsonl and <data_dir>/../standin.log.
  std::filesystem::path events;
  std::filesystem::path log;
  std::vector<std::string> extra_args; // e.g. {"--no-gc"}, {"--interval-ms", "5"}
};

// `odoo-standin run` in the background, as a running Odoo. The constructor
// waits (up to 30 s) for its "start" event and throws if it exits first; the
// destructor stops it (SIGTERM, then SIGKILL after 5 s).
class StandinProcess {
public:
  StandinProcess(const PgEnv& pg, StandinOptions options);
  ~StandinProcess();
  StandinProcess(const StandinProcess&) = delete;
  StandinProcess& operator=(const StandinProcess&) = delete;

  // SIGTERM to its process group, wait (SIGKILL after `grace`); `out` is its
  // stdout (the log file), `err` its stderr.
  RunOutput stop(std::chrono::milliseconds grace = 10s);
  [[nodiscard]] pid_t pid() const noexcept { return m_child.pid(); }
  [[nodiscard]] bool running();
  [[nodiscard]] const std::filesystem::path& events_path() const noexcept {
    return m_options.events;
  }
  [[nodiscard]] std::vector<StandinEvent> events() const {
    return read_events(m_options.events);
  }

private:
  StandinOptions m_options;
  odbox::util::Child m_child;
  std::optional<odbox::util::ExitStatus> m_status; // once it has ended
};

// ---------------------------------------------------------------- fake systemctl

// Drives tests/support/fake-systemctl: defines units, injects faults, reads
// what was called. The destructor stops every unit still running.
class FakeSystemctl {
public:
  enum class Fault { fail_start, hang_stop, fail_stop };
  struct Call {
    double t = 0;                  // unix time of the call
    std::vector<std::string> args; // e.g. {"stop", "odoo.service"}
  };

  // Creates dir/units and dir/run.
  explicit FakeSystemctl(std::filesystem::path dir);
  ~FakeSystemctl();
  FakeSystemctl(const FakeSystemctl&) = delete;
  FakeSystemctl& operator=(const FakeSystemctl&) = delete;

  // Writes units/<unit> with EXEC=(exec...), each word shell-quoted.
  void define_unit(const std::string& unit, const std::vector<std::string>& exec) const;
  // A unit running `odoo-standin run --db db --data-dir data_dir --events events
  // extra...` with the cluster's PGHOST/PGPORT/PGUSER.
  void define_standin_unit(const std::string& unit, const PgEnv& pg,
                           const std::string& db, const std::filesystem::path& data_dir,
                           const std::filesystem::path& events,
                           const std::vector<std::string>& extra = {}) const;

  // {"FAKE_SYSTEMCTL_DIR=<dir>"}: the environment odbox-backup needs.
  [[nodiscard]] std::vector<std::string> env() const;
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return m_dir; }
  [[nodiscard]] static std::filesystem::path program() { return fake_systemctl_bin(); }

  // Runs fake-systemctl with `args` (recorded in calls.log like any call).
  RunOutput systemctl(const std::vector<std::string>& args) const;
  // "active", "inactive" or "failed" (is-active).
  [[nodiscard]] std::string state(const std::string& unit) const;
  [[nodiscard]] bool is_active(const std::string& unit) const {
    return state(unit) == "active";
  }
  // The unit's main pid while active.
  [[nodiscard]] std::optional<pid_t> main_pid(const std::string& unit) const;
  // Output of the unit's process.
  [[nodiscard]] std::filesystem::path unit_log(const std::string& unit) const;

  // Creates or removes the fault file.
  void set_fault(Fault fault, bool on = true) const;
  // Only the next `count` starts fail.
  void fail_next_starts(int count) const;

  // Every call so far, in order (calls.log).
  [[nodiscard]] std::vector<Call> calls() const;
  // Calls whose verb (first argument not starting with "-") is `verb`, e.g. "stop".
  [[nodiscard]] std::vector<Call> calls_of(std::string_view verb) const;

private:
  std::filesystem::path m_dir;
};

// Quotes a word for bash ('it'\''s').
[[nodiscard]] std::string shell_quote(std::string_view word);

} // namespace odbox_test
