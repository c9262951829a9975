#include "odbox_test/support.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace odbox_test {
namespace {

std::string psql_program() {
  const char* configured = std::getenv("ODBOX_PSQL");
  if (configured != nullptr && *configured != '\0') {
    return configured;
  }
  std::error_code ec;
  return fs::exists("/usr/bin/psql", ec) ? "/usr/bin/psql" : "psql";
}

std::string without_trailing_newlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string quote_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') {
      out += '\'';
    }
  }
  return out + "'";
}

} // namespace

std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

std::string psql(const PgEnv& pg, const std::string& db, const std::string& sql) {
  RunOutput output = run({psql_program(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-d", db, "-c", sql},
                         pg.env(), 600s);
  if (output.exit_code != 0) {
    throw std::runtime_error("psql -d " + db + " -c \"" + sql.substr(0, 200) +
                             "\" failed: " + output.describe());
  }
  return std::move(output.out);
}

std::string psql_value(const PgEnv& pg, const std::string& db, const std::string& sql) {
  return without_trailing_newlines(psql(pg, db, sql));
}

bool database_exists(const PgEnv& pg, const std::string& db) {
  return psql_value(pg, "postgres",
                    "SELECT count(*) FROM pg_database WHERE datname = " +
                        quote_literal(db)) == "1";
}

void drop_database(const PgEnv& pg, const std::string& db) {
  psql(pg, "postgres", "DROP DATABASE IF EXISTS " + quote_ident(db) + " WITH (FORCE)");
}

void restore_dump(const PgEnv& pg, const fs::path& dump, const std::string& new_db) {
  if (!fs::is_regular_file(dump)) {
    throw std::runtime_error("restore_dump: no dump at " + dump.string());
  }
  psql(pg, "postgres", "CREATE DATABASE " + quote_ident(new_db));
  const RunOutput output = run({psql_program(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                                new_db, "-f", dump.string()},
                               pg.env(), 1800s);
  if (output.exit_code != 0) {
    throw std::runtime_error("restoring " + dump.string() + " into " + new_db +
                             " failed: " + output.describe());
  }
}

std::map<std::string, std::string> parse_table_digests(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const std::string& line : split_lines(text)) {
    const auto bar = line.find('|');
    if (bar == std::string::npos) {
      throw std::runtime_error("table digests: unexpected line '" + line + "'");
    }
    out[line.substr(0, bar)] = line.substr(bar + 1);
  }
  return out;
}

std::map<std::string, std::string> table_digests(const PgEnv& pg, const std::string& db) {
  const fs::path sql = support_dir() / "table-digests.sql";
  const RunOutput output = run({psql_program(), "-X", "-q", "-A", "-t", "-v",
                                "ON_ERROR_STOP=1", "-d", db, "-f", sql.string()},
                               pg.env(), 600s);
  if (output.exit_code != 0) {
    throw std::runtime_error("table digests of " + db + " (psql -f " + sql.string() +
                             ") failed: " + output.describe());
  }
  return parse_table_digests(output.out);
}

std::map<std::string, std::string> sequence_values(const PgEnv& pg,
                                                   const std::string& db) {
  std::map<std::string, std::string> out;
  const std::string text =
      psql(pg, db,
           "SELECT sequencename, coalesce(last_value::text, 'null') FROM pg_sequences "
           "WHERE schemaname = 'public' ORDER BY sequencename");
  for (const std::string& line : split_lines(text)) {
    const auto bar = line.find('|');
    out[line.substr(0, bar)] = line.substr(bar + 1);
  }
  return out;
}

std::vector<std::string> referenced_files(const PgEnv& pg, const std::string& db) {
  std::vector<std::string> files = split_lines(
      psql(pg, db,
           "SELECT DISTINCT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL "
           "AND store_fname <> ''"));
  std::ranges::sort(files);
  return files;
}

} // namespace odbox_test
