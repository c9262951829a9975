#pragma once

#include "odbox/core/area.hpp"
#include "odbox/core/manifest.hpp"
#include "odbox/util/fd.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace odbox::core {

// The off-site pushes' own lock (<area>/.offsite/push.lock, flock): one
// push at a time works on the views. It is never waited for while the run
// lock is held.
class PushLock {
public:
  explicit PushLock(const BackupArea& area);
  // False when another process holds it (`holder()` then names it).
  [[nodiscard]] bool try_lock();
  // Blocks until it is free; a termination signal interrupts (Interrupted).
  void lock();
  [[nodiscard]] std::string holder() const;
  [[nodiscard]] const std::filesystem::path& file() const noexcept { return m_file; }

private:
  void record_holder();
  std::filesystem::path m_file;
  util::UniqueFd m_fd;
};

struct ViewStats {
  std::uint64_t linked = 0;  // entries (re)linked: new or changed in the area
  std::uint64_t kept = 0;    // entries already linked to the same file
  std::uint64_t removed = 0; // entries gone from the area
};

// A stable view of one database's committed backup, from which restic reads
// while later runs replace the dump and update the mirror:
// <area>/.offsite/<db>/odoo/ holds hard links to the dump, the manifest, the
// file list and every file of filestore/<db>/, laid out as in the area. The
// area's files are never written in place (the dump and the manifest are
// replaced by rename, the mirror's files are immutable), so a link keeps
// the committed content. The view stays between pushes and is brought up to
// date entry by entry, so an unchanged file keeps its link (and its ctime),
// and restic sees it as unchanged. Call with the run lock held (nothing may
// change the area meanwhile) and the push lock held (nothing may read the
// view). Throws RunError naming the call and the path (e.g. a file system
// without hard links).
class PushView {
public:
  PushView(const BackupArea& area, std::string database);

  // The directory restic backs up from (it holds odoo/).
  [[nodiscard]] std::filesystem::path dir() const;
  // Links what `manifest` (the committed one) lists.
  ViewStats sync(const Manifest& manifest);

private:
  const BackupArea& m_area;
  std::string m_database;
};

// <area>/.offsite: views, the push lock and restic's cache (mode 0700).
[[nodiscard]] std::filesystem::path offsite_dir(const BackupArea& area);

} // namespace odbox::core
