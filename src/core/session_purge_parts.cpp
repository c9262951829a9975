#include "odbox/core/session_purge_parts.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/test_point.hpp"
#include "odbox/util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace odbox::core::purge_parts {
namespace {

constexpr std::size_t k_max_threads = 64;
constexpr std::size_t k_discard_threads =
    16;                                  // "auto" on a file system with online discard
constexpr std::size_t k_cpu_threads = 2; // "auto" elsewhere, at most one per core

// Is the file system on `dev` mounted with online discard? Then every unlink
// of a file with data waits for the device (ext4: blkdev_issue_discard in
// ext4_free_blocks), and unlinking from several threads overlaps the waits.
// `discard` is a super block option, the same on every mount of the device.
// Past a dozen threads every one waits in submit_bio_wait: the device's own
// limit is near, and more threads only add memory (README, "Benchmarks").
bool mounted_with_discard(dev_t dev) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  const std::string wanted =
      std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  std::string line;
  while (std::getline(mountinfo, line)) {
    // "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,..."
    std::istringstream fields(line);
    std::string mount_id;
    std::string parent_id;
    std::string dev_field;
    fields >> mount_id >> parent_id >> dev_field;
    const std::size_t separator = line.find(" - ");
    if (dev_field != wanted || separator == std::string::npos) {
      continue;
    }
    std::istringstream tail(line.substr(separator + 3));
    std::string fs_type;
    std::string source;
    std::string super_options;
    tail >> fs_type >> source >> super_options;
    std::istringstream options(super_options);
    std::string option;
    while (std::getline(options, option, ',')) {
      if (option == "discard") {
        return true;
      }
    }
    return false;
  }
  return false;
}

} // namespace

std::size_t thread_count(std::size_t requested, dev_t dev) {
  if (requested != 0) {
    return std::min(requested, k_max_threads);
  }
  const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
  const std::size_t threads =
      mounted_with_discard(dev) ? k_discard_threads : std::min(k_cpu_threads, cores);
  spdlog::debug("session purge: {} unlinking thread(s)", threads);
  return threads;
}

util::SysResult<void> fill(util::DirReader& reader, Chunk& chunk, std::size_t max) {
  util::DirEntry entry;
  while (chunk.entries.size() < max) {
    auto more = reader.next(entry);
    if (!more) {
      return std::unexpected(more.error());
    }
    if (!*more) {
      return {};
    }
    chunk.add(entry.ino, entry.type, entry.name);
  }
  return {};
}

void add(PurgeResult& to, const PurgeResult& from) {
  to.files_removed += from.files_removed;
  to.bytes_removed += from.bytes_removed;
  to.files_kept += from.files_kept;
  to.skipped += from.skipped;
  to.errors += from.errors;
  to.dirs_visited += from.dirs_visited;
}

FileRemover::FileRemover(std::string root, std::optional<timespec> cutoff,
                         WarningCounts& warnings)
    : m_root(std::move(root)), m_cutoff(cutoff), m_warnings(warnings) {}

std::string FileRemover::path_of(const Frame& frame, std::string_view name) const {
  std::string path = m_root;
  if (!frame.rel.empty()) {
    path += '/';
    path += util::printable(frame.rel);
  }
  if (!name.empty()) {
    path += '/';
    path += util::printable(name);
  }
  return path;
}

// Logs the first k_max_warnings errors (from any thread); the caller counts.
void FileRemover::warn_error(const util::SysError& err) const {
  const std::uint64_t n = ++m_warnings.errors;
  if (n <= k_max_warnings) {
    spdlog::warn("session purge: {}", err.message());
  }
  if (n == k_max_warnings) {
    spdlog::warn("session purge: further errors are counted, not logged");
  }
}

// Decides whether to remove one entry: a regular file (old enough) is
// marked in `entry`. Thread-safe: touches only `entry`, `tally` and the
// logger.
void FileRemover::look_up(const Frame& frame, const Chunk& chunk, Entry& entry,
                          Tally& tally) const {
  const char* name = chunk.name(entry);
  struct stat st {};
  if (::fstatat(frame.fd.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) {
      ++tally.counts.errors;
      warn_error(util::sys_error("fstatat", path_of(frame, name)));
    }
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    tally.found_dirs.add(entry.ino, util::FileType::directory, name);
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    ++tally.counts.skipped;
    return;
  }
  if (is_recent(st)) {
    ++tally.counts.files_kept;
    return;
  }
  entry.remove = true;
  entry.size = static_cast<std::uint64_t>(st.st_size);
}

bool FileRemover::is_recent(const struct stat& st) const {
  return m_cutoff && (st.st_mtim.tv_sec > m_cutoff->tv_sec ||
                      (st.st_mtim.tv_sec == m_cutoff->tv_sec &&
                       st.st_mtim.tv_nsec > m_cutoff->tv_nsec));
}

// With a cutoff Odoo may be running: a session it refreshed since the
// look-up (a batch ago) stays, so the age is read again right before the
// unlink. False when the file is to stay, or is gone.
bool FileRemover::still_old(const Frame& frame, const char* name, Entry& entry,
                            Tally& tally) const {
  struct stat st {};
  if (::fstatat(frame.fd.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(st.st_mode)) {
    return false; // gone or replaced since the look-up: not this purge's business
  }
  if (is_recent(st)) {
    ++tally.counts.files_kept;
    return false;
  }
  entry.size = static_cast<std::uint64_t>(st.st_size);
  return true;
}

// Unlinks one entry that look_up marked. Thread-safe like look_up.
void FileRemover::unlink_file(const Frame& frame, const Chunk& chunk, Entry& entry,
                              Tally& tally) const {
  const char* name = chunk.name(entry);
  if (m_cutoff && !still_old(frame, name, entry, tally)) {
    return;
  }
  if (::unlinkat(frame.fd.get(), name, 0) != 0) {
    if (errno == EISDIR) {
      ++tally.counts.skipped; // replaced by a directory since the fstatat
    } else if (errno != ENOENT) {
      ++tally.counts.errors;
      warn_error(util::sys_error("unlinkat", path_of(frame, name)));
    }
    return;
  }
  ++tally.counts.files_removed;
  tally.counts.bytes_removed += entry.size;
  util::test_point("sessions.deleting");
}

} // namespace odbox::core::purge_parts
