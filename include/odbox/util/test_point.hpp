#pragma once

// Test points: named places in the code where a fault test can freeze the
// process, so that it acts in a window it would otherwise have to race for
// (a kill while the prune deletes, a SIGTERM while Odoo is stopped, ...).
//
// test_point(name) does nothing unless the environment variable
// ODBOX_TEST_STOP_AT (k_stop_at_variable), read once at the first test point
// the process passes, equals `name`. Then, the first time the process passes
// that point, it logs a warning and raises SIGSTOP on itself: every thread
// stops right there. The test, which started the process as its child, waits
// until the child is stopped (waitid with WSTOPPED, or state T in
// /proc/<pid>/stat), does what the case wants (SIGKILL, or another signal
// followed by SIGCONT), and then checks what the run left behind. Later
// passes of the same point do not stop again.
//
// A point's name is "<step>.<moment>" and is the whole contract with the
// tests, which pass it as a string: rename a point only together with the
// tests that name it. The points (keep this list in step with the code):
//   presync.done          DatabaseBackup::presync, the copy made while Odoo runs
//   snapshot.opened       open_snapshot, the snapshot exported, tables locked
//   dump.started          start_dump, pg_dump started, its temporary file open
//   file_list.read        read_file_list, the file list written (not renamed)
//   sync.done             sync, the mirror copied
//   settle.done           settle, the dump ended and checked, the prune planned
//   commit.written        commit, the manifest written, nothing renamed yet
//   commit.published      commit, every file renamed into place, nothing pruned
//   prune.deleting        apply_prune, right after the first file was deleted
//   cold.odoo_stopped     cold, Odoo stopped, its sessions not yet purged
//   cold.sessions_done    cold, the sessions step done while Odoo is stopped, no
//                         snapshot opened yet
//   cold.odoo_started     cold, Odoo started again, the dumps not yet started
//   sessions.while_stopped  SessionsCleanup::while_stopped, Odoo stopped,
//                           nothing done with the sessions yet
//   sessions.fresh_made     move_sessions_aside, the checks passed and the
//                           fresh directory made, the old one not yet renamed
//   sessions.moved_aside    move_sessions_aside, between the rename aside and
//                           the fresh directory's rename into place (no
//                           sessions directory at all)
//   sessions.deleting       purge_sessions, right after the first session file
//                           was unlinked (in place, or in a directory moved aside)
//
// With the variable unset a test point costs one comparison of an empty
// string; the tool itself never sets it.

#include <string_view>

namespace odbox::util {

inline constexpr const char* k_stop_at_variable = "ODBOX_TEST_STOP_AT";

void test_point(std::string_view name) noexcept;

} // namespace odbox::util
