#include "harness.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace odbox::it {

namespace {

// Compiled-in locations (tests/CMakeLists.txt), by variable name.
const char* compiled_default(std::string_view name) {
  if (name == "ODBOX_BIN") {
    return ODBOX_DEFAULT_BIN;
  }
  if (name == "ODBOX_STANDIN") {
    return ODBOX_DEFAULT_STANDIN;
  }
  if (name == "ODBOX_FAKE_SYSTEMCTL") {
    return ODBOX_DEFAULT_FAKE_SYSTEMCTL;
  }
  if (name == "ODBOX_SOURCE_DIR") {
    return ODBOX_DEFAULT_SOURCE_DIR;
  }
  if (name == "ODBOX_PG_STATE") {
    return ODBOX_DEFAULT_PG_STATE;
  }
  return nullptr;
}

} // namespace

std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    value = compiled_default(name);
  }
  if (value == nullptr) {
    throw std::runtime_error(std::string(name) + " is not set");
  }
  return value;
}

std::string tool_binary() { return env_or_fail("ODBOX_BIN"); }
std::string standin_binary() { return env_or_fail("ODBOX_STANDIN"); }
std::string fake_systemctl() { return env_or_fail("ODBOX_FAKE_SYSTEMCTL"); }

fs::path wrapper(const std::string& name) {
  return fs::path(env_or_fail("ODBOX_SOURCE_DIR")) / "tests" / "integration" / "wrappers" / name;
}

PgEnv PgEnv::load() {
  const fs::path file = fs::path(env_or_fail("ODBOX_PG_STATE")) / "env";
  std::ifstream in(file);
  if (!in) {
    throw std::runtime_error("cannot read " + file.string() + ": is the pg fixture running?");
  }
  PgEnv env;
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    const auto key = line.substr(0, eq);
    const auto value = line.substr(eq + 1);
    if (key == "PGHOST") {
      env.host = value;
    } else if (key == "PGPORT") {
      env.port = value;
    } else if (key == "PGUSER") {
      env.user = value;
    }
  }
  return env;
}

std::vector<std::string> PgEnv::env() const {
  return {"PGHOST=" + host, "PGPORT=" + port, "PGUSER=" + user};
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "odbox-it-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_path = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

RunOutput run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              std::chrono::seconds timeout) {
  util::SpawnSpec spec;
  spec.argv = argv;
  spec.env_set = env;
  auto result = util::run_capture(spec, {.max_out = 64U << 20U,
                                         .max_err = 1U << 20U,
                                         .timeout = timeout,
                                         .interruptible = true});
  if (!result) {
    throw std::runtime_error("cannot run " + argv.at(0) + ": " + result.error().message());
  }
  if (result->timed_out) {
    throw std::runtime_error(argv.at(0) + " timed out; stderr: " + result->err);
  }
  return {result->status.code, result->status.signal, result->out, result->err};
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + file.string());
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::map<std::string, std::string> parse_digests(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto bar = line.find('|');
    if (bar != std::string::npos) {
      out[line.substr(0, bar)] = line.substr(bar + 1);
    }
  }
  return out;
}

namespace {

std::string database_name_for_test(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info != nullptr
                         ? std::string(info->test_suite_name()) + "_" + info->name()
                         : "it";
  std::ranges::transform(name, name.begin(), [](unsigned char c) {
    return std::isalnum(c) != 0 ? static_cast<char>(std::tolower(c)) : '_';
  });
  name = "it_" + name.substr(0, 40) + suffix;
  return name;
}

} // namespace

OdooScratch::OdooScratch() : OdooScratch(Options{}) {}

OdooScratch::OdooScratch(Options options, const std::string& suffix)
    : m_pg(PgEnv::load()), m_db(database_name_for_test(suffix)) {
  fs::create_directories(data_dir());
  auto out = run({standin_binary(), "init", "--db", m_db, "--data-dir", data_dir().string(),
                  "--attachments", std::to_string(options.attachments), "--bulk-rows",
                  std::to_string(options.bulk_rows), "--sessions",
                  std::to_string(options.sessions), "--session-layout", options.session_layout},
                 m_pg.env());
  if (out.exit_code != 0) {
    throw std::runtime_error("odoo-standin init failed: " + out.err);
  }
}

OdooScratch::~OdooScratch() {
  stop_load();
  if (m_service) {
    run({fake_systemctl(), "stop", "odoo.service"}, systemctl_env());
  }
  for (const auto& db : m_restored) {
    run({"dropdb", "--if-exists", db}, m_pg.env());
  }
  run({"dropdb", "--if-exists", m_db}, m_pg.env());
}

