#pragma once

#include "odbox/core/config.hpp"
#include "odbox/core/run_facts.hpp"

#include <memory>

namespace odbox::core {

// What a cold run does with Odoo's session files, in the steps of its
// sequence. An interface, so that the sequence's order can be tested with a
// fake that records when each step ran.
class SessionsCleanup {
public:
  virtual ~SessionsCleanup() = default;
  // While Odoo still runs, before it is stopped.
  virtual void before_stop() = 0;
  // While Odoo is stopped: whatever must not happen while it runs.
  virtual void while_stopped() = 0;
  // Once Odoo runs again: on the way to the dumps, or on a failed run's way
  // out once Odoo started again (not when it could not be).
  virtual void after_restart() = 0;
  // Waits for what the other steps started, and says what was removed.
  // Called once, on every path, before the run records itself. A
  // termination signal that stopped the deletion is not thrown here: the
  // facts say it is not complete, and the signal stays pending for the
  // sequence to end the run.
  virtual SessionsPurged finish() = 0;
};

// The cleanup of config.sessions(). Without cold.sessions_keep_days: while
// Odoo is stopped the directory is moved aside (move_sessions_aside), or,
// where that is not safe, its files are deleted in place, with a warning;
// once Odoo runs again a thread deletes what was moved aside, and what
// killed runs left, and finish() waits for it. With it: files older than
// that are deleted before the stop, each checked again right before its
// unlink, and nothing while Odoo is stopped. before_stop() and
// while_stopped() throw like purge_sessions().
std::unique_ptr<SessionsCleanup> make_sessions_cleanup(const Config& config);

} // namespace odbox::core
