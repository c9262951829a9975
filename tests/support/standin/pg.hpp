#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace odbox_standin {

// A failed libpq call or statement; sqlstate() is the server's error code
// ("55P03" lock_not_available, "57014" query_canceled), empty when the
// failure is on the client side (connection lost).
class PgError : public std::runtime_error {
public:
  PgError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), m_sqlstate(std::move(sqlstate)) {}
  [[nodiscard]] const std::string& sqlstate() const noexcept { return m_sqlstate; }
  [[nodiscard]] bool lock_not_available() const noexcept { return m_sqlstate == "55P03"; }
  [[nodiscard]] bool canceled() const noexcept { return m_sqlstate == "57014"; }

private:
  std::string m_sqlstate;
};

// Rows of a query, values as text (NULL as nullopt).
struct PgRows {
  std::vector<std::vector<std::optional<std::string>>> rows;
  [[nodiscard]] std::size_t size() const noexcept { return rows.size(); }
  [[nodiscard]] bool empty() const noexcept { return rows.empty(); }
  // The value at (row, column); "" for NULL.
  [[nodiscard]] std::string text(std::size_t row, std::size_t column) const;
};

// A statement parameter: text, binary (bytea) or NULL.
struct PgParam {
  std::optional<std::string> value;
  bool binary = false;
  static PgParam text(std::string v) { return PgParam{std::move(v), false}; }
  static PgParam bytes(std::string v) { return PgParam{std::move(v), true}; }
  static PgParam null() { return PgParam{std::nullopt, false}; }
};

// A libpq connection configured by the standard environment (PGHOST, PGPORT,
// PGUSER, ...). Statements are sent asynchronously and cancelled when a
// termination signal arrives (odbox::util::pending_signal()), so that a
// statement waiting for a lock never delays a stop by more than ~100 ms; a
// cancelled statement throws PgError with canceled() true.
class PgConnection {
public:
  // Throws PgError when the connection fails.
  explicit PgConnection(const std::string& dbname);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one or more statements; throws PgError naming the statement.
  void exec(const std::string& sql);
  // Runs one statement with parameters ($1, $2, ...); returns its rows.
  PgRows query(const std::string& sql, const std::vector<PgParam>& params = {});

  // Quotes an identifier for this connection ("my db" -> "\"my db\"").
  [[nodiscard]] std::string quote_ident(std::string_view name) const;

private:
  pg_result* run(const std::string& sql, const std::vector<PgParam>& params,
                 bool with_params);
  void wait_for_result();

  pg_conn* m_conn = nullptr;
};

// RAII transaction: BEGIN now, ROLLBACK in the destructor unless committed.
class PgTransaction {
public:
  explicit PgTransaction(PgConnection& conn);
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  void commit();
  void rollback();

private:
  PgConnection& m_conn;
  bool m_open = true;
};

} // namespace odbox_standin
