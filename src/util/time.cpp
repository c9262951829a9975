#include "odbox/util/time.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace odbox::util {

std::string rfc3339(SystemTime time) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch())
          .count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, static_cast<int>(ms % 1000));
  return buf.data();
}

std::optional<SystemTime> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest =
      std::string_view(text).substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    int digits = 0;
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) != 0) {
      if (digits < 3) {
        millis = millis * 10 + (rest.front() - '0');
        ++digits;
      }
      rest.remove_prefix(1);
    }
    for (; digits < 3; ++digits) {
      millis *= 10;
    }
  }
  if (rest != "Z") {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t secs = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(secs) + std::chrono::milliseconds(millis);
}

std::optional<std::chrono::seconds> parse_duration(const std::string& text) {
  struct Unit {
    std::string_view name;
    long long seconds;
  };
  static constexpr std::array<Unit, 12> k_units{{{"seconds", 1},
                                                 {"second", 1},
                                                 {"sec", 1},
                                                 {"s", 1},
                                                 {"minutes", 60},
                                                 {"min", 60},
                                                 {"m", 60},
                                                 {"hours", 3600},
                                                 {"h", 3600},
                                                 {"days", 86400},
                                                 {"d", 86400},
                                                 {"w", 604800}}};
  std::string_view rest(text);
  long long total = 0;
  bool any = false;
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') {
      rest.remove_prefix(1);
    }
    if (rest.empty()) {
      break;
    }
    long long value = 0;
    bool digits = false;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) != 0) {
      value = value * 10 + (rest.front() - '0');
      if (value > 1'000'000'000LL) {
        return std::nullopt;
      }
      digits = true;
      rest.remove_prefix(1);
    }
    if (!digits) {
      return std::nullopt;
    }
    std::size_t len = 0;
    while (len < rest.size() &&
           std::isalpha(static_cast<unsigned char>(rest[len])) != 0) {
      ++len;
    }
    const std::string_view unit = rest.substr(0, len);
    rest.remove_prefix(len);
    long long factor = 0;
    if (unit.empty()) {
      factor = 1;
    }
    for (const auto& u : k_units) {
      if (u.name == unit) {
        factor = u.seconds;
      }
    }
    if (factor == 0) {
      return std::nullopt;
    }
    total += value * factor;
    any = true;
  }
  if (!any) {
    return std::nullopt;
  }
  return std::chrono::seconds(total);
}

std::string format_duration(std::chrono::duration<double> span) {
  const double s = span.count();
  std::array<char, 64> buf{};
  if (s < 1.0) {
    std::snprintf(buf.data(), buf.size(), "%.0fms", s * 1000.0);
  } else if (s < 60.0) {
    std::snprintf(buf.data(), buf.size(), "%.1fs", s);
  } else {
    const auto total = static_cast<long long>(s);
    const long long h = total / 3600;
    const long long m = (total % 3600) / 60;
    const long long sec = total % 60;
    if (h > 0) {
      std::snprintf(buf.data(), buf.size(), "%lldh %02lldmin %02llds", h, m, sec);
    } else {
      std::snprintf(buf.data(), buf.size(), "%lldmin %02llds", m, sec);
    }
  }
  return buf.data();
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> k_units{"B", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < k_units.size()) {
    value /= 1024.0;
    ++unit;
  }
  std::array<char, 32> buf{};
  if (unit == 0) {
    std::snprintf(buf.data(), buf.size(), "%llu B",
                  static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf.data(), buf.size(), "%.1f %s", value, k_units[unit]);
  }
  return buf.data();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace odbox::util
