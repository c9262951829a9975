#include "odbox/core/pg.hpp"

#include "odbox/core/errors.hpp"

#include <array>
#include <cstring>
#include <libpq-fe.h>
#include <map>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

std::string first_line(const char* message) {
  std::string text = message != nullptr ? message : "";
  if (const auto pos = text.find('\n'); pos != std::string::npos) {
    text.resize(pos);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

// Frees a PGresult on every path.
struct ResultGuard {
  PGresult* result;
  explicit ResultGuard(PGresult* r) : result(r) {}
  ~ResultGuard() { PQclear(result); }
  ResultGuard(const ResultGuard&) = delete;
  ResultGuard& operator=(const ResultGuard&) = delete;
};

} // namespace

PgConnection::PgConnection(const std::string& conninfo, const std::string& dbname,
                           const std::string& application_name)
    : m_dbname(dbname) {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  if (!conninfo.empty()) {
    keys.push_back("dbname"); // expanded: a whole connection string
    values.push_back(conninfo.c_str());
  }
  keys.push_back("dbname");
  values.push_back(dbname.c_str());
  keys.push_back("application_name");
  values.push_back(application_name.c_str());
  // Never wait for ever on an unreachable host (overridden by conninfo or
  // PGCONNECT_TIMEOUT).
  if (conninfo.find("connect_timeout") == std::string::npos &&
      std::getenv("PGCONNECT_TIMEOUT") == nullptr) {
    keys.push_back("connect_timeout");
    values.push_back("15");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  m_conn = PQconnectdbParams(keys.data(), values.data(), conninfo.empty() ? 0 : 1);
  if (m_conn == nullptr) {
    throw RunError("PostgreSQL: out of memory while connecting");
  }
  if (PQstatus(m_conn) != CONNECTION_OK) {
    const std::string message = first_line(PQerrorMessage(m_conn));
    PQfinish(m_conn);
    m_conn = nullptr;
    if (message.find("does not exist") != std::string::npos &&
        message.find("database") != std::string::npos) {
      throw UsageError("database '" + dbname +
                       "' does not exist on the PostgreSQL server (" + message +
                       "): check --db");
    }
    if (message.find("authentication failed") != std::string::npos ||
        message.find("no pg_hba.conf entry") != std::string::npos ||
        message.find("role") != std::string::npos) {
      throw UsageError("PostgreSQL refused the login for database '" + dbname + "': " +
                       message + " (check PGUSER/postgres.conninfo and pg_hba.conf)");
    }
    throw RunError(
        "cannot connect to PostgreSQL for database '" + dbname + "': " + message +
        " (check that the server runs and PGHOST/PGPORT or postgres.conninfo)");
  }
  // Server notices ("database ... does not exist, skipping") are debug output.
  PQsetNoticeProcessor(
      m_conn,
      [](void* /*arg*/, const char* message) {
        spdlog::debug("PostgreSQL: {}", first_line(message));
      },
      nullptr);
}

PgConnection::~PgConnection() {
  if (m_conn != nullptr) {
    PQfinish(m_conn);
  }
}

void PgConnection::exec(const std::string& sql) {
  ResultGuard r(PQexec(m_conn, sql.c_str()));
  const auto status = PQresultStatus(r.result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw RunError("PostgreSQL (" + m_dbname +
                   "): " + first_line(PQerrorMessage(m_conn)));
  }
}

std::vector<std::vector<std::optional<std::string>>>
PgConnection::query(const std::string& sql) {
  ResultGuard r(PQexec(m_conn, sql.c_str()));
  if (PQresultStatus(r.result) != PGRES_TUPLES_OK) {
    throw RunError("PostgreSQL (" + m_dbname +
                   "): " + first_line(PQerrorMessage(m_conn)));
  }
  std::vector<std::vector<std::optional<std::string>>> rows;
  const int nrows = PQntuples(r.result);
  const int ncols = PQnfields(r.result);
  rows.reserve(static_cast<std::size_t>(nrows));
  for (int i = 0; i < nrows; ++i) {
    auto& row = rows.emplace_back();
    for (int j = 0; j < ncols; ++j) {
      if (PQgetisnull(r.result, i, j) != 0) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(
            std::string(PQgetvalue(r.result, i, j),
                        static_cast<std::size_t>(PQgetlength(r.result, i, j))));
      }
    }
  }
  return rows;
}

void PgConnection::copy_out(const std::string& sql,
                            const std::function<void(std::string_view)>& sink) {
  {
    ResultGuard r(PQexec(m_conn, sql.c_str()));
    if (PQresultStatus(r.result) != PGRES_COPY_OUT) {
      throw RunError("PostgreSQL (" + m_dbname +
                     "): " + first_line(PQerrorMessage(m_conn)));
    }
  }
  while (true) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(m_conn, &buffer, 0);
    if (n > 0) {
      try {
        sink(std::string_view(buffer, static_cast<std::size_t>(n)));
      } catch (...) {
        PQfreemem(buffer);
        throw;
      }
      PQfreemem(buffer);
      continue;
    }
    if (n == -2) {
      throw RunError("PostgreSQL (" + m_dbname +
                     "): COPY failed: " + first_line(PQerrorMessage(m_conn)));
    }
    break; // -1: done; the final status follows
  }
  bool failed = false;
  std::string message;
  while (PGresult* result = PQgetResult(m_conn)) {
    ResultGuard r(result);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      failed = true;
      message = first_line(PQresultErrorMessage(result));
    }
  }
  if (failed) {
    throw RunError("PostgreSQL (" + m_dbname + "): COPY failed: " + message);
  }
}

