#pragma once

#include "odbox/util/sys_error.hpp"

#include <chrono>
#include <cstddef>
#include <poll.h>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace odbox::util {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset(std::exchange(other.m_fd, -1));
    }
    return *this;
  }
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return m_fd; }
  [[nodiscard]] bool valid() const noexcept { return m_fd >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership without closing.
  int release() noexcept { return std::exchange(m_fd, -1); }
  // Closes the current descriptor (errors ignored) and takes `fd`.
  void reset(int fd = -1) noexcept;

private:
  int m_fd = -1;
};

// Writes all `size` bytes of `data` to `fd`, going on after short writes and
// EINTR. False with errno set if a write fails (EIO if one writes nothing).
[[nodiscard]] bool write_all(int fd, const void* data, std::size_t size) noexcept;

// Appends `data` to `fd`, which was opened with O_APPEND, in one write(2), so
// that the records of several appenders never interleave; whole or not at
// all: the bytes of a short write (a disk full halfway through a record)
// are taken back with ftruncate(2), so that no torn record is left. Fails
// naming the write and `path` (ENOSPC for a short write).
SysResult<void> append_whole(int fd, std::string_view data, const std::string& path);

// No deadline for poll_until().
inline constexpr std::chrono::steady_clock::time_point k_no_deadline =
    std::chrono::steady_clock::time_point::max();

// Waits in ppoll until one of `fds` is ready or `deadline` passes, going on
// after EINTR with the time left. The number of ready descriptors (0: the
// deadline passed); fails with the call named when ppoll fails.
SysResult<int> poll_until(std::span<pollfd> fds,
                          std::chrono::steady_clock::time_point deadline);

} // namespace odbox::util
