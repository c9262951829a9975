#include "odbox/util/log.hpp"

#include <memory>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <unistd.h>

namespace odbox::util {
namespace {

// "%*" in the pattern: the sd-daemon(3) priority prefix of the message level.
class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    const char* prefix = "<6>";
    switch (msg.level) {
    case spdlog::level::critical:
      prefix = "<2>";
      break;
    case spdlog::level::err:
      prefix = "<3>";
      break;
    case spdlog::level::warn:
      prefix = "<4>";
      break;
    case spdlog::level::info:
      prefix = "<6>";
      break;
    default:
      prefix = "<7>";
      break;
    }
    dest.append(prefix, prefix + 3);
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }
};

} // namespace

bool stderr_is_terminal() noexcept {
  return ::isatty(STDERR_FILENO) == 1;
}

void setup_logging(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + level +
                                "' (use trace, debug, info, warn or error)");
  }
  auto logger = std::make_shared<spdlog::logger>(
      "odbox", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (stderr_is_terminal()) {
    formatter->set_pattern("%H:%M:%S %^%-5l%$ %v");
  } else {
    // journald adds its own timestamp and identifier.
    formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

} // namespace odbox::util
