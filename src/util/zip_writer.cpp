#include "odbox/util/zip_writer.hpp"

#include "odbox/util/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <limits>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

namespace odbox::util {
namespace {

constexpr std::uint32_t k_local_header = 0x04034b50;
constexpr std::uint32_t k_data_descriptor = 0x08074b50;
constexpr std::uint32_t k_central_header = 0x02014b50;
constexpr std::uint32_t k_end_of_central = 0x06054b50;
constexpr std::uint32_t k_zip64_end = 0x06064b50;
constexpr std::uint32_t k_zip64_locator = 0x07064b50;
constexpr std::uint16_t k_flag_descriptor = 1U << 3U;
constexpr std::uint16_t k_flag_utf8 = 1U << 11U;
constexpr std::uint16_t k_version_zip64 = 45;
constexpr std::uint32_t k_max32 = 0xFFFFFFFFU;

// Little-endian record builder.
class Record {
public:
  Record& u16(std::uint64_t v) { return le(v, 2); }
  Record& u32(std::uint64_t v) { return le(v, 4); }
  Record& u64(std::uint64_t v) { return le(v, 8); }
  Record& bytes(std::string_view s) {
    m_bytes.insert(m_bytes.end(), s.begin(), s.end());
    return *this;
  }
  [[nodiscard]] const std::vector<unsigned char>& data() const { return m_bytes; }

private:
  Record& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      m_bytes.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xFFU));
    }
    return *this;
  }
  std::vector<unsigned char> m_bytes;
};

void dos_time(std::time_t t, std::uint16_t& time, std::uint16_t& date) {
  std::tm tm{};
  ::localtime_r(&t, &tm);
  if (tm.tm_year < 80) {
    tm = std::tm{};
    tm.tm_year = 80;
    tm.tm_mday = 1;
  }
  time =
      static_cast<std::uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  date = static_cast<std::uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) |
                                    tm.tm_mday);
}

std::uint32_t crc_update(std::uint32_t crc, const void* data, std::size_t size) {
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(size, 1U << 30U));
    crc = static_cast<std::uint32_t>(::crc32(crc, p, chunk));
    p += chunk;
    size -= chunk;
  }
  return crc;
}

} // namespace

ZipWriter::ZipWriter(Sink sink) : m_sink(std::move(sink)) {}

void ZipWriter::put(const void* data, std::size_t size) {
  if (const std::string error = m_sink(data, size); !error.empty()) {
    throw std::runtime_error("writing the zip failed: " + error);
  }
  m_offset += size;
}

// Local header: CRC and sizes follow the data (bit 3); a ZIP64 extra field
// announces 8-byte sizes in the descriptor, so any size works.
void ZipWriter::begin_entry(Entry& entry) {
  if (m_finished) {
    throw std::logic_error("zip already finished");
  }
  entry.offset = m_offset;
  Record r;
  r.u32(k_local_header)
      .u16(k_version_zip64)
      .u16(k_flag_descriptor | k_flag_utf8)
      .u16(0) // stored
      .u16(entry.dos_time)
      .u16(entry.dos_date)
      .u32(0)
      .u32(k_max32)
      .u32(k_max32)
      .u16(entry.name.size())
      .u16(20)
      .bytes(entry.name)
      .u16(0x0001) // ZIP64 extra: original and compressed size (0 here)
      .u16(16)
      .u64(0)
      .u64(0);
  put(r.data());
}

void ZipWriter::end_entry(const Entry& entry) {
  Record r;
  r.u32(k_data_descriptor).u32(entry.crc).u64(entry.size).u64(entry.size);
  put(r.data());
  m_entries.push_back(entry);
}

void ZipWriter::add_file(const std::string& name, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    throw std::runtime_error("cannot read " + path + ": " + errno_text(errno));
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  Entry entry;
  entry.name = name;
  dos_time(st.st_mtime, entry.dos_time, entry.dos_date);
  begin_entry(entry);
  std::vector<char> buffer(1U << 20U);
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::runtime_error("cannot read " + path + ": " + errno_text(errno));
    }
    if (n == 0) {
      break;
    }
    const auto size = static_cast<std::size_t>(n);
    entry.crc = crc_update(entry.crc, buffer.data(), size);
    entry.size += size;
    put(buffer.data(), size);
  }
  end_entry(entry);
}

void ZipWriter::add_stream(const std::string& name, std::time_t mtime,
                           const Producer& produce) {
  Entry entry;
  entry.name = name;
  dos_time(mtime, entry.dos_time, entry.dos_date);
  begin_entry(entry);
  produce([&](std::string_view chunk) {
    entry.crc = crc_update(entry.crc, chunk.data(), chunk.size());
    entry.size += chunk.size();
    put(chunk.data(), chunk.size());
  });
  end_entry(entry);
}

void ZipWriter::add_bytes(const std::string& name, std::string_view content) {
  Entry entry;
  entry.name = name;
  dos_time(std::time(nullptr), entry.dos_time, entry.dos_date);
  begin_entry(entry);
  entry.crc = crc_update(0, content.data(), content.size());
  entry.size = content.size();
  put(content.data(), content.size());
  end_entry(entry);
}

void ZipWriter::finish() {
  const std::uint64_t central_start = m_offset;
  for (const auto& e : m_entries) {
    Record r;
    r.u32(k_central_header)
        .u16(0x0300 | k_version_zip64) // made by: Unix
        .u16(k_version_zip64)
        .u16(k_flag_descriptor | k_flag_utf8)
        .u16(0)
        .u16(e.dos_time)
        .u16(e.dos_date)
        .u32(e.crc)
        .u32(k_max32)
        .u32(k_max32)
        .u16(e.name.size())
        .u16(28)
        .u16(0)
        .u16(0)
        .u16(0)
        .u32(0100644U << 16U) // external attributes: regular file, 0644
        .u32(k_max32)
        .bytes(e.name)
        .u16(0x0001)
        .u16(24)
        .u64(e.size)
        .u64(e.size)
        .u64(e.offset);
    put(r.data());
  }
  const std::uint64_t central_size = m_offset - central_start;
  const std::uint64_t zip64_end = m_offset;
  Record end64;
  end64.u32(k_zip64_end)
      .u64(44)
      .u16(0x0300 | k_version_zip64)
      .u16(k_version_zip64)
      .u32(0)
      .u32(0)
      .u64(m_entries.size())
      .u64(m_entries.size())
      .u64(central_size)
      .u64(central_start);
  put(end64.data());
  Record locator;
  locator.u32(k_zip64_locator).u32(0).u64(zip64_end).u32(1);
  put(locator.data());
  const auto count16 = std::min<std::size_t>(m_entries.size(), 0xFFFF);
  Record end;
  end.u32(k_end_of_central)
      .u16(0)
      .u16(0)
      .u16(count16)
      .u16(count16)
      .u32(std::min<std::uint64_t>(central_size, k_max32))
      .u32(std::min<std::uint64_t>(central_start, k_max32))
      .u16(0);
  put(end.data());
  m_finished = true;
}

} // namespace odbox::util