RunOutput OdooScratch::raw(const std::vector<std::string>& args,
                           const std::vector<std::string>& env) const {
  std::vector<std::string> argv{tool_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto full_env = m_pg.env();
  full_env.insert(full_env.end(), env.begin(), env.end());
  return run(argv, full_env);
}

RunOutput OdooScratch::backup(const std::vector<std::string>& args,
                              const std::vector<std::string>& env) const {
  std::vector<std::string> full{"--basedir", basedir().string(), "--db", m_db,
                                "--data-dir", data_dir().string()};
  full.insert(full.end(), args.begin(), args.end());
  return raw(full, env);
}

util::Child OdooScratch::spawn_backup(const std::vector<std::string>& args,
                                      const std::vector<std::string>& env) const {
  util::SpawnSpec spec;
  spec.argv = {tool_binary(), "--basedir", basedir().string(), "--db", m_db, "--data-dir",
               data_dir().string()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env_set = m_pg.env();
  spec.env_set.insert(spec.env_set.end(), env.begin(), env.end());
  spec.capture_stdout = false;
  spec.capture_stderr = false;
  auto child = util::spawn(spec);
  if (!child) {
    throw std::runtime_error("cannot start odbox-backup: " + child.error().message());
  }
  return std::move(*child);
}

void OdooScratch::write_unreferenced_file(const std::string& name) const {
  fs::create_directories((live_store() / name).parent_path());
  std::ofstream(live_store() / name) << name << '\n';
}

nlohmann::json OdooScratch::manifest() const {
  return nlohmann::json::parse(read_file(manifest_path()));
}

std::vector<nlohmann::json> OdooScratch::runs() const {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(area() / "runs.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::string OdooScratch::sql(const std::string& query) const { return sql_in(m_db, query); }

std::string OdooScratch::sql_in(const std::string& db, const std::string& query) const {
  auto out = run({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", query},
                 m_pg.env());
  if (out.exit_code != 0) {
    throw std::runtime_error("psql failed: " + out.err);
  }
  return out.out;
}

std::map<std::string, std::string> OdooScratch::digests(const std::string& db) const {
  const auto sql_file =
      fs::path(env_or_fail("ODBOX_SOURCE_DIR")) / "tests" / "integration" / "table-digests.sql";
  auto out = run({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-f",
                  sql_file.string()},
                 m_pg.env());
  if (out.exit_code != 0) {
    throw std::runtime_error("digests of " + db + " failed: " + out.err);
  }
  return parse_digests(out.out);
}

std::map<std::string, std::string> OdooScratch::restore_digests(const fs::path& dump) {
  const std::string target = m_db + "_r" + std::to_string(m_restored.size());
  m_restored.push_back(target);
  run({"dropdb", "--if-exists", target}, m_pg.env());
  auto created = run({"createdb", target}, m_pg.env());
  if (created.exit_code != 0) {
    throw std::runtime_error("createdb failed: " + created.err);
  }
  auto loaded = run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target, "-f",
                     dump.string()},
                    m_pg.env());
  if (loaded.exit_code != 0) {
    throw std::runtime_error("restore of " + dump.string() + " failed: " + loaded.err);
  }
  return digests(target);
}

std::vector<std::string> OdooScratch::referenced_files(const std::string& db) const {
  auto out = run({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c",
                  "SELECT DISTINCT store_fname FROM ir_attachment WHERE store_fname IS NOT "
                  "NULL AND store_fname <> '' ORDER BY 1"},
                 m_pg.env());
  std::vector<std::string> files;
  std::istringstream in(out.out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      files.push_back(line);
    }
  }
  return files;
}

void OdooScratch::start_load(const std::vector<std::string>& extra) {
  util::SpawnSpec spec;
  spec.argv = {standin_binary(), "run", "--db", m_db, "--data-dir", data_dir().string(),
               "--events", events_file().string()};
  spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
  spec.env_set = m_pg.env();
  spec.capture_stdout = false;
  spec.capture_stderr = false;
  auto child = util::spawn(spec);
  if (!child) {
    throw std::runtime_error("cannot start odoo-standin run: " + child.error().message());
  }
  m_load.emplace(std::move(*child));
}

void OdooScratch::stop_load() {
  if (m_load && m_load->running()) {
    m_load->terminate(std::chrono::seconds(10));
  }
  m_load.reset();
}

std::vector<nlohmann::json> OdooScratch::events() const {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(events_file()));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      out.push_back(nlohmann::json::parse(line));
    }
  }
  return out;
}

std::vector<std::string> OdooScratch::systemctl_env() const {
  return {"FAKE_SYSTEMCTL_DIR=" + systemctl_dir().string()};
}

void OdooScratch::install_odoo_service(bool start) {
  fs::create_directories(systemctl_dir() / "units");
  std::ofstream(systemctl_dir() / "units" / "odoo.service")
      << "EXEC=(" << standin_binary() << " run --db " << m_db << " --data-dir "
      << data_dir().string() << " --events " << events_file().string() << ")\n";
  m_service = true;
  if (start) {
    auto env = m_pg.env();
    env.push_back(systemctl_env().front());
    const auto out = run({fake_systemctl(), "start", "odoo.service"}, env);
    if (out.exit_code != 0) {
      throw std::runtime_error("fake-systemctl start failed: " + out.err);
    }
  }
}

bool OdooScratch::odoo_active() const {
  return run({fake_systemctl(), "is-active", "odoo.service"}, systemctl_env()).exit_code == 0;
}

std::vector<std::pair<double, std::string>> OdooScratch::service_calls() const {
  std::vector<std::pair<double, std::string>> out;
  const auto log = systemctl_dir() / "calls.log";
  if (!fs::exists(log)) {
    return out;
  }
  std::istringstream in(read_file(log));
  std::string line;
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    const std::string call = line.substr(space + 1);
    if (call.starts_with("start ") || call.starts_with("stop ")) {
      out.emplace_back(std::stod(line.substr(0, space)), call);
    }
  }
  return out;
}

RunOutput OdooScratch::cold(const std::vector<std::string>& args,
                            const std::vector<std::string>& env) const {
  std::vector<std::string> full{"--systemctl", fake_systemctl(), "cold", "--marker-dir",
                                marker_dir().string()};
  full.insert(full.end(), args.begin(), args.end());
  auto full_env = systemctl_env();
  full_env.insert(full_env.end(), env.begin(), env.end());
  return backup(full, full_env);
}

} // namespace odbox::it
