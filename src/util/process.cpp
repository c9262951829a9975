#include "odbox/util/process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace odbox::util {
namespace {

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
  auto name_of = [](const std::string& entry) {
    return entry.substr(0, entry.find('='));
  };
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
    const bool overridden =
        std::any_of(std::next(it), spec.env_set.end(),
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

// A posix_spawn_* call's result (an errno value, not -1) as a SysResult.
SysResult<void> spawn_call(int rc, const char* call, const std::string& program) {
  if (rc != 0) {
    return std::unexpected(SysError{call, program, rc});
  }
  return {};
}

// posix_spawn file actions and attributes, released on every path.
class SpawnSetup {
public:
  SpawnSetup() = default;
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  ~SpawnSetup() {
    if (m_actions_ready) {
      posix_spawn_file_actions_destroy(&actions);
    }
    if (m_attr_ready) {
      posix_spawnattr_destroy(&attr);
    }
  }
  SysResult<void> init(const std::string& program) {
    auto ok = spawn_call(posix_spawn_file_actions_init(&actions),
                         "posix_spawn_file_actions_init", program);
    m_actions_ready = ok.has_value();
    if (ok) {
      ok = spawn_call(posix_spawnattr_init(&attr), "posix_spawnattr_init", program);
      m_attr_ready = ok.has_value();
    }
    return ok;
  }

  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};

private:
  bool m_actions_ready = false;
  bool m_attr_ready = false;
};

// The child's stdin, stdout and stderr; the parent's ends of the pipes.
struct ChildStdio {
  UniqueFd out_read;
  UniqueFd out_write;
  UniqueFd err_read;
  UniqueFd err_write;
};

SysResult<void> add_dup2(SpawnSetup& setup, int fd, int target,
                         const std::string& program) {
  return spawn_call(posix_spawn_file_actions_adddup2(&setup.actions, fd, target),
                    "posix_spawn_file_actions_adddup2", program);
}

SysResult<void> add_dev_null(SpawnSetup& setup, int target, int flags,
                             const std::string& program) {
  return spawn_call(
      posix_spawn_file_actions_addopen(&setup.actions, target, "/dev/null", flags, 0),
      "posix_spawn_file_actions_addopen", program);
}

SysResult<void> add_pipe(SpawnSetup& setup, int target, UniqueFd& read_end,
                         UniqueFd& write_end, const std::string& program) {
  auto pipe = make_pipe();
  if (!pipe) {
    return std::unexpected(pipe.error());
  }
  read_end = std::move(pipe->first);
  write_end = std::move(pipe->second);
  return add_dup2(setup, write_end.get(), target, program);
}

SysResult<void> set_up_stdio(const SpawnSpec& spec, const std::string& program,
                             SpawnSetup& setup, ChildStdio& stdio) {
  auto ok = spec.stdin_fd >= 0 ? add_dup2(setup, spec.stdin_fd, STDIN_FILENO, program)
                               : add_dev_null(setup, STDIN_FILENO, O_RDONLY, program);
  if (ok && spec.stdout_fd >= 0) {
    ok = add_dup2(setup, spec.stdout_fd, STDOUT_FILENO, program);
  } else if (ok && spec.capture_stdout) {
    ok = add_pipe(setup, STDOUT_FILENO, stdio.out_read, stdio.out_write, program);
    if (ok && spec.stdout_pipe_size > 0) {
      // Best effort: a smaller pipe only means more wake-ups.
      ::fcntl(stdio.out_read.get(), F_SETPIPE_SZ,
              static_cast<int>(spec.stdout_pipe_size));
    }
  } else if (ok) {
    ok = add_dev_null(setup, STDOUT_FILENO, O_WRONLY, program);
  }
  if (ok && spec.capture_stderr) {
    ok = add_pipe(setup, STDERR_FILENO, stdio.err_read, stdio.err_write, program);
  }
  if (ok && !spec.working_dir.empty()) {
    ok = spawn_call(
        posix_spawn_file_actions_addchdir_np(&setup.actions, spec.working_dir.c_str()),
        "posix_spawn_file_actions_addchdir_np", program);
  }
  return ok;
}

SysResult<void> set_up_attributes(SpawnSetup& setup, const std::string& program) {
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t default_signals;
  sigfillset(&default_signals);
  auto ok = spawn_call(posix_spawnattr_setsigmask(&setup.attr, &empty_mask),
                       "posix_spawnattr_setsigmask", program);
  if (ok) {
    ok = spawn_call(posix_spawnattr_setsigdefault(&setup.attr, &default_signals),
                    "posix_spawnattr_setsigdefault", program);
  }
  if (ok) {
    ok = spawn_call(posix_spawnattr_setpgroup(&setup.attr, 0),
                    "posix_spawnattr_setpgroup", program);
  }
  if (ok) {
    const auto flags =
        POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP;
    ok = spawn_call(posix_spawnattr_setflags(&setup.attr, static_cast<short>(flags)),
                    "posix_spawnattr_setflags", program);
  }
  return ok;
}

// The program to exec: argv[0] as given when it has a slash, else found on
// PATH by find_executable (posix_spawnp would take an empty entry as ".").
SysResult<std::string> program_path(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  auto found = find_executable(name);
  if (!found) {
    const bool absent = found.error().kind == ExecutableProblem::Kind::not_found;
    return std::unexpected(SysError{"posix_spawn", name, absent ? ENOENT : EACCES});
  }
  return *found;
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
    : m_pid(std::exchange(other.m_pid, -1)), m_pidfd(std::move(other.m_pidfd)),
      m_out(std::move(other.m_out)), m_err(std::move(other.m_err)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (running()) {
      terminate();
    }
    m_pid = std::exchange(other.m_pid, -1);
    m_pidfd = std::move(other.m_pidfd);
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
      m_pidfd.reset();
      return ExitStatus{};
    }
  }
  m_pid = -1;
  m_pidfd.reset();
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
  m_pidfd.reset();
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
  if (!running()) {
    return ExitStatus{};
  }
  kill_group(SIGTERM);
  pollfd ended{m_pidfd.get(), POLLIN, 0};
  // A failed ppoll (it cannot fail on one valid descriptor) cuts the grace
  // period short: SIGKILL and the blocking reap still end the child.
  auto ready = poll_until({&ended, 1}, std::chrono::steady_clock::now() + grace);
  if (!ready || *ready == 0) {
    kill_group(SIGKILL);
  }
  return wait();
}