int PgConnection::server_version() const {
  return PQserverVersion(m_conn);
}

std::string PgConnection::server_version_text() const {
  const int v = server_version();
  if (v >= 100000) {
    return std::to_string(v / 10000) + "." + std::to_string(v % 10000);
  }
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." +
         std::to_string(v % 100);
}

int PgConnection::backend_pid() const {
  return PQbackendPID(m_conn);
}

std::vector<std::string> conninfo_environment(const std::string& conninfo) {
  if (conninfo.empty()) {
    return {};
  }
  static const std::map<std::string, std::string> k_env = {
      {"host", "PGHOST"},
      {"hostaddr", "PGHOSTADDR"},
      {"port", "PGPORT"},
      {"user", "PGUSER"},
      {"password", "PGPASSWORD"},
      {"passfile", "PGPASSFILE"},
      {"connect_timeout", "PGCONNECT_TIMEOUT"},
      {"options", "PGOPTIONS"},
      {"sslmode", "PGSSLMODE"},
      {"sslcert", "PGSSLCERT"},
      {"sslkey", "PGSSLKEY"},
      {"sslrootcert", "PGSSLROOTCERT"},
      {"sslcrl", "PGSSLCRL"},
      {"requiressl", "PGREQUIRESSL"},
      {"gssencmode", "PGGSSENCMODE"},
      {"krbsrvname", "PGKRBSRVNAME"},
      {"target_session_attrs", "PGTARGETSESSIONATTRS"},
      {"service", "PGSERVICE"},
  };
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string message = first_line(error);
    PQfreemem(error);
    throw UsageError("postgres.conninfo is not a valid libpq connection string: " +
                     message);
  }
  std::vector<std::string> env;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) {
      continue;
    }
    const std::string keyword = o->keyword;
    if (keyword == "dbname") {
      continue; // the database is always given separately
    }
    if (const auto it = k_env.find(keyword); it != k_env.end()) {
      env.push_back(it->second + "=" + o->val);
    } else {
      PQconninfoFree(options);
      throw UsageError(
          "postgres.conninfo: '" + keyword +
          "' cannot be passed on to pg_dump; set it in the libpq environment");
    }
  }
  PQconninfoFree(options);
  return env;
}

std::string quote_literal(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += '\'';
    }
    out += c;
  }
  out += '\'';
  return out;
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  out += '"';
  return out;
}

} // namespace odbox::core
