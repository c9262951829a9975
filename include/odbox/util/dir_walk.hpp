#pragma once

#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <dirent.h>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace odbox::util {

// What a directory entry is, as its d_type or a stat tells.
enum class FileType : unsigned char { unknown, regular, directory, symlink, other };

[[nodiscard]] FileType file_type_of_mode(mode_t mode) noexcept;

// Opens `name` under the directory `parent` (AT_FDCWD: the current one) to
// read its entries (O_DIRECTORY, close-on-exec). A symlink at `name` is not
// followed unless `follow_symlink`. Something other than a directory, a
// symlink included, is ENOTDIR (Linux checks O_DIRECTORY before O_NOFOLLOW's
// ELOOP). Fails with the call "openat" and `name` as the path.
[[nodiscard]] SysResult<UniqueFd> open_directory(int parent, const char* name,
                                                 bool follow_symlink = false);

// Where an open directory lives: its device and inode, and whether it is the
// root of a mount (statx's STATX_ATTR_MOUNT_ROOT, which also tells a bind
// mount of the same file system; false where statx cannot say).
struct DirIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  bool mount_root = false;
};

// The identity of `fd` (statx, fstat where statx is missing). Fails with the
// call and `path`.
[[nodiscard]] SysResult<DirIdentity> identify(int fd, const std::string& path);

// One entry as DirReader read it. `name` is NUL-terminated and lives in the
// reader's buffer until the reader reads again.
struct DirEntry {
  std::string_view name;
  std::uint64_t ino = 0;
  FileType type = FileType::unknown; // unknown: the file system gives no d_type
};

// Reads a directory's entries with getdents64, a buffer at a time, without
// a stat per entry (the entry's d_type tells its type when the file system
// gives one). One reader may serve any number of directories in turn.
class DirReader {
public:
  static constexpr std::size_t k_default_buffer_bytes = 256 * 1024;
  explicit DirReader(std::size_t buffer_bytes = k_default_buffer_bytes);

  // Reads the directory `fd` (the caller keeps it open) from its offset on.
  void start(int fd) noexcept {
    m_fd = fd;
    m_pos = m_end = 0;
    m_eof = false;
  }
  // Everything read and handed out?
  [[nodiscard]] bool at_end() const noexcept { return m_eof && m_pos == m_end; }

  // The next entry, "." and ".." left out; false at the end of the
  // directory. Fails with getdents64's errno (EINTR is retried here).
  SysResult<bool> next(DirEntry& entry) {
    for (;;) {
      if (m_pos == m_end) {
        if (m_eof) {
          return false;
        }
        if (auto read = refill(); !read) {
          return std::unexpected(read.error());
        }
        continue;
      }
      const char* record = m_buf.get() + m_pos;
      unsigned short reclen = 0;
      unsigned char d_type = DT_UNKNOWN;
      std::memcpy(&entry.ino, record + offsetof(dirent64, d_ino), sizeof entry.ino);
      std::memcpy(&reclen, record + offsetof(dirent64, d_reclen), sizeof reclen);
      std::memcpy(&d_type, record + offsetof(dirent64, d_type), sizeof d_type);
      m_pos += reclen;
      entry.name = std::string_view(record + offsetof(dirent64, d_name));
      if (entry.name != "." && entry.name != "..") {
        entry.type = type_of_d_type(d_type);
        return true;
      }
    }
  }

private:
  static FileType type_of_d_type(unsigned char d_type) noexcept {
    switch (d_type) {
    case DT_REG:
      return FileType::regular;
    case DT_DIR:
      return FileType::directory;
    case DT_LNK:
      return FileType::symlink;
    case DT_UNKNOWN:
      return FileType::unknown;
    default:
      return FileType::other;
    }
  }
  SysResult<void> refill();

  std::unique_ptr<char[]> m_buf; // not zeroed: only what getdents64 fills is read
  std::size_t m_capacity;
  int m_fd = -1;
  std::size_t m_pos = 0;
  std::size_t m_end = 0;
  bool m_eof = false;
};

// The entry's type, from an fstatat in `dir` (no symlink followed) when the
// file system gave none. Fails with the call "fstatat" and the entry's name.
[[nodiscard]] SysResult<FileType> resolve_type(int dir, const DirEntry& entry);

// An entry of list_directory; a regular file with what a stat tells of it.
struct ListedEntry {
  std::string name;
  FileType type = FileType::unknown; // from d_type, or the stat's for a regular file
  std::uint64_t size = 0;            // st_size, st_mtim, st_uid, st_gid of a
  std::int64_t mtime_ns = 0;         // regular file; 0 for anything else
  uid_t uid = 0;
  gid_t gid = 0;
};

// Reads the directory `dir` with `reader` into `out`, sorted by name. An
// entry that d_type calls a regular file, or does not type, is stat'ed
// (fstatat, no symlink followed). An entry gone since it was read is left
// out. Fails with getdents64's error, or fstatat's with the entry's name as
// the path.
[[nodiscard]] SysResult<void> list_directory(DirReader& reader, int dir,
                                             std::vector<ListedEntry>& out);

// A regular file met by walk_regular_files: its path below the walk's top
// ("aa/aa01...", NUL-terminated), and its directory's descriptor and its
// name there, for a call such as fstatat(dir, name). Valid during the visit
// only.
struct WalkedFile {
  std::string_view rel;
  int dir = -1;
  const char* name = nullptr;
};
using FileVisitor = std::function<SysResult<void>(const WalkedFile&)>;

// Calls `visit` for every regular file below the directory `top`, never
// following a symlink (every step is an openat or fstatat relative to a
// directory descriptor, O_NOFOLLOW) and leaving out directories more than
// `max_depth` levels below `top`. A directory is read to its end before the
// walk enters its subdirectories, so that one buffer serves the whole walk.
// An entry gone while the walk runs is skipped. Fails on the first directory
// that cannot be opened or read or on the first failure `visit` returns,
// with the path relative to `top`.
[[nodiscard]] SysResult<void> walk_regular_files(int top, int max_depth,
                                                 const FileVisitor& visit);

} // namespace odbox::util
