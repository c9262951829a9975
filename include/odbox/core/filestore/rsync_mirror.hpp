#pragma once

#include "odbox/core/filestore/mirror_listing.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace odbox::core {

struct MirrorOptions {
  std::string rsync = "rsync";
  bool progress = false;            // --info=progress2 on a terminal
  MirrorListing* listing = nullptr; // when set (and no progress), filled with
                                    // every file rsync reports or the quick
                                    // check found up to date, and sealed; left
                                    // empty if rsync reports vanished files
};

// Runs rsync to copy <source>/ into <mirror>/ without deleting anything
// (archive mode, directories 0700 and files 0600 in the mirror, a
// half-copied file never replaces a good one). Exit 24 (files vanished) is
// normal on a live store; anything else but 0 throws RunError with rsync's
// last error line. A missing source (ENOENT) is an empty store, logged as a
// warning; a source that cannot be looked up otherwise throws RunError.
//
// When the mirror exists, the quick check (quick_check.hpp) runs first, and
// rsync gets only the entries it did not find up to date (--files-from), or
// does not run at all when there are none. If the check cannot finish, rsync
// compares the whole store as without it. Throws Interrupted when a
// termination signal arrived meanwhile.
void mirror_filestore(const std::filesystem::path& source,
                      const std::filesystem::path& mirror, const MirrorOptions& options);

// Parses one line of rsync's "--out-format=%i %l %n" output: a regular file
// ("Xf" item) gives its name (rsync's \#ooo escapes undone) and size;
// directories, symlinks and other lines give nothing.
std::optional<std::pair<std::string, std::uint64_t>>
parse_rsync_item(std::string_view line);

} // namespace odbox::core
