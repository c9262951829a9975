#pragma once

#include "odbox/core/filestore/mirror_listing.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace odbox::core {

// Pruning comes in two passes. The first, scan_mirror, walks the mirror and
// finds the files gone from the live store; it deletes nothing, so it may run
// before the dump is committed (while the dump ends and the check runs). A
// mirror file in `listing` (rsync found it in the live store) needs no stat;
// only the others are looked up in the live store (ENOENT: gone). Walks
// directory descriptors, never follows a symlink in the mirror. It does not
// stop for a termination signal (the walk is short; the run checks for one
// after the dump ends).
//
// A live store that cannot be read holds the prune back: it cannot be opened
// (EACCES, not a directory), or a lookup in it fails other than with ENOENT.
// So does a live store that does not exist while the mirror holds files (a
// file system that is not mounted must not empty the mirror); every mirror
// file then counts as gone. Throws RunError when the mirror exists but cannot
// be read.
struct MirrorScan {
  // Mirror files known to be gone from the live store: path in the mirror, size.
  std::vector<std::pair<std::string, std::uint64_t>> gone;
  std::uint64_t files = 0; // all files in the mirror, the gone ones included
  std::uint64_t bytes = 0;
  // Set when the live store could not be read: why ("cannot open ...: ...").
  std::optional<std::string> live_unreadable;
};
MirrorScan scan_mirror(const std::filesystem::path& mirror,
                       const std::filesystem::path& live,
                       const MirrorListing* listing = nullptr);

// The second pass comes in two steps. plan_prune, before the dump is
// committed, reads the new dump's file list: the scanned files that are gone
// and not referenced are to be deleted, and the plan tells what the mirror
// holds without them, so the manifest written with the dump can say so. The
// gone files the dump references stay: they are lost from the live store (a
// damaged live Odoo; the backup still holds them). When the scan could not
// read the live store, nothing is to be deleted and the plan says why.
// apply_prune, after that manifest is written, deletes them. Throws RunError
// (plan_prune, when the file list cannot be read).
struct PrunePlan {
  std::vector<std::pair<std::string, std::uint64_t>> doomed; // path in the mirror, size
  std::uint64_t files = 0; // what the mirror holds once they are deleted
  std::uint64_t bytes = 0;
  // Why nothing is pruned this run (the scan's live_unreadable), for a warning.
  std::optional<std::string> not_pruned_because;
  // Referenced files gone from the live store but still in the mirror: all
  // of them counted, the first `max_listed` named (in the file list's order).
  std::uint64_t lost_from_live_count = 0;
  std::vector<std::string> lost_from_live;
};
PrunePlan plan_prune(const MirrorScan& scan, const std::filesystem::path& references,
                     std::size_t max_listed = 1000);

// What the mirror holds after apply_prune: a file that could not be deleted
// (logged as a warning) is still counted.
struct PruneResult {
  std::uint64_t pruned = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};
PruneResult apply_prune(const PrunePlan& plan, const std::filesystem::path& mirror);

} // namespace odbox::core
