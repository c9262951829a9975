#include "odbox/core/dump.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/digest.hpp"
#include "odbox/util/progress.hpp"
#include "odbox/util/signals.hpp"
#include "odbox/util/time.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace odbox::core {
namespace {

constexpr std::size_t k_buffer_size = 1U << 20U;  // 1 MiB
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

  util::SpawnSpec spec;
  spec.argv = {m_request.pg_dump,
               "--snapshot=" + m_request.snapshot_id,
               "--lock-wait-timeout=" + std::to_string(m_request.lock_wait_timeout.count() * 1000),
               "--no-password",
               "--dbname=" + m_request.database};
  spec.env_set = m_request.env;
  spec.env_set.push_back("PGAPPNAME=odbox-backup pg_dump");
  auto child = util::spawn(spec);
  if (!child) {
    throw RunError("cannot start pg_dump: " + child.error().message() +
                   " (check --pg-dump or PATH)");
  }
  // Fewer wake-ups with a large pipe; the default maximum is 1 MiB.
  ::fcntl(child->out().get(), F_SETPIPE_SZ, static_cast<int>(k_buffer_size));
  m_child.emplace(std::move(*child));
  spdlog::debug("{}: pg_dump pid {} started on snapshot {}", m_request.database,
                m_child->pid(), m_request.snapshot_id);
  m_thread = std::thread([this] { pump(); });
}

DumpStream::~DumpStream() {
  abort();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  // m_child's destructor reaps pg_dump if still running; m_file's removes the
  // temporary file unless committed.
}

void DumpStream::abort() noexcept { m_stop.store(true); }

void DumpStream::pump() noexcept {
  const auto start = std::chrono::steady_clock::now();
  try {
    pump_loop(*m_child);
  } catch (const std::exception& e) {
    m_outcome.complete = false;
    m_outcome.error = e.what();
  }
  m_outcome.seconds = util::seconds_since(start);
}

void DumpStream::pump_loop(util::Child& child) {
  std::vector<char> buffer(k_buffer_size);
  std::string tail;
  std::string errors;
  util::Digest digest(util::Digest::Kind::sha256);
  util::Progress progress("dump " + m_request.database);
  std::string write_error;

  while (child.out().valid() || child.err().valid()) {
    if (m_stop.load() || util::pending_signal() != 0) {
      break;
    }
    pollfd fds[2];
    nfds_t count = 0;
    if (child.out().valid()) {
      fds[count++] = pollfd{child.out().get(), POLLIN, 0};
    }
    if (child.err().valid()) {
      fds[count++] = pollfd{child.err().get(), POLLIN, 0};
    }
    if (::poll(fds, count, 200) < 0 && errno != EINTR) {
      throw std::runtime_error("poll: " + util::errno_text(errno));
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      const bool is_out = fds[i].fd == child.out().get();
      util::UniqueFd& fd = is_out ? child.out() : child.err();
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        fd.reset();
        continue;
      }
      const auto size = static_cast<std::size_t>(n);
      if (!is_out) {
        keep_tail(errors, buffer.data(), size, k_stderr_keep);
        continue;
      }
      digest.update(buffer.data(), size);
      keep_tail(tail, buffer.data(), size, k_tail_size);
      if (auto ok = m_file->write(buffer.data(), size); !ok) {
        write_error = ok.error().message();
        m_stop.store(true);
        break;
      }
      m_bytes.fetch_add(size);
      progress.update(m_bytes.load());
    }
  }
  progress.finish();

  util::ExitStatus status;
  if (m_stop.load() || util::pending_signal() != 0) {
    status = child.terminate(std::chrono::seconds(5));
  } else {
    status = child.wait();
  }
  m_outcome.bytes = m_bytes.load();
  m_outcome.sha256 = digest.hex_final();
  if (!write_error.empty()) {
    m_outcome.error = "writing the dump failed: " + write_error;
  } else if (const int sig = util::pending_signal(); sig != 0) {
    m_outcome.error = "pg_dump stopped: interrupted by signal " + std::to_string(sig);
  } else if (m_stop.load()) {
    m_outcome.error = "pg_dump stopped: the run was aborted";
  } else if (!status.success()) {
    const std::string why = util::last_line(errors);
    m_outcome.error = "pg_dump " + status.describe() + (why.empty() ? "" : ": " + why);
  } else if (!dump_tail_is_complete(tail)) {
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

void DumpStream::commit() {
  const DumpOutcome& outcome = wait();
  if (!outcome.complete) {
    throw RunError("refusing to commit an incomplete dump of " + m_request.database);
  }
  if (auto ok = m_file->commit(); !ok) {
    throw RunError("cannot commit the dump of " + m_request.database + ": " +
                   ok.error().message());
  }
}

} // namespace odbox::core
