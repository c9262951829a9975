// The one loop that reads a child's output and waits for its end
// (ChildPump, run_capture; see process.hpp for why it looks as it does).
#include "odbox/util/process.hpp"
#include "odbox/util/signals.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <sys/eventfd.h>
#include <unistd.h>

namespace odbox::util {
namespace {

using Clock = std::chrono::steady_clock;

void append(std::string& buffer, std::string_view data, std::size_t limit,
            bool keep_tail) {
  if (keep_tail) {
    if (data.size() >= limit) {
      buffer.assign(data.substr(data.size() - limit));
      return;
    }
    buffer.append(data);
    if (buffer.size() > limit) {
      buffer.erase(0, buffer.size() - limit);
    }
  } else if (buffer.size() < limit) {
    buffer.append(data.substr(0, limit - buffer.size()));
  }
}

enum class ReadResult { some, filled_buffer, closed };

// One read from a pipe that poll found ready, into `data`; end of file and
// errors close the pipe.
ReadResult read_once(UniqueFd& fd, std::span<char> buffer, std::string_view& data) {
  data = {};
  const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
  if (n < 0 && errno == EINTR) {
    return ReadResult::some;
  }
  if (n <= 0) {
    fd.reset();
    return ReadResult::closed;
  }
  data = std::string_view(buffer.data(), static_cast<std::size_t>(n));
  return data.size() == buffer.size() ? ReadResult::filled_buffer : ReadResult::some;
}

// The valid descriptors among `fds`, to be polled for input.
template <std::size_t N>
std::span<pollfd> poll_set(std::array<pollfd, N>& set, std::initializer_list<int> fds) {
  std::size_t count = 0;
  for (const int fd : fds) {
    if (fd >= 0) {
      set.at(count++) = pollfd{fd, POLLIN, 0};
    }
  }
  return std::span(set.data(), count);
}

// Why the pump must stop the child now, recorded in `result`; false: go on.
bool must_stop(const CaptureLimits& limits, Clock::time_point deadline,
               Captured& result) {
  if (const int sig = pending_signal(); sig != 0 && limits.interruptible) {
    result.interrupted_by = sig;
    return true;
  }
  if (limits.stop_when && limits.stop_when()) {
    result.stopped = true;
    return true;
  }
  if (Clock::now() >= deadline) {
    result.timed_out = true;
    return true;
  }
  return false;
}

void drain_eventfd(int fd) noexcept {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(fd, &count, sizeof count);
}

} // namespace

SysResult<ChildPump> ChildPump::start(const SpawnSpec& spec, CaptureLimits limits) {
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) {
    return std::unexpected(sys_error("eventfd"));
  }
  auto child = spawn(spec);
  if (!child) {
    return std::unexpected(child.error());
  }
  return ChildPump(std::move(*child), std::move(wake), std::move(limits));
}

void ChildPump::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(m_wake.get(), &one, sizeof one);
}

SysResult<Captured> ChildPump::run() {
  Captured result;
  std::vector<char> buffer(std::max<std::size_t>(m_limits.read_buffer, 1));
  const auto deadline =
      m_limits.timeout ? Clock::now() + *m_limits.timeout : k_no_deadline;
  const int signal_fd = m_limits.interruptible ? termination_wake_fd() : -1;
  bool ended = false; // the pidfd reported the child's end: it only waits to be reaped
  while (!ended || m_child.out().valid() || m_child.err().valid()) {
    if (must_stop(m_limits, deadline, result)) {
      result.status = m_child.terminate(m_limits.stop_grace);
      return result;
    }
    std::array<pollfd, 5> set{};
    const auto fds =
        poll_set(set, {m_child.out().get(), m_child.err().get(),
                       ended ? -1 : m_child.pidfd(), signal_fd, m_wake.get()});
    auto ready = poll_until(fds, deadline);
    if (!ready) {
      return std::unexpected(ready.error());
    }
    bool read_some = false;
    bool drained = true; // every read left its pipe empty: the child writes slowly
    for (const pollfd& entry : fds) {
      const bool is_out = entry.fd == m_child.out().get();
      if (entry.revents == 0) {
        continue;
      }
      if (is_out || entry.fd == m_child.err().get()) {
        std::string_view data;
        const auto got = read_once(is_out ? m_child.out() : m_child.err(), buffer, data);
        deliver(is_out, data, result);
        read_some = read_some || got == ReadResult::some;
        drained = drained && got == ReadResult::some;
      } else if (entry.fd == m_child.pidfd()) {
        ended = true;
      } else if (entry.fd == m_wake.get()) {
        drain_eventfd(m_wake.get()); // stop_when is asked at the top
      }
    }
    if (read_some && drained && m_limits.read_pause.count() > 0) {
      pause(signal_fd, std::min(deadline, Clock::now() + m_limits.read_pause));
    }
  }
  result.status = m_child.wait(); // the pidfd said it ended: this does not block
  return result;
}

void ChildPump::deliver(bool is_out, std::string_view data, Captured& result) {
  if (data.empty()) {
    return;
  }
  if (!is_out) {
    append(result.err, data, m_limits.max_err, true);
  } else if (m_limits.on_stdout) {
    m_limits.on_stdout(data);
  } else {
    append(result.out, data, m_limits.max_out, false);
  }
}

void ChildPump::pause(int signal_fd, Clock::time_point until) noexcept {
  std::array<pollfd, 2> set{};
  // An error here shows again in the pump's next ppoll, which reports it.
  [[maybe_unused]] auto woken =
      poll_until(poll_set(set, {signal_fd, m_wake.get()}), until);
}

SysResult<Captured> run_capture(const SpawnSpec& spec, const CaptureLimits& limits) {
  auto pump = ChildPump::start(spec, limits);
  if (!pump) {
    return std::unexpected(pump.error());
  }
  return pump->run();
}

} // namespace odbox::util
