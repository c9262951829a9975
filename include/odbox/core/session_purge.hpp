#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>

namespace odbox::core {

// How deep below the sessions directory the purge goes (Odoo uses one level).
inline constexpr int k_sessions_max_depth = 32;

struct PurgeOptions {
  std::filesystem::path dir; // the sessions directory, absolute
  std::optional<std::chrono::seconds>
      keep_newer; // keep files whose mtime is newer than now - keep_newer,
                  // read again right before each unlink
  std::size_t chunk_entries = 64 * 1024; // entries sorted and unlinked at a time (>= 1)
  std::size_t threads = 0;               // threads unlinking (1..64); 0 = auto:
                                         // 16 if the file system is mounted with online
                                         // discard (unlinks wait for the device), else
                                         // 2 (1 on a single core)
};

struct PurgeResult {
  std::uint64_t files_removed = 0;
  std::uint64_t bytes_removed = 0; // sum of st_size of the removed files
  std::uint64_t files_kept = 0;    // kept because recent
  std::uint64_t skipped = 0;       // symlinks, sockets, other non-regular entries, other
                             // mounts, directories deeper than the depth limit
  std::uint64_t errors = 0; // unlink/stat/open/read failures other than ENOENT (logged
                            // as warnings, the first few of them)
  std::uint64_t dirs_visited = 0; // including the sessions directory itself
};

// Removes the regular files under options.dir (flat Odoo 14/15 layout and
// xx/ shards of 16+, any depth up to 32 levels), never following a symlink,
// never leaving the directory (every step is openat/fstatat/unlinkat relative
// to a directory descriptor), never crossing a mount point (st_dev compared,
// and bind mounts recognised by statx's STATX_ATTR_MOUNT_ROOT). Directories
// themselves stay. Each directory is read in chunks of chunk_entries entries,
// each chunk sorted by inode number before unlinking (walks the inode table
// in order). With `threads` > 1: in a sessions directory without
// subdirectories, the threads, each taking a contiguous run of inodes, look
// the chunk's files up (type, age, size) and, once all are looked up, unlink
// the chosen ones; beside subdirectories (the shards), each thread takes
// either a batch of the directory's own files or a whole subtree at a time,
// so that threads seldom unlink in the same directory.
//
// A missing directory is not an error (result all zeros). Files appearing or
// vanishing during the purge are not errors. Failures on single entries are
// counted in `errors` and logged as warnings; the purge goes on.
//
// Throws UsageError if options.dir is not absolute, is "/", is itself a
// symlink (refused: point --sessions-dir at the real directory) or is not a
// directory; RunError if it cannot be opened; Interrupted if a termination
// signal arrives (checked between batches).
PurgeResult purge_sessions(const PurgeOptions& options);

} // namespace odbox::core
