#include "odbox/core/errors.hpp"
#include "odbox/core/session_purge.hpp"
#include "odbox/util/signals.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using odbox::core::purge_sessions;
using odbox::core::PurgeOptions;
using odbox::core::PurgeResult;

namespace {

void write_file(const fs::path& path, std::size_t size) {
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(out) << path;
  out << std::string(size, 'x');
}

std::string read_file(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    return "<" + ec.message() + ">";
  }
  std::string text(size, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(text.data(), static_cast<std::streamsize>(size));
  return text;
}

std::string hex40(unsigned n) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out(40, '0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = k_hex[(n * 2654435761u + i * 40503u) % 16];
  }
  out.replace(0, 8, std::to_string(10000000 + n).substr(0, 8)); // unique prefix
  return out;
}

// Regular files below `dir` (symlinks not followed).
std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && !entry.is_symlink()) {
      ++n;
    }
  }
  return n;
}

void set_mtime(const fs::path& path, std::chrono::seconds age) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  timespec times[2] = {now, now};
  times[1].tv_sec -= static_cast<time_t>(age.count());
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// Unmounts (lazily) on destruction.
class Mounted {
public:
  explicit Mounted(fs::path target) : m_target(std::move(target)) {}
  Mounted(const Mounted&) = delete;
  Mounted& operator=(const Mounted&) = delete;
  ~Mounted() { ::umount2(m_target.c_str(), MNT_DETACH); }

private:
  fs::path m_target;
};

// Every test runs with one unlinking thread and with four.
class SessionPurgeTest : public ::testing::TestWithParam<std::size_t> {
protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "odbox-purge-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    m_tmp = templ;
    m_sessions = m_tmp / "sessions";
    fs::create_directory(m_sessions);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(m_tmp, ec);
  }

  [[nodiscard]] PurgeOptions
  options(const fs::path& dir,
          std::optional<std::chrono::seconds> keep_newer = {}) const {
    PurgeOptions out{dir, keep_newer};
    out.threads = GetParam();
    return out;
  }
  [[nodiscard]] PurgeResult
  purge(std::optional<std::chrono::seconds> keep_newer = {}) const {
    return purge_sessions(options(m_sessions, keep_newer));
  }

  fs::path m_tmp;
  fs::path m_sessions;
};

TEST_P(SessionPurgeTest, FlatLayoutRemovesEveryFileAndCountsBytes) {
  fs::create_directory(m_tmp / "filestore");
  write_file(m_tmp / "filestore" / "keep", 10);
  std::uint64_t bytes = 0;
  for (unsigned i = 0; i < 300; ++i) {
    write_file(m_sessions / ("werkzeug_" + hex40(i) + ".sess"), 150 + i);
    bytes += 150 + i;
  }
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 300u);
  EXPECT_EQ(r.bytes_removed, bytes);
  EXPECT_EQ(r.files_kept, 0u);
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.dirs_visited, 1u);
  EXPECT_TRUE(fs::is_directory(m_sessions));
  EXPECT_TRUE(fs::is_empty(m_sessions));
  EXPECT_EQ(read_file(m_tmp / "filestore" / "keep"), std::string(10, 'x'));
}

TEST_P(SessionPurgeTest, ShardedLayoutEmptiesShardsAndKeepsThem) {
  std::uint64_t bytes = 0;
  for (unsigned s = 0; s < 16; ++s) {
    const fs::path shard = m_sessions / hex40(s).substr(0, 2).append(std::to_string(s));
    fs::create_directory(shard);
    for (unsigned i = 0; i < 20; ++i) {
      write_file(shard / hex40(s * 100 + i), 200);
      bytes += 200;
    }
  }
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 320u);
  EXPECT_EQ(r.bytes_removed, bytes);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.dirs_visited, 17u);
  EXPECT_EQ(count_files(m_sessions), 0u);
  EXPECT_EQ(std::distance(fs::directory_iterator(m_sessions), fs::directory_iterator()),
            16);
}

