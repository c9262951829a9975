#include "odbox_test/support.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>

namespace fs = std::filesystem;

namespace odbox_test {
namespace {

// "NAME=value" defaults of this build tree (tests/support/CMakeLists.txt).
constexpr const char* k_defaults[] = {
#include "odbox_test_defaults.inc"
};

std::optional<std::string> default_of(std::string_view name) {
  for (const std::string_view entry : k_defaults) {
    if (entry.size() > name.size() && entry.starts_with(name) &&
        entry[name.size()] == '=') {
      return std::string(entry.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> test_env(const char* name) {
  const char* value = std::getenv(name);
  if (value != nullptr && *value != '\0') {
    return value;
  }
  return default_of(name);
}

std::string required_env(const char* name) {
  auto value = test_env(name);
  if (!value) {
    throw std::runtime_error(std::string("environment variable ") + name +
                             " is not set (run the tests through ctest)");
  }
  return *value;
}

void export_default_environment() {
  for (const std::string_view entry : k_defaults) {
    const std::string text(entry);
    const auto eq = text.find('=');
    ::setenv(text.substr(0, eq).c_str(), text.substr(eq + 1).c_str(), 0);
  }
}

fs::path odbox_bin() {
  return required_env("ODBOX_BIN");
}
fs::path standin_bin() {
  return required_env("ODBOX_STANDIN");
}
fs::path fake_systemctl_bin() {
  return required_env("ODBOX_FAKE_SYSTEMCTL");
}
fs::path support_dir() {
  return required_env("ODBOX_SUPPORT_DIR");
}

PgEnv PgEnv::load() {
  return load(fs::path(required_env("ODBOX_PG_STATE")));
}

PgEnv PgEnv::load(const fs::path& state_dir) {
  const fs::path file = state_dir / "env";
  std::ifstream in(file);
  if (!in) {
    throw std::runtime_error("cannot read " + file.string() +
                             " (is the cluster started? tests/support/pg-cluster start)");
  }
  PgEnv pg;
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "PGHOST") {
      pg.host = value;
    } else if (key == "PGPORT") {
      pg.port = value;
    } else if (key == "PGUSER") {
      pg.user = value;
    } else if (key == "PGHOST_TCP") {
      pg.host_tcp = value;
    }
  }
  if (pg.host.empty() || pg.port.empty() || pg.user.empty()) {
    throw std::runtime_error(file.string() + " lacks PGHOST, PGPORT or PGUSER");
  }
  return pg;
}

bool PgEnv::available() {
  const auto state = test_env("ODBOX_PG_STATE");
  if (!state) {
    return false;
  }
  std::error_code ec;
  return fs::is_regular_file(fs::path(*state) / "env", ec);
}

std::vector<std::string> PgEnv::env() const {
  return {"PGHOST=" + host, "PGPORT=" + port, "PGUSER=" + user};
}

std::vector<std::string> PgEnv::tcp_env() const {
  return {"PGHOST=" + (host_tcp.empty() ? std::string("127.0.0.1") : host_tcp),
          "PGPORT=" + port, "PGUSER=" + user};
}

TempDir::TempDir(std::string_view prefix) {
  const char* tmpdir = std::getenv("TMPDIR");
  const fs::path base = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  std::string pattern = (base / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  m_path = pattern;
}

TempDir::~TempDir() {
  if (m_path.empty()) {
    return;
  }
  if (std::getenv("ODBOX_TEST_KEEP") != nullptr) {
    std::cerr << "ODBOX_TEST_KEEP: keeping " << m_path << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

TempDir::TempDir(TempDir&& other) noexcept : m_path(std::move(other.m_path)) {
  other.m_path.clear();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    std::error_code ec;
    if (!m_path.empty()) {
      fs::remove_all(m_path, ec);
    }
    m_path = std::move(other.m_path);
    other.m_path.clear();
  }
  return *this;
}

bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (predicate()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(interval);
  }
}

std::string RunOutput::describe() const {
  std::string text = timed_out     ? "timed out"
                     : signal != 0 ? "killed by signal " + std::to_string(signal)
                                   : "exit " + std::to_string(exit_code);
  constexpr std::size_t k_tail = 2000;
  const std::string tail =
      err.size() > k_tail ? "..." + err.substr(err.size() - k_tail) : err;
  return text + "; stderr:\n" + tail;
}

RunOutput run(std::vector<std::string> argv, std::vector<std::string> extra_env,
              std::chrono::seconds timeout) {
  odbox::util::SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.env_set = std::move(extra_env);
  odbox::util::CaptureLimits limits;
  limits.timeout = timeout;
  limits.max_out = 256U << 20U;
  limits.max_err = 4U << 20U;
  limits.interruptible = false;
  auto captured = odbox::util::run_capture(spec, limits);
  if (!captured) {
    throw std::runtime_error("cannot run " + spec.argv.at(0) + ": " +
                             captured.error().message());
  }
  RunOutput output;
  output.exit_code = captured->status.code;
  output.signal = captured->status.signal;
  output.out = std::move(captured->out);
  output.err = std::move(captured->err);
  output.timed_out = captured->timed_out;
  return output;
}

std::vector<std::string> env_list(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (const auto& part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

} // namespace odbox_test
