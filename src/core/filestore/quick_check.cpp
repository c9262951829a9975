#include "odbox/core/filestore/quick_check.hpp"

#include "odbox/core/filestore/references.hpp"
#include "odbox/util/dir_walk.hpp"
#include "odbox/util/sys_error.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

namespace odbox::core {
namespace {

using util::FileType;

// Past this much, a list of changed paths is not worth keeping: rsync walks
// everything itself, as without the quick check.
constexpr std::size_t k_max_changed_bytes = 4U << 20U;
constexpr std::size_t k_threads = 4; // the walks wait on the disk when it is cold
constexpr std::size_t k_reader_bytes = 32 * 1024; // most store directories in one call

// Nothing, or why the quick check gives up (empty: another thread gave up).
using Outcome = std::expected<void, std::string>;

std::unexpected<std::string> give_up(std::string_view what, const std::string& path,
                                     int err) {
  return std::unexpected(std::string(what) + " " + path + ": " + util::errno_text(err));
}

// Is `entry` of the live store up to date in the mirror as `twin`?
bool same_file(const util::ListedEntry& entry, const util::ListedEntry& twin,
               bool owners) {
  return entry.type == FileType::regular && twin.type == FileType::regular &&
         entry.size == twin.size && entry.mtime_ns == twin.mtime_ns &&
         (!owners || (entry.uid == twin.uid && entry.gid == twin.gid));
}

// The entries of the directory `dir` (`shown` with a trailing slash).
Outcome read_entries(util::DirReader& reader, int dir, const std::string& shown,
                     std::vector<util::ListedEntry>& out) {
  if (auto listed = util::list_directory(reader, dir, out); !listed) {
    return give_up(listed.error().call, shown + listed.error().path, listed.error().err);
  }
  return {};
}

// One thread's directory reader, and what it found.
struct Worker {
  util::DirReader reader{k_reader_bytes};
  QuickCheckPlan part;
};

class QuickCheck {
public:
  QuickCheck(const std::filesystem::path& live, const std::filesystem::path& mirror,
             bool want_listing)
      : m_live(live), m_mirror(mirror), m_want_listing(want_listing) {}

  // The top level here, its directories (Odoo's 256 "xx") shared out to
  // the threads.
  std::expected<QuickCheckPlan, std::string> run() {
    const auto live =
        util::open_directory(AT_FDCWD, m_live.c_str(), /*follow_symlink=*/true);
    if (!live) {
      return give_up("cannot open", m_live.string(), live.error().err);
    }
    const auto mirror = util::open_directory(AT_FDCWD, m_mirror.c_str());
    if (!mirror) {
      return std::unexpected("no mirror to compare with: " +
                             util::errno_text(mirror.error().err));
    }
    std::vector<Worker> workers(k_threads);
    std::vector<std::string> dirs;
    if (auto top = compare(workers[0], live->get(), mirror->get(), "", 0, &dirs); !top) {
      return std::unexpected(top.error());
    }
    if (auto below = compare_in_threads(workers, live->get(), mirror->get(), dirs);
        !below) {
      return std::unexpected(below.error());
    }
    QuickCheckPlan plan = std::move(workers[0].part);
    for (std::size_t slot = 1; slot < workers.size(); ++slot) {
      QuickCheckPlan& part = workers[slot].part;
      plan.changed.append(part.changed);
      plan.changed_count += part.changed_count;
      plan.unchanged_count += part.unchanged_count;
      plan.unchanged.absorb(std::move(part.unchanged));
    }
    return plan;
  }

private:
  // Compares the entries of two directories (`mirror` -1: the mirror has
  // no such directory) and recurses into the live store's subdirectories,
  // or, with `deferred`, leaves them there for the threads.
  Outcome compare(Worker& worker, int live, int mirror, const std::string& prefix,
                  int depth, std::vector<std::string>* deferred) {
    if (m_abandoned.load(std::memory_order_relaxed)) {
      return std::unexpected(std::string()); // another thread gave up: stop early
    }
    std::vector<util::ListedEntry> live_entries;
    std::vector<util::ListedEntry> mirror_entries;
    if (auto read =
            read_entries(worker.reader, live, (m_live / prefix).string(), live_entries);
        !read) {
      return read;
    }
    if (mirror >= 0) {
      if (auto read = read_entries(worker.reader, mirror, (m_mirror / prefix).string(),
                                   mirror_entries);
          !read) {
        return read;
      }
    }
    auto twin = mirror_entries.cbegin();
    for (const util::ListedEntry& entry : live_entries) {
      while (twin != mirror_entries.cend() && twin->name < entry.name) {
        ++twin;
      }
      const bool in_mirror = twin != mirror_entries.cend() && twin->name == entry.name;
      Outcome done;
      if (entry.type == FileType::directory && deferred != nullptr) {
        deferred->push_back(entry.name);
      } else if (entry.type == FileType::directory) {
        done = compare_subdir(worker, live, in_mirror ? mirror : -1, prefix, entry.name,
                              depth + 1);
      } else if (in_mirror && same_file(entry, *twin, m_owners)) {
        ++worker.part.unchanged_count;
        if (m_want_listing) {
          worker.part.unchanged.add(prefix + entry.name, entry.size);
        }
      } else {
        done = hand_to_rsync(worker.part, prefix, entry.name); // new, changed, not a file
      }
      if (!done) {
        return done;
      }
    }
    return {};
  }

