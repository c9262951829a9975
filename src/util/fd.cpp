#include "odbox/util/fd.hpp"

#include <unistd.h>

namespace odbox::util {

void UniqueFd::reset(int fd) noexcept {
  if (m_fd >= 0) {
    // close() must not be retried on EINTR on Linux: the fd is gone either way.
    ::close(m_fd);
  }
  m_fd = fd;
}

} // namespace odbox::util
