#pragma once

#include "odbox/core/filestore/mirror_listing.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>

namespace odbox::core {

// What the quick check found: the entries rsync must look at, and the files
// that are up to date.
struct QuickCheckPlan {
  std::string changed; // NUL-terminated paths relative to the store, for --files-from
  std::uint64_t changed_count = 0;
  std::uint64_t unchanged_count = 0;
  MirrorListing unchanged; // filled only when a listing is wanted (not sealed)
};

// The quick check before rsync: the live store and the mirror are read side
// by side, directory by directory (several threads, no symlink followed
// below the store's top), and an entry that is a regular file of the same
// size, mtime and (as root, whose rsync gives the mirror the live store's
// owners) owner on both sides is up to date; every other entry of the live
// store is for rsync to decide. Walking both trees itself, rsync spends most
// of a no-change run on what these walks do in a fraction of that time.
//
// Fails, saying why, when it cannot finish: the store or the mirror cannot
// be opened, a directory of the store cannot be read, the store is deeper
// than k_max_store_depth, or there are too many changes to list. The caller
// then has rsync compare the whole store.
std::expected<QuickCheckPlan, std::string>
quick_check(const std::filesystem::path& live, const std::filesystem::path& mirror,
            bool want_listing);

} // namespace odbox::core
