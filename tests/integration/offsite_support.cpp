#include "offsite_support.hpp"

#include "odbox/util/digest.hpp"

#include <arpa/inet.h>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace odbox::it {
namespace {

std::string random_hex(std::size_t length) {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    out += digits[rng() % 16];
  }
  return out;
}

std::string random_bytes(std::size_t size) {
  static std::mt19937_64 rng{std::random_device{}()};
  std::string out(size, '\0');
  for (auto& c : out) {
    c = static_cast<char>(rng() & 0xFFU);
  }
  return out;
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string sha1_hex(const std::string& content) {
  util::Digest digest(util::Digest::Kind::sha1);
  digest.update(content);
  return digest.hex_final();
}

void write_secret(const fs::path& file, const std::string& text) {
  std::ofstream(file) << text;
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
}

} // namespace

ResticServer::ResticServer(fs::path dir, bool append_only)
    : m_dir(std::move(dir)), m_append_only(append_only), m_port(free_loopback_port()) {
  fs::create_directories(m_dir);
  start();
}

ResticServer::~ResticServer() {
  stop();
}

void ResticServer::start() {
  util::SpawnSpec spec;
  spec.argv = {"rclone",
               "serve",
               "restic",
               "--log-level",
               "ERROR",
               "--addr",
               "127.0.0.1:" + std::to_string(m_port),
               m_dir.string()};
  if (m_append_only) {
    spec.argv.emplace_back("--append-only");
  }
  // rclone's own config file stays out of $HOME.
  spec.env_set = {"RCLONE_CONFIG=" + (m_dir.parent_path() / "rclone.conf").string()};
  spec.capture_stdout = false;
  spec.capture_stderr = false;
  auto child = util::spawn(spec);
  if (!child) {
    throw std::runtime_error("cannot start rclone: " + child.error().message());
  }
  m_child.emplace(std::move(*child));
  for (int i = 0; i < 300; ++i) {
    if (accepts_connections(m_port)) {
      return;
    }
    if (auto ended = m_child->try_wait()) {
      throw std::runtime_error("rclone serve restic ended: " + ended->describe());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("rclone serve restic does not answer on port " +
                           std::to_string(m_port));
}

void ResticServer::stop() {
  if (m_child && m_child->running()) {
    m_child->terminate(std::chrono::seconds(5));
  }
  m_child.reset();
}

std::string ResticServer::repository(const std::string& repo) const {
  return "rest:http://127.0.0.1:" + std::to_string(m_port) + "/" + repo;
}

OffsiteSetup::OffsiteSetup(const OdooScratch& odoo, std::string repository)
    : m_config(odoo.scratch() / "offsite.json"),
      m_password_file(odoo.scratch() / "restic.pass"),
      m_environment_file(odoo.scratch() / "restic.env"),
      m_cache(odoo.scratch() / "test-cache"), m_repository(std::move(repository)),
      m_password("odbox-pw-" + random_hex(24)), m_token("odbox-token-" + random_hex(24)) {
  write_secret(m_password_file, m_password + "\n");
  write_secret(m_environment_file, "# backend credentials\nODBOX_TEST_TOKEN=" + m_token +
                                       "\nAWS_SECRET_ACCESS_KEY=" + m_token + "\n");
  write_config();
}

void OffsiteSetup::write_config(const nlohmann::json& offsite,
                                const nlohmann::json& top) {
  nlohmann::json o = {{"repository", m_repository},
                      {"password_file", m_password_file.string()},
                      {"environment_file", m_environment_file.string()},
                      {"push_after", {"hot", "cold"}},
                      {"init", true}};
  if (offsite.is_object()) {
    o.update(offsite);
  }
  nlohmann::json config = top;
  config["offsite"] = o;
  std::ofstream(m_config, std::ios::trunc) << config.dump(2);
}

std::vector<std::string> OffsiteSetup::args(std::vector<std::string> args) const {
  args.insert(args.begin(), {"--config", m_config.string()});
  return args;
}

std::vector<std::string> OffsiteSetup::restic_env() const {
  return {"RESTIC_REPOSITORY=" + m_repository,
          "RESTIC_PASSWORD_FILE=" + m_password_file.string(),
          "RESTIC_CACHE_DIR=" + m_cache.string(), "TZ=UTC"};
}

RunOutput OffsiteSetup::restic(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"restic"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, restic_env());
}

std::vector<nlohmann::json> OffsiteSetup::snapshots() const {
  const auto out = restic({"snapshots", "--json"});
  if (out.exit_code != 0) {
    throw std::runtime_error("restic snapshots failed: " + out.err);
  }
  std::vector<nlohmann::json> list;
  for (const auto& s : nlohmann::json::parse(out.out)) {
    list.push_back(s);
  }
  std::ranges::sort(list, {},
                    [](const nlohmann::json& s) { return s.value("time", ""); });
  return list;
}

void OffsiteSetup::init_repository() const {
  const auto out = restic({"init"});
  if (out.exit_code != 0) {
    throw std::runtime_error("restic init failed: " + out.err);
  }
}

std::string tag_of(const nlohmann::json& snapshot, const std::string& key) {
  for (const auto& tag : snapshot.value("tags", nlohmann::json::array())) {
    const std::string text = tag.get<std::string>();
    if (text.starts_with(key + "=")) {
      return text.substr(key.size() + 1);
    }
  }
  return "";
}

nlohmann::json last_push(const OdooScratch& odoo, const std::string& db) {
  nlohmann::json found;
  for (const auto& run : odoo.runs()) {
    if (run.contains("offsite")) {
      for (const auto& d : run["offsite"]["databases"]) {
        if (d["database"] == db) {
          found = d;
        }
      }
    }
  }
  return found;
}

void expect_no_secret(const std::string& text, const std::vector<std::string>& secrets,
                      const std::string& where) {
  for (const auto& secret : secrets) {
    EXPECT_EQ(text.find(secret), std::string::npos) << "a secret appears in " << where;
  }
}

void expect_no_secret_in_tree(const fs::path& dir,
                              const std::vector<std::string>& secrets,
                              const std::vector<fs::path>& skip) {
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || std::ranges::find(skip, e.path()) != skip.end()) {
      continue;
    }
    ++files;
    expect_no_secret(read_file(e.path()), secrets, e.path().string());
  }
  EXPECT_GT(files, 0U) << dir;
}

