#include "odbox/util/dir_walk.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <vector>

namespace odbox::util {

FileType file_type_of_mode(mode_t mode) noexcept {
  if (S_ISREG(mode)) {
    return FileType::regular;
  }
  if (S_ISDIR(mode)) {
    return FileType::directory;
  }
  if (S_ISLNK(mode)) {
    return FileType::symlink;
  }
  return FileType::other;
}

SysResult<UniqueFd> open_directory(int parent, const char* name, bool follow_symlink) {
  const int flags =
      O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_symlink ? 0 : O_NOFOLLOW);
  UniqueFd fd(::openat(parent, name, flags));
  if (!fd) {
    return std::unexpected(sys_error("openat", name));
  }
  return fd;
}

SysResult<DirIdentity> identify(int fd, const std::string& path) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO, &stx) == 0) {
    DirIdentity id;
    id.dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
    id.ino = stx.stx_ino;
    id.mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
                    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    return id;
  }
  if (errno != ENOSYS) {
    return std::unexpected(sys_error("statx", path));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::unexpected(sys_error("fstat", path));
  }
  return DirIdentity{st.st_dev, st.st_ino, false};
}

DirReader::DirReader(std::size_t buffer_bytes)
    : m_buf(std::make_unique_for_overwrite<char[]>(buffer_bytes)),
      m_capacity(buffer_bytes) {}

SysResult<void> DirReader::refill() {
  ssize_t n = 0;
  do {
    n = ::getdents64(m_fd, m_buf.get(), m_capacity);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return std::unexpected(sys_error("getdents64"));
  }
  m_pos = 0;
  m_end = static_cast<std::size_t>(n);
  m_eof = n == 0;
  return {};
}

SysResult<FileType> resolve_type(int dir, const DirEntry& entry) {
  if (entry.type != FileType::unknown) {
    return entry.type;
  }
  struct stat st {};
  if (::fstatat(dir, entry.name.data(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return std::unexpected(sys_error("fstatat", std::string(entry.name)));
  }
  return file_type_of_mode(st.st_mode);
}

SysResult<void> list_directory(DirReader& reader, int dir,
                               std::vector<ListedEntry>& out) {
  out.clear();
  reader.start(dir);
  DirEntry item;
  for (;;) {
    auto more = reader.next(item);
    if (!more) {
      return std::unexpected(more.error());
    }
    if (!*more) {
      break;
    }
    ListedEntry entry{.name = std::string(item.name), .type = item.type};
    if (item.type == FileType::regular || item.type == FileType::unknown) {
      struct stat st {};
      if (::fstatat(dir, item.name.data(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        const int err = errno;
        if (err == ENOENT) {
          continue;
        }
        return std::unexpected(SysError{"fstatat", std::move(entry.name), err});
      }
      entry.type = file_type_of_mode(st.st_mode);
      if (entry.type == FileType::regular) {
        entry.size = static_cast<std::uint64_t>(st.st_size);
        entry.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                         st.st_mtim.tv_nsec;
        entry.uid = st.st_uid;
        entry.gid = st.st_gid;
      }
    }
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(),
            [](const ListedEntry& a, const ListedEntry& b) { return a.name < b.name; });
  return {};
}

namespace {

// "a/b" + "/" + "c", or "c" at the top.
std::string below(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + '/' + std::string(name);
}

class RegularFileWalk {
public:
  RegularFileWalk(int max_depth, const FileVisitor& visit)
      : m_max_depth(max_depth), m_visit(visit) {}

  SysResult<void> walk(int dir, const std::string& prefix, int depth) {
    std::vector<std::string> subdirs;
    if (auto read = visit_entries(dir, prefix, depth, subdirs); !read) {
      return read;
    }
    for (const std::string& name : subdirs) {
      auto sub = open_directory(dir, name.c_str());
      if (!sub) {
        const int err = sub.error().err;
        if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
          continue; // gone, or replaced by a file or a symlink, since it was read
        }
        sub.error().path = below(prefix, name);
        return std::unexpected(sub.error());
      }
      if (auto walked = walk(sub->get(), below(prefix, name), depth + 1); !walked) {
        return walked;
      }
    }
    return {};
  }

private:
  // Visits the regular files of `dir` and lists its subdirectories (those
  // within the depth limit) in `subdirs`.
  SysResult<void> visit_entries(int dir, const std::string& prefix, int depth,
                                std::vector<std::string>& subdirs) {
    m_reader.start(dir);
    DirEntry entry;
    for (;;) {
      auto more = m_reader.next(entry);
      if (!more) {
        more.error().path = prefix.empty() ? "." : prefix;
        return std::unexpected(more.error());
      }
      if (!*more) {
        return {};
      }
      auto type = resolve_type(dir, entry);
      if (!type) {
        if (type.error().err == ENOENT) {
          continue; // gone since it was read
        }
        type.error().path = below(prefix, entry.name);
        return std::unexpected(type.error());
      }
      if (*type == FileType::directory && depth < m_max_depth) {
        subdirs.emplace_back(entry.name);
      } else if (*type == FileType::regular) {
        m_rel.assign(prefix).append(prefix.empty() ? "" : "/").append(entry.name);
        if (auto visited = m_visit(WalkedFile{m_rel, dir, entry.name.data()}); !visited) {
          return visited;
        }
      }
    }
  }

  int m_max_depth;
  const FileVisitor& m_visit;
  DirReader m_reader{32 * 1024}; // a directory of a few hundred entries in one call
  std::string m_rel;             // its buffer reused from one file to the next
};

} // namespace

SysResult<void> walk_regular_files(int top, int max_depth, const FileVisitor& visit) {
  return RegularFileWalk(max_depth, visit).walk(top, {}, 0);
}

} // namespace odbox::util
