#include "odbox/core/run_lock.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/sys_error.hpp"
#include "odbox/util/time.hpp"

#include <cerrno>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

namespace odbox::core {
namespace {

std::string read_holder(int fd) {
  char buf[512];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) {
    return "unknown holder";
  }
  std::string text(buf, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

} // namespace

RunLock::RunLock(const std::filesystem::path& file, const std::string& command, bool wait)
    : m_fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {
  if (!m_fd) {
    throw RunError(util::sys_error("open", file.string()).message());
  }
  if (::flock(m_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      throw RunError(util::sys_error("flock", file.string()).message());
    }
    const std::string holder = read_holder(m_fd.get());
    if (!wait) {
      throw Error(ExitCode::locked, "another odbox-backup run holds " + file.string() +
                                        " (" + holder +
                                        "): let it finish, or pass --wait-lock to queue");
    }
    spdlog::info("waiting for the run lock {} ({})", file.string(), holder);
    while (::flock(m_fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        throw RunError(util::sys_error("flock", file.string()).message());
      }
      throw_if_interrupted();
    }
  }
  const std::string text = "pid " + std::to_string(::getpid()) + ", " + command +
                           ", started " +
                           util::rfc3339(std::chrono::system_clock::now()) + "\n";
  if (::ftruncate(m_fd.get(), 0) != 0 ||
      ::pwrite(m_fd.get(), text.data(), text.size(), 0) < 0) {
    spdlog::warn("cannot record the lock holder in {}: {}", file.string(),
                 util::errno_text(errno));
  }
}

} // namespace odbox::core
