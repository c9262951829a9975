#include "odbox/util/fd.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/signals.hpp"
#include "thread_probe.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace odbox::util;
using Clock = std::chrono::steady_clock;

namespace {

std::string numbers(int count) {
  std::string text;
  for (int i = 1; i <= count; ++i) {
    text += std::to_string(i) + "\n";
  }
  return text;
}

// Installs the termination handlers and forgets any signal at the end.
class SignalScope {
public:
  SignalScope() { EXPECT_TRUE(install_termination_handlers()); }
  ~SignalScope() { clear_pending_signal(); }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
};

} // namespace

TEST(ChildPump, SinkGetsEveryByteInOrder) {
  SpawnSpec spec;
  spec.argv = {"seq", "1", "200000"};
  CaptureLimits limits;
  limits.read_buffer = 4096; // many chunks, cut anywhere
  std::string seen;
  std::size_t largest = 0;
  limits.on_stdout = [&](std::string_view chunk) {
    seen.append(chunk);
    largest = std::max(largest, chunk.size());
  };
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->status.success());
  EXPECT_TRUE(seen == numbers(200000));
  EXPECT_LE(largest, 4096U);
  EXPECT_EQ(run->out, ""); // the sink has it all
}

TEST(ChildPump, StdoutIsKeptToItsLimit) {
  SpawnSpec spec;
  spec.argv = {"seq", "1", "1000"};
  CaptureLimits limits;
  limits.max_out = 10;
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->out, numbers(1000).substr(0, 10));
}

TEST(ChildPump, StderrKeepsItsLastBytes) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "seq 1 2000 >&2"};
  CaptureLimits limits;
  limits.max_err = 100;
  limits.read_buffer = 64; // the tail is cut from many reads
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  const std::string all = numbers(2000);
  EXPECT_EQ(run->err, all.substr(all.size() - 100));
}

TEST(ChildPump, StopWhenStopsTheChildOnWake) {
  SpawnSpec spec;
  spec.argv = {"sleep", "60"};
  std::atomic<bool> stop{false};
  CaptureLimits limits;
  limits.stop_when = [&] { return stop.load(); };
  auto pump = ChildPump::start(spec, limits);
  ASSERT_TRUE(pump);
  std::atomic<pid_t> tid{0};
  SysResult<Captured> run = Captured{};
  std::thread thread([&] {
    tid.store(::gettid());
    run = pump->run();
  });
  while (tid.load() == 0) {
    std::this_thread::yield();
  }
  // The pump waits on a silent child: only wake() can end that wait before
  // the child's own end, which would leave `stopped` false.
  const bool waiting = odbox::test::wait_for_syscall(tid.load(), SYS_ppoll);
  stop.store(true);
  pump->wake();
  thread.join();
  EXPECT_TRUE(waiting);
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->stopped);
  EXPECT_EQ(run->status.signal, SIGTERM);
}

TEST(ChildPump, StopWhenAskedAfterEachChunk) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo first; exec sleep 60"};
  bool stop = false;
  std::string seen;
  CaptureLimits limits;
  limits.on_stdout = [&](std::string_view chunk) {
    seen.append(chunk);
    stop = true; // e.g. the sink could not write
  };
  limits.stop_when = [&] { return stop; };
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->stopped);
  EXPECT_EQ(seen, "first\n");
  EXPECT_EQ(run->status.signal, SIGTERM);
}

// One process-directed SIGTERM, taken by a single thread, ends every pump
// at once, each in its own thread, each waiting on a silent child.
TEST(ChildPump, PendingSignalWakesEveryPump) {
  SignalScope signals;
  constexpr int k_pumps = 3;
  std::vector<std::thread> threads;
  std::vector<SysResult<Captured>> runs(k_pumps, Captured{});
  std::vector<std::atomic<pid_t>> tids(k_pumps);
  const auto start = Clock::now();
  for (int i = 0; i < k_pumps; ++i) {
    threads.emplace_back([&, i] {
      tids[static_cast<std::size_t>(i)].store(::gettid());
      SpawnSpec spec;
      spec.argv = {"sleep", "60"};
      runs[static_cast<std::size_t>(i)] = run_capture(spec);
    });
  }
  bool all_waiting = true;
  for (auto& tid : tids) {
    while (tid.load() == 0) {
      std::this_thread::yield();
    }
    all_waiting = odbox::test::wait_for_syscall(tid.load(), SYS_ppoll) && all_waiting;
  }
  ::kill(::getpid(), SIGTERM);
  for (auto& thread : threads) {
    thread.join();
  }
  const auto elapsed = Clock::now() - start;
  EXPECT_TRUE(all_waiting);
  for (const auto& run : runs) {
    ASSERT_TRUE(run);
    EXPECT_EQ(run->interrupted_by, SIGTERM);
    EXPECT_EQ(run->status.signal, SIGTERM);
  }
  // Woken by the signal, not by the children's end 60 s later.
  EXPECT_LT(elapsed, std::chrono::seconds(30));
}

