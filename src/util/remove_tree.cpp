#include "odbox/util/remove_tree.hpp"

#include "odbox/util/dir_walk.hpp"
#include "odbox/util/text.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::util {
namespace {

constexpr std::size_t k_max_failures = 20;

class TreeRemover {
public:
  TreeRemover(dev_t dev, int max_depth) : m_dev(dev), m_max_depth(max_depth) {}

  // Removes the directory `name` of `parent`, `rel` its path for messages.
  void remove_dir(int parent, const std::string& name, const std::string& rel,
                  int depth) {
    auto fd = open_directory(parent, name.c_str());
    if (!fd) {
      const int err = fd.error().err;
      if (err == ENOTDIR || err == ELOOP) {
        remove_other(parent, name, rel); // no longer a directory
      } else if (err != ENOENT) {
        fail({"openat", rel, err});
      }
      return;
    }
    if (!may_enter(fd->get(), rel, depth)) {
      return;
    }
    std::vector<std::string> subdirs;
    remove_entries(fd->get(), rel, subdirs);
    for (const std::string& sub : subdirs) {
      remove_dir(fd->get(), sub, rel + "/" + printable(sub), depth + 1);
    }
    if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0) {
      ++m_result.dirs;
    } else if (errno != ENOENT) {
      fail(sys_error("rmdir", rel));
    }
  }

  RemovedTree take() { return std::move(m_result); }

private:
  bool may_enter(int fd, const std::string& rel, int depth) {
    const auto id = identify(fd, rel);
    if (!id) {
      fail(id.error());
      return false;
    }
    if (id->dev != m_dev || id->mount_root) {
      fail({"not entering a mount point:", rel, EXDEV});
      return false;
    }
    if (depth > m_max_depth) {
      fail({"not entering a directory " + std::to_string(m_max_depth) + " levels down:",
            rel, ELOOP});
      return false;
    }
    return true;
  }

  // Unlinks every entry of `dir` but its subdirectories, which go to `subdirs`.
  void remove_entries(int dir, const std::string& rel,
                      std::vector<std::string>& subdirs) {
    m_reader.start(dir);
    DirEntry entry;
    for (;;) {
      auto more = m_reader.next(entry);
      if (!more) {
        fail({"getdents64", rel, more.error().err});
        return;
      }
      if (!*more) {
        return;
      }
      const std::string name(entry.name);
      struct stat st {};
      if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) {
          fail(sys_error("fstatat", rel + "/" + printable(name)));
        }
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        subdirs.push_back(name);
      } else if (S_ISREG(st.st_mode)) {
        if (unlink(dir, name, rel)) {
          ++m_result.files;
          m_result.bytes += static_cast<std::uint64_t>(st.st_size);
        }
      } else {
        remove_other(dir, name, rel);
      }
    }
  }

  void remove_other(int dir, const std::string& name, const std::string& rel) {
    if (unlink(dir, name, rel)) {
      ++m_result.others;
    }
  }

  bool unlink(int dir, const std::string& name, const std::string& rel) {
    if (::unlinkat(dir, name.c_str(), 0) == 0) {
      return true;
    }
    if (errno != ENOENT) {
      fail(sys_error("unlinkat", rel + "/" + printable(name)));
    }
    return false;
  }

  void fail(SysError error) {
    ++m_result.failed;
    if (m_result.failures.size() < k_max_failures) {
      m_result.failures.push_back(std::move(error));
    }
  }

  dev_t m_dev;
  int m_max_depth;
  DirReader m_reader{64 * 1024};
  RemovedTree m_result;
};

} // namespace

RemovedTree remove_tree(int parent, const std::string& name, int max_depth) {
  const auto parent_id = identify(parent, ".");
  if (!parent_id) {
    RemovedTree failed;
    failed.failed = 1;
    failed.failures.push_back(parent_id.error());
    return failed;
  }
  TreeRemover remover(parent_id->dev, max_depth);
  remover.remove_dir(parent, name, printable(name), 0);
  return remover.take();
}

} // namespace odbox::util