TEST_P(SessionPurgeTest, MixedLayoutWithTempAndStashFiles) {
  write_file(m_sessions / ("werkzeug_" + hex40(1) + ".sess"), 100);
  write_file(m_sessions / ("werkzeug_" + hex40(2) + ".sess"), 100);
  write_file(m_sessions / "tmpab12cd.__wz_sess", 7);
  write_file(m_sessions / ("werkzeug_" + hex40(3) + "_0f8e2c1a.file"), 3);
  fs::create_directory(m_sessions / "ab");
  write_file(m_sessions / "ab" / hex40(4), 50);
  write_file(m_sessions / "ab" / "tmpzz.__wz_sess", 0);
  fs::create_directories(m_sessions / "cd" / "nested");
  write_file(m_sessions / "cd" / "nested" / "x", 1);
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 7u);
  EXPECT_EQ(r.bytes_removed, 100u + 100 + 7 + 3 + 50 + 0 + 1);
  EXPECT_EQ(r.dirs_visited, 4u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(count_files(m_sessions), 0u);
  EXPECT_TRUE(fs::is_directory(m_sessions / "cd" / "nested"));
}

TEST_P(SessionPurgeTest, KeepNewerKeepsRecentFiles) {
  using namespace std::chrono_literals;
  fs::create_directory(m_sessions / "ab");
  for (unsigned i = 0; i < 10; ++i) {
    const fs::path old_flat = m_sessions / ("old" + std::to_string(i));
    const fs::path new_flat = m_sessions / ("new" + std::to_string(i));
    const fs::path old_shard = m_sessions / "ab" / ("old" + std::to_string(i));
    const fs::path new_shard = m_sessions / "ab" / ("new" + std::to_string(i));
    for (const auto& p : {old_flat, new_flat, old_shard, new_shard}) {
      write_file(p, 10);
    }
    set_mtime(old_flat, 8 * 24h);
    set_mtime(old_shard, 30 * 24h);
    set_mtime(new_flat, 24h);
    set_mtime(new_shard, 0s);
  }
  const PurgeResult r = purge(std::chrono::seconds(7 * 24h));
  EXPECT_EQ(r.files_removed, 20u);
  EXPECT_EQ(r.bytes_removed, 200u);
  EXPECT_EQ(r.files_kept, 20u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_TRUE(fs::exists(m_sessions / "new3"));
  EXPECT_TRUE(fs::exists(m_sessions / "ab" / "new3"));
  EXPECT_FALSE(fs::exists(m_sessions / "old3"));
  EXPECT_FALSE(fs::exists(m_sessions / "ab" / "old3"));
}

TEST_P(SessionPurgeTest, ManyMixedEntriesAreCountedExactly) {
  using namespace std::chrono_literals;
  std::uint64_t old_bytes = 0;
  for (unsigned i = 0; i < 600; ++i) {
    const fs::path file = m_sessions / ("werkzeug_" + hex40(i) + ".sess");
    write_file(file, i);
    if (i % 3 == 0) {
      set_mtime(file, 10 * 24h);
      old_bytes += i;
    }
    if (i % 50 == 0) {
      fs::create_symlink(file, m_sessions / ("link" + std::to_string(i)));
      ASSERT_EQ(::mkfifo((m_sessions / ("fifo" + std::to_string(i))).c_str(), 0600), 0);
    }
  }
  const PurgeResult r = purge(std::chrono::seconds(7 * 24h));
  EXPECT_EQ(r.files_removed, 200u);
  EXPECT_EQ(r.bytes_removed, old_bytes);
  EXPECT_EQ(r.files_kept, 400u);
  EXPECT_EQ(r.skipped, 24u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(count_files(m_sessions), 400u);
}

// Files are looked up, then unlinked, 4096 at a time: 9000 in one directory
// make two full batches and a partial one, each with files to keep.
TEST_P(SessionPurgeTest, SeveralBatchesInOneDirectoryAreCountedExactly) {
  using namespace std::chrono_literals;
  constexpr unsigned k_files = 9000;
  std::uint64_t old_bytes = 0;
  for (unsigned i = 0; i < k_files; ++i) {
    const fs::path file = m_sessions / hex40(i);
    write_file(file, i % 11);
    if (i % 4 != 0) {
      set_mtime(file, 10 * 24h);
      old_bytes += i % 11;
    }
  }
  fs::create_directory(m_sessions / "ab");
  fs::create_symlink(m_sessions / hex40(0), m_sessions / "ab" / "link");
  const PurgeResult r = purge(std::chrono::seconds(7 * 24h));
  EXPECT_EQ(r.files_removed, k_files / 4 * 3);
  EXPECT_EQ(r.bytes_removed, old_bytes);
  EXPECT_EQ(r.files_kept, k_files / 4);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(count_files(m_sessions), k_files / 4);
  EXPECT_TRUE(fs::exists(m_sessions / hex40(k_files - 4)));
  EXPECT_FALSE(fs::exists(m_sessions / hex40(k_files - 1)));
}

// With more than one thread, each thread takes whole shards (subtrees of the
// sessions directory) or batches of the flat files beside them: what every
// thread counted must add up, the depth limit included.
TEST_P(SessionPurgeTest, ShardsWithEveryKindOfEntryAreCountedExactly) {
  using namespace std::chrono_literals;
  constexpr unsigned k_shards = 12;
  constexpr unsigned k_per_shard = 30;
  constexpr unsigned k_flat =
      3000; // two batches of a thread (1024 files) and a partial one
  std::uint64_t old_bytes = 0;
  unsigned n = 0;
  for (unsigned i = 0; i < k_flat; ++i) {
    const fs::path file = m_sessions / ("werkzeug_" + hex40(100000 + i) + ".sess");
    write_file(file, i % 7);
    if (i % 3 != 0) {
      set_mtime(file, 10 * 24h);
      old_bytes += i % 7;
    }
  }
  for (unsigned s = 0; s < k_shards; ++s) {
    const fs::path shard = m_sessions / ("s" + std::to_string(s));
    fs::create_directories(shard / "nested");
    for (unsigned i = 0; i < k_per_shard; ++i, ++n) {
      const fs::path file = (i % 5 == 0 ? shard / "nested" : shard) / hex40(n);
      write_file(file, n % 13);
      if (i % 3 != 0) {
        set_mtime(file, 10 * 24h);
        old_bytes += n % 13;
      }
    }
    fs::create_symlink(shard / hex40(n - 1), shard / "link");
    ASSERT_EQ(::mkfifo((shard / "fifo").c_str(), 0600), 0);
  }
  // s0/d/d/...: directories at depths 2 to 35, one old file in each; those
  // deeper than 32 levels are not entered.
  fs::path deep = m_sessions / "s0";
  for (int depth = 2; depth <= 35; ++depth) {
    deep /= "d";
    fs::create_directory(deep);
    write_file(deep / "f", 1);
    set_mtime(deep / "f", 10 * 24h);
  }
  const PurgeResult r = purge(std::chrono::seconds(7 * 24h));
  constexpr unsigned k_kept = (k_shards * k_per_shard + k_flat) / 3;
  EXPECT_EQ(r.files_removed, 2 * k_kept + 31);
  EXPECT_EQ(r.bytes_removed, old_bytes + 31);
  EXPECT_EQ(r.files_kept, k_kept);
  EXPECT_EQ(r.skipped, 2 * k_shards + 1);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.dirs_visited, 1 + 2 * k_shards + 31);
  EXPECT_EQ(count_files(m_sessions), k_kept + 3);
  EXPECT_TRUE(
      fs::exists(m_sessions / ("werkzeug_" + hex40(100000 + k_flat - 3) + ".sess")));
  EXPECT_FALSE(
      fs::exists(m_sessions / ("werkzeug_" + hex40(100000 + k_flat - 2) + ".sess")));
  EXPECT_TRUE(fs::exists(m_sessions / "s11" / "nested" / hex40(11 * k_per_shard + 15)));
  EXPECT_FALSE(fs::exists(m_sessions / "s11" / "nested" / hex40(11 * k_per_shard + 25)));
}

TEST_P(SessionPurgeTest, AutoAndHugeThreadCountsWork) {
  for (const std::size_t threads : {std::size_t{0}, std::size_t{1000}}) {
    for (unsigned i = 0; i < 100; ++i) {
      write_file(m_sessions / std::to_string(i), 1);
    }
    PurgeOptions opts = options(m_sessions);
    opts.threads = threads;
    EXPECT_EQ(purge_sessions(opts).files_removed, 100u) << threads;
  }
}

TEST_P(SessionPurgeTest, NegativeKeepNewerIsUsageError) {
  write_file(m_sessions / "a", 1);
  EXPECT_THROW((void)purge(std::chrono::seconds(-1)), odbox::core::UsageError);
  EXPECT_TRUE(fs::exists(m_sessions / "a"));
}

TEST_P(SessionPurgeTest, SymlinkToOutsideFileIsSkippedNotFollowed) {
  write_file(m_tmp / "outside", 42);
  fs::create_symlink(m_tmp / "outside", m_sessions / "link");
  fs::create_directory(m_sessions / "ab");
  fs::create_symlink("../../outside", m_sessions / "ab" / "rel-link");
  write_file(m_sessions / "real", 5);
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 1u);
  EXPECT_EQ(r.bytes_removed, 5u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(read_file(m_tmp / "outside"), std::string(42, 'x'));
  EXPECT_TRUE(fs::is_symlink(m_sessions / "link"));
  EXPECT_TRUE(fs::is_symlink(m_sessions / "ab" / "rel-link"));
}

TEST_P(SessionPurgeTest, SymlinkToOutsideDirectoryIsNotEntered) {
  fs::create_directory(m_tmp / "filestore");
  for (unsigned i = 0; i < 5; ++i) {
    write_file(m_tmp / "filestore" / std::to_string(i), 9);
  }
  fs::create_directory_symlink(m_tmp / "filestore", m_sessions / "ab");
  fs::create_directory_symlink("/", m_sessions / "root");
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 0u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(r.dirs_visited, 1u);
  EXPECT_EQ(count_files(m_tmp / "filestore"), 5u);
  EXPECT_TRUE(fs::is_symlink(m_sessions / "ab"));
}

TEST_P(SessionPurgeTest, HardLinkInsideLeavesTheOutsideNameAlone) {
  write_file(m_tmp / "outside", 12);
  fs::create_hard_link(m_tmp / "outside", m_sessions / "hard");
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 1u);
  EXPECT_EQ(read_file(m_tmp / "outside"), std::string(12, 'x'));
}

