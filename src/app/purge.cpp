#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/preflight.hpp"
#include "odbox/core/sessions_cleanup.hpp"
#include "odbox/util/text.hpp"
#include "odbox/util/time.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

void add_purge_sessions_options(CLI::App& cmd, CommandLine& line) {
  add_sessions_keep_days_option(cmd, line.settings);
}

// The cold run's session cleanup without the stop: moved aside and deleted
// (old files only with --sessions-keep-days), what killed runs left too.
int run_purge_sessions(const Config& config) {
  if (!config.sessions_dir && config.data_dir.empty()) {
    throw UsageError("purge-sessions needs --sessions-dir DIR (or --data-dir)");
  }
  check_sessions_dir(config);
  const auto cleanup = make_sessions_cleanup(config);
  cleanup->before_stop();
  cleanup->while_stopped();
  cleanup->after_restart();
  const SessionsPurged purged = cleanup->finish();
  throw_if_interrupted();
  spdlog::info("purged {} session files ({}) from {} in {}", purged.files_removed,
               util::format_bytes(purged.bytes_removed),
               util::printable(config.sessions().string()),
               util::format_duration(std::chrono::duration<double>(purged.seconds)));
  return purged.errors == 0 && purged.complete ? 0 : static_cast<int>(ExitCode::failed);
}

} // namespace odbox::app
