#pragma once

#include "odbox/core/compression.hpp"
#include "odbox/util/fd.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace odbox::core {

// The backup area of SPEC.md: <basedir>/odoo/ with one dump, manifest,
// referenced-file list and file-store mirror per database, and runs.jsonl.
class BackupArea {
public:
  explicit BackupArea(std::filesystem::path basedir);

  [[nodiscard]] const std::filesystem::path& basedir() const noexcept {
    return m_basedir;
  }
  [[nodiscard]] std::filesystem::path root() const { return m_basedir / "odoo"; }
  // <db>.dump.sql, or <db>.dump.sql.zst when compressed.
  [[nodiscard]] std::filesystem::path
  dump(const std::string& db,
       DumpCompression::Method method = DumpCompression::Method::none) const;
  [[nodiscard]] std::filesystem::path manifest(const std::string& db) const;
  // The files the dump references (store_fname, file_size, checksum; TSV).
  [[nodiscard]] std::filesystem::path references(const std::string& db) const;
  // The file-store mirrors, <area>/filestore, and the one of `db` in it.
  [[nodiscard]] std::filesystem::path mirrors() const { return root() / "filestore"; }
  [[nodiscard]] std::filesystem::path mirror(const std::string& db) const;
  [[nodiscard]] std::filesystem::path runs_log() const { return root() / "runs.jsonl"; }
  [[nodiscard]] std::filesystem::path lock_file() const { return root() / ".lock"; }

  // Preflight without side effects: the area exists and is writable, or it
  // can be created (its nearest existing parent is a writable directory).
  // Throws UsageError naming the path and the fix.
  void check_writable() const;
  // Preflight without side effects: each directory of the layout that
  // exists (the area, its filestore/ and the mirror of each of `databases`)
  // is a real directory, not a symbolic link or a file, which prepare()
  // would refuse only after it changed modes. Throws UsageError.
  void check_layout(const std::vector<std::string>& databases) const;
  // For the commands that read backups: throws UsageError naming --basedir
  // when the area is not there.
  void require_existing() const;

  // Creates <basedir> and <basedir>/odoo (mode 0700) when missing and
  // narrows wider modes to 0700 with a warning. Throws RunError.
  void prepare() const;

  // Removes temporary files left by a killed run (call with the lock held).
  // Returns how many were removed.
  int remove_stale_temporaries() const;

private:
  std::filesystem::path m_basedir;
};

// After a backup of `db` in mode `kept` is committed: removes its dump in
// the other mode, left by an earlier run, so that the area holds one dump
// per database. Never before the commit: a failed run keeps the previous
// dump, whichever mode it was in. A failure to remove is only logged (the
// manifest names the dump that counts). Returns whether a file was removed.
bool remove_other_mode_dump(const BackupArea& area, const std::string& db,
                            DumpCompression::Method kept);

// Creates `dir` with mode 0700 if missing, else narrows a wider mode to 0700
// (with a warning). Throws RunError.
void ensure_private_dir(const std::filesystem::path& dir);

} // namespace odbox::core
