#include "odbox/core/session_purge.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/session_purge_parts.hpp"
#include "odbox/util/dir_walk.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"
#include "odbox/util/test_point.hpp"
#include "odbox/util/text.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <ctime>
#include <exception>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <spdlog/spdlog.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace odbox::core {
namespace {

using namespace purge_parts;
using util::printable;

constexpr int k_max_depth = k_sessions_max_depth;
constexpr std::size_t k_min_files_per_thread = 32; // fewer are not worth a thread
constexpr std::size_t k_batch_files = 4096;        // looked up, then unlinked, at a time
constexpr std::size_t k_share_files = 1024; // the same, by one thread beside the shards

class Purger {
public:
  Purger(std::string root, util::DirIdentity root_id, std::optional<timespec> cutoff,
         std::size_t chunk_entries, std::size_t threads, WarningCounts& warnings)
      : m_root(std::move(root)), m_root_id(root_id), m_cutoff(cutoff),
        m_chunk_entries(std::max<std::size_t>(chunk_entries, 1)), m_threads(threads),
        m_warnings(warnings), m_remover(m_root, cutoff, warnings) {}

  PurgeResult run(util::UniqueFd root_fd) {
    std::vector<Frame> stack;
    stack.push_back(Frame{std::move(root_fd), {}, 0, {}, 0});
    drain(stack.back());
    if (m_threads > 1) {
      m_files.clear();
      share(stack.back()); // the subdirectories found last
    } else {
      walk(stack);
    }
    if (m_result.errors > k_max_warnings) {
      spdlog::warn("session purge: {} errors in total under {}", m_result.errors, m_root);
    }
    return m_result;
  }

private:
  // Drains the subdirectories of the frames on the stack, depth first, until
  // the stack is empty. The frames on it are drained already.
  void walk(std::vector<Frame>& stack) {
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next_subdir == top.subdirs.entries.size()) {
        stack.pop_back();
        continue;
      }
      const Entry& sub = top.subdirs.entries[top.next_subdir++];
      std::optional<Frame> child = open_subdir(top, top.subdirs.name(sub));
      if (child) {
        stack.push_back(std::move(*child)); // `top` is invalid from here
        drain(stack.back());
      }
    }
  }

  // Takes the sessions directory's files in m_files, k_share_files at a time,
  // and its subdirectories not yet purged (the xx/ shards of Odoo 16+), each
  // with its whole subtree, on up to m_threads threads until both run out.
  // Thread 0 starts with the files and the others with the subtrees, each
  // turning to the other kind when its own runs out; one thread looks a batch
  // of files up, then unlinks it, and one thread walks a subtree. Threads
  // then seldom unlink in the same directory, whose lock an unlink takes
  // exclusive (README, "Benchmarks", has the figures).
  void share(Frame& root) {
    const std::size_t files = m_files.size();
    const std::size_t subtrees = root.subdirs.entries.size() - m_next_subtree;
    if (files == 0 && subtrees == 0) {
      return;
    }
    const std::size_t workers = std::clamp<std::size_t>(
        (files + k_share_files - 1) / k_share_files + subtrees, 1, m_threads);
    std::atomic<std::size_t> next_batch{0};
    std::atomic<std::size_t> next_subtree{m_next_subtree};
    std::vector<Tally> tallies(workers);
    fan_out(workers, [&](std::size_t w) {
      Purger purger(m_root, m_root_id, m_cutoff, m_chunk_entries, 1, m_warnings);
      const auto take_batch = [&] {
        const std::size_t begin = next_batch.fetch_add(k_share_files);
        if (begin >= files) {
          return false;
        }
        const std::size_t end = std::min(files, begin + k_share_files);
        throw_if_interrupted();
        for (std::size_t i = begin; i < end; ++i) {
          m_remover.look_up(root, m_chunk, m_files[i], tallies[w]);
        }
        for (std::size_t i = begin; i < end; ++i) {
          if (m_files[i].remove) {
            m_remover.unlink_file(root, m_chunk, m_files[i], tallies[w]);
          }
        }
        return true;
      };
      const auto take_subtree = [&] {
        const std::size_t i = next_subtree++;
        if (i >= root.subdirs.entries.size()) {
          return false;
        }
        std::optional<Frame> child =
            purger.open_subdir(root, root.subdirs.name(root.subdirs.entries[i]));
        if (child) {
          std::vector<Frame> stack;
          stack.push_back(std::move(*child));
          purger.drain(stack.back());
          purger.walk(stack);
        }
        return true;
      };
      if (w == 0) {
        while (take_batch() || take_subtree()) {
        }
      } else {
        while (take_subtree() || take_batch()) {
        }
      }
      add(tallies[w].counts, purger.m_result);
    });
    m_next_subtree = root.subdirs.entries.size();
    merge(root, tallies); // and the subdirectories found by fstatat, for the next share
  }

  void error(const util::SysError& err) {
    ++m_result.errors;
    m_remover.warn_error(err);
  }

  void skip_dir(const std::string& path, std::string_view why) {
    ++m_result.skipped;
    if (++m_warnings.skipped_dirs <= k_max_warnings) {
      spdlog::warn("session purge: not entering {}: {}", path, why);
    }
  }

  // Reads the whole directory chunk by chunk: regular files are removed,
  // subdirectories kept in frame.subdirs (sorted by inode) for later.
  void drain(Frame& frame) {
    ++m_result.dirs_visited;
    m_reader.start(frame.fd.get());
    while (!m_reader.at_end()) {
      throw_if_interrupted();
      m_chunk.clear();
      if (auto filled = fill(m_reader, m_chunk, m_chunk_entries); !filled) {
        util::SysError err = filled.error();
        err.path = m_remover.path_of(frame, {});
        if (frame.depth == 0) {
          throw RunError(err.message());
        }
        error(err);
        break;
      }
      std::sort(m_chunk.entries.begin(), m_chunk.entries.end(),
                [](const Entry& a, const Entry& b) { return a.ino < b.ino; });
      m_files.clear();
      for (const Entry& entry : m_chunk.entries) {
        if (entry.type == util::FileType::directory) {
          frame.subdirs.add(entry.ino, util::FileType::directory, m_chunk.name(entry));
        } else if (entry.type == util::FileType::regular ||
                   entry.type == util::FileType::unknown) {
          m_files.push_back(entry);
        } else {
          ++m_result.skipped; // symlink, FIFO, socket, device
        }
      }
      if (frame.depth == 0 && m_threads > 1 &&
          frame.subdirs.entries.size() > m_next_subtree) {
        share(frame);
      } else {
        remove_files(frame);
      }
    }
    std::sort(frame.subdirs.entries.begin() + static_cast<std::ptrdiff_t>(m_next_subtree),
              frame.subdirs.entries.end(),
              [](const Entry& a, const Entry& b) { return a.ino < b.ino; });
  }

  // Removes m_files (in inode order), k_batch_files at a time, in two passes
  // over each batch, each pass split into the same contiguous ranges over the
  // worker threads: first every candidate is looked up, then the chosen ones
  // are unlinked. Looking up a name that is not cached takes its directory's
  // lock shared and an unlink takes it exclusive. Mixed (each thread looking
  // up and unlinking file by file), 2 threads on ext4 with a journal spun on
  // that lock and took longer in every series measured. A batch bounds what
  // the look-ups
  // bring into the kernel's caches (about 1 KiB an inode). On a file system
  // mounted with `discard` every unlink waits for the device, and the waits
  // overlap.
  void remove_files(Frame& frame) {
    const std::size_t n = m_files.size();
    std::vector<Tally> tallies(workers_for(std::min(n, k_batch_files)));
    for (std::size_t begin = 0; begin < n; begin += k_batch_files) {
      throw_if_interrupted();
      const std::size_t end = std::min(n, begin + k_batch_files);
      const std::size_t workers = workers_for(end - begin);
      in_parallel(begin, end, workers, tallies, [&](std::size_t i, Tally& tally) {
        m_remover.look_up(frame, m_chunk, m_files[i], tally);
      });
      in_parallel(begin, end, workers, tallies, [&](std::size_t i, Tally& tally) {
        if (m_files[i].remove) {
          m_remover.unlink_file(frame, m_chunk, m_files[i], tally);
        }
      });
    }
    merge(frame, tallies);
  }

  // Adds up what the workers did with a directory's files.
  void merge(Frame& frame, const std::vector<Tally>& tallies) {
    for (const Tally& tally : tallies) {
      add(m_result, tally.counts);
      for (const Entry& dir : tally.found_dirs.entries) {
        frame.subdirs.add(dir.ino, util::FileType::directory, tally.found_dirs.name(dir));
      }
    }
  }

  [[nodiscard]] std::size_t workers_for(std::size_t files) const {
    return std::clamp<std::size_t>(files / k_min_files_per_thread, 1, m_threads);
  }

  // Calls step(i, tallies[w]) for every i in [begin, end), worker w < workers
  // taking the w-th of `workers` contiguous ranges (see fan_out).
  template <typename Step>
  static void in_parallel(std::size_t begin, std::size_t end, std::size_t workers,
                          std::vector<Tally>& tallies, const Step& step) {
    const std::size_t n = end - begin;
    fan_out(workers, [&](std::size_t w) {
      for (std::size_t i = begin + n * w / workers; i < begin + n * (w + 1) / workers;
           ++i) {
        step(i, tallies[w]);
      }
    });
  }

  std::optional<Frame> open_subdir(const Frame& parent, const char* name) {
    if (parent.depth + 1 > k_max_depth) {
      skip_dir(m_remover.path_of(parent, name),
               "deeper than " + std::to_string(k_max_depth) + " levels");
      return std::nullopt;
    }
    auto fd = util::open_directory(parent.fd.get(), name);
    if (!fd) {
      const int err = fd.error().err;
      if (err == ELOOP || err == ENOTDIR) {
        ++m_result.skipped; // replaced by a symlink or a file since it was read
      } else if (err != ENOENT) {
        fd.error().path = m_remover.path_of(parent, name);
        error(fd.error());
      }
      return std::nullopt;
    }
    const auto id = util::identify(fd->get(), m_remover.path_of(parent, name));
    if (!id) {
      error(id.error());
      return std::nullopt;
    }
    if (id->dev != m_root_id.dev || id->mount_root) {
      skip_dir(m_remover.path_of(parent, name),
               "a mount point (not crossing into another file system)");
      return std::nullopt;
    }
    std::string rel = parent.rel.empty() ? std::string(name) : parent.rel + '/' + name;
    return Frame{std::move(*fd), std::move(rel), parent.depth + 1, {}, 0};
  }

  std::string m_root;
  util::DirIdentity m_root_id;
  std::optional<timespec> m_cutoff;
  std::size_t m_chunk_entries;
  std::size_t m_threads;
  WarningCounts& m_warnings;
  FileRemover m_remover;
  PurgeResult m_result;
  std::size_t m_next_subtree =
      0;                    // the sessions directory's subdirectories before it are done
  util::DirReader m_reader; // getdents64 in batches of 256 KiB, one buffer for the walk
  Chunk m_chunk;
  std::vector<Entry> m_files; // the chunk's candidates for removal, in inode order
};