TEST_P(SessionPurgeTest, SessionsDirAsSymlinkIsRefused) {
  write_file(m_sessions / "a", 3);
  const fs::path link = m_tmp / "link-to-sessions";
  fs::create_directory_symlink(m_sessions, link);
  for (const fs::path& dir :
       {link, fs::path(link.string() + "/"), fs::path(link.string() + "/.")}) {
    try {
      (void)purge_sessions(options(dir));
      ADD_FAILURE() << "no exception for " << dir;
    } catch (const odbox::core::UsageError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(link.string()), std::string::npos) << what;
      EXPECT_NE(what.find("--sessions-dir"), std::string::npos) << what;
    }
  }
  EXPECT_TRUE(fs::exists(m_sessions / "a"));
}

TEST_P(SessionPurgeTest, RelativePathIsUsageError) {
  EXPECT_THROW((void)purge_sessions(options("sessions")), odbox::core::UsageError);
  EXPECT_THROW((void)purge_sessions(options("")), odbox::core::UsageError);
}

TEST_P(SessionPurgeTest, FileSystemRootIsRefused) {
  EXPECT_THROW((void)purge_sessions(options("/")), odbox::core::UsageError);
  EXPECT_THROW((void)purge_sessions(options("//")), odbox::core::UsageError);
  EXPECT_THROW((void)purge_sessions(options("/..")), odbox::core::UsageError);
}

