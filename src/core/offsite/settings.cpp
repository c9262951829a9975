#include "odbox/core/offsite/settings.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/sys_error.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::core {
namespace {

using nlohmann::json;

// Typed reads from one JSON object of the config file, unknown keys refused
// (the same rules as the rest of the file, see config.cpp).
class OffsiteReader {
public:
  OffsiteReader(const json& object, std::string where, std::string file)
      : m_object(object), m_where(std::move(where)), m_file(std::move(file)) {
    if (!m_object.is_object()) {
      fail(m_where, "must be a JSON object");
    }
  }

  // False when the key is absent or null (`out` is left as it is).
  template <typename T> bool get(const std::string& key, T& out, const char* type) {
    m_known.insert(key);
    const auto it = m_object.find(key);
    if (it == m_object.end() || it->is_null()) {
      return false;
    }
    try {
      out = it->template get<T>();
    } catch (const json::exception&) {
      fail(path(key), std::string("must be ") + type);
    }
    return true;
  }

  void get_count(const std::string& key, int& out) {
    long long value = out;
    if (get(key, value, "a whole number") && (value < 0 || value > 100000)) {
      fail(path(key), "must be a whole number from 0 to 100000");
    }
    out = static_cast<int>(value);
  }

  const json* child(const std::string& key) {
    m_known.insert(key);
    const auto it = m_object.find(key);
    return it == m_object.end() || it->is_null() ? nullptr : &*it;
  }

  [[nodiscard]] std::string path(const std::string& key) const {
    return m_where + "." + key;
  }
  [[nodiscard]] const std::string& file() const { return m_file; }

  void reject_unknown() const {
    for (const auto& [key, value] : m_object.items()) {
      if (!m_known.contains(key)) {
        fail(path(key), "is not a known setting (see \"Off-site copies\" in the README)");
      }
    }
  }

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw UsageError("config file " + m_file + ": '" + key + "' " + problem);
  }

private:
  const json& m_object;
  std::string m_where;
  std::string m_file;
  std::set<std::string> m_known;
};

std::filesystem::path absolute_path(OffsiteReader& reader, const std::string& key,
                                    const std::string& value) {
  if (value.empty() || value.front() != '/') {
    reader.fail(reader.path(key), "must be an absolute path, not '" + value + "'");
  }
  return value;
}

void read_keep(OffsiteReader& parent, const json& object, OffsiteKeep& keep) {
  OffsiteReader reader(object, parent.path("keep"), parent.file());
  reader.get_count("last", keep.last);
  reader.get_count("hourly", keep.hourly);
  reader.get_count("daily", keep.daily);
  reader.get_count("weekly", keep.weekly);
  reader.get_count("monthly", keep.monthly);
  reader.get_count("yearly", keep.yearly);
  reader.reject_unknown();
  const std::array counts{keep.last,   keep.hourly,  keep.daily,
                          keep.weekly, keep.monthly, keep.yearly};
  if (std::ranges::all_of(counts, [](int n) { return n == 0; })) {
    reader.fail(
        parent.path("keep"),
        "keeps nothing: forget would delete every generation (set \"last\" to 1 or "
        "more)");
  }
  if (keep.last < 1) {
    reader.fail(reader.path("last"),
                "must be at least 1: the newest generations are never forgotten");
  }
}

void read_push_after(OffsiteReader& reader, OffsiteSettings& settings) {
  if (!reader.get("push_after", settings.push_after, "a list of strings")) {
    return;
  }
  std::set<std::string> seen;
  for (const auto& kind : settings.push_after) {
    if (kind != "hot" && kind != "cold") {
      reader.fail(reader.path("push_after"),
                  "holds '" + kind + "': the kinds of run are \"hot\" and \"cold\"");
    }
    if (!seen.insert(kind).second) {
      reader.fail(reader.path("push_after"), "names '" + kind + "' twice");
    }
  }
}

