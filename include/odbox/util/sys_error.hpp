#pragma once

#include <expected>
#include <string>

namespace odbox::util {

// A failed system call: which call, on which path (may be empty), and errno.
// Returned through std::expected at the system-call boundary; the layers
// above turn it into an exception with advice for the user.
struct SysError {
  std::string call;
  std::string path;
  int err = 0;

  // "open /backup/odoo/x: Permission denied" (call omitted when obvious).
  [[nodiscard]] std::string message() const;
};

template <typename T> using SysResult = std::expected<T, SysError>;

// Captures errno right after a failed call.
[[nodiscard]] SysError sys_error(std::string call, std::string path = {});

// errno as text, thread-safe.
[[nodiscard]] std::string errno_text(int err);

} // namespace odbox::util
