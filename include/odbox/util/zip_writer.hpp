#pragma once

#include "odbox/util/sys_error.hpp"

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace odbox::util {

// Writes a zip archive as a stream, entries stored (not compressed: dumps
// compress poorly fast and file-store content is mostly compressed already),
// each entry's CRC-32 and sizes in a data descriptor after its data, ZIP64
// records where sizes or offsets pass 4 GiB. Readable by Python's zipfile
// (Odoo's restore) and unzip. Memory: one buffer plus one small record per
// entry for the central directory.
class ZipWriter {
public:
  // `sink` receives the archive bytes in order and returns an error message
  // on failure (empty when written).
  using Sink = std::function<std::string(const void* data, std::size_t size)>;
  explicit ZipWriter(Sink sink);

  // Adds the regular file at `path` as `name`. Throws std::runtime_error
  // naming the file on read or write errors.
  void add_file(const std::string& name, const std::string& path);
  // Adds as `name` the bytes `produce` hands to the function it is given,
  // in order (a stream of unknown length, e.g. a file decompressed on the
  // fly), dated `mtime`. Exceptions of `produce` pass through.
  using Producer = std::function<void(const std::function<void(std::string_view)>&)>;
  void add_stream(const std::string& name, std::time_t mtime, const Producer& produce);
  // Adds `content` as `name`.
  void add_bytes(const std::string& name, std::string_view content);
  // Writes the central directory; no entry can be added afterwards.
  void finish();

  [[nodiscard]] std::uint64_t bytes_written() const noexcept { return m_offset; }
  [[nodiscard]] std::size_t entries() const noexcept { return m_entries.size(); }

private:
  struct Entry {
    std::string name;
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
    std::uint64_t offset = 0;
    std::uint16_t dos_time = 0;
    std::uint16_t dos_date = 0;
  };
  void begin_entry(Entry& entry);
  void end_entry(const Entry& entry);
  void put(const void* data, std::size_t size);
  void put(const std::vector<unsigned char>& bytes) { put(bytes.data(), bytes.size()); }

  Sink m_sink;
  std::uint64_t m_offset = 0;
  std::vector<Entry> m_entries;
  bool m_finished = false;
};

} // namespace odbox::util
