#include "odbox/core/config.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/util/sys_error.hpp"
#include "odbox/util/text.hpp"

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>

// Reading the JSON config file (config.cpp checks the Config it gives).

namespace odbox::core {
namespace {

using nlohmann::json;

bool is_blank(const std::string& value) {
  return value.find_first_not_of(" \t\n\r\v\f") == std::string::npos;
}

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

  // Reads `key` into `out` if it is given; returns whether it was.
  template <typename T> bool get(const std::string& key, T& out) {
    const json* value = find(key);
    if (value == nullptr) {
      return false;
    }
    try {
      out = value->template get<T>();
    } catch (const json::exception&) {
      fail(path(key), std::string("must be ") + type_name<T>());
    }
    if constexpr (std::is_same_v<T, std::string>) {
      require_not_blank(key, out);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      for (const auto& item : out) {
        require_not_blank(key, item);
      }
    }
    return true;
  }

  // A path: a string that is not blank.
  template <typename Path> void get_path(const std::string& key, Path& out) {
    if (std::string text; get(key, text)) {
      out = std::filesystem::path(text);
    }
  }

  // A whole number in `range`, if the key is given. JSON floats (1e300,
  // 2.5) are refused rather than converted; a number beyond long long wraps
  // to a value out of range and is refused too.
  std::optional<long long> number(const std::string& key, const SettingRange& range) {
    const json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_number_integer() || !range.contains(value->get<long long>())) {
      fail(path(key),
           "must be " + range.describe() + ", not " + util::printable(value->dump()));
    }
    return value->get<long long>();
  }

  const json* child(const std::string& key) { return find(key); }

  [[nodiscard]] std::string path(const std::string& key) const {
    return m_where.empty() ? key : m_where + "." + key;
  }

  void reject_unknown() const {
    for (const auto& [key, value] : m_object.items()) {
      if (!m_known.contains(key)) {
        fail(path(key),
             "is not a known setting (see the configuration reference in the README)");
      }
    }
  }

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw UsageError("config file " + m_file + ": '" + util::printable(key) + "' " +
                     problem);
  }

private:
  // The value of `key` (now a known key), or nullptr when absent or null.
  const json* find(const std::string& key) {
    m_known.insert(key);
    const auto it = m_object.find(key);
    return it == m_object.end() || it->is_null() ? nullptr : &*it;
  }

  void require_not_blank(const std::string& key, const std::string& value) const {
    if (is_blank(value)) {
      fail(path(key), "is empty: give a value, or remove the key for the default");
    }
  }

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
  if (const auto days = reader.number("sessions_keep_days", k_sessions_keep_days_range)) {
    cold.sessions_keep_days = static_cast<int>(*days);
  }
  if (const auto seconds = reader.number("stop_timeout_seconds", k_stop_timeout_range)) {
    cold.stop_timeout = std::chrono::seconds(*seconds);
  }
  if (const auto seconds =
          reader.number("start_timeout_seconds", k_start_timeout_range)) {
    cold.start_timeout = std::chrono::seconds(*seconds);
  }
  reader.get_path("marker_dir", cold.marker_dir);
  reader.reject_unknown();
}

// The config file's text. A directory or a device opens fine and fails
// only at the first read, so the type is checked first.
std::string read_config_text(const std::filesystem::path& file) {
  const std::string name = util::printable(file.string());
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    throw UsageError("cannot read config file " + name + ": " + util::errno_text(errno) +
                     " (check --config)");
  }
  if (!S_ISREG(st.st_mode)) {
    throw UsageError("config file " + name + " is " +
                     (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                     ": give the path of the JSON file with --config");
  }
  std::ifstream in(file, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in && !in.eof()) {
    throw UsageError("cannot read config file " + name + " (check its permissions)");
  }
  return text;
}

void read_tools(ObjectReader& parent, const json& object, const std::string& file,
                ToolPaths& tools) {
  ObjectReader reader(object, parent.path("tools"), file);
  reader.get("pg_dump", tools.pg_dump);
  reader.get("psql", tools.psql);
  reader.get("rsync", tools.rsync);
  reader.get("systemctl", tools.systemctl);
  reader.get("restic", tools.restic);
  reader.reject_unknown();
}

} // namespace

void load_config_file(const std::filesystem::path& file, Config& config) {
  const std::string text = read_config_text(file);
  const std::string name = util::printable(file.string());
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (const auto pos = what.find("parse error at"); pos != std::string::npos) {
      what = what.substr(pos);
    }
    throw UsageError("config file " + name +
                     " is not valid JSON: " + util::printable(what));
  }
  ObjectReader reader(root, "", name);
  reader.get_path("basedir", config.basedir);
  reader.get("databases", config.databases);
  reader.get_path("data_dir", config.data_dir);
  reader.get_path("sessions_dir", config.sessions_dir);
  reader.get("odoo_service", config.odoo_service);
  reader.get("log_level", config.log_level);
  if (const auto seconds =
          reader.number("lock_wait_timeout_seconds", k_lock_wait_timeout_range)) {
    config.lock_wait_timeout = std::chrono::seconds(*seconds);
  }
  reader.get_path("metrics_file", config.metrics_file);
  if (std::string compression; reader.get("compression", compression)) {
    parse_compression(compression, "config file " + name + ": 'compression'",
                      config.compression);
  }
  if (const auto threads =
          reader.number("compression_threads", k_compression_threads_range)) {
    config.compression.threads = static_cast<int>(*threads);
  }
  if (const json* postgres = reader.child("postgres")) {
    ObjectReader pg(*postgres, "postgres", name);
    pg.get("conninfo", config.conninfo);
    pg.reject_unknown();
  }
  if (const json* tools = reader.child("tools")) {
    read_tools(reader, *tools, name, config.tools);
  }
  if (const json* offsite = reader.child("offsite")) {
    config.offsite = read_offsite_settings(*offsite, name);
  }
  if (const json* cold = reader.child("cold")) {
    read_cold(reader, *cold, name, config.cold);
  }
  reader.reject_unknown();
}

} // namespace odbox::core
