#include "harness.hpp"

#include "odbox/util/digest.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <gtest/gtest.h>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace odbox::it {

fs::path wrapper(const std::string& name) {
  return fs::path(env_or_fail("ODBOX_SOURCE_DIR")) / "tests" / "integration" /
         "wrappers" / name;
}

namespace {

std::string database_name_for_test(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name =
      info != nullptr ? std::string(info->test_suite_name()) + "_" + info->name() : "it";
  std::ranges::transform(name, name.begin(), [](unsigned char c) {
    return std::isalnum(c) != 0 ? static_cast<char>(std::tolower(c)) : '_';
  });
  if (name.size() > 40) {
    // Rows of one TEST_P share a long prefix and may run at once: a hash of
    // the whole name keeps their databases apart.
    std::uint32_t hash = 2166136261U; // FNV-1a
    for (const char c : name) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 16777619U;
    }
    char tail[10];
    std::snprintf(tail, sizeof tail, "_%08x", hash);
    name = name.substr(0, 31) + tail;
  }
  return "it_" + name + suffix;
}

std::vector<nlohmann::json> json_lines(const fs::path& file) {
  std::vector<nlohmann::json> out;
  for (const auto& line : odbox_test::read_lines(file)) {
    if (!line.empty()) {
      out.push_back(nlohmann::json::parse(line));
    }
  }
  return out;
}

constexpr const char* k_odoo_unit = "odoo.service";

} // namespace

OdooScratch::OdooScratch() : OdooScratch(Options{}) {}

OdooScratch::OdooScratch(Options options, const std::string& suffix)
    : OdooScratch(std::move(options), suffix, PgEnv::load()) {}

OdooScratch::OdooScratch(Options options, const std::string& suffix, PgEnv pg)
    : m_pg(std::move(pg)), m_db(database_name_for_test(suffix)),
      m_systemctl(m_dir.path() / "systemctl") {
  fs::create_directories(data_dir());
  odbox_test::standin_init(m_pg, m_db, data_dir(),
                           {"--attachments", std::to_string(options.attachments),
                            "--bulk-rows", std::to_string(options.bulk_rows),
                            "--sessions", std::to_string(options.sessions),
                            "--session-layout", options.session_layout});
}

OdooScratch::~OdooScratch() {
  try {
    stop_load();
    if (m_service) {
      m_systemctl.systemctl({"stop", k_odoo_unit});
    }
    for (const auto& db : m_restored) {
      odbox_test::drop_database(m_pg, db);
    }
    odbox_test::drop_database(m_pg, m_db);
  } catch (const std::exception& e) {
    std::cerr << "cleaning up after " << m_db << ": " << e.what() << "\n";
  }
}

