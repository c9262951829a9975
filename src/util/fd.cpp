#include "odbox/util/fd.hpp"

#include <cerrno>
#include <ctime>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::util {

void UniqueFd::reset(int fd) noexcept {
  if (m_fd >= 0) {
    // close() must not be retried on EINTR on Linux: the fd is gone either way.
    ::close(m_fd);
  }
  m_fd = fd;
}

bool write_all(int fd, const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n == 0) {
        errno = EIO;
      }
      return false;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

SysResult<void> append_whole(int fd, std::string_view data, const std::string& path) {
  ssize_t n = -1;
  do {
    n = ::write(fd, data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(data.size())) {
    return {};
  }
  if (n < 0) {
    return std::unexpected(sys_error("write", path));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size >= n) {
    // Best effort: the error below is what the caller acts on.
    [[maybe_unused]] const int rc = ::ftruncate(fd, st.st_size - n);
  }
  errno = ENOSPC;
  return std::unexpected(sys_error("write", path));
}

SysResult<int> poll_until(std::span<pollfd> fds,
                          std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  while (true) {
    timespec left{};
    timespec* timeout = nullptr;
    if (deadline != k_no_deadline) {
      const auto rest = std::max(nanoseconds(0), deadline - steady_clock::now());
      left.tv_sec = static_cast<time_t>(duration_cast<seconds>(rest).count());
      left.tv_nsec = static_cast<long>((rest % seconds(1)).count());
      timeout = &left;
    }
    const int ready = ::ppoll(fds.data(), fds.size(), timeout, nullptr);
    if (ready > 0 || (ready == 0 && steady_clock::now() >= deadline)) {
      return ready;
    }
    if (ready < 0 && errno != EINTR) {
      return std::unexpected(sys_error("ppoll"));
    }
  }
}

} // namespace odbox::util