std::vector<int> add_attachments(const OdooScratch& odoo, int count, std::size_t size) {
  std::ostringstream sql;
  sql << "INSERT INTO ir_attachment (name, res_model, res_id, type, store_fname, "
         "file_size, "
         "checksum, mimetype, create_date, write_date) VALUES ";
  for (int i = 0; i < count; ++i) {
    const std::string content = random_bytes(size);
    const std::string sha1 = sha1_hex(content);
    const auto file = odoo.live_store() / sha1.substr(0, 2) / sha1;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    sql << (i > 0 ? "," : "") << "('scan-" << i << ".bin', 'res.partner', 1, 'binary', '"
        << sha1.substr(0, 2) << "/" << sha1 << "', " << size << ", '" << sha1
        << "', 'application/octet-stream', now(), now())";
  }
  sql << " RETURNING id";
  std::vector<int> ids;
  std::istringstream out(odoo.sql(sql.str()));
  for (std::string line; std::getline(out, line);) {
    if (!line.empty() && std::isdigit(static_cast<unsigned char>(line.front())) != 0) {
      ids.push_back(std::stoi(line));
    }
  }
  return ids;
}

std::size_t replace_attachment(const OdooScratch& odoo, int id) {
  std::istringstream row(
      odoo.sql("SELECT store_fname || '|' || file_size FROM ir_attachment "
               "WHERE id = " +
               std::to_string(id)));
  std::string line;
  std::getline(row, line);
  const auto bar = line.find('|');
  const std::string old_name = line.substr(0, bar);
  const auto size = static_cast<std::size_t>(std::stoull(line.substr(bar + 1)));
  const std::string content = random_bytes(size);
  const std::string sha1 = sha1_hex(content);
  const auto file = odoo.live_store() / sha1.substr(0, 2) / sha1;
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << content;
  odoo.sql("UPDATE ir_attachment SET store_fname = '" + sha1.substr(0, 2) + "/" + sha1 +
           "', checksum = '" + sha1 +
           "', write_date = now() WHERE id = " + std::to_string(id));
  fs::remove(odoo.live_store() / old_name);
  return size;
}

} // namespace odbox::it
