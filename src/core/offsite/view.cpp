#include "odbox/core/offsite/view.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/sys_error.hpp"
#include "odbox/util/time.hpp"

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::core {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& call, const fs::path& path) {
  throw RunError("off-site view: " + util::sys_error(call, path.string()).message());
}

util::UniqueFd open_dir(int parent, const std::string& name, const fs::path& path) {
  util::UniqueFd fd(
      ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    fail("open", path);
  }
  return fd;
}

// Names in an open directory ("." and ".." left out).
std::set<std::string> names_in(int dir_fd, const fs::path& path) {
  const int copy = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  DIR* stream = copy < 0 ? nullptr : ::fdopendir(copy);
  if (stream == nullptr) {
    if (copy >= 0) {
      ::close(copy);
    }
    fail("opendir", path);
  }
  ::rewinddir(stream);
  std::set<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") {
      names.insert(name);
    }
  }
  ::closedir(stream);
  return names;
}

// Removes one entry of the view, a directory with everything below it.
void remove_entry(int dir_fd, const std::string& name, const fs::path& path) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    fail("fstatat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    const auto sub = open_dir(dir_fd, name, path);
    for (const auto& child : names_in(sub.get(), path)) {
      remove_entry(sub.get(), child, path / child);
    }
  }
  if (::unlinkat(dir_fd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0) {
    fail("unlinkat", path);
  }
}

bool same_time(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

class ViewSync {
public:
  // Makes `name` in view_fd the same as `name` in src_fd: a directory is
  // synced entry by entry, anything else becomes a hard link to the source.
  void entry(int src_fd, int view_fd, const std::string& name, const fs::path& src_path,
             const fs::path& view_path) {
    struct stat src {};
    if (::fstatat(src_fd, name.c_str(), &src, AT_SYMLINK_NOFOLLOW) != 0) {
      fail("fstatat", src_path);
    }
    struct stat view {};
    bool present = ::fstatat(view_fd, name.c_str(), &view, AT_SYMLINK_NOFOLLOW) == 0;
    if (!present && errno != ENOENT) {
      fail("fstatat", view_path);
    }
    if (S_ISDIR(src.st_mode)) {
      if (present && !S_ISDIR(view.st_mode)) {
        remove_entry(view_fd, name, view_path);
        present = false;
      }
      if (!present && ::mkdirat(view_fd, name.c_str(), 0700) != 0) {
        fail("mkdirat", view_path);
      }
      const auto src_dir = open_dir(src_fd, name, src_path);
      const auto view_dir = open_dir(view_fd, name, view_path);
      children(src_dir.get(), view_dir.get(), src_path, view_path, nullptr);
      attributes(view_dir.get(), src, view_path);
      return;
    }
    if (present && view.st_dev == src.st_dev && view.st_ino == src.st_ino) {
      ++m_stats.kept;
      return;
    }
    if (present) {
      remove_entry(view_fd, name, view_path);
    }
    if (::linkat(src_fd, name.c_str(), view_fd, name.c_str(), 0) != 0) {
      throw RunError(
          "off-site view: " +
          util::sys_error("linkat", src_path.string() + " -> " + view_path.string())
              .message() +
          " (the backup area's file system must allow hard links)");
    }
    ++m_stats.linked;
  }

  // Syncs the entries of a directory: `only` limits them to those names
  // (nullptr: all of the source's); every other entry of the view goes.
  void children(int src_fd, int view_fd, const fs::path& src_path,
                const fs::path& view_path, const std::set<std::string>* only) {
    const auto wanted = only != nullptr ? *only : names_in(src_fd, src_path);
    for (const auto& name : wanted) {
      entry(src_fd, view_fd, name, src_path / name, view_path / name);
    }
    for (const auto& name : names_in(view_fd, view_path)) {
      if (!wanted.contains(name)) {
        remove_entry(view_fd, name, view_path / name);
        ++m_stats.removed;
      }
    }
  }

  // A directory's mode, owner and mtime as in the area (after its entries
  // changed), so that restic stores the same tree for an unchanged directory.
  static void attributes(int view_fd, const struct stat& src, const fs::path& view_path) {
    struct stat view {};
    if (::fstat(view_fd, &view) != 0) {
      fail("fstat", view_path);
    }
    if ((view.st_uid != src.st_uid || view.st_gid != src.st_gid) &&
        ::fchown(view_fd, src.st_uid, src.st_gid) != 0 && errno != EPERM) {
      fail("fchown", view_path);
    }
    if ((view.st_mode & 07777U) != (src.st_mode & 07777U) &&
        ::fchmod(view_fd, src.st_mode & 07777U) != 0) {
      fail("fchmod", view_path);
    }
    if (!same_time(view.st_mtim, src.st_mtim)) {
      const timespec times[2] = {{0, UTIME_OMIT}, src.st_mtim};
      if (::futimens(view_fd, times) != 0) {
        fail("futimens", view_path);
      }
    }
  }

  [[nodiscard]] const ViewStats& stats() const { return m_stats; }

private:
  ViewStats m_stats;
};

// A file name the manifest gives: a plain name in the area's directory.
const std::string& plain_name(const std::string& name, const char* what) {
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string::npos) {
    throw RunError(std::string("the manifest's ") + what + " '" + name +
                   "' is not a file name in the area: run verify");
  }
  return name;
}

} // namespace

