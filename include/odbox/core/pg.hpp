#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;

namespace odbox::core {

// A libpq connection to one database. Connection parameters come from the
// libpq environment (PGHOST, PGPORT, PGUSER, PGPASSFILE, ...) with
// `conninfo` (postgres.conninfo of the config file) applied over it.
class PgConnection {
public:
  // Throws RunError when the server cannot be reached, UsageError when the
  // database does not exist or the login is refused (the admin must fix it).
  PgConnection(const std::string& conninfo, const std::string& dbname,
               const std::string& application_name);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs statements that return no rows. Throws RunError with the server's message.
  void exec(const std::string& sql);
  // Runs a query; rows of text values (NULL as nullopt). Throws RunError.
  std::vector<std::vector<std::optional<std::string>>> query(const std::string& sql);
  // Runs `COPY (...) TO STDOUT` and hands each chunk (one or more whole rows
  // in COPY text format) to `sink`; constant memory. Throws RunError.
  void copy_out(const std::string& sql,
                const std::function<void(std::string_view)>& sink);

  // e.g. 150020 (PQserverVersion).
  [[nodiscard]] int server_version() const;
  // "15.20" from server_version().
  [[nodiscard]] std::string server_version_text() const;
  // The backend's pid (for pg_stat_activity).
  [[nodiscard]] int backend_pid() const;

private:
  pg_conn* m_conn = nullptr;
  std::string m_dbname;
};

// libpq environment variables equivalent to `conninfo` (PGHOST=..., ...),
// for child processes such as pg_dump and psql, so that no password ever
// appears in an argv. Throws UsageError for a malformed conninfo.
std::vector<std::string> conninfo_environment(const std::string& conninfo);

// Quotes an SQL string literal ('it''s').
std::string quote_literal(std::string_view text);

// Quotes an SQL identifier (PQescapeIdentifier rules, without a connection).
std::string quote_identifier(std::string_view name);

} // namespace odbox::core
