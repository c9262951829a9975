#include "odbox/core/area.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/atomic_file.hpp"
#include "odbox/util/sys_error.hpp"

#include <cerrno>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::core {

BackupArea::BackupArea(std::filesystem::path basedir) : m_basedir(std::move(basedir)) {}

std::filesystem::path BackupArea::dump(const std::string& db,
                                       DumpCompression::Method method) const {
  return root() / (db + dump_suffix(method));
}
std::filesystem::path BackupArea::manifest(const std::string& db) const {
  return root() / (db + ".manifest.json");
}
std::filesystem::path BackupArea::references(const std::string& db) const {
  return root() / (db + ".files.tsv");
}
std::filesystem::path BackupArea::mirror(const std::string& db) const {
  return mirrors() / db;
}

void BackupArea::check_writable() const {
  std::filesystem::path probe = root();
  while (true) {
    struct stat st {};
    if (::stat(probe.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        throw UsageError("backup area: " + probe.string() +
                         " exists but is not a directory: check --basedir");
      }
      if (::access(probe.c_str(), W_OK | X_OK) != 0) {
        if (errno == EROFS) {
          throw UsageError(
              "backup area: " + probe.string() +
              " is on a read-only file system (under systemd: create the area "
              "and list it in ReadWritePaths=)");
        }
        throw UsageError("backup area: " + probe.string() + " is not writable (" +
                         util::errno_text(errno) + "): run as root or fix its owner");
      }
      return;
    }
    if (errno != ENOENT || !probe.has_relative_path()) {
      throw UsageError("backup area: cannot access " + probe.string() + " (" +
                       util::errno_text(errno) + "): check --basedir");
    }
    probe = probe.parent_path();
  }
}

void BackupArea::check_layout(const std::vector<std::string>& databases) const {
  std::vector<std::filesystem::path> dirs{root(), mirrors()};
  for (const auto& db : databases) {
    dirs.push_back(mirror(db));
  }
  for (const auto& dir : dirs) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        continue;
      }
      throw UsageError("backup area: cannot access " + dir.string() + " (" +
                       util::errno_text(errno) + "): check --basedir");
    }
    if (S_ISLNK(st.st_mode)) {
      throw UsageError("backup area: " + dir.string() +
                       " is a symbolic link: refusing to follow it; move it aside, or "
                       "point --basedir at the real directory");
    }
    if (!S_ISDIR(st.st_mode)) {
      throw UsageError("backup area: " + dir.string() +
                       " is not a directory: move it aside (check --basedir)");
    }
  }
}

void BackupArea::require_existing() const {
  std::error_code ec;
  if (!std::filesystem::is_directory(root(), ec)) {
    throw UsageError("no backup area at " + root().string() + ": check --basedir");
  }
}

bool remove_other_mode_dump(const BackupArea& area, const std::string& db,
                            DumpCompression::Method kept) {
  const auto other = area.dump(db, kept == DumpCompression::Method::zstd
                                       ? DumpCompression::Method::none
                                       : DumpCompression::Method::zstd);
  if (::unlink(other.c_str()) != 0) {
    if (errno != ENOENT) {
      spdlog::warn("{} (the dump of the previous compression mode) stays: {}",
                   other.string(), util::sys_error("unlink", other.string()).message());
    }
    return false;
  }
  (void)util::fsync_dir(area.root());
  spdlog::info("removed {}, the dump of the previous compression mode", other.string());
  return true;
}

void ensure_private_dir(const std::filesystem::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      throw RunError(util::sys_error("lstat", dir.string()).message());
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      throw RunError(util::sys_error("mkdir", dir.string()).message());
    }
    spdlog::info("created {}", dir.string());
    if (::lstat(dir.c_str(), &st) != 0) {
      throw RunError(util::sys_error("lstat", dir.string()).message());
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    throw RunError(dir.string() +
                   " is not a directory (a symbolic link or a file is in " +
                   "the way): move it aside");
  }
  if ((st.st_mode & 07777) != 0700) {
    if (::chmod(dir.c_str(), 0700) != 0) {
      throw RunError(util::sys_error("chmod", dir.string()).message());
    }
    if ((st.st_mode & 0077) != 0) {
      spdlog::warn("{} had mode {:04o}, readable by others than its owner: set to 0700",
                   dir.string(), st.st_mode & 07777);
    }
  }
}

void BackupArea::prepare() const {
  // The base directory may be a mount point: create it only when missing,
  // including missing parents (which keep the default mode).
  std::error_code ec;
  if (m_basedir.has_parent_path()) {
    std::filesystem::create_directories(m_basedir.parent_path(), ec);
    if (ec) {
      throw RunError("cannot create " + m_basedir.parent_path().string() + ": " +
                     ec.message());
    }
  }
  ensure_private_dir(m_basedir);
  ensure_private_dir(root());
  ensure_private_dir(mirrors());
}

int BackupArea::remove_stale_temporaries() const {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") && name.find(".tmp.") != std::string::npos &&
        entry.is_regular_file(ec)) {
      if (std::filesystem::remove(entry.path(), ec)) {
        spdlog::info("removed {} left by an interrupted run", entry.path().string());
        ++removed;
      }
    }
  }
  if (removed > 0) {
    (void)util::fsync_dir(root());
  }
  return removed;
}

} // namespace odbox::core
