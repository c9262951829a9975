// The zstd stream of the dump: what ZstdCompressor writes is a standard
// frame with its content checksum, which ZstdDecompressor, libzstd's own
// streaming decoder and the zstd tool all read back to the input, however
// the input is cut into writes, with workers or without.

#include "odbox/util/process.hpp"
#include "odbox/util/zstd_stream.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>
#include <random>
#include <stdexcept>
#include <zstd.h>

using namespace odbox::util;

namespace {

constexpr std::size_t k_mib = 1024 * 1024;

enum class Input { empty, one_byte, sql_text, random };

// SQL-like lines, as a dump holds: compressible, but not one repeated byte.
std::string sql_text(std::size_t size) {
  std::string text;
  text.reserve(size + 80);
  for (std::size_t row = 0; text.size() < size; ++row) {
    text += std::to_string(row) + "\tpartner " + std::to_string(row * 7919 % 100003) +
            "\t2026-12-0" + std::to_string(row % 9 + 1) +
            " 06:" + std::to_string(row % 60) + "\tt\t\\N\n";
  }
  text.resize(size);
  return text;
}

std::string random_bytes(std::size_t size) {
  std::mt19937_64 generator(21); // fixed seed: the same bytes on every run
  std::string bytes(size, '\0');
  for (char& c : bytes) {
    c = static_cast<char>(generator() & 0xffU);
  }
  return bytes;
}

std::string make_input(Input input, std::size_t size) {
  switch (input) {
  case Input::empty:
    return {};
  case Input::one_byte:
    return "x";
  case Input::sql_text:
    return sql_text(size);
  case Input::random:
    return random_bytes(size);
  }
  return {};
}

struct Row {
  std::string name;
  Input input = Input::empty;
  std::size_t size = 0;  // of sql_text and random
  std::size_t chunk = 0; // the size of each write (0: all at once)
  ZstdParameters parameters{};
};

std::string compress(const std::string& input, std::size_t chunk,
                     ZstdParameters parameters) {
  ZstdCompressor compressor(parameters);
  std::string out;
  const ByteSink sink = [&out](const void* data, std::size_t size) {
    out.append(static_cast<const char*>(data), size);
    return std::string();
  };
  const std::size_t step = chunk == 0 ? std::max<std::size_t>(input.size(), 1) : chunk;
  for (std::size_t at = 0; at < input.size(); at += step) {
    const std::string error =
        compressor.write(std::string_view(input).substr(at, step), sink);
    if (!error.empty()) {
      throw std::runtime_error(error);
    }
  }
  if (const std::string error = compressor.finish(sink); !error.empty()) {
    throw std::runtime_error(error);
  }
  return out;
}

// The project's decompressor, fed `step` bytes at a time (frames cut anywhere).
std::string decompress(const std::string& frame, std::size_t step = 777) {
  ZstdDecompressor decompressor;
  std::string plain;
  for (std::size_t at = 0; at < frame.size(); at += step) {
    decompressor.feed(std::string_view(frame).substr(at, step),
                      [&plain](std::string_view part) { plain.append(part); });
  }
  decompressor.finish();
  return plain;
}

// libzstd's streaming decoder on its own, as a second reader (the frame
// holds no content size, so ZSTD_decompress cannot be used).
std::string libzstd_decompress(const std::string& frame) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  std::string plain;
  std::vector<char> buffer(ZSTD_DStreamOutSize());
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  std::size_t hint = 1;
  while (in.pos < in.size || hint != 0) {
    ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
    hint = ZSTD_decompressStream(ctx, &out, &in);
    if (ZSTD_isError(hint)) {
      ZSTD_freeDCtx(ctx);
      throw std::runtime_error(ZSTD_getErrorName(hint));
    }
    plain.append(buffer.data(), out.pos);
    if (out.pos == 0 && in.pos == in.size && hint != 0) {
      ZSTD_freeDCtx(ctx);
      throw std::runtime_error("the frame is incomplete");
    }
  }
  ZSTD_freeDCtx(ctx);
  return plain;
}

// The frame header descriptor follows the 4-byte magic number; its bit 2 is
// the Content_Checksum_flag (RFC 8878, 3.1.1.1.1).
bool has_content_checksum(const std::string& frame) {
  return frame.size() > 4 && (static_cast<unsigned char>(frame[4]) & 0x04U) != 0;
}

std::string flipped(std::string bytes, std::size_t at) {
  bytes.at(at) = static_cast<char>(bytes.at(at) ^ 0x10);
  return bytes;
}

// gtest names the row in its messages.
void PrintTo(const Row& row, std::ostream* os) {
  *os << row.name;
}

class ZstdStreamRoundTrip : public ::testing::TestWithParam<Row> {};
class ZstdStreamLargeFrame : public ::testing::TestWithParam<Row> {};

const Row k_small_rows[] = {
    {"empty_in_the_callers_thread", Input::empty, 0, 0, {3, 0}},
    {"empty_with_workers", Input::empty, 0, 0, {3, 2}},
    {"one_byte_in_the_callers_thread", Input::one_byte, 0, 1, {3, 0}},
    {"one_byte_with_workers", Input::one_byte, 0, 1, {1, 2}},
    {"sql_byte_by_byte_in_the_callers_thread", Input::sql_text, 200000, 1, {1, 0}},
    {"sql_byte_by_byte_with_workers", Input::sql_text, 200000, 1, {3, 2}},
};

