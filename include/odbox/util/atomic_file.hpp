#pragma once

#include "odbox/util/direct_output.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string_view>

namespace odbox::util {

// Commit-or-discard output: a temporary file (mode 0600) in the target's
// directory, written, fsynced, renamed over the target and the directory
// fsynced. Until commit() the target is untouched; the destructor of an
// uncommitted file removes the temporary, so a failed or interrupted writer
// leaves the previous content byte-for-byte intact.
class AtomicFile {
public:
  // Options for large streamed outputs.
  struct Options {
    // Write the file out as it grows and keep none of it in the page cache,
    // so a dump of many GB does not evict the server's cache: past the cache
    // (DirectOutput) where the file system allows it, else through it with
    // write-back started and finished pages dropped every 8 MiB.
    bool drop_cache = false;
    // The committed file's mode (0600: backups are private).
    unsigned mode = 0600;
  };

  // Temporary names are "<dir>/.<name>.tmp.<pid>.<n>" so that stale ones can
  // be recognised (temp_prefix()) and removed by a later run.
  static SysResult<AtomicFile> create(const std::filesystem::path& target,
                                      Options options);
  static SysResult<AtomicFile> create(const std::filesystem::path& target) {
    return create(target, Options{});
  }
  [[nodiscard]] static std::string temp_prefix(const std::filesystem::path& target);

  AtomicFile(AtomicFile&&) noexcept;
  AtomicFile& operator=(AtomicFile&&) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  // Writes all of `data` (EINTR and short writes handled).
  SysResult<void> write(const void* data, std::size_t size);
  SysResult<void> write(std::string_view data) { return write(data.data(), data.size()); }
  // fsync, rename over the target, fsync the directory.
  SysResult<void> commit();
  // The two halves of commit(), for a set of files committed together
  // (commit_together): every file is made durable before any is renamed.
  SysResult<void> sync();
  SysResult<void> publish();
  // Removes the temporary file now (also done by the destructor).
  void discard() noexcept;

  [[nodiscard]] std::uint64_t size() const noexcept { return m_size; }
  [[nodiscard]] const std::filesystem::path& temp_path() const noexcept { return m_temp; }
  [[nodiscard]] int fd() const noexcept { return m_fd.get(); }

private:
  AtomicFile(UniqueFd fd, std::filesystem::path temp, std::filesystem::path target,
             Options options);
  void writeback(bool final) noexcept;

  UniqueFd m_fd;
  std::filesystem::path m_temp;
  std::filesystem::path m_target;
  Options m_options;
  std::uint64_t m_size = 0;
  std::uint64_t m_synced = 0;  // bytes written back and dropped from the cache
  std::uint64_t m_started = 0; // bytes whose write-back was started
  std::optional<DirectOutput> m_direct;
  bool m_committed = false;
};

// Commits several files as one step: syncs every one first (any write or
// fsync error leaves every target untouched), then renames them in the
// order given, so that the last one (the file that ties the others
// together) appears last. Stops at the first failure.
SysResult<void> commit_together(std::initializer_list<AtomicFile*> files);

// Writes a whole small file atomically (mode 0600 unless given).
SysResult<void> write_file_atomic(const std::filesystem::path& target,
                                  std::string_view data, unsigned mode = 0600);

// fsync of a directory (after a rename or unlink inside it).
SysResult<void> fsync_dir(const std::filesystem::path& dir);

} // namespace odbox::util
