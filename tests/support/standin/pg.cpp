#include "pg.hpp"

#include "odbox/util/signals.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <libpq-fe.h>
#include <poll.h>

namespace odbox_standin {
namespace {

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

std::string excerpt(const std::string& sql) {
  std::string out = sql.substr(0, 100);
  for (char& c : out) {
    if (c == '\n') {
      c = ' ';
    }
  }
  return sql.size() > 100 ? out + "..." : out;
}

extern "C" void ignore_notice(void* /*arg*/, const char* /*message*/) {}

struct ResultGuard {
  PGresult* result = nullptr;
  ResultGuard() = default;
  explicit ResultGuard(PGresult* r) : result(r) {}
  ResultGuard(const ResultGuard&) = delete;
  ResultGuard& operator=(const ResultGuard&) = delete;
  ~ResultGuard() { PQclear(result); }
};

} // namespace

std::string PgRows::text(std::size_t row, std::size_t column) const {
  return rows.at(row).at(column).value_or(std::string{});
}

PgConnection::PgConnection(const std::string& dbname) {
  const std::array<const char*, 3> keys{"dbname", "application_name", nullptr};
  const std::array<const char*, 3> values{dbname.c_str(), "odoo-standin", nullptr};
  m_conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (m_conn == nullptr) {
    throw PgError("PQconnectdbParams: out of memory", "");
  }
  if (PQstatus(m_conn) != CONNECTION_OK) {
    std::string message = "cannot connect to database " + dbname + ": " +
                          trimmed(PQerrorMessage(m_conn)) +
                          " (check PGHOST, PGPORT and PGUSER)";
    PQfinish(m_conn);
    m_conn = nullptr;
    throw PgError(message, "");
  }
  PQsetNoticeProcessor(m_conn, ignore_notice, nullptr);
}

PgConnection::~PgConnection() {
  PQfinish(m_conn);
}

void PgConnection::wait_for_result() {
  bool cancelled = false;
  while (PQisBusy(m_conn) != 0) {
    if (!cancelled && odbox::util::pending_signal() != 0) {
      cancelled = true;
      if (PGcancel* cancel = PQgetCancel(m_conn); cancel != nullptr) {
        std::array<char, 256> error{};
        PQcancel(cancel, error.data(), static_cast<int>(error.size()));
        PQfreeCancel(cancel);
      }
    }
    pollfd pfd{PQsocket(m_conn), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) {
      throw PgError(std::string("poll on the PostgreSQL socket: ") + std::strerror(errno),
                    "");
    }
    if (PQconsumeInput(m_conn) == 0) {
      throw PgError("connection to PostgreSQL lost: " + trimmed(PQerrorMessage(m_conn)),
                    "");
    }
  }
}

pg_result* PgConnection::run(const std::string& sql, const std::vector<PgParam>& params,
                             bool with_params) {
  int sent = 0;
  if (with_params) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (const PgParam& p : params) {
      values.push_back(p.value ? p.value->data() : nullptr);
      lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
      formats.push_back(p.binary ? 1 : 0);
    }
    sent = PQsendQueryParams(m_conn, sql.c_str(), static_cast<int>(params.size()),
                             nullptr, values.data(), lengths.data(), formats.data(), 0);
  } else {
    sent = PQsendQuery(m_conn, sql.c_str());
  }
  if (sent == 0) {
    throw PgError("sending \"" + excerpt(sql) + "\": " + trimmed(PQerrorMessage(m_conn)),
                  "");
  }
  // Collect every result; keep the last one, and the first error.
  PGresult* last = nullptr;
  std::string error;
  std::string sqlstate;
  while (true) {
    wait_for_result();
    PGresult* result = PQgetResult(m_conn);
    if (result == nullptr) {
      break;
    }
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && error.empty()) {
      error = trimmed(PQresultErrorMessage(result));
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      sqlstate = state != nullptr ? state : "";
    }
    PQclear(last);
    last = result;
  }
  if (!error.empty()) {
    PQclear(last);
    throw PgError(error + " (in \"" + excerpt(sql) + "\")", sqlstate);
  }
  return last;
}

void PgConnection::exec(const std::string& sql) {
  const ResultGuard guard(run(sql, {}, false));
}

PgRows PgConnection::query(const std::string& sql, const std::vector<PgParam>& params) {
  const ResultGuard guard(run(sql, params, true));
  PgRows out;
  if (guard.result == nullptr) {
    return out;
  }
  const int rows = PQntuples(guard.result);
  const int columns = PQnfields(guard.result);
  out.rows.reserve(static_cast<std::size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    std::vector<std::optional<std::string>> row;
    row.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(guard.result, r, c) != 0) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(
            std::string(PQgetvalue(guard.result, r, c),
                        static_cast<std::size_t>(PQgetlength(guard.result, r, c))));
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

std::string PgConnection::quote_ident(std::string_view name) const {
  char* quoted = PQescapeIdentifier(m_conn, name.data(), name.size());
  if (quoted == nullptr) {
    throw PgError("PQescapeIdentifier: " + trimmed(PQerrorMessage(m_conn)), "");
  }
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

PgTransaction::PgTransaction(PgConnection& conn) : m_conn(conn) {
  m_conn.exec("BEGIN");
}

PgTransaction::~PgTransaction() {
  if (m_open) {
    try {
      m_conn.exec("ROLLBACK");
    } catch (const PgError&) {
      // The connection is unusable; closing it rolls back anyway.
    }
  }
}

void PgTransaction::commit() {
  m_open = false;
  m_conn.exec("COMMIT");
}

void PgTransaction::rollback() {
  m_open = false;
  m_conn.exec("ROLLBACK");
}

} // namespace odbox_standin
