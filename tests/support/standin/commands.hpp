#pragma once

#include "args.hpp"

namespace odbox_standin {

// Each subcommand: parsed options in, exit code out; errors throw (UsageError
// for the command line, anything else is a failure) and main() reports them.

// init: (re)creates the database with Odoo-shaped tables and data, its file
// store and session files.
int command_init(const Args& args);
// run: behaves like a running Odoo until SIGTERM/SIGINT/SIGHUP.
int command_run(const Args& args);
// gc: one file store GC pass; exit 3 when the lock was not granted.
int command_gc(const Args& args);
// expected-files: the referenced store_fname values, one per line.
int command_expected_files(const Args& args);
// verify: every referenced file present with the right size (and sha1);
// exit 4 when one is not.
int command_verify(const Args& args);

} // namespace odbox_standin
