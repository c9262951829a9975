#include "odbox/util/fd.hpp"

#include <cerrno>
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

} // namespace odbox::util
