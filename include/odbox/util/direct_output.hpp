#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace odbox::util {

// Appends to a file past the page cache (O_DIRECT): the bytes are staged in
// an aligned buffer and written in whole blocks of k_block bytes, straight
// from that buffer to the device. A large stream thus costs no page-cache
// copy, no write-back by the kernel and no eviction afterwards, and it never
// pushes the server's cached pages out of memory.
class DirectOutput {
public:
  static constexpr std::size_t k_block = 4U << 20U; // a multiple of any block size

  // Puts `fd` (open for writing, at offset 0) in O_DIRECT mode; nullopt where
  // the file system refuses it (tmpfs before Linux 6.6, some FUSE mounts).
  static std::optional<DirectOutput> enable(int fd) noexcept;

  // Stages `data` and writes every block that is full. The space of each
  // block is allocated when its first byte is staged, so a full disk fails
  // the write that starts a block (ENOSPC), with at most a block's worth of
  // free space left unused. False with errno set on an error.
  [[nodiscard]] bool write(const void* data, std::size_t size) noexcept;
  // Leaves O_DIRECT and writes the staged tail (less than a block) through
  // the page cache: the caller's fsync makes it durable. Nothing may be
  // written after this.
  [[nodiscard]] bool finish() noexcept;

private:
  struct Free {
    void operator()(char* p) const noexcept;
  };
  DirectOutput(int fd, std::unique_ptr<char, Free> buffer) noexcept
      : m_fd(fd), m_buffer(std::move(buffer)) {}
  bool reserve_block() noexcept;
  bool write_staged() noexcept;
  bool leave_direct_mode() noexcept;

  int m_fd;
  std::unique_ptr<char, Free> m_buffer;
  std::size_t m_staged = 0;
  std::uint64_t m_written = 0; // bytes on the file
  bool m_reserve = true;       // false where the file system cannot fallocate
  bool m_direct = true;        // false once the file system refused a direct write
};

} // namespace odbox::util
