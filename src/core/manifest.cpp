#include "odbox/core/manifest.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/atomic_file.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"

#include <fcntl.h>
#include <fstream>
#include <unistd.h>

namespace odbox::core {

using nlohmann::json;

json sessions_to_json(const SessionsPurged& sessions) {
  json j = {{"files_removed", sessions.files_removed},
            {"bytes_removed", sessions.bytes_removed},
            {"seconds", sessions.seconds},
            {"while_stopped_seconds", sessions.while_stopped_seconds},
            {"method", sessions.method},
            {"leftovers", sessions.leftovers},
            {"errors", sessions.errors},
            {"complete", sessions.complete}};
  if (!sessions.in_place_because.empty()) {
    j["in_place_because"] = sessions.in_place_because;
  }
  return j;
}

SessionsPurged sessions_from_json(const json& j) {
  return {.files_removed = j.value("files_removed", std::uint64_t{0}),
          .bytes_removed = j.value("bytes_removed", std::uint64_t{0}),
          .seconds = j.value("seconds", 0.0),
          .while_stopped_seconds = j.value("while_stopped_seconds", 0.0),
          .method = j.value("method", ""),
          .in_place_because = j.value("in_place_because", ""),
          .leftovers = j.value("leftovers", std::uint64_t{0}),
          .errors = j.value("errors", std::uint64_t{0}),
          .complete = j.value("complete", true)};
}

json Manifest::to_json() const {
  json j = {
      {"format", format},
      {"tool_version", tool_version},
      {"kind", kind},
      {"database", database},
      {"database_owner", database_owner},
      {"started_at", started_at},
      {"snapshot_at", snapshot_at},
      {"finished_at", finished_at},
      {"postgresql",
       {{"server_version", server_version}, {"pg_dump_version", pg_dump_version}}},
      {"dump",
       {{"file", dump_file},
        {"compression", dump_compression},
        {"bytes", dump_bytes},
        {"sha256", dump_sha256},
        {"plain_bytes", dump_plain_bytes},
        {"plain_sha256", dump_plain_sha256},
        {"seconds", dump_seconds}}},
      {"ir_attachment_rows",
       {{"dump", dump_attachment_rows ? json(*dump_attachment_rows) : json()},
        {"snapshot",
         snapshot_attachment_rows ? json(*snapshot_attachment_rows) : json()}}},
      {"filestore",
       {{"files", filestore_files},
        {"bytes", filestore_bytes},
        {"pruned", pruned_files},
        {"references_file", references_file},
        {"references_sha256", references_sha256},
        {"referenced", referenced_files},
        {"missing_count", missing_count},
        {"missing", missing},
        {"lost_from_live_count", lost_from_live_count},
        {"lost_from_live", lost_from_live}}},
      {"consistent", consistent()},
  };
  if (not_pruned_because) {
    j["filestore"]["not_pruned_because"] = *not_pruned_because;
  }
  if (sessions) {
    j["sessions"] = sessions_to_json(*sessions);
  }
  if (downtime_seconds) {
    j["downtime_seconds"] = *downtime_seconds;
  }
  if (!phases.empty()) {
    j["phases"] = phases;
  }
  if (!odoo_series.empty() || !odoo_modules.empty()) {
    j["odoo"] = {{"series", odoo_series}, {"modules", odoo_modules}};
  }
  return j;
}

Manifest Manifest::from_json(const json& j) {
  Manifest m;
  m.format = j.at("format").get<int>();
  m.tool_version = j.value("tool_version", "");
  m.kind = j.at("kind").get<std::string>();
  m.database = j.at("database").get<std::string>();
  m.database_owner = j.value("database_owner", "");
  m.started_at = j.value("started_at", "");
  m.snapshot_at = j.value("snapshot_at", "");
  m.finished_at = j.value("finished_at", "");
  const auto& pg = j.at("postgresql");
  m.server_version = pg.value("server_version", "");
  m.pg_dump_version = pg.value("pg_dump_version", "");
  const auto& dump = j.at("dump");
  m.dump_file = dump.at("file").get<std::string>();
  m.dump_bytes = dump.at("bytes").get<std::uint64_t>();
  m.dump_sha256 = dump.at("sha256").get<std::string>();
  // Manifests from before compression: a plain dump, the file is the SQL.
  m.dump_compression = dump.value("compression", "none");
  m.dump_plain_bytes = dump.value("plain_bytes", m.dump_bytes);
  m.dump_plain_sha256 = dump.value("plain_sha256", m.dump_sha256);
  m.dump_seconds = dump.value("seconds", 0.0);
  if (const auto rows = j.find("ir_attachment_rows"); rows != j.end()) {
    if (rows->contains("dump") && !(*rows)["dump"].is_null()) {
      m.dump_attachment_rows = (*rows)["dump"].get<std::uint64_t>();
    }
    if (rows->contains("snapshot") && !(*rows)["snapshot"].is_null()) {
      m.snapshot_attachment_rows = (*rows)["snapshot"].get<std::uint64_t>();
    }
  }
  const auto& fs = j.at("filestore");
  m.filestore_files = fs.value("files", std::uint64_t{0});
  m.filestore_bytes = fs.value("bytes", std::uint64_t{0});
  m.pruned_files = fs.value("pruned", std::uint64_t{0});
  m.references_file = fs.at("references_file").get<std::string>();
  m.references_sha256 = fs.value("references_sha256", "");
  m.referenced_files = fs.value("referenced", std::uint64_t{0});
  m.missing_count = fs.value("missing_count", std::uint64_t{0});
  m.missing = fs.value("missing", std::vector<std::string>{});
  m.lost_from_live_count = fs.value("lost_from_live_count", std::uint64_t{0});
  m.lost_from_live = fs.value("lost_from_live", std::vector<std::string>{});
  if (fs.contains("not_pruned_because")) {
    m.not_pruned_because = fs["not_pruned_because"].get<std::string>();
  }
  if (j.contains("sessions")) {
    m.sessions = sessions_from_json(j["sessions"]);
  }
  if (j.contains("downtime_seconds")) {
    m.downtime_seconds = j["downtime_seconds"].get<double>();
  }
  if (j.contains("phases")) {
    m.phases = j["phases"].get<std::map<std::string, double>>();
  }
  if (j.contains("odoo")) {
    m.odoo_series = j["odoo"].value("series", "");
    m.odoo_modules = j["odoo"].value("modules", std::map<std::string, std::string>{});
  }
  return m;
}

void write_manifest(const std::filesystem::path& file, const Manifest& manifest) {
  if (auto ok = util::write_file_atomic(file, manifest.to_json().dump(2) + "\n"); !ok) {
    throw RunError("cannot write the manifest: " + ok.error().message());
  }
}

std::optional<Manifest> read_manifest(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    return std::nullopt;
  }
  try {
    return Manifest::from_json(json::parse(in));
  } catch (const json::exception& e) {
    throw RunError("manifest " + file.string() + " is malformed: " + e.what());
  }
}

std::expected<void, std::string> append_run_record(const std::filesystem::path& file,
                                                   const json& record) {
  util::UniqueFd fd(
      ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) {
    return std::unexpected(util::sys_error("open", file.string()).message());
  }
  if (auto ok = util::append_whole(fd.get(), record.dump() + "\n", file.string()); !ok) {
    return std::unexpected(ok.error().message());
  }
  if (::fsync(fd.get()) != 0) {
    return std::unexpected(util::sys_error("fsync", file.string()).message());
  }
  return {};
}

} // namespace odbox::core
