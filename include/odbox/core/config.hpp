#pragma once

#include "odbox/core/offsite/settings.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// Paths (or names looked up on PATH) of the external programs.
struct ToolPaths {
  std::string pg_dump = "pg_dump";
  std::string psql = "psql";
  std::string rsync = "rsync";
  std::string systemctl = "systemctl";
  std::string restic = "restic";
};

// Settings of `cold` (and of `restore --force`, which stops Odoo the same way).
struct ColdSettings {
  bool full_downtime = false;
  std::optional<int> sessions_keep_days;  // keep sessions newer than N days
  std::chrono::seconds stop_timeout{120};
  std::chrono::seconds start_timeout{120};
  std::filesystem::path marker_dir = "/run/odbox-backup";
};

// Everything a run needs, from the JSON config file with the command-line
// flags applied over it.
struct Config {
  std::filesystem::path basedir = "/backup";
  std::vector<std::string> databases;
  std::filesystem::path data_dir;
  std::optional<std::filesystem::path> sessions_dir;  // default <data_dir>/sessions
  std::string odoo_service = "odoo.service";
  std::string log_level = "info";
  std::string conninfo;  // libpq connection string; empty: libpq environment
  ToolPaths tools;
  std::chrono::seconds lock_wait_timeout{600};  // pg_dump --lock-wait-timeout and ours
  std::optional<std::filesystem::path> metrics_file;
  bool wait_lock = false;
  ColdSettings cold;
  std::optional<OffsiteSettings> offsite;  // off-site generations through restic

  [[nodiscard]] std::filesystem::path sessions() const {
    return sessions_dir ? *sessions_dir : data_dir / "sessions";
  }
};

// Reads a JSON config file into `config` (keys absent from the file keep
// their current value). Throws UsageError naming the file, the key and the
// fix for unreadable files, invalid JSON, unknown keys and wrong types.
void load_config_file(const std::filesystem::path& file, Config& config);

// Checks what can be checked without touching anything: absolute paths,
// basedir and data_dir not inside each other, database names safe as file
// names, data_dir present. Throws UsageError with a one-line message.
void validate_config(const Config& config);

// Checks one database name (letters, digits, '_', '.', '-', not starting with
// '-' or '.', no "..", at most 63 bytes). Throws UsageError.
void validate_database_name(const std::string& name);

} // namespace odbox::core
