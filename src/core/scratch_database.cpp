#include "odbox/core/scratch_database.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/pg.hpp"
#include "odbox/util/process.hpp"

#include <spdlog/spdlog.h>

namespace odbox::core {

ScratchDatabase::ScratchDatabase(std::string conninfo, std::string name,
                                 const std::string& owner)
    : m_conninfo(std::move(conninfo)), m_name(std::move(name)) {
  PgConnection admin(m_conninfo, "postgres", "odbox-backup");
  admin.exec("DROP DATABASE IF EXISTS " + quote_identifier(m_name));
  std::string create = "CREATE DATABASE " + quote_identifier(m_name);
  if (!owner.empty() &&
      !admin.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = " + quote_literal(owner))
           .empty()) {
    create += " OWNER " + quote_identifier(owner);
  }
  admin.exec(create);
}

ScratchDatabase::~ScratchDatabase() {
  if (m_kept) {
    return;
  }
  try {
    PgConnection admin(m_conninfo, "postgres", "odbox-backup");
    admin.exec("DROP DATABASE IF EXISTS " + quote_identifier(m_name) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    spdlog::error("cannot drop the scratch database {}: {}", m_name, e.what());
  }
}

void load_sql_dump(const std::string& psql, const std::string& conninfo,
                   const std::filesystem::path& dump, const std::string& database) {
  const auto program = util::find_executable(psql);
  if (!program) {
    throw UsageError(psql + " not found: install postgresql-client or use --psql");
  }
  util::SpawnSpec spec;
  spec.argv = {*program, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-password",
               "--dbname=" + database, "-f", dump.string()};
  spec.env_set = conninfo_environment(conninfo);
  spec.capture_stdout = false;
  auto run = util::run_capture(spec);
  if (!run) {
    throw RunError("cannot run psql: " + run.error().message());
  }
  throw_if_interrupted();
  if (!run->status.success()) {
    throw RunError("the dump does not load: psql " + run->status.describe() + ": " +
                   util::last_line(run->err));
  }
}

} // namespace odbox::core
