#include "attachments.hpp"
#include "commands.hpp"
#include "filestore.hpp"
#include "gc.hpp"
#include "pg.hpp"
#include "schema.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

namespace odbox_standin {
namespace {

struct InitOptions {
  std::string db;
  fs::path data_dir;
  std::int64_t attachments = 300;
  std::int64_t bulk_rows = 20000;
  std::int64_t sessions = 200;
  SessionLayout layout = SessionLayout::both;
  std::size_t max_file_size = 65536;
  std::uint64_t seed = 1;
};

struct AttachmentStats {
  std::int64_t files = 0;      // distinct files written
  std::int64_t duplicates = 0; // rows sharing an existing file
  std::int64_t legacy = 0;     // files at <sha1[:3]>/<sha1>
  std::int64_t url = 0;
  std::int64_t in_db = 0;
  std::int64_t empty = 0;
  std::uint64_t bytes = 0;
};

std::string uuid4(std::mt19937_64& rng) {
  std::string hex = random_hex(rng, 32);
  hex[12] = '4';
  hex[16] = "89ab"[rng() % 4];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

void recreate_database(const std::string& db) {
  PgConnection admin("postgres");
  const std::string name = admin.quote_ident(db);
  admin.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  // What odoo/service/db.py does.
  admin.exec("CREATE DATABASE " + name +
             " ENCODING 'unicode' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
}

AttachmentStats create_attachments(PgConnection& conn, Filestore& store,
                                   std::mt19937_64& rng, const InitOptions& options) {
  AttachmentStats stats;
  std::vector<std::pair<Filestore::Stored, std::size_t>> files;
  PgTransaction transaction(conn);
  for (std::int64_t i = 1; i <= options.attachments; ++i) {
    const auto roll = rng() % 100;
    AttachmentRow row;
    if (roll < 5) {
      row = random_document(rng, i);
      row.type = "url";
      row.url = "https://www.odoo.com/documentation/17.0/" + std::to_string(i);
      row.mimetype = "text/html";
      ++stats.url;
    } else if (roll < 10) {
      row = random_document(rng, i);
      row.db_datas = random_content(rng, 2048);
      row.file_size = static_cast<std::int64_t>(row.db_datas->size());
      row.checksum = sha1_hex(*row.db_datas);
      ++stats.in_db;
    } else if (roll < 13) {
      row = random_document(rng, i);
      row.checksum = sha1_hex("");
      ++stats.empty;
    } else if (roll < 23 && !files.empty()) {
      const auto& [stored, size] = files.at(rng() % files.size());
      row = file_attachment(rng, i, stored, size);
      ++stats.duplicates;
    } else {
      const bool legacy = roll < 26;
      const std::string content = random_content(rng, options.max_file_size);
      const Filestore::Stored stored = store.write(content, legacy);
      if (stored.written) {
        files.emplace_back(stored, content.size());
        ++stats.files;
        stats.legacy += legacy ? 1 : 0;
        stats.bytes += content.size();
      } else {
        ++stats.duplicates;
      }
      row = file_attachment(rng, i, stored, content.size());
    }
    insert_attachment(conn, row);
  }
  transaction.commit();
  return stats;
}

// Files a real store also holds: two awaiting GC (checklisted, no row) and
// one orphan that escaped the checklist (written before checklists existed).
void add_garbage(Filestore& store, std::mt19937_64& rng, std::size_t max_size) {
  for (int i = 0; i < 3; ++i) {
    const Filestore::Stored stored = store.write(random_content(rng, max_size));
    if (i == 2) {
      store.unmark(stored.store_fname);
    }
  }
}

void create_sessions(const InitOptions& options, std::mt19937_64& rng) {
  SessionStore sessions(options.data_dir, options.layout);
  constexpr std::int64_t k_month = 30LL * 24 * 3600;
  for (std::int64_t i = 0; i < options.sessions; ++i) {
    sessions.create(rng, static_cast<std::int64_t>(rng() % k_month));
  }
  if (options.layout != SessionLayout::sharded) {
    sessions.leave_temp_file(rng);
    sessions.leave_temp_file(rng);
  }
}

} // namespace

int command_init(const Args& args) {
  InitOptions options;
  options.db = args.required("db");
  options.data_dir = fs::absolute(args.required("data-dir"));
  options.attachments = args.number("attachments", options.attachments);
  options.bulk_rows = args.number("bulk-rows", options.bulk_rows);
  options.sessions = args.number("sessions", options.sessions);
  options.layout = parse_session_layout(args.get("session-layout", "both"));
  options.max_file_size =
      static_cast<std::size_t>(args.number("max-file-size", 65536, 1));
  options.seed = static_cast<std::uint64_t>(args.number("seed", 1));
  std::mt19937_64 rng(options.seed);
  const auto started = std::chrono::steady_clock::now();

  recreate_database(options.db);
  Filestore store(options.data_dir, options.db);
  std::error_code ec;
  fs::remove_all(store.root(), ec);
  if (ec) {
    throw std::system_error(ec, "remove " + store.root().string());
  }
  fs::create_directories(store.root());

  PgConnection conn(options.db);
  conn.exec(schema_sql());
  conn.exec(base_data_sql(uuid4(rng), uuid4(rng)));
  conn.exec(bulk_data_sql(split_bulk_rows(options.bulk_rows), options.seed));
  conn.exec(constraints_sql());
  const AttachmentStats stats = create_attachments(conn, store, rng, options);
  // As after Odoo's daily autovacuum: the checklist only holds garbage.
  collect_garbage(conn, store, std::chrono::seconds(10));
  add_garbage(store, rng, options.max_file_size);
  create_sessions(options, rng);
  conn.exec("ANALYZE");

  const auto elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  std::cout << "database " << options.db << ": " << options.attachments
            << " attachments (" << stats.files << " files of " << stats.bytes
            << " bytes, " << stats.legacy << " legacy paths, " << stats.duplicates
            << " duplicates, " << stats.url << " url, " << stats.in_db << " in db, "
            << stats.empty << " empty), " << options.bulk_rows << " bulk rows, "
            << options.sessions << " sessions, in " << elapsed.count() << " s\n";
  return 0;
}

} // namespace odbox_standin