// A few MiB each: many blocks, and with workers many jobs.
const Row k_large_rows[] = {
    {"sql_4k_writes_in_the_callers_thread", Input::sql_text, 3 * k_mib, 4096, {3, 0}},
    {"sql_4k_writes_with_workers", Input::sql_text, 3 * k_mib, 4096, {3, 2}},
    {"sql_odd_writes_level_9_with_workers", Input::sql_text, 3 * k_mib, 65539, {9, 2}},
    {"sql_at_once_level_1_with_one_worker", Input::sql_text, 3 * k_mib, 0, {1, 1}},
    {"random_64k_writes_in_the_callers_thread", Input::random, 3 * k_mib, 65536, {3, 0}},
    {"random_odd_writes_level_9_with_workers", Input::random, 3 * k_mib, 65539, {9, 2}},
    {"random_at_once_level_1_with_workers", Input::random, 3 * k_mib, 0, {1, 2}},
};

std::string row_name(const ::testing::TestParamInfo<Row>& row_info) {
  return row_info.param.name;
}

} // namespace

TEST_P(ZstdStreamRoundTrip, EveryReaderGetsTheInputBack) {
  const Row& row = GetParam();
  const std::string input = make_input(row.input, row.size);
  const std::string frame = compress(input, row.chunk, row.parameters);
  EXPECT_TRUE(frame.starts_with("\x28\xb5\x2f\xfd")) << "no zstd magic number";
  EXPECT_TRUE(has_content_checksum(frame));
  EXPECT_TRUE(decompress(frame) == input) << "ZstdDecompressor";
  EXPECT_TRUE(decompress(frame, frame.size() + 1) == input) << "ZstdDecompressor, whole";
  EXPECT_TRUE(libzstd_decompress(frame) == input) << "ZSTD_decompressStream";
  if (row.input == Input::sql_text) {
    EXPECT_LT(frame.size() * 3, input.size()) << "SQL text barely compressed";
  }
}

// The last four bytes of the frame are the checksum of the content: only the
// checksum check can find a change there.
TEST_P(ZstdStreamRoundTrip, AFlippedChecksumByteIsFound) {
  const Row& row = GetParam();
  const std::string frame =
      compress(make_input(row.input, row.size), row.chunk, row.parameters);
  const std::string bad = flipped(frame, frame.size() - 1);
  try {
    (void)decompress(bad);
    ADD_FAILURE() << "the flipped checksum went unnoticed";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)libzstd_decompress(bad), std::runtime_error);
}

// In the middle of a large frame the byte is payload.
TEST_P(ZstdStreamLargeFrame, AFlippedPayloadByteIsFound) {
  const Row& row = GetParam();
  const std::string frame =
      compress(make_input(row.input, row.size), row.chunk, row.parameters);
  EXPECT_THROW((void)decompress(flipped(frame, frame.size() / 2)), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(Small, ZstdStreamRoundTrip, ::testing::ValuesIn(k_small_rows),
                         row_name);
INSTANTIATE_TEST_SUITE_P(Large, ZstdStreamRoundTrip, ::testing::ValuesIn(k_large_rows),
                         row_name);
INSTANTIATE_TEST_SUITE_P(Large, ZstdStreamLargeFrame, ::testing::ValuesIn(k_large_rows),
                         row_name);

// The zstd tool (`zstd -t`, `zstd -dc`, as the README tells the user to run)
// reads the file as it is written to disk.
TEST(ZstdStream, TheZstdToolReadsTheFrame) {
  const odbox::test::ScratchDir dir;
  const std::string input = sql_text(2 * k_mib);
  const auto file = dir.path() / "dump.sql.zst";
  odbox::test::write_text(file, compress(input, 10000, {3, 2}));
  SpawnSpec test;
  test.argv = {"zstd", "-q", "-t", file.string()};
  const auto tested = run_capture(test);
  ASSERT_TRUE(tested);
  EXPECT_TRUE(tested->status.success()) << tested->err;
  SpawnSpec decompress_to_stdout;
  decompress_to_stdout.argv = {"zstd", "-q", "-dc", file.string()};
  const auto decompressed = run_capture(decompress_to_stdout);
  ASSERT_TRUE(decompressed);
  EXPECT_TRUE(decompressed->status.success()) << decompressed->err;
  EXPECT_TRUE(decompressed->out == input);
}

TEST(ZstdStream, ConcatenatedFramesReadAsOneStream) {
  const std::string first = sql_text(300000);
  const std::string second = random_bytes(5000);
  EXPECT_TRUE(decompress(compress(first, 4096, {3, 0}) + compress(second, 0, {1, 2})) ==
              first + second);
}

TEST(ZstdStream, AFrameCutShortIsFoundAtTheEnd) {
  const std::string frame = compress(sql_text(k_mib), 4096, {3, 2});
  for (std::size_t cut : {std::size_t{4}, frame.size() / 2, std::size_t{1}}) {
    ZstdDecompressor decompressor;
    decompressor.feed(std::string_view(frame).substr(0, frame.size() - cut),
                      [](std::string_view) {});
    EXPECT_THROW(decompressor.finish(), std::runtime_error) << "cut " << cut;
  }
}

TEST(ZstdStream, NoInputIsNoFrame) {
  const ZstdDecompressor decompressor;
  EXPECT_THROW(decompressor.finish(), std::runtime_error);
}

// A sink that cannot write (a full disk) stops the stream with its message.
TEST(ZstdStream, TheSinksErrorIsReturned) {
  for (const int workers : {0, 2}) {
    ZstdCompressor compressor({3, workers});
    const ByteSink full = [](const void*, std::size_t) {
      return std::string("write: No space left on device");
    };
    const std::string input = random_bytes(2 * k_mib);
    std::string error = compressor.write(input, full);
    if (error.empty()) { // the workers may keep it all until the end
      error = compressor.finish(full);
    }
    EXPECT_EQ(error, "write: No space left on device") << "workers " << workers;
  }
}
