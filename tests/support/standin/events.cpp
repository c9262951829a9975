#include "events.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace odbox_standin {

double unix_now() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(now).count();
}

EventLog::EventLog(const std::filesystem::path& path)
    : m_fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)),
      m_path(path) {
  if (!m_fd) {
    throw std::system_error(errno, std::generic_category(), "open " + path.string());
  }
}

void EventLog::emit(const std::string& event, nlohmann::json fields) {
  if (!m_fd) {
    return;
  }
  nlohmann::json line = nlohmann::json::object();
  line["t"] = unix_now();
  line["event"] = event;
  line.update(fields);
  const std::string text = line.dump() + "\n";
  ssize_t n = -1;
  do {
    n = ::write(m_fd.get(), text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    throw std::system_error(errno, std::generic_category(), "write " + m_path.string());
  }
}

} // namespace odbox_standin
