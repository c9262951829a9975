// odoo-standin: a small program that behaves like a running Odoo where a
// backup tool can tell the difference (database shape, file store writes and
// garbage collection, session files, stopping at once on SIGTERM).
#include "commands.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using odbox_standin::Args;

struct Command {
  const char* name;
  const char* usage;
  std::set<std::string> options;
  std::set<std::string> flags;
  int (*run)(const Args&);
};

const std::array<Command, 5>& commands() {
  static const std::array<Command, 5> k_commands{{
      {"init",
       "init --db NAME --data-dir DIR [--attachments N=300] [--bulk-rows N=20000]\n"
       "     [--sessions N=200] [--session-layout flat|sharded|both=both]\n"
       "     [--max-file-size BYTES=65536] [--seed N=1]",
       {"db", "data-dir", "attachments", "bulk-rows", "sessions", "session-layout",
        "max-file-size", "seed"},
       {},
       odbox_standin::command_init},
      {"run",
       "run --db NAME --data-dir DIR [--events FILE] [--interval-ms N=20] [--no-gc]\n"
       "    [--gc-every N=10] [--gc-lock-timeout-ms N=1000] [--rollback-one-in N=5]\n"
       "    [--max-file-size BYTES=65536] [--session-layout flat|sharded|both=sharded]\n"
       "    [--duration-ms N=0 (until SIGTERM/SIGINT/SIGHUP)] [--seed N]",
       {"db", "data-dir", "events", "interval-ms", "gc-every", "gc-lock-timeout-ms",
        "rollback-one-in", "max-file-size", "session-layout", "duration-ms", "seed"},
       {"no-gc"},
       odbox_standin::command_run},
      {"gc",
       "gc --db NAME --data-dir DIR [--gc-lock-timeout-ms N=1000]",
       {"db", "data-dir", "gc-lock-timeout-ms"},
       {},
       odbox_standin::command_gc},
      {"expected-files",
       "expected-files --db NAME",
       {"db"},
       {},
       odbox_standin::command_expected_files},
      {"verify",
       "verify --db NAME --data-dir DIR [--deep]",
       {"db", "data-dir"},
       {"deep"},
       odbox_standin::command_verify},
  }};
  return k_commands;
}

void print_usage(std::ostream& out) {
  out << "usage: odoo-standin COMMAND [options]\n"
         "PostgreSQL connection from PGHOST, PGPORT, PGUSER (libpq environment).\n"
         "Exit codes: 0 ok, 1 failure, 2 usage, 3 GC lock not granted, 4 verify found "
         "problems.\n\n";
  for (const Command& command : commands()) {
    out << "  odoo-standin " << command.usage << "\n";
  }
}

} // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? 2 : 0;
  }
  for (const Command& command : commands()) {
    if (args[0] != command.name) {
      continue;
    }
    if (std::find(args.begin() + 1, args.end(), "--help") != args.end()) {
      std::cout << "usage: odoo-standin " << command.usage << "\n";
      return 0;
    }
    try {
      const Args parsed({args.begin() + 1, args.end()}, command.options, command.flags);
      return command.run(parsed);
    } catch (const odbox_standin::UsageError& error) {
      std::cerr << "odoo-standin " << command.name << ": " << error.what()
                << "\nusage: odoo-standin " << command.usage << "\n";
      return 2;
    } catch (const std::invalid_argument& error) {
      std::cerr << "odoo-standin " << command.name << ": " << error.what() << "\n";
      return 2;
    } catch (const std::exception& error) {
      std::cerr << "odoo-standin " << command.name << ": " << error.what() << "\n";
      return 1;
    }
  }
  std::cerr << "odoo-standin: unknown command '" << args[0] << "'\n";
  print_usage(std::cerr);
  return 2;
}