  // `name` under `prefix`, a directory of the live store; `mirror` is -1
  // when the mirror has nothing of that name.
  Outcome compare_subdir(Worker& worker, int live, int mirror, const std::string& prefix,
                         const std::string& name, int depth) {
    const std::string rel = prefix + name;
    if (depth > k_max_store_depth) {
      return std::unexpected("more than " + std::to_string(k_max_store_depth) +
                             " levels below the store");
    }
    const auto live_sub = util::open_directory(live, name.c_str());
    if (!live_sub) {
      if (live_sub.error().err == ENOENT) {
        return {}; // gone since it was listed
      }
      return give_up("cannot open", (m_live / rel).string(), live_sub.error().err);
    }
    util::UniqueFd mirror_sub;
    if (mirror >= 0) {
      auto opened = util::open_directory(mirror, name.c_str());
      if (opened) {
        mirror_sub = std::move(*opened);
      } else if (const int err = opened.error().err;
                 err != ENOENT && err != ENOTDIR && err != ELOOP) {
        // Not a directory in the mirror (a file, a symlink): rsync sorts it out.
        return give_up("cannot open", (m_mirror / rel).string(), err);
      }
    }
    return compare(worker, live_sub->get(), mirror_sub ? mirror_sub.get() : -1, rel + "/",
                   depth, nullptr);
  }

  Outcome hand_to_rsync(QuickCheckPlan& part, const std::string& prefix,
                        const std::string& name) {
    part.changed.append(prefix).append(name).push_back('\0');
    ++part.changed_count;
    if (m_changed_bytes.fetch_add(prefix.size() + name.size() + 1,
                                  std::memory_order_relaxed) > k_max_changed_bytes) {
      return std::unexpected(std::string("too many changes"));
    }
    return {};
  }

  // The directories below the top, each to the next free worker. A worker
  // that fails stops the others early; the first reason given is returned.
  Outcome compare_in_threads(std::vector<Worker>& workers, int live, int mirror,
                             const std::vector<std::string>& dirs) {
    std::vector<std::string> failures(workers.size());
    std::atomic<std::size_t> next{0};
    const auto work = [&](std::size_t slot) noexcept {
      try {
        for (std::size_t i = next++; i < dirs.size(); i = next++) {
          if (auto done = compare_subdir(workers[slot], live, mirror, "", dirs[i], 1);
              !done) {
            failures[slot] = done.error();
            m_abandoned = true;
            return;
          }
        }
      } catch (const std::exception& e) { // out of memory: no exception leaves a thread
        failures[slot] = e.what();
        m_abandoned = true;
      }
    };
    {
      std::vector<std::jthread> threads;
      try {
        for (std::size_t slot = 1; slot < workers.size(); ++slot) {
          threads.emplace_back(work, slot);
        }
      } catch (const std::system_error& e) {
        spdlog::debug("quick check: {} threads ({}), going on with them",
                      threads.size() + 1, e.what());
      }
      work(0);
    } // joins
    if (!m_abandoned) {
      return {};
    }
    for (const auto& reason : failures) {
      if (!reason.empty()) {
        return std::unexpected(reason);
      }
    }
    return std::unexpected(std::string("stopped"));
  }

  std::filesystem::path m_live;
  std::filesystem::path m_mirror;
  bool m_want_listing;
  // Only root's rsync gives the mirror the live store's owners; anyone
  // else's leaves its own, which is then no change.
  bool m_owners = ::geteuid() == 0;
  std::atomic<bool> m_abandoned{false};
  std::atomic<std::size_t> m_changed_bytes{0};
};

} // namespace

std::expected<QuickCheckPlan, std::string>
quick_check(const std::filesystem::path& live, const std::filesystem::path& mirror,
            bool want_listing) {
  return QuickCheck(live, mirror, want_listing).run();
}

} // namespace odbox::core