RunOutput OdooScratch::raw(const std::vector<std::string>& args,
                           const std::vector<std::string>& env) const {
  std::vector<std::string> argv{tool_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto out = run(argv, odbox_test::env_list({m_pg.env(), env}));
  if (out.timed_out) {
    throw std::runtime_error("odbox-backup did not end within 300 s: " + out.describe());
  }
  return out;
}

RunOutput OdooScratch::backup(const std::vector<std::string>& args,
                              const std::vector<std::string>& env) const {
  std::vector<std::string> full{"--basedir", basedir().string(), "--db",
                                m_db,        "--data-dir",       data_dir().string()};
  full.insert(full.end(), args.begin(), args.end());
  return raw(full, env);
}

util::Child OdooScratch::spawn_backup(const std::vector<std::string>& args,
                                      const std::vector<std::string>& env) const {
  util::SpawnSpec spec;
  spec.argv = {tool_binary(), "--basedir",  basedir().string(), "--db",
               m_db,          "--data-dir", data_dir().string()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env_set = odbox_test::env_list({m_pg.env(), env});
  spec.capture_stdout = false;
  spec.capture_stderr = false;
  auto child = util::spawn(spec);
  if (!child) {
    throw std::runtime_error("cannot start odbox-backup: " + child.error().message());
  }
  return std::move(*child);
}

void OdooScratch::write_unreferenced_file(const std::string& name) const {
  odbox_test::write_file(live_store() / name, name + "\n");
}

nlohmann::json OdooScratch::manifest() const {
  return nlohmann::json::parse(read_file(manifest_path()));
}

std::vector<nlohmann::json> OdooScratch::runs() const {
  return json_lines(area() / "runs.jsonl");
}

std::string OdooScratch::sql(const std::string& query) const {
  return sql_in(m_db, query);
}

std::string OdooScratch::sql_in(const std::string& db, const std::string& query) const {
  return odbox_test::psql(m_pg, db, query);
}

std::map<std::string, std::string> OdooScratch::digests(const std::string& db) const {
  return odbox_test::table_digests(m_pg, db);
}

std::map<std::string, std::string> OdooScratch::restore_digests(const fs::path& dump) {
  const std::string target = m_db + "_r" + std::to_string(m_restored.size());
  m_restored.push_back(target);
  odbox_test::drop_database(m_pg, target);
  odbox_test::restore_dump(m_pg, dump, target);
  return digests(target);
}

std::vector<std::string> OdooScratch::referenced_files(const std::string& db) const {
  return odbox_test::referenced_files(m_pg, db);
}

void OdooScratch::start_load(const std::vector<std::string>& extra) {
  m_load.emplace(m_pg, odbox_test::StandinOptions{.db = m_db,
                                                  .data_dir = data_dir(),
                                                  .events = events_file(),
                                                  .log = m_dir.path() / "load.log",
                                                  .extra_args = extra});
}

void OdooScratch::stop_load() {
  if (m_load) {
    m_load->stop();
  }
  m_load.reset();
}

std::vector<nlohmann::json> OdooScratch::events() const {
  std::vector<nlohmann::json> out;
  for (auto& event : odbox_test::read_events(events_file())) {
    out.push_back(std::move(event.data));
  }
  return out;
}

bool OdooScratch::wait_for_events(const std::string& event, std::size_t count) const {
  return wait_until(
      [&] {
        return odbox_test::events_named(odbox_test::read_events(events_file()), event)
                   .size() >= count;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(20));
}

std::vector<std::string> OdooScratch::systemctl_env() const {
  return m_systemctl.env();
}

void OdooScratch::install_odoo_service(bool start,
                                       const std::vector<std::string>& extra) {
  m_systemctl.define_standin_unit(k_odoo_unit, m_pg, m_db, data_dir(), events_file(),
                                  extra);
  m_service = true;
  if (start) {
    const auto out = m_systemctl.systemctl({"start", k_odoo_unit});
    if (out.exit_code != 0) {
      throw std::runtime_error("fake-systemctl start " + std::string(k_odoo_unit) +
                               " failed: " + out.describe());
    }
  }
}

bool OdooScratch::odoo_active() const {
  return m_systemctl.is_active(k_odoo_unit);
}

std::vector<std::pair<double, std::string>> OdooScratch::service_calls() const {
  std::vector<std::pair<double, std::string>> out;
  for (const auto& call : m_systemctl.calls()) {
    if (call.args.empty() || (call.args[0] != "start" && call.args[0] != "stop")) {
      continue;
    }
    std::string text = call.args[0];
    for (std::size_t i = 1; i < call.args.size(); ++i) {
      text += " " + call.args[i];
    }
    out.emplace_back(call.t, text);
  }
  return out;
}

RunOutput OdooScratch::cold(const std::vector<std::string>& args,
                            const std::vector<std::string>& env) const {
  std::vector<std::string> full{"--systemctl", fake_systemctl(), "cold", "--marker-dir",
                                marker_dir().string()};
  full.insert(full.end(), args.begin(), args.end());
  return backup(full, odbox_test::env_list({systemctl_env(), env}));
}

void expect_copy_of(const OdooScratch& odoo, const std::string& copy,
                    std::map<std::string, std::string> source) {
  auto restored = odoo.digests(copy);
  if (source.contains("ir_config_parameter")) {
    EXPECT_NE(restored["ir_config_parameter"], source.at("ir_config_parameter"))
        << copy << " kept the identity of its source";
  }
  restored.erase("ir_config_parameter");
  source.erase("ir_config_parameter");
  EXPECT_EQ(restored, source) << copy;

  const auto rows =
      odoo.sql_in(copy, "SELECT DISTINCT store_fname || '|' || checksum FROM "
                        "ir_attachment WHERE store_fname <> '' ORDER BY 1");
  std::istringstream lines(rows);
  std::size_t files = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto bar = line.find('|');
    const auto file = odoo.data_dir() / "filestore" / copy / line.substr(0, bar);
    ASSERT_TRUE(fs::is_regular_file(file)) << file;
    EXPECT_EQ(util::file_digest(file.string(), util::Digest::Kind::sha1),
              line.substr(bar + 1))
        << file;
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << file;
    ++files;
  }
  EXPECT_EQ(files, odoo.referenced_files(copy).size()) << copy;
  EXPECT_GT(files, 50U) << copy;
}

} // namespace odbox::it
