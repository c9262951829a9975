#pragma once

#include "odbox/util/atomic_file.hpp"
#include "odbox/util/process.hpp"

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
  std::string pg_dump;                 // path or name of pg_dump
  std::vector<std::string> env;        // libpq environment for pg_dump (no password in argv)
  std::string database;
  std::string snapshot_id;             // from SnapshotTransaction
  std::chrono::seconds lock_wait_timeout{600};
  std::filesystem::path target;        // <area>/<db>.dump.sql
};

// How the dump ended.
struct DumpOutcome {
  bool complete = false;        // pg_dump exited 0 and the completion marker is there
  std::uint64_t bytes = 0;
  std::string sha256;
  double seconds = 0;
  std::string error;            // one line, when not complete
};

// Streams `pg_dump --snapshot` (plain SQL) into a temporary file next to the
// target, hashing on the fly (SHA-256), with the written pages dropped from
// the page cache, in a thread of its own so that the file list and the file
// store sync run meanwhile. Memory stays flat: one 1 MiB buffer.
// Nothing replaces the previous dump until commit(); the destructor of an
// uncommitted stream kills pg_dump and removes the temporary file.
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
  // fsync + rename over the target + fsync of the directory; only after a
  // complete outcome. Throws RunError.
  void commit();

  [[nodiscard]] std::uint64_t bytes_so_far() const noexcept { return m_bytes.load(); }

private:
  void pump() noexcept;
  void pump_loop(util::Child& child);

  DumpRequest m_request;
  std::optional<util::AtomicFile> m_file;
  std::optional<util::Child> m_child;
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
