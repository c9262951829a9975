#pragma once

#include <stdexcept>
#include <string>

namespace odbox::core {

// The exit codes of SPEC.md "Output and exit codes".
enum class ExitCode : int {
  ok = 0,
  failed = 1,         // the run failed; previous backup intact; Odoo runs again
  usage = 2,          // usage or configuration error; nothing touched
  locked = 3,         // another run holds the backup area's lock
  inconsistent = 4,   // written but inconsistent, or verify found problems
  restart_failed = 5, // Odoo could not be restarted after a cold backup
  offsite_failed = 6, // backup written locally, but its off-site copy failed
};

// The one exception type of the domain. `what()` is a single line that names
// the problem and, for the user's errors, how to fix it. The single catch
// site in app/ maps it to the exit code.
class Error : public std::runtime_error {
public:
  Error(ExitCode code, const std::string& message)
      : std::runtime_error(message), m_code(code) {}
  [[nodiscard]] ExitCode code() const noexcept { return m_code; }

private:
  ExitCode m_code;
};

// Bad configuration or input: exit 2, nothing touched.
class UsageError : public Error {
public:
  explicit UsageError(const std::string& message) : Error(ExitCode::usage, message) {}
};

// A run failed after it started: exit 1.
class RunError : public Error {
public:
  explicit RunError(const std::string& message) : Error(ExitCode::failed, message) {}
};

// A termination signal arrived: the run unwound (Odoo restarted if it was
// stopped) and exits 128 + N.
class Interrupted : public Error {
public:
  explicit Interrupted(int signal)
      : Error(static_cast<ExitCode>(128 + signal),
              "interrupted by signal " + std::to_string(signal)),
        m_signal(signal) {}
  [[nodiscard]] int signal() const noexcept { return m_signal; }

private:
  int m_signal;
};

// Throws Interrupted if a termination signal is pending (util/signals.hpp).
void throw_if_interrupted();

} // namespace odbox::core
