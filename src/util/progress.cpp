#include "odbox/util/progress.hpp"

#include "odbox/util/log.hpp"
#include "odbox/util/time.hpp"

#include <cstdio>

namespace odbox::util {

Progress::Progress(std::string label)
    : m_label(std::move(label)), m_enabled(stderr_is_terminal()),
      m_start(std::chrono::steady_clock::now()), m_last(m_start) {}

Progress::~Progress() {
  finish();
}

void Progress::update(std::uint64_t bytes, const std::string& extra) {
  if (!m_enabled) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last < std::chrono::milliseconds(200)) {
    return;
  }
  m_last = now;
  const double elapsed = std::chrono::duration<double>(now - m_start).count();
  const auto rate =
      elapsed > 0 ? static_cast<std::uint64_t>(static_cast<double>(bytes) / elapsed) : 0;
  std::fprintf(stderr, "\r\033[K%s  %s  %s/s %s", m_label.c_str(),
               format_bytes(bytes).c_str(), format_bytes(rate).c_str(), extra.c_str());
  std::fflush(stderr);
  m_drawn = true;
}

void Progress::finish() {
  if (m_drawn) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    m_drawn = false;
  }
}

} // namespace odbox::util
