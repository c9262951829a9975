#include "odbox/core/sessions_aside.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/dir_walk.hpp"
#include "odbox/util/remove_tree.hpp"
#include "odbox/util/test_point.hpp"
#include "odbox/util/text.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace odbox::core {
namespace fs = std::filesystem;
namespace {

// Where the POSIX ACLs of a file live (what setfacl writes).
constexpr std::array k_acl_attributes{"system.posix_acl_access",
                                      "system.posix_acl_default"};

// The name a fresh directory has until it is renamed into place: the
// moved-aside name with this after it.
constexpr std::string_view k_fresh_suffix = ".fresh";

// The sessions directory as its parent and its name there.
struct SessionsPath {
  std::string parent;
  std::string name;
  [[nodiscard]] std::string aside_prefix() const { return "." + name + ".purge-"; }
};

SessionsPath split(const fs::path& dir) {
  if (!dir.is_absolute()) {
    throw UsageError("the sessions directory must be an absolute path, not '" +
                     util::printable(dir.string()) + "'");
  }
  fs::path normal = dir.lexically_normal();
  if (!normal.has_filename()) {
    normal = normal.parent_path(); // "/a/b/" -> "/a/b"
  }
  if (normal == normal.root_path()) {
    throw UsageError("refusing to purge sessions in '/': point --sessions-dir at Odoo's "
                     "<data_dir>/sessions");
  }
  return {normal.parent_path().string(), normal.filename().string()};
}

util::SysResult<util::UniqueFd> open_parent(const SessionsPath& path) {
  auto fd = util::open_directory(AT_FDCWD, path.parent.c_str(), /*follow_symlink=*/true);
  if (!fd) {
    fd.error().path = util::printable(path.parent);
  }
  return fd;
}

// Gives `to` the extended attribute `name` of `from`, or none if `from` has
// none (`to` may have inherited one from a default ACL of the parent).
util::SysResult<void> copy_attribute(int from, int to, const char* name,
                                     const std::string& shown) {
  std::vector<char> value;
  for (;;) {
    const ssize_t size = ::fgetxattr(from, name, value.data(), value.size());
    if (size >= 0 && static_cast<std::size_t>(size) <= value.size()) {
      value.resize(static_cast<std::size_t>(size));
      break;
    }
    if (size >= 0 || errno == ERANGE) { // asked for the size, or grown since
      value.resize(std::max<std::size_t>(
          static_cast<std::size_t>(std::max<ssize_t>(size, 0)), 2 * value.size() + 64));
      continue;
    }
    if (errno == ENODATA) {
      if (::fremovexattr(to, name) != 0 && errno != ENODATA) {
        return std::unexpected(
            util::sys_error("fremovexattr " + std::string(name), shown));
      }
      return {};
    }
    if (errno == ENOTSUP || errno == EOPNOTSUPP) {
      return {}; // no ACLs on this file system
    }
    return std::unexpected(util::sys_error("fgetxattr " + std::string(name), shown));
  }
  if (::fsetxattr(to, name, value.data(), value.size(), 0) != 0) {
    return std::unexpected(util::sys_error("fsetxattr " + std::string(name), shown));
  }
  return {};
}

// Owner, group, mode and ACLs of `like` (whose stat is `st`) on the
// directory `name` of `parent`.
util::SysResult<void> set_up_like(int parent, const std::string& name, int like,
                                  const struct stat& st, const std::string& shown) {
  auto fd = util::open_directory(parent, name.c_str());
  if (!fd) {
    fd.error().path = shown;
    return std::unexpected(fd.error());
  }
  struct stat made {};
  if (::fstat(fd->get(), &made) != 0) {
    return std::unexpected(util::sys_error("fstat", shown));
  }
  if ((made.st_uid != st.st_uid || made.st_gid != st.st_gid) &&
      ::fchown(fd->get(), st.st_uid, st.st_gid) != 0) {
    return std::unexpected(util::sys_error(
        "fchown " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid), shown));
  }
  if (::fchmod(fd->get(), st.st_mode & 07777) != 0) {
    return std::unexpected(util::sys_error("fchmod", shown));
  }
  for (const char* attribute : k_acl_attributes) {
    if (auto copied = copy_attribute(like, fd->get(), attribute, shown); !copied) {
      return copied;
    }
  }
  return {};
}

// Makes the directory `name` in `parent` like the directory `like`; removed
// again when it cannot be made like it.
util::SysResult<void> make_dir_like(int parent, const std::string& name, int like,
                                    const struct stat& st, const std::string& shown) {
  if (::mkdirat(parent, name.c_str(), 0700) != 0) {
    return std::unexpected(util::sys_error("mkdirat", shown));
  }
  auto made = set_up_like(parent, name, like, st, shown);
  if (!made) {
    (void)::unlinkat(parent, name.c_str(), AT_REMOVEDIR);
  }
  return made;
}

