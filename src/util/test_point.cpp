#include "odbox/util/test_point.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <spdlog/spdlog.h>
#include <string>

namespace odbox::util {
namespace {

std::string stop_at_from_environment() {
  const char* value = std::getenv(k_stop_at_variable);
  return value != nullptr ? value : "";
}

} // namespace

void test_point(std::string_view name) noexcept {
  static const std::string stop_at = stop_at_from_environment();
  if (stop_at.empty() || name != stop_at) {
    return;
  }
  static std::atomic<bool> stopped_once{false};
  if (stopped_once.exchange(true)) {
    return;
  }
  try {
    spdlog::warn("test point {}: stopping with SIGSTOP ({} is set)", name,
                 k_stop_at_variable);
  } catch (...) { // NOLINT(bugprone-empty-catch): the stop matters, not the log line
  }
  std::raise(SIGSTOP);
}

} // namespace odbox::util
