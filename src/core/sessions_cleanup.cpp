#include "odbox/core/sessions_cleanup.hpp"

#include "odbox/core/session_purge.hpp"
#include "odbox/util/time.hpp"

#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

// Deletes the session files in place while Odoo is stopped.
class PurgeWhileStopped final : public SessionsCleanup {
public:
  explicit PurgeWhileStopped(const Config& config)
      : m_options{.dir = config.sessions(), .keep_newer = std::nullopt} {
    if (config.cold.sessions_keep_days) {
      m_options.keep_newer =
          std::chrono::seconds(*config.cold.sessions_keep_days * 86400LL);
    }
  }

  void before_stop() override {}

  void while_stopped() override {
    const auto start = std::chrono::steady_clock::now();
    const PurgeResult purged = purge_sessions(m_options);
    m_purged = SessionsPurged{.files_removed = purged.files_removed,
                              .bytes_removed = purged.bytes_removed,
                              .seconds = util::seconds_since(start)};
    spdlog::info("purged {} session files ({}) from {} in {}", m_purged.files_removed,
                 util::format_bytes(m_purged.bytes_removed), m_options.dir.string(),
                 util::format_duration(std::chrono::duration<double>(m_purged.seconds)));
  }

  void after_restart() override {}

  SessionsPurged finish() override { return m_purged; }

private:
  PurgeOptions m_options;
  SessionsPurged m_purged;
};

} // namespace

std::unique_ptr<SessionsCleanup> make_sessions_cleanup(const Config& config) {
  return std::make_unique<PurgeWhileStopped>(config);
}

} // namespace odbox::core
