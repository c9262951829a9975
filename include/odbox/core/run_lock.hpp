#pragma once

#include "odbox/util/fd.hpp"

#include <filesystem>
#include <string>

namespace odbox::core {

// The run lock of the backup area: an flock(2) on <area>/.lock, released by
// the kernel when the process dies (no stale locks after SIGKILL). The file
// names the holder (pid, command, start time) for the message of the run
// that finds it taken.
class RunLock {
public:
  // Takes the lock. Without `wait`, throws Error(ExitCode::locked) naming the
  // holder; with `wait`, blocks until it is free (a termination signal
  // interrupts the wait: Interrupted).
  RunLock(const std::filesystem::path& file, const std::string& command, bool wait);
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock() = default;

  // Releases the lock before the end of the scope (e.g. before a long
  // off-site push that works from a view of its own).
  void release() noexcept { m_fd.reset(); }
  [[nodiscard]] bool held() const noexcept { return m_fd.valid(); }

private:
  util::UniqueFd m_fd;
};

} // namespace odbox::core
