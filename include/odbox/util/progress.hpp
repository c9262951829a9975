#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace odbox::util {

// A one-line progress display on a terminal ("dump odoo  1.2 GiB  85 MiB/s"),
// redrawn at most every 200 ms; does nothing when stderr is not a terminal
// (journald must not fill with carriage returns).
class Progress {
public:
  explicit Progress(std::string label);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Reports `bytes` done so far, optionally with extra text.
  void update(std::uint64_t bytes, const std::string& extra = {});
  // Clears the line.
  void finish();

private:
  std::string m_label;
  bool m_enabled;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last;
};

} // namespace odbox::util
