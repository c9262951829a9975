#pragma once

#include "odbox/core/compression.hpp"

#include <filesystem>
#include <string>

namespace odbox::core {

// A database created for the time of one operation (a test restore, a
// restore staged under a temporary name): created on construction, dropped
// WITH (FORCE) by the destructor unless keep() was called. Throws RunError
// when it cannot be created; the destructor only logs.
class ScratchDatabase {
public:
  // `owner`: a role to own the database, used when it exists (may be empty).
  ScratchDatabase(std::string conninfo, std::string name, const std::string& owner = {});
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  // The database outlives this object (it was renamed into place).
  void keep() noexcept { m_kept = true; }
  [[nodiscard]] const std::string& name() const noexcept { return m_name; }

private:
  std::string m_conninfo;
  std::string m_name;
  bool m_kept = false;
};

// Loads a dump into `database` with `psql -v ON_ERROR_STOP=1`, so that no
// error goes unseen; a compressed one is decompressed into psql's stdin as
// it loads (never to a temporary file), checking its zstd checksums. Throws UsageError
// when psql is missing, RunError("the dump does not load: ...") with psql's last error
// line.
void load_sql_dump(const std::string& psql, const std::string& conninfo,
                   const std::filesystem::path& dump, DumpCompression::Method method,
                   const std::string& database);

} // namespace odbox::core
