#pragma once

#include "filestore.hpp"
#include "pg.hpp"

#include <chrono>
#include <cstddef>

namespace odbox_standin {

struct GcResult {
  bool skipped = false;     // the SHARE lock was not granted within the timeout
  std::size_t checked = 0;  // checklist entries examined
  std::size_t unlinked = 0; // files removed from the store
};

// One pass of Odoo's _gc_file_store, as in Odoo 17: in a new transaction
// `SET LOCAL lock_timeout`, `LOCK ir_attachment IN SHARE MODE`, then every
// checklist entry that no ir_attachment row references is unlinked together
// with its file; referenced entries only leave the checklist. A lock timeout
// rolls back and reports skipped (17/18 behaviour). Other database errors
// and file errors throw.
GcResult collect_garbage(PgConnection& conn, Filestore& store,
                         std::chrono::milliseconds lock_timeout);

// The distinct store_fname values of ir_attachment, sorted.
std::vector<std::string> referenced_files(PgConnection& conn);

} // namespace odbox_standin