void sync_parent(int parent, const SessionsPath& path) {
  if (::fsync(parent) != 0) {
    spdlog::warn("sessions: {} (the renames may not survive a crash)",
                 util::sys_error("fsync", util::printable(path.parent)).message());
  }
}

// Removes a fresh directory that was not renamed into place (it is empty:
// nothing but this tool knows its name). Where the parent refuses removals
// (chattr +a, a sticky bit), it stays, and the next run tries again.
void remove_fresh(int parent, const SessionsPath& path, const std::string& name) {
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    spdlog::warn(
        "sessions: {}; remove that empty directory by hand",
        util::sys_error("rmdir", util::printable(path.parent + "/" + name)).message());
  }
}

MovedAside not_moved(std::string why) {
  return {.aside = std::nullopt, .not_moved_because = std::move(why)};
}

// The two renames of move_sessions_aside(), the fresh directory made.
MovedAside swap_in_fresh(int parent, const SessionsPath& path, const std::string& aside,
                         const std::string& fresh) {
  const std::string shown = util::printable(path.parent + "/" + path.name);
  // The checks are done: something mounted on the directory from here on
  // makes the rename fail (EBUSY) rather than be seen as a mount point.
  util::test_point("sessions.fresh_made");
  if (::renameat(parent, path.name.c_str(), parent, aside.c_str()) != 0) {
    const util::SysError error = util::sys_error("renameat", shown);
    remove_fresh(parent, path, fresh);
    return not_moved("it cannot be renamed (" + error.message() + ")");
  }
  // Killed here, the run leaves no sessions directory: cold-recover makes
  // one before it starts Odoo, and the next run deletes both leftovers (the
  // fresh one by name, as it is empty).
  util::test_point("sessions.moved_aside");
  if (::renameat(parent, fresh.c_str(), parent, path.name.c_str()) != 0) {
    const util::SysError error = util::sys_error("renameat", util::printable(fresh));
    if (::renameat(parent, aside.c_str(), parent, path.name.c_str()) != 0) {
      throw RunError("cannot put a fresh sessions directory in place of " + shown + " (" +
                     error.message() + ") nor move the old one back: rename " +
                     util::printable(path.parent + "/" + aside) + " back to " + shown);
    }
    remove_fresh(parent, path, fresh);
    return not_moved("a fresh directory cannot take its place (" + error.message() + ")");
  }
  sync_parent(parent, path);
  return {.aside = fs::path(path.parent) / aside, .not_moved_because = {}};
}

} // namespace

MovedAside move_sessions_aside(const fs::path& dir, const std::string& run_id) {
  const SessionsPath path = split(dir);
  const std::string shown = util::printable(dir.string());
  auto parent = open_parent(path);
  if (!parent) {
    return not_moved("its parent directory cannot be opened (" +
                     parent.error().message() + ")");
  }
  struct stat st {};
  if (::fstatat(parent->get(), path.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      return {}; // Odoo has not made it yet
    }
    return not_moved(util::sys_error("fstatat", shown).message());
  }
  if (S_ISLNK(st.st_mode)) {
    return not_moved("it is a symbolic link");
  }
  if (!S_ISDIR(st.st_mode)) {
    return not_moved("it is not a directory");
  }
  auto fd = util::open_directory(parent->get(), path.name.c_str());
  if (!fd) {
    fd.error().path = shown;
    return not_moved("it cannot be opened (" + fd.error().message() + ")");
  }
  const auto id = util::identify(fd->get(), shown);
  const auto parent_id = util::identify(parent->get(), util::printable(path.parent));
  if (!id || !parent_id) {
    return not_moved((id ? parent_id.error() : id.error()).message());
  }
  if (id->dev != parent_id->dev || id->mount_root) {
    return not_moved("it is a mount point");
  }
  const std::string aside = path.aside_prefix() + run_id;
  const std::string fresh = aside + std::string(k_fresh_suffix);
  if (auto made = make_dir_like(parent->get(), fresh, fd->get(), st,
                                util::printable(path.parent + "/" + fresh));
      !made) {
    return not_moved("no fresh directory can be made like it (" + made.error().message() +
                     ")");
  }
  return swap_in_fresh(parent->get(), path, aside, fresh);
}