TEST_P(SessionPurgeTest, NotADirectoryIsUsageError) {
  write_file(m_tmp / "file", 4);
  EXPECT_THROW((void)purge_sessions(options(m_tmp / "file")), odbox::core::UsageError);
  EXPECT_TRUE(fs::exists(m_tmp / "file"));
}

TEST_P(SessionPurgeTest, MissingDirectoryGivesZeros) {
  const PurgeResult r = purge_sessions(options(m_tmp / "nope"));
  EXPECT_EQ(r.files_removed, 0u);
  EXPECT_EQ(r.bytes_removed, 0u);
  EXPECT_EQ(r.files_kept, 0u);
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.dirs_visited, 0u);
}

TEST_P(SessionPurgeTest, TrailingSlashIsAccepted) {
  write_file(m_sessions / "a", 3);
  const PurgeResult r = purge_sessions(options(m_sessions.string() + "/"));
  EXPECT_EQ(r.files_removed, 1u);
}

TEST_P(SessionPurgeTest, OddFileNamesAreRemoved) {
  const std::vector<std::string> names = {
      "with\nnewline",
      "with space",
      " leading space",
      "-rf",
      "--",
      "-",
      "...",
      "back\\slash",
      "\x1b[31mred",
      "tab\there",
      std::string("\xff\xfe\x80latin\xe9"),
      std::string(255, 'a'),
      std::string(254, 'b') + "\xc3",
      "*",
      "?",
      "'quote\"",
  };
  fs::create_directory(m_sessions / "ab");
  for (const auto& name : names) {
    write_file(m_sessions / name, 2);
    write_file(m_sessions / "ab" / name, 3);
  }
  const fs::path odd_dir = m_sessions / std::string("dir\nwith\xff newline");
  fs::create_directory(odd_dir);
  write_file(odd_dir / std::string(255, 'z'), 4);
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 2 * names.size() + 1);
  EXPECT_EQ(r.bytes_removed, 5 * names.size() + 4);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(count_files(m_sessions), 0u);
}