TEST(ChildPump, PendingSignalStopsBeforeTheFirstRead) {
  SignalScope signals;
  ::raise(SIGTERM);
  SpawnSpec spec;
  spec.argv = {"sleep", "60"};
  auto run = run_capture(spec);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->interrupted_by, SIGTERM);
}

TEST(ChildPump, NotInterruptibleRunsToItsEnd) {
  SignalScope signals;
  ::raise(SIGTERM);
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "sleep 0.2; echo done"};
  CaptureLimits limits;
  limits.interruptible = false;
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->interrupted_by, 0);
  EXPECT_EQ(run->out, "done\n");
  EXPECT_TRUE(run->status.success());
}

TEST(ChildPump, TimeoutKillsTheChild) {
  SpawnSpec spec;
  spec.argv = {"sleep", "60"};
  auto run = run_capture(spec, {.timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->timed_out);
  EXPECT_EQ(run->status.signal, SIGTERM);
}

TEST(ChildPump, TimeoutAppliesAfterThePipesClose) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "exec >&- 2>&-; exec sleep 60"};
  auto run = run_capture(spec, {.timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->timed_out);
  EXPECT_EQ(run->status.signal, SIGTERM);
}

// The child closes its pipes and goes on: the pump waits for its end on
// the pidfd and reports its own exit code.
TEST(ChildPump, ReapsAfterThePipesCloseWhileTheChildLingers) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo bye; exec >&- 2>&-; sleep 0.3; exit 7"};
  auto run = run_capture(spec);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->out, "bye\n");
  EXPECT_EQ(run->status.code, 7);
  EXPECT_FALSE(run->timed_out);
}

// The child ends while a process it started still writes to the pipe: the
// pump reads on until the pipe closes.
TEST(ChildPump, ReadsOnAfterTheChildEnds) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "(sleep 0.3; echo late) & exit 3"};
  auto run = run_capture(spec);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->out, "late\n");
  EXPECT_EQ(run->status.code, 3);
}

// After a read that drained the pipe the pump waits read_pause before it
// reads again. The child writes each line only once the sink has the one
// before, so each chunk holds one line and every gap includes a pause.
TEST(ChildPump, ReadPauseSpacesTheReads) {
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  UniqueFd to_child_read(ends[0]);
  UniqueFd to_child(ends[1]);
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo a; read x; echo b; read x; echo c"};
  spec.stdin_fd = to_child_read.get();
  CaptureLimits limits;
  limits.read_pause = std::chrono::milliseconds(50);
  std::vector<std::string> chunks;
  std::vector<Clock::time_point> times;
  limits.on_stdout = [&](std::string_view chunk) {
    times.push_back(Clock::now());
    chunks.emplace_back(chunk);
    EXPECT_TRUE(write_all(to_child.get(), "go\n", 3));
  };
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->status.success());
  EXPECT_EQ(chunks, (std::vector<std::string>{"a\n", "b\n", "c\n"}));
  for (std::size_t i = 1; i < times.size(); ++i) {
    EXPECT_GE(times[i] - times[i - 1], limits.read_pause)
        << "between chunks " << i - 1 << " and " << i;
  }
}

TEST(ChildPump, ReadPauseLosesNothing) {
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "i=1; while [ $i -le 2000 ]; do echo $i; i=$((i+1)); done"};
  CaptureLimits limits;
  limits.read_pause = std::chrono::milliseconds(2);
  std::string seen;
  limits.on_stdout = [&](std::string_view chunk) { seen.append(chunk); };
  auto run = run_capture(spec, limits);
  ASSERT_TRUE(run);
  EXPECT_TRUE(seen == numbers(2000));
}
