#include "odbox/util/signals.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <sys/eventfd.h>
#include <unistd.h>

namespace odbox::util {
namespace {

std::atomic<int> g_pending{0};
std::atomic<int> g_wake_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free, "used in a signal handler");

extern "C" void on_termination_signal(int sig) {
  const int saved_errno = errno; // the interrupted code may be about to read it
  int expected = 0;
  // Keep the first signal: it decides the exit code (128 + N).
  g_pending.compare_exchange_strong(expected, sig);
  if (const int fd = g_wake_fd.load(); fd >= 0) {
    const std::uint64_t one = 1;
    // eventfd writes are async-signal-safe; non-blocking, and the counter
    // cannot overflow from a few signals, so the result needs no check.
    [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
  }
  errno = saved_errno;
}

} // namespace

SysResult<void> install_termination_handlers() {
  if (g_wake_fd.load() < 0) {
    const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
      return std::unexpected(sys_error("eventfd"));
    }
    g_wake_fd.store(fd);
  }
  struct sigaction action {};
  action.sa_handler = on_termination_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; // no SA_RESTART: blocking calls return EINTR and loops look
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    if (::sigaction(sig, &action, nullptr) != 0) {
      return std::unexpected(sys_error("sigaction"));
    }
  }
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (::sigaction(SIGPIPE, &ignore, nullptr) != 0) {
    return std::unexpected(sys_error("sigaction"));
  }
  return {};
}

int pending_signal() noexcept {
  return g_pending.load();
}

int termination_wake_fd() noexcept {
  return g_wake_fd.load();
}

void clear_pending_signal() noexcept {
  // Flag first, then drain: a signal in between leaves the flag set, so no
  // waiter misses it.
  g_pending.store(0);
  if (const int fd = g_wake_fd.load(); fd >= 0) {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(fd, &count, sizeof count);
  }
}

} // namespace odbox::util
