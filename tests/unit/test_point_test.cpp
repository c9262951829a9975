#include "odbox/util/test_point.hpp"
#include "test_dir.hpp"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

constexpr const char* k_probe_variable = "ODBOX_TEST_POINT_PROBE";

void append(const char* file, const char* text) {
  const int fd = ::open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)!::write(fd, text, 1);
    ::close(fd);
  }
}

// The child's side: passes a point that is not named, then the named one
// twice, writing a letter after each.
[[noreturn]] void run_probe(const char* file) {
  odbox::util::test_point("unit.other");
  append(file, "a");
  odbox::util::test_point("unit.point");
  append(file, "b");
  odbox::util::test_point("unit.point");
  append(file, "c");
  ::_exit(0);
}

// This test binary, run again for one test with `extra` added to the
// environment: a fresh process, whose test points have not read it yet.
pid_t spawn_self(const std::string& test, const std::vector<std::string>& extra) {
  std::vector<std::string> env(extra);
  for (char** e = environ; *e != nullptr; ++e) {
    env.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& entry : env) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);
  std::string program = "/proc/self/exe";
  std::string filter = "--gtest_filter=" + test;
  char* argv[] = {program.data(), filter.data(), nullptr};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execve(program.c_str(), argv, envp.data());
    ::_exit(127);
  }
  return pid;
}

// Kills and reaps the child unless the test reaped it.
struct Reaper {
  pid_t pid;
  bool reaped = false;
  ~Reaper() {
    if (pid > 0 && !reaped) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

} // namespace

TEST(TestPoint, StopsTheProcessOnceAtTheNamedPointOnly) {
  if (const char* probe = std::getenv(k_probe_variable)) {
    run_probe(probe);
  }
  odbox::test::ScratchDir dir;
  const auto probe = dir.path() / "probe";
  const pid_t pid =
      spawn_self("TestPoint.StopsTheProcessOnceAtTheNamedPointOnly",
                 {std::string(k_probe_variable) + "=" + probe.string(),
                  std::string(odbox::util::k_stop_at_variable) + "=unit.point"});
  ASSERT_GT(pid, 0);
  Reaper reaper{pid};
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, WUNTRACED), pid);
  ASSERT_TRUE(WIFSTOPPED(status)) << "status " << status;
  EXPECT_EQ(WSTOPSIG(status), SIGSTOP);
  EXPECT_EQ(odbox::test::read_text(probe), "a"); // stopped at the first pass, not before
  ::kill(pid, SIGCONT);
  ASSERT_EQ(::waitpid(pid, &status, WUNTRACED), pid);
  ASSERT_FALSE(WIFSTOPPED(status)) << "stopped a second time";
  reaper.reaped = true;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_EQ(odbox::test::read_text(probe), "abc");
}
