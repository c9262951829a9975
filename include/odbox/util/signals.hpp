#pragma once

namespace odbox::util {

// SIGTERM, SIGINT and SIGHUP set a flag (and nothing else); loops poll
// pending_signal() and unwind. SIGPIPE is ignored so a closed pipe is an
// EPIPE error instead of a silent death.
void install_termination_handlers();

// The first termination signal received, or 0.
[[nodiscard]] int pending_signal() noexcept;

// For tests: forget a received signal.
void clear_pending_signal() noexcept;

} // namespace odbox::util
