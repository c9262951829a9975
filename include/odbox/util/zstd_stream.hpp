#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace odbox::util {

// How a stream is compressed: a standard zstd frame with its content
// checksum, in zstd's rsyncable mode when `workers` >= 1 (so that a small
// change in the input changes a small part of the output, which restic and
// volume snapshots then deduplicate).
struct ZstdParameters {
  int level = 3;
  int workers = 1; // 0: compress in the caller's thread (rsyncable needs workers)
};

// Receives output bytes; returns an error message, empty when written.
using ByteSink = std::function<std::string(const void* data, std::size_t size)>;

// Streaming compression (ZSTD_compressStream2) into a sink, through one
// fixed output buffer: memory stays flat whatever the input's size.
class ZstdCompressor {
public:
  // Throws std::runtime_error when libzstd refuses the parameters.
  explicit ZstdCompressor(ZstdParameters parameters);
  ~ZstdCompressor();
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  // Compresses `input`; returns an error message (libzstd's or the sink's).
  [[nodiscard]] std::string write(std::string_view input, const ByteSink& sink);
  // Ends the frame; returns an error message.
  [[nodiscard]] std::string finish(const ByteSink& sink);

private:
  std::string drive(std::string_view input, bool end, const ByteSink& sink);
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Streaming decompression of one or more concatenated frames, checking each
// frame's content checksum.
class ZstdDecompressor {
public:
  using PlainSink = std::function<void(std::string_view plain)>;
  ZstdDecompressor();
  ~ZstdDecompressor();
  ZstdDecompressor(const ZstdDecompressor&) = delete;
  ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

  // Throws std::runtime_error for corrupt data (libzstd's reason).
  void feed(std::string_view input, const PlainSink& sink);
  // At the end of the input: throws std::runtime_error when the last frame
  // is incomplete (a truncated file), or when there was no frame at all.
  void finish() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace odbox::util