std::vector<fs::path> moved_aside_dirs(const fs::path& dir,
                                       std::string_view this_run_id) {
  const SessionsPath path = split(dir);
  auto parent = open_parent(path);
  if (!parent) {
    if (parent.error().err == ENOENT) {
      return {};
    }
    throw RunError(parent.error().message() + ": cannot look for moved-aside sessions");
  }
  const auto parent_id = util::identify(parent->get(), util::printable(path.parent));
  if (!parent_id) {
    throw RunError(parent_id.error().message());
  }
  const std::string prefix = path.aside_prefix();
  const std::string own_fresh = this_run_id.empty() ? std::string()
                                                    : prefix + std::string(this_run_id) +
                                                          std::string(k_fresh_suffix);
  std::vector<std::string> names;
  util::DirReader reader(64 * 1024);
  reader.start(parent->get());
  util::DirEntry entry;
  for (;;) {
    auto more = reader.next(entry);
    if (!more) {
      throw RunError(
          util::SysError{"getdents64", util::printable(path.parent), more.error().err}
              .message());
    }
    if (!*more) {
      break;
    }
    if (entry.name.starts_with(prefix) && entry.name.ends_with(k_fresh_suffix)) {
      if (entry.name != own_fresh) {
        remove_fresh(parent->get(), path, std::string(entry.name));
      }
    } else if (entry.name.starts_with(prefix)) {
      names.emplace_back(entry.name);
    }
  }
  std::vector<fs::path> out;
  std::ranges::sort(names);
  for (const std::string& name : names) {
    const std::string shown = util::printable(path.parent + "/" + name);
    auto fd = util::open_directory(parent->get(), name.c_str());
    const auto id = fd ? util::identify(fd->get(), shown)
                       : util::SysResult<util::DirIdentity>(std::unexpected(fd.error()));
    if (!id || id->dev != parent_id->dev || id->mount_root) {
      if (fd || fd.error().err != ENOENT) {
        spdlog::warn("sessions: leaving {} alone: not a directory a run moved aside",
                     shown);
      }
      continue;
    }
    out.push_back(fs::path(path.parent) / name);
  }
  return out;
}

PurgeResult delete_moved_aside(const fs::path& aside, std::size_t threads) {
  PurgeResult result =
      purge_sessions({.dir = aside, .keep_newer = std::nullopt, .threads = threads});
  // A signal that came during the purge's last batch leaves the rest for
  // the next run, as one seen between batches does.
  throw_if_interrupted();
  const std::string shown = util::printable(aside.string());
  auto parent = util::open_directory(AT_FDCWD, aside.parent_path().c_str(), true);
  if (!parent) {
    throw RunError(parent.error().message() + ": cannot remove " + shown);
  }
  const util::RemovedTree rest =
      util::remove_tree(parent->get(), aside.filename().string(), k_sessions_max_depth);
  result.files_removed += rest.files;
  result.bytes_removed += rest.bytes;
  result.errors += rest.failed;
  if (rest.others > 0) {
    spdlog::info("sessions: removed {} other entries (symlinks, FIFOs, sockets, device "
                 "nodes: the names, never what they point at) with {}",
                 rest.others, shown);
  }
  for (const util::SysError& failure : rest.failures) {
    spdlog::warn("sessions: {}", failure.message());
  }
  if (rest.failed > 0) {
    spdlog::warn(
        "sessions: {} stays ({} entries could not be removed); the next run tries "
        "again",
        shown, rest.failed);
  }
  return result;
}

bool restore_sessions_dir(const fs::path& dir) {
  const SessionsPath path = split(dir);
  const std::string shown = util::printable(dir.string());
  auto parent = open_parent(path);
  if (!parent) {
    return false; // no data directory: nothing Odoo could use either
  }
  struct stat st {};
  if (::fstatat(parent->get(), path.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return false;
  }
  if (errno != ENOENT) {
    throw RunError(util::sys_error("fstatat", shown).message());
  }
  const std::vector<fs::path> left = moved_aside_dirs(dir);
  if (left.empty()) {
    return false; // Odoo makes its own
  }
  const std::string like = left.back().filename().string();
  auto like_fd = util::open_directory(parent->get(), like.c_str());
  if (!like_fd || ::fstat(like_fd->get(), &st) != 0) {
    throw RunError("cannot read " + util::printable(left.back().string()) +
                   " to make a sessions directory like it");
  }
  // Odoo is stopped: the directory may be set up in place.
  if (auto made = make_dir_like(parent->get(), path.name, like_fd->get(), st, shown);
      !made) {
    throw RunError("cannot make the sessions directory: " + made.error().message());
  }
  sync_parent(parent->get(), path);
  spdlog::warn("sessions: made {} again, like {} (a run was killed while it moved the "
               "sessions aside)",
               shown, util::printable(left.back().string()));
  return true;
}

} // namespace odbox::core
