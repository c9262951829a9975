#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace odbox::core {

// What the cold run's session cleanup did, apart from the downtime.
struct SessionsPurged {
  std::uint64_t files_removed = 0;
  std::uint64_t bytes_removed = 0;
  double seconds = 0;               // the purge's own time: all its deletions
  double while_stopped_seconds = 0; // the part of the downtime spent on the sessions
  // "aside": moved aside while Odoo was stopped, deleted once it ran again;
  // "in_place": deleted while Odoo was stopped, as the move was not safe;
  // "before_stop": old files only (--sessions-keep-days), while Odoo ran;
  // "none": there was no sessions directory.
  std::string method;
  std::string in_place_because; // "in_place": why the directory was not moved
  std::uint64_t leftovers = 0;  // directories moved aside by earlier runs, deleted now
  std::uint64_t errors = 0;     // entries that could not be deleted (logged)
  bool complete = true;         // false: interrupted or failed; the next run goes on
};

// The facts of a run that belong to no single database. The run's
// sequencer sets each one once, in its RunReport; every database's manifest
// and the run's record are written from the same copy.
struct RunFacts {
  std::optional<double> downtime_seconds; // cold, when this run stopped Odoo
  std::optional<SessionsPurged> sessions; // cold
};

} // namespace odbox::core
