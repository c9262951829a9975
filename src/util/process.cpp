#include "odbox/util/process.hpp"

#include "odbox/util/signals.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace odbox::util {
namespace {

using Clock = std::chrono::steady_clock;

ExitStatus decode_status(int raw) {
  ExitStatus status;
  if (WIFEXITED(raw)) {
    status.code = WEXITSTATUS(raw);
  } else if (WIFSIGNALED(raw)) {
    status.signal = WTERMSIG(raw);
  }
  return status;
}

// Builds the child's environment: ours, minus env_unset, with env_set applied.
std::vector<std::string> child_environment(const SpawnSpec& spec) {
  std::vector<std::string> env;
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    const std::string name = name_of(entry);
    const bool removed =
        std::ranges::find(spec.env_unset, name) != spec.env_unset.end() ||
        std::ranges::any_of(spec.env_set,
                            [&](const std::string& s) { return name_of(s) == name; });
    if (!removed) {
      env.push_back(std::move(entry));
    }
  }
  // A later env_set entry of the same name wins.
  for (auto it = spec.env_set.begin(); it != spec.env_set.end(); ++it) {
    const std::string name = name_of(*it);
    const bool overridden = std::any_of(std::next(it), spec.env_set.end(),
                                        [&](const std::string& s) { return name_of(s) == name; });
    if (!overridden) {
      env.push_back(*it);
    }
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

SysResult<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return std::unexpected(sys_error("pipe2"));
  }
  return std::pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// posix_spawn file actions and attributes, released on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

void append(std::string& buffer, const char* data, std::size_t size, std::size_t limit,
            bool keep_tail) {
  if (keep_tail) {
    buffer.append(data, size);
    if (buffer.size() > limit) {
      buffer.erase(0, buffer.size() - limit);
    }
  } else if (buffer.size() < limit) {
    buffer.append(data, std::min(size, limit - buffer.size()));
  }
}

} // namespace

std::string ExitStatus::describe() const {
  if (signal != 0) {
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) + " (" +
           (name != nullptr ? name : "?") + ")";
  }
  return "exited with status " + std::to_string(code);
}

Child::Child(Child&& other) noexcept
    : m_pid(std::exchange(other.m_pid, -1)), m_out(std::move(other.m_out)),
      m_err(std::move(other.m_err)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (running()) {
      terminate();
    }
    m_pid = std::exchange(other.m_pid, -1);
    m_out = std::move(other.m_out);
    m_err = std::move(other.m_err);
  }
  return *this;
}

Child::~Child() {
  if (running()) {
    terminate(std::chrono::seconds(5));
  }
}

ExitStatus Child::wait() {
  int raw = 0;
  while (::waitpid(m_pid, &raw, 0) < 0) {
    if (errno != EINTR) {
      m_pid = -1;
      return ExitStatus{};
    }
  }
  m_pid = -1;
  return decode_status(raw);
}

std::optional<ExitStatus> Child::try_wait() {
  int raw = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(m_pid, &raw, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) {
    return std::nullopt;
  }
  m_pid = -1;
  if (r < 0) {
    return ExitStatus{};
  }
  return decode_status(raw);
}

void Child::kill_group(int sig) noexcept {
  if (m_pid > 0) {
    ::kill(-m_pid, sig);
  }
}

