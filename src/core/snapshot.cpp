#include "odbox/core/snapshot.hpp"

#include "odbox/core/errors.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

// Every user table pg_dump would read (plain and partitioned), qualified and
// quoted, sorted. Temporary tables of other sessions are left out.
constexpr const char* k_list_tables = R"SQL(
SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
 ORDER BY 1
)SQL";

std::vector<std::string> list_tables(PgConnection& conn) {
  std::vector<std::string> tables;
  for (auto& row : conn.query(k_list_tables)) {
    tables.push_back(row.at(0).value_or(""));
  }
  return tables;
}

} // namespace

bool has_ir_attachment(PgConnection& conn) {
  auto rows = conn.query("SELECT to_regclass('public.ir_attachment') IS NOT NULL");
  return !rows.empty() && rows[0][0] == std::optional<std::string>("t");
}

void require_odoo_database(PgConnection& conn, const std::string& dbname) {
  if (!has_ir_attachment(conn)) {
    throw UsageError(
        "database '" + dbname +
        "' has no ir_attachment table: it is not an Odoo database (check --db)");
  }
}

SnapshotTransaction::SnapshotTransaction(const std::string& conninfo,
                                         const std::string& dbname,
                                         std::chrono::seconds lock_timeout)
    : m_conn(conninfo, dbname, "odbox-backup snapshot") {
  require_odoo_database(m_conn, dbname);
  constexpr int k_attempts = 3;
  for (int attempt = 1; attempt <= k_attempts; ++attempt) {
    const auto tables = list_tables(m_conn);
    std::string lock_others;
    for (const auto& t : tables) {
      if (t == "public.ir_attachment") {
        continue;
      }
      lock_others += lock_others.empty() ? "LOCK TABLE " : ", ";
      lock_others += t;
    }
    m_conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
    m_open = true;
    // The transaction sits idle while pg_dump works from its snapshot (and,
    // in a cold run, while Odoo starts again): a server-wide idle timeout
    // must not end it.
    m_conn.exec("SET LOCAL lock_timeout = '" +
                std::to_string(lock_timeout.count() * 1000) +
                "ms'; SET LOCAL idle_in_transaction_session_timeout = 0");
    m_conn.exec("LOCK TABLE public.ir_attachment IN ROW EXCLUSIVE MODE");
    if (!lock_others.empty()) {
      m_conn.exec(lock_others + " IN ACCESS SHARE MODE");
    }
    // The first query: the snapshot is taken here, after the locks.
    auto rows = m_conn.query("SELECT pg_export_snapshot()");
    m_snapshot = rows.at(0).at(0).value_or("");
    if (list_tables(m_conn) == tables) {
      m_locked = tables.size();
      spdlog::debug("{}: snapshot {} with {} tables locked", dbname, m_snapshot,
                    m_locked);
      return;
    }
    m_conn.exec("ROLLBACK");
    m_open = false;
    spdlog::info("{}: tables changed while locking them, retrying ({}/{})", dbname,
                 attempt, k_attempts);
  }
  throw RunError("database '" + dbname + "': tables keep being created or dropped; " +
                 "cannot lock a stable set (try again when no migration runs)");
}

SnapshotTransaction::~SnapshotTransaction() {
  if (m_open) {
    try {
      m_conn.exec("ROLLBACK");
    } catch (...) { // the connection closes anyway
    }
  }
}

void SnapshotTransaction::finish() {
  if (m_open) {
    m_open = false;
    m_conn.exec("COMMIT");
  }
}

} // namespace odbox::core
