#include "odbox/core/session_purge_parts.hpp"

#include "odbox/core/errors.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <sys/sysmacros.h>

namespace odbox::core::purge_parts {
namespace {

constexpr std::size_t k_max_threads = 64;
constexpr std::size_t k_discard_threads =
    16;                                  // "auto" on a file system with online discard
constexpr std::size_t k_cpu_threads = 2; // "auto" elsewhere, at most one per core

// Is the file system on `dev` mounted with online discard? Then every unlink
// of a file with data waits for the device (ext4: blkdev_issue_discard in
// ext4_free_blocks), and unlinking from several threads overlaps the waits.
// `discard` is a super block option, the same on every mount of the device.
// Past a dozen threads every one waits in submit_bio_wait: the device's own
// limit is near, and more threads only add memory (README, "Benchmarks").
bool mounted_with_discard(dev_t dev) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  const std::string wanted =
      std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  std::string line;
  while (std::getline(mountinfo, line)) {
    // "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,..."
    std::istringstream fields(line);
    std::string mount_id;
    std::string parent_id;
    std::string dev_field;
    fields >> mount_id >> parent_id >> dev_field;
    const std::size_t separator = line.find(" - ");
    if (dev_field != wanted || separator == std::string::npos) {
      continue;
    }
    std::istringstream tail(line.substr(separator + 3));
    std::string fs_type;
    std::string source;
    std::string super_options;
    tail >> fs_type >> source >> super_options;
    std::istringstream options(super_options);
    std::string option;
    while (std::getline(options, option, ',')) {
      if (option == "discard") {
        return true;
      }
    }
    return false;
  }
  return false;
}

} // namespace

std::size_t thread_count(std::size_t requested, dev_t dev) {
  if (requested != 0) {
    return std::min(requested, k_max_threads);
  }
  const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
  const std::size_t threads =
      mounted_with_discard(dev) ? k_discard_threads : std::min(k_cpu_threads, cores);
  spdlog::debug("session purge: {} unlinking thread(s)", threads);
  return threads;
}

util::SysResult<void> fill(util::DirReader& reader, Chunk& chunk, std::size_t max) {
  util::DirEntry entry;
  while (chunk.entries.size() < max) {
    auto more = reader.next(entry);
    if (!more) {
      if (more.error().err == EINTR) {
        throw_if_interrupted();
        continue;
      }
      return std::unexpected(more.error());
    }
    if (!*more) {
      return {};
    }
    chunk.add(entry.ino, entry.type, entry.name);
  }
  return {};
}

void add(PurgeResult& to, const PurgeResult& from) {
  to.files_removed += from.files_removed;
  to.bytes_removed += from.bytes_removed;
  to.files_kept += from.files_kept;
  to.skipped += from.skipped;
  to.errors += from.errors;
  to.dirs_visited += from.dirs_visited;
}

} // namespace odbox::core::purge_parts
