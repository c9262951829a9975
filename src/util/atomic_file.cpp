#include "odbox/util/atomic_file.hpp"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::util {
namespace {

constexpr std::uint64_t k_writeback_chunk = 8U << 20U; // 8 MiB
std::atomic<unsigned> g_counter{0};

} // namespace

std::string AtomicFile::temp_prefix(const std::filesystem::path& target) {
  return "." + target.filename().string() + ".tmp.";
}

SysResult<AtomicFile> AtomicFile::create(const std::filesystem::path& target,
                                         Options options) {
  const auto temp =
      target.parent_path() / (temp_prefix(target) + std::to_string(::getpid()) + "." +
                              std::to_string(g_counter.fetch_add(1)));
  UniqueFd fd(
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) {
    return std::unexpected(sys_error("open", temp.string()));
  }
  // Exactly the requested mode, whatever the umask.
  if (::fchmod(fd.get(), static_cast<mode_t>(options.mode)) != 0) {
    auto error = sys_error("fchmod", temp.string());
    ::unlink(temp.c_str());
    return std::unexpected(error);
  }
  return AtomicFile(std::move(fd), temp, target, options);
}

AtomicFile::AtomicFile(UniqueFd fd, std::filesystem::path temp,
                       std::filesystem::path target, Options options)
    : m_fd(std::move(fd)), m_temp(std::move(temp)), m_target(std::move(target)),
      m_options(options) {
  if (m_options.drop_cache) {
    m_direct = DirectOutput::enable(m_fd.get());
  }
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_fd(std::move(other.m_fd)), m_temp(std::move(other.m_temp)),
      m_target(std::move(other.m_target)), m_options(other.m_options),
      m_size(other.m_size), m_synced(other.m_synced), m_started(other.m_started),
      m_direct(std::move(other.m_direct)),
      m_committed(std::exchange(other.m_committed, true)) {}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    discard();
    m_fd = std::move(other.m_fd);
    m_temp = std::move(other.m_temp);
    m_target = std::move(other.m_target);
    m_options = other.m_options;
    m_size = other.m_size;
    m_synced = other.m_synced;
    m_started = other.m_started;
    m_direct = std::move(other.m_direct);
    m_committed = std::exchange(other.m_committed, true);
  }
  return *this;
}

AtomicFile::~AtomicFile() {
  discard();
}

void AtomicFile::discard() noexcept {
  if (!m_committed && !m_temp.empty()) {
    m_fd.reset();
    ::unlink(m_temp.c_str());
    m_committed = true;
  }
}

SysResult<void> AtomicFile::write(const void* data, std::size_t size) {
  const bool written =
      m_direct ? m_direct->write(data, size) : write_all(m_fd.get(), data, size);
  if (!written) {
    return std::unexpected(sys_error("write", m_temp.string()));
  }
  m_size += size;
  if (!m_direct && m_options.drop_cache && m_size - m_started >= k_writeback_chunk) {
    writeback(false);
  }
  return {};
}

// Starts write-back of the newest chunk, then waits for the previous one and
// drops it from the page cache: the dump streams to disk at a steady pace
// and leaves nothing behind in memory.
void AtomicFile::writeback(bool final) noexcept {
  const auto start = static_cast<off64_t>(m_started);
  const auto length = static_cast<off64_t>(m_size - m_started);
  ::sync_file_range(m_fd.get(), start, length, SYNC_FILE_RANGE_WRITE);
  if (m_started > m_synced) {
    const auto done = static_cast<off64_t>(m_synced);
    const auto done_length = static_cast<off64_t>(m_started - m_synced);
    ::sync_file_range(m_fd.get(), done, done_length,
                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                          SYNC_FILE_RANGE_WAIT_AFTER);
    ::posix_fadvise(m_fd.get(), done, done_length, POSIX_FADV_DONTNEED);
    m_synced = m_started;
  }
  m_started = m_size;
  if (final) {
    ::posix_fadvise(m_fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
}

SysResult<void> AtomicFile::sync() {
  if (m_direct && !m_direct->finish()) {
    return std::unexpected(sys_error("write", m_temp.string()));
  }
  if (::fsync(m_fd.get()) != 0) {
    return std::unexpected(sys_error("fsync", m_temp.string()));
  }
  if (m_direct) {
    ::posix_fadvise(m_fd.get(), 0, 0, POSIX_FADV_DONTNEED); // the tail went through it
  } else if (m_options.drop_cache) {
    writeback(true);
  }
  return {};
}

SysResult<void> AtomicFile::publish() {
  if (::rename(m_temp.c_str(), m_target.c_str()) != 0) {
    return std::unexpected(
        sys_error("rename", m_temp.string() + " -> " + m_target.string()));
  }
  m_committed = true;
  m_fd.reset();
  return fsync_dir(m_target.parent_path());
}

SysResult<void> AtomicFile::commit() {
  if (auto ok = sync(); !ok) {
    return ok;
  }
  return publish();
}

SysResult<void> commit_together(std::initializer_list<AtomicFile*> files) {
  for (AtomicFile* file : files) {
    if (auto ok = file->sync(); !ok) {
      return ok;
    }
  }
  for (AtomicFile* file : files) {
    if (auto ok = file->publish(); !ok) {
      return ok;
    }
  }
  return {};
}

SysResult<void> write_file_atomic(const std::filesystem::path& target,
                                  std::string_view data, unsigned mode) {
  auto file = AtomicFile::create(target, {.drop_cache = false, .mode = mode});
  if (!file) {
    return std::unexpected(file.error());
  }
  if (auto ok = file->write(data); !ok) {
    return ok;
  }
  return file->commit();
}

SysResult<void> fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    return std::unexpected(sys_error("open", dir.string()));
  }
  if (::fsync(fd.get()) != 0) {
    return std::unexpected(sys_error("fsync", dir.string()));
  }
  return {};
}

} // namespace odbox::util
