#pragma once

#include "odbox/util/sys_error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace odbox::util {

// What remove_tree() removed, and what it could not.
struct RemovedTree {
  std::uint64_t files = 0;  // regular files
  std::uint64_t bytes = 0;  // their st_size
  std::uint64_t others = 0; // symlinks, FIFOs, sockets, device nodes: the names only
  std::uint64_t dirs = 0;   // the top directory included
  std::uint64_t failed = 0; // entries that stay
  std::vector<SysError> failures; // the first few of them, the path relative to `parent`
};

// Removes the directory `name` under the directory descriptor `parent` and
// everything in it, depth first. Never follows a symbolic link (a symlink,
// like a FIFO or a device node, is unlinked, never what it names) and never
// leaves the tree: every step is openat/fstatat/unlinkat relative to a
// directory descriptor. A directory on another file system or at the root
// of a mount (a bind mount too) is not entered and stays, and so do its
// parents, as does what lies deeper than `max_depth` levels; each counts as
// a failure. An entry gone meanwhile is no failure; a missing `name` is an
// empty result.
[[nodiscard]] RemovedTree remove_tree(int parent, const std::string& name, int max_depth);

} // namespace odbox::util