TEST_P(SessionPurgeTest, FifoAndSocketAreSkipped) {
  ASSERT_EQ(::mkfifo((m_sessions / "fifo").c_str(), 0600), 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = (m_sessions / "sock").string();
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  std::copy(sock_path.begin(), sock_path.end(), addr.sun_path);
  ASSERT_EQ(::bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  write_file(m_sessions / "file", 1);
  const PurgeResult r = purge();
  ::close(sock);
  EXPECT_EQ(r.files_removed, 1u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_TRUE(fs::is_fifo(m_sessions / "fifo"));
  EXPECT_TRUE(fs::is_socket(m_sessions / "sock"));
}

TEST_P(SessionPurgeTest, FilesAppearingDuringThePurgeAreNoError) {
  constexpr unsigned k_initial = 3000;
  for (unsigned s = 0; s < 4; ++s) {
    fs::create_directory(m_sessions / ("s" + std::to_string(s)));
  }
  for (unsigned i = 0; i < k_initial; ++i) {
    const fs::path dir =
        i % 2 == 0 ? m_sessions : m_sessions / ("s" + std::to_string(i % 4));
    write_file(dir / ("init" + std::to_string(i)), 20);
  }
  std::atomic<bool> started{false};
  std::atomic<bool> stop{false};
  std::uint64_t created = 0;
  std::thread writer([&] {
    for (unsigned i = 0; !stop.load() || i < 100; ++i) {
      // Into the root, into existing shards, and into brand-new shards.
      fs::path dir = m_sessions;
      if (i % 3 == 1) {
        dir = m_sessions / ("s" + std::to_string(i % 4));
      } else if (i % 3 == 2) {
        dir = m_sessions / ("n" + std::to_string(i % 50));
        ::mkdir(dir.c_str(), 0700);
      }
      const int fd = ::open((dir / ("new" + std::to_string(i))).c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0) {
        (void)!::write(fd, "session", 7);
        ::close(fd);
        ++created;
      }
      started.store(true);
    }
  });
  while (!started.load()) {
    std::this_thread::yield();
  }
  PurgeResult r;
  EXPECT_NO_THROW(r = purge());
  stop.store(true);
  writer.join();
  EXPECT_EQ(r.errors, 0u);
  EXPECT_GE(r.files_removed, k_initial);
  EXPECT_EQ(r.files_removed + count_files(m_sessions), k_initial + created);
}

TEST_P(SessionPurgeTest, DeepTreeStopsAtTheDepthLimit) {
  fs::path dir = m_sessions;
  for (int depth = 1; depth <= 40; ++depth) {
    dir /= "d";
    fs::create_directory(dir);
    write_file(dir / "f", 1);
  }
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 32u);
  EXPECT_EQ(r.dirs_visited, 33u);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(count_files(m_sessions), 8u);
}

TEST_P(SessionPurgeTest, LargeDirectoryIsProcessedInChunks) {
  constexpr unsigned k_files = 1000;
  std::uint64_t bytes = 0;
  for (unsigned i = 0; i < k_files; ++i) {
    write_file(m_sessions / hex40(i), i % 7);
    bytes += i % 7;
  }
  for (unsigned s = 0; s < 10; ++s) { // subdirectories spread over several chunks
    fs::create_directory(m_sessions / ("shard" + std::to_string(s)));
    write_file(m_sessions / ("shard" + std::to_string(s)) / "f", 1);
  }
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{64}}) {
    SCOPED_TRACE(chunk);
    for (unsigned i = 0; i < 100; ++i) {
      write_file(m_sessions / ("again" + std::to_string(i)), 1);
    }
    PurgeOptions opts = options(m_sessions);
    opts.chunk_entries = chunk;
    const PurgeResult r = purge_sessions(opts);
    EXPECT_EQ(r.files_removed, chunk == 1 ? k_files + 110 : 100u);
    if (chunk == 1) {
      EXPECT_EQ(r.bytes_removed, bytes + 110);
    }
    EXPECT_EQ(r.dirs_visited, 11u);
    EXPECT_EQ(r.errors, 0u);
    EXPECT_EQ(count_files(m_sessions), 0u);
  }
}

