#include "odbox/app/commands.hpp"
#include "odbox/app/sequences.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/push.hpp"
#include "odbox/core/preflight.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

namespace odbox::app {

using namespace odbox::core;

void add_hot_options(CLI::App& cmd, CommandLine& line) {
  add_run_options(cmd, line.settings);
}

void hot_sequence(BackupRun& run, Backups& backups) {
  run.each(
      backups,
      [&](DatabaseSteps& backup) {
        spdlog::info("{}: hot backup into {}", backup.database(),
                     run.area().root().string());
        backup.open_snapshot();
        throw_if_interrupted();
        backup.start_dump();
        backup.read_file_list();
        backup.sync(/*listed=*/true);
        backup.settle();
        run.report().committed(backup.commit(run.report().facts()));
      },
      BackupRun::After::release);
}

int run_hot(const Config& config, const CommonOptions& common) {
  const Tools tools = preflight(config, RunKind::hot);
  offsite_preflight(config, "hot");
  BackupRun run(config, "hot");
  Backups backups = make_backups(config, run.area(), tools, "hot");
  return run.run(common, [&] { hot_sequence(run, backups); });
}

} // namespace odbox::app
