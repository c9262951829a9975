// Finding the program a child runs (find_executable, see process.hpp).
#include "odbox/util/process.hpp"

#include <algorithm>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::util {
namespace {

// Nothing when `path` is a program; else why not (Kind::not_found when
// nothing is there).
std::optional<ExecutableProblem> problem_at(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return ExecutableProblem{};
  }
  if (S_ISDIR(st.st_mode)) {
    return ExecutableProblem{ExecutableProblem::Kind::is_directory, path};
  }
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    return ExecutableProblem{ExecutableProblem::Kind::not_executable, path};
  }
  return std::nullopt;
}

} // namespace

std::string ExecutableProblem::describe() const {
  switch (kind) {
  case Kind::is_directory:
    return path + " is a directory, not a program";
  case Kind::not_executable:
    return path + " is not an executable file";
  case Kind::not_found:
    break;
  }
  return "not found";
}

std::expected<std::string, ExecutableProblem> find_executable(const std::string& name) {
  if (name.empty()) {
    return std::unexpected(ExecutableProblem{});
  }
  if (name.find('/') != std::string::npos) {
    if (auto problem = problem_at(name)) {
      return std::unexpected(*problem);
    }
    return name;
  }
  const char* path_env = std::getenv("PATH");
  const std::string path =
      path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::optional<ExecutableProblem> first_problem;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t next = std::min(path.find(':', pos), path.size());
    const std::string dir = path.substr(pos, next - pos);
    pos = next + 1;
    if (dir.empty()) {
      continue; // not "." (see the header)
    }
    const std::string candidate = dir + "/" + name;
    auto problem = problem_at(candidate);
    if (!problem) {
      return candidate;
    }
    if (problem->kind != ExecutableProblem::Kind::not_found && !first_problem) {
      first_problem = std::move(problem);
    }
  }
  return std::unexpected(first_problem.value_or(ExecutableProblem{}));
}

} // namespace odbox::util
