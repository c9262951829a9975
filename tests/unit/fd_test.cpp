#include "odbox/util/fd.hpp"
#include "test_dir.hpp"
#include "thread_probe.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <pthread.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

using odbox::util::poll_until;
using odbox::util::UniqueFd;
using odbox::util::write_all;

namespace {

std::string pattern(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  }
  return data;
}

std::string read_all(int fd) {
  std::string out;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return out;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

std::atomic<int> g_caught{0};

// Waits until `done()`; false after 30 s (a failure of the code under test).
template <typename Done> bool wait_until(Done done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

void count_signal(int /*signo*/) {
  g_caught.fetch_add(1);
}

// SIGUSR1 counted by count_signal, without SA_RESTART, for one test.
class CountedSignal {
public:
  CountedSignal() {
    g_caught.store(0);
    struct sigaction action {};
    action.sa_handler = count_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; // no SA_RESTART: the call returns early
    ::sigaction(SIGUSR1, &action, &m_old);
  }
  ~CountedSignal() { ::sigaction(SIGUSR1, &m_old, nullptr); }
  CountedSignal(const CountedSignal&) = delete;
  CountedSignal& operator=(const CountedSignal&) = delete;

  // Signals `thread` and waits until the handler has run (the interrupted
  // call has returned by then); false if it never ran.
  static bool interrupt(pthread_t thread) {
    const int before = g_caught.load();
    ::pthread_kill(thread, SIGUSR1);
    return wait_until([&] { return g_caught.load() != before; });
  }

private:
  struct sigaction m_old {};
};

int bytes_in_pipe(int fd) {
  int n = 0;
  ::ioctl(fd, FIONREAD, &n);
  return n;
}

} // namespace

TEST(WriteAll, WritesEveryByte) {
  UniqueFd fd(::memfd_create("odbox-test", MFD_CLOEXEC));
  ASSERT_TRUE(fd);
  const std::string data = pattern(3 * 1024 * 1024 + 17);
  ASSERT_TRUE(write_all(fd.get(), data.data(), data.size()));
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  EXPECT_EQ(read_all(fd.get()), data);
}

// A signal caught while a write to a full pipe has written part of its
// bytes makes it return that short count; one caught before it wrote any
// makes it fail with EINTR. write_all goes on after both. The reader opens
// each window before it signals: the pipe full during the first write, then
// the writer back in write(2) after the first signal.
TEST(WriteAll, GoesOnAfterShortWritesAndEintr) {
  CountedSignal counted;
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  const int capacity = ::fcntl(write_end.get(), F_GETPIPE_SZ);
  const std::string data = pattern(4 * 1024 * 1024);
  const pthread_t writer = ::pthread_self();
  const pid_t writer_tid = ::gettid();
  std::string received;
  bool windows_opened = false;
  std::thread reader([&] {
    windows_opened =
        wait_until([&] { return bytes_in_pipe(read_end.get()) >= capacity; }) &&
        CountedSignal::interrupt(writer) && // the first write returns short
        odbox::test::wait_for_syscall(writer_tid, SYS_write) &&
        CountedSignal::interrupt(writer); // the next one, on a full pipe: EINTR
    received = read_all(read_end.get());
  });
  const bool ok = write_all(write_end.get(), data.data(), data.size());
  write_end.reset();
  reader.join();
  EXPECT_TRUE(windows_opened);
  EXPECT_EQ(g_caught.load(), 2);
  EXPECT_TRUE(ok);
  EXPECT_EQ(received.size(), data.size());
  EXPECT_TRUE(received == data);
}

TEST(PollUntil, ReadyDescriptorOrTheDeadline) {
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  pollfd fd{read_end.get(), POLLIN, 0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(50);
  auto ready = poll_until({&fd, 1}, deadline);
  ASSERT_TRUE(ready);
  EXPECT_EQ(*ready, 0);
  EXPECT_GE(std::chrono::steady_clock::now(), deadline); // never before it
  ASSERT_EQ(::write(write_end.get(), "x", 1), 1);
  ready = poll_until({&fd, 1}, odbox::util::k_no_deadline);
  ASSERT_TRUE(ready);
  EXPECT_EQ(*ready, 1);
  EXPECT_EQ(fd.revents & POLLIN, POLLIN);
}

// A signal that interrupts the wait does not end it.
TEST(PollUntil, GoesOnAfterEintr) {
  CountedSignal counted;
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  std::atomic<pid_t> waiter_tid{0};
  odbox::util::SysResult<int> ready = 0;
  std::thread waiter([&] {
    waiter_tid.store(::gettid());
    pollfd fd{read_end.get(), POLLIN, 0};
    ready = poll_until({&fd, 1}, odbox::util::k_no_deadline);
  });
  const bool windows_opened =
      wait_until([&] { return waiter_tid.load() != 0; }) &&
      odbox::test::wait_for_syscall(waiter_tid.load(), SYS_ppoll) &&
      CountedSignal::interrupt(waiter.native_handle()) &&
      odbox::test::wait_for_syscall(waiter_tid.load(), SYS_ppoll); // waiting again
  EXPECT_EQ(::write(write_end.get(), "x", 1), 1);
  waiter.join();
  EXPECT_TRUE(windows_opened);
  ASSERT_TRUE(ready) << ready.error().message();
  EXPECT_EQ(*ready, 1);
}

TEST(WriteAll, FailureLeavesErrno) {
  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full);
  const std::string data = pattern(1000);
  errno = 0;
  EXPECT_FALSE(write_all(full.get(), data.data(), data.size()));
  EXPECT_EQ(errno, ENOSPC);

  UniqueFd read_only(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(read_only);
  errno = 0;
  EXPECT_FALSE(write_all(read_only.get(), data.data(), data.size()));
  EXPECT_EQ(errno, EBADF);
}

// A disk that fills up halfway through a record, as RLIMIT_FSIZE cuts the
// write short: the partial record is taken back, the next one appends whole.
TEST(AppendWhole, ShortWriteLeavesNoTornRecord) {
  const odbox::test::ScratchDir dir;
  const auto file = dir.path() / "runs.jsonl";
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd);
  const std::string record(64, 'r');
  ASSERT_TRUE(odbox::util::append_whole(fd.get(), record + "\n", file.string()));

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &previous), 0);
  rlimit limit = saved;
  limit.rlim_cur = 100; // the second record's first 35 bytes fit
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  const auto cut = odbox::util::append_whole(fd.get(), record + "\n", file.string());
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &previous, nullptr), 0);

  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().err, ENOSPC);
  EXPECT_EQ(cut.error().path, file.string());
  EXPECT_EQ(std::filesystem::file_size(file), record.size() + 1);
  ASSERT_TRUE(odbox::util::append_whole(fd.get(), record + "\n", file.string()));
  EXPECT_EQ(std::filesystem::file_size(file), 2 * (record.size() + 1));
}
