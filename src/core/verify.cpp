#include "odbox/core/verify.hpp"

#include "odbox/core/dump.hpp"
#include "odbox/core/dump_scanner.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/filestore.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/core/pg.hpp"
#include "odbox/core/scratch_database.hpp"
#include "odbox/core/snapshot.hpp"
#include "odbox/util/digest.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/progress.hpp"

#include <algorithm>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace odbox::core {
namespace {

// The dump file's SHA-256 and size, and, when the SQL is read (always for
// a plain dump; for a compressed one only when asked, as it costs a
// decompression), the SQL's SHA-256, size and last bytes.
struct DumpScan {
  std::string sha256;
  std::uint64_t bytes = 0;
  bool read_sql = false;
  std::string plain_sha256;
  std::uint64_t plain_bytes = 0;
  std::string tail;
  PlainDumpScanner plain; // the header and the ir_attachment rows
  std::string error;      // the zstd data is corrupt or truncated
};

DumpScan scan_dump(const std::filesystem::path& dump, DumpCompression::Method method,
                   bool read_sql) {
  DumpScan scan;
  scan.read_sql = read_sql || method == DumpCompression::Method::none;
  util::Digest plain_digest(util::Digest::Kind::sha256);
  const std::function<void(std::string_view)> on_sql = [&](std::string_view chunk) {
    plain_digest.update(chunk);
    scan.plain_bytes += chunk.size();
    scan.plain.feed(chunk);
    scan.tail.append(chunk);
    if (scan.tail.size() > 4096) {
      scan.tail.erase(0, scan.tail.size() - 4096);
    }
  };
  try {
    const auto file = read_dump_file(
        dump, method, scan.read_sql ? on_sql : std::function<void(std::string_view)>());
    scan.sha256 = file.file_sha256;
    scan.bytes = file.file_bytes;
  } catch (const Interrupted&) {
    throw;
  } catch (const RunError& e) {
    scan.error = e.what();
  }
  scan.plain_sha256 = plain_digest.hex_final();
  return scan;
}

bool looks_like_sha1(std::string_view name) {
  return name.size() == 40 && std::ranges::all_of(name, [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Re-hashes each mirrored file named by its SHA-1 (Odoo's content address).
void deep_check(const std::filesystem::path& mirror, VerifyReport& report) {
  std::error_code ec;
  util::Progress progress("hash " + report.database);
  std::uint64_t bytes = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(mirror, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    throw_if_interrupted();
    const std::string name = it->path().filename().string();
    const auto rel = it->path().lexically_relative(mirror);
    // checklist/ holds Odoo's empty GC markers named like the files they mark.
    if (!it->is_regular_file(ec) || it->is_symlink(ec) || !looks_like_sha1(name) ||
        *rel.begin() == "checklist") {
      continue;
    }
    try {
      const std::string sha1 =
          util::file_digest(it->path().string(), util::Digest::Kind::sha1);
      ++report.files_hashed;
      bytes += it->file_size(ec);
      if (sha1 != name) {
        report.problems.push_back("corrupted file " + rel.string() +
                                  ": content hashes to " + sha1);
      }
    } catch (const std::system_error& e) {
      report.problems.push_back(std::string("unreadable file: ") + e.what());
    }
    progress.update(bytes);
  }
}

void restore_test(const std::filesystem::path& dump, const Manifest& manifest,
                  const VerifyOptions& options, VerifyReport& report) {
  const std::string scratch_name =
      "odbox_verify_" + std::to_string(::getpid()) + "_" +
      report.database.substr(0, std::min<std::size_t>(report.database.size(), 30));
  ScratchDatabase scratch(options.conninfo, scratch_name);
  spdlog::info("{}: test restore into scratch database {}", report.database,
               scratch.name());
  try {
    load_sql_dump(options.psql, options.conninfo, dump,
                  compression_method(manifest.dump_compression), scratch.name());
  } catch (const Interrupted&) {
    throw;
  } catch (const RunError& e) {
    report.problems.emplace_back(e.what());
    return;
  }
  PgConnection conn(options.conninfo, scratch.name(), "odbox-backup verify");
  if (!has_ir_attachment(conn)) {
    report.problems.push_back("the restored database has no ir_attachment table");
    return;
  }
  const auto rows = conn.query("SELECT count(DISTINCT store_fname) FROM ir_attachment "
                               "WHERE store_fname IS NOT NULL AND store_fname <> ''");
  const auto files = std::stoull(rows.at(0).at(0).value_or("0"));
  if (files != manifest.referenced_files) {
    report.problems.push_back("the restored database references " +
                              std::to_string(files) + " files, the manifest " +
                              std::to_string(manifest.referenced_files));
  }
  report.restore_tested = true;
}

} // namespace

std::vector<std::string> databases_in_area(const BackupArea& area) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(area.root(), ec)) {
    const std::string name = e.path().filename().string();
    const std::string suffix = ".manifest.json";
    if (name.size() > suffix.size() && name.ends_with(suffix) && !name.starts_with(".")) {
      out.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  std::ranges::sort(out);
  return out;
}

namespace {

// The dump against the manifest: size, SHA-256, pg_dump's first and last
// lines, and its ir_attachment rows against those recorded.
void check_dump(const std::filesystem::path& dump, const Manifest& manifest,
                const VerifyOptions& options, VerifyReport& report) {
  const auto method = compression_method(manifest.dump_compression);
  const DumpScan scan = scan_dump(dump, method, options.deep || options.restore_test);
  report.dump_bytes = scan.bytes;
  auto& problems = report.problems;
  if (!scan.error.empty()) {
    problems.push_back("the dump cannot be read whole: " + scan.error);
    return;
  }
  if (scan.bytes != manifest.dump_bytes) {
    problems.push_back("the dump has " + std::to_string(scan.bytes) +
                       " bytes, the manifest says " +
                       std::to_string(manifest.dump_bytes));
  }
  if (scan.sha256 != manifest.dump_sha256) {
    problems.push_back("the dump's SHA-256 " + scan.sha256 +
                       " differs from the manifest's " + manifest.dump_sha256);
  }
  if (!scan.read_sql) {
    return; // the SQL inside is checked with --deep or --restore-test
  }
  if (method != DumpCompression::Method::none &&
      (scan.plain_bytes != manifest.dump_plain_bytes ||
       scan.plain_sha256 != manifest.dump_plain_sha256)) {
    problems.push_back(
        "the SQL in the dump has " + std::to_string(scan.plain_bytes) +
        " bytes and SHA-256 " + scan.plain_sha256 + ", the manifest records " +
        std::to_string(manifest.dump_plain_bytes) + " and " + manifest.dump_plain_sha256);
  }
  if (!scan.plain.header_ok()) {
    problems.emplace_back("the dump does not start with pg_dump's header");
  }
  if (!dump_tail_is_complete(scan.tail)) {
    problems.emplace_back("the dump is truncated (no pg_dump completion line)");
  }
  if (!manifest.dump_attachment_rows || !manifest.snapshot_attachment_rows) {
    problems.emplace_back(
        "the manifest records no ir_attachment row counts (written by an "
        "older odbox-backup): run a backup to replace it");
    return;
  }
  const auto rows = scan.plain.table_rows();
  if (rows != manifest.dump_attachment_rows ||
      manifest.dump_attachment_rows != manifest.snapshot_attachment_rows) {
    problems.push_back(
        "the dump's ir_attachment data holds " +
        (rows ? std::to_string(*rows) + " rows" : std::string("no rows")) +
        ", the manifest records " + std::to_string(*manifest.dump_attachment_rows) +
        " in the dump and " + std::to_string(*manifest.snapshot_attachment_rows) +
        " in the snapshot");
  }
}

// The file list against the manifest, then every file it names in the
// mirror. A file list that does not match is not used: it could hide
// missing files.
void check_file_list(const std::filesystem::path& references, const Manifest& manifest,
                     const std::filesystem::path& mirror, VerifyReport& report) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(references, ec)) {
    report.problems.push_back("the file list " + references.string() + " is missing");
    return;
  }
  const FileListSummary summary = summarize_file_list(references);
  if (manifest.references_sha256.empty()) {
    report.problems.emplace_back(
        "the manifest records no SHA-256 of the file list (written "
        "by an older odbox-backup): run a backup to replace it");
    return;
  }
  if (summary.sha256 != manifest.references_sha256 ||
      summary.lines != manifest.referenced_files) {
    report.problems.push_back("the file list " + references.string() + " has " +
                              std::to_string(summary.lines) + " lines and SHA-256 " +
                              summary.sha256 + ", the manifest records " +
                              std::to_string(manifest.referenced_files) + " and " +
                              manifest.references_sha256 + ": it was changed");
    return;
  }
  const auto check = check_references(references, mirror);
  report.files_checked = check.referenced;
  for (const auto& m : check.missing) {
    report.problems.push_back("missing from the mirror: " + m);
  }
  if (check.missing_count > check.missing.size()) {
    report.problems.push_back("... and " +
                              std::to_string(check.missing_count - check.missing.size()) +
                              " more files missing from the mirror");
  }
}

} // namespace

VerifyReport verify_backup(const BackupArea& area, const std::string& database,
                           const VerifyOptions& options) {
  VerifyReport report;
  report.database = database;
  std::optional<Manifest> manifest;
  try {
    manifest = read_manifest(area.manifest(database));
  } catch (const RunError& e) {
    report.problems.emplace_back(e.what()); // a problem found, not a failure to look
    return report;
  }
  if (!manifest) {
    report.problems.push_back("no manifest " + area.manifest(database).string() +
                              ": no successful backup of this database in the area");
    return report;
  }
  const auto dump = area.root() / manifest->dump_file;
  std::error_code ec;
  const bool have_dump = std::filesystem::is_regular_file(dump, ec);
  if (have_dump) {
    check_dump(dump, *manifest, options, report);
  } else {
    report.problems.push_back("the dump " + dump.string() + " is missing");
  }
  check_file_list(area.root() / manifest->references_file, *manifest,
                  area.mirror(database), report);
  if (options.deep) {
    deep_check(area.mirror(database), report);
  }
  if (options.restore_test && have_dump) {
    restore_test(dump, *manifest, options, report);
  }
  return report;
}

} // namespace odbox::core
