#pragma once

#include <string>

namespace odbox::util {

// Configures the default spdlog logger on stderr. On a terminal: readable
// coloured lines. Otherwise (systemd, pipes): one line per message starting
// with the syslog priority prefix ("<3>" error, "<4>" warning, "<6>" info,
// "<7>" debug), which journald uses as the line's level.
// Throws std::invalid_argument for an unknown level name.
void setup_logging(const std::string& level);

// True when stderr is a terminal (progress lines and colours).
[[nodiscard]] bool stderr_is_terminal() noexcept;

} // namespace odbox::util
