#pragma once

#include "odbox/core/pg.hpp"
#include "odbox/util/atomic_file.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace odbox::core {

// How many directory levels below a file store its walks enter: Odoo's
// store is two levels deep, checklist/ three.
constexpr int k_max_store_depth = 16;

// One file the dump references: ir_attachment.store_fname, file_size, checksum.
struct ReferencedFile {
  std::string store_fname;
  std::optional<std::uint64_t> size;
  std::string checksum;
};

// What a file list holds, recorded in the manifest so that verify can tell
// a file list that was edited, emptied or cut short.
struct FileListSummary {
  std::uint64_t lines = 0; // one per referenced file
  std::string sha256;
};

// A file list read from the snapshot, not committed yet.
struct ReferencesList {
  util::AtomicFile file; // committed with the dump
  FileListSummary summary;
};

// Reads the list of referenced files on the snapshot connection with
// `COPY ... TO STDOUT` (constant memory) into an uncommitted file of the
// area, one "store_fname<TAB>file_size<TAB>checksum" line per distinct file
// (COPY's text format: "\N" for NULL, backslash escapes), sorted by name,
// hashing it on the way. Throws RunError.
ReferencesList read_references(PgConnection& snapshot_conn,
                               const std::filesystem::path& target);

// The summary of a file list on disk, in one pass. Throws RunError when it
// cannot be read.
FileListSummary summarize_file_list(const std::filesystem::path& file);

// Calls `visit` for each line of a references file written by
// read_references(), its escapes undone; a malformed line is skipped with a
// warning. Throws RunError when the file cannot be read.
void for_each_reference(const std::filesystem::path& file,
                        const std::function<void(const ReferencedFile&)>& visit);

// Is `store_fname` a safe relative path inside the file store (no "..", not
// absolute, no empty components)?
bool is_safe_store_name(std::string_view store_fname);

} // namespace odbox::core
