#include "odbox/core/compression.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/digest.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/progress.hpp"
#include "odbox/util/sys_error.hpp"
#include "odbox/util/text.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sched.h>
#include <stdexcept>
#include <unistd.h>
#include <vector>

namespace odbox::core {

int default_compression_threads() noexcept {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  const int count =
      ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
  return count > 2 ? 1 : 0;
}

void parse_compression(std::string_view text, const std::string& option,
                       DumpCompression& into) {
  const auto fail = [&] {
    throw UsageError(option + " is '" + util::printable(std::string(text)) +
                     "': give none, zstd or zstd:LEVEL with LEVEL from " +
                     std::to_string(k_zstd_min_level) + " to " +
                     std::to_string(k_zstd_max_level));
  };
  if (text == "none") {
    into.method = DumpCompression::Method::none;
    return;
  }
  if (!text.starts_with("zstd")) {
    fail();
  }
  std::string_view rest = text.substr(4);
  int level = 3;
  if (!rest.empty()) {
    if (!rest.starts_with(':')) {
      fail();
    }
    const auto parsed = util::parse_decimal(rest.substr(1));
    if (!parsed || *parsed < k_zstd_min_level || *parsed > k_zstd_max_level) {
      fail();
    }
    level = static_cast<int>(*parsed);
  }
  into.method = DumpCompression::Method::zstd;
  into.level = level;
}

std::string dump_suffix(DumpCompression::Method method) {
  return method == DumpCompression::Method::zstd ? ".dump.sql.zst" : ".dump.sql";
}

DumpCompression::Method compression_method(std::string_view name) {
  if (name == "none") {
    return DumpCompression::Method::none;
  }
  if (name == "zstd") {
    return DumpCompression::Method::zstd;
  }
  throw RunError("the manifest names an unknown dump compression '" +
                 util::printable(std::string(name)) +
                 "': written by a newer odbox-backup? use that version");
}

DumpFileScan read_dump_file(const std::filesystem::path& path,
                            DumpCompression::Method method,
                            const std::function<void(std::string_view)>& plain) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    throw RunError(util::sys_error("open", path.string()).message());
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  util::Digest digest(util::Digest::Kind::sha256);
  std::optional<util::ZstdDecompressor> zstd;
  if (plain && method == DumpCompression::Method::zstd) {
    zstd.emplace();
  }
  util::Progress progress("read " + path.filename().string());
  std::vector<char> buffer(1U << 20U);
  DumpFileScan scan;
  try {
    while (true) {
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) {
          throw_if_interrupted();
          continue;
        }
        throw RunError(util::sys_error("read", path.string()).message());
      }
      if (n == 0) {
        break;
      }
      const std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
      digest.update(chunk);
      scan.file_bytes += chunk.size();
      if (zstd) {
        zstd->feed(chunk, plain);
      } else if (plain) {
        plain(chunk);
      }
      progress.update(scan.file_bytes);
    }
    if (zstd) {
      zstd->finish();
    }
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const Error*>(&e) != nullptr) {
      throw;
    }
    throw RunError(path.string() + ": " + e.what());
  }
  scan.file_sha256 = digest.hex_final();
  return scan;
}

} // namespace odbox::core
