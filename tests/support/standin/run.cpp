#include "attachments.hpp"
#include "commands.hpp"
#include "events.hpp"
#include "filestore.hpp"
#include "gc.hpp"
#include "odbox/util/signals.hpp"
#include "pg.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace odbox_standin {
namespace {

struct RunOptions {
  std::string db;
  fs::path data_dir;
  std::chrono::milliseconds interval{20};
  bool gc = true;
  std::int64_t gc_every = 10;
  std::chrono::milliseconds gc_lock_timeout{1000};
  std::int64_t rollback_one_in = 5;
  std::size_t max_file_size = 65536;
  SessionLayout layout = SessionLayout::sharded;
  std::chrono::milliseconds duration{0}; // 0: until a signal
};

struct Counters {
  std::int64_t iterations = 0;
  std::int64_t created = 0;
  std::int64_t deduplicated = 0;
  std::int64_t rolled_back = 0;
  std::int64_t deleted = 0;
  std::int64_t replaced = 0;
  std::int64_t gc_runs = 0;
  std::int64_t gc_skipped = 0;
  std::int64_t unlinked = 0;
  std::int64_t sessions = 0;
  std::int64_t updates = 0;

  [[nodiscard]] nlohmann::json to_json() const {
    return {{"iterations", iterations},
            {"created", created},
            {"deduplicated", deduplicated},
            {"rolled_back", rolled_back},
            {"deleted", deleted},
            {"replaced", replaced},
            {"gc_runs", gc_runs},
            {"gc_skipped", gc_skipped},
            {"unlinked", unlinked},
            {"sessions", sessions},
            {"updates", updates}};
  }
};

// What a busy Odoo does to its database and file store, one step at a time.
class OdooActivity {
public:
  OdooActivity(const RunOptions& options, PgConnection& conn, EventLog& events,
               std::uint64_t seed)
      : m_options(options), m_conn(conn), m_events(events),
        m_store(options.data_dir, options.db),
        m_sessions(options.data_dir, options.layout), m_rng(seed) {}

  void iteration() {
    ++m_counters.iterations;
    const std::int64_t i = m_counters.iterations;
    create_attachment();
    if (i % 3 == 0) {
      delete_or_replace();
    }
    if (m_options.gc && i % m_options.gc_every == 0) {
      garbage_collect();
    }
    if (i % 5 == 0) {
      touch_records();
    }
  }

  [[nodiscard]] const Counters& counters() const noexcept { return m_counters; }

private:
  // Sometimes upload a file that is already in the store (deduplicated).
  std::string new_content() {
    if (m_rng() % 10 == 0) {
      const PgRows rows = m_conn.query(
          "SELECT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL "
          "ORDER BY random() LIMIT 1");
      if (!rows.empty()) {
        std::ifstream in(m_store.full_path(rows.text(0, 0)), std::ios::binary);
        std::string content{std::istreambuf_iterator<char>(in), {}};
        if (in && !content.empty()) {
          return content;
        }
      }
    }
    return random_content(m_rng, m_options.max_file_size);
  }

  // ir.attachment.create: the file first, then the row; sometimes the
  // request fails and the transaction rolls back, leaving the file behind.
  void create_attachment() {
    const std::string content = new_content();
    PgTransaction transaction(m_conn);
    const Filestore::Stored stored = m_store.write(content);
    const std::int64_t serial = 100000 + m_counters.iterations;
    const std::int64_t id =
        insert_attachment(m_conn, file_attachment(m_rng, serial, stored, content.size()));
    if (m_options.rollback_one_in > 0 &&
        m_rng() % static_cast<std::uint64_t>(m_options.rollback_one_in) == 0) {
      transaction.rollback();
      ++m_counters.rolled_back;
      m_events.emit("rollback", {{"store_fname", stored.store_fname}});
      return;
    }
    transaction.commit();
    ++m_counters.created;
    m_counters.deduplicated += stored.written ? 0 : 1;
    m_events.emit("create", {{"id", id},
                             {"store_fname", stored.store_fname},
                             {"size", content.size()},
                             {"written", stored.written}});
  }

  // unlink() or write({'datas': ...}): the old file is only marked for GC.
  void delete_or_replace() {
    const PgRows rows = m_conn.query(
        "SELECT id, store_fname FROM ir_attachment WHERE store_fname IS NOT NULL "
        "ORDER BY random() LIMIT 1");
    if (rows.empty()) {
      return;
    }
    const std::string id = rows.text(0, 0);
    const std::string old_fname = rows.text(0, 1);
    PgTransaction transaction(m_conn);
    if (m_rng() % 2 == 0) {
      m_conn.query("DELETE FROM ir_attachment WHERE id = $1", {PgParam::text(id)});
      m_store.mark_for_gc(old_fname);
      transaction.commit();
      ++m_counters.deleted;
      m_events.emit("delete", {{"id", std::stoll(id)}, {"store_fname", old_fname}});
      return;
    }
    const std::string content = random_content(m_rng, m_options.max_file_size);
    const Filestore::Stored stored = m_store.write(content);
    m_conn.query(
        "UPDATE ir_attachment SET store_fname = $2, checksum = $3, file_size = $4, "
        "write_date = now() AT TIME ZONE 'UTC' WHERE id = $1",
        {PgParam::text(id), PgParam::text(stored.store_fname),
         PgParam::text(stored.checksum), PgParam::text(std::to_string(content.size()))});
    m_store.mark_for_gc(old_fname);
    transaction.commit();
    ++m_counters.replaced;
    m_events.emit("replace", {{"id", std::stoll(id)},
                              {"store_fname", stored.store_fname},
                              {"old_store_fname", old_fname}});
  }

