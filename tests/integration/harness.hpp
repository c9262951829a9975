#pragma once

// Shared pieces of the integration tests: a scratch Odoo (database made by
// the Odoo stand-in, data dir in a temporary directory) and the real
// odbox-backup binary run against it.

#include "odbox/util/process.hpp"

#include <memory>
#include <optional>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace odbox::it {

namespace fs = std::filesystem;

// The throwaway cluster started by tests/support/pg-cluster (fixture "pg").
struct PgEnv {
  std::string host, port, user;
  static PgEnv load();  // reads $ODBOX_PG_STATE/env
  [[nodiscard]] std::vector<std::string> env() const;
};

// A temporary directory removed with its contents.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

struct RunOutput {
  int exit_code = -1;
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs a program to completion (no shell), environment extended by `env`.
RunOutput run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
              std::chrono::seconds timeout = std::chrono::seconds(300));
std::string read_file(const fs::path& file);

// Paths handed over by CTest.
std::string env_or_fail(const char* name);
std::string tool_binary();                 // ODBOX_BIN
std::string standin_binary();              // ODBOX_STANDIN
std::string fake_systemctl();              // ODBOX_FAKE_SYSTEMCTL
fs::path wrapper(const std::string& name); // tests/integration/wrappers/<name>

// name|rows|md5 per table, from table-digests.sql.
std::map<std::string, std::string> parse_digests(const std::string& text);

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
  ~OdooScratch();
  OdooScratch(const OdooScratch&) = delete;
  OdooScratch& operator=(const OdooScratch&) = delete;

  [[nodiscard]] const std::string& db() const { return m_db; }
  [[nodiscard]] fs::path data_dir() const { return m_dir.path() / "odoo"; }
  [[nodiscard]] fs::path basedir() const { return m_dir.path() / "backup"; }
  [[nodiscard]] fs::path area() const { return basedir() / "odoo"; }
  [[nodiscard]] fs::path dump() const { return area() / (m_db + ".dump.sql"); }
  [[nodiscard]] fs::path manifest_path() const { return area() / (m_db + ".manifest.json"); }
  [[nodiscard]] fs::path mirror() const { return area() / "filestore" / m_db; }
  [[nodiscard]] fs::path live_store() const { return data_dir() / "filestore" / m_db; }
  [[nodiscard]] fs::path scratch() const { return m_dir.path(); }
  // Writes a file no attachment references into the live store, as Odoo
  // might: the next mirror then has something for rsync (when its quick
  // check finds nothing to copy, the tool runs no rsync at all).
  void write_unreferenced_file(const std::string& name = "zz/unreferenced") const;
  [[nodiscard]] const PgEnv& pg() const { return m_pg; }

  // Runs odbox-backup with --basedir/--db/--data-dir of this scratch Odoo,
  // `args` (the subcommand and its options) and extra environment.
  RunOutput backup(const std::vector<std::string>& args,
                   const std::vector<std::string>& env = {}) const;
  // Starts odbox-backup like backup() in the background (output discarded).
  util::Child spawn_backup(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {}) const;
  // Runs odbox-backup with exactly `args`.
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
  // Starts `odoo-standin run` (stopped by the destructor or stop_load()).
  void start_load(const std::vector<std::string>& extra = {});
  void stop_load();
  [[nodiscard]] fs::path events_file() const { return m_dir.path() / "events.jsonl"; }
  std::vector<nlohmann::json> events() const;

  // Odoo as a service: the stand-in run through tests/support/fake-systemctl
  // as "odoo.service" (started here, stopped by the destructor).
  void install_odoo_service(bool start = true);
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
  TempDir m_dir;
  std::string m_db;
  std::vector<std::string> m_restored;
  std::optional<util::Child> m_load;
  bool m_service = false;
};

} // namespace odbox::it