// "/a/b/", "/a/b/." -> "/a/b": a trailing slash would make lstat follow a symlink.
std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1) {
    if (path.back() == '/') {
      path.pop_back();
    } else if (path.size() > 2 && path.ends_with("/.")) {
      path.resize(path.size() - 2);
    } else {
      break;
    }
  }
  return path;
}

std::optional<timespec>
cutoff_for(const std::optional<std::chrono::seconds>& keep_newer) {
  if (!keep_newer) {
    return std::nullopt;
  }
  if (keep_newer->count() < 0) {
    throw UsageError("the session age to keep must not be negative (got " +
                     std::to_string(keep_newer->count()) + " s)");
  }
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  now.tv_sec -= static_cast<time_t>(keep_newer->count());
  return now;
}

} // namespace

PurgeResult purge_sessions(const PurgeOptions& options) {
  if (!options.dir.is_absolute()) {
    throw UsageError("the sessions directory must be an absolute path, not '" +
                     options.dir.string() + "'");
  }
  const std::string dir = without_trailing_slashes(options.dir.string());
  if (dir == "/") {
    throw UsageError("refusing to purge sessions in '/': point --sessions-dir at Odoo's "
                     "<data_dir>/sessions");
  }
  const std::optional<timespec> cutoff = cutoff_for(options.keep_newer);
  const std::string symlink_refusal = "the sessions directory " + dir +
                                      " is a symbolic link: refusing to follow it; point "
                                      "--sessions-dir at the real directory";

  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      spdlog::info("session purge: {} does not exist, nothing to remove", dir);
      return {};
    }
    throw RunError(util::sys_error("lstat", dir).message());
  }
  if (S_ISLNK(st.st_mode)) {
    throw UsageError(symlink_refusal);
  }
  if (!S_ISDIR(st.st_mode)) {
    throw UsageError(
        "the sessions directory " + dir +
        " is not a directory: point --sessions-dir at Odoo's <data_dir>/sessions");
  }

  auto fd = util::open_directory(AT_FDCWD, dir.c_str());
  if (!fd) {
    if (fd.error().err == ENOENT) {
      return {};
    }
    if (fd.error().err == ELOOP) {
      throw UsageError(symlink_refusal); // replaced by a symlink since the lstat
    }
    fd.error().path = dir;
    throw RunError(fd.error().message() + ": cannot purge the sessions directory");
  }
  const auto id = util::identify(fd->get(), dir);
  if (!id) {
    throw RunError(id.error().message());
  }
  struct stat fs_root {};
  if (::stat("/", &fs_root) == 0 && fs_root.st_dev == id->dev &&
      fs_root.st_ino == id->ino) {
    throw UsageError(
        "refusing to purge sessions in " + dir +
        ", which is '/': point --sessions-dir at Odoo's <data_dir>/sessions");
  }
  WarningCounts warnings;
  return Purger(dir, *id, cutoff, options.chunk_entries,
                thread_count(options.threads, id->dev), warnings)
      .run(std::move(*fd));
}

} // namespace odbox::core
