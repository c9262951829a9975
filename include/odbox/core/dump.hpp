#pragma once

#include "odbox/core/compression.hpp"
#include "odbox/core/dump_scanner.hpp"
#include "odbox/util/atomic_file.hpp"
#include "odbox/util/digest.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/progress.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace odbox::core {

// What to dump and where.
struct DumpRequest {
  std::string pg_dump;          // path or name of pg_dump
  std::vector<std::string> env; // libpq environment for pg_dump (no password in argv)
  std::string database;
  std::string snapshot_id; // from SnapshotTransaction
  std::chrono::seconds lock_wait_timeout{600};
  std::filesystem::path target; // <area>/<db>.dump.sql or <db>.dump.sql.zst
  DumpCompression compression;
};

// How the dump ended.
struct DumpOutcome {
  bool complete =
      false; // pg_dump exited 0, and its header and completion marker are there
  bool header_ok = false; // the stream starts with pg_dump's header
  // Rows of the COPY block of public.ir_attachment, counted as they passed;
  // nothing when the dump has no complete block of that table.
  std::optional<std::uint64_t> attachment_rows;
  std::uint64_t bytes = 0; // of the file on disk
  std::string sha256;
  std::uint64_t plain_bytes = 0; // of the SQL (equal to the above when not compressed)
  std::string plain_sha256;
  double seconds = 0;
  std::string error; // one line, when not complete
};

// Streams `pg_dump --snapshot` (plain SQL) into a temporary file next to the
// target, hashing on the fly (SHA-256) and scanning it (PlainDumpScanner),
// compressing it on the way when asked (util::ZstdCompressor, whose workers
// run beside this thread), with the written pages dropped from the page
// cache, in a thread of its own so that the file list and the file store
// sync run meanwhile. The thread runs a util::ChildPump with this stream as
// its stdout sink. Memory stays flat: one 1 MiB buffer (and a 1 MiB pipe),
// plus zstd's window and buffers per worker.
// Nothing replaces the previous dump until its file is committed; the
// destructor of an uncommitted stream kills pg_dump and removes the temporary file.
class DumpStream {
public:
  // Starts pg_dump. Throws RunError if it cannot be started.
  explicit DumpStream(DumpRequest request);
  ~DumpStream();
  DumpStream(const DumpStream&) = delete;
  DumpStream& operator=(const DumpStream&) = delete;

  // Waits for the end of the stream (a termination signal received meanwhile
  // stops pg_dump: the outcome is then incomplete).
  const DumpOutcome& wait();
  // Stops pg_dump now (for errors elsewhere in the run).
  void abort() noexcept;
  // The temporary file of a complete dump, to be committed together with
  // the other files of the backup (util::commit_together). Throws RunError
  // if the dump is not complete.
  util::AtomicFile& complete_file();

  [[nodiscard]] std::uint64_t bytes_so_far() const noexcept { return m_bytes.load(); }

private:
  void pump() noexcept;
  // The pump's stdout sink, in its thread: write, hash, scan, progress.
  void take(std::string_view chunk) noexcept;
  // Writes bytes for the file (SQL or zstd output), hashing them when compressed.
  std::string put(const void* data, std::size_t size);
  void judge(const util::SysResult<util::Captured>& run);

  DumpRequest m_request;
  std::optional<util::AtomicFile> m_file;
  std::optional<util::ChildPump> m_pump;
  util::Digest m_digest{util::Digest::Kind::sha256}; // of the SQL
  std::optional<util::ZstdCompressor> m_zstd;
  util::Digest m_file_digest{util::Digest::Kind::sha256}; // of the .zst
  PlainDumpScanner m_scanner;
  std::optional<util::Progress> m_progress;
  std::string m_tail;        // the last bytes of the stream
  std::string m_write_error; // set by take(); stops the pump
  std::thread m_thread;
  std::atomic<bool> m_stop{false};
  std::atomic<std::uint64_t> m_bytes{0};
  DumpOutcome m_outcome;
  bool m_waited = false;
};

// pg_dump's "-- PostgreSQL database dump complete" line within the last bytes
// of the stream (15.14+ add a "\unrestrict" line after it).
[[nodiscard]] bool dump_tail_is_complete(std::string_view tail);

} // namespace odbox::core