fs::path offsite_dir(const BackupArea& area) {
  return area.root() / ".offsite";
}

PushLock::PushLock(const BackupArea& area) : m_file(offsite_dir(area) / "push.lock") {
  ensure_private_dir(offsite_dir(area));
  m_fd.reset(::open(m_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!m_fd) {
    throw RunError(util::sys_error("open", m_file.string()).message());
  }
}

bool PushLock::try_lock() {
  if (::flock(m_fd.get(), LOCK_EX | LOCK_NB) == 0) {
    record_holder();
    return true;
  }
  if (errno != EWOULDBLOCK) {
    throw RunError(util::sys_error("flock", m_file.string()).message());
  }
  return false;
}

void PushLock::lock() {
  while (::flock(m_fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      throw RunError(util::sys_error("flock", m_file.string()).message());
    }
    throw_if_interrupted();
  }
  record_holder();
}

std::string PushLock::holder() const {
  char buf[256];
  const ssize_t n = ::pread(m_fd.get(), buf, sizeof buf - 1, 0);
  std::string text =
      n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "unknown holder";
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  return text;
}

void PushLock::record_holder() {
  const std::string text = "pid " + std::to_string(::getpid()) +
                           ", offsite push, started " +
                           util::rfc3339(std::chrono::system_clock::now()) + "\n";
  if (::ftruncate(m_fd.get(), 0) != 0 ||
      ::pwrite(m_fd.get(), text.data(), text.size(), 0) < 0) {
    // Only the message of a waiting push loses its detail.
    errno = 0;
  }
}

PushView::PushView(const BackupArea& area, std::string database)
    : m_area(area), m_database(std::move(database)) {}

fs::path PushView::dir() const {
  return offsite_dir(m_area) / m_database;
}

ViewStats PushView::sync(const Manifest& manifest) {
  ensure_private_dir(offsite_dir(m_area));
  ensure_private_dir(dir());
  ensure_private_dir(dir() / "odoo");
  const fs::path view_root = dir() / "odoo";
  const auto src = open_dir(AT_FDCWD, m_area.root().string(), m_area.root());
  const auto view = open_dir(AT_FDCWD, view_root.string(), view_root);
  ViewSync sync;
  const std::set<std::string> files = {plain_name(manifest.dump_file, "dump file"),
                                       m_area.manifest(m_database).filename().string(),
                                       plain_name(manifest.references_file, "file list"),
                                       "filestore"};
  for (const auto& name : files) {
    if (name == "filestore") {
      continue;
    }
    sync.entry(src.get(), view.get(), name, m_area.root() / name, view_root / name);
  }
  // filestore/ holds this database's mirror only.
  if (::mkdirat(view.get(), "filestore", 0700) != 0 && errno != EEXIST) {
    fail("mkdirat", view_root / "filestore");
  }
  const auto src_store = open_dir(src.get(), "filestore", m_area.root() / "filestore");
  const auto view_store = open_dir(view.get(), "filestore", view_root / "filestore");
  std::set<std::string> mirror;
  struct stat st {};
  if (::fstatat(src_store.get(), m_database.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    mirror.insert(m_database);
  }
  sync.children(src_store.get(), view_store.get(), m_area.root() / "filestore",
                view_root / "filestore", &mirror);
  // Anything else in odoo/ (a file of another dump mode, say) goes.
  for (const auto& name : names_in(view.get(), view_root)) {
    if (!files.contains(name)) {
      remove_entry(view.get(), name, view_root / name);
    }
  }
  if (::fstat(src_store.get(), &st) == 0) {
    ViewSync::attributes(view_store.get(), st, view_root / "filestore");
  }
  return sync.stats();
}

} // namespace odbox::core
