#pragma once

#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"

#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace odbox::util {

// How a child ended.
struct ExitStatus {
  int code = -1;  // exit code when it exited normally, else -1
  int signal = 0; // the signal that killed it, else 0
  [[nodiscard]] bool success() const noexcept { return signal == 0 && code == 0; }
  // "exited with status 1" / "killed by signal 9 (Killed)".
  [[nodiscard]] std::string describe() const;
};

// What to run. No shell is involved: argv[0] is looked up with
// find_executable() when it has no slash. stdin is /dev/null. The child gets
// its own process group and default signal dispositions with an empty
// signal mask.
struct SpawnSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env_set;   // "NAME=value", added or replacing
  std::vector<std::string> env_unset; // names removed from the environment
  bool capture_stdout = true;         // pipe to the parent, else /dev/null
  bool capture_stderr = true;         // pipe to the parent, else inherited
  int stdout_fd = -1;                 // when >= 0, the child's stdout (overrides capture)
  int stdin_fd = -1;                  // when >= 0, the child's stdin, else /dev/null
  // When > 0, the size asked for the stdout pipe (F_SETPIPE_SZ, best effort:
  // the kernel caps it at /proc/sys/fs/pipe-max-size).
  std::size_t stdout_pipe_size = 0;
  std::string working_dir; // when set, the child starts in this directory
};

// A running child process, with a pidfd that becomes readable when it ends
// (so that waiting for it with a deadline needs no sleep). The destructor of
// a child still running kills its process group (SIGTERM, then SIGKILL after
// a grace period) and reaps it, so no path leaves an orphan behind.
class Child {
public:
  Child() = default;
  Child(pid_t pid, UniqueFd pidfd, UniqueFd out, UniqueFd err) noexcept
      : m_pid(pid), m_pidfd(std::move(pidfd)), m_out(std::move(out)),
        m_err(std::move(err)) {}
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  [[nodiscard]] pid_t pid() const noexcept { return m_pid; }
  [[nodiscard]] bool running() const noexcept { return m_pid > 0; }
  // Readable once the child has ended (until it is reaped).
  [[nodiscard]] int pidfd() const noexcept { return m_pidfd.get(); }
  // Read ends of the child's stdout/stderr (invalid when not captured).
  UniqueFd& out() noexcept { return m_out; }
  UniqueFd& err() noexcept { return m_err; }

  // Blocks until the child ends (EINTR retried; a signal does not end it).
  ExitStatus wait();
  // Non-blocking: the status if it ended, else nothing.
  std::optional<ExitStatus> try_wait();
  // Sends `sig` to the child's process group.
  void kill_group(int sig) noexcept;
  // SIGTERM to the group, wait up to `grace` on the pidfd, then SIGKILL;
  // reaps.
  ExitStatus terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));

private:
  pid_t m_pid = -1;
  UniqueFd m_pidfd;
  UniqueFd m_out;
  UniqueFd m_err;
};

// Starts a child (posix_spawn, pipes with O_CLOEXEC, own process group,
// pidfd_open). Every failure names the call, posix_spawn_* setup included.
SysResult<Child> spawn(const SpawnSpec& spec);

// Result of a pump (run_capture, ChildPump::run).
struct Captured {
  ExitStatus status;
  std::string out;        // stdout (at most max_out bytes kept)
  std::string err;        // the last max_err bytes of stderr
  bool timed_out = false; // killed because the timeout passed
  int interrupted_by = 0; // killed because this signal was received by us
  bool stopped = false;   // killed because stop_when returned true
};

