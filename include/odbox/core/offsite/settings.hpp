#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// restic's --keep-* rules, applied by `offsite forget` to each database and
// kind on its own. `last` is at least 1: the newest generations of a
// database are never forgotten, whatever the age rules say.
struct OffsiteKeep {
  int last = 3;
  int hourly = 0;
  int daily = 7;
  int weekly = 4;
  int monthly = 12;
  int yearly = 0;
};

// The `offsite` object of the config file: where restic keeps the
// generations, and the root-only files that hold its secrets.
struct OffsiteSettings {
  std::string repository; // any restic repository string (it may hold credentials)
  std::filesystem::path password_file;
  std::optional<std::filesystem::path> environment_file; // KEY=VALUE backend credentials
  std::vector<std::string> push_after;                   // "hot", "cold"
  OffsiteKeep keep;
  bool init = false; // create a missing repository on the first push

  [[nodiscard]] bool pushes_after(const std::string& kind) const;
};

// Reads the `offsite` object of config file `file`. Throws UsageError naming
// the file, the key and the fix: unknown keys, wrong types, a missing
// repository or password file, relative paths, unknown push_after kinds, a
// keep policy that keeps nothing or has keep.last below 1.
OffsiteSettings read_offsite_settings(const nlohmann::json& object,
                                      const std::string& file);

// The repository string for messages and records: the password of a URL's
// user info ("rest:https://user:pw@host/") replaced by "***".
[[nodiscard]] std::string redacted_repository(const std::string& repository);

// A file holding secrets must be a regular file owned by root (or by the
// user running the tool) and not readable by group or others. Throws
// UsageError naming `key`, the file and the fix (`chmod 600 FILE`).
void check_secret_file(const std::filesystem::path& file, const std::string& key);

// The backend credentials of environment_file: "KEY=VALUE" lines, blank
// lines and "#" comments skipped. Throws UsageError naming the line number
// (never its content) for a malformed line, and for the variables that the
// offsite object itself sets (RESTIC_REPOSITORY, RESTIC_PASSWORD...).
std::vector<std::string> read_environment_file(const std::filesystem::path& file);

} // namespace odbox::core
