#include "commands.hpp"
#include "filestore.hpp"
#include "gc.hpp"
#include "odbox/util/digest.hpp"
#include "pg.hpp"

#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

namespace odbox_standin {

int command_gc(const Args& args) {
  PgConnection conn(args.required("db"));
  Filestore store(fs::absolute(args.required("data-dir")), args.required("db"));
  const auto timeout =
      std::chrono::milliseconds(args.number("gc-lock-timeout-ms", 1000, 1));
  const GcResult result = collect_garbage(conn, store, timeout);
  if (result.skipped) {
    std::cerr << "odoo-standin: file store GC skipped: LOCK ir_attachment IN SHARE MODE "
                 "not granted within "
              << timeout.count() << " ms\n";
    return 3;
  }
  std::cout << result.unlinked << "\n";
  return 0;
}

int command_expected_files(const Args& args) {
  PgConnection conn(args.required("db"));
  for (const std::string& name : referenced_files(conn)) {
    std::cout << name << "\n";
  }
  return 0;
}

int command_verify(const Args& args) {
  PgConnection conn(args.required("db"));
  const Filestore store(fs::absolute(args.required("data-dir")), args.required("db"));
  const bool deep = args.flag("deep");
  const PgRows rows =
      conn.query("SELECT DISTINCT store_fname, file_size, checksum FROM ir_attachment "
                 "WHERE store_fname IS NOT NULL AND store_fname <> ''");
  std::size_t problems = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::string name = rows.text(r, 0);
    const fs::path path = store.full_path(name);
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) {
      std::cout << "missing " << name << "\n";
      ++problems;
    } else if (std::to_string(size) != rows.text(r, 1)) {
      std::cout << "size " << name << " " << size << " != " << rows.text(r, 1) << "\n";
      ++problems;
    } else if (deep &&
               odbox::util::file_digest(path.string(), odbox::util::Digest::Kind::sha1) !=
                   rows.text(r, 2)) {
      std::cout << "checksum " << name << "\n";
      ++problems;
    }
  }
  std::cout << (problems == 0 ? "ok " : "problems ") << problems << " of " << rows.size()
            << " files\n";
  return problems == 0 ? 0 : 4;
}

} // namespace odbox_standin
