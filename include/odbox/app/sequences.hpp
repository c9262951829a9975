#pragma once

#include "odbox/app/backup_run.hpp"
#include "odbox/core/service.hpp"
#include "odbox/core/sessions_cleanup.hpp"

namespace odbox::app {

// The order in which hot and cold call each database's steps (SPEC.md),
// apart from how the steps are made, so that tests can run it over fakes.
// Failures are recorded in run.report(); only what no database can survive
// escapes (and BackupRun::run() records it).

// Each database in turn: snapshot, dump, file list and mirror, then settle
// and commit.
void hot_sequence(BackupRun& run, Backups& backups);

// Presync while Odoo runs; stop Odoo; the session cleanup; the snapshots,
// the file lists and the delta sync; start Odoo; the dumps (from the
// snapshots) while Odoo serves users; settle and commit. With
// cold.full_downtime Odoo starts only after every dump has settled. Odoo is
// started again on every path if this run stopped it; a failed start is
// recorded as exit 5.
void cold_sequence(BackupRun& run, core::ServiceControl& services,
                   core::SessionsCleanup& sessions, Backups& backups);

} // namespace odbox::app
