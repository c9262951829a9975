#pragma once

#include "odbox/util/zstd_stream.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace odbox::core {

// zstd workers for a run that does not name them: none on one or two CPUs
// (the run's CPUs, as its affinity allows), one on more. A worker is what
// turns on rsyncable mode, and rsyncable mode doubles the compressor's CPU
// time: on two cores, shared with pg_dump and its backend, that made a hot
// run slower than a plain one, while zstd in the dump's own thread kept
// pace with pg_dump (bench/run, compression).
[[nodiscard]] int default_compression_threads() noexcept;

// How the dump is stored: plain SQL (<db>.dump.sql) or one zstd stream of
// it (<db>.dump.sql.zst).
struct DumpCompression {
  enum class Method { none, zstd };
  Method method = Method::none;
  int level = 3;
  int threads =
      default_compression_threads(); // zstd's workers (0: none, no rsyncable mode)

  [[nodiscard]] bool compressed() const { return method == Method::zstd; }
  // "none" | "zstd", as the manifest records it.
  [[nodiscard]] std::string name() const { return compressed() ? "zstd" : "none"; }
  [[nodiscard]] util::ZstdParameters zstd() const {
    return {.level = level, .workers = threads};
  }
};

inline constexpr int k_zstd_min_level = 1;
inline constexpr int k_zstd_max_level = 19; // 20-22 need far more memory
inline constexpr int k_compression_max_threads = 64;

// Parses "none", "zstd" or "zstd:LEVEL" into `into` (the threads stay).
// Throws UsageError naming `option`, the value and what is accepted.
void parse_compression(std::string_view text, const std::string& option,
                       DumpCompression& into);
// The dump's file name suffix: ".dump.sql" or ".dump.sql.zst".
[[nodiscard]] std::string dump_suffix(DumpCompression::Method method);
// The method a manifest's dump.compression names. Throws RunError.
[[nodiscard]] DumpCompression::Method compression_method(std::string_view name);

// What reading a dump file saw.
struct DumpFileScan {
  std::uint64_t file_bytes = 0;
  std::string file_sha256;
};

// Reads a dump file once, in 1 MiB pieces: its SHA-256 and size, and, when
// `plain` is given, its SQL handed over piece by piece (decompressed on the
// fly for zstd, checking each frame's checksum and that the last frame is
// whole). Throws RunError naming the path (read error, corrupt zstd data);
// Interrupted on a termination signal.
DumpFileScan read_dump_file(const std::filesystem::path& path,
                            DumpCompression::Method method,
                            const std::function<void(std::string_view)>& plain);

} // namespace odbox::core
