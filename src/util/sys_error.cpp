#include "odbox/util/sys_error.hpp"

#include <cerrno>
#include <cstring>

namespace odbox::util {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* text = ::strerror_r(err, buf, sizeof buf);
  return text;
}

std::string SysError::message() const {
  std::string out = call;
  if (!path.empty()) {
    out += " ";
    out += path;
  }
  out += ": ";
  out += errno_text(err);
  return out;
}

SysError sys_error(std::string call, std::string path) {
  const int err = errno;
  return SysError{std::move(call), std::move(path), err};
}

} // namespace odbox::util
