#pragma once

// Shared pieces of the integration tests: a scratch Odoo (database made by
// the Odoo stand-in, data dir in a temporary directory) and the real
// odbox-backup binary run against it. Built on odbox_test_support
// (tests/support/include/odbox_test/support.hpp), which owns the test
// environment, the cluster, temporary directories, running programs, the
// stand-in and fake-systemctl; the names below are the ones these tests use.

#include "odbox/util/process.hpp"
#include "odbox_test/support.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace odbox::it {

namespace fs = std::filesystem;

using odbox_test::PgEnv;     // the throwaway cluster (fixture "pg")
using odbox_test::read_file; // whole file; throws when it cannot be read
using odbox_test::run;       // runs a program (no shell) to completion
using odbox_test::RunOutput;
using odbox_test::stop_at;            // environment: stop at a test point
using odbox_test::TempDir;            // removed with its contents
using odbox_test::wait_until;         // polls a predicate up to a timeout
using odbox_test::wait_until_stopped; // a child stopped at its test point

// Paths handed over by CTest (or compiled in for this build tree).
inline std::string env_or_fail(const char* name) {
  return odbox_test::required_env(name);
}
inline std::string tool_binary() {
  return odbox_test::odbox_bin().string();
}
inline std::string standin_binary() {
  return odbox_test::standin_bin().string();
}
inline std::string fake_systemctl() {
  return odbox_test::fake_systemctl_bin().string();
}
// tests/integration/wrappers/<name>
fs::path wrapper(const std::string& name);

// Table name -> digest, from table-digests.sql output (e.g. a file written by
// wrappers/pg_dump-snapshot-digests); compares equal to OdooScratch::digests.
inline std::map<std::string, std::string> parse_digests(const std::string& text) {
  return odbox_test::parse_table_digests(text);
}

class OdooScratch {
public:
  struct Options {
    int attachments = 120;
    int bulk_rows = 20000;
    int sessions = 50;
    std::string session_layout = "both";
  };
  // Creates a database named after the running test and a data dir.
  OdooScratch();
  explicit OdooScratch(Options options, const std::string& suffix = "");
  // The same in another cluster than the shared one (e.g. one a test stops).
  OdooScratch(Options options, const std::string& suffix, PgEnv pg);
  ~OdooScratch();
  OdooScratch(const OdooScratch&) = delete;
  OdooScratch& operator=(const OdooScratch&) = delete;

  [[nodiscard]] const std::string& db() const { return m_db; }
  [[nodiscard]] fs::path data_dir() const { return m_dir.path() / "odoo"; }
  [[nodiscard]] fs::path basedir() const { return m_dir.path() / "backup"; }
  [[nodiscard]] fs::path area() const { return basedir() / "odoo"; }
  [[nodiscard]] fs::path dump() const { return area() / (m_db + ".dump.sql"); }
  [[nodiscard]] fs::path manifest_path() const {
    return area() / (m_db + ".manifest.json");
  }
  [[nodiscard]] fs::path mirror() const { return area() / "filestore" / m_db; }
  [[nodiscard]] fs::path live_store() const { return data_dir() / "filestore" / m_db; }
  [[nodiscard]] fs::path scratch() const { return m_dir.path(); }
  // Writes a file no attachment references into the live store, as Odoo
  // might: the next mirror then has something for rsync (when its quick
  // check finds nothing to copy, the tool runs no rsync at all).
  void write_unreferenced_file(const std::string& name = "zz/unreferenced") const;
  [[nodiscard]] const PgEnv& pg() const { return m_pg; }

  // Runs odbox-backup with --basedir/--db/--data-dir of this scratch Odoo,
  // `args` (the subcommand and its options) and extra environment. Throws
  // when it has not ended after 300 s.
  RunOutput backup(const std::vector<std::string>& args,
                   const std::vector<std::string>& env = {}) const;
  // Starts odbox-backup like backup() in the background (output discarded).
  util::Child spawn_backup(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {}) const;
  // Runs odbox-backup with exactly `args`; throws like backup().
  RunOutput raw(const std::vector<std::string>& args,
                const std::vector<std::string>& env = {}) const;

  nlohmann::json manifest() const;
  std::vector<nlohmann::json> runs() const;
  std::string sql(const std::string& query) const;
  std::string sql_in(const std::string& db, const std::string& query) const;
  std::map<std::string, std::string> digests(const std::string& db) const;
  // Restores `dump` into a new database (psql -v ON_ERROR_STOP=1) and
  // returns its digests; the database is dropped at the end of the test.
  std::map<std::string, std::string> restore_digests(const fs::path& dump);
  // store_fname of every row of `db` that has a file.
  std::vector<std::string> referenced_files(const std::string& db) const;
  // Starts `odoo-standin run` and waits for its start event (stopped by the
  // destructor or stop_load()).
  void start_load(const std::vector<std::string>& extra = {});
  void stop_load();
  [[nodiscard]] fs::path events_file() const { return m_dir.path() / "events.jsonl"; }
  // The stand-ins' events so far (load and service alike); each has "t" and
  // "event".
  std::vector<nlohmann::json> events() const;
  // Waits (up to 60 s) until the stand-ins have written `count` events named
  // `event` in all; false when they did not.
  [[nodiscard]] bool wait_for_events(const std::string& event, std::size_t count) const;

  // Odoo as a service: the stand-in run through tests/support/fake-systemctl
  // as "odoo.service" (started here, stopped by the destructor).
  // `extra`: more arguments of `odoo-standin run` (e.g. a slower --interval-ms).
  void install_odoo_service(bool start = true,
                            const std::vector<std::string>& extra = {});
  [[nodiscard]] fs::path systemctl_dir() const { return m_dir.path() / "systemctl"; }
  [[nodiscard]] fs::path marker_dir() const { return m_dir.path() / "run"; }
  [[nodiscard]] std::vector<std::string> systemctl_env() const;
  [[nodiscard]] bool odoo_active() const;
  // (time, "stop odoo.service") for each stop/start the fake systemctl saw.
  [[nodiscard]] std::vector<std::pair<double, std::string>> service_calls() const;
  // odbox-backup ... --systemctl <fake> cold --marker-dir <dir> args...
  RunOutput cold(const std::vector<std::string>& args = {},
                 const std::vector<std::string>& env = {}) const;

private:
  PgEnv m_pg;
  TempDir m_dir{"odbox-it"};
  std::string m_db;
  std::vector<std::string> m_restored;
  std::optional<odbox_test::StandinProcess> m_load;
  odbox_test::FakeSystemctl m_systemctl;
  bool m_service = false;
};

// A copy restored under a new name (restore --target-db, from the area or
// from off site) equals its source: its tables have the `source` digests but
// for the identity a copy gets anew (ir_config_parameter: database.uuid,
// secret, create date), and every file it references is in its own file
// store, with the checksum its row records and mode 0600. The copy comes
// from a scratch Odoo with the default attachments: more than 50 files.
void expect_copy_of(const OdooScratch& odoo, const std::string& copy,
                    std::map<std::string, std::string> source);

} // namespace odbox::it
