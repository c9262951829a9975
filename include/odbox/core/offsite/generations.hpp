#pragma once

#include "odbox/core/offsite/restic.hpp"

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// One off-site generation: a restic snapshot tagged by a push.
struct Generation {
  std::string id;
  std::string short_id;
  std::string time; // as restic writes it
  std::chrono::system_clock::time_point when;
  std::string hostname;
  std::string database;
  std::string kind;
  std::optional<bool> consistent;
  std::string manifest_sha256;
  std::optional<std::uint64_t> dump_bytes;

  [[nodiscard]] nlohmann::json to_json() const;
};

// Parses `restic snapshots --json`; snapshots without the "odbox" and
// "db=" tags are left out. Oldest first. Throws RunError on malformed JSON.
std::vector<Generation> parse_generations(const std::string& json_text);

// The generations in the repository, of `databases` only unless empty.
// Throws RunError (restic's failure, one line).
std::vector<Generation> list_generations(const Restic& restic,
                                         const std::vector<std::string>& databases);

// The newest generation of `database`, or nothing.
std::optional<Generation> newest_generation(const std::vector<Generation>& generations,
                                            const std::string& database);

// The time restic writes ("2026-12-01T23:27:11.408173798+01:00").
std::optional<std::chrono::system_clock::time_point>
parse_restic_time(const std::string& text);

// A table for people: database, time, kind, consistent, dump size, snapshot.
std::string format_generations(const std::vector<Generation>& generations);

} // namespace odbox::core
