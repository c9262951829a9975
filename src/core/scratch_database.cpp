#include "odbox/core/scratch_database.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/pg.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/sys_error.hpp"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace odbox::core {

ScratchDatabase::ScratchDatabase(std::string conninfo, std::string name,
                                 const std::string& owner)
    : m_conninfo(std::move(conninfo)), m_name(std::move(name)) {
  PgConnection admin(m_conninfo, "postgres", "odbox-backup");
  admin.exec("DROP DATABASE IF EXISTS " + quote_identifier(m_name));
  std::string create = "CREATE DATABASE " + quote_identifier(m_name);
  if (!owner.empty() && !admin
                             .query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = " +
                                    quote_literal(owner))
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

namespace {

// psql reading the SQL from a pipe that a thread fills with the dump
// decompressed on the fly: nothing is written to disk. Returns psql's run;
// `feed_error` is set when the dump could not be read whole (psql then saw
// an early end of its input and may well have exited 0), unless only the
// write to psql failed: psql ended first, and its status tells why.
util::SysResult<util::Captured> run_psql_fed(util::SpawnSpec spec,
                                             const std::filesystem::path& dump,
                                             DumpCompression::Method method,
                                             std::string& feed_error) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    return std::unexpected(util::sys_error("pipe2", dump.string()));
  }
  util::UniqueFd read_end(fds[0]);
  util::UniqueFd write_end(fds[1]);
  spec.stdin_fd = read_end.get();
  auto pump = util::ChildPump::start(spec, {});
  read_end.reset(); // psql holds it now; its end must close the pipe
  if (!pump) {
    return std::unexpected(pump.error());
  }
  std::thread feeder([&] {
    try {
      (void)read_dump_file(dump, method, [&](std::string_view sql) {
        if (!util::write_all(write_end.get(), sql.data(), sql.size())) {
          throw std::system_error(errno, std::generic_category(), "write to psql");
        }
      });
    } catch (const std::system_error&) {
      // psql closed its input: it failed, and says why
    } catch (const std::exception& e) {
      feed_error = e.what();
    }
    write_end.reset(); // psql reads its end of input
  });
  auto run = pump->run();
  feeder.join();
  return run;
}

} // namespace

void load_sql_dump(const std::string& psql, const std::string& conninfo,
                   const std::filesystem::path& dump, DumpCompression::Method method,
                   const std::string& database) {
  const auto program = util::find_executable(psql);
  if (!program) {
    throw UsageError(psql + " not found: install postgresql-client or use --psql");
  }
  util::SpawnSpec spec;
  spec.argv = {*program,
               "-X",
               "-q",
               "-v",
               "ON_ERROR_STOP=1",
               "--no-password",
               "--dbname=" + database};
  spec.env_set = conninfo_environment(conninfo);
  spec.capture_stdout = false;
  std::string feed_error;
  auto run = util::SysResult<util::Captured>{};
  if (method == DumpCompression::Method::none) {
    spec.argv.insert(spec.argv.end(), {"-f", dump.string()});
    run = util::run_capture(spec);
  } else {
    run = run_psql_fed(spec, dump, method, feed_error);
  }
  if (!run) {
    throw RunError("cannot run psql: " + run.error().message());
  }
  throw_if_interrupted();
  if (!feed_error.empty()) {
    throw RunError("the dump does not load: " + feed_error);
  }
  if (!run->status.success()) {
    throw RunError("the dump does not load: psql " + run->status.describe() + ": " +
                   util::last_line(run->err));
  }
}

} // namespace odbox::core
