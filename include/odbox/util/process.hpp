#pragma once

#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace odbox::util {

// How a child ended.
struct ExitStatus {
  int code = -1;   // exit code when it exited normally, else -1
  int signal = 0;  // the signal that killed it, else 0
  [[nodiscard]] bool success() const noexcept { return signal == 0 && code == 0; }
  // "exited with status 1" / "killed by signal 9 (Killed)".
  [[nodiscard]] std::string describe() const;
};

// What to run. No shell is involved: argv[0] is looked up on PATH when it
// has no slash. stdin is /dev/null. The child gets its own process group and
// default signal dispositions with an empty signal mask.
struct SpawnSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env_set;    // "NAME=value", added or replacing
  std::vector<std::string> env_unset;  // names removed from the environment
  bool capture_stdout = true;          // pipe to the parent, else /dev/null
  bool capture_stderr = true;          // pipe to the parent, else inherited
  int stdout_fd = -1;                  // when >= 0, the child's stdout (overrides capture)
  int stdin_fd = -1;                   // when >= 0, the child's stdin, else /dev/null
  std::string working_dir;             // when set, the child starts in this directory
};

// A running child process. The destructor of a child still running kills its
// process group (SIGTERM, then SIGKILL after a grace period) and reaps it, so
// no path leaves an orphan behind.
class Child {
public:
  Child() = default;
  Child(pid_t pid, UniqueFd out, UniqueFd err) noexcept
      : m_pid(pid), m_out(std::move(out)), m_err(std::move(err)) {}
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  [[nodiscard]] pid_t pid() const noexcept { return m_pid; }
  [[nodiscard]] bool running() const noexcept { return m_pid > 0; }
  // Read ends of the child's stdout/stderr (invalid when not captured).
  UniqueFd& out() noexcept { return m_out; }
  UniqueFd& err() noexcept { return m_err; }

  // Blocks until the child ends (EINTR retried).
  ExitStatus wait();
  // Non-blocking: the status if it ended, else nothing.
  std::optional<ExitStatus> try_wait();
  // Sends `sig` to the child's process group.
  void kill_group(int sig) noexcept;
  // SIGTERM to the group, wait up to `grace`, then SIGKILL; reaps.
  ExitStatus terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));

private:
  pid_t m_pid = -1;
  UniqueFd m_out;
  UniqueFd m_err;
};

// Starts a child (posix_spawn, pipes with O_CLOEXEC, own process group).
SysResult<Child> spawn(const SpawnSpec& spec);

// Result of run_capture().
struct Captured {
  ExitStatus status;
  std::string out;          // stdout (at most max_out bytes kept)
  std::string err;          // the last max_err bytes of stderr
  bool timed_out = false;   // killed because the timeout passed
  int interrupted_by = 0;   // killed because this signal was received by us
};

struct CaptureLimits {
  std::size_t max_out = 16U << 20U;
  std::size_t max_err = 64U << 10U;
  std::optional<std::chrono::milliseconds> timeout;
  // When false, a pending termination signal does not stop the child (used
  // to restart Odoo while the run unwinds after SIGTERM).
  bool interruptible = true;
  // When set, stdout is handed over chunk by chunk as it arrives (not kept
  // in Captured::out): for output too large to hold.
  std::function<void(std::string_view)> on_stdout = nullptr;
  // After a read that drained the pipes, wait this long before the next
  // poll, so that a child writing many short lines (rsync's listing, one
  // write per line) fills the pipe for one read instead of waking the reader
  // for each line. 0: read as soon as anything arrives.
  std::chrono::milliseconds read_pause{0};
};

// Runs a child to completion, reading stdout and stderr in one poll loop so
// neither pipe fills. A termination signal received meanwhile (see
// signals.hpp) kills the child's group and is reported in `interrupted_by`.
SysResult<Captured> run_capture(const SpawnSpec& spec, const CaptureLimits& limits = {});

// The last line of `text` that is not blank (for one-line error messages).
[[nodiscard]] std::string last_line(const std::string& text);

// Finds `name` on PATH (or checks it when it contains a slash); the absolute
// path of an executable file, or nothing.
[[nodiscard]] std::optional<std::string> find_executable(const std::string& name);

} // namespace odbox::util
