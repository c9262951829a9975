#include "odbox/util/test_point.hpp"
#include "odbox_test/support.hpp"

#include <cerrno>
#include <sys/wait.h>
#include <system_error>
#include <thread>

namespace odbox_test {

std::vector<std::string> stop_at(std::string_view point) {
  return {std::string(odbox::util::k_stop_at_variable) + "=" + std::string(point)};
}

bool wait_until_stopped(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info,
                 WSTOPPED | WEXITED | WNOHANG | WNOWAIT) != 0 &&
        errno != EINTR) {
      throw std::system_error(errno, std::generic_category(),
                              "waitid " + std::to_string(pid));
    }
    if (info.si_pid == pid) {
      return info.si_code == CLD_STOPPED;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
}

} // namespace odbox_test
