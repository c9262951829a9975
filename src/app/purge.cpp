#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/preflight.hpp"
#include "odbox/core/session_purge.hpp"
#include "odbox/util/time.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

void add_purge_sessions_options(CLI::App& cmd, CommandLine& line) {
  add_sessions_keep_days_option(cmd, line.settings);
}

int run_purge_sessions(const Config& config) {
  if (!config.sessions_dir && config.data_dir.empty()) {
    throw UsageError("purge-sessions needs --sessions-dir DIR (or --data-dir)");
  }
  check_sessions_dir(config);
  const PurgeOptions options{.dir = config.sessions(),
                             .keep_newer = config.cold.sessions_keep_age()};
  const auto start = std::chrono::steady_clock::now();
  const PurgeResult result = purge_sessions(options);
  spdlog::info(
      "purged {} session files ({}) from {} in {}; {} kept, {} skipped",
      result.files_removed, util::format_bytes(result.bytes_removed),
      options.dir.string(),
      util::format_duration(std::chrono::duration<double>(util::seconds_since(start))),
      result.files_kept, result.skipped);
  return result.errors == 0 ? 0 : static_cast<int>(ExitCode::failed);
}

} // namespace odbox::app
