#include "odbox/util/process.hpp"
#include "test_dir.hpp"

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace odbox::util;
namespace fs = std::filesystem;

namespace {

// Sets PATH and the working directory for one test, and puts them back.
class PathAndCwd {
public:
  PathAndCwd(const std::string& path, const fs::path& cwd)
      : m_path(std::getenv("PATH") != nullptr ? std::getenv("PATH") : ""),
        m_cwd(fs::current_path()) {
    ::setenv("PATH", path.c_str(), 1);
    fs::current_path(cwd);
  }
  ~PathAndCwd() {
    ::setenv("PATH", m_path.c_str(), 1);
    fs::current_path(m_cwd);
  }
  PathAndCwd(const PathAndCwd&) = delete;
  PathAndCwd& operator=(const PathAndCwd&) = delete;

private:
  std::string m_path;
  fs::path m_cwd;
};

void write_program(const fs::path& file) {
  odbox::test::write_text(file, "#!/bin/sh\necho ran\n");
  fs::permissions(file, fs::perms::owner_all);
}

} // namespace

TEST(Process, CapturesStdoutStderrAndExitCode) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  auto run = run_capture(spec);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->status.code, 3);
  EXPECT_EQ(run->out, "out\n");
  EXPECT_EQ(run->err, "err\n");
  EXPECT_EQ(run->status.describe(), "exited with status 3");
}

TEST(Process, StdinIsTheGivenDescriptorOrEmpty) {
  SpawnSpec spec;
  spec.argv = {"cat"};
  auto run = run_capture(spec);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->out, ""); // /dev/null: cat does not wait for a terminal

  FILE* input = std::tmpfile();
  ASSERT_NE(input, nullptr);
  std::fputs("a\nb\n", input);
  std::fflush(input);
  std::rewind(input);
  spec.stdin_fd = ::fileno(input);
  run = run_capture(spec);
  std::fclose(input);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->out, "a\nb\n");
}

TEST(Process, ReportsSignalDeath) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "kill -9 $$"};
  auto run = run_capture(spec);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->status.signal, SIGKILL);
  EXPECT_FALSE(run->status.success());
}

TEST(Process, EnvironmentIsSetAndUnset) {
  ::setenv("ODBOX_TEST_UNSET_ME", "x", 1);
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo \"$ODBOX_A-${ODBOX_TEST_UNSET_ME:-gone}\""};
  spec.env_set = {"ODBOX_A=1"};
  spec.env_unset = {"ODBOX_TEST_UNSET_ME"};
  auto run = run_capture(spec);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->out, "1-gone\n");
}

TEST(Process, MissingProgramIsASpawnError) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/program"};
  auto run = run_capture(spec);
  ASSERT_FALSE(run);
  EXPECT_NE(run.error().message().find("/nonexistent/program"), std::string::npos);

  spec.argv = {"odbox-no-such-program"};
  run = run_capture(spec);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().message(),
            "posix_spawn odbox-no-such-program: No such file or directory");
}

TEST(Process, SpawnSetupFailureNamesTheCall) {
  SpawnSpec spec;
  spec.argv = {"cat"};
  spec.stdin_fd = INT_MAX; // beyond any descriptor table: EBADF
  auto child = spawn(spec);
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error().call, "posix_spawn_file_actions_adddup2");
  EXPECT_EQ(child.error().err, EBADF);
  EXPECT_EQ(child.error().path, "cat");
}

TEST(Process, StdoutPipeSizeIsAsked) {
  SpawnSpec spec;
  spec.argv = {"true"};
  spec.stdout_pipe_size = 1U << 20U;
  auto child = spawn(spec);
  ASSERT_TRUE(child);
  EXPECT_EQ(::fcntl(child->out().get(), F_GETPIPE_SZ), 1 << 20);
  EXPECT_TRUE(child->wait().success());
}

TEST(Process, TerminateEndsTheGroupAtSigterm) {
  SpawnSpec spec;
  spec.argv = {"sleep", "60"};
  auto child = spawn(spec);
  ASSERT_TRUE(child);
  const ExitStatus status = child->terminate(std::chrono::seconds(60));
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_FALSE(child->running());
}

TEST(Process, TerminateKillsAChildThatIgnoresSigterm) {
  SpawnSpec spec;
  // The shell tells when TERM is ignored, so that no signal comes before.
  spec.argv = {"sh", "-c", "trap '' TERM; echo ready; exec sleep 60"};
  auto child = spawn(spec);
  ASSERT_TRUE(child);
  char ready[6] = {};
  ASSERT_EQ(::read(child->out().get(), ready, 6), 6);
  const ExitStatus status = child->terminate(std::chrono::milliseconds(100));
  EXPECT_EQ(status.signal, SIGKILL);
}

