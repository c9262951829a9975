#include "odbox/app/commands.hpp"

#include "odbox/core/preflight.hpp"

#include <array>

namespace odbox::app {
namespace {

// The commands that back up or read the backup area follow a symbolic link
// as the basedir here, once, before their preflight. cold-recover and
// purge-sessions never touch the area (cold-recover must start Odoo even
// when the backup disk is gone).
const std::array k_commands{
    Command{"hot", "back up while Odoo runs (dump + file store mirror)", add_hot_options,
            [](core::Config& config, const CommandLine& line) {
              core::follow_basedir_link(config);
              return run_hot(config, line.common);
            }},
    Command{"cold", "consistent backup with Odoo stopped briefly; purges sessions",
            add_cold_options,
            [](core::Config& config, const CommandLine& line) {
              core::follow_basedir_link(config);
              core::Systemctl services(config.tools.systemctl);
              return run_cold(config, line.common, services);
            }},
    Command{"cold-recover", "start Odoo again if a killed cold run left it stopped",
            add_cold_recover_options,
            [](core::Config& config, const CommandLine&) {
              core::Systemctl services(config.tools.systemctl);
              return run_cold_recover(config, services);
            }},
    Command{"verify", "check that each backup in the area is complete, restorable",
            add_verify_options,
            [](core::Config& config, const CommandLine& line) {
              core::follow_basedir_link(config);
              return run_verify(config, line.common, line.verify);
            }},
    Command{"restore", "put a backup back as a new database (or --force over one)",
            add_restore_options,
            [](core::Config& config, const CommandLine& line) {
              core::follow_basedir_link(config);
              core::Systemctl services(config.tools.systemctl);
              return run_restore(config, line.restore, services);
            }},
    Command{"export", "a zip of a backup for Odoo's database manager to restore",
            add_export_options,
            [](core::Config& config, const CommandLine& line) {
              core::follow_basedir_link(config);
              return run_export(config, line.export_zip);
            }},
    Command{"purge-sessions",
            "remove Odoo's session files now, as cold does (Odoo stopped)",
            add_purge_sessions_options,
            [](core::Config& config, const CommandLine&) {
              return run_purge_sessions(config);
            }},
    Command{"offsite", "off-site generations through restic: push, snapshots, forget, check",
            add_offsite_options,
            [](core::Config& config, const CommandLine& line) {
              core::follow_basedir_link(config);
              return run_offsite(config, line.common, line.offsite);
            }},
    Command{"status", "last run and last success of each database and kind",
            add_status_options,
            [](core::Config& config, const CommandLine& line) {
              core::follow_basedir_link(config);
              return run_status(config, line.common, line.status);
            }},
};

} // namespace

std::span<const Command> commands() {
  return k_commands;
}

} // namespace odbox::app