  void garbage_collect() {
    const GcResult result = collect_garbage(m_conn, m_store, m_options.gc_lock_timeout);
    if (result.skipped) {
      ++m_counters.gc_skipped;
      m_events.emit("gc_skipped", {{"reason", "lock_not_available"}});
      return;
    }
    ++m_counters.gc_runs;
    m_counters.unlinked += static_cast<std::int64_t>(result.unlinked);
    m_events.emit("gc", {{"unlinked", result.unlinked}, {"checked", result.checked}});
  }

  // A visitor gets a session; users edit a partner and post a message.
  void touch_records() {
    m_sessions.create(m_rng);
    ++m_counters.sessions;
    PgTransaction transaction(m_conn);
    m_conn.exec("UPDATE res_partner SET phone = '+32 2 ' || (random() * 1e6)::int, "
                "write_date = now() AT TIME ZONE 'UTC' "
                "WHERE id = (SELECT id FROM res_partner ORDER BY random() LIMIT 1)");
    m_conn.exec("INSERT INTO mail_message (subject, body, model, res_id, message_type, "
                "author_id, date, create_uid, create_date, write_uid, write_date) "
                "SELECT 'Note', '<p>Running stand-in ' || md5(random()::text) || '</p>', "
                "'res.partner', id, 'comment', id, now() AT TIME ZONE 'UTC', 2, "
                "now() AT TIME ZONE 'UTC', 2, now() AT TIME ZONE 'UTC' "
                "FROM res_partner ORDER BY random() LIMIT 1");
    transaction.commit();
    ++m_counters.updates;
  }

  const RunOptions& m_options;
  PgConnection& m_conn;
  EventLog& m_events;
  Filestore m_store;
  SessionStore m_sessions;
  std::mt19937_64 m_rng;
  Counters m_counters;
};

// Sleeps in short slices so that a signal is seen within ~10 ms.
void pause(std::chrono::milliseconds span) {
  const auto until = std::chrono::steady_clock::now() + span;
  while (odbox::util::pending_signal() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
        10ms, until - std::chrono::steady_clock::now()));
  }
}

RunOptions parse_options(const Args& args) {
  RunOptions options;
  options.db = args.required("db");
  options.data_dir = fs::absolute(args.required("data-dir"));
  options.interval = std::chrono::milliseconds(args.number("interval-ms", 20));
  options.gc = !args.flag("no-gc");
  options.gc_every = args.number("gc-every", 10, 1);
  options.gc_lock_timeout =
      std::chrono::milliseconds(args.number("gc-lock-timeout-ms", 1000, 1));
  options.rollback_one_in = args.number("rollback-one-in", 5);
  options.max_file_size =
      static_cast<std::size_t>(args.number("max-file-size", 65536, 1));
  options.layout = parse_session_layout(args.get("session-layout", "sharded"));
  options.duration = std::chrono::milliseconds(args.number("duration-ms", 0));
  return options;
}

} // namespace

int command_run(const Args& args) {
  const RunOptions options = parse_options(args);
  const auto seed = static_cast<std::uint64_t>(args.number(
      "seed", static_cast<std::int64_t>(std::random_device{}() & 0x7FFFFFFFU)));
  if (auto installed = odbox::util::install_termination_handlers(); !installed) {
    throw std::runtime_error(installed.error().message());
  }
  EventLog events = args.has("events") ? EventLog(args.required("events")) : EventLog();
  PgConnection conn(options.db);
  conn.exec("SELECT 1 FROM ir_attachment LIMIT 1");
  OdooActivity activity(options, conn, events, seed);

  events.emit("start", {{"pid", ::getpid()}, {"db", options.db}});
  std::cout << "running pid " << ::getpid() << " on database " << options.db << std::endl;
  const auto started = std::chrono::steady_clock::now();
  while (odbox::util::pending_signal() == 0) {
    if (options.duration.count() > 0 &&
        std::chrono::steady_clock::now() - started >= options.duration) {
      break;
    }
    try {
      activity.iteration();
    } catch (const PgError& error) {
      if (odbox::util::pending_signal() != 0) {
        break; // a statement cancelled by the stop: the step is abandoned
      }
      throw;
    }
    pause(options.interval);
  }
  const nlohmann::json summary = activity.counters().to_json();
  events.emit("stop", {{"signal", odbox::util::pending_signal()}, {"summary", summary}});
  std::cout << "stopped\n"
            << "summary " << summary.dump() << std::endl;
  return 0;
}

} // namespace odbox_standin
