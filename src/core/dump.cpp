#include "odbox/core/dump.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/signals.hpp"
#include "odbox/util/time.hpp"

#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

constexpr std::size_t k_buffer_size = 1U << 20U; // 1 MiB
constexpr std::size_t k_tail_size = 1024;
constexpr std::size_t k_stderr_keep = 8192;
constexpr std::string_view k_complete_marker = "-- PostgreSQL database dump complete";

void keep_tail(std::string& tail, const char* data, std::size_t size, std::size_t limit) {
  if (size >= limit) {
    tail.assign(data + size - limit, limit);
    return;
  }
  tail.append(data, size);
  if (tail.size() > limit) {
    tail.erase(0, tail.size() - limit);
  }
}

} // namespace

bool dump_tail_is_complete(std::string_view tail) {
  const auto pos = tail.rfind(k_complete_marker);
  if (pos == std::string_view::npos) {
    return false;
  }
  // After the marker only blank lines, comments and psql meta-commands such
  // as "\unrestrict <key>" may follow; never SQL.
  std::string_view rest = tail.substr(pos + k_complete_marker.size());
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.remove_suffix(1);
    }
    if (!line.empty() && !line.starts_with("--") && !line.starts_with("\\")) {
      return false;
    }
    if (eol == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(eol + 1);
  }
  return true;
}

DumpStream::DumpStream(DumpRequest request) : m_request(std::move(request)) {
  auto file = util::AtomicFile::create(m_request.target, {.drop_cache = true});
  if (!file) {
    throw RunError("cannot create the dump file: " + file.error().message());
  }
  m_file.emplace(std::move(*file));
  if (m_request.compression.compressed()) {
    try {
      m_zstd.emplace(m_request.compression.zstd());
    } catch (const std::runtime_error& e) {
      throw RunError(std::string("cannot set up zstd compression: ") + e.what());
    }
  }

  util::SpawnSpec spec;
  spec.argv = {m_request.pg_dump, "--snapshot=" + m_request.snapshot_id,
               "--lock-wait-timeout=" +
                   std::to_string(m_request.lock_wait_timeout.count() * 1000),
               "--no-password", "--dbname=" + m_request.database};
  spec.env_set = m_request.env;
  spec.env_set.push_back("PGAPPNAME=odbox-backup pg_dump");
  spec.stdout_pipe_size = k_buffer_size; // fewer wake-ups; the default maximum is 1 MiB
  util::CaptureLimits limits;
  limits.max_err = k_stderr_keep;
  limits.on_stdout = [this](std::string_view chunk) { take(chunk); };
  limits.stop_when = [this] { return m_stop.load(); };
  limits.read_buffer = k_buffer_size;
  limits.stop_grace = std::chrono::seconds(5);
  auto started = util::ChildPump::start(spec, std::move(limits));
  if (!started) {
    throw RunError("cannot start pg_dump: " + started.error().message() +
                   " (check --pg-dump or PATH)");
  }
  m_pump.emplace(std::move(*started));
  m_progress.emplace("dump " + m_request.database);
  spdlog::debug("{}: pg_dump pid {} started on snapshot {}", m_request.database,
                m_pump->pid(), m_request.snapshot_id);
  m_thread = std::thread([this] { pump(); });
}

DumpStream::~DumpStream() {
  abort();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  // m_pump's child reaps pg_dump if still running; m_file removes the
  // temporary file unless committed.
}

void DumpStream::abort() noexcept {
  m_stop.store(true);
  if (m_pump) {
    m_pump->wake();
  }
}

void DumpStream::pump() noexcept {
  const auto start = std::chrono::steady_clock::now();
  try {
    auto run = m_pump->run();
    if (run && m_zstd && m_write_error.empty()) {
      m_write_error = m_zstd->finish(
          [this](const void* data, std::size_t size) { return put(data, size); });
    }
    m_progress->finish();
    judge(run);
  } catch (const std::exception& e) {
    m_outcome.complete = false;
    m_outcome.error = e.what();
  }
  m_outcome.seconds = util::seconds_since(start);
}

void DumpStream::take(std::string_view chunk) noexcept {
  if (!m_write_error.empty()) {
    return;
  }
  try {
    m_digest.update(chunk);
    m_scanner.feed(chunk);
  } catch (const std::exception& e) {
    m_write_error = e.what();
  }
  keep_tail(m_tail, chunk.data(), chunk.size(), k_tail_size);
  if (m_write_error.empty()) {
    const util::ByteSink sink = [this](const void* data, std::size_t size) {
      return put(data, size);
    };
    m_write_error = m_zstd ? m_zstd->write(chunk, sink) : put(chunk.data(), chunk.size());
  }
  if (!m_write_error.empty()) {
    m_stop.store(true); // the pump asks stop_when right after this chunk
    return;
  }
  m_bytes.fetch_add(chunk.size());
  m_progress->update(m_bytes.load());
}

std::string DumpStream::put(const void* data, std::size_t size) {
  if (m_zstd) {
    m_file_digest.update(data, size);
  }
  if (auto ok = m_file->write(data, size); !ok) {
    return ok.error().message();
  }
  return {};
}

void DumpStream::judge(const util::SysResult<util::Captured>& run) {
  m_outcome.plain_bytes = m_bytes.load();
  m_outcome.plain_sha256 = m_digest.hex_final();
  m_outcome.bytes = m_zstd ? m_file->size() : m_outcome.plain_bytes;
  m_outcome.sha256 = m_zstd ? m_file_digest.hex_final() : m_outcome.plain_sha256;
  m_outcome.header_ok = m_scanner.header_ok();
  m_outcome.attachment_rows = m_scanner.table_rows();
  const int sig =
      run && run->interrupted_by != 0 ? run->interrupted_by : util::pending_signal();
  if (!run) {
    m_outcome.error = "pg_dump: " + run.error().message();
  } else if (!m_write_error.empty()) {
    m_outcome.error = "writing the dump failed: " + m_write_error;
  } else if (sig != 0) {
    m_outcome.error = "pg_dump stopped: interrupted by signal " + std::to_string(sig);
  } else if (run->stopped || m_stop.load()) {
    m_outcome.error = "pg_dump stopped: the run was aborted";
  } else if (!run->status.success()) {
    const std::string why = util::last_line(run->err);
    m_outcome.error =
        "pg_dump " + run->status.describe() + (why.empty() ? "" : ": " + why);
  } else if (!m_outcome.header_ok) {
    m_outcome.error = "pg_dump exited 0 but the dump does not start with its header "
                      "(not a pg_dump stream): not kept";
  } else if (!dump_tail_is_complete(m_tail)) {
    m_outcome.error = "pg_dump exited 0 but the dump lacks its completion line "
                      "(truncated output): not kept";
  } else {
    m_outcome.complete = true;
  }
}

const DumpOutcome& DumpStream::wait() {
  if (!m_waited) {
    m_thread.join();
    m_waited = true;
  }
  return m_outcome;
}

util::AtomicFile& DumpStream::complete_file() {
  if (!wait().complete) {
    throw RunError("refusing to commit an incomplete dump of " + m_request.database);
  }
  return *m_file;
}

} // namespace odbox::core
