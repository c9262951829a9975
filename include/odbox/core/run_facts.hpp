#pragma once

#include <cstdint>
#include <optional>

namespace odbox::core {

// What the cold run's session cleanup did, apart from the downtime.
struct SessionsPurged {
  std::uint64_t files_removed = 0;
  std::uint64_t bytes_removed = 0;
  double seconds = 0; // the purge's own time
};

// The facts of a run that belong to no single database. The run's
// sequencer sets each one once, in its RunReport; every database's manifest
// and the run's record are written from the same copy.
struct RunFacts {
  std::optional<double> downtime_seconds; // cold, when this run stopped Odoo
  std::optional<SessionsPurged> sessions; // cold
};

} // namespace odbox::core