bool is_variable_name(const std::string& name) {
  if (name.empty() || (std::isdigit(static_cast<unsigned char>(name.front())) != 0)) {
    return false;
  }
  return std::ranges::all_of(name, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

} // namespace

bool OffsiteSettings::pushes_after(const std::string& kind) const {
  return std::ranges::find(push_after, kind) != push_after.end();
}

OffsiteSettings read_offsite_settings(const nlohmann::json& object,
                                      const std::string& file) {
  OffsiteReader reader(object, "offsite", file);
  OffsiteSettings settings;
  if (!reader.get("repository", settings.repository, "a string") ||
      settings.repository.empty()) {
    reader.fail(
        "offsite.repository",
        "is missing: name the restic repository (e.g. \"sftp:backup@host:/srv/odoo\")");
  }
  std::string password_file;
  if (!reader.get("password_file", password_file, "a string")) {
    reader.fail("offsite.password_file",
                "is missing: name the root-only file holding the repository password");
  }
  settings.password_file = absolute_path(reader, "password_file", password_file);
  std::string environment_file;
  if (reader.get("environment_file", environment_file, "a string")) {
    settings.environment_file =
        absolute_path(reader, "environment_file", environment_file);
  }
  read_push_after(reader, settings);
  if (const json* keep = reader.child("keep")) {
    read_keep(reader, *keep, settings.keep);
  }
  reader.get("init", settings.init, "true or false");
  reader.reject_unknown();
  return settings;
}

std::string redacted_repository(const std::string& repository) {
  // Only URLs carry user info: "<backend>:<scheme>://user:password@host/...".
  const auto scheme = repository.find("://");
  if (scheme == std::string::npos) {
    return repository;
  }
  const auto host_start = scheme + 3;
  const auto slash = repository.find('/', host_start);
  const auto at =
      repository.rfind('@', slash == std::string::npos ? repository.size() : slash);
  if (at == std::string::npos || at < host_start) {
    return repository;
  }
  const auto colon = repository.find(':', host_start);
  if (colon == std::string::npos || colon > at) {
    return repository;
  }
  return repository.substr(0, colon + 1) + "***" + repository.substr(at);
}

void check_secret_file(const std::filesystem::path& file, const std::string& key) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    throw UsageError(key + " " + file.string() + ": " + util::errno_text(errno) +
                     " (create it, root-only: install -m 600 /dev/null " + file.string() +
                     ")");
  }
  if (!S_ISREG(st.st_mode)) {
    throw UsageError(key + " " + file.string() + " is not a regular file");
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    throw UsageError(key + " " + file.string() + " is owned by uid " +
                     std::to_string(st.st_uid) + ", not root: chown root " +
                     file.string());
  }
  if ((st.st_mode & 077U) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777U);
    throw UsageError(key + " " + file.string() +
                     " is readable by group or others (mode " + mode + "): chmod 600 " +
                     file.string());
  }
  if (::access(file.c_str(), R_OK) != 0) {
    throw UsageError(key + " " + file.string() +
                     " is not readable: " + util::errno_text(errno));
  }
}

std::vector<std::string> read_environment_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    throw UsageError("offsite.environment_file " + file.string() + " cannot be read");
  }
  static const std::set<std::string> k_reserved = {
      "RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE", "RESTIC_PASSWORD",
      "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND"};
  std::vector<std::string> variables;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') {
      continue;
    }
    const auto eq = line.find('=');
    const std::string name = eq == std::string::npos ? "" : line.substr(0, eq);
    const std::string where =
        "offsite.environment_file " + file.string() + ", line " + std::to_string(number);
    if (!is_variable_name(name)) {
      throw UsageError(where +
                       ": not a KEY=VALUE line (the line is not shown: it may hold "
                       "a secret)");
    }
    if (k_reserved.contains(name)) {
      throw UsageError(where + ": " + name +
                       " comes from the offsite object (repository, password_file): "
                       "remove it from this file");
    }
    variables.push_back(line);
  }
  return variables;
}

} // namespace odbox::core
