#include "odbox/core/service.hpp"

#include "odbox/core/area.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/util/atomic_file.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/time.hpp"

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <thread>
#include <unistd.h>

namespace odbox::core {
namespace {

using Clock = std::chrono::steady_clock;

util::Captured run_systemctl(const std::string& program, std::vector<std::string> args,
                             std::chrono::seconds timeout, bool interruptible) {
  util::SpawnSpec spec;
  spec.argv = {program};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  util::CaptureLimits limits;
  limits.timeout = timeout;
  limits.interruptible = interruptible;
  auto run = util::run_capture(spec, limits);
  if (!run) {
    throw RunError("cannot run " + program + ": " + run.error().message() +
                   " (check --systemctl or PATH)");
  }
  if (run->interrupted_by != 0) {
    throw Interrupted(run->interrupted_by);
  }
  return std::move(*run);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

bool is_alive_run(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) {
    return false;
  }
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.starts_with("odbox-backup");
}

} // namespace

std::string Systemctl::active_state(const std::string& unit, bool interruptible) {
  auto run = run_systemctl(m_program, {"show", "-p", "ActiveState", "--value", unit},
                           std::chrono::seconds(30), interruptible);
  if (!run.status.success()) {
    throw RunError(m_program + " show " + unit + " " + run.status.describe() + ": " +
                   util::last_line(run.err));
  }
  return trimmed(run.out);
}

bool Systemctl::exists(const std::string& unit) {
  auto run = run_systemctl(m_program, {"show", "-p", "LoadState", "--value", unit},
                           std::chrono::seconds(30), true);
  if (!run.status.success()) {
    throw RunError(m_program + " show " + unit + " " + run.status.describe() + ": " +
                   util::last_line(run.err));
  }
  return trimmed(run.out) == "loaded";
}

bool Systemctl::is_active(const std::string& unit) {
  const std::string state = active_state(unit, true);
  return state == "active" || state == "activating" || state == "reloading";
}

void Systemctl::stop(const std::string& unit, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto run = run_systemctl(m_program, {"stop", unit}, timeout, true);
  if (run.timed_out) {
    throw RunError(unit + " did not stop within " + std::to_string(timeout.count()) +
                   " s (raise --stop-timeout, or look at why Odoo hangs on SIGTERM)");
  }
  if (!run.status.success()) {
    throw RunError("systemctl stop " + unit + " " + run.status.describe() + ": " +
                   util::last_line(run.err));
  }
  while (true) {
    const std::string state = active_state(unit, true);
    if (state == "inactive" || state == "failed") {
      return;
    }
    if (Clock::now() >= deadline) {
      throw RunError(unit + " is still " + state + " " + std::to_string(timeout.count()) +
                     " s after the stop request (raise --stop-timeout)");
    }
    throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void Systemctl::start(const std::string& unit, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto run = run_systemctl(m_program, {"start", unit}, timeout, false);
  if (run.timed_out) {
    throw RunError(unit + " did not start within " + std::to_string(timeout.count()) +
                   " s");
  }
  if (!run.status.success()) {
    throw RunError("systemctl start " + unit + " " + run.status.describe() + ": " +
                   util::last_line(run.err));
  }
  while (true) {
    const std::string state = active_state(unit, false);
    if (state == "active") {
      return;
    }
    if (state == "failed" || state == "inactive" || Clock::now() >= deadline) {
      throw RunError(unit + " is " + state +
                     " after systemctl start (see journalctl -u " + unit + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

OdooStoppedGuard::OdooStoppedGuard(ServiceControl& services, std::string unit,
                                   std::filesystem::path marker_dir,
                                   std::chrono::seconds start_timeout)
    : m_services(services), m_unit(std::move(unit)),
      m_marker(marker_path(marker_dir, m_unit)), m_start_timeout(start_timeout) {}

std::filesystem::path
OdooStoppedGuard::marker_path(const std::filesystem::path& marker_dir,
                              const std::string& unit) {
  return marker_dir / (unit + ".stopped");
}

OdooStoppedGuard::~OdooStoppedGuard() {
  if (m_stopped) {
    try {
      restart();
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
    }
  }
}

void OdooStoppedGuard::stop(std::chrono::seconds timeout) {
  ensure_private_dir(m_marker.parent_path());
  const nlohmann::json marker = {
      {"unit", m_unit},
      {"pid", ::getpid()},
      {"stopped_at", util::rfc3339(std::chrono::system_clock::now())}};
  if (auto ok = util::write_file_atomic(m_marker, marker.dump() + "\n"); !ok) {
    throw RunError("cannot write the marker " + m_marker.string() +
                   " (Odoo not stopped): " + ok.error().message());
  }
  m_stop_requested = true;
  m_stopped = true; // from here on, whatever happens, Odoo is started again
  m_stop_time = Clock::now();
  spdlog::info("stopping {}", m_unit);
  m_services.stop(m_unit, timeout);
}

void OdooStoppedGuard::restart() {
  if (!m_stopped) {
    return;
  }
  m_stopped = false;
  spdlog::info("starting {}", m_unit);
  try {
    m_services.start(m_unit, m_start_timeout);
  } catch (const std::exception& e) {
    m_start_time = Clock::now();
    throw Error(ExitCode::restart_failed,
                "ODOO IS DOWN: " + m_unit +
                    " could not be started again after the backup: " + e.what() +
                    " — start it by hand now: systemctl start " + m_unit);
  }
  m_start_time = Clock::now();
  std::error_code ec;
  std::filesystem::remove(m_marker, ec);
  spdlog::info("{} is running again after {}", m_unit,
               util::format_duration(std::chrono::duration<double>(downtime_seconds())));
}

double OdooStoppedGuard::downtime_seconds() const {
  if (!m_stop_requested) {
    return 0;
  }
  const auto end = m_stopped ? Clock::now() : m_start_time;
  return std::chrono::duration<double>(end - m_stop_time).count();
}

int recover_stopped_units(ServiceControl& services,
                          const std::filesystem::path& marker_dir,
                          std::chrono::seconds start_timeout) {
  std::error_code ec;
  if (!std::filesystem::is_directory(marker_dir, ec)) {
    spdlog::info("no marker directory {}: nothing to recover", marker_dir.string());
    return 0;
  }
  int started = 0;
  std::string failures;
  for (const auto& entry : std::filesystem::directory_iterator(marker_dir, ec)) {
    const auto name = entry.path().filename().string();
    if (!name.ends_with(".stopped")) {
      continue;
    }
    std::string unit = name.substr(0, name.size() - std::string(".stopped").size());
    pid_t pid = 0;
    try {
      std::ifstream in(entry.path());
      const auto marker = nlohmann::json::parse(in);
      unit = marker.value("unit", unit);
      pid = marker.value("pid", 0);
    } catch (const std::exception&) {
      spdlog::warn("marker {} is unreadable; starting {} anyway", entry.path().string(),
                   unit);
    }
    if (is_alive_run(pid)) {
      spdlog::info("the run (pid {}) that stopped {} is still alive: leaving it to it",
                   pid, unit);
      continue;
    }
    spdlog::warn("a cold backup stopped {} and did not start it again: starting it",
                 unit);
    try {
      services.start(unit, start_timeout);
      std::filesystem::remove(entry.path(), ec);
      ++started;
    } catch (const std::exception& e) {
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  if (!failures.empty()) {
    throw Error(ExitCode::restart_failed,
                "ODOO IS DOWN: cold-recover could not start it: " + failures);
  }
  return started;
}

} // namespace odbox::core
