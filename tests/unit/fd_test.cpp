#include "odbox/util/fd.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <pthread.h>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

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

void ignore_signal(int /*signo*/) {}

} // namespace

TEST(WriteAll, WritesEveryByte) {
  UniqueFd fd(::memfd_create("odbox-test", MFD_CLOEXEC));
  ASSERT_TRUE(fd);
  const std::string data = pattern(3 * 1024 * 1024 + 17);
  ASSERT_TRUE(write_all(fd.get(), data.data(), data.size()));
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  EXPECT_EQ(read_all(fd.get()), data);
}

// A signal caught while a write to a pipe waits for room makes it return
// what it wrote so far: write_all goes on from there.
TEST(WriteAll, GoesOnAfterShortWrites) {
  struct sigaction action {};
  struct sigaction old {};
  action.sa_handler = ignore_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; // no SA_RESTART: the write returns early
  ASSERT_EQ(::sigaction(SIGUSR1, &action, &old), 0);

  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  const std::string data = pattern(4 * 1024 * 1024);
  const pthread_t writer = ::pthread_self();
  std::string received;
  std::thread reader([&] {
    for (int i = 0; i < 5; ++i) { // the pipe is full and the writer waits
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ::pthread_kill(writer, SIGUSR1);
    }
    received = read_all(read_end.get());
  });
  const bool ok = write_all(write_end.get(), data.data(), data.size());
  write_end.reset();
  reader.join();
  ::sigaction(SIGUSR1, &old, nullptr);
  EXPECT_TRUE(ok);
  EXPECT_EQ(received.size(), data.size());
  EXPECT_TRUE(received == data);
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