struct CaptureLimits {
  std::size_t max_out = 16U << 20U;
  std::size_t max_err = 64U << 10U;
  std::optional<std::chrono::milliseconds> timeout;
  // When false, a pending termination signal does not stop the child (used
  // to restart Odoo while the run unwinds after SIGTERM).
  bool interruptible = true;
  // The stdout sink: when set, stdout is handed over chunk by chunk, in
  // order, as it arrives (not kept in Captured::out): for output too large
  // to hold. It runs in the pump's thread.
  std::function<void(std::string_view)> on_stdout = nullptr;
  // After a read that drained the pipes, wait this long before the next
  // poll, so that a child writing many short lines (rsync's listing, one
  // write per line) fills the pipe for one read instead of waking the reader
  // for each line. A signal or ChildPump::wake() ends the pause. 0: read as
  // soon as anything arrives.
  std::chrono::milliseconds read_pause{0};
  // The stop predicate, asked after every wake-up of the pump (output,
  // the child's end, a signal, ChildPump::wake()): true stops the child.
  // Whoever makes it true from another thread calls ChildPump::wake().
  std::function<bool()> stop_when = nullptr;
  // The one buffer both pipes are read through.
  std::size_t read_buffer = 64U << 10U;
  // How long a stopped child has between SIGTERM and SIGKILL.
  std::chrono::milliseconds stop_grace{2000};
};

// Runs one child to the end, reading stdout and stderr in one poll loop so
// neither pipe fills, and reaping it through its pidfd. There is no periodic
// tick and no sleep: the loop waits in ppoll on the pipes, the pidfd, the
// termination wake-up descriptor (signals.hpp) and a wake-up eventfd of its
// own, with the timeout as the only deadline. The signals are not blocked
// and waited for with ppoll's mask (as ninja does) because several threads
// pump children at once and the main thread relies on EINTR: a
// process-directed signal interrupts one thread only, whereas the wake-up
// descriptor, readable once a signal is pending, wakes every pump.
class ChildPump {
public:
  // Starts the child; nothing is read before run().
  static SysResult<ChildPump> start(const SpawnSpec& spec, CaptureLimits limits);

  // Reads until the child has ended and both pipes are closed, or until a
  // stop (a pending termination signal when interruptible, stop_when, the
  // timeout), which kills the child's group and is reported in Captured.
  // Call once. Fails only when ppoll itself fails.
  SysResult<Captured> run();

  // Thread-safe and async-signal-safe: makes the pump ask stop_when now.
  void wake() noexcept;

  [[nodiscard]] pid_t pid() const noexcept { return m_child.pid(); }

private:
  ChildPump(Child child, UniqueFd wake, CaptureLimits limits) noexcept
      : m_child(std::move(child)), m_wake(std::move(wake)), m_limits(std::move(limits)) {}
  // Hands a chunk read from stdout or stderr to the sink or the buffer.
  void deliver(bool is_out, std::string_view data, Captured& result);
  // read_pause: waits until `until`, a signal or wake().
  void pause(int signal_fd, std::chrono::steady_clock::time_point until) noexcept;

  Child m_child;
  UniqueFd m_wake; // eventfd written by wake()
  CaptureLimits m_limits;
};

// Starts a child and pumps it to the end (ChildPump).
SysResult<Captured> run_capture(const SpawnSpec& spec, const CaptureLimits& limits = {});

// The last line of `text` that is not blank (for one-line error messages).
[[nodiscard]] std::string last_line(const std::string& text);

// Why find_executable() found nothing it can run.
struct ExecutableProblem {
  enum class Kind { not_found, is_directory, not_executable };
  Kind kind = Kind::not_found;
  std::string path; // the file that is there but cannot be run; empty when not found
  // "not found", "/usr/lib/x is a directory, not a program", ...
  [[nodiscard]] std::string describe() const;
};

// Finds `name` on PATH (or checks it when it contains a slash): the path of
// an executable regular file. Empty PATH entries are skipped, not taken as
// the current directory: the tool runs as root, and a stray "::" must not
// run a program from wherever it was started. A PATH entry that holds
// `name` as a directory or a file without execute permission is passed
// over; when nothing else matches, the problem names it, so that the
// caller can tell "not found" from "not a program".
[[nodiscard]] std::expected<std::string, ExecutableProblem>
find_executable(const std::string& name);

} // namespace odbox::util
