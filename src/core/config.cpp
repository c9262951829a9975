#include "odbox/core/config.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/sys_error.hpp"
#include "odbox/util/text.hpp"

#include <cerrno>
#include <set>
#include <sys/stat.h>

namespace odbox::core {
namespace {

bool is_inside(const std::filesystem::path& inner, const std::filesystem::path& outer) {
  auto o = outer.begin();
  auto i = inner.begin();
  for (; o != outer.end() && !o->empty(); ++o, ++i) {
    if (i == inner.end() || *i != *o) {
      return false;
    }
  }
  return true;
}

std::filesystem::path normalized(const std::filesystem::path& p) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(p, ec);
  return (ec ? p : canonical).lexically_normal();
}

void require_absolute(const std::filesystem::path& p, const std::string& option) {
  if (p.empty()) {
    return;
  }
  if (!p.is_absolute()) {
    throw UsageError(option + " must be an absolute path, not '" + p.string() +
                     "' (write it from the root, e.g. /" + p.relative_path().string() +
                     ")");
  }
}

} // namespace

std::string SettingRange::describe() const {
  std::string text =
      "a whole number of " + std::string(unit) + " from " + std::to_string(min);
  if (!min_note.empty()) {
    text += " (" + std::string(min_note) + ")";
  }
  return text + " to " + std::to_string(max);
}

std::optional<long long> SettingRange::parse(std::string_view text) const {
  const auto value = util::parse_decimal(text);
  return value && contains(*value) ? value : std::nullopt;
}

void validate_database_name(const std::string& name) {
  const auto fail = [&](const std::string& why) {
    throw UsageError("invalid database name '" + util::printable(name) + "': " + why +
                     " (use letters, digits, '_', '.' and '-', as Odoo does)");
  };
  if (name.empty()) {
    fail("it is empty");
  }
  if (name.size() > 63) {
    fail("longer than PostgreSQL's 63 bytes");
  }
  if (name.front() == '-' || name.front() == '.') {
    fail(std::string("it starts with '") + name.front() + "'");
  }
  if (name.find("..") != std::string::npos) {
    fail("it contains '..'");
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) {
      fail(c == '/' ? std::string("it contains '/'")
                    : "it contains the character '" + util::printable(std::string(1, c)) +
                          "'");
    }
  }
}

namespace {

void validate_databases(const std::vector<std::string>& databases) {
  if (databases.empty()) {
    throw UsageError("no database given: name it with --db NAME or \"databases\" in the "
                     "config file");
  }
  std::set<std::string> seen;
  for (const auto& db : databases) {
    validate_database_name(db);
    if (!seen.insert(db).second) {
      throw UsageError("database '" + db + "' is given twice: name each database once");
    }
  }
}

void require_in_range(long long value, const SettingRange& range,
                      const std::string& option) {
  if (!range.contains(value)) {
    throw UsageError(option + " is " + std::to_string(value) + ": give " +
                     range.describe());
  }
}

void validate_ranges(const Config& config) {
  require_in_range(config.lock_wait_timeout.count(), k_lock_wait_timeout_range,
                   "--lock-wait-timeout");
  require_in_range(config.cold.stop_timeout.count(), k_stop_timeout_range,
                   "--stop-timeout");
  require_in_range(config.cold.start_timeout.count(), k_start_timeout_range,
                   "--start-timeout");
  if (config.cold.sessions_keep_days) {
    require_in_range(*config.cold.sessions_keep_days, k_sessions_keep_days_range,
                     "--sessions-keep-days");
  }
}

void validate_absolute_paths(const Config& config) {
  if (config.basedir.empty()) {
    throw UsageError("--basedir is empty: give the backup area's absolute path");
  }
  require_absolute(config.basedir, "--basedir");
  if (config.data_dir.empty()) {
    throw UsageError("no Odoo data directory given: set --data-dir (Odoo's data_dir, "
                     "the directory holding filestore/ and sessions/)");
  }
  require_absolute(config.data_dir, "--data-dir");
  if (config.sessions_dir) {
    require_absolute(*config.sessions_dir, "--sessions-dir");
  }
  require_absolute(config.cold.marker_dir, "cold.marker_dir / --marker-dir");
  if (config.metrics_file) {
    require_absolute(*config.metrics_file, "--metrics-file");
  }
}

// Odoo's data_dir, and a sessions directory given explicitly, are there.
void validate_existing_dirs(const Config& config) {
  const auto problem = [](const std::filesystem::path& dir) -> std::string {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      return errno == ENOENT ? "does not exist"
                             : "cannot be read (" + util::errno_text(errno) + ")";
    }
    return S_ISDIR(st.st_mode) ? "" : "is not a directory";
  };
  if (const auto why = problem(config.data_dir); !why.empty()) {
    throw UsageError("Odoo data directory " + config.data_dir.string() + " " + why +
                     ": check --data-dir (Odoo's data_dir setting)");
  }
  if (!config.sessions_dir) {
    return; // <data_dir>/sessions may not exist yet: nothing to purge then
  }
  if (const auto why = problem(*config.sessions_dir); !why.empty()) {
    throw UsageError(
        "the sessions directory " + config.sessions_dir->string() + " " + why +
        ": point --sessions-dir at Odoo's sessions directory, or leave it out "
        "for <data_dir>/sessions");
  }
}

void validate_overlaps(const Config& config) {
  const auto base = normalized(config.basedir);
  const auto data = normalized(config.data_dir);
  if (is_inside(base, data)) {
    throw UsageError("the backup area " + config.basedir.string() +
                     " is inside the Odoo data directory " + config.data_dir.string() +
                     ": put --basedir on another path (ideally another disk)");
  }
  if (is_inside(data, base)) {
    throw UsageError("the Odoo data directory " + config.data_dir.string() +
                     " is inside the backup area " + config.basedir.string() +
                     ": put --basedir on another path");
  }
  // The session purge deletes every regular file below the sessions
  // directory: it must hold neither the backups nor the file store.
  const auto sessions = normalized(config.sessions());
  const auto stores = normalized(config.live_stores());
  if (is_inside(sessions, base) || is_inside(base, sessions) ||
      is_inside(stores, sessions) || is_inside(sessions, stores)) {
    throw UsageError("the sessions directory " + config.sessions().string() +
                     " overlaps the backup area or the file store: point --sessions-dir "
                     "at Odoo's sessions directory");
  }
}

} // namespace

void validate_config(const Config& config) {
  validate_databases(config.databases);
  validate_ranges(config);
  validate_absolute_paths(config);
  validate_overlaps(config);
  validate_existing_dirs(config);
}

} // namespace odbox::core