TEST(Process, LastLine) {
  EXPECT_EQ(last_line("a\nb\n\n"), "b");
  EXPECT_EQ(last_line("only"), "only");
  EXPECT_EQ(last_line("\n \n"), "");
}

// find_executable: one row per promise.
namespace {

struct LookupCase {
  const char* name;
  std::string path;   // PATH, with {dir} for the scratch directory
  std::string lookup; // the name looked up, with {dir}
  std::string found;  // the path found, with {dir}; empty when nothing
  ExecutableProblem::Kind kind = ExecutableProblem::Kind::not_found;
  std::string problem_path; // with {dir}
};

using Kind = ExecutableProblem::Kind;

class FindExecutableTest : public ::testing::TestWithParam<LookupCase> {};

std::string expand(std::string text, const fs::path& dir) {
  for (auto pos = text.find("{dir}"); pos != std::string::npos;
       pos = text.find("{dir}")) {
    text.replace(pos, 5, dir.string());
  }
  return text;
}

} // namespace

TEST_P(FindExecutableTest, Finds) {
  const LookupCase& row = GetParam();
  odbox::test::ScratchDir dir;
  // The working directory holds a program of each name; "bin" one too, and
  // "dirs" a directory and a plain file of the same names.
  write_program(dir.path() / "tool");
  write_program(dir.path() / "bin" / "tool");
  fs::create_directories(dir.path() / "dirs" / "tool");
  odbox::test::write_text(dir.path() / "dirs" / "plain", "");
  write_program(dir.path() / "bin" / "plain");
  odbox::test::write_text(dir.path() / "noexec" / "plain", "");
  PathAndCwd scope(expand(row.path, dir.path()), dir.path());

  auto found = find_executable(expand(row.lookup, dir.path()));
  if (row.found.empty()) {
    ASSERT_FALSE(found) << *found;
    EXPECT_EQ(found.error().kind, row.kind);
    EXPECT_EQ(found.error().path, expand(row.problem_path, dir.path()));
  } else {
    ASSERT_TRUE(found) << found.error().describe();
    EXPECT_EQ(*found, expand(row.found, dir.path()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Process, FindExecutableTest,
    ::testing::Values(
        LookupCase{"on_path", "/usr/bin:/bin", "sh", "/usr/bin/sh", Kind::not_found, ""},
        LookupCase{"absent", "/usr/bin:/bin", "odbox-no-such-program", "",
                   Kind::not_found, ""},
        LookupCase{"absolute", "", "/bin/sh", "/bin/sh", Kind::not_found, ""},
        LookupCase{"absolute_not_executable", "", "/etc/passwd", "", Kind::not_executable,
                   "/etc/passwd"},
        LookupCase{"absolute_directory", "", "{dir}/dirs/tool", "", Kind::is_directory,
                   "{dir}/dirs/tool"},
        LookupCase{"empty_entry_first_is_not_cwd", ":{dir}/bin", "tool", "{dir}/bin/tool",
                   Kind::not_found, ""},
        LookupCase{"empty_entry_between_is_not_cwd", "/nonexistent::/also-not", "tool",
                   "", Kind::not_found, ""},
        LookupCase{"empty_path_is_not_cwd", "", "tool", "", Kind::not_found, ""},
        LookupCase{"directory_passed_over", "{dir}/dirs:{dir}/bin", "tool",
                   "{dir}/bin/tool", Kind::not_found, ""},
        LookupCase{"only_a_directory", "{dir}/dirs", "tool", "", Kind::is_directory,
                   "{dir}/dirs/tool"},
        LookupCase{"not_executable_passed_over", "{dir}/noexec:{dir}/bin", "plain",
                   "{dir}/bin/plain", Kind::not_found, ""},
        LookupCase{"only_not_executable", "{dir}/noexec", "plain", "",
                   Kind::not_executable, "{dir}/noexec/plain"},
        LookupCase{"empty_name", "/usr/bin", "", "", Kind::not_found, ""}),
    [](const auto& row) { return std::string(row.param.name); });

TEST(Process, LookupProblemsSayWhich) {
  EXPECT_EQ((ExecutableProblem{}).describe(), "not found");
  EXPECT_EQ((ExecutableProblem{Kind::is_directory, "/usr/lib"}).describe(),
            "/usr/lib is a directory, not a program");
  EXPECT_EQ((ExecutableProblem{Kind::not_executable, "/etc/passwd"}).describe(),
            "/etc/passwd is not an executable file");
}

// spawn() looks a bare name up the same way: never in the working directory.
TEST(Process, SpawnDoesNotRunFromAnEmptyPathEntry) {
  odbox::test::ScratchDir dir;
  write_program(dir.path() / "odbox-cwd-tool");
  PathAndCwd scope("/usr/bin::/bin", dir.path());
  SpawnSpec spec;
  spec.argv = {"odbox-cwd-tool"};
  auto run = run_capture(spec);
  EXPECT_FALSE(run);
}
