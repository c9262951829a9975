#pragma once

namespace odbox::app {

// Parses argv, runs the subcommand and returns the process exit code. The
// one place where errors are caught and mapped to exit codes (SPEC.md).
int run(int argc, char** argv);

} // namespace odbox::app
