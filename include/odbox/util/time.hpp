#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace odbox::util {

using SystemTime = std::chrono::system_clock::time_point;

// "2026-11-28T05:47:40.123Z" (RFC 3339, UTC, milliseconds).
[[nodiscard]] std::string rfc3339(SystemTime time);
// Parses what rfc3339() writes (and the same without fraction); nothing if malformed.
[[nodiscard]] std::optional<SystemTime> parse_rfc3339(const std::string& text);

// Parses "90", "90s", "15min", "2h", "1d", "1h30min" (systemd-like spans)
// into seconds; nothing if malformed.
[[nodiscard]] std::optional<std::chrono::seconds> parse_duration(const std::string& text);
// "1h 02min 03s", "4.2s", "850ms": for humans.
[[nodiscard]] std::string format_duration(std::chrono::duration<double> span);
// "1.5 GiB", "12.0 MiB", "512 B".
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

// Seconds elapsed on the steady clock since `start`.
[[nodiscard]] double seconds_since(std::chrono::steady_clock::time_point start);

} // namespace odbox::util
