#include "odbox/util/direct_output.hpp"
#include "odbox/util/fd.hpp"
#include "test_dir.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using odbox::test::ScratchDir;
using odbox::util::DirectOutput;
using odbox::util::UniqueFd;

namespace {

// Bytes that differ from one offset to the next, so a block written twice,
// dropped or out of place shows.
std::string pattern(std::size_t size, std::size_t offset) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t at = offset + i;
    out[i] = static_cast<char>((at * 131U) ^ (at >> 12U));
  }
  return out;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool is_direct(int fd) {
  return (::fcntl(fd, F_GETFL) & O_DIRECT) != 0;
}

} // namespace

TEST(DirectOutput, UnevenWritesArriveExactlyWithTheTailThroughTheCache) {
  ScratchDir dir;
  const auto path = dir.path() / "out";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd);
  auto out = DirectOutput::enable(fd.get());
  if (!out) {
    GTEST_SKIP() << "the file system under " << dir.path() << " refuses O_DIRECT";
  }
  EXPECT_TRUE(is_direct(fd.get()));
  // Pieces smaller than a block, across block edges and larger than two
  // blocks; 3 blocks and a 12345-byte tail in all.
  const std::vector<std::size_t> sizes = {1, 4095, (1U << 20U) + 7, DirectOutput::k_block,
                                          2 * DirectOutput::k_block - (1U << 20U) - 4103 +
                                              12345};
  std::size_t total = 0;
  for (const std::size_t size : sizes) {
    const std::string piece = pattern(size, total);
    ASSERT_TRUE(out->write(piece.data(), piece.size())) << std::strerror(errno);
    total += size;
  }
  ASSERT_EQ(total, 3 * DirectOutput::k_block + 12345);
  // Only whole blocks are on the file so far.
  EXPECT_EQ(std::filesystem::file_size(path), 3 * DirectOutput::k_block);
  ASSERT_TRUE(out->finish()) << std::strerror(errno);
  EXPECT_FALSE(is_direct(fd.get()));
  ASSERT_EQ(::fsync(fd.get()), 0);
  EXPECT_EQ(read_all(path), pattern(total, 0));
  // The fourth block's space, reserved when its first byte was staged, is
  // given back: the file holds about its size, not four whole blocks.
  struct stat st {};
  ASSERT_EQ(::fstat(fd.get(), &st), 0);
  EXPECT_LT(static_cast<std::size_t>(st.st_blocks) * 512U,
            3 * DirectOutput::k_block + DirectOutput::k_block / 2);
}

TEST(DirectOutput, AnErrorComesWithTheWriteThatStartsABlock) {
  ScratchDir dir;
  const auto path = dir.path() / "out";
  {
    UniqueFd create(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  }
  // A descriptor that cannot write: its first byte, which only reaches the
  // file with the rest of its block, already fails, with the errno as it is.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  auto out = DirectOutput::enable(fd.get());
  if (!out) {
    GTEST_SKIP() << "the file system under " << dir.path() << " refuses O_DIRECT";
  }
  errno = 0;
  EXPECT_FALSE(out->write("x", 1));
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(std::filesystem::file_size(path), 0U);
}