TEST_P(SessionPurgeTest, ZeroChunkSizeStillMakesProgress) {
  write_file(m_sessions / "a", 1);
  write_file(m_sessions / "b", 1);
  PurgeOptions opts = options(m_sessions);
  opts.chunk_entries = 0;
  const PurgeResult r = purge_sessions(opts);
  EXPECT_EQ(r.files_removed, 2u);
}

TEST_P(SessionPurgeTest, MountPointIsNotCrossed) {
  const fs::path mnt = m_sessions / "ab";
  fs::create_directory(mnt);
  if (::mount("odbox-test", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  }
  Mounted guard(mnt);
  write_file(mnt / "inside-mount", 6);
  write_file(m_sessions / "f", 1);
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 1u);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_TRUE(fs::exists(mnt / "inside-mount"));
}

TEST_P(SessionPurgeTest, BindMountOfTheSameFileSystemIsNotCrossed) {
  fs::create_directory(m_tmp / "filestore");
  write_file(m_tmp / "filestore" / "precious", 8);
  const fs::path mnt = m_sessions / "ab";
  fs::create_directory(mnt);
  if (::mount((m_tmp / "filestore").c_str(), mnt.c_str(), nullptr, MS_BIND, nullptr) !=
      0) {
    GTEST_SKIP() << "cannot bind-mount here (needs root)";
  }
  Mounted guard(mnt);
  write_file(m_sessions / "f", 1);
  const PurgeResult r = purge();
  EXPECT_EQ(r.files_removed, 1u);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(read_file(m_tmp / "filestore" / "precious"), std::string(8, 'x'));
}

TEST_P(SessionPurgeTest, PendingSignalInterruptsBeforeRemoving) {
  write_file(m_sessions / "a", 1);
  ASSERT_TRUE(odbox::util::install_termination_handlers());
  ::raise(SIGTERM);
  EXPECT_THROW((void)purge(), odbox::core::Interrupted);
  odbox::util::clear_pending_signal();
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGHUP, SIG_DFL);
  EXPECT_TRUE(fs::exists(m_sessions / "a"));
}

INSTANTIATE_TEST_SUITE_P(Threads, SessionPurgeTest, ::testing::Values(1, 4),
                         [](const ::testing::TestParamInfo<std::size_t>& param_info) {
                           return param_info.param == 1
                                      ? std::string("OneThread")
                                      : std::to_string(param_info.param) + "Threads";
                         });

} // namespace
