#pragma once

#include "odbox/core/pg.hpp"
#include "odbox/util/atomic_file.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
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

// The regular files rsync reported while mirroring (every file of the live
// store as it was copied or found up to date) with their sizes, so that the
// check and the prune need not stat each file again. Names of Odoo's own
// "xx/<sha1>" form take 32 bytes each; other names are kept as strings.
class MirrorListing {
public:
  void add(std::string_view name, std::uint64_t size);
  // Takes over what `other` holds (names not already here).
  void absorb(MirrorListing&& other);
  // Sorts what was added; call once before the lookups.
  void seal();
  [[nodiscard]] std::optional<std::uint64_t> size_of(std::string_view name) const;
  // The same, starting from `hint` (updated: pass the same variable again):
  // fast when the names come in sorted order, right in any order.
  [[nodiscard]] std::optional<std::uint64_t> size_of(std::string_view name,
                                                     std::size_t& hint) const;
  [[nodiscard]] std::uint64_t files() const { return m_hashed.size() + m_other.size(); }

private:
  struct Hashed {
    std::array<unsigned char, 20> sha1{};
    std::uint64_t size = 0;
  };
  static std::optional<std::array<unsigned char, 20>> pack(std::string_view name);
  std::vector<Hashed> m_hashed;
  std::unordered_map<std::string, std::uint64_t> m_other;
};

// Parses one line of rsync's "--out-format=%i %l %n" output: a regular file
// ("Xf" item) gives its name (rsync's \#ooo escapes undone) and size;
// directories, symlinks and other lines give nothing.
std::optional<std::pair<std::string, std::uint64_t>> parse_rsync_item(std::string_view line);

// Runs rsync to copy <source>/ into <mirror>/ without deleting anything
// (archive mode, directories 0700 and files 0600 in the mirror, a
// half-copied file never replaces a good one). Exit 24 (files vanished) is
// normal on a live store; anything else but 0 throws RunError with rsync's
// last error line. A missing source is an empty store.
//
// When the mirror exists, a quick check runs first: the live store and the
// mirror are read side by side (several threads, no symlink followed below
// the store's top), and rsync gets only the entries that are not regular
// files of the same size, mtime and (as root) owner on both sides
// (--files-from), or does not run at all when there are none. If the check
// cannot finish (an unreadable directory, too many changes to list), rsync
// compares the whole store as without it.
struct MirrorOptions {
  std::string rsync = "rsync";
  bool progress = false;              // --info=progress2 on a terminal
  MirrorListing* listing = nullptr;   // when set (and no progress), filled with
                                      // every file rsync reports or the quick
                                      // check found up to date; left empty if
                                      // rsync reports vanished files
};
struct MirrorResult {
  double seconds = 0;
  bool vanished = false;       // rsync reported files that vanished (exit 24)
  bool quick_checked = false;  // rsync was given only what the quick check found
  std::uint64_t unchanged = 0; // files the quick check found up to date
  std::uint64_t handed = 0;    // entries it handed to rsync
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
// A file in `listing` is taken with the size rsync reported; others are stat'ed.
CheckResult check_references(const std::filesystem::path& references,
                             const std::filesystem::path& mirror, std::size_t max_listed = 1000,
                             const MirrorListing* listing = nullptr);

// Pruning comes in two passes. The first, scan_mirror, walks the mirror and
// finds the files gone from the live store; it deletes nothing, so it may run
// before the dump is committed (while the dump ends and the check runs). A
// mirror file in `listing` (rsync found it in the live store) needs no stat;
// only the others are looked up in the live store. Walks directory
// descriptors, never follows a symlink. Throws RunError. It does not stop
// for a termination signal (the walk is short; the run checks for one after
// the dump ends).
struct MirrorScan {
  std::vector<std::pair<std::string, std::uint64_t>> gone;  // path in the mirror, size
  std::uint64_t files = 0;  // all files in the mirror, the gone ones included
  std::uint64_t bytes = 0;
};
MirrorScan scan_mirror(const std::filesystem::path& mirror, const std::filesystem::path& live,
                       const MirrorListing* listing = nullptr);

// The second pass comes in two steps. plan_prune, before the dump is
// committed, reads the new dump's file list: the scanned files that are gone
// and not referenced are to be deleted, and the plan tells what the mirror
// holds without them, so the manifest written with the dump can say so.
// apply_prune, after that manifest is written, deletes them. Throws RunError
// (plan_prune, when the file list cannot be read).
struct PrunePlan {
  std::vector<std::pair<std::string, std::uint64_t>> doomed;  // path in the mirror, size
  std::uint64_t files = 0;  // what the mirror holds once they are deleted
  std::uint64_t bytes = 0;
};
PrunePlan plan_prune(const MirrorScan& scan, const std::filesystem::path& references);

// What the mirror holds after apply_prune: a file that could not be deleted
// (logged as a warning) is still counted.
struct PruneResult {
  std::uint64_t pruned = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};
PruneResult apply_prune(const PrunePlan& plan, const std::filesystem::path& mirror);

// Both passes at once.
PruneResult prune_mirror(const std::filesystem::path& mirror, const std::filesystem::path& live,
                         const std::filesystem::path& references,
                         const MirrorListing* listing = nullptr);

} // namespace odbox::core
