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
  // Once Odoo runs again.
  virtual void after_restart() = 0;
  // Waits for what the other steps started, and says what was removed.
  // Called once, on every path, before the run records itself.
  virtual SessionsPurged finish() = 0;
};

// The cleanup of `config`: every session file under config.sessions() is
// removed while Odoo is stopped (those newer than cold.sessions_keep_days
// stay). Throws like purge_sessions().
std::unique_ptr<SessionsCleanup> make_sessions_cleanup(const Config& config);

} // namespace odbox::core
