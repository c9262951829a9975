// How a failed restic command is told apart and explained (restic 0.14
// has one exit code for most failures: its messages say the rest).

#include "odbox/core/offsite/restic.hpp"

#include <algorithm>
#include <cctype>

namespace odbox::core {
namespace {

bool contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

std::string lower(std::string text) {
  std::ranges::transform(text, text.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return text;
}

std::string error_line_of(const std::string& err) {
  std::string best;
  std::size_t start = 0;
  while (start < err.size()) {
    auto end = err.find('\n', start);
    if (end == std::string::npos) {
      end = err.size();
    }
    std::string line = err.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.pop_back();
    }
    if (line.starts_with("Fatal: ")) {
      return line.substr(7);
    }
    if (!line.empty() && line.front() != '\t' && contains(line, " ")) {
      best = line;
    }
  }
  return best.empty() ? "no message" : best;
}

} // namespace

std::string restic_error_line(const std::string& err) {
  return error_line_of(err);
}

ResticFailure Restic::classify(const ResticRun& run) const {
  if (run.status.success()) {
    return ResticFailure::none;
  }
  if (run.status.signal != 0) {
    return ResticFailure::killed;
  }
  const std::string err = lower(run.err);
  if (contains(err, "wrong password or no key found")) {
    return ResticFailure::wrong_password;
  }
  if (contains(err, "unable to open config file") &&
      (contains(err, "does not exist") || contains(err, "no such file or directory"))) {
    return ResticFailure::missing_repository;
  }
  if (contains(err, "403") && (contains(err, "remove") || contains(err, "delete"))) {
    return ResticFailure::delete_refused;
  }
  if (contains(err, "repository is already locked")) {
    return ResticFailure::locked;
  }
  for (const char* network : {"connection refused", "no such host", "i/o timeout",
                              "network is unreachable", "connection reset", "dial tcp"}) {
    if (contains(err, network)) {
      return ResticFailure::unreachable;
    }
  }
  return ResticFailure::other;
}

std::string Restic::failure_message(const std::string& doing,
                                    const ResticRun& run) const {
  const std::string detail = restic_error_line(run.err);
  switch (classify(run)) {
  case ResticFailure::none:
    return "restic " + doing + " succeeded";
  case ResticFailure::missing_repository:
    return "no restic repository at " + m_repository +
           ": create it with `restic init` (" +
           "RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE=" +
           m_settings.password_file.string() +
           " in its environment), or set \"init\": true in the offsite object";
  case ResticFailure::wrong_password:
    return "restic cannot open " + m_repository + " with the password in " +
           m_settings.password_file.string() +
           " (wrong password or no key found): check offsite.password_file";
  case ResticFailure::unreachable:
    return "cannot reach the restic repository " + m_repository + " (" + doing +
           "): " + detail;
  case ResticFailure::delete_refused:
    return "the repository " + m_repository + " refused to delete (" + detail +
           "): it is an append-only server, so forget and prune must run from a trusted "
           "machine that may delete (see \"Append-only servers\" in the README)";
  case ResticFailure::locked:
    return "the repository " + m_repository + " is locked by another restic process (" +
           detail +
           "): wait for it; if that process is gone for good, `restic unlock` "
           "removes its stale lock";
  case ResticFailure::killed:
    return "restic " + doing + " was " + run.status.describe() + " (" + detail + ")";
  case ResticFailure::other:
    break;
  }
  return "restic " + doing + " failed (" + run.status.describe() + "): " + detail;
}

} // namespace odbox::core
