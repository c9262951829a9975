#pragma once

#include "odbox/core/pg.hpp"

#include <chrono>
#include <string>

namespace odbox::core {

// The exported snapshot every part of a backup reads from, held open on its
// own connection until the dump is done:
//   BEGIN ISOLATION LEVEL REPEATABLE READ;
//   LOCK ir_attachment IN ROW EXCLUSIVE MODE;   -- Odoo's file-store GC must wait
//   LOCK <every other user table> IN ACCESS SHARE MODE;  -- no DDL until the end
//   SELECT pg_export_snapshot();
// The locks come before the first query, so they are held before the
// snapshot exists. A table created between listing and locking is noticed
// and the whole sequence retried.
class SnapshotTransaction {
public:
  // Throws UsageError if the database has no ir_attachment table (not an
  // Odoo database), RunError on PostgreSQL errors or a lock timeout.
  SnapshotTransaction(const std::string& conninfo, const std::string& dbname,
                      std::chrono::seconds lock_timeout);
  ~SnapshotTransaction();
  SnapshotTransaction(const SnapshotTransaction&) = delete;
  SnapshotTransaction& operator=(const SnapshotTransaction&) = delete;

  [[nodiscard]] const std::string& snapshot_id() const noexcept { return m_snapshot; }
  [[nodiscard]] std::size_t locked_tables() const noexcept { return m_locked; }
  [[nodiscard]] PgConnection& connection() noexcept { return m_conn; }

  // Ends the transaction (the snapshot becomes invalid; locks released).
  void finish();

private:
  PgConnection m_conn;
  std::string m_snapshot;
  std::size_t m_locked = 0;
  bool m_open = false;
};

// Does the connection's database have Odoo's ir_attachment table?
bool has_ir_attachment(PgConnection& conn);
// Throws UsageError naming `dbname` and --db unless it is an Odoo database
// (has_ir_attachment).
void require_odoo_database(PgConnection& conn, const std::string& dbname);

} // namespace odbox::core
