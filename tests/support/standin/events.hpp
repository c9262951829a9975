#pragma once

#include "odbox/util/fd.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace odbox_standin {

// Appends one JSON line per event to a file, readable while the stand-in
// runs: {"t": <unix seconds, float>, "event": "<name>", ...fields}. Each line
// is one O_APPEND write. Without a path, events are only counted.
class EventLog {
public:
  EventLog() = default;
  // Throws std::system_error when the file cannot be opened.
  explicit EventLog(const std::filesystem::path& path);

  // Throws std::system_error when the write fails.
  void emit(const std::string& event, nlohmann::json fields = nlohmann::json::object());

private:
  odbox::util::UniqueFd m_fd;
  std::filesystem::path m_path;
};

// Unix time in seconds with sub-microsecond resolution.
double unix_now();

} // namespace odbox_standin
