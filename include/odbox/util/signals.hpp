#pragma once

#include "odbox/util/sys_error.hpp"

namespace odbox::util {

// SIGTERM, SIGINT and SIGHUP set a flag and make the wake-up descriptor
// readable (nothing else); loops look at pending_signal() and unwind.
// SIGPIPE is ignored so a closed pipe is an EPIPE error instead of a silent
// death. The handlers are installed without SA_RESTART and no thread blocks
// these signals, so a blocking call in the thread that takes the signal
// (flock while waiting for the run lock) returns EINTR. Fails only when the
// wake-up descriptor cannot be created.
[[nodiscard]] SysResult<void> install_termination_handlers();

// The first termination signal received, or 0.
[[nodiscard]] int pending_signal() noexcept;

// An eventfd that becomes readable when a termination signal is received and
// stays readable while it is pending, or -1 before
// install_termination_handlers(). A process-directed signal runs its handler
// in one thread only; every thread that waits for a child polls this
// descriptor beside its pipes, so one signal wakes all of them at once.
[[nodiscard]] int termination_wake_fd() noexcept;

// For tests: forget a received signal (the wake-up descriptor is drained).
void clear_pending_signal() noexcept;

} // namespace odbox::util
