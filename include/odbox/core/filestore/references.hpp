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

// Reads the list of referenced files on the snapshot connection with
// `COPY ... TO STDOUT` (constant memory) into an uncommitted file of the
// area, one "store_fname<TAB>file_size<TAB>checksum" line per distinct file
// (COPY's text format: "\N" for NULL, backslash escapes), sorted by name.
// Returns the file (committed with the dump) and the number of files.
// Throws RunError.
std::pair<util::AtomicFile, std::uint64_t>
read_references(PgConnection& snapshot_conn, const std::filesystem::path& target);

// Calls `visit` for each line of a references file written by
// read_references(), its escapes undone; a malformed line is skipped with a
// warning. Throws RunError when the file cannot be read.
void for_each_reference(const std::filesystem::path& file,
                        const std::function<void(const ReferencedFile&)>& visit);

// Is `store_fname` a safe relative path inside the file store (no "..", not
// absolute, no empty components)?
bool is_safe_store_name(std::string_view store_fname);

} // namespace odbox::core
