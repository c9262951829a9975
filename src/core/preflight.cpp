#include "odbox/core/preflight.hpp"

#include "odbox/core/area.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/pg.hpp"
#include "odbox/core/snapshot.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/sys_error.hpp"
#include "odbox/util/text.hpp"

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <regex>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::core {
namespace {

std::string tool_version_line(const std::string& program) {
  util::SpawnSpec spec;
  spec.argv = {program, "--version"};
  auto run = util::run_capture(spec, {.timeout = std::chrono::seconds(30)});
  if (!run || !run->status.success()) {
    throw UsageError(program + " --version failed: is it really " + program + "?");
  }
  return util::last_line(run->out.substr(0, run->out.find('\n')));
}

// The metrics are written last, after the backup: a directory that is
// missing or read-only must stop the run before it starts, not after.
void check_metrics_file(const std::filesystem::path& file) {
  const std::string what = "--metrics-file " + file.string() + ": ";
  const auto dir = file.parent_path();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    throw UsageError(what + "its directory " + dir.string() + " " +
                     (errno == ENOENT ? "does not exist" : util::errno_text(errno)) +
                     ": create it (node_exporter's textfile directory) or fix the path");
  }
  if (!S_ISDIR(st.st_mode)) {
    throw UsageError(what + dir.string() + " is not a directory: fix the path");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw UsageError(what + "its directory " + dir.string() + " is not writable (" +
                     util::errno_text(errno) +
                     "): fix its owner, or under systemd list it in ReadWritePaths=");
  }
  if (::lstat(file.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    throw UsageError(what + "it is " +
                     (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                     ": give the path of the .prom file to write");
  }
}

PgDumpVersion pg_dump_version_of(const std::string& pg_dump) {
  const std::string version_line = tool_version_line(pg_dump);
  const auto version = parse_pg_dump_version(version_line);
  if (!version) {
    throw UsageError(pg_dump + " does not look like pg_dump ('" + version_line +
                     "'): check --pg-dump");
  }
  return *version;
}

void check_databases(const Config& config, const std::string& pg_dump, int dump_major) {
  (void)conninfo_environment(config.conninfo); // malformed conninfo: UsageError
  for (const auto& db : config.databases) {
    PgConnection conn(config.conninfo, db, "odbox-backup preflight");
    require_odoo_database(conn, db);
    const int server_major = conn.server_version() / 10000;
    if (dump_major < server_major) {
      throw UsageError(pg_dump + " is version " + std::to_string(dump_major) +
                       " but the server runs " + conn.server_version_text() +
                       ": install postgresql-client-" + std::to_string(server_major) +
                       " and point --pg-dump at it");
    }
  }
}

} // namespace

std::string require_program(const std::string& name, const std::string& option,
                            const std::string& package) {
  auto path = util::find_executable(name);
  if (path) {
    return *path;
  }
  if (path.error().kind == util::ExecutableProblem::Kind::not_found) {
    throw UsageError(name + " not found: install " + package + " or give its path with " +
                     option);
  }
  // Something is there, but not a program: say what.
  throw UsageError(option + " " + path.error().describe() +
                   ": give the path of the program (or chmod +x it)");
}

void follow_basedir_link(Config& config) {
  const auto& link = config.basedir;
  struct stat st {};
  if (!link.is_absolute() || ::lstat(link.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
    return; // validate_config and the area's preflight judge the rest
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    throw UsageError("--basedir " + link.string() + " is a symbolic link owned by uid " +
                     std::to_string(st.st_uid) +
                     ", not root: refusing to follow it (its owner could redirect the "
                     "backups); give the real path, or make root own it (chown -h root)");
  }
  const std::unique_ptr<char, decltype(&std::free)> real(
      ::realpath(link.c_str(), nullptr), &std::free);
  if (!real) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(link, ec);
    throw UsageError("--basedir " + link.string() + " is a symbolic link to " +
                     target.string() + ", which " +
                     (errno == ENOENT
                          ? std::string("does not exist")
                          : "cannot be resolved (" + util::errno_text(errno) + ")") +
                     ": mount the backup disk, or fix the link");
  }
  spdlog::info("--basedir {} is a symbolic link: using {}", link.string(), real.get());
  config.basedir = real.get();
}

void check_sessions_dir(const Config& config) {
  const auto dir = config.sessions();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT && !config.sessions_dir) {
      return; // Odoo has not made it yet: nothing to purge
    }
    throw UsageError("the sessions directory " + dir.string() + " " +
                     (errno == ENOENT
                          ? "does not exist"
                          : "cannot be read (" + util::errno_text(errno) + ")") +
                     ": point --sessions-dir at Odoo's sessions directory");
  }
  if (S_ISLNK(st.st_mode)) {
    throw UsageError(
        "the sessions directory " + dir.string() +
        " is a symbolic link: refusing to follow it; point --sessions-dir at "
        "the real directory");
  }
  if (!S_ISDIR(st.st_mode)) {
    throw UsageError(
        "the sessions directory " + dir.string() +
        " is not a directory: point --sessions-dir at Odoo's <data_dir>/sessions");
  }
}

std::optional<PgDumpVersion> parse_pg_dump_version(const std::string& line) {
  static const std::regex k_version(R"(^pg_dump \(PostgreSQL\)\s+((\d+)\S*))");
  std::smatch m;
  if (!std::regex_search(line, m, k_version)) {
    return std::nullopt;
  }
  const auto major = util::parse_decimal(m[2].str());
  if (!major || *major > 1000) {
    return std::nullopt;
  }
  return PgDumpVersion{.major = static_cast<int>(*major), .text = m[1].str()};
}

Tools preflight(const Config& config, RunKind kind) {
  validate_config(config);
  if (kind == RunKind::cold) {
    check_sessions_dir(config);
    (void)require_program(config.tools.systemctl, "--systemctl", "systemd");
  }
  if (config.metrics_file) {
    check_metrics_file(*config.metrics_file);
  }
  const BackupArea area(config.basedir);
  area.check_writable();
  area.check_layout(config.databases);
  Tools tools;
  tools.pg_dump = require_program(config.tools.pg_dump, "--pg-dump", "postgresql-client");
  tools.rsync = require_program(config.tools.rsync, "--rsync", "rsync");
  const PgDumpVersion version = pg_dump_version_of(tools.pg_dump);
  tools.pg_dump_version = version.text;
  check_databases(config, tools.pg_dump, version.major);
  return tools;
}

} // namespace odbox::core
