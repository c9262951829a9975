#include "odbox/util/direct_output.hpp"

#include "odbox/util/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace odbox::util {
namespace {

constexpr std::size_t k_alignment = 4096; // memory and offsets, for any logical block

} // namespace

void DirectOutput::Free::operator()(char* p) const noexcept {
  std::free(p); // NOLINT(cppcoreguidelines-no-malloc): from aligned_alloc
}

std::optional<DirectOutput> DirectOutput::enable(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) {
    return std::nullopt;
  }
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): O_DIRECT needs aligned memory
  auto* buffer = static_cast<char*>(std::aligned_alloc(k_alignment, k_block));
  if (buffer == nullptr) {
    ::fcntl(fd, F_SETFL, flags);
    return std::nullopt;
  }
  return DirectOutput(fd, std::unique_ptr<char, Free>(buffer));
}

bool DirectOutput::write(const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    if (m_staged == 0 && !reserve_block()) {
      return false;
    }
    const std::size_t take = std::min(size, k_block - m_staged);
    std::memcpy(m_buffer.get() + m_staged, p, take);
    m_staged += take;
    p += take;
    size -= take;
    if (m_staged == k_block && !write_staged()) {
      return false;
    }
  }
  return true;
}

// Allocates the space of the block that staging begins now, so that a full
// disk fails this write, not one at the end: the bytes of a block reach the
// file only once it is full. finish() gives back what the file did not use.
bool DirectOutput::reserve_block() noexcept {
  if (!m_reserve) {
    return true;
  }
  const auto offset = static_cast<off_t>(m_written);
  if (::fallocate(m_fd, FALLOC_FL_KEEP_SIZE, offset, static_cast<off_t>(k_block)) == 0) {
    return true;
  }
  if (errno == EOPNOTSUPP || errno == ENOSYS) {
    m_reserve = false; // the file system cannot: its write errors come late
    return true;
  }
  return false;
}

// Writes what is staged: straight to the device while in O_DIRECT mode. A
// file system that takes O_DIRECT at open but refuses a write (EINVAL: an
// alignment it does not accept, or the unaligned rest of a short write) gets
// the rest of the file through the page cache.
bool DirectOutput::write_staged() noexcept {
  const char* p = m_buffer.get();
  std::size_t size = m_staged;
  while (m_direct && size > 0) {
    const ssize_t n = ::write(m_fd, p, size);
    if (n > 0) {
      p += n;
      size -= static_cast<std::size_t>(n);
    } else if (n == 0 || (errno != EINTR && errno != EINVAL)) {
      if (n == 0) {
        errno = EIO;
      }
      return false;
    } else if (errno == EINVAL && !leave_direct_mode()) {
      return false;
    }
  }
  if (!write_all(m_fd, p, size)) {
    return false;
  }
  m_written += m_staged;
  m_staged = 0;
  return true;
}

bool DirectOutput::leave_direct_mode() noexcept {
  const int flags = ::fcntl(m_fd, F_GETFL);
  if (flags < 0 || ::fcntl(m_fd, F_SETFL, flags & ~O_DIRECT) != 0) {
    return false;
  }
  m_direct = false;
  return true;
}

bool DirectOutput::finish() noexcept {
  if ((m_direct && !leave_direct_mode()) || !write_staged()) {
    return false;
  }
  // The same size: frees the reserved blocks past the end.
  return !m_reserve || ::ftruncate(m_fd, static_cast<off_t>(m_written)) == 0;
}

} // namespace odbox::util
