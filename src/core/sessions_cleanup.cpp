#include "odbox/core/sessions_cleanup.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/session_purge.hpp"
#include "odbox/core/sessions_aside.hpp"
#include "odbox/util/test_point.hpp"
#include "odbox/util/text.hpp"
#include "odbox/util/time.hpp"

#include <ctime>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace odbox::core {
namespace {

// The background purge yields to Odoo's users and to pg_dump: its threads
// (and those its pool starts, which inherit it) run at this nice value.
constexpr int k_background_nice = 10;

// "20261128T020000Z-4242": sorts by time; the pid tells runs of one second apart.
std::string new_run_id() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char stamp[32];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  return std::string(stamp, n) + "-" + std::to_string(::getpid());
}

std::string took(std::chrono::steady_clock::time_point start) {
  return util::format_duration(std::chrono::duration<double>(util::seconds_since(start)));
}

void add(SessionsPurged& to, const PurgeResult& from) {
  to.files_removed += from.files_removed;
  to.bytes_removed += from.bytes_removed;
  to.errors += from.errors;
}

// Moves the sessions aside while Odoo is stopped and deletes them once it
// runs again; in place when the move is not safe. With keep_newer, deletes
// the old files before the stop and nothing while Odoo is stopped.
class SessionsCleanupRun final : public SessionsCleanup {
public:
  SessionsCleanupRun(std::filesystem::path dir,
                     std::optional<std::chrono::seconds> keep_newer)
      : m_dir(std::move(dir)), m_shown(util::printable(m_dir.string())),
        m_keep_newer(keep_newer), m_run_id(new_run_id()) {
    m_purged.method = "none";
  }

  void before_stop() override {
    if (!m_keep_newer) {
      return;
    }
    m_purged.method = "before_stop";
    const auto start = std::chrono::steady_clock::now();
    add(m_purged, purge_sessions({.dir = m_dir, .keep_newer = m_keep_newer}));
    m_purged.seconds += util::seconds_since(start);
    spdlog::info("sessions: deleted {} files ({}) older than {} days from {} in {}, Odoo "
                 "running",
                 m_purged.files_removed, util::format_bytes(m_purged.bytes_removed),
                 m_keep_newer->count() / 86400, m_shown, took(start));
  }

  void while_stopped() override {
    util::test_point("sessions.while_stopped");
    if (m_keep_newer) {
      return; // the old ones went before the stop; the recent ones stay
    }
    const auto start = std::chrono::steady_clock::now();
    const MovedAside moved = move_sessions_aside(m_dir, m_run_id);
    if (moved.aside) {
      m_purged.method = "aside";
      m_aside = *moved.aside;
      spdlog::info("sessions: moved {} aside to {} in {}; deleted once Odoo runs again",
                   m_shown, util::printable(moved.aside->filename().string()),
                   took(start));
    } else if (moved.not_moved_because.empty()) {
      m_purged.method = "none";
    } else {
      delete_in_place(moved.not_moved_because);
    }
    m_purged.while_stopped_seconds = util::seconds_since(start);
  }

  void after_restart() override {
    if (!m_background.joinable()) {
      m_background = std::jthread([this] { delete_moved_aside_dirs(); });
    }
  }

  SessionsPurged finish() override {
    if (m_background.joinable()) {
      m_background.join();
    }
    return m_purged;
  }

private:
  void delete_in_place(const std::string& because) {
    spdlog::warn("sessions: {} cannot be moved aside ({}): deleting its files in place, "
                 "Odoo stopped (the downtime grows with their number)",
                 m_shown, because);
    m_purged.method = "in_place";
    m_purged.in_place_because = because;
    const auto start = std::chrono::steady_clock::now();
    add(m_purged, purge_sessions({.dir = m_dir, .keep_newer = std::nullopt}));
    m_purged.seconds += util::seconds_since(start);
    spdlog::info("sessions: deleted {} files ({}) from {} in {}", m_purged.files_removed,
                 util::format_bytes(m_purged.bytes_removed), m_shown, took(start));
  }

  // The thread after_restart() starts: this run's moved-aside directory and
  // those earlier runs left.
  void delete_moved_aside_dirs() noexcept {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), k_background_nice);
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t files_before = m_purged.files_removed;
    const std::uint64_t bytes_before = m_purged.bytes_removed;
    try {
      for (const std::filesystem::path& aside : moved_aside_dirs(m_dir, m_run_id)) {
        if (aside != m_aside) {
          ++m_purged.leftovers;
          spdlog::info("sessions: deleting {}, left by an earlier run",
                       util::printable(aside.string()));
        }
        add(m_purged, delete_moved_aside(aside));
      }
    } catch (const Interrupted& e) {
      m_purged.complete = false;
      spdlog::warn("sessions: {} while deleting what was moved aside; the next run "
                   "finishes it",
                   e.what());
    } catch (const std::exception& e) {
      m_purged.complete = false;
      spdlog::error("sessions: {}; the next run tries again", e.what());
    }
    m_purged.seconds += util::seconds_since(start);
    if (m_aside || m_purged.leftovers > 0) {
      spdlog::info("sessions: deleted {} files ({}) moved aside, in {}, Odoo running",
                   m_purged.files_removed - files_before,
                   util::format_bytes(m_purged.bytes_removed - bytes_before),
                   took(start));
    }
  }

  std::filesystem::path m_dir;
  std::string m_shown;
  std::optional<std::chrono::seconds> m_keep_newer;
  std::string m_run_id;
  std::optional<std::filesystem::path> m_aside; // this run's
  SessionsPurged m_purged;                      // the background thread's until joined
  std::jthread m_background;                    // last: joined before the rest goes
};

} // namespace

std::unique_ptr<SessionsCleanup> make_sessions_cleanup(const Config& config) {
  return std::make_unique<SessionsCleanupRun>(config.sessions(),
                                              config.cold.sessions_keep_age());
}

} // namespace odbox::core
