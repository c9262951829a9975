#pragma once

#include "odbox/core/pg.hpp"
#include "odbox/util/atomic_file.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace odbox::core {

// One file the dump references: ir_attachment.store_fname, file_size, checksum.
struct ReferencedFile {
  std::string store_fname;
  std::optional<std::uint64_t> size;
  std::string checksum;
};

// Reads the list of referenced files on the snapshot connection with
// `COPY ... TO STDOUT` (constant memory) into an uncommitted file of the
// area, one "store_fname<TAB>file_size<TAB>checksum" line per distinct file.
// Returns the file (committed with the dump) and the number of files.
// Throws RunError.
std::pair<util::AtomicFile, std::uint64_t>
read_references(PgConnection& snapshot_conn, const std::filesystem::path& target);

// Calls `visit` for each line of a references file written by
// read_references(). Throws RunError when it cannot be read.
void for_each_reference(const std::filesystem::path& file,
                        const std::function<void(const ReferencedFile&)>& visit);

// Parses one references line ("\N" = NULL, COPY text escapes); nothing if malformed.
std::optional<ReferencedFile> parse_reference_line(std::string_view line);

// Is `store_fname` a safe relative path inside the file store (no "..", not
// absolute, no empty components)?
bool is_safe_store_name(std::string_view store_fname);

// Runs rsync to copy <source>/ into <mirror>/ without deleting anything
// (archive mode, directories 0700 and files 0600 in the mirror, a
// half-copied file never replaces a good one). Exit 24 (files vanished) is
// normal on a live store; anything else but 0 throws RunError with rsync's
// last error line. A missing source is an empty store.
struct MirrorOptions {
  std::string rsync = "rsync";
  bool progress = false;  // --info=progress2 on a terminal
};
struct MirrorResult {
  double seconds = 0;
  bool vanished = false;  // rsync reported files that vanished (exit 24)
};
MirrorResult mirror_filestore(const std::filesystem::path& source,
                              const std::filesystem::path& mirror, const MirrorOptions& options);

// Checks every referenced file of `references` in `mirror`: present as a
// regular file with the recorded size. Missing or wrong ones are returned
// (at most `max_listed` names; `count` has them all).
struct CheckResult {
  std::uint64_t referenced = 0;
  std::uint64_t missing_count = 0;
  std::vector<std::string> missing;  // "00/0011..." or "00/0011... (size 12, expected 14)"
};
CheckResult check_references(const std::filesystem::path& references,
                             const std::filesystem::path& mirror, std::size_t max_listed = 1000);

// After a committed dump: deletes from the mirror the files that are gone
// from the live store and not referenced by the dump. Also counts what the
// mirror holds afterwards.
struct PruneResult {
  std::uint64_t pruned = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};
PruneResult prune_mirror(const std::filesystem::path& mirror, const std::filesystem::path& live,
                         const std::filesystem::path& references);

} // namespace odbox::core
