#include "odbox/core/config.hpp"

#include "odbox/core/errors.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace odbox::core {
namespace {

using nlohmann::json;

// Reads typed values from one JSON object, refusing unknown keys so a typo
// in the config file is an error instead of a silently ignored setting.
class ObjectReader {
public:
  ObjectReader(const json& object, std::string where, std::string file)
      : m_object(object), m_where(std::move(where)), m_file(std::move(file)) {
    if (!m_object.is_object()) {
      fail(m_where.empty() ? "the top level" : m_where, "must be a JSON object");
    }
  }

  template <typename T> void get(const std::string& key, T& out) {
    m_known.insert(key);
    const auto it = m_object.find(key);
    if (it == m_object.end() || it->is_null()) {
      return;
    }
    try {
      out = it->template get<T>();
    } catch (const json::exception&) {
      fail(path(key), std::string("must be ") + type_name<T>());
    }
  }

  void get_seconds(const std::string& key, std::chrono::seconds& out) {
    long long value = out.count();
    get(key, value);
    if (value < 0) {
      fail(path(key), "must not be negative");
    }
    out = std::chrono::seconds(value);
  }

  const json* child(const std::string& key) {
    m_known.insert(key);
    const auto it = m_object.find(key);
    return it == m_object.end() || it->is_null() ? nullptr : &*it;
  }

  [[nodiscard]] std::string path(const std::string& key) const {
    return m_where.empty() ? key : m_where + "." + key;
  }

  void reject_unknown() const {
    for (const auto& [key, value] : m_object.items()) {
      if (!m_known.contains(key)) {
        fail(path(key), "is not a known setting (see the configuration reference in the README)");
      }
    }
  }

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw UsageError("config file " + m_file + ": '" + key + "' " + problem);
  }

private:
  template <typename T> static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>) {
      return "true or false";
    } else if constexpr (std::is_integral_v<T>) {
      return "a whole number";
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      return "a list of strings";
    } else {
      return "a string";
    }
  }

  const json& m_object;
  std::string m_where;
  std::string m_file;
  std::set<std::string> m_known;
};

void read_cold(ObjectReader& parent, const json& object, const std::string& file,
               ColdSettings& cold) {
  ObjectReader reader(object, parent.path("cold"), file);
  reader.get("full_downtime", cold.full_downtime);
  int keep_days = cold.sessions_keep_days.value_or(-1);
  reader.get("sessions_keep_days", keep_days);
  if (keep_days >= 0) {
    cold.sessions_keep_days = keep_days;
  }
  reader.get_seconds("stop_timeout_seconds", cold.stop_timeout);
  reader.get_seconds("start_timeout_seconds", cold.start_timeout);
  std::string marker_dir = cold.marker_dir.string();
  reader.get("marker_dir", marker_dir);
  cold.marker_dir = marker_dir;
  reader.reject_unknown();
}

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
                     "' (write it from the root, e.g. /" + p.relative_path().string() + ")");
  }
}

} // namespace

void load_config_file(const std::filesystem::path& file, Config& config) {
  std::ifstream in(file);
  if (!in) {
    throw UsageError("cannot read config file " + file.string() +
                     ": no such file or not readable (check --config)");
  }
  json root;
  try {
    root = json::parse(in);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (const auto pos = what.find("parse error at"); pos != std::string::npos) {
      what = what.substr(pos);
    }
    throw UsageError("config file " + file.string() + " is not valid JSON: " + what);
  }
  const std::string name = file.string();
  ObjectReader reader(root, "", name);

  std::string basedir = config.basedir.string();
  reader.get("basedir", basedir);
  config.basedir = basedir;
  reader.get("databases", config.databases);
  std::string data_dir = config.data_dir.string();
  reader.get("data_dir", data_dir);
  config.data_dir = data_dir;
  std::string sessions_dir;
  reader.get("sessions_dir", sessions_dir);
  if (!sessions_dir.empty()) {
    config.sessions_dir = sessions_dir;
  }
  reader.get("odoo_service", config.odoo_service);
  reader.get("log_level", config.log_level);
  reader.get_seconds("lock_wait_timeout_seconds", config.lock_wait_timeout);
  std::string metrics_file;
  reader.get("metrics_file", metrics_file);
  if (!metrics_file.empty()) {
    config.metrics_file = metrics_file;
  }
  if (const json* postgres = reader.child("postgres")) {
    ObjectReader pg(*postgres, "postgres", name);
    pg.get("conninfo", config.conninfo);
    pg.reject_unknown();
  }
  if (const json* tools = reader.child("tools")) {
    ObjectReader t(*tools, "tools", name);
    t.get("pg_dump", config.tools.pg_dump);
    t.get("psql", config.tools.psql);
    t.get("rsync", config.tools.rsync);
    t.get("systemctl", config.tools.systemctl);
    t.get("restic", config.tools.restic);
    t.reject_unknown();
  }
  if (const json* cold = reader.child("cold")) {
    read_cold(reader, *cold, name, config.cold);
  }
  if (const json* offsite = reader.child("offsite")) {
    config.offsite = read_offsite_settings(*offsite, name);
  }
  reader.reject_unknown();
}

void validate_database_name(const std::string& name) {
  const auto fail = [&](const std::string& why) {
    throw UsageError("invalid database name '" + name + "': " + why +
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
                    : "it contains the character '" + std::string(1, c) + "'");
    }
  }
}

void validate_config(const Config& config) {
  if (config.databases.empty()) {
    throw UsageError("no database given: name it with --db NAME or \"databases\" in the "
                     "config file");
  }
  std::set<std::string> seen;
  for (const auto& db : config.databases) {
    validate_database_name(db);
    if (!seen.insert(db).second) {
      throw UsageError("database '" + db + "' is given twice: name each database once");
    }
  }
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
  struct stat st {};
  if (::stat(config.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UsageError("Odoo data directory " + config.data_dir.string() +
                     " does not exist: check --data-dir (Odoo's data_dir setting)");
  }
  // The session purge deletes every regular file below the sessions
  // directory: it must hold neither the backups nor the file store.
  const auto sessions = normalized(config.sessions());
  if (is_inside(sessions, base) || is_inside(base, sessions) ||
      is_inside(data / "filestore", sessions) || is_inside(sessions, data / "filestore")) {
    throw UsageError("the sessions directory " + config.sessions().string() +
                     " overlaps the backup area or the file store: point --sessions-dir "
                     "at Odoo's sessions directory");
  }
}

} // namespace odbox::core
