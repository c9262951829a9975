#pragma once

#include <chrono>
#include <fstream>
#include <string>
#include <sys/types.h>
#include <thread>

namespace odbox::test {

// The system call thread `tid` of this process is in (from
// /proc/self/task/<tid>/syscall), or -1 while it runs in user space. Tests
// use it to open the window they need (a thread blocked in ppoll or write)
// instead of sleeping and hoping.
inline long current_syscall(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string first;
  in >> first;
  if (first.empty() || first == "running") {
    return -1;
  }
  return std::stol(first);
}

// Waits until thread `tid` is in system call `number`; false after `limit`
// (the thread never got there: a failure of the code under test).
inline bool wait_for_syscall(pid_t tid, long number,
                             std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (current_syscall(tid) != number) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

} // namespace odbox::test
