#pragma once

#include "odbox/core/run_facts.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// What the last successful backup of one database holds (<db>.manifest.json).
struct Manifest {
  int format = 2; // 2: file list summary and ir_attachment row counts
  std::string tool_version;
  std::string kind; // "hot" | "cold"
  std::string database;
  std::string database_owner; // role owning the database (restore recreates it so)
  std::string started_at;     // RFC 3339 UTC
  std::string snapshot_at;    // when the snapshot was exported
  std::string finished_at;
  std::string server_version;
  std::string pg_dump_version;
  std::string dump_file;
  std::string dump_compression = "none"; // "none" | "zstd" (DumpCompression::name)
  std::uint64_t dump_bytes = 0;          // of the file on disk
  std::string dump_sha256;
  std::uint64_t dump_plain_bytes = 0; // of the SQL in it
  std::string dump_plain_sha256;
  double dump_seconds = 0;
  // Rows of the dump's ir_attachment COPY block, counted as it streamed, and
  // the table's rows in the snapshot: a complete dump has both, equal.
  std::optional<std::uint64_t> dump_attachment_rows;
  std::optional<std::uint64_t> snapshot_attachment_rows;
  std::string references_file;
  std::uint64_t referenced_files = 0; // the file list's lines
  std::string references_sha256;      // the file list's SHA-256
  std::uint64_t missing_count = 0;
  std::vector<std::string> missing;
  std::uint64_t filestore_files = 0;
  std::uint64_t filestore_bytes = 0;
  std::uint64_t pruned_files = 0;
  std::optional<std::string> not_pruned_because; // the live store could not be read
  // Referenced files the mirror holds that are gone from the live store:
  // the backup is sound, the live Odoo is damaged.
  std::uint64_t lost_from_live_count = 0;
  std::vector<std::string> lost_from_live; // the first ones
  // cold only
  std::optional<SessionsPurged> sessions;
  std::optional<double> downtime_seconds;
  std::map<std::string, double> phases; // phase name -> seconds
  // Odoo's own view, for an export its database manager restores.
  std::string odoo_series;                         // "17.0", from the base module
  std::map<std::string, std::string> odoo_modules; // installed module -> latest_version

  [[nodiscard]] bool consistent() const { return missing_count == 0; }
  [[nodiscard]] nlohmann::json to_json() const;
  // Throws std::runtime_error (nlohmann) for a malformed manifest.
  static Manifest from_json(const nlohmann::json& j);
};

// The sessions object of a manifest and of a run's record.
[[nodiscard]] nlohmann::json sessions_to_json(const SessionsPurged& sessions);
[[nodiscard]] SessionsPurged sessions_from_json(const nlohmann::json& j);

// Writes the manifest atomically (0600). Throws RunError.
void write_manifest(const std::filesystem::path& file, const Manifest& manifest);
// Reads a manifest; nothing if absent. Throws RunError if unreadable or malformed.
std::optional<Manifest> read_manifest(const std::filesystem::path& file);

// Appends one JSON line to runs.jsonl (O_APPEND, fsync; created 0600). The
// error names the call and errno; nothing is thrown, so that a report never
// hides the run's result.
std::expected<void, std::string> append_run_record(const std::filesystem::path& file,
                                                   const nlohmann::json& record);

} // namespace odbox::core
