#include "odbox/app/app.hpp"

#include "odbox/app/commands.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/util/log.hpp"
#include "odbox/util/signals.hpp"
#include "odbox/util/text.hpp"
#include "odbox/version.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <spdlog/spdlog.h>

namespace odbox::app {
namespace {

constexpr const char* k_description =
    "odbox-backup: backups of an Odoo server (PostgreSQL database + file store)";

constexpr const char* k_exit_codes =
    "Exit codes: 0 ok; 1 failed (the previous backup is intact, Odoo runs);\n"
    "2 usage or configuration error (nothing was touched); 3 another run holds\n"
    "the lock; 4 written but inconsistent, or verify/status found a problem;\n"
    "5 Odoo could not be restarted; 6 written, but its off-site copy failed;\n"
    "128+N killed by signal N.";

constexpr const char* k_footer =
    "The backup area is <basedir>/odoo/: <db>.dump.sql, <db>.manifest.json,\n"
    "<db>.files.tsv, filestore/<db>/ and runs.jsonl. PostgreSQL is reached\n"
    "through the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSFILE, ...) or\n"
    "postgres.conninfo in the config file. Global options go before or after\n"
    "the command; 'odbox-backup COMMAND --help' lists a command's own options.\n";

constexpr const char* k_command_footer =
    "The global options (--config, --basedir, --db, --data-dir, --sessions-dir,\n"
    "--odoo-service, --log-level, --pg-dump, --psql, --rsync, --systemctl, --restic,\n"
    "--json; see odbox-backup --help) go before or after the command.\n";

// CLI11's usage line, as the README writes it.
class HelpFormatter : public CLI::Formatter {
public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (app->get_parent() == nullptr) {
      return "Usage: " + name + " [global options] COMMAND [command options]\n";
    }
    return "Usage: odbox-backup [global options] " + app->get_name() + " [options]\n";
  }
};

// One line for CLI11's parse errors, with the way out.
int usage_error(const std::string& message) {
  std::cerr << "odbox-backup: " << util::printable(message)
            << " (see odbox-backup --help)\n";
  return static_cast<int>(core::ExitCode::usage);
}

// "hot, cold, ..." for messages.
std::string command_names() {
  std::string names;
  for (const Command& command : commands()) {
    names += (names.empty() ? "" : ", ") + std::string(command.name);
  }
  return names;
}

// CLI11 says "A subcommand is required" for a missing and for a misspelt
// command alike: tell them apart and list the commands.
int command_error(const CLI::App& app) {
  for (const std::string& word : app.remaining()) {
    if (!word.starts_with("-")) {
      return usage_error("unknown command '" + word + "': give one of " +
                         command_names());
    }
  }
  return usage_error("no command given: give one of " + command_names());
}

// The command CLI11 parsed. require_subcommand(1) makes it exactly one.
const Command* parsed_command(const CLI::App& app) {
  for (const Command& command : commands()) {
    if (app.got_subcommand(std::string(command.name))) {
      return &command;
    }
  }
  return nullptr;
}

void add_commands(CLI::App& app, CommandLine& line) {
  const auto formatter = std::make_shared<HelpFormatter>();
  app.formatter(formatter);
  app.footer(std::string(k_footer) + k_exit_codes);
  app.option_defaults()->group("Global options");
  app.get_help_ptr()->group("Global options");
  app.get_version_ptr()->group("Global options");
  add_global_options(app, line.settings, line.common);
  app.option_defaults()->group("Options"); // what the commands inherit
  for (const Command& command : commands()) {
    CLI::App* cmd =
        app.add_subcommand(std::string(command.name), std::string(command.help));
    cmd->group("Commands");
    cmd->formatter(formatter);
    cmd->footer(std::string(k_command_footer) + k_exit_codes);
    command.add_options(*cmd, line);
  }
  refuse_blank_values(app);
}

int run_command(const Command& command, const CommandLine& line) {
  core::Config config = build_config(line.settings);
  try {
    util::setup_logging(config.log_level);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(e.what());
  }
  return command.run(config, line);
}

} // namespace

int run(int argc, char** argv) {
  CLI::App app(k_description, "odbox-backup");
  app.set_version_flag("--version", std::string("odbox-backup ") + k_version);
  app.require_subcommand(1);
  app.fallthrough(); // global options are accepted after the command too
  CommandLine line;
  add_commands(app, line);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return app.get_subcommands().empty() ? command_error(app) : usage_error(e.what());
  }
  const Command* command = parsed_command(app);
  if (command == nullptr) {
    return command_error(app);
  }

  if (auto installed = util::install_termination_handlers(); !installed) {
    std::cerr << "odbox-backup: cannot install the signal handlers: "
              << installed.error().message() << "\n";
    return static_cast<int>(core::ExitCode::failed);
  }
  util::setup_logging("info");
  try {
    return run_command(*command, line);
  } catch (const core::Error& e) {
    // Messages carry names and paths from the user and the disk: never a
    // raw byte into the journal.
    if (e.code() == core::ExitCode::restart_failed) {
      spdlog::critical("{}", util::printable(e.what()));
    } else {
      spdlog::error("{}", util::printable(e.what()));
    }
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    spdlog::error("internal error: {} (please report it)", util::printable(e.what()));
    return static_cast<int>(core::ExitCode::failed);
  }
}

} // namespace odbox::app
