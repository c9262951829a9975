#pragma once

// The parts of the session purge that its walk is built from: the entries
// read from a directory, the walk's frames, the worker threads and how many
// of them. Internal to session_purge.cpp and session_purge_parts.cpp.

#include "odbox/core/session_purge.hpp"
#include "odbox/util/dir_walk.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <exception>
#include <optional>
#include <spdlog/spdlog.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <system_error>
#include <thread>
#include <vector>

namespace odbox::core::purge_parts {

// Errors and skipped directories logged per purge; past this, only counted.
inline constexpr std::uint64_t k_max_warnings = 20;

// Without online discard an unlink is kernel CPU time (the directory entry,
// the inode, the journal): one thread per core at most, and two threads in
// one directory share its lock, so more than two lose time on 2 cores.
std::size_t thread_count(std::size_t requested, dev_t dev);

// One directory entry of a chunk; the name lives in the chunk's buffer.
struct Entry {
  std::uint64_t ino = 0;
  std::size_t name_offset = 0;
  util::FileType type = util::FileType::unknown;
  bool remove = false;    // set by the look-up pass: a regular file to unlink
  std::uint64_t size = 0; // its st_size
};

// Up to chunk_entries entries of one directory, names NUL-terminated in one buffer.
struct Chunk {
  std::vector<Entry> entries;
  std::string names;

  void clear() {
    entries.clear();
    names.clear();
  }
  void add(std::uint64_t ino, util::FileType type, std::string_view name) {
    entries.push_back(Entry{ino, names.size(), type});
    names.append(name);
    names.push_back('\0');
  }
  [[nodiscard]] const char* name(const Entry& entry) const {
    return names.data() + entry.name_offset;
  }
};

// Appends entries of the directory `reader` reads until `chunk` holds `max`
// or the directory ends. One reader serves every directory in turn: a
// directory is read to its end before the walk descends.
// Appends entries of the directory `reader` reads until `chunk` holds `max`
// or the directory ends. One reader serves every directory in turn: a
// directory is read to its end before the walk descends.
util::SysResult<void> fill(util::DirReader& reader, Chunk& chunk, std::size_t max);

// A directory on the walk's stack: its descriptor, its path below the
// sessions directory (for messages), and the subdirectories still to visit.
struct Frame {
  util::UniqueFd fd;
  std::string rel;
  int depth = 0;
  Chunk subdirs;
  std::size_t next_subdir = 0;
};

// What one worker did with its share of a chunk; merged into the result.
struct Tally {
  PurgeResult counts; // a worker of share() adds what it did in subtrees
  Chunk found_dirs;   // entries that turned out to be directories (DT_UNKNOWN)
};

// How many errors and skipped directories have been logged, over every
// thread of a purge: past k_max_warnings they are only counted.
struct WarningCounts {
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> skipped_dirs{0};
};

// Runs body(w) for every w < workers: workers - 1 new threads take w >= 1 and
// this thread w = 0. Returns when all are done and rethrows the first
// failure. If threads cannot be started, this thread runs the bodies they
// would have run.
template <typename Body> void fan_out(std::size_t workers, const Body& body) {
  std::vector<std::exception_ptr> failures(workers);
  const auto work = [&](std::size_t w) noexcept {
    try {
      body(w);
    } catch (...) {
      failures[w] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> pool;
    pool.reserve(workers - 1);
    std::size_t next = 1;
    try {
      for (; next < workers; ++next) {
        pool.emplace_back(work, next);
      }
    } catch (const std::system_error& e) {
      spdlog::debug("session purge: no more threads ({}), going on with {}", e.what(),
                    next);
    }
    for (std::size_t w = next; w < workers; ++w) {
      work(w);
    }
    work(0);
  } // joins
  for (const std::exception_ptr& failure : failures) {
    if (failure) {
      std::rethrow_exception(failure);
    }
  }
}

// What the purge does with one entry of a directory: looks it up, decides,
// unlinks it. Thread-safe: each call touches only its entry, its tally, the
// shared warning counts and the logger. `chunk` holds the entry's name.
class FileRemover {
public:
  FileRemover(std::string root, std::optional<timespec> cutoff, WarningCounts& warnings);

  // A regular file (old enough) is marked in `entry`; a directory found by
  // the look-up goes to tally.found_dirs.
  void look_up(const Frame& frame, const Chunk& chunk, Entry& entry, Tally& tally) const;
  // Unlinks an entry look_up marked (with a cutoff, only if still old).
  void unlink_file(const Frame& frame, const Chunk& chunk, Entry& entry,
                   Tally& tally) const;
  // <root>/<frame's path>/<name>, printable, for messages.
  [[nodiscard]] std::string path_of(const Frame& frame, std::string_view name) const;
  // Logs the first k_max_warnings errors (from any thread); the caller counts.
  void warn_error(const util::SysError& err) const;

private:
  [[nodiscard]] bool is_recent(const struct stat& st) const;
  bool still_old(const Frame& frame, const char* name, Entry& entry, Tally& tally) const;

  std::string m_root;
  std::optional<timespec> m_cutoff;
  WarningCounts& m_warnings;
};

// Adds every count of `from` to `to`.
void add(PurgeResult& to, const PurgeResult& from);

} // namespace odbox::core::purge_parts
