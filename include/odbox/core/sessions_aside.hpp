#pragma once

#include "odbox/core/session_purge.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace odbox::core {

// The session files leave the downtime: while Odoo is stopped the sessions
// directory is renamed aside, in one step whatever it holds, and deleted
// once Odoo runs again.

// What move_sessions_aside() did.
struct MovedAside {
  std::optional<std::filesystem::path> aside; // where the old sessions directory is now
  // When it was not moved: why, for the warning ("it is a mount point");
  // empty when there was no sessions directory.
  std::string not_moved_because;
};

// Renames the sessions directory `dir` (absolute) to its sibling
// `.<name>.purge-<run_id>` (the same parent: the same file system, one
// atomic rename) and puts a fresh empty directory with the old one's owner,
// group, mode and POSIX ACLs in its place. The fresh directory is made
// first as `.<name>.purge-<run_id>.fresh` and renamed into place once it is
// set up, so that Odoo never finds a half-made one; the parent is synced at
// the end. When the move cannot be done safely nothing changes and
// `not_moved_because` says why: `dir` is a mount point (a bind mount too),
// no directory or a symbolic link (which the in-place purge refuses), its
// parent cannot be opened, the fresh directory cannot be made like the old
// one (no space, no right to give it the old owner), or the rename fails
// (EXDEV, as overlayfs answers for a directory of a lower layer; EBUSY;
// EACCES or EPERM in a parent the tool may not write). Throws RunError only
// when a half-done move cannot be undone.
MovedAside move_sessions_aside(const std::filesystem::path& dir,
                               const std::string& run_id);

// The directories beside `dir` named `.<name>.purge-*`: moved aside by a run
// and not yet deleted (a killed run's, or this run's), oldest first. Only
// real directories on the parent's file system; anything else so named is
// left alone, with a warning. Fresh directories earlier runs left (empty,
// named `.<name>.purge-<run>.fresh`) are removed on the way; that of
// `this_run_id`, which its own move already tried to remove, is not.
// Throws RunError if the parent cannot be read.
std::vector<std::filesystem::path> moved_aside_dirs(const std::filesystem::path& dir,
                                                    std::string_view this_run_id = {});

// Deletes a directory that was moved aside: its session files with
// purge_sessions() (`threads` as there), then what is left in it (files
// that appeared meanwhile, and the names of symlinks, FIFOs, sockets and
// device nodes, never what they point at), its subdirectories and itself.
// A mount inside it is not entered and stays, logged; so does the directory.
// Throws like purge_sessions() (Interrupted: what is left is deleted by the
// next run).
PurgeResult delete_moved_aside(const std::filesystem::path& aside,
                               std::size_t threads = 0);

// For cold-recover, before it starts Odoo: when `dir` is missing and a run
// killed between its renames left `.<name>.purge-*` beside it, makes a
// fresh `dir` like the newest of them. True when it made one. Throws
// RunError if it cannot.
bool restore_sessions_dir(const std::filesystem::path& dir);

} // namespace odbox::core