ExitStatus Child::terminate(std::chrono::milliseconds grace) {
  kill_group(SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    if (auto status = try_wait()) {
      return *status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_group(SIGKILL);
  return wait();
}

SysResult<Child> spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) {
    errno = EINVAL;
    return std::unexpected(sys_error("posix_spawn", "(empty argv)"));
  }
  SpawnSetup setup;
  UniqueFd out_read;
  UniqueFd out_write;
  UniqueFd err_read;
  UniqueFd err_write;

  if (spec.stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&setup.actions, spec.stdin_fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (spec.stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&setup.actions, spec.stdout_fd, STDOUT_FILENO);
  } else if (spec.capture_stdout) {
    auto pipe = make_pipe();
    if (!pipe) {
      return std::unexpected(pipe.error());
    }
    out_read = std::move(pipe->first);
    out_write = std::move(pipe->second);
    posix_spawn_file_actions_adddup2(&setup.actions, out_write.get(), STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, "/dev/null", O_WRONLY,
                                     0);
  }
  if (spec.capture_stderr) {
    auto pipe = make_pipe();
    if (!pipe) {
      return std::unexpected(pipe.error());
    }
    err_read = std::move(pipe->first);
    err_write = std::move(pipe->second);
    posix_spawn_file_actions_adddup2(&setup.actions, err_write.get(), STDERR_FILENO);
  }

  if (!spec.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&setup.actions, spec.working_dir.c_str());
  }

  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t default_signals;
  sigfillset(&default_signals);
  posix_spawnattr_setsigmask(&setup.attr, &empty_mask);
  posix_spawnattr_setsigdefault(&setup.attr, &default_signals);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = child_environment(spec);
  auto argv_c = c_strings(argv);
  auto env_c = c_strings(env);

  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv_c[0], &setup.actions, &setup.attr,
                                argv_c.data(), env_c.data());
  if (rc != 0) {
    errno = rc;
    return std::unexpected(sys_error("posix_spawn", spec.argv[0]));
  }
  return Child(pid, std::move(out_read), std::move(err_read));
}

SysResult<Captured> run_capture(const SpawnSpec& spec, const CaptureLimits& limits) {
  auto child = spawn(spec);
  if (!child) {
    return std::unexpected(child.error());
  }
  Captured result;
  const auto deadline =
      limits.timeout ? Clock::now() + *limits.timeout : Clock::time_point::max();
  std::vector<char> buffer(64 * 1024);

  while (child->out().valid() || child->err().valid()) {
    if (const int sig = pending_signal(); sig != 0 && limits.interruptible) {
      result.interrupted_by = sig;
      break;
    }
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t count = 0;
    for (UniqueFd* fd : {&child->out(), &child->err()}) {
      if (fd->valid()) {
        fds[count++] = pollfd{fd->get(), POLLIN, 0};
      }
    }
    const int ready = ::poll(fds, count, 100);
    if (ready < 0 && errno != EINTR) {
      return std::unexpected(sys_error("poll"));
    }
    bool drained = ready > 0;
    for (nfds_t i = 0; ready > 0 && i < count; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      const bool is_out = child->out().valid() && fds[i].fd == child->out().get();
      UniqueFd& fd = is_out ? child->out() : child->err();
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n == static_cast<ssize_t>(buffer.size())) {
        drained = false;  // more may be waiting: no pause
      }
      if (n > 0) {
        const auto size = static_cast<std::size_t>(n);
        if (is_out && limits.on_stdout) {
          limits.on_stdout(std::string_view(buffer.data(), size));
        } else if (is_out) {
          append(result.out, buffer.data(), size, limits.max_out, false);
        } else {
          append(result.err, buffer.data(), size, limits.max_err, true);
        }
      } else if (n == 0 || errno != EINTR) {
        fd.reset();
        drained = false;  // end of output: no pause
      }
    }
    if (drained && limits.read_pause.count() > 0) {
      std::this_thread::sleep_for(limits.read_pause);
    }
  }
  if (result.interrupted_by != 0 || result.timed_out) {
    result.status = child->terminate(std::chrono::seconds(2));
    return result;
  }
  // Both pipes closed; the child may still run (it closed them itself).
  while (true) {
    if (auto status = child->try_wait()) {
      result.status = *status;
      break;
    }
    if (const int sig = pending_signal(); sig != 0 && limits.interruptible) {
      result.interrupted_by = sig;
      result.status = child->terminate(std::chrono::seconds(2));
      break;
    }
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      result.status = child->terminate(std::chrono::seconds(2));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return result;
}

std::string last_line(const std::string& text) {
  std::size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) {
    return {};
  }
  const std::size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

std::optional<std::string> find_executable(const std::string& name) {
  auto is_executable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
  };
  if (name.empty()) {
    return std::nullopt;
  }
  if (name.find('/') != std::string::npos) {
    return is_executable(name) ? std::optional(name) : std::nullopt;
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t next = std::min(path.find(':', pos), path.size());
    std::string dir = path.substr(pos, next - pos);
    if (dir.empty()) {
      dir = ".";
    }
    std::string candidate = dir + "/" + name;
    if (is_executable(candidate)) {
      return candidate;
    }
    pos = next + 1;
  }
  return std::nullopt;
}

} // namespace odbox::util
