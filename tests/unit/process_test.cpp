#include "odbox/util/process.hpp"
#include "odbox/util/signals.hpp"

#include <csignal>
#include <cstdio>
#include <gtest/gtest.h>

using namespace odbox::util;

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
  EXPECT_EQ(run->out, "");  // /dev/null: cat does not wait for a terminal

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

TEST(Process, ReadPauseBatchesShortWritesAndLosesNothing) {
  // 2000 lines, one write each: read as they come, most reads would hold a
  // line or two; with the pause the pipe collects many between reads.
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo \"line $i\"; i=$((i+1)); done"};
  CaptureLimits limits;
  limits.read_pause = std::chrono::milliseconds(20);
  std::string seen;
  int reads = 0;
  limits.on_stdout = [&](std::string_view chunk) {
    seen.append(chunk);
    ++reads;
  };
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->status.success());
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    expected += "line " + std::to_string(i) + "\n";
  }
  EXPECT_EQ(seen, expected);
  EXPECT_LT(reads, 200);
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

TEST(Process, TimeoutKillsTheChild) {
  SpawnSpec spec;
  spec.argv = {"sleep", "30"};
  CaptureLimits limits;
  limits.timeout = std::chrono::milliseconds(200);
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->timed_out);
  EXPECT_EQ(run->status.signal, SIGTERM);
}

TEST(Process, StderrKeepsTheTail) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); done"};
  CaptureLimits limits;
  limits.max_err = 100;
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_LE(run->err.size(), 100U);
  EXPECT_EQ(last_line(run->err), "line1999");
}

TEST(Process, MissingProgramIsASpawnError) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/program"};
  auto run = run_capture(spec);
  ASSERT_FALSE(run);
  EXPECT_NE(run.error().message().find("/nonexistent/program"), std::string::npos);
}

TEST(Process, PendingSignalInterruptsTheChild) {
  ASSERT_TRUE(install_termination_handlers());
  ::raise(SIGTERM);
  SpawnSpec spec;
  spec.argv = {"sleep", "30"};
  auto run = run_capture(spec);
  const int seen = pending_signal();
  clear_pending_signal();
  ASSERT_TRUE(run);
  EXPECT_EQ(seen, SIGTERM);
  EXPECT_EQ(run->interrupted_by, SIGTERM);
}

TEST(Process, FindExecutable) {
  EXPECT_TRUE(find_executable("sh"));
  EXPECT_FALSE(find_executable("odbox-no-such-program"));
  EXPECT_EQ(find_executable("/bin/sh"), std::optional<std::string>("/bin/sh"));
  EXPECT_FALSE(find_executable("/etc/passwd"));
}

TEST(Process, LastLine) {
  EXPECT_EQ(last_line("a\nb\n\n"), "b");
  EXPECT_EQ(last_line("only"), "only");
  EXPECT_EQ(last_line("\n \n"), "");
}
