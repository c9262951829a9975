#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace odbox::core {

// Control of the Odoo service. An interface so that unit tests can use a
// fake; the tool uses Systemctl.
class ServiceControl {
public:
  virtual ~ServiceControl() = default;
  // Is the unit known to the service manager? Throws RunError if it cannot tell.
  virtual bool exists(const std::string& unit) = 0;
  // Is the unit active (running)? Throws RunError if it cannot tell.
  virtual bool is_active(const std::string& unit) = 0;
  // Stops the unit and waits until it is inactive. Throws RunError on failure
  // or after `timeout`; Interrupted on a termination signal.
  virtual void stop(const std::string& unit, std::chrono::seconds timeout) = 0;
  // Starts the unit and waits until it is active. Not interruptible (it runs
  // while a run unwinds after SIGTERM). Throws RunError on failure or timeout.
  virtual void start(const std::string& unit, std::chrono::seconds timeout) = 0;
};

// ServiceControl through the systemctl command (path configurable).
class Systemctl final : public ServiceControl {
public:
  explicit Systemctl(std::string program) : m_program(std::move(program)) {}
  bool exists(const std::string& unit) override;
  bool is_active(const std::string& unit) override;
  void stop(const std::string& unit, std::chrono::seconds timeout) override;
  void start(const std::string& unit, std::chrono::seconds timeout) override;

private:
  std::string active_state(const std::string& unit, bool interruptible);
  std::string m_program;
};

// While Odoo is stopped by a run: remembers it, in memory and in a marker
// file under /run (for `cold-recover` after a SIGKILL), and starts Odoo
// again on every path. restart() reports a failed start (exit 5); the
// destructor is the last resort and only logs.
class OdooStoppedGuard {
public:
  OdooStoppedGuard(ServiceControl& services, std::string unit,
                   std::filesystem::path marker_dir, std::chrono::seconds start_timeout);
  ~OdooStoppedGuard();
  OdooStoppedGuard(const OdooStoppedGuard&) = delete;
  OdooStoppedGuard& operator=(const OdooStoppedGuard&) = delete;

  // Writes the marker, then stops the unit. On failure Odoo is started
  // again and the error rethrown.
  void stop(std::chrono::seconds timeout);
  // Starts the unit if this guard stopped it, removes the marker. Throws
  // Error(ExitCode::restart_failed) with the loudest message if it fails.
  void restart();

  [[nodiscard]] bool stopped() const noexcept { return m_stopped; }
  // Seconds between the stop request and the unit being active again (so
  // far, if still stopped).
  [[nodiscard]] double downtime_seconds() const;

  // The marker file of `unit` in `marker_dir`.
  static std::filesystem::path marker_path(const std::filesystem::path& marker_dir,
                                           const std::string& unit);

private:
  ServiceControl& m_services;
  std::string m_unit;
  std::filesystem::path m_marker;
  std::chrono::seconds m_start_timeout;
  bool m_stopped = false;
  bool m_stop_requested = false;
  std::chrono::steady_clock::time_point m_stop_time;
  std::chrono::steady_clock::time_point m_start_time;
};

// `cold-recover`: starts every unit whose marker says a cold run stopped it
// and did not start it again (the run was killed), unless that run is still
// alive. Returns the number of units started; throws
// Error(ExitCode::restart_failed) if one could not be started.
int recover_stopped_units(ServiceControl& services,
                          const std::filesystem::path& marker_dir,
                          std::chrono::seconds start_timeout);

} // namespace odbox::core
