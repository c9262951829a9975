#pragma once

#include "odbox/core/compression.hpp"
#include "odbox/core/offsite/settings.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace odbox::core {

// The values a numeric setting accepts, the same from a flag and from the
// config file, so that nothing out of range reaches a run (a huge timeout
// would overflow into a negative one when turned into milliseconds).
struct SettingRange {
  long long min;
  long long max;
  std::string_view unit;     // "seconds", "days"
  std::string_view min_note; // what `min` means, e.g. "no limit"; may be empty

  // "a whole number of seconds from 0 (no limit) to 86400"
  [[nodiscard]] std::string describe() const;
  // The value of `text` if it is a whole decimal number in range.
  [[nodiscard]] std::optional<long long> parse(std::string_view text) const;
  [[nodiscard]] bool contains(long long value) const {
    return value >= min && value <= max;
  }
};

inline constexpr SettingRange k_lock_wait_timeout_range{0, 86400, "seconds", "no limit"};
inline constexpr SettingRange k_stop_timeout_range{1, 3600, "seconds", ""};
inline constexpr SettingRange k_start_timeout_range{1, 3600, "seconds", ""};
inline constexpr SettingRange k_sessions_keep_days_range{0, 3650, "days", "purge all"};
inline constexpr SettingRange k_compression_threads_range{0, k_compression_max_threads,
                                                          "threads", "none"};

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
  std::optional<int> sessions_keep_days; // keep sessions newer than N days
  std::chrono::seconds stop_timeout{120};
  std::chrono::seconds start_timeout{120};
  std::filesystem::path marker_dir = "/run/odbox-backup";

  // The age of the session files the purge keeps; nothing (also for 0
  // days): purge them all.
  [[nodiscard]] std::optional<std::chrono::seconds> sessions_keep_age() const {
    if (!sessions_keep_days || *sessions_keep_days == 0) {
      return std::nullopt;
    }
    return std::chrono::days(*sessions_keep_days);
  }
};

// Everything a run needs, from the JSON config file with the command-line
// flags applied over it.
struct Config {
  std::filesystem::path basedir = "/backup";
  std::vector<std::string> databases;
  std::filesystem::path data_dir;
  std::optional<std::filesystem::path> sessions_dir; // default <data_dir>/sessions
  std::string odoo_service = "odoo.service";
  std::string log_level = "info";
  std::string conninfo; // libpq connection string; empty: libpq environment
  ToolPaths tools;
  std::chrono::seconds lock_wait_timeout{600}; // pg_dump --lock-wait-timeout and ours
  std::optional<std::filesystem::path> metrics_file;
  bool wait_lock = false;
  DumpCompression compression; // hot and cold
  ColdSettings cold;
  std::optional<OffsiteSettings> offsite; // off-site generations through restic

  [[nodiscard]] std::filesystem::path sessions() const {
    return sessions_dir ? *sessions_dir : data_dir / "sessions";
  }
  // Odoo's file stores, <data_dir>/filestore, and the one of `db` in it.
  [[nodiscard]] std::filesystem::path live_stores() const {
    return data_dir / "filestore";
  }
  [[nodiscard]] std::filesystem::path live_store(const std::string& db) const {
    return live_stores() / db;
  }
};

// Reads a JSON config file into `config` (keys absent from the file keep
// their current value). Throws UsageError naming the file, the key and the
// fix for a file that is missing, unreadable or not a regular file, invalid
// JSON, unknown keys, wrong types, empty or blank strings and numbers out of
// their SettingRange.
void load_config_file(const std::filesystem::path& file, Config& config);

// Checks what can be checked without touching anything: absolute paths,
// basedir and data_dir not inside each other, database names safe as file
// names, data_dir present, a sessions_dir given explicitly present, numbers
// in their SettingRange. Throws UsageError with a one-line message.
void validate_config(const Config& config);

// Checks one database name (letters, digits, '_', '.', '-', not starting with
// '-' or '.', no "..", at most 63 bytes). Throws UsageError, which shows the
// name with its unprintable bytes escaped.
void validate_database_name(const std::string& name);

} // namespace odbox::core