SysResult<Child> spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) {
    return std::unexpected(SysError{"posix_spawn", "(empty argv)", EINVAL});
  }
  const std::string& name = spec.argv[0];
  auto program = program_path(name);
  if (!program) {
    return std::unexpected(program.error());
  }
  SpawnSetup setup;
  ChildStdio stdio;
  if (auto ok = setup.init(name); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = set_up_stdio(spec, name, setup, stdio); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = set_up_attributes(setup, name); !ok) {
    return std::unexpected(ok.error());
  }
  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = child_environment(spec);
  auto argv_c = c_strings(argv);
  auto env_c = c_strings(env);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program->c_str(), &setup.actions, &setup.attr,
                               argv_c.data(), env_c.data());
  if (rc != 0) {
    return std::unexpected(SysError{"posix_spawn", name, rc});
  }
  // The pid cannot be reused before we reap it, so opening its pidfd after
  // the spawn is safe even if the child has already exited.
  // Through syscall(2): glibc 2.36's <sys/pidfd.h> lacks extern "C".
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)));
  if (!pidfd) {
    SysError error = sys_error("pidfd_open", name);
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return std::unexpected(std::move(error));
  }
  return Child(pid, std::move(pidfd), std::move(stdio.out_read),
               std::move(stdio.err_read));
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

} // namespace odbox::util
