#pragma once

// Pieces of the off-site tests: a REST repository served on loopback by
// `rclone serve restic`, the secrets and config file of the offsite object,
// and restic run by the test itself (to look at the repository from the
// outside).

#include "harness.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace odbox::it {

// `rclone serve restic --addr 127.0.0.1:<free port> DIR [--append-only]`,
// started and waited for until it accepts connections; stopped by the
// destructor. stop() and start() take it down and up on the same port.
class ResticServer {
public:
  ResticServer(fs::path dir, bool append_only);
  ~ResticServer();
  ResticServer(const ResticServer&) = delete;
  ResticServer& operator=(const ResticServer&) = delete;

  void start();
  void stop();
  // rest:http://127.0.0.1:PORT/<repo>
  [[nodiscard]] std::string repository(const std::string& repo = "odoo") const;
  [[nodiscard]] const fs::path& dir() const { return m_dir; }

private:
  fs::path m_dir;
  bool m_append_only;
  int m_port = 0;
  std::optional<util::Child> m_child;
};

// The offsite object of a test: a root-only password file and environment
// file with random secrets, and the config file that names them.
class OffsiteSetup {
public:
  OffsiteSetup(const OdooScratch& odoo, std::string repository);

  // Writes the config file: {"offsite": defaults + `offsite`, ...top}.
  void write_config(const nlohmann::json& offsite = nlohmann::json::object(),
                    const nlohmann::json& top = nlohmann::json::object());
  // {"--config", FILE} followed by `args`.
  [[nodiscard]] std::vector<std::string> args(std::vector<std::string> args) const;

  // restic run by the test against the same repository and password.
  [[nodiscard]] RunOutput restic(const std::vector<std::string>& args) const;
  [[nodiscard]] std::vector<std::string> restic_env() const;
  // `restic snapshots --json`, oldest first.
  [[nodiscard]] std::vector<nlohmann::json> snapshots() const;
  // `restic init` with the test's password.
  void init_repository() const;

  [[nodiscard]] const fs::path& config() const { return m_config; }
  [[nodiscard]] const fs::path& password_file() const { return m_password_file; }
  [[nodiscard]] const fs::path& environment_file() const { return m_environment_file; }
  [[nodiscard]] const std::string& repository() const { return m_repository; }
  // The password and the credential values: they must appear nowhere.
  [[nodiscard]] std::vector<std::string> secrets() const { return {m_password, m_token}; }

private:
  fs::path m_config;
  fs::path m_password_file;
  fs::path m_environment_file;
  fs::path m_cache;
  std::string m_repository;
  std::string m_password;
  std::string m_token;
};

// The value of tag "key=value" of a restic snapshot ("" when absent).
std::string tag_of(const nlohmann::json& snapshot, const std::string& key);

// The "offsite" entry of database `db` in the last runs.jsonl record that has one.
nlohmann::json last_push(const OdooScratch& odoo, const std::string& db);

// Every secret absent from `text` (what the output came from in `where`).
void expect_no_secret(const std::string& text, const std::vector<std::string>& secrets,
                      const std::string& where);
// ... and from every file below `dir` except `skip` (the secret files).
void expect_no_secret_in_tree(const fs::path& dir,
                              const std::vector<std::string>& secrets,
                              const std::vector<fs::path>& skip);

// `count` attachments of `size` random bytes each, written into the live
// store and ir_attachment as Odoo does (sha1 names, two-character folders).
// Returns their ids.
std::vector<int> add_attachments(const OdooScratch& odoo, int count, std::size_t size);
// Gives attachment `id` new content of the same size (a new file, the old
// one deleted from the live store, as Odoo's GC would). Returns its bytes.
std::size_t replace_attachment(const OdooScratch& odoo, int id);

} // namespace odbox::it
