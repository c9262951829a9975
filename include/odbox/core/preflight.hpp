#pragma once

#include "odbox/core/config.hpp"

#include <optional>
#include <string>

namespace odbox::core {

// The external programs of a backup, resolved by preflight.
struct Tools {
  std::string pg_dump;
  std::string pg_dump_version; // "15.20"
  std::string rsync;
};

// What preflight checks beyond what both kinds need.
enum class RunKind {
  hot,
  cold, // also the sessions directory and systemctl
};

// The preflight of hot and cold, before anything is touched (nothing is
// created, no mode changed, Odoo not stopped): the configuration
// (validate_config), for cold the sessions directory and systemctl, the
// metrics file's directory, the backup area (writable, no symbolic link in
// its layout), the tools, PostgreSQL, and each database (exists, is an Odoo
// database, pg_dump new enough). Throws UsageError (exit 2) or RunError
// (exit 1, e.g. PostgreSQL unreachable).
Tools preflight(const Config& config, RunKind kind);

// Finds the program `name` (a path, or a name looked up on PATH) and returns
// its path. Throws UsageError naming `option` and the fix when it is
// missing, a directory, or not an executable file.
std::string require_program(const std::string& name, const std::string& option,
                            const std::string& package);

// Follows config.basedir once when it is a symbolic link (admins point
// /backup at a mounted disk), so that every later step works on the real
// path, and logs it. Throws UsageError if the link is not owned by root (or
// by the user running the tool: anyone else could redirect the backups) or
// leads nowhere (the disk is not mounted). Other basedirs are left as given.
void follow_basedir_link(Config& config);

// For commands that purge sessions: the sessions directory, when it exists
// (it must when given explicitly; validate_config checks that), is a real
// directory, not a symbolic link (the purge never follows one) or a file.
// Throws UsageError.
void check_sessions_dir(const Config& config);

// A pg_dump --version line, "pg_dump (PostgreSQL) 15.20 (Debian ...)".
struct PgDumpVersion {
  int major = 0;    // 15
  std::string text; // "15.20"
};
// Nothing if the line is not pg_dump's.
[[nodiscard]] std::optional<PgDumpVersion> parse_pg_dump_version(const std::string& line);

} // namespace odbox::core
